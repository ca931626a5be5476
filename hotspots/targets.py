"""Where an Op Verona patrol should go: hotspot areas as patrol targets.

:func:`patrol_targets` turns incidents into the top hotspot areas for the Op Verona
categories, each snapped to the street network (:mod:`hotspots.network`), with why
it is there, nearby stations and licensed premises, a priority and a suggested dwell
time; :func:`patrol_areas` gives the areas alone.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from shapely.geometry import Point

from . import datasets
from ._errors import BadInputError, DataNotFoundError, HotspotsError
from ._time import incident_times
from ._validate import BNG, WGS84, check_gdf, check_nonempty, check_positive, hours_label, in_hours
from ._validate import hours as parse_hours
from .boundaries import station_name, stations, street_text
from .categories import CATEGORIES, check_categories
from .network import SNAP_MAX_M, _check_network, _node_table, _snap, _street_at, _text
from .privacy import protect, reason_counts

__all__ = [
    "CATEGORY_LABELS",
    "DWELL_MAX",
    "DWELL_MIN",
    "MONTH_ONLY_NOTE",
    "PLACE_BUFFER_M",
    "PLACE_KINDS",
    "POI_RADIUS_M",
    "VERONA_CATEGORIES",
    "patrol_areas",
    "patrol_targets",
    "place_kind",
]

log = logging.getLogger("hotspots")


MONTH_ONLY_NOTE = (
    "police.uk gives the month only, not the time of day: the {window} "
    "window could not be applied to {n} of {total} incidents, which are all counted."
)


#: Op Verona's concerns, in police.uk terms (see io's category vocabulary).
VERONA_CATEGORIES = ("robbery", "violence_sexual", "asb", "streetsafe")


CATEGORY_LABELS = {
    "asb": "anti-social behaviour",
    "violence_sexual": "violence and sexual offences",
    "streetsafe": "StreetSafe reports",
    "theft_person": "theft from the person",
    "public_order": "public order",
    "criminal_damage": "criminal damage",
    "bicycle_theft": "bicycle theft",
    "fly_tip": "fly-tipping",
}


#: Points of interest within this distance of a target are listed with it (metres).
POI_RADIUS_M = 300.0


#: Incidents' recorded place types within this distance of an area count as its places (m).
PLACE_BUFFER_M = 50.0


#: police.uk's location types (crimemappingdata ``location_type``, io's ``place_type``)
#: grouped into the kinds of place a briefing names. Keys are lower case.
PLACE_KINDS = {
    "nightclub": "night-time economy", "pub": "night-time economy",
    "bar": "night-time economy", "pub/bar/nightclub": "night-time economy",
    "theatre/concert hall": "night-time economy",
    "rail station": "station", "lu station": "station", "dlr station": "station",
    "overground station": "station", "tram stop": "station", "bus station": "station",
    "bus/coach station": "station", "ferry terminal": "station",
    "airport/airfield": "station",
    "shopping area": "shopping area", "supermarket": "shopping area",
    "petrol station": "petrol station", "motorway service area": "petrol station",
    "parking area": "car park",
    "park/open space": "park or sports ground",
    "sports/recreation area": "park or sports ground",
    "theme/adventure park": "park or sports ground", "race track": "park or sports ground",
    "further/higher educational building": "college or university",
    "hospital": "hospital", "police station": "police station", "prison": "prison",
    "conference/exhibition centre": "event venue", "pedestrian subway": "pedestrian subway",
}


#: Suggested dwell: DWELL_MIN..DWELL_MAX minutes, linear in the target's value.
DWELL_MIN, DWELL_MAX = 10, 20


def patrol_targets(  # noqa: PLR0913 (the incidents plus documented options)
    inc: gpd.GeoDataFrame,
    *,
    categories: tuple[str, ...] | list[str] = VERONA_CATEGORIES,
    hours: tuple[int, int] | None = (14, 24),
    n: int = 8,
    pois: gpd.GeoDataFrame | None = None,
    network: nx.Graph | None = None,
    areas: gpd.GeoDataFrame | None = None,
    poi_radius: float = POI_RADIUS_M,
    method: str = "kde",
) -> gpd.GeoDataFrame:
    """The top-n hotspot areas for an Op Verona patrol, as points to visit.

    Parameters
    ----------
    inc : GeoDataFrame
        Canonical incidents (``category``, ``occurred_at``, ``geometry``; see io).
    categories : sequence of str, default robbery, violence_sexual, asb, streetsafe
        Op Verona's concerns: robbery, sexual violence, ASB, places people felt unsafe.
    hours : (start, end) or None, default (14, 24)
        Keep incidents whose ``occurred_at`` hour is in [start, end) (wraps past
        midnight when start > end). Rows without a time (police.uk: months only) are
        kept and counted in ``attrs["untimed"]``; the briefing says so.
    n : int, default 8
        How many areas: about what two officers can cover in a 2-hour patrol.
    pois : GeoDataFrame or None
        Points of interest with ``name`` and ``kind`` columns. None: TfL stations
        (registry ``tfl_stations``), pubs/bars/nightclubs from the FSA file where it
        covers the area (Greenwich only), and OSM amenities on the network's nodes.
    network : street graph or None
        From :func:`street_network`: snap each target to its nearest node and name
        the street. When an area's centre is over 250 m from every node (a park or
        square the extract has no paths in) but its edge is within 250 m, the target
        moves to that edge and ``why`` says so; otherwise it is flagged unreachable.
    areas : GeoDataFrame or None
        Precomputed areas (the ``hs.top_areas`` frame); None computes them with
        ``hs.top_areas`` on the filtered incidents.
    poi_radius : float, default 300
        Metres within which points of interest are listed with a target (about four
        minutes' walk).
    method : str, default "kde"
        ``hs.top_areas`` method when ``areas`` is None. KDE hot regions by default:
        they come out street-block sized (1-20 ha in the City), whereas DBSCAN at
        its 150 m default chains a dense centre into one area of several km², too
        big to patrol as one stop.

    Returns
    -------
    GeoDataFrame
        One row per target (EPSG:27700 point: the area's centre): ``target_id, rank,
        name, why, value, dwell_min, n_incidents, street, serves, place_kinds,
        place_types, station, station_m, pois, node, snap_m, reachable, lat, lon``.
        ``value`` is the area's score (its incident count when there is no score);
        ``dwell_min`` runs from 10 minutes for the lowest value to 20 for the highest.
        ``place_types`` counts the recorded place types (``place_type``, else
        police.uk's ``location_type``) of all incidents within 50 m of the area,
        ``place_kinds`` groups them (:data:`PLACE_KINDS`: night-time economy, station,
        shopping area, ...), ``station``/``station_m`` are the nearest TfL station and
        its distance, and ``serves`` says in words what the stop serves ("Harrow-on-
        the-Hill station, shopping area"), which leads ``name`` when there is no
        network. ``attrs`` records the choices and caveats.
    """
    n = int(check_positive(n, "n", allow_none=False))
    sub, cats, untimed, hour_note = _verona_subset(inc, categories, hours)
    given = areas is not None
    areas = _chosen_areas(sub, areas, n, method)
    stops = _stops(areas, network)
    poi_frame, poi_note = _default_pois(pois, network, stops.centre)
    places = _area_places(check_gdf(inc, "incidents"), areas.geometry)
    rows = _target_rows(areas, _incidents_by_area(sub, areas), stops, network,
                        (poi_frame, poi_radius), places, hour_note)
    out = gpd.GeoDataFrame(rows, geometry=list(stops.centre.values), crs=BNG)
    out["dwell_min"] = _dwell(out["value"].to_numpy())
    if network is not None:
        out["node"] = out["node"].astype(object)
    out.attrs.update(
        categories=",".join(cats),
        hours=hours_label(parse_hours(hours)),
        untimed=int(untimed),
        n_incidents=int(len(sub)),
        n=n,
        snap_max_m=SNAP_MAX_M,
        poi_radius_m=float(poi_radius),
        dwell_rule=f"{DWELL_MIN}-{DWELL_MAX} min linear in value",
        area_method="given" if given else method,
        time_note=hour_note,
        poi_note=poi_note,
        count_note=_count_note(sub, cats),
        area_note=_area_note("given" if given else method),
        place_note=_place_note(inc),
        network=network is not None,
    )
    log.info(
        "patrol targets: %d areas from %d incidents (%s), hours %s, %d untimed; %s",
        len(out), len(sub), ",".join(cats), out.attrs["hours"] or "all", untimed, poi_note,
    )
    return out


def _chosen_areas(sub: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None, n: int,
                  method: str) -> gpd.GeoDataFrame:
    """The areas to patrol: the given ones or ``hs.top_areas``'s, the first `n` by rank."""
    if areas is None:
        areas = _top_areas(sub, n, method)
    areas = check_gdf(areas, "areas")
    check_nonempty(areas, "hotspot areas")
    if "rank" in areas.columns:
        areas = areas.sort_values("rank", kind="stable")
    return areas.head(n).reset_index(drop=True)


def _incidents_by_area(sub: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The incidents in each area (``area`` = its row), with category, reason and street."""
    pts = sub[["category", "geometry"]].copy()
    pts["reason"] = sub["subcategory"] if "subcategory" in sub.columns else None
    pts["desc"] = sub["location_desc"] if "location_desc" in sub.columns else None
    polys = gpd.GeoDataFrame({"area": areas.index}, geometry=areas.geometry.values, crs=BNG)
    return gpd.sjoin(pts, polys, how="inner", predicate="intersects")


@dataclass
class _Stops:
    """Where each target's stop is: a point in its area, snapped to the network."""

    centre: gpd.GeoSeries  # the stop (the area's centre, or where it meets a street)
    xy: np.ndarray
    nodes: list  # network node per stop (None without a network)
    dists: np.ndarray  # metres from the stop to its node (NaN without a network)
    entry: list[str]  # why the stop is at the area's edge ("" when at its centre)


def _stops(areas: gpd.GeoDataFrame, network: nx.Graph | None) -> _Stops:
    """Each area's stop: its centre (inside it), snapped to the street network."""
    centre = areas.geometry.centroid
    inside = areas.geometry.contains(centre)
    centre = centre.where(inside, areas.geometry.representative_point())
    xy = np.column_stack([centre.x.to_numpy(), centre.y.to_numpy()])
    entry = [""] * len(areas)
    if network is None:
        return _Stops(centre, xy, [None] * len(areas), np.full(len(areas), np.nan), entry)
    _check_network(network)
    nodes, dists = _snap(network, xy)
    # a park or square: the centre is far from every street in the extract, but the
    # area's edge is near one, so the patrol meets the area at its edge
    for i in np.flatnonzero(dists > SNAP_MAX_M):
        node, pt, d = _edge_entry(network, areas.geometry.iloc[i])
        if d <= SNAP_MAX_M:
            entry[i] = (f"the area's edge is {d:.0f} m from this street and its centre "
                        f"{dists[i]:.0f} m, on paths this network lacks")
            centre.iloc[i], xy[i], nodes[i], dists[i] = pt, pt.coords[0], node, d
    return _Stops(centre, xy, nodes, dists, entry)


def _target_rows(areas: gpd.GeoDataFrame, joined: gpd.GeoDataFrame, stops: _Stops,
                 network: nx.Graph | None, pois: tuple[gpd.GeoDataFrame, float],
                 places: list[Counter], hour_note: str) -> list[dict]:
    """One row per target: its name, why it is there, what it serves, where it is."""
    poi_frame, poi_radius = pois
    ll = gpd.GeoSeries(stops.centre.values, crs=BNG).to_crs(WGS84)
    station, station_m, landmark = _nearest_station(stops.centre)
    nodes, dists = stops.nodes, stops.dists
    rows = []
    for i, area in areas.iterrows():
        here = joined[joined["area"] == i]
        counts = here["category"].value_counts()
        n = int(len(here)) if len(here) else int(area.get("n_incidents", 0) or 0)
        if network is not None and dists[i] <= SNAP_MAX_M:
            street = _street_at(network, nodes[i])
        else:
            street = _text(area.get("streets")) or street_text(here["desc"], n=1)
            if not street and _text(area.get("wards")):  # say they are wards, not streets
                wards = _text(area.get("wards"))
                street = f"{wards} ward{'s' if ',' in wards else ''}"
        reasons = here.loc[here["category"] == "streetsafe", "reason"]
        why = _why(n, counts, reasons, hour_note)
        near = _pois_near(poi_frame, stops.xy[i], poi_radius)
        if near:
            why += f"; near {near}"
        if stops.entry[i]:
            inner = _text(area.get("streets")) or street_text(here["desc"], n=1)
            why += f"; walk in to the area{f' ({inner})' if inner else ''}: {stops.entry[i]}"
        kinds = _kinds(places[i])
        if places[i]:
            why += "; recorded places: " + ", ".join(f"{t} {c}" for t, c in
                                                     places[i].most_common(4))
        serves = _serves(kinds, station[i], station_m[i], landmark[i], poi_radius)
        value = float(area["score"]) if "score" in areas.columns else float(n)
        rank = int(area["rank"]) if "rank" in areas.columns else i + 1
        # with a network the street leads (it is where the stop is); without, the place
        label = " - ".join(p for p in ([street, serves] if network is not None
                                       else [serves, street]) if p)
        rows.append(
            {
                "target_id": f"T{rank}",
                "rank": rank,
                "name": f"Hotspot {rank}: {label}" if label else f"Hotspot {rank}",
                "why": why,
                "value": value,
                "n_incidents": n,
                "street": street,
                "serves": serves,
                "place_kinds": ", ".join(kinds),
                "place_types": ", ".join(f"{t} {c}" for t, c in places[i].most_common()),
                "station": station[i],
                "station_m": station_m[i],
                "pois": near,
                "node": nodes[i],
                "snap_m": round(float(dists[i]), 1) if network is not None else np.nan,
                "reachable": bool(dists[i] <= SNAP_MAX_M) if network is not None else True,
                "lat": round(float(ll.y.iloc[i]), 6),
                "lon": round(float(ll.x.iloc[i]), 6),
            }
        )
    return rows

def _place_column(inc: pd.DataFrame) -> str | None:
    """The incidents' recorded place-type column, None when the data record no place.

    io's ``place_type``, else police.uk's raw ``location_type``.
    """
    for col in ("place_type", "location_type"):
        if col in inc.columns:
            return col
    return None


def _area_places(inc: gpd.GeoDataFrame, areas: gpd.GeoSeries) -> list[Counter]:
    """Recorded place types of all incidents (any category) in each area, with a margin.

    police.uk snaps a crime at a station or supermarket to a point on or beside it, so
    the place types of every crime in and just around an area say what is there.
    """
    col = _place_column(inc)
    out: list[Counter] = [Counter() for _ in range(len(areas))]
    if col is None:
        return out
    typed = inc.loc[inc[col].notna() & inc[col].astype(str).str.strip().ne(""), [col, "geometry"]]
    if not len(typed):
        return out
    zones = gpd.GeoDataFrame({"area": range(len(areas))},
                             geometry=areas.buffer(PLACE_BUFFER_M).values, crs=BNG)
    hit = gpd.sjoin(typed, zones, how="inner", predicate="intersects")
    for (a, t), c in hit.groupby(["area", col]).size().items():
        out[int(a)][str(t).strip()] = int(c)
    return out


def place_kind(place_type: str) -> str:
    """The kind of place a police.uk location type is (see ``PLACE_KINDS``).

    "Nightclub" -> "night-time economy", "LU Station" -> "station", "Supermarket" ->
    "shopping area"; a type not in the table is returned in lower case.
    """
    t = str(place_type).strip().lower()
    return PLACE_KINDS.get(t, t)


def _kinds(places: Counter) -> list[str]:
    """Kinds of place, commonest first (ties by name)."""
    kinds: Counter[str] = Counter()
    for t, c in places.items():
        kinds[place_kind(t)] += c
    return sorted(kinds, key=lambda k: (-kinds[k], k))


def _nearest_station(points: gpd.GeoSeries) -> tuple[list[str], list[float], list[str]]:
    """Nearest TfL station name, its distance (m) and a landmark phrase for each point."""
    from .boundaries import describe_location

    n = len(points)
    try:
        st = stations()
    except (DataNotFoundError, KeyError, OSError):
        return [""] * n, [math.nan] * n, [""] * n
    if not n or not len(st):
        return [""] * n, [math.nan] * n, [""] * n
    pts = gpd.GeoSeries(points.values, crs=BNG)
    j, d = st.sindex.nearest(pts.array, return_distance=True, return_all=False)
    names, dist = [""] * n, [math.nan] * n
    for pi, si, dd in zip(j[0], j[1], d, strict=True):
        names[pi], dist[pi] = station_name(st["name"].iat[si]), round(float(dd), 1)
    return names, dist, describe_location(pts)


def _serves(kinds: list[str], station: str, station_m: float, landmark: str,
            radius: float) -> str:
    """What a stop serves, for people: the station it is at and the kinds of place there.

    "Harrow-on-the-Hill station, shopping area, night-time economy"; away from
    stations the kinds plus where they are ("car park (650 m west of Queensbury station)").
    """
    at_station = bool(station) and station_m <= radius
    parts = [f"{station} station"] if at_station else []
    parts += [k for k in kinds if not (at_station and k == "station")][:2]
    text = ", ".join(parts)
    if landmark and not at_station:
        text = f"{text} ({landmark})" if text else landmark
    return text


def _place_note(inc: pd.DataFrame) -> str:
    col = _place_column(inc)
    if col is None or not inc[col].notna().any():
        return "These data record no place types; stops are named by station and street."
    return (f"Place kinds come from police.uk's recorded location types of all "
            f"crimes within {PLACE_BUFFER_M:.0f} m of each area: most crimes have none, so "
            "an absent kind does not mean the place is not there.")


def patrol_areas(
    inc: gpd.GeoDataFrame,
    *,
    categories: tuple[str, ...] | list[str] = VERONA_CATEGORIES,
    hours: tuple[int, int] | None = (14, 24),
    n: int = 8,
    method: str = "kde",
) -> gpd.GeoDataFrame:
    """The top-n hotspot areas (``hs.top_areas`` polygons) behind :func:`patrol_targets`.

    Same filtering and ``method`` as :func:`patrol_targets` (categories, hour window
    where times exist); pass the result to ``patrol_targets(..., areas=)`` and to
    ``hs.patrol_map(plan, areas=)``.
    """
    n = int(check_positive(n, "n", allow_none=False))
    sub, *_ = _verona_subset(inc, categories, hours)
    return _top_areas(sub, n, method)


def _top_areas(sub: gpd.GeoDataFrame, n: int, method: str) -> gpd.GeoDataFrame:
    try:
        from .rank import top_areas
    except ImportError as exc:  # rank.py is another engineer's module
        raise HotspotsError(
            "hs.top_areas is not available in this install; pass areas= explicitly"
        ) from exc
    return top_areas(sub, n=n, method=method, quiet=True)


def _verona_subset(inc, categories, hours):
    """Incidents in the categories and hour window: (subset, categories, untimed, note)."""
    # anonymous reports (StreetSafe) off their own points and text first (privacy.py)
    inc = protect(check_gdf(inc, "incidents", ["category"]))
    cats = [categories] if isinstance(categories, str) else list(categories)
    if not cats:
        raise BadInputError("no incident categories given; use some of: " + ", ".join(CATEGORIES))
    # the one category check (categories.check_categories), in the order given; a word
    # no incident has (a typo) is an error
    try:
        cats = list(dict.fromkeys(c for v in cats for c in check_categories([v])))
        check_categories(cats, present=inc["category"])
    except BadInputError as exc:
        raise BadInputError(f"unknown incident categories: {exc}") from None
    sub = inc[inc["category"].isin(cats)]
    check_nonempty(sub, f"incidents in categories {cats}")
    sub, untimed, hour_note = _filter_hours(sub, hours)
    check_nonempty(sub, f"incidents between {hours} hours")
    return sub, cats, untimed, hour_note


def _filter_hours(sub: gpd.GeoDataFrame, hours: tuple[int, int] | None):
    """Keep incidents in the hour window; untimed rows are kept and counted."""
    window = parse_hours(hours)  # the one hours parser (rank and the CLI use it too)
    if window is None:
        return sub, 0, ""
    t = incident_times(sub, dated_only=True)
    timed = t.notna()
    keep = in_hours((t.dt.hour + t.dt.minute / 60).to_numpy(float), window)
    untimed = int((~timed).sum())
    note = ""
    if untimed:
        note = MONTH_ONLY_NOTE.format(window=hours_label(window), n=untimed, total=len(sub))
    return sub[keep | ~timed.to_numpy()], untimed, note


def _area_note(method: str) -> str:
    """How the patrol's hotspots were drawn.

    So their counts are not read against a top-twenty table made another way (areas
    and counts differ between methods).
    """
    if method == "given":
        return "Hotspot areas: as given."
    how = {"kde": "kernel density (the hottest cells, joined into areas)",
           "dbscan": "DBSCAN clusters", "hdbscan": "HDBSCAN clusters"}.get(method, method)
    return (f"Hotspot areas: {how}, from the patrol's own categories and hours, so their "
            "numbering and counts differ from a top-twenty table of other categories or "
            "another method.")


def _count_note(sub: gpd.GeoDataFrame, cats: list[str]) -> str:
    """What the incident counts cover: categories and the months of the data."""
    def label(c: str) -> str:
        return CATEGORY_LABELS.get(c, c.replace("_", " "))

    n = sub["category"].value_counts()
    note = "Incident counts: " + ", ".join(f"{int(n[c])} {label(c)}" for c in n.index)
    if "month" in sub.columns:
        m = pd.to_datetime(sub["month"], errors="coerce").dropna()
        if len(m):
            note += f" ({m.min():%b %Y} to {m.max():%b %Y})"
    absent = [label(c) for c in cats if c not in n.index]
    if absent:
        note += f"; none of {', '.join(absent)} in these data"
    return note + "."


def _edge_entry(G: nx.Graph, area: Any) -> tuple[Any, Point, float]:
    """The node nearest to `area`, the area's point nearest to it, and their distance (m)."""
    import shapely
    from shapely.ops import nearest_points

    ids, nxy = _node_table(G)
    d = shapely.distance(area, shapely.points(nxy))
    j = int(np.argmin(d))
    node_pt = Point(nxy[j])
    return ids[j], nearest_points(area, node_pt)[0], float(d[j])


def _why(n: int, counts: pd.Series, reasons: pd.Series, hour_note: str) -> str:
    parts = [f"{int(c)} {CATEGORY_LABELS.get(cat, cat.replace('_', ' '))}"
             for cat, c in counts.items()]
    text = f"{n} incidents" + (f" ({', '.join(parts)})" if parts else "")
    if hour_note:
        text += ", all hours (month-only data)"
    # reasons only, never where a report was; a reason given fewer than 5 times says so
    shown = reason_counts(reasons, top=3)
    if shown:
        text += "; StreetSafe: " + ", ".join(f"{r} ({c})" for r, c in shown)
    return text


def _dwell(value: np.ndarray) -> np.ndarray:
    """Suggested dwell in whole minutes: DWELL_MIN for the lowest value, DWELL_MAX for the top."""
    v = np.asarray(value, dtype=float)
    if len(v) == 0:
        return np.array([], dtype=int)
    span = v.max() - v.min()
    if span <= 0:
        return np.full(len(v), (DWELL_MIN + DWELL_MAX) // 2, dtype=int)
    return np.rint(DWELL_MIN + (DWELL_MAX - DWELL_MIN) * (v - v.min()) / span).astype(int)


def _default_pois(
    pois: gpd.GeoDataFrame | None, network: nx.Graph | None, centre: gpd.GeoSeries
) -> tuple[gpd.GeoDataFrame, str]:
    """Points of interest (name, kind) near the targets, and a note of what was used."""
    if pois is not None:
        pois = check_gdf(pois, "pois", ["name"])
        frame = pois[["name", "geometry"]].copy()
        frame["kind"] = pois["kind"] if "kind" in pois.columns else "place"
        return frame, f"{len(frame)} points of interest supplied"
    frames, used = [], []
    try:
        st = stations()
        frames.append(gpd.GeoDataFrame(
            {"name": st["name"] + " station", "kind": "station"}, geometry=st.geometry.array,
            crs=BNG))
        used.append("TfL stations")
    except (DataNotFoundError, KeyError, OSError):
        used.append("no TfL station file")
    bounds = centre.total_bounds if len(centre) else None
    try:
        fsa = pd.read_csv(datasets.path("fsa_greenwich", download=False))
        fsa = fsa[fsa["BusinessType"].eq("Pub/bar/nightclub")].dropna(subset=["Longitude"])
        g = gpd.GeoDataFrame({"name": fsa["BusinessName"].astype(str), "kind": "licensed"},
                             geometry=gpd.points_from_xy(fsa["Longitude"], fsa["Latitude"]),
                             crs=WGS84).to_crs(BNG)
        if bounds is not None and _near_bounds(g, bounds, 2000):
            frames.append(g)
            used.append("FSA pubs/bars/nightclubs (Greenwich 2014)")
        else:
            used.append("no licensed-premises data for this area (FSA file covers Greenwich)")
    except (DataNotFoundError, KeyError, OSError):
        used.append("no licensed-premises data")
    if network is not None:
        am = [(d.get("name", d["amenity"]), d["amenity"], Point(d["x"], d["y"]))
              for _, d in network.nodes(data=True) if d.get("amenity")]
        if am:
            frames.append(gpd.GeoDataFrame(
                {"name": [a[0] for a in am], "kind": [a[1] for a in am]},
                geometry=[a[2] for a in am], crs=BNG))
            used.append("OSM amenities")
    used.append("no parks data (parks and green spaces not shown)")
    used[0] = "Points of interest: " + used[0]
    frame = (pd.concat(frames, ignore_index=True) if frames
             else gpd.GeoDataFrame({"name": [], "kind": []}, geometry=[], crs=BNG))
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=BNG), "; ".join(used)


def _near_bounds(g: gpd.GeoDataFrame, bounds: np.ndarray, margin: float) -> bool:
    x0, y0, x1, y1 = bounds
    return bool(len(g.cx[x0 - margin:x1 + margin, y0 - margin:y1 + margin]))


def _pois_near(pois: gpd.GeoDataFrame, xy: np.ndarray, radius: float, most: int = 3) -> str:
    if not len(pois):
        return ""
    d = pois.geometry.distance(Point(xy))
    near = d[d <= radius].sort_values().head(most)
    return "; ".join(f"{pois.at[j, 'name']} ({int(round(near[j]))} m)" for j in near.index)
