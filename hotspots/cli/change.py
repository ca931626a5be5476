"""Change-over-time commands: `change`, `classify`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    _offline_default,
    _read_source,
    _source_of,
    _steps,
    _wards_key,
    console,
    friendly,
)
from ._options import reading_options


def _write_layer(gdf, out: Path, name: str, title: str, source: str) -> None:
    """The change result's files, and its labels counted on the terminal.

    The files are :func:`hotspots.report.write_change`'s.
    """
    import matplotlib

    matplotlib.use("Agg")
    from .._atomic import atomic_dir
    from ..report import write_change

    with atomic_dir(out) as d:  # the whole folder at once: never two runs' files mixed
        write_change(gdf, d, name, title, source=source, offline=_offline_default(None))
    counts = gdf["label"].value_counts()
    table = Table(title=title)
    table.add_column("label")
    table.add_column("n", justify="right")
    for lab, n in counts.items():
        table.add_row(str(lab), f"{n:,}")
    Console(markup=False).print(table)
    console.print(f"wrote {out}/{name}.geojson, .csv, .png, .html", highlight=False)


@friendly
@reading_options
def change_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    split: str = typer.Option(None, help="First day of the 'after' period (default: midpoint)."),
    by: str = typer.Option("cell", help="'cell' or 'ward'."),
    borough: str = typer.Option(None, help="With --by ward: this borough's 2022 wards only "
                                "(default: every ward the data touch)."),
    cell_size: float = typer.Option(None, help="Cell side in metres (default: automatic)."),
    out: Path = typer.Option(Path("out/change"), help="Output folder."),
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Counts before/after a date per cell or ward, with a Poisson test of each change.

    Example: hotspots change harrow_crime_2022 --by ward --borough Harrow --split 2022-07-01
    """
    from ..boundaries import wards
    from ..change import hotspot_change

    units = wards(borough) if (borough and by == "ward") else by
    with _steps() as step, step(f"counting change in {source}"):
        inc = _read_source(source, **(read_opts or {}))
        res = hotspot_change(inc, split=split, cell_size=cell_size, by=units)
    credit = _source_of(source, inc, *(_wards_key(2022) if by == "ward" else ()))
    _write_layer(res, out, "change", f"Change from {res.attrs['split']}", credit)


@friendly
@reading_options
def classify_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    freq: str = typer.Option("MS", help="MS months, QS quarters, W weeks (needs dates)."),
    scheme: str = typer.Option("sfhotspot", help="'sfhotspot' (default) or 'esri'."),
    cell_size: float = typer.Option(None, help="Cell side in metres (default: automatic)."),
    since: str = typer.Option(None, help="Only incidents from this date (e.g. 2021-01-01)."),
    out: Path = typer.Option(Path("out/classify"), help="Output folder."),
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Emerging / persistent / former hot spots: Gi* per period on one grid, one label per cell.

    Example: hotspots classify barnet_burglary --since 2020-01-01
    """
    from .._time import only_since, parse_time
    from ..classify import classify_hotspots

    inc = _read_source(source, **(read_opts or {}))
    if since:
        inc = only_since(inc, parse_time(since, "--since"), "--since")
    with _steps() as step, step("Gi* per period and labels"):
        res = classify_hotspots(inc, freq=freq, cell_size=cell_size, scheme=scheme)
    _write_layer(res, out, "classify", f"Hot spot patterns ({scheme}, {res.attrs['n_periods']} "
                 f"periods from {res.attrs['first_period']})", _source_of(source, inc))
