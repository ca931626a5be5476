"""Command `demo`: the main job end to end, Harrow first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ._common import (
    _read_source,
    console,
    friendly,
)


@friendly
def demo(
    out: Path = typer.Option(Path("out"), help="Output folder."),
    offline: bool = typer.Option(True, help="Inline map scripts so maps open without internet."),
) -> None:
    """The main job end to end: Harrow's real 2022 crime and synthetic fly-tips.

    Writes Harrow's ward counts and rates, the top twenty areas for robbery + violence
    and for fly-tips, maps, a focus week pack and Op Verona patrol briefings into OUT,
    with a README listing every file, its data and their licences.

    Example: hotspots demo --out out   (or: make demo)
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .._atomic import atomic_dir

    written: list[tuple[str, Path, tuple[str, ...]]] = []
    columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn())
    # the whole folder at once: a killed demo leaves the last complete one (or none)
    with atomic_dir(out) as tmp, Progress(*columns, console=console,
                                          transient=False) as progress:
        for label, step in _demo_steps(tmp, offline):
            task = progress.add_task(label, total=1)
            written += step()
            progress.update(task, completed=1)
        _write_demo_index(tmp, written)
    console.print(f"[bold green]demo done:[/] {len(written)} outputs in {escape(str(out))}/ "
                  f"(see {escape(str(out / 'README.md'))})", highlight=False, markup=True)


#: Data behind each kind of demo output (registry keys; "SYNTHETIC" for generated points).
_CRIME = ("harrow_crime_2022", "wards_2022")


_TIPS = ("SYNTHETIC", "fixmystreet_flytips", "wards_2022")


def _demo_steps(out: Path, offline: bool) -> list[tuple[str, Callable[[], list]]]:
    """The demo as named steps; each returns [(description, path, data keys), ...] it wrote."""
    import pandas as pd

    import hotspots as hs

    from .. import datasets
    from .._atomic import atomic_path, atomic_write_csv, atomic_write_geojson

    harrow = out / "harrow"
    state: dict[str, Any] = {}

    def read_crime() -> list:
        inc, report = hs.read_incidents("harrow_crime_2022", with_report=True)
        wards = hs.wards("Harrow", 2022)
        state["wards"] = wards
        state["crime"] = hs.borough_incidents(inc, "Harrow", 2022)
        report.to_csv(harrow / "crime_rejects.csv", source=datasets.source_text(_CRIME[0]))
        counts = hs.ward_counts(state["crime"], freq="MS", wards=wards)
        atomic_write_csv(counts, harrow / "crime_ward_counts_monthly.csv",
                         source=datasets.source_text(*_CRIME, "ward_population"))
        return [
            ("police.uk 2022 rows rejected on reading, with reasons", harrow / "crime_rejects.csv",
             ("harrow_crime_2022",)),
            ("monthly crime counts per ward and category, rates per 1,000",
             harrow / "crime_ward_counts_monthly.csv", (*_CRIME, "ward_population")),
        ]

    def flytips_step() -> list:
        tips = hs.read_incidents(_sample("harrow_flytips_2022_synthetic.csv.gz"))
        tips = hs.borough_incidents(tips, "Harrow", 2022)
        state["flytips"] = tips
        counts = hs.ward_counts(tips, freq="W-MON", wards=state["wards"])
        atomic_write_csv(counts, harrow / "flytips_ward_counts_weekly_SYNTHETIC.csv",
                         source=datasets.source_text(*_TIPS, "ward_population"))
        return [("weekly SYNTHETIC fly-tip counts per ward",
                 harrow / "flytips_ward_counts_weekly_SYNTHETIC.csv", (*_TIPS, "ward_population"))]

    def rates_step() -> list:
        table = _demo_rates(state["crime"], state["flytips"], state["wards"])
        path = harrow / "ward_counts_rates_2022.csv"
        atomic_write_csv(table, path)
        return [("Harrow 2022 per ward: robbery, violence, burglary, fly-tips (SYNTHETIC); "
                 "counts and rates per 1,000 residents", path,
                 (*_CRIME, *_TIPS, "ward_population"))]

    def hotspots_step() -> list:
        crime, wards = state["crime"], state["wards"]
        rv = crime[crime["category"].isin(["robbery", "violence_sexual"])]
        grid = hs.kde(rv, clip=wards)
        areas = hs.top_areas(rv, n=20, wards=wards)
        gi = hs.gistar(rv)
        credit = datasets.source_text(*_CRIME, "tfl_stations")
        stem = harrow / "robbery_violence_top20_areas"
        atomic_write_csv(areas.drop(columns="geometry"), stem.with_suffix(".csv"), source=credit)
        atomic_write_geojson(areas, stem.with_suffix(".geojson"), source=credit)
        title = "Harrow robbery and violence 2022: top twenty areas"
        m = hs.hotspot_map(rv, areas=areas, wards=wards, grid=grid, gistar=gi, title=title,
                           offline=offline)
        hs.save_map(m, harrow / "robbery_violence_hotspots_map.html")
        fig = hs.plot_hotspots(inc=rv, areas=areas, wards=wards, grid=grid, title=title)
        with atomic_path(harrow / "robbery_violence_hotspots.png") as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight")
        keys = (*_CRIME, "tfl_stations")
        return [
            ("top twenty robbery + violence areas (table)", stem.with_suffix(".csv"), keys),
            ("top twenty robbery + violence areas (GeoJSON, WGS84)",
             stem.with_suffix(".geojson"), keys),
            ("Harrow hotspot map, robbery + violence: wards, density, areas, Gi*, incidents",
             harrow / "robbery_violence_hotspots_map.html", keys),
            ("static hotspot map for reports", harrow / "robbery_violence_hotspots.png", keys),
        ]

    def fixmystreet_step() -> list:
        real = hs.fixmystreet_counts("Harrow", by="ward")
        tips = state["flytips"]["ward_code"].value_counts()
        table = pd.DataFrame(real.drop(columns="geometry"))
        table["synthetic_2022"] = table["ward_code"].map(tips).fillna(0).astype(int)
        table["synthetic_share"] = table["synthetic_2022"] / max(int(tips.sum()), 1)
        table["synthetic_rank"] = table["synthetic_2022"].rank(ascending=False, method="min")
        # the planted hotspots (15-20% of points, placed by the same shares) add their
        # own concentrations: the background points (hotspot_id == -1) show the
        # calibration itself
        flytips = state["flytips"]
        planted = pd.to_numeric(flytips.get("hotspot_id", -1), errors="coerce").fillna(-1)
        background = flytips.loc[planted.to_numpy() < 0, "ward_code"].value_counts()
        table["synthetic_background_2022"] = (table["ward_code"].map(background)
                                              .fillna(0).astype(int))
        table["synthetic_background_rank"] = table["synthetic_background_2022"].rank(
            ascending=False, method="min")
        table["source"] = (f"reports: {real.attrs.get('source', 'FixMyStreet')} "
                           f"({real.attrs.get('note', 'reporting, not incidence')}); "
                           f"synthetic_*: {datasets.source_text(datasets.SYNTHETIC)}")
        path = harrow / "flytips_fixmystreet_ward_reports.csv"
        atomic_write_csv(table, path)
        return [("real FixMyStreet fly-tip reports per ward (2007-2020) beside the SYNTHETIC "
                 "2022 points", path, ("fixmystreet_flytips", "SYNTHETIC", "wards_2022"))]

    def run_command(folder: Path, what: str, keys: tuple[str, ...], *args: str) -> list:
        """Run another hotspots command in-process, the same code a user runs."""
        from . import app

        app(list(args), standalone_mode=False)
        return [(f"{what}: {p.name}", p, keys) for p in sorted(folder.rglob("*"))
                if p.is_file() and not p.name.startswith(".")]  # not the folder's marker

    def streetsafe_step() -> list:
        # anonymous reports: the map shows counts per cell of at least 5, the tables and
        # the briefing areas and counts, never a report's point or text (privacy.py)
        sample = str(_sample("harrow_streetsafe_2022q1_synthetic.csv"))
        folder = out / "streetsafe"
        for args in (
                ["map", sample, "--borough", "Harrow", "--quiet", "--out",
                 str(folder / "streetsafe_map.html"), "--title",
                 "StreetSafe reports (SYNTHETIC), Harrow 2022 Q1: counts per cell", *off],
                ["rank", sample, "--borough", "Harrow", "--n", "10", "--quiet", "--out",
                 str(folder / "streetsafe_top10_areas")],
                ["patrol", "--incidents", sample, "--categories", "streetsafe",
                 "--area-name", "Harrow (StreetSafe, SYNTHETIC)", "--out",
                 str(folder / "patrol"), *off]):
            run_command(folder, "", (), *args)
        keys = (datasets.SYNTHETIC_STREETSAFE, "wards_2022", "tfl_stations")
        return [(f"StreetSafe (SYNTHETIC; anonymous: counts only): {p.relative_to(folder)}",
                 p, keys) for p in sorted(folder.rglob("*"))
                if p.is_file() and not p.name.startswith(".")]

    def barnet_trend() -> list:
        # the CLI's note on rejected rows (pointing to `hotspots validate`), not the
        # library's advice for Python callers
        burglary = _read_source("barnet_burglary")
        burglary = burglary[burglary["month"] >= "2021-01-01"]
        burglary = hs.borough_incidents(burglary, "Barnet", 2022)
        table = hs.trend_table(burglary, by="ward", freq="MS", population=True)
        path = out / "change" / "barnet_burglary_ward_trends_2021-2023.csv"
        atomic_write_csv(table, path, source=datasets.source_text(
            "barnet_burglary", "wards_2022", "ward_population"))
        return [("Barnet burglary per ward and month: change on last month and last year, "
                 "per 1,000", path, ("barnet_burglary", "wards_2022", "ward_population"))]

    off = ["--offline"] if offline else []
    focus_dir = out / "focus-week-2022-W06"

    def focus_step() -> list:
        # the sample history (weeks W03-W05) is copied, since the command appends to it
        history = out / "focus_history.csv"
        past = pd.read_csv(_sample("harrow_focus_history_2022_synthetic.csv"), dtype=str,
                           keep_default_na=False)
        atomic_write_csv(past, history, source=datasets.source_text(*_TIPS))
        return run_command(focus_dir, "focus week pack", (*_TIPS, "ward_population"),
                           "focus-week", "--borough", "Harrow",
                           "--week", "2022-02-07", "--teams", "--history", str(history),
                           "--actions", str(_sample("harrow_focus_actions_log_2022_synthetic.csv")),
                           "--out", str(out), *off) + [
            ("focus-ward history (SYNTHETIC weeks W03-W05, then this week appended)", history,
             ("SYNTHETIC",))]

    patrol = ["patrol", "--minutes", "120", *off]
    return [
        ("Harrow 2022 police.uk crime: read, validate, join to wards, count", read_crime),
        ("SYNTHETIC fly-tips: weekly ward counts", flytips_step),
        ("Ward counts and rates per 1,000: robbery, violence, burglary, fly-tips", rates_step),
        ("Robbery + violence: KDE, Gi*, top twenty areas, maps", hotspots_step),
        ("Real FixMyStreet fly-tip reports per ward beside the SYNTHETIC points",
         fixmystreet_step),
        ("Focus week 2022-W06, one ward per area team (SYNTHETIC fly-tips)", focus_step),
        ("Top twenty fly-tip areas with action-plan sheets (SYNTHETIC)",
         lambda: run_command(out / "flytip-top20", "fly-tip top twenty", _TIPS, "flytip-top20",
                             "--borough", "Harrow", "--out", str(out), *off)),
        ("Op Verona patrol targets, Harrow 2022 (no street network shipped)",
         lambda: run_command(out / "patrol-harrow", "Harrow patrol briefing (no street network)",
                             ("harrow_crime_2022", "tfl_stations"), *patrol,
                             "--incidents", "harrow_crime_2022", "--hours", "all",
                             "--categories", "robbery,violence_sexual",
                             "--area-name", "Harrow", "--out", str(out / "patrol-harrow"))),
        ("Op Verona patrol, City of London 2019 on the OSM street network",
         lambda: run_command(out / "patrol", "City of London patrol briefing",
                             ("city_of_london_2019", "osm_city_of_london", "tfl_stations"),
                             *patrol, "--network", "osm_city_of_london",
                             "--incidents", "city_of_london_2019", "--start", "51.5155,-0.0922",
                             "--area-name", "City of London", "--out", str(out / "patrol"))),
        ("Change over time: Harrow wards, first vs second half of 2022",
         lambda: run_command(out / "change" / "harrow_2022_by_ward", "Harrow ward change",
                             _CRIME, "change", "harrow_crime_2022", "--by", "ward", "--borough",
                             "Harrow", "--out", str(out / "change" / "harrow_2022_by_ward"))),
        ("Emerging and persistent burglary hotspots, Barnet 2020-2023",
         lambda: run_command(out / "change" / "barnet_burglary_patterns",
                             "Barnet burglary hot spot patterns", ("barnet_burglary",),
                             "classify", "barnet_burglary", "--since", "2020-01-01", "--out",
                             str(out / "change" / "barnet_burglary_patterns"))),
        ("Committee trend table: Barnet burglary by ward", barnet_trend),
        ("StreetSafe reports (SYNTHETIC, anonymous): map of counts per cell, top areas, "
         "patrol", streetsafe_step),
    ]


def _demo_rates(crime: Any, tips: Any, wards: Any) -> Any:
    """One table: per Harrow 2022 ward and measure, the count, residents and rate per 1,000."""
    import pandas as pd

    import hotspots as hs

    from .. import datasets

    pop = hs.ward_population(2022, wards_year=2022, borough="Harrow")
    police = datasets.attribution("harrow_crime_2022")
    measures = [("robbery", crime[crime["category"] == "robbery"], police),
                ("violence and sexual offences", crime[crime["category"] == "violence_sexual"],
                 police),
                ("burglary", crime[crime["category"] == "burglary"], police),
                ("fly-tips (SYNTHETIC)", tips, datasets.source_text(datasets.SYNTHETIC))]
    frames = []
    for measure, sub, source in measures:
        c = hs.ward_counts(sub, freq=None, by=None, wards=wards, population=pop)
        c.insert(2, "measure", measure)
        c["source"] = source
        frames.append(c)
    table = pd.concat(frames, ignore_index=True)
    table = table.merge(pop[["ward_code", "population"]], on="ward_code", how="left")
    table["population"] = table["population"].round(1)
    table["population_source"] = (
        f"GLA ward population {pop.attrs.get('population_year', 2022)} on the 2022 wards "
        f"({pop.attrs.get('method', '')}; approximate). " + datasets.attribution("ward_population"))
    # n_near_edge: of `count`, how many lie within 20 m of the ward edge (could be next door)
    return table[["ward_code", "ward_name", "measure", "count", "n_near_edge", "population",
                  "rate_per_1000", "source", "population_source"]]


def _sample(name: str) -> Path:
    """A committed sample_data file (synthetic)."""
    from ..datasets import PROJECT_ROOT

    return PROJECT_ROOT / "sample_data" / name


def _data_label(keys: tuple[str, ...]) -> str:
    """Short "data (licence)" text for the demo index: one entry per dataset."""
    from .. import datasets

    short = {"ogl": "OGL v3.0", "odbl": "ODbL 1.0", "odc": "ODC-By 1.0"}
    parts = []
    for key in dict.fromkeys(keys):
        if key == "SYNTHETIC":
            parts.append("SYNTHETIC fly-tips (calibrated to FixMyStreet report counts)")
            continue
        if key == datasets.SYNTHETIC_STREETSAFE:
            parts.append("SYNTHETIC StreetSafe reports (placeholder shares)")
            continue
        ds = datasets.get(key)
        what = ds.description.split(":")[0].strip() or key
        parts.append(f"{what} ({short.get(ds.licence.split('_')[0], ds.licence)})")
    return "; ".join(parts)


def _write_demo_index(out: Path, written: list[tuple[str, Path, tuple[str, ...]]]) -> None:
    from .. import datasets
    from .._atomic import atomic_write_text

    keys = list(dict.fromkeys(k for *_, ks in written for k in ks
                              if not k.startswith("SYNTHETIC")))
    lines = ["# hotspots demo outputs", "",
             "Made by `make demo` (`hotspots demo`): Harrow first. Crime is real (police.uk, "
             "2022); files marked SYNTHETIC come from the project's seeded generator, not from "
             "real reports. Fly-tip points are synthetic, calibrated to FixMyStreet report "
             "counts, which measure reporting, not incidence.", "",
             "| output | file | data (licence) |", "|---|---|---|"]
    lines += [f"| {what} | `{p.relative_to(out)}` | {_data_label(ks)} |" for what, p, ks in written]
    lines += ["", "## Attribution", "", datasets.attribution(*keys), ""]
    atomic_write_text(out / "README.md", "\n".join(lines))
