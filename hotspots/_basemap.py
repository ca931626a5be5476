"""The offline base layer's data: what a map shows of the ground when tiles cannot load.

Everything comes from data the project ships through the registry: borough outlines and
names, ward boundaries and names, TfL stations, and the OpenStreetMap street network
where the registry has one (City of London, Westminster). Each piece is clipped to the
map's extent and simplified, so a borough map stays small (issue 20's 5 MB budget).
A piece whose data cannot be found is left out and logged, never an error: the map
still draws its own layers.

No rendering here (``maps`` draws these frames), so the geometry rules can be tested
without a browser.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from ._errors import HotspotsError
from ._validate import BNG

log = logging.getLogger("hotspots")

#: the street networks the registry ships, and the borough each one covers
NETWORKS: dict[str, str] = {"osm_city_of_london": "City of London",
                            "osm_westminster": "Westminster"}
#: metres added around the data's extent before clipping the base layer
PAD_M = 800.0
#: simplification tolerance (m): invisible at street zoom, a third fewer vertices
SIMPLIFY_M = {"boroughs": 10.0, "wards": 5.0, "streets": 1.0}
#: streets only on maps whose extent is at most this (m²: a few boroughs); a map of the
#: whole city would carry every street of the networks and show them as hairlines
STREETS_MAX_M2 = 300e6
#: streets at least this long (m, all pieces of one name) get a label from zoom 15,
#: shorter ones from zoom 16
LONG_STREET_M = 250.0


def extent(frames: list[gpd.GeoDataFrame | gpd.GeoSeries | None],
           pad: float = PAD_M) -> Any | None:
    """The data's bounding box in BNG, padded by `pad` metres (None when nothing is drawn)."""
    boxes = []
    for f in frames:
        if f is None or len(f) == 0:
            continue
        # bounds in BNG without projecting every point (a year of London)
        b = f.total_bounds if f.crs == BNG else f.to_crs(BNG).total_bounds
        if np.all(np.isfinite(b)):
            boxes.append(b)
    if not boxes:
        return None
    b = np.array(boxes)
    return box(b[:, 0].min() - pad, b[:, 1].min() - pad, b[:, 2].max() + pad,
               b[:, 3].max() + pad)


def base_frames(area: Any, *, wards: bool = True,
                streets: bool = True) -> dict[str, gpd.GeoDataFrame]:
    """The base layer's frames for a box in BNG.

    Parameters
    ----------
    area : shapely geometry
        The map's extent in EPSG:27700 (:func:`extent`).
    wards : bool, default True
        Include 2022 ward boundaries (False when the map draws its own wards).
    streets : bool, default True
        Include the registry's street networks that reach `area` (only when `area` is
        at most :data:`STREETS_MAX_M2`: a borough or a few, not a whole city).

    Returns
    -------
    dict of GeoDataFrame
        Any of ``boroughs`` and ``wards`` (``name``, polygons clipped to `area`, and
        ``outline``: their boundaries inside it), ``stations`` (``name``),
        ``streets`` (``name``, lines) and ``street_labels`` (``name``, ``angle`` in
        degrees clockwise from east, ``long``, points), all in BNG, clipped to `area`.
    """
    from .boundaries import boroughs, stations
    from .boundaries import wards as ward_table

    out: dict[str, gpd.GeoDataFrame] = {}
    try:
        b = _clip(boroughs(), area)
        out["boroughs"] = _outlined(b.rename(columns={"borough_name": "name"}), area,
                                    "boroughs")
    except HotspotsError as exc:
        log.info("map base layer: no borough outlines (%s)", exc)
        b = None
    if wards and b is not None and len(b):
        try:
            w = ward_table(list(b["borough_name"]), 2022)
            out["wards"] = _outlined(w.rename(columns={"ward_name": "name"}), area, "wards")
        except HotspotsError as exc:
            log.info("map base layer: no ward boundaries (%s)", exc)
    try:
        st = stations()
        st = st[st.geometry.within(area)]
        # one point per station name (TfL lists a station once per network)
        out["stations"] = st.drop_duplicates("name")[["name", "geometry"]].reset_index(drop=True)
    except HotspotsError as exc:
        log.info("map base layer: no stations (%s)", exc)
    if streets and b is not None and area.area > STREETS_MAX_M2:
        log.info("map base layer: no streets on a map of %.0f km² (at most %.0f)",
                 area.area / 1e6, STREETS_MAX_M2 / 1e6)
    elif streets and b is not None:
        nets = [k for k, borough in NETWORKS.items() if borough in set(b["borough_name"])]
        pieces = []
        for key in nets:
            try:
                pieces.append(_clip(_network_edges(key), area))
            except HotspotsError as exc:
                log.info("map base layer: no street network %s (%s)", key, exc)
        if pieces:
            lines = pd.concat(pieces, ignore_index=True)
            out["streets"], out["street_labels"] = street_layers(lines)
    log.info("map base layer: %s", ", ".join(f"{len(v)} {k}" for k, v in out.items()) or "none")
    return out


def _clip(gdf: gpd.GeoDataFrame, area: Any) -> gpd.GeoDataFrame:
    g = gdf.to_crs(BNG)
    g = g[g.geometry.intersects(area)]
    return gpd.GeoDataFrame(g.drop(columns="geometry"), geometry=g.geometry.intersection(area),
                            crs=BNG).reset_index(drop=True)


def _outlined(gdf: gpd.GeoDataFrame, area: Any, kind: str) -> gpd.GeoDataFrame:
    """Polygons clipped to `area` (where their labels go) and, in ``outline``, their
    real boundaries clipped to it (the box's edge is no boundary), simplified."""
    g = gdf.to_crs(BNG)
    g = g[g.geometry.intersects(area)].reset_index(drop=True)
    tol = SIMPLIFY_M[kind]
    outline = g.geometry.boundary.simplify(tol).intersection(area)
    return gpd.GeoDataFrame({"name": g["name"].to_numpy(), "outline": outline.to_numpy()},
                            geometry=g.geometry.intersection(area).to_numpy(), crs=BNG)


@lru_cache(maxsize=4)
def _network_edges(key: str) -> gpd.GeoDataFrame:
    """A registry street network's edges: ``name`` (first name when several), lines, BNG."""
    from .network import street_network

    return network_edges(street_network(key))


def network_edges(network: Any) -> gpd.GeoDataFrame:
    """Street lines and names from a networkx graph or an edge GeoDataFrame/GeoSeries."""
    edges = network
    if not isinstance(edges, (gpd.GeoDataFrame, gpd.GeoSeries)):
        import osmnx as ox

        edges = ox.graph_to_gdfs(network, nodes=False)
    names = (edges["name"] if isinstance(edges, gpd.GeoDataFrame) and "name" in edges.columns
             else pd.Series([None] * len(edges), index=edges.index))
    names = names.map(_first_name)
    return gpd.GeoDataFrame({"name": names.to_numpy()}, geometry=edges.geometry.values,
                            crs=edges.crs).to_crs(BNG)


def _first_name(v: Any) -> str:
    if isinstance(v, (list, tuple, np.ndarray)):
        v = next((x for x in v if isinstance(x, str) and x), "")
    return v if isinstance(v, str) else ""


def street_layers(lines: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Streets merged by name (fewer, longer lines) and one label per named street.

    Parameters
    ----------
    lines : GeoDataFrame
        ``name`` and line geometry in BNG (:func:`network_edges`).

    Returns
    -------
    (GeoDataFrame, GeoDataFrame)
        Streets (``name``, merged and simplified lines) and labels: for each name the
        middle of its longest piece, with ``angle`` (degrees, readable: -90..90) and
        ``long`` (all pieces together at least :data:`LONG_STREET_M`).
    """
    lines = lines[lines.geometry.notna() & ~lines.geometry.is_empty]
    lines = lines.assign(name=lines["name"].fillna("").astype(str))
    merged, labels = [], []
    for name, sub in lines.groupby("name", sort=True):
        geom = shapely.line_merge(shapely.union_all(sub.geometry.values))
        geom = geom.simplify(SIMPLIFY_M["streets"])
        merged.append((name, geom))
        if not name:
            continue
        parts = list(getattr(geom, "geoms", [geom]))
        parts = [p for p in parts if p.geom_type == "LineString" and p.length > 0]
        if not parts:
            continue
        longest = max(parts, key=lambda p: p.length)
        mid = longest.interpolate(0.5, normalized=True)
        a = longest.interpolate(max(0.0, longest.length / 2 - 10))
        c = longest.interpolate(min(longest.length, longest.length / 2 + 10))
        # screen y points down: a line rising to the east is drawn rotated anticlockwise
        angle = -float(np.degrees(np.arctan2(c.y - a.y, c.x - a.x)))
        angle = (angle + 90) % 180 - 90  # never upside down
        total = float(sum(p.length for p in parts))
        labels.append((name, round(angle, 1), total >= LONG_STREET_M, mid))
    streets = gpd.GeoDataFrame({"name": [n for n, _ in merged]},
                               geometry=[g for _, g in merged], crs=BNG)
    lab = gpd.GeoDataFrame({"name": [t[0] for t in labels], "angle": [t[1] for t in labels],
                            "long": [t[2] for t in labels]},
                           geometry=[t[3] for t in labels], crs=BNG)
    return streets, lab
