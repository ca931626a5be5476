"""The main job end to end, Harrow first: what ``hotspots demo`` (``make demo``) writes.

The demo is a table of named steps (:data:`STEPS`) over one small context object
(:class:`DemoContext`): each step reads what earlier steps left on the context, writes
its files through the library's writers and records each file with the data behind
it; :func:`write_index` then lists them all, with licences, in ``README.md``. The
command line only runs :func:`run_demo` with a progress bar.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from . import datasets
from ._atomic import atomic_write_csv, atomic_write_geojson, atomic_write_text

log = logging.getLogger("hotspots")

#: Data behind each kind of demo output (registry keys; "SYNTHETIC" for generated points).
CRIME = ("harrow_crime_2022", "wards_2022")
TIPS = ("SYNTHETIC", "fixmystreet_flytips", "wards_2022")
#: the committed SYNTHETIC samples the demo uses
FLYTIPS_SAMPLE = "harrow_flytips_2022_synthetic.csv.gz"
HISTORY_SAMPLE = "harrow_focus_history_2022_synthetic.csv"
ACTIONS_LOG_SAMPLE = "harrow_focus_actions_log_2022_synthetic.csv"
STREETSAFE_SAMPLE = "harrow_streetsafe_2022q1_synthetic.csv"
#: Op Verona's concerns and the patrols' settings (as ``hotspots patrol``'s defaults)
VERONA = ("robbery", "violence_sexual", "asb", "streetsafe")
PATROL = {"max_minutes": 120.0, "walk_kmh": 4.8, "start_time": "14:00"}


def sample(name: str) -> Path:
    """A committed sample_data file (synthetic)."""
    return datasets.PROJECT_ROOT / "sample_data" / name


def _read(source: str) -> gpd.GeoDataFrame:
    from .io import read_incidents

    return read_incidents(source)


def _log(message: str) -> None:
    log.info(message)


@dataclass
class DemoContext:
    """What the demo's steps share.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    offline : bool
        Inline Leaflet in the maps.
    read : callable
        Reads a registry key or path into incidents (default
        :func:`hotspots.read_incidents`; the CLI passes its own, which notes rejected
        rows in command-line terms).
    say : callable
        Where a step's one-line summary goes (default the ``hotspots`` log; the CLI
        prints it).
    wards, crime, flytips : GeoDataFrame or None
        Harrow's 2022 wards, its crime and the SYNTHETIC fly-tips in its wards (set by
        the first two steps).
    written : list
        ``(description, path, data keys)`` of every file written, in order.
    final : pathlib.Path or None
        Where `out` is renamed to when the demo finishes (`out` is a hidden temporary
        folder until then); messages name paths under it.
    """

    out: Path
    offline: bool = True
    read: Callable[[str], gpd.GeoDataFrame] = _read
    say: Callable[[str], None] = _log
    wards: gpd.GeoDataFrame | None = None
    crime: gpd.GeoDataFrame | None = None
    flytips: gpd.GeoDataFrame | None = None
    written: list[tuple[str, Path, tuple[str, ...]]] = field(default_factory=list)
    final: Path | None = None

    @property
    def harrow(self) -> Path:
        """Where the Harrow tables and maps go."""
        return self.out / "harrow"

    def shown(self, path: Path) -> Path:
        """`path` as the user will find it once the output folder is in place."""
        return self.final / Path(path).relative_to(self.out) if self.final else Path(path)

    def wrote(self, what: str, path: Path, keys: tuple[str, ...]) -> None:
        """Record one file written, with the data behind it (registry keys)."""
        self.written.append((what, Path(path), tuple(keys)))

    def wrote_folder(self, folder: Path, what: str, keys: tuple[str, ...]) -> None:
        """Record every file in `folder` (a pack), each named by `what`."""
        for p in sorted(Path(folder).rglob("*")):
            if p.is_file() and not p.name.startswith("."):  # not an output folder's marker
                self.wrote(f"{what}: {p.name}", p, keys)


def rates_table(measures: list[tuple[str, pd.DataFrame, str]], wards: gpd.GeoDataFrame,
                population: pd.DataFrame) -> pd.DataFrame:
    """One table: per ward and measure, the count, residents and rate per 1,000.

    Parameters
    ----------
    measures : list of (name, incidents, source)
        Each measure's incidents (after :func:`hotspots.assign_wards`) and the text
        crediting them.
    wards : geopandas.GeoDataFrame
        The wards reported on (all of them, zero-filled).
    population : pandas.DataFrame
        ``ward_code, population`` (:func:`hotspots.ward_population`); its ``attrs``
        (``population_year``, ``method``) describe it in ``population_source``.

    Returns
    -------
    pandas.DataFrame
        ``ward_code, ward_name, measure, count, n_near_edge, population,
        rate_per_1000, source, population_source``.
    """
    from .join import ward_counts

    frames = []
    for measure, sub, source in measures:
        c = ward_counts(sub, freq=None, by=None, wards=wards, population=population)
        c.insert(2, "measure", measure)
        c["source"] = source
        frames.append(c)
    table = pd.concat(frames, ignore_index=True)
    table = table.merge(population[["ward_code", "population"]], on="ward_code", how="left")
    table["population"] = table["population"].round(1)
    table["population_source"] = (
        f"GLA ward population {population.attrs.get('population_year', 2022)} on the 2022 "
        f"wards ({population.attrs.get('method', '')}; approximate). "
        + datasets.attribution("ward_population"))
    # n_near_edge: of `count`, how many lie within 20 m of the ward edge (could be next door)
    return table[["ward_code", "ward_name", "measure", "count", "n_near_edge", "population",
                  "rate_per_1000", "source", "population_source"]]


# --- the steps ---------------------------------------------------------------------


def read_crime(ctx: DemoContext) -> None:
    """Harrow's 2022 police.uk crime: rejects, joined to wards, monthly counts."""
    from .io import read_incidents
    from .join import borough_incidents, ward_counts

    inc, report = read_incidents("harrow_crime_2022", with_report=True)
    ctx.wards = _wards22("Harrow")
    ctx.crime = borough_incidents(inc, "Harrow", 2022)
    report.to_csv(ctx.harrow / "crime_rejects.csv", source=datasets.source_text(CRIME[0]))
    ctx.wrote("police.uk 2022 rows rejected on reading, with reasons",
              ctx.harrow / "crime_rejects.csv", ("harrow_crime_2022",))
    path = ctx.harrow / "crime_ward_counts_monthly.csv"
    atomic_write_csv(ward_counts(ctx.crime, freq="MS", wards=ctx.wards), path,
                     source=datasets.source_text(*CRIME, "ward_population"))
    ctx.wrote("monthly crime counts per ward and category, rates per 1,000", path,
              (*CRIME, "ward_population"))


def _wards22(borough: str) -> gpd.GeoDataFrame:
    """A borough's 2022 wards."""
    from .boundaries import wards

    return wards(borough, 2022)


def flytips_weekly(ctx: DemoContext) -> None:
    """The SYNTHETIC fly-tips joined to Harrow's wards, counted by week."""
    from .io import read_incidents
    from .join import borough_incidents, ward_counts

    ctx.flytips = borough_incidents(read_incidents(sample(FLYTIPS_SAMPLE)), "Harrow", 2022)
    path = ctx.harrow / "flytips_ward_counts_weekly_SYNTHETIC.csv"
    atomic_write_csv(ward_counts(ctx.flytips, freq="W-MON", wards=ctx.wards), path,
                     source=datasets.source_text(*TIPS, "ward_population"))
    ctx.wrote("weekly SYNTHETIC fly-tip counts per ward", path, (*TIPS, "ward_population"))


def rates(ctx: DemoContext) -> None:
    """Per ward: robbery, violence, burglary and fly-tips, counts and rates per 1,000."""
    from .boundaries import ward_population

    crime, police = ctx.crime, datasets.attribution("harrow_crime_2022")
    measures = [("robbery", crime[crime["category"] == "robbery"], police),
                ("violence and sexual offences", crime[crime["category"] == "violence_sexual"],
                 police),
                ("burglary", crime[crime["category"] == "burglary"], police),
                ("fly-tips (SYNTHETIC)", ctx.flytips, datasets.source_text(datasets.SYNTHETIC))]
    pop = ward_population(2022, ward_year=2022, borough="Harrow")
    path = ctx.harrow / "ward_counts_rates_2022.csv"
    atomic_write_csv(rates_table(measures, ctx.wards, pop), path)
    ctx.wrote("Harrow 2022 per ward: robbery, violence, burglary, fly-tips (SYNTHETIC); "
              "counts and rates per 1,000 residents", path, (*CRIME, *TIPS, "ward_population"))


def robbery_violence(ctx: DemoContext) -> None:
    """Robbery + violence: KDE, Gi*, the top twenty areas, the map and the figure."""
    from .density import kde
    from .maps import hotspot_map, save_map
    from .plots import plot_hotspots, save_figure
    from .rank import top_areas
    from .stats import gistar

    rv = ctx.crime[ctx.crime["category"].isin(["robbery", "violence_sexual"])]
    grid = kde(rv, clip=ctx.wards)
    areas = top_areas(rv, n=20, wards=ctx.wards)
    gi = gistar(rv)
    keys = (*CRIME, "tfl_stations")
    credit = datasets.source_text(*keys)
    stem = ctx.harrow / "robbery_violence_top20_areas"
    atomic_write_csv(areas.drop(columns="geometry"), stem.with_suffix(".csv"), source=credit)
    atomic_write_geojson(areas, stem.with_suffix(".geojson"), source=credit)
    title = "Harrow robbery and violence 2022: top twenty areas"
    m = hotspot_map(rv, areas=areas, wards=ctx.wards, grid=grid, gistar=gi, title=title,
                    offline=ctx.offline)
    html = save_map(m, ctx.harrow / "robbery_violence_hotspots_map.html")
    png = save_figure(plot_hotspots(inc=rv, areas=areas, wards=ctx.wards, grid=grid,
                                    title=title), ctx.harrow / "robbery_violence_hotspots.png")
    ctx.wrote("top twenty robbery + violence areas (table)", stem.with_suffix(".csv"), keys)
    ctx.wrote("top twenty robbery + violence areas (GeoJSON, WGS84)",
              stem.with_suffix(".geojson"), keys)
    ctx.wrote("Harrow hotspot map, robbery + violence: wards, density, areas, Gi*, incidents",
              html, keys)
    ctx.wrote("static hotspot map for reports", png, keys)


def fixmystreet_beside_synthetic(ctx: DemoContext) -> None:
    """Real FixMyStreet fly-tip reports per ward beside the SYNTHETIC points' counts."""
    from .fixmystreet import fixmystreet_counts

    real = fixmystreet_counts("Harrow", by="ward")
    tips = ctx.flytips["ward_code"].value_counts()
    table = pd.DataFrame(real.drop(columns="geometry"))
    table["synthetic_2022"] = table["ward_code"].map(tips).fillna(0).astype(int)
    table["synthetic_share"] = table["synthetic_2022"] / max(int(tips.sum()), 1)
    table["synthetic_rank"] = table["synthetic_2022"].rank(ascending=False, method="min")
    # the planted hotspots (15-20% of points, placed by the same shares) add their own
    # concentrations: the background points (hotspot_id == -1) show the calibration itself
    planted = pd.to_numeric(ctx.flytips.get("hotspot_id", -1), errors="coerce").fillna(-1)
    background = ctx.flytips.loc[planted.to_numpy() < 0, "ward_code"].value_counts()
    table["synthetic_background_2022"] = (table["ward_code"].map(background)
                                          .fillna(0).astype(int))
    table["synthetic_background_rank"] = table["synthetic_background_2022"].rank(
        ascending=False, method="min")
    table["source"] = (f"reports: {real.attrs.get('source', 'FixMyStreet')} "
                       f"({real.attrs.get('note', 'reporting, not incidence')}); "
                       f"synthetic_*: {datasets.source_text(datasets.SYNTHETIC)}")
    path = ctx.harrow / "flytips_fixmystreet_ward_reports.csv"
    atomic_write_csv(table, path)
    ctx.wrote("real FixMyStreet fly-tip reports per ward (2007-2020) beside the SYNTHETIC "
              "2022 points", path, ("fixmystreet_flytips", "SYNTHETIC", "wards_2022"))


def focus_week_pack(ctx: DemoContext) -> None:
    """Focus week 2022-W06, one ward per area team, with last week's actions reviewed."""
    from .focus import focus_week
    from .io import read_incidents
    from .report import write_focus_week
    from .review import actions_review

    # the sample history (weeks W03-W05) is copied, since the week is appended to it
    history = ctx.out / "focus_history.csv"
    past = pd.read_csv(sample(HISTORY_SAMPLE), dtype=str, keep_default_na=False)
    atomic_write_csv(past, history, source=datasets.source_text(*TIPS))
    inc = read_incidents(sample(FLYTIPS_SAMPLE))
    fw = focus_week(inc, ctx.wards, week="2022-02-07", teams=True, history=history)
    review = actions_review(sample(ACTIONS_LOG_SAMPLE), fw.week, ward=None, wards=ctx.wards)
    credit = datasets.source_of([], inc, "wards_2022")
    folder = ctx.out / f"focus-week-{fw.iso_week}"
    write_focus_week(fw, folder, ctx.wards, review=review, borough="Harrow", source=credit,
                     offline=ctx.offline)
    fw.append_history(history, source=credit)
    ctx.wrote_folder(folder, "focus week pack", (*TIPS, "ward_population"))
    ctx.wrote("focus-ward history (SYNTHETIC weeks W03-W05, then this week appended)",
              history, ("SYNTHETIC",))


def flytip_pack(ctx: DemoContext) -> None:
    """The top twenty fly-tip areas with an action-plan sheet each (SYNTHETIC)."""
    from .area_plans import flytip_top20
    from .io import read_incidents
    from .report import write_flytip_pack

    plans = flytip_top20(read_incidents(sample(FLYTIPS_SAMPLE)), ctx.wards, n=20,
                         synthetic=True)
    folder = ctx.out / "flytip-top20"
    write_flytip_pack(plans, folder, ctx.wards, borough="Harrow", offline=ctx.offline,
                      source=datasets.source_of([], plans.incidents, "wards_2022"))
    ctx.wrote_folder(folder, "fly-tip top twenty", TIPS)


def _patrol(
    ctx: DemoContext, incidents: str, folder: Path, *, area_name: str,
    categories: tuple[str, ...] = VERONA, hours: Any = (14, 24),
    network: str | None = None, start: str | None = None,
) -> None:
    """An Op Verona patrol pack, as ``hotspots patrol`` writes it."""
    from .boundaries import wards
    from .network import street_network
    from .report import patrol_summary, write_patrol_pack
    from .route import plan_patrol
    from .targets import patrol_areas, patrol_targets

    G = street_network(network) if network else None
    inc = ctx.read(incidents)
    areas = patrol_areas(inc, categories=categories, hours=hours, n=8)
    targets = patrol_targets(inc, categories=categories, hours=hours, n=8, network=G,
                             areas=areas)
    plan = plan_patrol(G, targets, start=start, **PATROL)
    net = datasets.network_key(network)
    write_patrol_pack(plan, folder, areas=areas, network=G, area_name=area_name,
                      source=datasets.source_of(incidents, inc, "tfl_stations", *net),
                      offline=ctx.offline, wards=wards(None, 2022))
    ctx.say(f"{patrol_summary(plan)} Written to {ctx.shown(folder)}/")


def patrol_harrow(ctx: DemoContext) -> None:
    """Op Verona targets in Harrow: robbery + violence, all hours, no street network."""
    folder = ctx.out / "patrol-harrow"
    _patrol(ctx, "harrow_crime_2022", folder, area_name="Harrow",
            categories=("robbery", "violence_sexual"), hours=None)
    ctx.wrote_folder(folder, "Harrow patrol briefing (no street network)",
                     ("harrow_crime_2022", "tfl_stations"))


def patrol_city(ctx: DemoContext) -> None:
    """Op Verona patrol in the City of London on the OSM street network."""
    folder = ctx.out / "patrol"
    _patrol(ctx, "city_of_london_2019", folder, area_name="City of London",
            network="osm_city_of_london", start="51.5155,-0.0922")
    ctx.wrote_folder(folder, "City of London patrol briefing",
                     ("city_of_london_2019", "osm_city_of_london", "tfl_stations"))


def harrow_change(ctx: DemoContext) -> None:
    """Harrow wards, first vs second half of 2022 (Poisson-tested)."""
    from .change import hotspot_change
    from .report import write_change

    inc = ctx.read("harrow_crime_2022")
    res = hotspot_change(inc, by=_wards22("Harrow"))
    folder = ctx.out / "change" / "harrow_2022_by_ward"
    write_change(res, folder, "change", f"Change from {res.attrs['split']}",
                 source=datasets.source_of("harrow_crime_2022", inc, "wards_2022"),
                 offline=ctx.offline)
    ctx.wrote_folder(folder, "Harrow ward change", CRIME)


def barnet_patterns(ctx: DemoContext) -> None:
    """Emerging and persistent burglary hot spots, Barnet 2020-2023."""
    from ._time import only_since, parse_time
    from .classify import classify_hotspots
    from .report import write_change

    inc = ctx.read("barnet_burglary")
    inc = only_since(inc, parse_time("2020-01-01", "since"))
    res = classify_hotspots(inc, freq="MS", scheme="sfhotspot")
    folder = ctx.out / "change" / "barnet_burglary_patterns"
    write_change(res, folder, "classify", f"Hot spot patterns (sfhotspot, "
                 f"{res.attrs['n_periods']} periods from {res.attrs['first_period']})",
                 source=datasets.source_of("barnet_burglary", inc), offline=ctx.offline)
    ctx.wrote_folder(folder, "Barnet burglary hot spot patterns", ("barnet_burglary",))


def barnet_trend(ctx: DemoContext) -> None:
    """Committee trend table: Barnet burglary per ward and month since 2021."""
    from .change import trend_table
    from .join import borough_incidents

    burglary = ctx.read("barnet_burglary")
    burglary = borough_incidents(burglary[burglary["month"] >= "2021-01-01"], "Barnet", 2022)
    table = trend_table(burglary, by="ward", freq="MS", population=True)
    path = ctx.out / "change" / "barnet_burglary_ward_trends_2021-2023.csv"
    keys = ("barnet_burglary", "wards_2022", "ward_population")
    atomic_write_csv(table, path, source=datasets.source_text(*keys))
    ctx.wrote("Barnet burglary per ward and month: change on last month and last year, "
              "per 1,000", path, keys)


def streetsafe(ctx: DemoContext) -> None:
    """StreetSafe reports (SYNTHETIC, anonymous): counts per cell, top areas, a patrol.

    The map draws counts per cell, the tables and the briefing areas and counts: never
    a report's point or text (privacy.py).
    """
    from .density import kde
    from .join import borough_incidents
    from .maps import hotspot_map, save_map
    from .rank import top_areas

    source = str(sample(STREETSAFE_SAMPLE))
    folder = ctx.out / "streetsafe"
    inc = borough_incidents(ctx.read(source), "Harrow", 2022)  # as `map/rank --borough`
    title = "StreetSafe reports (SYNTHETIC), Harrow 2022 Q1: counts per cell"
    m = hotspot_map(inc, areas=top_areas(inc, n=20, wards=ctx.wards), wards=ctx.wards,
                    grid=kde(inc, clip=ctx.wards), title=title, offline=ctx.offline)
    save_map(m, folder / "streetsafe_map.html")
    areas = top_areas(inc, n=10, wards=ctx.wards)
    credit = datasets.source_of(source, inc, "wards_2022")
    stem = folder / "streetsafe_top10_areas"
    atomic_write_csv(areas.drop(columns="geometry"), stem.with_suffix(".csv"), source=credit)
    atomic_write_geojson(areas, stem.with_suffix(".geojson"), source=credit)
    _patrol(ctx, source, folder / "patrol", area_name="Harrow (StreetSafe, SYNTHETIC)",
            categories=("streetsafe",))
    keys = (datasets.SYNTHETIC_STREETSAFE, "wards_2022", "tfl_stations")
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            ctx.wrote(f"StreetSafe (SYNTHETIC; anonymous: counts only): "
                      f"{p.relative_to(folder)}", p, keys)


#: The demo: (label, step) in order; each step reads and writes the context.
STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("Harrow 2022 police.uk crime: read, validate, join to wards, count", read_crime),
    ("SYNTHETIC fly-tips: weekly ward counts", flytips_weekly),
    ("Ward counts and rates per 1,000: robbery, violence, burglary, fly-tips", rates),
    ("Robbery + violence: KDE, Gi*, top twenty areas, maps", robbery_violence),
    ("Real FixMyStreet fly-tip reports per ward beside the SYNTHETIC points",
     fixmystreet_beside_synthetic),
    ("Focus week 2022-W06, one ward per area team (SYNTHETIC fly-tips)", focus_week_pack),
    ("Top twenty fly-tip areas with action-plan sheets (SYNTHETIC)", flytip_pack),
    ("Op Verona patrol targets, Harrow 2022 (no street network shipped)", patrol_harrow),
    ("Op Verona patrol, City of London 2019 on the OSM street network", patrol_city),
    ("Change over time: Harrow wards, first vs second half of 2022", harrow_change),
    ("Emerging and persistent burglary hotspots, Barnet 2020-2023", barnet_patterns),
    ("Committee trend table: Barnet burglary by ward", barnet_trend),
    ("StreetSafe reports (SYNTHETIC, anonymous): map of counts per cell, top areas, "
     "patrol", streetsafe),
]


def _data_label(keys: tuple[str, ...]) -> str:
    """Short "data (licence)" text for the demo index: one entry per dataset."""
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


def write_index(ctx: DemoContext) -> Path:
    """``README.md`` in the output folder: every file, its data and their licences."""
    out, written = ctx.out, ctx.written
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
    return atomic_write_text(out / "README.md", "\n".join(lines))


def run_demo(out: str | Path = "out", *, offline: bool = True,
             read: Callable[[str], gpd.GeoDataFrame] | None = None,
             progress: Callable[[str], contextlib.AbstractContextManager] | None = None,
             say: Callable[[str], None] | None = None,
             ) -> list[tuple[str, Path, tuple[str, ...]]]:
    """Run every step of :data:`STEPS` into `out`, then write its ``README.md``.

    Parameters
    ----------
    out : str or path, default "out"
        Output folder.
    offline : bool, default True
        Inline Leaflet so the maps open without internet.
    read : callable, optional
        How a registry key is read (default :func:`hotspots.read_incidents`).
    progress : callable, optional
        ``progress(label)`` -> context manager around each step (the CLI's progress bar).
    say : callable, optional
        Where the steps' one-line summaries go (default the ``hotspots`` log).

    Returns
    -------
    list of (description, path, data keys)
        Every file written, as the index lists them.
    """
    from ._atomic import atomic_dir

    out = Path(out)
    # the whole folder at once: a killed demo leaves the last complete one (or none)
    with atomic_dir(out) as tmp:
        ctx = DemoContext(tmp, offline, read or _read, say or _log, final=out)
        for label, step in STEPS:
            with (progress or _no_progress)(label):
                step(ctx)
        write_index(ctx)
    return [(what, out / p.relative_to(tmp), keys) for what, p, keys in ctx.written]


@contextlib.contextmanager
def _no_progress(label: str) -> Iterator[None]:
    yield


__all__ = ["STEPS", "DemoContext", "rates_table", "run_demo", "write_index"]
