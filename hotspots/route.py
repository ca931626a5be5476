"""The patrol route: the order of the visits, on the streets, and its export.

:func:`plan_patrol` orders the visits so walking is short (a travelling-salesman tour
on the small stop-to-stop matrix, one Dijkstra per stop), chooses the targets of most
total value that fit the time budget (an orienteering problem), and returns a
:class:`PatrolPlan` whose route is a real path on the network (GPX/GeoJSON export).
Targets come from :mod:`hotspots.targets`, the network from :mod:`hotspots.network`.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import time as dtime
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point, mapping

from . import datasets
from ._atomic import atomic_write_text, attributed_geojson
from ._errors import BadInputError
from ._escape import xml_text
from ._validate import BNG, WGS84, check_gdf, check_positive
from .network import SNAP_MAX_M, WALK_NOTE, _check_network, _node_table, _snap, _street_at
from .targets import _nearest_station

__all__ = [
    "DETOUR_FACTOR",
    "EXACT_MAX",
    "NO_NETWORK_NOTE",
    "PatrolPlan",
    "plan_patrol",
    "stop_distances",
    "tour_length",
]

log = logging.getLogger("hotspots")


#: Without a street network, street distance is estimated as straight line times this:
#: walking routes in towns run about 1.2-1.4 times the straight line (route circuity).
DETOUR_FACTOR = 1.3


NO_NETWORK_NOTE = (
    "No street network was given (the project ships the City of London and Westminster "
    "extracts only; none for Harrow), so no walking route is drawn. Stops are ordered by "
    "straight-line distance, and walking distances and "
    f"times are estimates (straight line x {DETOUR_FACTOR:g}). Give a street network (an OSM "
    "XML or GraphML file) to plan the route on the streets."
)


EXACT_MAX = 9


@dataclass
class PatrolPlan:
    """A patrol route on the street network.

    Attributes
    ----------
    stops : GeoDataFrame
        EPSG:27700 points (the network node walked to) in visiting order: ``order``
        (1..n), ``target_id, rank`` (the hotspot's rank, when the targets have one),
        ``name, serves, why, street, arrival`` ("HH:MM"), ``depart``,
        ``dwell_min``, ``walk_m`` (walk into this stop), ``cum_m``, ``value``,
        ``pois``, ``node``, ``lat``, ``lon``.
    route : GeoDataFrame
        One LineString per leg (start → stop 1 → ... → end) built from the edge
        geometries: ``leg, from_name, to_name, length_m, walk_min``.
    nodes : list
        The full node path on the network, start to finish.
    length_m, minutes : float
        Walking distance (m) and total time (walking + dwell, minutes).
    walk_minutes, dwell_minutes : float
        The two parts of ``minutes``.
    dropped : DataFrame
        Targets left out: ``target_id, name, value, reason``.
    notes : list of str
        Caveats for the briefing (walking network, month-only data, POIs).
    start, end : shapely Point
        Start and end in EPSG:27700 (end equals the last stop on an open path).
    attrs : dict
        The parameters used (walk_kmh, max_minutes, solver, start_time, closed...),
        ``network`` (False: planned without a street network), ``start_street``
        (street at the start; without a network, where it is by the nearest station),
        ``finish`` ("last stop", "start" or "end") and ``end_time`` ("HH:MM", end of
        the last stop or arrival at the end point).
    """

    stops: gpd.GeoDataFrame
    route: gpd.GeoDataFrame
    nodes: list
    length_m: float
    minutes: float
    walk_minutes: float
    dwell_minutes: float
    dropped: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    start: Point | None = None
    end: Point | None = None
    attrs: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"PatrolPlan({len(self.stops)} stops, {self.length_m / 1000:.2f} km, "
                f"{self.minutes:.0f} min, {len(self.dropped)} dropped)")

    def to_geojson(self, path: str | Path, source: str | None = None) -> Path:
        """Write the route legs, the stops and the start as one WGS84 GeoJSON file.

        `source` (the data used and their licences, e.g. ``hs.attribution(...)``) goes in
        every feature's ``source`` property and a top-level ``attribution`` member.
        """
        feats = []
        for kind, gdf in (("route", self.route), ("stop", self.stops)):
            if not len(gdf):
                continue
            g = gdf.to_crs(WGS84)
            props = g.drop(columns="geometry")
            for (_, row), geom in zip(props.iterrows(), g.geometry, strict=True):
                p = {"kind": kind, **{c: _jsonable(v) for c, v in row.items()}}
                feats.append({"type": "Feature", "properties": p, "geometry": mapping(geom)})
        if self.start is not None:
            s = gpd.GeoSeries([self.start], crs=BNG).to_crs(WGS84).iloc[0]
            feats.append({"type": "Feature", "properties": {"kind": "start", "name": "Start"},
                          "geometry": mapping(s)})
        doc = {"type": "FeatureCollection", "features": feats,
               "properties": {"length_m": round(self.length_m, 1),
                              "minutes": round(self.minutes, 1), "notes": self.notes}}
        return atomic_write_text(path, json.dumps(attributed_geojson(doc, source),
                                                  ensure_ascii=False))

    def to_gpx(self, path: str | Path, name: str = "Op Verona patrol",
               source: str | None = None) -> Path:
        """Write a GPX 1.1 file (WGS84): stops as waypoints and a route, the path as a track.

        `source` (the data used and their licences) is added to the metadata's ``desc``
        and given as its ``copyright`` (author = the text, licence = the URL of the most
        demanding licence it names).
        """
        desc = " ".join([*self.notes, *([f"Data: {source}"] if source else [])])
        url = datasets.licence_url(source) if source else None
        rights = (f'<copyright author="{xml_text(source, attribute=True)}">'
                  + (f"<license>{xml_text(url)}</license>" if url else "")
                  + "</copyright>") if source else ""
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<gpx version="1.1" creator="hotspots" xmlns="http://www.topografix.com/GPX/1/1">',
                 f"<metadata><name>{xml_text(name)}</name>"
                 f"<desc>{xml_text(desc)}</desc>{rights}</metadata>"]
        stops = self.stops.to_crs(WGS84) if len(self.stops) else self.stops
        wpts = []
        for row, geom in zip(stops.itertuples(index=False), stops.geometry, strict=True):
            wpts.append((geom.y, geom.x, f"{row.order}. {row.name}",
                         f"arrive {row.arrival}, dwell {row.dwell_min} min. {row.why}"))
        for lat, lon, nm, desc in wpts:
            lines.append(f'<wpt lat="{lat:.7f}" lon="{lon:.7f}"><name>{xml_text(nm)}</name>'
                         f"<desc>{xml_text(desc)}</desc></wpt>")
        lines.append(f"<rte><name>{xml_text(name)}</name>")
        lines += [f'<rtept lat="{lat:.7f}" lon="{lon:.7f}"><name>{xml_text(nm)}</name></rtept>'
                  for lat, lon, nm, _ in wpts]
        lines.append("</rte>")
        lines.append(f"<trk><name>{xml_text(name)}</name><trkseg>")
        for lon, lat in _path_coords(self.route):
            lines.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"></trkpt>')
        lines.append("</trkseg></trk></gpx>")
        return atomic_write_text(path, "\n".join(lines) + "\n")


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def _path_coords(route: gpd.GeoDataFrame) -> list[tuple[float, float]]:
    """The route's coordinates in WGS84 (lon, lat), legs joined without repeats."""
    if not len(route):
        return []
    out: list[tuple[float, float]] = []
    for geom in route.to_crs(WGS84).geometry:
        for c in geom.coords:
            if not out or out[-1] != (c[0], c[1]):
                out.append((c[0], c[1]))
    return out


def _point_bng(p: Any, name: str) -> Point:
    """A (lat, lon) tuple, "lat,lon" text or Point (BNG metres, or lon/lat degrees) in BNG."""
    if isinstance(p, str):
        try:
            p = tuple(float(s) for s in re.split(r"[,\s]+", p.strip()) if s)
        except ValueError:
            raise BadInputError(f"{name} must be 'lat,lon', got {p!r}") from None
    if isinstance(p, Point):
        x, y = p.x, p.y
        if abs(x) <= 180 and abs(y) <= 90:  # degrees: treat as lon/lat
            return gpd.GeoSeries([p], crs=WGS84).to_crs(BNG).iloc[0]
        return Point(x, y)
    try:
        lat, lon = (float(v) for v in p)
    except (TypeError, ValueError):
        raise BadInputError(f"{name} must be (lat, lon) or a shapely Point, got {p!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadInputError(f"{name} {p!r} is not a (lat, lon) pair in degrees")
    return gpd.GeoSeries([Point(lon, lat)], crs=WGS84).to_crs(BNG).iloc[0]


def _latlon(p: Point) -> tuple[float, float]:
    """(lat, lon) in degrees, 6 decimals, of a BNG point."""
    ll = gpd.GeoSeries([p], crs=BNG).to_crs(WGS84).iloc[0]
    return round(float(ll.y), 6), round(float(ll.x), 6)


def _parse_clock(t: str | dtime) -> int:
    """Minutes after midnight for "HH:MM" or a datetime.time."""
    if isinstance(t, dtime):
        return t.hour * 60 + t.minute
    m = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", str(t))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise BadInputError(f"start_time must be a clock time like '14:00', got {t!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


def _clock(minutes: float) -> str:
    m = int(round(minutes))
    day, m = divmod(m, 24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}" + (f" (+{day}d)" if day else "")


def plan_patrol(
    network: nx.Graph | None,
    targets: gpd.GeoDataFrame,
    start: Any = None,
    end: Any = None,
    max_minutes: float = 120,
    walk_kmh: float = 4.8,
    start_time: str | dtime = "14:00",
    exact_max: int = EXACT_MAX,
) -> PatrolPlan:
    """Plan a foot patrol visiting the targets on the street network within a time budget.

    Parameters
    ----------
    network : street graph or None
        From :func:`street_network` (EPSG:27700, edge ``length`` in metres). None when
        no network exists for the area (none is shipped for Harrow): the stops are
        still chosen and ordered, on straight-line distances times ``DETOUR_FACTOR``
        (1.3), no route is drawn, and ``notes[0]`` says so plainly.
    targets : GeoDataFrame
        From :func:`patrol_targets`: points with ``name``, ``why``, ``value`` and
        ``dwell_min`` (defaults: the row label, "", 1, 15).
    start : (lat, lon), "lat,lon", shapely Point or None
        Where the patrol sets off (a Point is BNG metres, or lon/lat when in degrees).
        More than 250 m from every street in the network is an error. None: at the
        highest-value target.
    end : same as start, "start", or None
        None: finish at the last stop (open path). ``end == start`` or ``"start"``:
        a closed loop back to the start. Another point: finish there.
    max_minutes : float, default 120
        Time budget: walking plus dwell. The plan visits the targets of most total
        value that fit it (then the most stops, then the fewest minutes): exactly up to
        `exact_max` targets; above that, the lowest-value targets are dropped one at a
        time until the plan fits, then dropped ones are added back, most valuable
        first, wherever the route still fits, and one stop is given up where refilling
        without it gains value.
    walk_kmh : float, default 4.8
        Walking speed (km/h): a steady patrol pace.
    start_time : "HH:MM" or datetime.time, default "14:00"
        Clock time at the start, for the arrival times (Op Verona runs 14:00-24:00).
    exact_max : int, default 9
        Up to this many stops the visiting order is the exact optimum (Held-Karp
        dynamic programme), and up to this many targets so is the choice of stops;
        above it, nearest neighbour improved by 2-opt and Or-opt.

    Returns
    -------
    PatrolPlan
        ``.stops`` in visiting order, ``.route``, ``.nodes``, ``.length_m``,
        ``.minutes``, ``.dropped`` (with reasons: "unreachable ..." or "over the time
        budget ...", the latter giving the minutes of the final route with that target
        added), ``.notes``. ``attrs["network"]`` is False without a network
        (``length_m`` and times are then estimates and ``.route`` is empty).

    Notes
    -----
    Distances come from one single-source Dijkstra per stop (``weight="length"``),
    never all pairs over the city graph; the travelling-salesman step runs on the
    small stop-to-stop matrix only.
    """
    targets = check_gdf(targets, "targets")
    max_minutes = check_positive(max_minutes, "max_minutes", allow_none=False)
    walk_kmh = check_positive(walk_kmh, "walk_kmh", allow_none=False)
    t0 = _parse_clock(start_time)
    m_per_min = walk_kmh * 1000 / 60

    start_pt = _top_target_point(targets) if start is None else _point_bng(start, "start")
    closed = isinstance(end, str) and end.strip().lower() == "start"
    end_pt = None if end is None or closed else _point_bng(end, "end")
    if end_pt is not None and end_pt.distance(start_pt) < 1e-6:
        closed, end_pt = True, None
    on_streets = network is not None
    if on_streets:
        _check_network(network)
        G = network
    else:
        G = _straight_line_graph(targets, [start_pt] + ([end_pt] if end_pt else []))
    start_node = _snap_or_raise(G, start_pt, "start")
    end_node = _snap_or_raise(G, end_pt, "end") if end_pt is not None else None

    t = _target_table(G, targets)
    dropped: list[dict] = []
    for r in t[~t["reachable"]].itertuples():
        dropped.append(_drop_row(r, f"unreachable: {r.snap_m:.0f} m from the nearest street "
                                    f"in the network (limit {SNAP_MAX_M:.0f} m)"))
    t = t[t["reachable"]].reset_index(drop=True)

    # one single-source Dijkstra per distinct stop node (plus start and end)
    sources = list(dict.fromkeys([start_node, *t["node"], *([end_node] if end_node else [])]))
    dist: dict[Any, dict] = {}
    paths: dict[Any, dict] = {}
    wanted = set(sources)
    for s in sources:
        d, p = nx.single_source_dijkstra(G, s, weight="length")
        dist[s] = {n: d[n] for n in wanted if n in d}
        paths[s] = {n: p[n] for n in wanted if n in p}
    if end_node is not None and end_node not in dist[start_node]:
        raise BadInputError("the end point is not connected to the start on the street network")
    ok = [n in dist[start_node] and start_node in dist[n] for n in t["node"]]
    for r in t[~np.array(ok, dtype=bool)].itertuples():
        dropped.append(_drop_row(r, "unreachable: no path on the street network from the start"))
    t = t[np.array(ok, dtype=bool)].reset_index(drop=True)

    # choose the stops that fit the budget and their order, on the small stop matrix
    D, tail = _stop_matrix(t, dist, start_node, end_node, closed)
    order, walk_m, solver, with_it = _choose_stops(
        D, tail, t["dwell_min"].to_numpy(dtype=float), t["value"].to_numpy(dtype=float),
        t["name"].astype(str).tolist(), max_minutes, m_per_min, exact_max)
    total = walk_m / m_per_min + float(t.loc[order, "dwell_min"].sum())
    # what was left out, most valuable first, measured against the final route
    for i in sorted(with_it, key=lambda i: (-t.at[i, "value"], str(t.at[i, "name"]))):
        dropped.append(_drop_row(t.loc[i], _over_budget_reason(with_it[i], max_minutes)))

    plan = _assemble(G, t, order, dist, paths, start_node, end_node, closed, m_per_min, t0)
    stops, route, node_path, length_m, walk_min = plan
    if not on_streets:  # straight lines are not a route to walk: draw none
        route = route.iloc[0:0]
    dwell = float(stops["dwell_min"].sum()) if len(stops) else 0.0
    notes = [G.graph.get("walk_note", WALK_NOTE)]
    for key in ("count_note", "area_note", "time_note", "poi_note", "place_note"):
        if targets.attrs.get(key):
            notes.append(str(targets.attrs[key]))
    if dropped:
        notes.append(f"{len(dropped)} target(s) left out: see 'Left out'.")
    if total > max_minutes + 1e-9:
        notes.append(f"Even walking from the start to the end takes {total:.0f} min, over the "
                     f"{max_minutes:.0f} min budget.")
    end_geom = (Point(G.nodes[node_path[-1]]["x"], G.nodes[node_path[-1]]["y"])
                if node_path else start_pt)
    attrs = dict(walk_kmh=walk_kmh, max_minutes=max_minutes, start_time=_clock(t0),
                 closed=closed, solver=solver, exact_max=exact_max, snap_max_m=SNAP_MAX_M,
                 n_dijkstra=len(sources), network=on_streets,
                 start_street=(_street_at(G, start_node) if on_streets
                               else _nearest_station(gpd.GeoSeries([start_pt]))[2][0]),
                 finish="start" if closed else "end" if end_node is not None else "last stop",
                 end_time=_clock(t0 + walk_min + dwell),
                 **dict(zip(("start_lat", "start_lon"), _latlon(start_pt), strict=True)),
                 start_snap_m=round(float(_snap(G, [start_pt.coords[0]])[1][0]), 1))
    log.info("patrol plan: %d stops, %.2f km, %.0f min (%s), %d dropped, %d Dijkstra runs",
             len(stops), length_m / 1000, walk_min + dwell, solver, len(dropped), len(sources))
    dropped_df = pd.DataFrame(dropped, columns=["target_id", "name", "value", "reason", "lat",
                                                "lon"])
    return PatrolPlan(stops=stops, route=route, nodes=node_path, length_m=length_m,
                      minutes=walk_min + dwell, walk_minutes=walk_min, dwell_minutes=dwell,
                      dropped=dropped_df, notes=notes, start=start_pt, end=end_geom, attrs=attrs)


def _top_target_point(targets: gpd.GeoDataFrame) -> Point:
    """The highest-value target's point: where a patrol with no given start begins."""
    if not len(targets):
        raise BadInputError("no targets to plan a patrol for, and no start point given")
    v = (pd.to_numeric(targets["value"], errors="coerce").fillna(0).to_numpy()
         if "value" in targets.columns else np.zeros(len(targets)))
    return targets.geometry.representative_point().iloc[int(np.argmax(v))]


def _straight_line_graph(targets: gpd.GeoDataFrame, ends: list[Point]) -> nx.MultiGraph:
    """A complete graph on the targets and start/end, for when no network exists.

    Edges are straight lines, their ``length`` the straight-line metres times
    DETOUR_FACTOR.
    """
    pts = [*targets.geometry.representative_point(), *ends]
    xy = list(dict.fromkeys((round(p.x, 3), round(p.y, 3)) for p in pts))
    G = nx.MultiGraph(crs=BNG, walk=True, walk_note=NO_NETWORK_NOTE, source="straight lines")
    for i, (x, y) in enumerate(xy):
        G.add_node(f"P{i}", x=x, y=y)
    for (i, a), (j, b) in itertools.combinations(enumerate(xy), 2):
        G.add_edge(f"P{i}", f"P{j}", length=math.dist(a, b) * DETOUR_FACTOR,
                   geometry=LineString([a, b]))
    return G


def _snap_or_raise(G: nx.Graph, p: Point, name: str) -> Any:
    nodes, d = _snap(G, [p.coords[0]])
    if d[0] > SNAP_MAX_M:
        ll = gpd.GeoSeries([p], crs=BNG).to_crs(WGS84).iloc[0]
        _, xy = _node_table(G)
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        box = gpd.GeoSeries([Point(x0, y0), Point(x1, y1)], crs=BNG).to_crs(WGS84)
        raise BadInputError(
            f"the {name} point ({ll.y:.5f}, {ll.x:.5f}) is {d[0]:.0f} m from the nearest street "
            f"in the network (limit {SNAP_MAX_M:.0f} m): it is outside the area the network "
            f"covers (lat {box.y.iloc[0]:.4f}-{box.y.iloc[1]:.4f}, "
            f"lon {box.x.iloc[0]:.4f}-{box.x.iloc[1]:.4f}). Pick a start inside it or load a "
            "larger network."
        )
    return nodes[0]


def _target_table(G: nx.Graph, targets: gpd.GeoDataFrame) -> pd.DataFrame:
    """Targets with defaults filled in and (re)snapped to this network."""
    t = pd.DataFrame(index=range(len(targets)))
    src = targets.reset_index(drop=True)
    t["target_id"] = src["target_id"] if "target_id" in src else [f"T{i + 1}" for i in t.index]
    t["name"] = src["name"].astype(str) if "name" in src else t["target_id"]
    t["why"] = src.get("why", "")
    t["value"] = pd.to_numeric(src["value"], errors="coerce").fillna(0) if "value" in src else 1.0
    t["dwell_min"] = (pd.to_numeric(src["dwell_min"], errors="coerce").fillna(0).astype(int)
                      if "dwell_min" in src else 15)
    t["pois"] = src.get("pois", "")
    t["serves"] = src["serves"].fillna("") if "serves" in src else ""
    t["rank"] = src.get("rank", pd.NA)  # the hotspot's rank, for people
    pts = src.geometry.representative_point()
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    nodes, d = _snap(G, xy) if len(xy) else ([], np.array([]))
    t["node"] = pd.Series(nodes, index=t.index, dtype=object)
    t["snap_m"] = d
    t["reachable"] = d <= SNAP_MAX_M
    ll = gpd.GeoSeries(pts.values, crs=BNG).to_crs(WGS84)
    t["lat"], t["lon"] = ll.y.round(6).to_numpy(), ll.x.round(6).to_numpy()
    if "street" in src:
        t["street"] = src["street"]
    else:
        t["street"] = [_street_at(G, n) if ok else "-" for n, ok in zip(nodes, t["reachable"],
                                                                          strict=True)]
    return t


def _over_budget_reason(minutes: float, max_minutes: float) -> str:
    """Why a target was left out: the final route with it added is over the budget."""
    if not math.isfinite(minutes):
        return "over the time budget: no walking route on the network reaches it and goes on"
    # one decimal when whole minutes would read "120 min > 120 min"
    shown = f"{minutes:.0f}" if round(minutes) > max_minutes else f"{minutes:.1f}"
    return (f"over the time budget: adding it to the planned stops, in the best order found, "
            f"would take {shown} min > {max_minutes:g} min")


def _drop_row(r: Any, reason: str) -> dict:
    get = r.get if isinstance(r, pd.Series) else lambda k: getattr(r, k)
    return {"target_id": get("target_id"), "name": get("name"), "value": float(get("value")),
            "reason": reason, "lat": get("lat"), "lon": get("lon")}


def tour_length(seq: list[int], D: np.ndarray, tail: np.ndarray) -> float:
    """Walking metres for visiting stops `seq` (indices into D's rows 1..n) from row 0.

    ``D[0, i]`` is start → stop i; ``tail[i]`` is the cost after the last stop i
    (0 on an open path, the walk to the end or back to the start otherwise).
    """
    if not seq:
        return 0.0
    cost = D[0, seq[0]] + sum(D[a, b] for a, b in itertools.pairwise(seq))
    return float(cost + tail[seq[-1]])


def _stop_matrix(t, dist, start_node, end_node, closed):
    """Walking metres between the start (row 0) and the targets (row i + 1), and the tail.

    ``tail[i]`` is what follows a tour ending at row i: nothing on an open path, the
    walk back to the start on a loop, the walk to the end point otherwise (``tail[0]``
    is then the walk with no stops at all).
    """
    nodes = [start_node, *t["node"]]
    D = np.array([[dist[a].get(b, np.inf) for b in nodes] for a in nodes], dtype=float)
    if closed:
        tail = D[:, 0].copy()
    elif end_node is not None:
        tail = np.array([dist[a].get(end_node, np.inf) for a in nodes], dtype=float)
    else:
        tail = np.zeros(len(nodes))
    return D, tail


def _solve(D, tail, keep, exact_max, *, seeded=False):
    """Best visiting order of targets `keep` (rows ``i + 1`` of D).

    Returns (order as target indices, metres, solver). With `seeded`, `keep`'s own
    order is also a starting tour for the local search, so the result is never longer.
    """
    if not keep:
        return [], float(tail[0]), "none"
    idx = [0, *(i + 1 for i in keep)]
    Ds, ts = D[np.ix_(idx, idx)], tail[idx]
    n = len(keep)
    if n <= exact_max:
        seq, solver = _held_karp(Ds, ts), "exact (Held-Karp)"
    else:
        seq = _local_search(Ds, ts, seed=list(range(1, n + 1)) if seeded else None)
        solver = "nearest neighbour + 2-opt/Or-opt"
    return [keep[s - 1] for s in seq], tour_length(seq, Ds, ts), solver


def _choose_stops(D, tail, dwell, value, names, max_minutes, m_per_min, exact_max):  # noqa: C901
    # (one orienteering search: drop, refill and swap share the route state)
    """Which targets to visit within the budget, and in what order (orienteering).

    Up to `exact_max` targets the choice is exact: one Held-Karp table over all of them
    gives the shortest walk for every subset, and the plan is the subset of highest
    total value (then most stops, then fewest minutes) that fits. Above it: drop the
    lowest-value stop while over budget, then add dropped targets back, most valuable
    first, wherever the route still fits (cheapest insertion, then re-ordered), until
    none fits; then give up one stop wherever refilling without it gains value.

    Returns
    -------
    order : list of int
        Target indices in visiting order.
    walk_m : float
    solver : str
    with_it : dict
        For each target left out, the minutes of the best route found with it added to
        the final stops (each over the budget).
    """
    n = len(dwell)
    budget = max_minutes + 1e-9

    def minutes(order, walk_m):
        return walk_m / m_per_min + float(dwell[order].sum())

    if n <= exact_max:
        cost, parent = _held_karp_table(D)
        bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
        walk = np.concatenate([[tail[0]], (cost[1:] + tail[1:]).min(axis=1)])
        total = walk / m_per_min + bits @ dwell
        fits = np.flatnonzero(total <= budget)
        if not len(fits):
            fits = np.array([0])  # even no stop at all is over: plan none, and say so
        # the most value, then the most stops, then the fewest minutes (lexsort: last key first)
        pick = np.lexsort((total[fits], -bits[fits].sum(axis=1), -np.round(bits[fits] @ value, 9)))
        mask = int(fits[pick[0]])
        if mask:
            last = int(np.argmin(cost[mask] + tail[1:]))
            order = [s - 1 for s in _hk_path(parent, mask, last)]
        else:
            order = []
        with_it = {c: float(total[mask | 1 << c]) for c in range(n) if not mask >> c & 1}
        return order, float(walk[mask]), "exact (Held-Karp)", with_it

    keep = list(range(n))
    while True:
        order, walk_m, solver = _solve(D, tail, keep, exact_max)
        total = minutes(order, walk_m)
        if total <= budget or not keep:
            break
        # lowest value first; ties: the longer dwell goes first, then by name (deterministic)
        keep.remove(min(keep, key=lambda i: (value[i], -dwell[i], names[i])))

    def cheapest(seq: list[int], c: int) -> tuple[list[int], float]:
        """`seq` with `c` inserted where it adds the least walking, and that walk."""
        tours = [seq[:k] + [c] + seq[k:] for k in range(len(seq) + 1)]
        lengths = [tour_length([i + 1 for i in s], D, tail) for s in tours]
        k = int(np.argmin(lengths))
        return tours[k], lengths[k]

    def fill(order, walk_m, solver, barred=None):
        """Add left-out targets (but `barred`) back, most valuable first, while any fits.

        Each round measures against the route as it then stands. Also returns, for each
        target still out, the minutes of the best route found with it added.
        """
        total = minutes(order, walk_m)
        out = sorted(set(range(n)) - {*order, barred}, key=lambda i: (-value[i], names[i]))
        while True:
            with_it, routes = {}, {}
            for c in out:
                seq, w = cheapest(order, c)
                if minutes(seq, w) > budget and total + dwell[c] <= budget:
                    # a stop can only lengthen the walk, so only then can re-ordering help
                    seq, w, _ = _solve(D, tail, seq, exact_max, seeded=True)
                with_it[c], routes[c] = minutes(seq, w), seq
            fits = [c for c in out if with_it[c] <= budget]
            if not fits:
                return order, walk_m, solver, with_it
            order, walk_m, solver = _solve(D, tail, routes[fits[0]], exact_max, seeded=True)
            total = minutes(order, walk_m)
            out.remove(fits[0])

    best = fill(order, walk_m, solver)
    # then give up one stop (least valuable first) when refilling without it gains value
    improved = True
    while improved:
        improved = False
        for k in sorted(best[0], key=lambda i: (value[i], names[i])):
            rest = [i for i in best[0] if i != k]
            cand = fill(*_solve(D, tail, rest, exact_max, seeded=True), barred=k)
            if value[cand[0]].sum() > value[best[0]].sum() + 1e-9:
                best, improved = fill(*cand[:3]), True  # k may fit again
                break
    return best


def _held_karp_table(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shortest walks from row 0 through every subset of rows 1..n (O(2^n n^2)).

    ``cost[mask, j]`` is the shortest walk from row 0 visiting exactly the rows whose
    bits are set in `mask` (bit j for row j + 1) and ending at row j + 1; ``parent``
    the row visited before it (-1: none).
    """
    n = D.shape[0] - 1
    cost = np.full((1 << n, n), np.inf)
    parent = np.full((1 << n, n), -1, dtype=int)
    for j in range(n):
        cost[1 << j, j] = D[0, j + 1]
    step = D[1:, 1:]
    for mask in range(1, 1 << n):
        ends = [m for m in range(n) if mask >> m & 1]
        if len(ends) < 2:
            continue
        # end at m: the best walk through mask without m, then the step to m
        cand = cost[[mask ^ 1 << m for m in ends]] + step[:, ends].T
        j = cand.argmin(axis=1)
        best = cand[np.arange(len(ends)), j]
        cost[mask, ends] = best
        parent[mask, ends] = np.where(np.isfinite(best), j, -1)
    return cost, parent


def _hk_path(parent: np.ndarray, mask: int, last: int) -> list[int]:
    """The rows (1-based) of the walk through `mask` ending at `last` (0-based), in order."""
    seq = []
    while last >= 0 and mask:
        seq.append(last + 1)
        mask, last = mask & ~(1 << last), int(parent[mask, last])
    return seq[::-1]


def _held_karp(D: np.ndarray, tail: np.ndarray) -> list[int]:
    """Exact shortest path from node 0 through all of 1..n, plus tail cost (O(2^n n^2))."""
    n = D.shape[0] - 1
    cost, parent = _held_karp_table(D)
    full = (1 << n) - 1
    return _hk_path(parent, full, int(np.argmin(cost[full] + tail[1:])))


def _local_search(D: np.ndarray, tail: np.ndarray, seed: list[int] | None = None) -> list[int]:
    """The shorter of nearest-neighbour tours improved by 2-opt and Or-opt moves.

    Nearest neighbour from the start (and `seed`, when given), each improved until no
    move improves it.
    """
    n = D.shape[0] - 1
    seq, left, here = [], set(range(1, n + 1)), 0
    while left:
        here = min(left, key=lambda j: (D[here, j], j))
        seq.append(here)
        left.remove(here)
    tours = [_improve(s, D, tail) for s in ([seq] if seed is None else [seq, list(seed)])]
    return min(tours, key=lambda s: tour_length(s, D, tail))


def _improve(seq: list[int], D: np.ndarray, tail: np.ndarray) -> list[int]:
    """2-opt and Or-opt moves on `seq` until none shortens it."""
    n = len(seq)
    best = tour_length(seq, D, tail)
    improved = True
    while improved:
        improved = False
        for i, j in itertools.combinations(range(n), 2):  # 2-opt: reverse seq[i..j]
            cand = seq[:i] + seq[i:j + 1][::-1] + seq[j + 1:]
            c = tour_length(cand, D, tail)
            if c < best - 1e-9:
                seq, best, improved = cand, c, True
        for size in (1, 2, 3):  # Or-opt: move a run of 1-3 stops elsewhere
            for i in range(n - size + 1):
                run, rest = seq[i:i + size], seq[:i] + seq[i + size:]
                for k in range(len(rest) + 1):
                    cand = rest[:k] + run + rest[k:]
                    c = tour_length(cand, D, tail)
                    if c < best - 1e-9:
                        seq, best, improved = cand, c, True
                        break
    return seq


def _edge_line(G: nx.Graph, u: Any, v: Any) -> tuple[LineString, float]:
    """The shortest edge's geometry from u to v (oriented u → v) and its length."""
    data = min(G.get_edge_data(u, v).values(), key=lambda d: d.get("length", np.inf))
    pu, pv = (G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])
    geom = data.get("geometry")
    if geom is None:
        return LineString([pu, pv]), float(data["length"])
    coords = list(geom.coords)
    if math.dist(coords[0], pu) > math.dist(coords[-1], pu):
        coords = coords[::-1]
    return LineString(coords), float(data["length"])


def _assemble(G, t, order, dist, paths, start_node, end_node, closed, m_per_min, t0):  # noqa: PLR0913, E501
    # (private: plan_patrol's route state, one caller)
    """Stops, route legs and the node path for a chosen order."""
    hops = [start_node] + [t.at[i, "node"] for i in order]
    names = ["Start"] + [t.at[i, "name"] for i in order]
    if closed and order:
        hops.append(start_node)
        names.append("Back to start")
    elif end_node is not None:
        hops.append(end_node)
        names.append("End")
    node_path = [start_node]
    legs = []
    for k, (a, b) in enumerate(itertools.pairwise(hops)):
        p = paths[a][b]
        node_path += p[1:]
        segs = [_edge_line(G, u, v) for u, v in itertools.pairwise(p)]
        coords: list = []
        for line, _ in segs:
            cs = list(line.coords)
            coords += cs if not coords else cs[1:]
        if len(coords) < 2:  # two stops on one node: a zero-length leg
            xy = (G.nodes[a]["x"], G.nodes[a]["y"])
            coords = [xy, xy]
        length = float(dist[a][b])
        legs.append({"leg": k + 1, "from_name": names[k], "to_name": names[k + 1],
                     "length_m": round(length, 1), "walk_min": round(length / m_per_min, 1),
                     "geometry": LineString(coords)})
    route = gpd.GeoDataFrame(legs, geometry="geometry", crs=BNG) if legs else gpd.GeoDataFrame(
        {"leg": [], "from_name": [], "to_name": [], "length_m": [], "walk_min": []},
        geometry=[], crs=BNG)
    rows, clock, cum = [], float(t0), 0.0
    for k, i in enumerate(order):
        walk = legs[k]["length_m"]
        cum += walk
        clock += walk / m_per_min
        node = t.at[i, "node"]
        dwell = int(t.at[i, "dwell_min"])
        rows.append({
            "order": k + 1, "target_id": t.at[i, "target_id"], "rank": t.at[i, "rank"],
            "name": t.at[i, "name"], "serves": t.at[i, "serves"],
            "why": t.at[i, "why"], "street": t.at[i, "street"], "arrival": _clock(clock),
            "depart": _clock(clock + dwell), "dwell_min": dwell, "walk_m": round(walk, 1),
            "cum_m": round(cum, 1), "value": float(t.at[i, "value"]), "pois": t.at[i, "pois"],
            "node": node, "snap_m": round(float(t.at[i, "snap_m"]), 1),
            "lat": None, "lon": None,
            "geometry": Point(G.nodes[node]["x"], G.nodes[node]["y"]),
        })
        clock += dwell
    cols = ["order", "target_id", "rank", "name", "serves", "why", "street", "arrival", "depart",
            "dwell_min", "walk_m", "cum_m", "value", "pois", "node", "snap_m", "lat", "lon"]
    stops = gpd.GeoDataFrame(rows, columns=[*cols, "geometry"], geometry="geometry", crs=BNG)
    if len(stops):
        ll = stops.geometry.to_crs(WGS84)
        stops["lat"], stops["lon"] = ll.y.round(6).to_numpy(), ll.x.round(6).to_numpy()
    length_m = float(sum(dist[a][b] for a, b in itertools.pairwise(hops)))
    return stops, route, node_path, length_m, length_m / m_per_min


def stop_distances(network: nx.Graph, nodes: list) -> np.ndarray:
    """Shortest-path metres between the given nodes (one Dijkstra per node; for checks)."""
    D = np.full((len(nodes), len(nodes)), np.inf)
    for i, a in enumerate(nodes):
        d = nx.single_source_dijkstra_path_length(network, a, weight="length")
        for j, b in enumerate(nodes):
            D[i, j] = d.get(b, np.inf)
    return D
