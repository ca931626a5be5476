"""The `hotspots` command line: thin wiring over the library, nothing computed here.

Each command is one library call chain, in the module of its command group; this
module makes the typer ``app`` and registers the commands in the order ``--help``
lists them. Errors the user can fix (HotspotsError) are printed as one clear message,
never a traceback (``_common.friendly``).
"""

from __future__ import annotations

import typer

from . import change, counts, demo, focus, hotspots, patrol, read, store, synthetic
from ._common import friendly

app = typer.Typer(
    help="Find hotspots in London incident data; plan focus weeks and patrols.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """hotspots: hotspot analysis for London community-safety teams."""


for _name, _fn in [
    ("datasets", read.datasets),
    ("read", read.read),
    ("validate", read.validate_cmd),
    ("counts", counts.counts_cmd),
    ("rank", hotspots.rank_cmd),
    ("synthetic", synthetic.synthetic_cmd),
    ("kde", hotspots.kde_cmd),
    ("gistar", hotspots.gistar_cmd),
    ("forecast", hotspots.forecast_cmd),
    ("backtest", hotspots.backtest),
    ("map", hotspots.map_cmd),
    ("focus-week", focus.focus_week_cmd),
    ("flytip-top20", focus.flytip_top20_cmd),
    ("patrol", patrol.patrol),
    ("change", change.change_cmd),
    ("classify", change.classify_cmd),
    ("demo", demo.demo),
]:
    app.command(_name)(_fn)

store_app = typer.Typer(help="The incident store: GeoParquet by month, appended safely.",
                        no_args_is_help=True)
app.add_typer(store_app, name="store")
for _name, _fn in [
    ("add", store.store_add),
    ("compact", store.store_compact),
    ("info", store.store_info),
    ("check", store.store_check),
    ("recover", store.store_recover),
]:
    store_app.command(_name)(_fn)


def main() -> None:  # pragma: no cover - console script entry
    """The ``hotspots`` console script."""
    app()


__all__ = ["app", "friendly", "main"]
