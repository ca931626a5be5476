"""Hotspot commands: `rank`, `kde`, `gistar`, `forecast`, `backtest`, `map`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    _AREA_COLUMNS,
    _CATEGORIES_OPTION,
    _JSON_OPTION,
    _QUIET_OPTION,
    _category_set,
    _incidents_in_wards,
    _network_key,
    _only_categories,
    _print_json,
    _read_source,
    _source_of,
    _steps,
    _street_network,
    _wards_key,
    console,
    friendly,
    map_options,
)
from ._options import reading_options


@friendly
@reading_options
def rank_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    borough: str = typer.Option(None, help="Borough: only incidents in its wards; areas named "
                                "by its wards."),
    year: int = typer.Option(2022, help="Ward boundary year."),
    n: int = typer.Option(20, "--n", "-n", help="How many areas."),
    method: str = typer.Option("dbscan", help="dbscan, hdbscan or kde."),
    categories: str = typer.Option(None, help="Only these categories, comma-separated "
                                   "(e.g. robbery,asb)."),
    harm: bool = typer.Option(False, "--harm", help="Weight categories by harm "
                              "(hotspots/data/harm_weights.csv)."),
    network: str | None = typer.Option(None, help="Street network (path or registry key, e.g. "
                                       "osm_city_of_london): areas named by their streets."),
    out: Path = typer.Option(Path("out/top_areas"), help="Writes OUT.csv and OUT.geojson "
                             "(WGS84)."),
    json_out: bool = typer.Option(False, "--json", help="Print the areas as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or table."),
    read_opts: dict[str, Any] | None = None,
) -> None:
    """The top twenty hotspot areas, ranked, to CSV and GeoJSON.

    Areas are clusters (at most 20 ha), scored by recency-weighted count boosted for
    density; see docs/methods.md.

    Example: hotspots rank harrow_crime_2022 --borough Harrow --out out/harrow_top20
    """
    from .._atomic import atomic_write_csv, atomic_write_geojson
    from ..rank import few_areas_note, top_areas

    cats = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    with _steps(quiet) as step:
        inc, w = _incidents_in_wards(source, borough, year, None, step, quiet,
                                     read_opts)
        G = None
        if network:
            with step(f"loading street network {network}"):
                G = _street_network(network)
        with step(f"finding the top {n} areas ({method})"):
            areas = top_areas(inc, n=n, method=method, categories=cats, harm=harm or None,
                              wards=w, network=G, quiet=quiet)
    stem = out.with_suffix("") if out.suffix.lower() in (".csv", ".geojson") else out
    csv, geojson = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".geojson")
    credit = _source_of(source, inc, *(_wards_key(year) if borough else ()),
                        *_network_key(network))
    atomic_write_csv(areas.drop(columns="geometry"), csv, source=credit)
    atomic_write_geojson(areas, geojson, source=credit)
    cols = [c for c in _AREA_COLUMNS if c in areas.columns]
    note = few_areas_note(areas, n)
    if note and not quiet:
        console.print(f"note: {note}", highlight=False)
    if json_out:
        _print_json({"source": source, "method": method, "csv": str(csv),
                     "geojson": str(geojson), "n_requested": n, "note": note,
                     "areas": areas[cols]})
    elif not quiet:
        from ..focus import area_places

        t = Table(title=f"top {len(areas)} areas: {source}")
        for col in ("rank", "score", "incidents", "ha", "wards", "where", "change"):
            t.add_column(col, overflow="fold",
                         justify="left" if col in ("wards", "where") else "right")
        # streets (network), else police.uk's "On or near" text, else ward + station
        for a, where in zip(areas.itertuples(index=False), area_places(areas, inc),
                            strict=True):
            t.add_row(str(a.rank), f"{a.score:,.0f}", f"{a.n_incidents:,}",
                      f"{a.area_m2 / 1e4:.1f}", str(a.wards), where,
                      "" if a.change_n != a.change_n else f"{a.change_n:+,.0f}")
        Console(markup=False).print(t)
        console.print(f"wrote {csv} and {geojson}", highlight=False)


#: what a grid --out name may end in, and the format written for it
GRID_FORMATS = {".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".csv": "CSV"}


def _grid_out(out: Path) -> Path:
    """--out checked before any work: its extension must name a format written."""
    from .._validate import check_suffix

    check_suffix(out, GRID_FORMATS, "--out")
    return out


def _write_grid(grid, out: Path, source: str) -> None:
    """The grid to `out` (checked suffix) by the library's writer.

    :func:`hotspots.report.write_grid`: small counts of anonymous reports blanked, a
    CSV gives cell centres.
    """
    from ..report import write_grid

    write_grid(grid, _grid_out(out), source=source)


def _grid_json(source: str, out: Path, grid, cats: set[str] | None, **extra: Any) -> None:
    """What kde / gistar chose and wrote, as JSON on stdout."""
    settings = {k: v for k, v in grid.attrs.items() if not k.startswith("grid_")}
    _print_json({"source": source, "out": str(out), "categories": sorted(cats) if cats else None,
                 "n_cells": len(grid), **settings, **extra})


def _grid_incidents(source: str, categories: str | None, quiet: bool,
                    read_opts: dict[str, Any] | None = None):
    """(categories asked, incidents read and filtered) for the grid commands.

    The library's choices (cell size, bandwidth) are logged to the terminal.
    """
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cats = _category_set(categories)
    return cats, _only_categories(_read_source(source, quiet, **(read_opts or {})), cats)


def _grid_command(source: str, out: Path, categories: str | None, quiet: bool,
                  read_opts: dict[str, Any] | None, compute: Callable[[Any], Any]):
    """The grid commands' shared steps: check --out, read, compute, write.

    Returns (categories asked, incidents, grid); `compute` maps incidents to the grid.
    """
    _grid_out(out)  # a wrong extension fails before the work
    cats, inc = _grid_incidents(source, categories, quiet, read_opts)
    grid = compute(inc)
    _write_grid(grid, out, _source_of(source, inc))
    return cats, inc, grid


@friendly
@reading_options
def kde_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    out: Path = typer.Option(Path("out/kde.gpkg"), help="Grid file (.gpkg, .geojson, .csv)."),
    cell_size: float = typer.Option(None, help="Cell side, metres (default: chosen)."),
    bandwidth: float = typer.Option(None, help="Kernel radius, metres (default: chosen)."),
    kernel: str = typer.Option("quartic", help="quartic, gaussian, uniform or epanechnikov."),
    categories: str = _CATEGORIES_OPTION,
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Kernel density (incidents per km²) on a regular grid.

    A CSV gives each cell's centre as x, y (British National Grid) and lon, lat.

    Example: hotspots kde harrow_crime_2022 --out out/harrow_kde.gpkg
    """
    from ..density import kde

    cats, inc, grid = _grid_command(
        source, out, categories, quiet, read_opts,
        lambda inc: kde(inc, cell_size=cell_size, bandwidth=bandwidth, kernel=kernel))
    if json_out:
        _grid_json(source, out, grid, cats)
    else:
        console.print(f"wrote {out} ({len(grid):,} cells)")


@friendly
@reading_options
def forecast_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    out: Path = typer.Option(Path("out/forecast.gpkg"),
                             help="Grid file (.gpkg, .geojson, .csv)."),
    cell_size: float = typer.Option(None, help="Cell side, metres (default: chosen)."),
    freq: str = typer.Option("MS", help="MS (next month) or W-MON (next week; needs "
                               "dates)."),
    method: str = typer.Option("auto", help="auto, counts, decayed, stkde, blend or "
                               "near_repeat."),
    categories: str = _CATEGORIES_OPTION,
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Expected incidents per grid cell next period, and which method was chosen and why.

    A CSV gives each cell's centre as x, y (British National Grid) and lon, lat.

    Example: hotspots forecast barnet_burglary --cell-size 100 --out out/barnet_fc.gpkg
    """
    from ..forecasting import forecast

    cats, inc, grid = _grid_command(
        source, out, categories, quiet, read_opts,
        lambda inc: forecast(inc, cell_size=cell_size, freq=freq, method=method, quiet=quiet))
    a = grid.attrs
    if json_out:
        _grid_json(source, out, grid, cats)
    elif not quiet:
        console.print(f"forecast for {a['forecast_period']}: {a['label']} on "
                      f"{a['cell_size']:g} m cells, {a['n_periods']} periods of history")
        if "chosen_because" in a:
            console.print(f"chosen by backtest: {a['chosen_because']}")
        console.print(f"expected {a['expected_total']:g} incidents; wrote {out} "
                      f"({len(grid):,} cells)")


@friendly
@reading_options
def gistar_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    out: Path = typer.Option(Path("out/gistar.gpkg"), help="Grid file (.gpkg, .geojson, .csv)."),
    cell_size: float = typer.Option(None, help="Cell side, metres (default: chosen)."),
    distance: float = typer.Option(None, help="Neighbourhood radius, metres (default: cell "
                                   "size x √2, the cell and its 8 neighbours)."),
    permutations: int = typer.Option(0, help="Permutations for pseudo p-values (0: normal)."),
    categories: str = _CATEGORIES_OPTION,
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Getis-Ord Gi* hot and cold spots (FDR-corrected) on a regular grid.

    A CSV gives each cell's centre as x, y (British National Grid) and lon, lat.

    Example: hotspots gistar harrow_crime_2022 --out out/harrow_gistar.gpkg
    """
    from ..stats import gistar

    cats, inc, grid = _grid_command(
        source, out, categories, quiet, read_opts,
        lambda inc: gistar(inc, cell_size=cell_size, distance=distance,
                           permutations=permutations))
    labels = grid["label"].value_counts()
    if json_out:
        _grid_json(source, out, grid, cats, n_incidents=len(inc), labels=labels.to_dict())
    else:
        console.print(f"wrote {out} ({len(grid):,} cells)")
        console.print(labels.to_string())


@friendly
@reading_options
def backtest(
    incidents: str = typer.Option(
        "barnet_burglary", help="Incident file or dataset key (default: Barnet burglary 2010-23)."
    ),
    months: int = typer.Option(None, min=1, help="Only the last N test months (default: "
                               "every month with one before it)."),
    methods: str = typer.Option(
        "forecast,counts,decayed,blend,stkde,near_repeat,kde,gistar",
        help="Comma-separated: forecast, counts, decayed, blend, stkde, near_repeat, kde, "
        "gistar, dbscan, hdbscan, top20 (naive and decayed baselines always run)."),
    windows: str = typer.Option("1,3,6,12,24", help="Training windows, months."),
    cell_size: float = typer.Option(100.0, min=10.0, help="Grid cell side, metres."),
    area_share: float = typer.Option(0.05, min=0.001, max=0.999,
                                     help="Share of the study area each method flags."),
    out: Path = typer.Option(None, help="Also write the per-month table to this CSV."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or table."),
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Forecast each month from the months before it; print PAI, PEI, RRI per method.

    Example: hotspots backtest --months 36 --json
    """
    from rich.progress import Progress

    from .._atomic import atomic_write_csv
    from .._validate import check_suffix
    from ..evaluate import backtest as run_backtest
    from ..evaluate import protocol

    if out is not None:
        check_suffix(out, {".csv": "CSV"}, "--out")

    meth = [m.strip() for m in methods.split(",") if m.strip()]
    try:
        wins = [int(w) for w in windows.split(",") if w.strip()]
    except ValueError:
        raise typer.BadParameter(f"--windows takes whole months like 1,3,12; got {windows!r}") \
            from None
    with _steps(quiet) as step, step(f"reading {incidents}"):
        inc = _read_source(incidents, quiet, **(read_opts or {}))
    with Progress(console=console, transient=True, disable=quiet) as bar:
        task = bar.add_task("backtest", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        res = run_backtest(inc, methods=meth, windows=wins, months=months, cell_size=cell_size,
                           area_share=area_share, progress=tick, quiet=quiet)
    s = res.summary
    if out is not None:
        atomic_write_csv(res.table, out, source=_source_of(incidents, inc))
    if json_out or quiet:
        if json_out:
            _print_json({"incidents": incidents, "protocol": protocol(s.attrs),
                         **{k: v for k, v in s.attrs.items() if isinstance(v, (int, float, str))},
                         "methods": s})
        return
    table = Table(title=f"{incidents}: next-month PAI at {area_share:.0%} of the study area")
    for col in ("method", "mean PAI", "sd", "median", "PEI", "RRI", "sd RRI", "folds"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in s.itertuples(index=False):
        table.add_row(r.label, f"{r.mean_pai:.2f}", f"{r.sd_pai:.2f}", f"{r.median_pai:.2f}",
                      f"{r.mean_pei:.2f}", f"{r.mean_rri:.2f}", f"{r.sd_rri:.2f}", str(r.folds))
    Console(markup=False).print(table)
    console.print(protocol(s.attrs))
    if "chosen" in res.table.columns:
        picks = res.table["chosen"].dropna().value_counts()
        console.print("forecast (auto) chose: " + "; ".join(f"{k} x{v}" for k, v in
                                                             picks.items()))
    if out is not None:
        console.print(f"wrote {out}")


@friendly
@map_options
@reading_options
def map_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    borough: str = typer.Option(None, help="Borough: its wards are drawn; incidents outside "
                                "them are left out."),
    year: int = typer.Option(2022, help="Ward boundary year (2013/2014/2018/2019/2022/2023)."),
    ward: str = typer.Option(None, help="Draw a focus-ward map of this ward (needs --borough)."),
    n: int = typer.Option(20, help="How many top areas to number."),
    title: str = typer.Option(None, help="Map title (default: the borough or file name)."),
    out: Path = typer.Option(Path("out/map.html"), help="HTML file to write."),
    png: Path = typer.Option(None, help="Also write a static PNG of the same content."),
    categories: str = _CATEGORIES_OPTION,
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
    read_opts: dict[str, Any] | None = None,
    map_opts: dict[str, Any] | None = None,
) -> None:
    """Write an interactive hotspot map (wards, density, top areas, incidents).

    Example: hotspots map harrow_crime_2022 --borough Harrow --out out/harrow.html
    """
    from .. import maps
    from .._validate import check_suffix
    from ..density import kde
    from ..plots import plot_hotspots, save_figure
    from ..rank import top_areas

    check_suffix(out, {".html": "HTML", ".htm": "HTML"}, "--out")
    if png:
        check_suffix(png, {".png": "PNG"}, "--png")

    mopts = map_opts or {}
    if ward and not borough:
        raise typer.BadParameter("--ward needs --borough (to load its wards)")
    cats = _category_set(categories)
    with _steps(quiet) as step:
        inc, w = _incidents_in_wards(source, borough, year, None, step, quiet,
                                     read_opts)
        inc = _only_categories(inc, cats)
        with step(f"top {n} areas and density"):
            areas = top_areas(inc, n=n, wards=w)
            grid = kde(inc, clip=w)
    name = title or (f"{borough} hotspots" if borough else f"Hotspots: {Path(source).name}")
    if ward:
        m = maps.focus_ward_map(inc, w, ward, areas=areas, title=title, **mopts)
    else:
        m = maps.hotspot_map(inc, areas=areas, wards=w, grid=grid, title=name, **mopts)
    html = maps.save_map(m, out)
    if png:
        save_figure(plot_hotspots(inc, areas=areas, wards=w, grid=grid, title=name), png)
    if json_out:
        _print_json({"source": source, "borough": borough, "ward": ward,
                     "categories": sorted(cats) if cats else None,
                     "html": str(html),
                     "png": str(png) if png else None, "offline": mopts["offline"],
                     "tiles": mopts["tiles"],
                     "n_incidents": len(inc),
                     "n_outside_borough": inc.attrs.get("n_outside_borough", 0),
                     "areas": areas[[c for c in _AREA_COLUMNS if c in areas.columns]]})
    elif not quiet:
        console.print(f"wrote {html}" + (f" and {png}" if png else ""), highlight=False)
