"""The `hotspots` command line: thin wiring over the library, nothing computed here.

Each command is one library call chain. Errors the user can fix (HotspotsError) are
printed as one clear message, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ._errors import HotspotsError

app = typer.Typer(
    help="Find hotspots in London incident data; plan focus weeks and patrols.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """hotspots: hotspot analysis for London community-safety teams."""


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a HotspotsError into a one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HotspotsError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(1)

    return wrapper


@app.command()
@friendly
def datasets(
    check: bool = typer.Option(False, help="Also verify each file's sha256 against the registry."),
) -> None:
    """List the dataset registry and where each file was found."""
    from .datasets import data_dirs, list_datasets

    table = list_datasets(check=check)
    out = Table(title="hotspots datasets")
    for col in table.columns:
        out.add_column(col, overflow="fold")
    for row in table.itertuples(index=False):
        out.add_row(*[str(v) for v in row])
    Console().print(out)
    console.print("searched: " + ", ".join(str(d) for d in data_dirs()))


@app.command("read")
@friendly
def read(
    files: list[str] = typer.Argument(
        ..., help="Incident file(s), a police.uk folder, a glob or a registry key."
    ),
    rejects: Path = typer.Option(
        Path("out/rejects.csv"), help="Where to write the rejected rows (CSV)."
    ),
    kind: str | None = typer.Option(None, help="Force the layout (police_uk, camden, ...)."),
    year: int | None = typer.Option(None, help="Year for month-number files."),
    no_bounds: bool = typer.Option(False, "--no-bounds", help="Keep points outside London."),
) -> None:
    """Read incidents: counts by category, the rejects summary, and a rejects CSV."""
    from .io import LONDON_BOUNDS, read_incidents

    inc, report = read_incidents(
        files if len(files) > 1 else files[0],
        kind=kind,
        year=year,
        bounds=None if no_bounds else LONDON_BOUNDS,
        with_report=True,
    )
    out = Table(title=f"{len(inc):,} incidents by category")
    out.add_column("category")
    out.add_column("n", justify="right")
    for cat, n in inc["category"].value_counts().items():
        out.add_row(str(cat), f"{n:,}")
    stdout = Console()
    stdout.print(out)
    stdout.print(report.summary(), highlight=False)
    report.to_csv(rejects)
    console.print(f"rejects ({report.n_rejected:,} rows) written to {rejects}", highlight=False)


# --- commands: io (section owned by the io work; add commands above this line)


@app.command("synthetic")
@friendly
def synthetic_cmd(
    borough: str = typer.Option("Harrow", help="London borough (name or E09 code)."),
    out: Path = typer.Option(Path("sample_data"), help="Folder to write the files into."),
    seed: int = typer.Option(0, help="Random seed: same seed, byte-identical files."),
    n_fly_tips: int = typer.Option(
        5000, help="Fly-tips in the year (0 = the borough's Defra ENV24 annual total)."
    ),
    start: str = typer.Option("2022-01-03", help="First day of the year / quarter."),
) -> None:
    """Write SYNTHETIC fly-tips (a year) and StreetSafe reports (a quarter) with truth."""
    from .synthetic import write_sample

    paths = write_sample(out, borough=borough, seed=seed, n_fly_tips=n_fly_tips or None,
                         start=start)
    for p in paths.values():
        console.print(f"wrote {p}")


# --- commands: synthetic (section owned by the synthetic work; add commands above this line)


# --- commands: engine (section owned by the engine work; add commands above this line)


# --- commands: backtest (section owned by the backtest work; add commands above this line)


# --- commands: maps (section owned by the maps work; add commands above this line)


# --- commands: focus (section owned by the focus work; add commands above this line)


@app.command()
@friendly
def patrol(
    network: str = typer.Option(..., help="OSM XML/GraphML path or registry key, e.g. "
                                "osm_city_of_london."),
    incidents: str = typer.Option(..., help="Incident file or registry key "
                                  "(e.g. city_of_london_2019)."),
    start: str = typer.Option(..., help='Start point "lat,lon", e.g. "51.5155,-0.0922".'),
    end: str = typer.Option(None, help='End point "lat,lon", or "start" for a loop; '
                            "default: finish at the last stop."),
    minutes: float = typer.Option(120, help="Time budget: walking + dwell, minutes."),
    k: int = typer.Option(8, help="How many hotspot areas to consider."),
    walk_kmh: float = typer.Option(4.8, help="Walking speed, km/h."),
    start_time: str = typer.Option("14:00", help="Clock time at the start."),
    area_name: str = typer.Option("", help="Area name for the briefing heading."),
    offline: bool = typer.Option(False, help="Inline the map's scripts (no network needed)."),
    out: Path = typer.Option(Path("out/patrol"), help="Output folder."),
) -> None:
    """Plan an Op Verona foot patrol: route.geojson, route.gpx, briefing.md/html, map.html."""
    import hotspots as hs

    from . import datasets
    from .report import patrol_briefing, write_pack

    G = hs.street_network(network)
    src = datasets.path(incidents) if incidents in datasets.registry() else incidents
    inc = hs.read_incidents(src)
    areas = hs.patrol_areas(inc, k=k)
    targets = hs.patrol_targets(inc, k=k, network=G, areas=areas)
    plan = hs.plan_patrol(G, targets, start=start, end=end, max_minutes=minutes,
                          walk_kmh=walk_kmh, start_time=start_time)
    plan.to_geojson(out / "route.geojson")
    plan.to_gpx(out / "route.gpx")
    write_pack(out, "briefing", *patrol_briefing(plan, area_name=area_name))
    try:
        from .maps import patrol_map, save_map
    except ImportError:
        console.print("note: maps are not available yet; map.html skipped")
    else:
        m = patrol_map(plan, areas=areas, network=G, title="Op Verona patrol", offline=offline)
        save_map(m, out / "map.html")
    console.print(f"{plan!r}; written to {out}/", highlight=False)


# --- commands: patrol (section owned by the patrol work; add commands above this line)


# --- commands: change (section owned by the change work; add commands above this line)


# --- commands: demo (section owned by the demo work; add commands above this line)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()

__all__ = ["app", "friendly", "Path"]
