"""Command `patrol`: an Op Verona foot patrol plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import (
    _JSON_OPTION,
    _QUIET_OPTION,
    _category_set,
    _network_key,
    _print_json,
    _read_source,
    _source_of,
    _steps,
    _street_network,
    console,
    friendly,
    map_options,
)
from ._options import reading_options


@friendly
@map_options
@reading_options
def patrol(
    network: str = typer.Option(None, help="OSM XML/GraphML path or registry key, e.g. "
                                "osm_city_of_london. Without one (none is shipped for "
                                "Harrow) stops are ordered on straight lines, no route."),
    incidents: str = typer.Option(..., help="Incident file or registry key "
                                  "(e.g. city_of_london_2019, harrow_crime_2022)."),
    start: str = typer.Option(None, help='Start point "lat,lon", e.g. "51.5155,-0.0922"; '
                              "default: the top hotspot."),
    end: str = typer.Option(None, help='End point "lat,lon", or "start" for a loop; '
                            "default: finish at the last stop."),
    minutes: float = typer.Option(120, help="Time budget: walking + dwell, minutes."),
    k: int = typer.Option(8, help="How many hotspot areas to consider."),
    categories: str = typer.Option(
        "robbery,violence_sexual,asb,streetsafe",
        help="Incident categories, comma-separated (Op Verona's concerns by default)."),
    hours: str = typer.Option(
        "14-24", help='Hour window "start-end" where the data have times, or "all".'),
    walk_kmh: float = typer.Option(4.8, help="Walking speed, km/h."),
    start_time: str = typer.Option("14:00", help="Clock time at the start."),
    area_name: str = typer.Option("", help="Area name for the briefing heading."),
    out: Path = typer.Option(Path("out/patrol"), help="Output folder."),
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
    read_opts: dict[str, Any] | None = None,
    map_opts: dict[str, Any] | None = None,
) -> None:
    """Plan an Op Verona foot patrol: route.geojson, route.gpx, briefing.md/html, map.html.

    Example: hotspots patrol --network osm_city_of_london --incidents city_of_london_2019
    --start "51.5155,-0.0922" --minutes 120
    """
    import hotspots as hs

    from .._atomic import atomic_dir
    from .._validate import check_positive
    from ..report import patrol_summary, write_patrol_pack

    mopts = map_opts or {}
    window = _hour_window(hours)  # before the slow reading: a typo fails at once
    check_positive(minutes, "--minutes", allow_none=False)  # "inf" is not a budget
    _category_set(categories)  # and a category typo
    if not network:
        console.print("note: no street network given (none is shipped for Harrow): stops are "
                      "ordered on straight lines and no walking route is drawn", highlight=False)
    with _steps() as step, step(f"loading {network or 'no network'} and {incidents}"):
        G = _street_network(network) if network else None
        inc = _read_source(incidents, **(read_opts or {}))
    cats = tuple(c.strip() for c in categories.split(",") if c.strip())  # in the order given
    with _steps() as step, step("hotspot areas and route"):
        areas = hs.patrol_areas(inc, categories=cats, hours=window, n=k)
        targets = hs.patrol_targets(inc, categories=cats, hours=window, n=k, network=G,
                                    areas=areas)
        plan = hs.plan_patrol(G, targets, start=start, end=end, max_minutes=minutes,
                              walk_kmh=walk_kmh, start_time=start_time)
    # credit the data actually used: the incidents' source, OSM only with a network
    credit = _source_of(incidents, inc, "tfl_stations", *_network_key(network if G else None))
    try:  # ward edges and names under the briefing's route map (any London ward in view)
        wards = hs.wards(None, 2022)
    except hs.HotspotsError:
        wards = None
    # the whole folder at once: a killed run leaves the previous plan or none, never a mix
    with atomic_dir(out) as d:
        write_patrol_pack(plan, d, areas=areas, network=G, area_name=area_name,
                          source=credit, wards=wards, **mopts)
    console.print(f"{patrol_summary(plan)} Written to {out}/", highlight=False)
    if json_out:
        stops = [c for c in ("order", "name", "street", "arrival", "depart", "dwell_min",
                             "walk_m", "why", "lat", "lon") if c in plan.stops.columns]
        _print_json({
            "incidents": incidents, "network": network, "folder": str(out),
            "files": {"route_geojson": str(out / "route.geojson"),
                      "route_gpx": str(out / "route.gpx"),
                      "briefing": str(out / "briefing.md"), "map": str(out / "map.html")},
            "n_stops": len(plan.stops), "length_m": plan.length_m, "minutes": plan.minutes,
            "n_dropped": len(plan.dropped), "notes": list(plan.notes),
            "stops": plan.stops[stops]})


def _hour_window(hours: str) -> tuple[float, float] | None:
    """--hours by the library's one parser; a bad value is a usage error (exit 2)."""
    from .._errors import BadInputError
    from .._validate import hours as parse_hours

    try:
        return parse_hours(hours, "--hours")
    except BadInputError as exc:
        raise typer.BadParameter(str(exc)) from None
