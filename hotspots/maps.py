"""Folium maps people can open anywhere: hotspots, one focus ward, a patrol plan.

Design choices, and why:

* Every data layer is drawn by a small script of our own over embedded JSON rather than
  folium's Popup/Tooltip/GeoJsonTooltip: those insert text into JavaScript template
  literals and need jQuery. Here every text that comes from data is HTML-escaped in
  Python (``html.escape``) before it reaches the page, and the JSON is made safe to sit
  inside ``<script>``.
* Incidents are aggregated: points that share a coordinate (police.uk snap points)
  become one marker with a count, so a year of a borough stays a few MB. All categories
  share one cluster group (each cluster a pie of its categories' colours); each category
  is still switched on and off on its own in the layer control. A city's year (more
  markers than ``max_markers``) is drawn as counts per square until zoom 15 and then as
  the places in view, unpacked in the browser from compact rows (``_mapdata``).
* The density surface is drawn as classed polygons (grid cells dissolved by density
  class, reprojected exactly), not an image stretched over lat/lon bounds and not a
  heat layer of raw points.
* Base tiles by default (OpenStreetMap, or any XYZ URL: ``tiles=``), and under them an
  offline base layer from data the project ships (borough and ward outlines and names,
  TfL stations, OSM streets with names where the registry has a network: ``_basemap``).
  Tiles cover it while they load; when they cannot (no network) the map says so and
  the base layer shows through. ``tiles=None`` leaves tiles out altogether.
* ``offline=True`` (see :func:`save_map`) only inlines Leaflet and its plugins from
  ``node_modules`` (``make assets``) and strips every external ``<script>``/``<link>``,
  so the page itself needs no network (the tiles still do, and fall back as above).
* One colour family per meaning (``_style``): density viridis, Gi* red-blue, areas as
  near-black outlines on a white halo, incidents neutral grey unless asked to colour
  them by category. Rank badges are spread apart at every zoom (leader lines back to
  their area); smaller areas are drawn above larger ones, so a click opens the area
  under the cursor; a legend shows only while its layer is on; on a phone the layer
  list and legends fold away.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from folium.map import Layer
from shapely.geometry import box
from shapely.ops import polylabel

from . import _basemap, _mapdata
from ._atomic import atomic_write_text
from ._errors import BadInputError, HotspotsError
from ._leaflet import (
    CITY_JS,
    CLUSTERS_JS,
    CSS,
    OSM_TILES,
    SPREAD_JS,
    TILE_ERROR_NOTE,  # noqa: F401 (the note a map shows: tests and docs read it here)
    _as_text_list,
    _control,
    _e,
    _geojson,
    _js,
    _JsLayer,
    _JsSnippet,
    _num,
    _polygon_layer,
    _transformer,
    frame_snippet,
    label_data,
    label_layer,
    legend,
    phone_layer_control,
    points_wgs84,
    tile_layer,
    tiles_credit,
)
from ._mapdata import DEFAULT_MAX_MARKERS, incident_markers
from ._style import (
    AREA_COLOUR,
    AREA_HALO,
    BOROUGH_COLOUR,
    GI_COLOURS,
    GI_CONFIDENCE,
    INCIDENT_COLOUR,
    QUIET_LABELS,
    START_COLOUR,
    STATION_COLOUR,
    STOP_COLOUR,
    STREET_COLOUR,
    WARD_COLOUR,
    area_categories,
    category_colour,
    category_label,
    density_classes,
    density_range,
    incident_attribution,
    label_colours,
)
from ._validate import BNG, WGS84, check_gdf
from .datasets import PROJECT_ROOT
from .privacy import aggregate_anonymous, protect, split_anonymous
from .privacy import note as anonymous_note
from .rank import change_label

__all__ = [
    "BASE_LAYER_NAME",
    "DEFAULT_MAX_MARKERS",
    "DEFAULT_TILES",
    "OFFLINE_ASSETS",
    "focus_ward_map",
    "gistar_bins",
    "hotspot_map",
    "incident_markers",
    "map_html",
    "node_modules_dir",
    "offline_assets_html",
    "patrol_map",
    "save_map",
]

log = logging.getLogger("hotspots")

#: OpenStreetMap's standard tiles; any XYZ URL works (a council's own tile server)
DEFAULT_TILES = OSM_TILES

#: files inlined by offline maps, relative to node_modules (installed by `make assets`)
OFFLINE_ASSETS: tuple[str, ...] = (
    "leaflet/dist/leaflet.css",
    "leaflet.markercluster/dist/MarkerCluster.css",
    "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet.fullscreen/Control.FullScreen.css",
    "leaflet/dist/leaflet.js",
    "leaflet.markercluster/dist/leaflet.markercluster.js",
    "leaflet.fullscreen/Control.FullScreen.js",
)



# ---------------------------------------------------------------------------------------
# layers


def _ward_layer(wards: gpd.GeoDataFrame, focus_code: str | None = None,
                name: str = "Ward boundaries") -> list[_JsLayer]:
    """Ward outlines (hover.

    Name and borough) and their names as labels from borough zoom; the focus ward, when given,
    outlined heavily and the others faded.
    """
    codes = (wards["ward_code"].astype(str).to_numpy() if "ward_code" in wards.columns
             else np.full(len(wards), None))
    names = wards["ward_name"] if "ward_name" in wards.columns else pd.Series([""] * len(wards))
    boroughs = (wards["borough_name"].tolist()
                if "borough_name" in wards.columns and focus_code is None else None)
    props = []
    for i, (code, ward_name) in enumerate(zip(codes, names.tolist(), strict=True)):
        is_focus = focus_code is not None and code == focus_code
        faded = focus_code is not None and not is_focus
        style = {
            "className": "hs-ward" + (" hs-focus-ward" if is_focus else ""),
            "color": "#08306b" if is_focus else WARD_COLOUR,
            "weight": 4 if is_focus else 1.2,
            "fill": True,
            "fillColor": "#9e9e9e" if faded else "#6baed6",
            "fillOpacity": 0.35 if faded else (0.06 if is_focus else 0.0),
            "opacity": 0.5 if faded else 0.9,
        }
        label = _e(ward_name)
        if boroughs is not None:
            label += f" <span style='color:#777'>({_e(boroughs[i])})</span>"
        props.append({"style": style, "tooltip": label, "popup": None})
    layers = [_polygon_layer(name, _geojson(wards, props))]
    if "ward_name" in wards.columns and len(wards):
        layers.append(label_layer("Ward names", _inside_labels(wards, "ward_name"), "ward"))
    return layers


def _inside_labels(gdf: gpd.GeoDataFrame, col: str) -> list[list]:
    """``[lat, lon, text, 0]`` at a point well inside each polygon (its pole of inaccessibility.

    The label sits in the middle, not on an edge).
    """
    pts = gpd.GeoSeries(_poles(gdf.geometry), crs=gdf.crs)
    return [[la, lo, str(t), 0] for (la, lo), t in zip(points_wgs84(pts), gdf[col], strict=True)]


def _poles(geoms: Iterable[Any]) -> list[Any]:
    """:func:`_pole` of each geometry, the polygons' in one GEOS call (704 wards)."""
    out, big, at = [], [], []
    for i, g in enumerate(geoms):
        polys = ([] if g is None or g.is_empty else
                 [p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"])
        if polys:
            big.append(max(polys, key=lambda p: p.area))
            at.append(i)
        out.append(g.representative_point() if g is not None and not g.is_empty else g)
    if big:
        arr = np.array(big, dtype=object)
        tol = np.maximum(1.0, np.sqrt(shapely.area(arr)) / 200)
        for i, pt in zip(at, shapely.get_point(shapely.maximum_inscribed_circle(arr, tol), 0),
                         strict=True):
            out[i] = pt
    return out


def _pole(geom: Any) -> Any:
    """The point of `geom` farthest from its edges (largest part), within ~1 m."""
    if geom is None or geom.is_empty:
        return geom
    parts = list(getattr(geom, "geoms", [geom]))
    polys = [p for p in parts if p.geom_type == "Polygon"]
    if not polys:
        return geom.representative_point()
    big = max(polys, key=lambda p: p.area)
    return polylabel(big, tolerance=max(1.0, np.sqrt(big.area) / 200))


def _density_layer(grid: gpd.GeoDataFrame) -> tuple[_JsLayer, tuple[str, str]] | None:
    """Density classes as coloured polygons + legend (None when all zero)."""
    dissolved = density_classes(grid)
    if dissolved.empty:
        return None
    breaks = list(dissolved.attrs["breaks"])
    colours = dict(zip(dissolved["cls"], dissolved["colour"], strict=True))
    props = []
    for c in dissolved["cls"]:
        lo = breaks[c]
        hi = breaks[c + 1] if c + 1 < len(breaks) else None
        rng = density_range(lo, hi)
        props.append({
            "style": {"className": "hs-density", "stroke": False, "fillColor": colours[c],
                      "fillOpacity": 0.5},
            "tooltip": f"{rng} incidents per km²",
            "popup": None,
        })
    log.info("map density classes (incidents per km²): %s", breaks)
    layer = _polygon_layer("Density (incidents per km²)", _geojson(dissolved, props))
    rows = []
    for c in reversed(range(len(breaks))):
        hi = breaks[c + 1] if c + 1 < len(breaks) else None
        rng = density_range(breaks[c], hi)
        rows.append(f"<i style='background:{colours.get(c, '#fff')}'></i>{rng}")
    return layer, ("Density", "<br><small>incidents per km²</small><br>" + "<br>".join(rows))


def gistar_bins(grid: gpd.GeoDataFrame) -> np.ndarray:
    """Gi* confidence bins per cell: −3..3 (99/95/90 % cold .. hot), 0 not significant.

    Read from ``gi_bin`` when present; else from ``label`` (text starting "hot"/"cold",
    a number such as 95 or 99 in it sets the level, default 95 %); else from ``z`` and
    ``p`` (p < 0.01, 0.05, 0.10).
    """
    cols = grid.columns
    if "gi_bin" in cols:
        return pd.to_numeric(grid["gi_bin"], errors="coerce").fillna(0).astype(int).to_numpy()
    if "label" in cols:
        lab = grid["label"].astype(str).str.lower()
        sign = np.where(lab.str.startswith("hot"), 1, np.where(lab.str.startswith("cold"), -1, 0))
        level = np.select([lab.str.contains("99"), lab.str.contains("90")], [3, 1], 2)
        return sign * level
    if {"z", "p"} <= set(cols):
        z = pd.to_numeric(grid["z"], errors="coerce").fillna(0).to_numpy()
        p = pd.to_numeric(grid["p"], errors="coerce").fillna(1).to_numpy()
        level = np.select([p < 0.01, p < 0.05, p < 0.10], [3, 2, 1], 0)
        return np.sign(z).astype(int) * level
    raise BadInputError("gistar grid needs 'gi_bin', 'label' or 'z' and 'p' (hs.gistar output)")


def _gistar_layer(grid: gpd.GeoDataFrame,
                  *, show: bool = False) -> tuple[_JsLayer, tuple[str, str]] | None:
    """Significant Gi* cells dissolved by confidence bin, and their legend."""
    b = gistar_bins(grid)
    keep = b != 0
    if not keep.any():
        return None
    cells = gpd.GeoDataFrame({"b": b[keep]}, geometry=grid.geometry.values[keep], crs=grid.crs)
    dissolved = cells.dissolve(by="b", as_index=False)
    props = []
    for v in dissolved["b"]:
        v = int(np.clip(v, -3, 3))
        kind = "hot" if v > 0 else "cold"
        colour = GI_COLOURS[v]
        props.append({
            "style": {"className": f"hs-gi hs-gi-{kind}", "color": colour, "weight": 1,
                      "fillColor": colour, "fillOpacity": 0.45},
            "tooltip": f"Gi* {kind} spot, {GI_CONFIDENCE[abs(v)]} confidence",
            "popup": None,
        })
    # hottest first, as the density legend
    rows = [f"<i style='background:{GI_COLOURS[v]}'></i>"
            f"{'Hot' if v > 0 else 'Cold'} spot, {GI_CONFIDENCE[abs(v)]} confidence"
            for v in sorted({int(np.clip(v, -3, 3)) for v in dissolved["b"]}, reverse=True)]
    layer = _polygon_layer("Gi* hot and cold spots", _geojson(dissolved, props), show=show)
    return layer, ("Gi* hot and cold spots", "<br>" + "<br>".join(rows))


def _change_layer(result: gpd.GeoDataFrame,
                  *, show: bool = True) -> tuple[_JsLayer, tuple[str, str]] | None:
    """Cells, wards or areas of a change-over-time result, coloured by ``label``."""
    shown = result[~result["label"].isin(QUIET_LABELS)]
    if len(shown) == 0:
        return None
    dissolved = shown[["label", "geometry"]].dissolve(by="label", as_index=False)
    colours = label_colours(dissolved["label"])
    props = [{
        "style": {"className": "hs-change", "color": colours[lab], "weight": 1,
                  "fillColor": colours[lab], "fillOpacity": 0.55},
        "tooltip": _e(lab),
        "popup": None,
    } for lab in dissolved["label"]]
    legend = "Change over time", "<br>" + "<br>".join(
        f"<span style='background:{colours[lab]};display:inline-block;width:12px;"
        f"height:12px;margin-right:4px'></span>{_e(lab)}" for lab in dissolved["label"])
    return _polygon_layer("Change over time", _geojson(dissolved, props), show=show), legend


def _area_popup(row: pd.Series, cats: list[str], n_areas: int,
                compared: str | None = None) -> str:
    rank = _num(row.get("rank"))
    parts = [f"<div class='hs-popup'><b>Area {rank}</b> (rank {rank} of {n_areas})"]
    if "wards" in row.index:
        # "A and B, C" reads as three wards: list several with semicolons
        names = row["wards"]
        if isinstance(names, str):
            names = [w.strip() for w in names.split(",") if w.strip()]
        if isinstance(names, (list, tuple, np.ndarray)) and len(names) > 1:
            parts.append(f"<br>Wards: {_e('; '.join(str(w) for w in names))}")
        else:
            parts.append(f"<br>Ward: {_as_text_list(row['wards'])}")
    if "streets" in row.index:
        parts.append(f"<br>Street: {_as_text_list(row['streets'])}")
    if "landmark" in row.index and isinstance(row["landmark"], str) and row["landmark"]:
        parts.append(f"<br>Where: {_e(row['landmark'])}")
    if "n_incidents" in row.index:
        size = ""
        if "area_m2" in row.index:
            size = f" in {_num(float(row['area_m2']) / 1e6, 3)} km²"
        parts.append(f"<br>Incidents: {_num(row['n_incidents'])}{size}")
    if "score" in row.index:
        parts.append(f"<br>Score: {_num(row['score'], 2)}")
    counts = [(c, row[f"n_{c}"]) for c in cats if pd.notna(row[f"n_{c}"]) and row[f"n_{c}"] > 0]
    if counts:
        counts.sort(key=lambda t: -float(t[1]))
        cells = "".join(
            f"<tr><td><i style='display:inline-block;width:9px;height:9px;border-radius:50%;"
            f"background:{category_colour(c)}'></i> {_e(category_label(c))}</td>"
            f"<td align='right'>{_num(n)}</td></tr>"
            for c, n in counts
        )
        parts.append(f"<table>{cells}</table>")
    if "change_n" in row.index or "change_pct" in row.index:
        cn = row.get("change_n")
        cp = row.get("change_pct")
        txt = "n/a (no earlier data)"
        if pd.notna(cn):
            txt = f"{float(cn):+,.0f}"
            if pd.notna(cp) and np.isfinite(float(cp)):
                txt += f" ({float(cp):+.0f}%)"
        # top_areas records the two periods compared (attrs change_from/change_to)
        parts.append(f"Change, {_e(compared)}: {_e(txt)}" if compared
                     else f"Change on previous period: {_e(txt)}")
    parts.append("</div>")
    return "".join(parts)


def _area_layer(areas: gpd.GeoDataFrame, name: str = "Top areas", *, numbered: bool = True,
                n_total: int | None = None) -> _JsLayer:
    """Area outlines on a white halo (class ``hs-area hs-area-<rank>``) with rank badges.

    Smaller areas are drawn above larger ones, so a click inside an area that holds a
    smaller one opens the area under the cursor. Each badge belongs at its area's
    anchor: the point farthest from the area's edges outside any smaller area (a click
    there opens that area); the badges are spread apart at every zoom (``hsSpread``)
    with a leader line back to the anchor when moved. `numbered` False: outlines only
    (the popups still give the rank). `n_total`: how many areas were ranked (the
    "rank N of M" in popups; default the largest rank drawn).
    """
    areas = areas.sort_values("rank") if "rank" in areas.columns else areas.assign(
        rank=np.arange(1, len(areas) + 1))
    cats = area_categories(areas)
    ranks = areas["rank"].astype(int).to_numpy()
    n = max(int(n_total or 0), len(areas), int(ranks.max()) if len(ranks) else 0)
    compared = change_label(areas.attrs)
    popups = [_area_popup(row, cats, n, compared) for _, row in areas.iterrows()]
    geoms = areas.geometry.to_numpy()
    size = np.array([g.area if g is not None else 0.0 for g in geoms])
    draw = np.argsort(-size, kind="stable")  # largest first: smaller ones end on top
    anchors = gpd.GeoSeries([_area_anchor(i, geoms, size) for i in range(len(areas))],
                            crs=areas.crs)
    props = [{"style": {"className": f"hs-area hs-area-{ranks[i]}", "color": AREA_COLOUR,
                        "weight": 2.5, "fillColor": AREA_COLOUR, "fillOpacity": 0.07},
              "tooltip": f"Area {ranks[i]}", "popup": popups[i]} for i in draw]
    fc = _geojson(areas.iloc[draw], props)
    labels = [[la, lo, int(r), p] for (la, lo), r, p in
              zip(points_wgs84(anchors), ranks, popups, strict=True)]
    body = (
        f"var data = {_js(fc)}; var labels = {_js(labels)}; var numbered = {_js(numbered)};"
        "var g = L.featureGroup();"
        "L.geoJSON(data, {interactive: false, style: function(f) { return {"
        f" className: 'hs-area-halo', color: {_js(AREA_HALO)}, weight: 6, opacity: 0.85,"
        " fill: false}; }}).addTo(g);"
        "L.geoJSON(data, { style: function(f) { return f.properties.style; },"
        " onEachFeature: function(f, l) { l.bindTooltip(f.properties.tooltip, {sticky: true});"
        "  l.bindPopup(f.properties.popup, {maxWidth: 340}); } }).addTo(g);"
        "g.hsAnchors = labels.map(function(d) { return [d[0], d[1], d[2]]; });"
        "if (!numbered) return g;"
        "var leaders = L.layerGroup().addTo(g);"
        "var ms = labels.map(function(d) {"
        " var icon = L.divIcon({className: 'hs-area-label hs-area-label-' + d[2],"
        f"  html: '<div class=\"hs-num\" style=\"background:{AREA_COLOUR}\">' + d[2] + '</div>',"
        "  iconSize: [24, 24], iconAnchor: [12, 12], popupAnchor: [0, -10]});"
        " return L.marker([d[0], d[1]], {icon: icon, title: 'Area ' + d[2], zIndexOffset: 1000})"
        "  .bindPopup(d[3], {maxWidth: 340}).addTo(g); });"
        # rank 1 first: the best-ranked badges keep their spots
        "function place() { if (!map.hasLayer(g)) return;"
        " var pts = labels.map(function(d) { return map.latLngToLayerPoint([d[0], d[1]]); });"
        " var at = hsSpread(pts, 24); leaders.clearLayers();"
        " at.forEach(function(c, i) { var ll = map.layerPointToLatLng(c); ms[i].setLatLng(ll);"
        "  if (c.distanceTo(pts[i]) < 1) return;"
        "  var a = [labels[i][0], labels[i][1]];"
        "  L.polyline([a, ll], {interactive: false, weight: 1.5, opacity: 0.9,"
        f"   color: {_js(AREA_COLOUR)}, className: 'hs-leader'}}).addTo(leaders);"
        "  L.circleMarker(a, {interactive: false, radius: 2.5, weight: 1, fillOpacity: 1,"
        f"   color: {_js(AREA_HALO)}, fillColor: {_js(AREA_COLOUR)}}}).addTo(leaders); }}); }}"
        "map.on('zoomend viewreset', place); g.on('add', function() { setTimeout(place, 0); });"
        "place(); return g;"
    )
    return _JsLayer(name, body)


def _area_anchor(i: int, geoms: np.ndarray, size: np.ndarray) -> Any:
    """Where area `i`'s badge belongs and a click opens it.

    Its pole of inaccessibility outside every smaller area drawn above it (its own pole when
    nothing is left).
    """
    g = geoms[i]
    if g is None or g.is_empty:
        return g
    above = [geoms[j] for j in range(len(geoms))
             if j != i and (size[j], -j) < (size[i], -i) and geoms[j] is not None
             and geoms[j].intersects(g)]
    if above:
        # 3 m clear of the smaller areas' edges, so a click lands in this area only
        free = g.difference(gpd.GeoSeries(above).union_all().buffer(3.0))
        if not free.is_empty and free.area > 0:
            return _pole(free)
    return _pole(g)


def _incident_layers(inc: gpd.GeoDataFrame, max_markers: int, *, show: bool = True,
                     by_category: bool = False,
                     xy: np.ndarray | None = None) -> tuple[list[_JsLayer], tuple[str, str]]:
    """One toggleable layer per category (markers from :func:`incident_markers`).

    All clustered together: one set of clusters instead of a dozen overlapping
    per-category clusters. Neutral grey dots unless `by_category` (then each category
    has its colour and a cluster is a pie of its categories).
    """
    # anonymous reports (StreetSafe) never as points: counts per cell of >= 5 (privacy.py)
    n = len(inc)
    inc, anon = split_anonymous(inc)
    pts, xy, cat = _mapdata._points(inc, checked=True, xy=xy if len(inc) == n else None)
    agg, descs, table = _mapdata.aggregate(pts, xy, cat)
    if len(agg) > max_markers:
        layers, legend_rows = _city_incident_layers(
            _mapdata.city_incidents(agg, descs, table, max_markers), show=show,
            by_category=by_category)
    else:
        layers, legend_rows = _marker_layers(_mapdata._with_popups(agg, descs, table, 0.0),
                                             show=show, by_category=by_category)
    if len(anon):
        layer, row = _anonymous_layer(anon, show=show)
        layers.append(layer)
        legend_rows.append(row)
    return layers, ("Incidents", "<br>" + "<br>".join(legend_rows))


def _marker_layers(markers: pd.DataFrame, *, show: bool,
                   by_category: bool) -> tuple[list[_JsLayer], list[str]]:
    """One layer per category of `markers` (:func:`incident_markers`) and legend rows."""
    layers, legend_rows = [], []
    for c, sub in markers.groupby("category", sort=True):
        label = _e(category_label(c))
        colour = category_colour(c) if by_category else INCIDENT_COLOUR
        popup_head = f"<div class='hs-popup'><b>{label}</b>"
        # compact rows (the popup rebuilt in the browser from its parts, the month
        # spans shared): one popup string per marker made a year of London 28 MB
        span_list = sorted(set(sub["span"]))
        span_ix = {t: i for i, t in enumerate(span_list)}
        # coordinates as integer 1e-5 degrees (~1 m) from the layer's south-west corner
        ilat = np.round(sub["lat"].to_numpy() * 1e5).astype(np.int64)
        ilon = np.round(sub["lon"].to_numpy() * 1e5).astype(np.int64)
        origin = [int(ilat.min()), int(ilon.min())]
        data = [[int(a), int(b), int(n), span_ix[t], *ds] for a, b, n, t, ds in
                zip(ilat - origin[0], ilon - origin[1], sub["n"], sub["span"], sub["descs"],
                    strict=True)]
        body = (
            f"var data = {_js(data)}; var colour = {_js(colour)}; var o = {_js(origin)};"
            f"var spans = {_js(span_list)}; var head = {_js(popup_head)};"
            f"var g = {CLUSTERS_JS};"
            "function pop(d) { var h = head + '<br>' + d[2].toLocaleString('en-GB')"
            "  + ' incident' + (d[2] > 1 ? 's' : '');"
            " for (var i = 4; i < d.length; i++) h += '<br>' + d[i];"
            " if (spans[d[3]]) h += '<br><small>' + spans[d[3]] + '</small>';"
            " return h + '</div>'; }"
            "var ms = data.map(function(d) { var s = d[2] > 1 ? 20 : 12;"
            " var icon = L.divIcon({className: 'hs-inc', iconSize: [s, s],"
            "  html: '<div class=\"hs-inc-dot\" style=\"background:' + colour + '\">'"
            "   + (d[2] > 1 ? d[2] : '') + '</div>'});"
            " return L.marker([(d[0] + o[0]) / 1e5, (d[1] + o[1]) / 1e5],"
            "  {icon: icon, hsN: d[2], hsColour: colour})"
            "  .bindPopup(function() { return pop(d); }); });"
            # a stand-in layer for the layer control: switching it adds or removes this
            # category's markers in the shared cluster group
            "var Cat = L.Layer.extend({"
            " onAdd: function(m) { if (!m.hasLayer(g)) m.addLayer(g); g.addLayers(ms); },"
            " onRemove: function(m) { g.removeLayers(ms);"
            "  if (!g.getLayers().length) m.removeLayer(g); } });"
            f"var layer = new Cat(); layer.hsCategory = {_js(str(c))}; layer.hsMarkers = ms;"
            "return layer;"
        )
        total = int(sub["n"].sum())
        layers.append(_JsLayer(f"{label} ({total:,})", body, show=show))
        dot = f"<i class='hs-dot' style='background:{colour}'></i>" if by_category else ""
        legend_rows.append(f"{dot}{label} ({total:,})")
    if not by_category and legend_rows:
        legend_rows.insert(0, f"<i class='hs-dot' style='background:{INCIDENT_COLOUR}'></i>"
                              "a place; a number: incidents there")
    return layers, legend_rows


def _city_incident_layers(city: dict, *, show: bool,
                          by_category: bool) -> tuple[list[_JsLayer], list[str]]:
    """A city map's incidents (:func:`_mapdata.city_incidents`).

    Counts per square until zoom :data:`_mapdata.POINTS_ZOOM`, then the places in view
    (``CITY_JS``); one switch per category in the layer control, as on a borough map.
    """
    cats = city["cats"]
    labels = [_e(category_label(c)) for c in cats]
    colours = [category_colour(c) if by_category else INCIDENT_COLOUR for c in cats]
    step = city["cell_m"]
    o = {k: city[k] for k in ("cats", "origin", "cells", "points", "cell_m")} | {
        "heads": [f"<div class='hs-popup'><b>{lab}</b>" for lab in labels],
        "colours": colours, "zoom": _mapdata.POINTS_ZOOM,
        "cell": f"{step / 1000:g} km" if step >= 1000 else f"{step:g} m"}
    layers, legend_rows = [], []
    for i, (label, colour, total) in enumerate(zip(labels, colours, city["totals"],
                                                   strict=True)):
        body = (f"map._hsCity = {CITY_JS}(map, {_js(o)});" if i == 0 else "")
        layers.append(_JsLayer(f"{label} ({total:,})", body + f"return map._hsCity.layer({i});",
                               show=show))
        dot = f"<i class='hs-dot' style='background:{colour}'></i>" if by_category else ""
        legend_rows.append(f"{dot}{label} ({total:,})")
    legend_rows.insert(0, f"<i class='hs-dot' style='background:{colours[0]}'></i>"
                          f"incidents per {o['cell']} square; from zoom {o['zoom']}"
                          " the places (a number: incidents there)")
    return layers, legend_rows


def _anonymous_layer(anon: gpd.GeoDataFrame, *, show: bool = True) -> tuple[_JsLayer, str]:
    """Anonymous reports as cells holding at least 5, and the legend row.

    Count and reasons in the popup; the row says what is hidden
    (:func:`hotspots.privacy.aggregate_anonymous`).
    """
    cells = aggregate_anonymous(anon)
    props = []
    for c, n, reasons in cells[["category", "count", "reasons"]].itertuples(index=False):
        colour = category_colour(c)
        props.append({"style": {"className": "hs-anon", "color": colour, "fillColor": colour,
                                "weight": 1, "fillOpacity": 0.45},
                      "tooltip": f"{_e(category_label(c))}: {n:,}",
                      "popup": f"<div class='hs-popup'><b>{_e(category_label(c))}</b>"
                               f"<br>{n:,} reports in this cell<br>{_e(reasons)}</div>"})
    names = ", ".join(sorted({category_label(c) for c in anon["category"].astype(str)}))
    layer = _polygon_layer(f"{_e(names)} ({cells.attrs['shown']:,} of {len(anon):,}, "
                           "counts per cell)", _geojson(cells, props), show=show)
    row = (f"<i class='hs-dot' style='background:{category_colour(anon['category'].iloc[0])}'>"
           f"</i>{_e(names)} ({len(anon):,}): {_e(anonymous_note(cells))}")
    return layer, row


# ---------------------------------------------------------------------------------------
# the map frame


def _new_map(title: str, *, offline: bool, tiles: str | None,
             tiles_attribution: str | None = None) -> folium.Map:
    """The frame: title, fullscreen, label zoom classes, base panes and the tiles."""
    tile = tile_layer(tiles, tiles_credit(tiles, tiles_attribution)) if tiles else None
    m = folium.Map(location=[51.5, -0.12], zoom_start=11, tiles=None, control_scale=True,
                   prefer_canvas=False)
    m.options["maxZoom"] = 19  # markercluster needs it; without tiles nothing else sets it
    m._hs_offline = offline  # save_map's default
    root = m.get_root()
    root.header.add_child(Element(
        '<meta name="viewport" content="width=device-width, initial-scale=1">'), name="hs_vp")
    root.header.add_child(Element(f"<style>{CSS}</style>"), name="hs_css")
    root.header.add_child(Element(f"<script>{SPREAD_JS}</script>"), name="hs_js")
    root.header.add_child(Element(f"<title>{_e(title)}</title>"), name="hs_title")
    from folium.plugins import Fullscreen

    Fullscreen(position="topleft").add_to(m)
    frame_snippet().add_to(m)
    _control(f"{_e(title)}", "topright", "hs-title").add_to(m)
    if tile is not None:
        tile.add_to(m)
    else:
        log.info("map: no base tiles (tiles=None): the offline base layer only")
    return m


#: the layer control's name for the offline base layer
BASE_LAYER_NAME = "Streets and places (offline)"


def _base_layer(frames: Iterable[gpd.GeoDataFrame | None], *, wards: bool = True,
                streets: bool = True) -> _JsLayer | None:
    """The offline base layer for the data's extent (``_basemap``).

    Drawn in the panes under the tiles: hidden while tiles show, the ground when they
    fail or are off.
    """
    area = _basemap.extent(list(frames))
    if area is None:
        return None
    base = _basemap.base_frames(area, wards=wards, streets=streets)
    if not base:
        return None
    return _ground_layer(base, BASE_LAYER_NAME, pane="hsBase", label_pane="hsBaseLabels")


def _ground_layer(base: dict[str, gpd.GeoDataFrame], name: str, pane: str | None,
                  label_pane: str, *, show: bool = True) -> _JsLayer:
    """Boroughs, wards, streets (lines) and stations (dots) with their names, one layer.

    Nothing clickable. Coordinates to ~1 m: the ground need not be finer.
    """
    styles = {
        "boroughs": {"className": "hs-base-borough", "color": BOROUGH_COLOUR, "weight": 2.5,
                     "dashArray": "8 5", "fill": False, "opacity": 0.8},
        "wards": {"className": "hs-base-ward", "color": WARD_COLOUR, "weight": 1,
                  "fill": False, "opacity": 0.8},
        "streets": {"className": "hs-street", "color": STREET_COLOUR, "weight": 2.5,
                    "opacity": 0.9},
        "stations": {"className": "hs-station", "radius": 4, "color": STATION_COLOUR,
                     "weight": 2, "fillColor": "#ffffff", "fillOpacity": 1},
    }
    feats, labels, kinds = [], [], []
    for key in ("boroughs", "wards", "streets", "stations"):
        gdf = base.get(key)
        if gdf is None or not len(gdf):
            continue
        lines = gpd.GeoSeries(gdf["outline"], crs=gdf.crs) if "outline" in gdf.columns else gdf
        feats += _geojson(lines, [{"style": styles[key]}] * len(gdf), nd=5)["features"]
        if key in ("boroughs", "wards"):
            labels += _inside_labels(gdf, "name")
            kinds += [key[:-1]] * len(gdf)
        elif key == "stations":
            labels += [[la, lo, n, 0] for (la, lo), n in
                       zip(points_wgs84(gdf.geometry), gdf["name"], strict=True)]
            kinds += ["station"] * len(gdf)
    sl = base.get("street_labels")
    if sl is not None and len(sl):
        labels += [[la, lo, n, a] for (la, lo), n, a in
                   zip(points_wgs84(sl.geometry), sl["name"], sl["angle"], strict=True)]
        kinds += ["street-long" if x else "street" for x in sl["long"]]
    opts = {"interactive": False} | ({"pane": pane} if pane else {})
    body = (
        f"var data = {_js({'type': 'FeatureCollection', 'features': feats})};"
        f"var opts = {_js(opts)}; var g = L.featureGroup();"
        "L.geoJSON(data, Object.assign({style: function(f) { return f.properties.style; },"
        " pointToLayer: function(f, ll) {"
        "  return L.circleMarker(ll, Object.assign({}, opts, f.properties.style)); }},"
        " opts)).addTo(g);"
        f"return hsLabels({_js(label_data(labels, kinds))}, {_js(label_pane)}, g);"
    )
    return _JsLayer(name, body, show=show)


def _finish(m: folium.Map, frames: Iterable[gpd.GeoDataFrame | None], inc=None,
            legends: Iterable[tuple[str, str, list, str]] = (),
            fit: gpd.GeoDataFrame | None = None) -> folium.Map:
    """Legends, attribution, layer control, and the view fitted to the data.

    Each legend shows while one of its layers is on; the layer control folds on a phone.
    """
    for title, body, layers, key in legends:
        legend(_e(title), body, layers, key).add_to(m)
    attr = incident_attribution(inc)
    _JsSnippet(f"map.attributionControl.addAttribution({_js(_e(attr))});").add_to(m)
    n_layers = sum(isinstance(c, Layer) for c in m._children.values())
    # a long list of layers would cover the map: fold it behind the layers button
    control = folium.LayerControl(collapsed=n_layers > 10, position="topright")
    control.add_to(m)
    phone_layer_control(control.get_name()).add_to(m)
    boxes = [_wgs84_bounds(f) for f in ([fit] if fit is not None else frames)
             if f is not None and len(f)]
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if boxes:
        b = np.array(boxes)
        bounds = [[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]]
        # no zoom animation on opening: the first view is simply there
        _JsSnippet(f"map.fitBounds({_js(np.round(bounds, 6).tolist())}, {{animate: false}});"
                   ).add_to(m)
    return m


def _wgs84_bounds(f: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """Lon/lat bounds of `f`: its own bounds transformed (edges densified).

    Not every vertex: projecting a year of London's points took a second and a half.
    """
    b = f.total_bounds
    if f.crs is None or f.crs == WGS84 or not np.all(np.isfinite(b)):
        return b
    return np.array(_transformer(f.crs).transform_bounds(*b, densify_pts=21))


def hotspot_map(  # noqa: PLR0913 (each layer optional, plus the map's documented options)
    inc: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    wards: gpd.GeoDataFrame | None = None,
    grid: gpd.GeoDataFrame | None = None,
    gistar: gpd.GeoDataFrame | None = None,
    title: str = "Hotspots",
    *, offline: bool = False,
    tiles: str | None = DEFAULT_TILES,
    max_markers: int = DEFAULT_MAX_MARKERS,
    show_incidents: bool | None = None,
    change: gpd.GeoDataFrame | None = None,
    tiles_attribution: str | None = None,
    base_layer: bool = True,
    by_category: bool = False,
) -> folium.Map:
    """An interactive hotspot map: wards, density surface, top areas, incidents, Gi*.

    Each layer can be switched on and off in the layer control, and each legend shows
    only while its layer is on. The view fits the data; the map has base tiles
    (OpenStreetMap by default) over an offline base layer, a scale bar, a fullscreen
    button and OS/ONS (OGL v3) and OpenStreetMap (ODbL) attribution, plus a
    "synthetic" note when ``inc["source"] == "synthetic"``.

    Parameters
    ----------
    inc : GeoDataFrame, optional
        Incidents (``category``; ``location_desc``, ``month`` used in popups). Points at
        the same coordinate and category become one marker with a count; one layer per
        category in the layer control, clustered together. Neutral grey dots unless
        `by_category`.
    areas : GeoDataFrame, optional
        Ranked areas from ``hs.top_areas``: ``rank`` (outlined polygons with rank
        badges kept apart at every zoom), and in the popup ``wards``, ``streets``,
        ``n_incidents``, ``n_<category>``, ``area_m2``, ``score``, ``change_n``,
        ``change_pct`` when present.
    wards : GeoDataFrame, optional
        Ward boundaries (``ward_name`` on hover and as labels from zoom 12).
    grid : GeoDataFrame, optional
        KDE grid from ``hs.kde`` with ``density`` (incidents per km²); drawn as classed
        polygons (viridis, light to dark) at upper quantiles of the non-zero density.
    gistar : GeoDataFrame, optional
        Grid from ``hs.gistar`` with ``gi_bin`` (−3..3), ``label`` or ``z``/``p`` (see
        :func:`gistar_bins`); significant cells drawn red (hot) to blue (cold), layer
        off on opening when `grid` or `areas` are drawn too.
    title : str, default "Hotspots"
    offline : bool, default False
        :func:`save_map` inlines Leaflet and plugins so the page itself needs no
        network. Says nothing about tiles (see `tiles`).
    tiles : str or None, default OpenStreetMap's tile URL
        Any XYZ tile URL (``https://host/{z}/{x}/{y}.png``, e.g. a council's own tile
        server) or "OpenStreetMap". When tiles cannot load (no network) the map says so
        and the offline base layer shows. None: no tiles, the offline base layer only.
    max_markers : int, default 20000
        Above this many markers (a city's year), incidents are drawn as counts per
        square by category (the smallest of 250 m to 10 km giving at most this many;
        logged) until zoom 15, then as their own places in view with the same popups,
        made in the browser from compact rows (``_mapdata.city_incidents``).
    show_incidents : bool, optional
        Whether the incident layers are switched on when the map opens. Default: on
        only when no `areas` are given (thousands of markers hide the areas; the layer
        control turns them on).
    change : GeoDataFrame, optional
        A change-over-time result with a ``label`` column (``hs.hotspot_change``,
        ``hs.classify_hotspots``, ``hs.dual_kde``, ``hs.operation_effect(...).zones``):
        cells/wards/areas/zones coloured by label (emerging and increases in reds,
        decreases and cold spots in blues), "no pattern" left out, with a legend.
    tiles_attribution : str, optional
        Credit line for a tile server other than OpenStreetMap (default: its host name).
    base_layer : bool, default True
        Draw the offline base layer under the tiles: borough and ward outlines with
        names, TfL stations and, where the registry has a street network (City of
        London, Westminster), streets with names. Data that cannot be found is skipped
        (logged).
    by_category : bool, default False
        Colour incidents by category (each cluster a pie of its categories) instead of
        neutral grey.

    Returns
    -------
    folium.Map
        Save with :func:`save_map` (atomic, and offline-safe).
    """
    frames = _checked(inc=inc, areas=areas, wards=wards, grid=grid, gistar=gistar,
                      change=change)
    if not frames:
        raise BadInputError("hotspot_map needs at least one of inc, areas, wards or grid")
    m = _new_map(title, offline=offline, tiles=tiles, tiles_attribution=tiles_attribution)
    legends: list[tuple[str, str, list, str]] = []
    # the incidents' coordinates read once (a year of London: 849k geometries) and their
    # extent stands in for them where only bounds count
    xy = _mapdata.coordinates(frames["inc"]) if "inc" in frames else None
    extents = [_extent_box(xy) if k == "inc" else f for k, f in frames.items()]
    if base_layer:
        _add(m, _base_layer(extents, wards="wards" not in frames))
    if "wards" in frames:
        for layer in _ward_layer(frames["wards"]):
            layer.add_to(m)
    if "grid" in frames:
        got = _density_layer(frames["grid"])
        if got:
            legends.append((*got[1], [_add(m, got[0])], "density"))
    if "gistar" in frames:
        # off on opening unless it is the only surface drawn
        got = _gistar_layer(frames["gistar"], show="grid" not in frames and "areas" not in frames)
        if got:
            legends.append((*got[1], [_add(m, got[0])], "gistar"))
    if "change" in frames:
        got = _change_layer(frames["change"], show="grid" not in frames)
        if got:
            legends.append((*got[1], [_add(m, got[0])], "change"))
    if "inc" in frames:
        show = show_incidents if show_incidents is not None else "areas" not in frames
        layers, leg = _incident_layers(frames["inc"], max_markers, show=show,
                                       by_category=by_category, xy=xy)
        legends.append((*leg, [_add(m, layer) for layer in layers], "incidents"))
    if "areas" in frames:
        layer = _add(m, _area_layer(frames["areas"]))
        legends.append((*_areas_legend(), [layer], "areas"))
    return _finish(m, extents, inc=frames.get("inc"), legends=legends)


def _extent_box(xy: np.ndarray) -> gpd.GeoSeries | None:
    """The box around coordinates in BNG (None when there are none)."""
    if not len(xy):
        return None
    lo, hi = np.fmin.reduce(xy, axis=0), np.fmax.reduce(xy, axis=0)  # NaN: no point
    if not np.all(np.isfinite(np.r_[lo, hi])):
        return None
    return gpd.GeoSeries([box(lo[0], lo[1], hi[0], hi[1])], crs=BNG)


def _add(m: folium.Map, layer: _JsLayer | None) -> _JsLayer | None:
    if layer is not None:
        layer.add_to(m)
    return layer


def _areas_legend(*, numbered: bool = True) -> tuple[str, str]:
    what = "numbered by rank (1: most)" if numbered else "click one for its rank"
    return "Top areas", f"<br><i class='hs-outline'></i>hotspot area, {what}"


def _checked(**frames: gpd.GeoDataFrame | None) -> dict[str, gpd.GeoDataFrame]:
    required = {"areas": ["rank"], "grid": ["density"], "change": ["label"]}
    out = {k: check_gdf(v, k, required.get(k, ())) for k, v in frames.items() if v is not None}
    if "inc" in out:  # anonymous reports off their points before any layer or bounds
        out["inc"] = protect(out["inc"])
    return out


def focus_ward_map(  # noqa: PLR0913 (the ward's layers plus the map's documented options)
    inc: gpd.GeoDataFrame | None,
    wards: gpd.GeoDataFrame,
    ward: str,
    areas: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    *, offline: bool = False,
    tiles: str | None = DEFAULT_TILES,
    max_markers: int = DEFAULT_MAX_MARKERS,
    tiles_attribution: str | None = None,
    base_layer: bool = True,
    by_category: bool = False,
) -> folium.Map:
    """A map of one ward: it is outlined, the other wards faded, its areas numbered.

    Parameters
    ----------
    inc : GeoDataFrame or None
        Incidents; those inside the ward (by ``ward_code`` when present, else by location)
        are drawn.
    wards : GeoDataFrame
        Ward boundaries including the focus ward.
    ward : str
        Ward name or code (any case).
    areas : GeoDataFrame, optional
        Ranked areas; those touching the ward are drawn, keeping their borough rank
        ("rank 7 of 20").
    title : str, optional
        Defaults to "Focus ward: <name>".
    offline, tiles, max_markers, tiles_attribution, base_layer, by_category
        As in :func:`hotspot_map`.
    """
    from .boundaries import find_ward

    w = check_gdf(wards, "wards", ["ward_code", "ward_name"])
    row = find_ward(ward, w)
    code = str(row["ward_code"])
    geom = w.loc[w["ward_code"] == code].geometry.union_all()
    frames = _checked(inc=inc, areas=areas)
    m = _new_map(title or f"Focus ward: {row['ward_name']}", offline=offline, tiles=tiles,
                 tiles_attribution=tiles_attribution)
    focus = gpd.GeoDataFrame(geometry=[geom], crs=w.crs)
    if base_layer:
        _add(m, _base_layer([focus], wards=False))
    for layer in _ward_layer(w, focus_code=code):
        layer.add_to(m)
    legends = []
    inc_in = None
    if "inc" in frames:
        i = frames["inc"]
        inc_in = i[i["ward_code"].astype(str) == code] if "ward_code" in i.columns else i[
            i.geometry.within(geom)]
        layers, leg = _incident_layers(inc_in, max_markers, by_category=by_category)
        legends.append((*leg, [_add(m, layer) for layer in layers], "incidents"))
    if "areas" in frames:
        a = frames["areas"]
        a_in = a[a.geometry.intersects(geom)]
        if len(a_in):
            layer = _add(m, _area_layer(a_in, name="Top areas in this ward", n_total=len(a)))
            legends.append((*_areas_legend(), [layer], "areas"))
    return _finish(m, [], inc=inc_in, legends=legends, fit=focus)


def patrol_map(
    plan: Any,
    areas: gpd.GeoDataFrame | None = None,
    network: Any = None,
    title: str = "Patrol plan",
    *, offline: bool = False,
    tiles: str | None = DEFAULT_TILES,
    tiles_attribution: str | None = None,
    base_layer: bool = True,
) -> folium.Map:
    """A patrol plan: the route, numbered stops with why/when, the start, the areas.

    One numbering on the map: the stops, in walking order. Hotspot areas are outlined
    without numbers (their popups give the rank); the start is a green flag drawn above
    every stop.

    Parameters
    ----------
    plan : object
        From ``hs.plan_patrol``: ``stops`` (GeoDataFrame in visiting order with
        ``order, name, why, street, arrival, dwell_min``), ``route`` (LineString
        GeoDataFrame/GeoSeries), ``length_m``, ``minutes``, ``dropped``, ``start``.
    areas : GeoDataFrame, optional
        Ranked areas to show under the route.
    network : GeoDataFrame, GeoSeries or networkx graph, optional
        Street network drawn above the tiles (layer on) with street names, clipped to
        the plan's surroundings.
    title : str, default "Patrol plan"
    offline, tiles, tiles_attribution, base_layer
        As in :func:`hotspot_map`.
    """
    stops = check_gdf(getattr(plan, "stops", None), "plan.stops", ["order"])
    route = getattr(plan, "route", None)
    if isinstance(route, gpd.GeoSeries):
        route = gpd.GeoDataFrame(geometry=route, crs=route.crs)
    frames = _checked(route=route, areas=areas)
    m = _new_map(title, offline=offline, tiles=tiles, tiles_attribution=tiles_attribution)
    drawn = [stops, frames.get("route")]
    if base_layer:
        _add(m, _base_layer(drawn + [frames.get("areas")], streets=network is None))
    if network is not None:
        area = _basemap.extent(drawn)
        edges = _basemap.network_edges(network)
        edges = edges[edges.geometry.intersects(area)] if area is not None else edges
        streets, labels = _basemap.street_layers(edges)
        _add(m, _ground_layer({"streets": streets, "street_labels": labels},
                              "Streets (names from zoom 15)", pane=None, label_pane="hsLabels"))
    if "areas" in frames:
        _area_layer(frames["areas"], name="Hotspot areas", numbered=False).add_to(m)
    if "route" in frames:
        r = frames["route"]
        props = [{"style": {"className": "hs-route", "color": STOP_COLOUR, "weight": 5,
                            "opacity": 0.8}, "tooltip": "Patrol route", "popup": None}] * len(r)
        _polygon_layer("Route", _geojson(r, props)).add_to(m)
    _stops_layer(stops).add_to(m)
    _start_marker(getattr(plan, "start", None), stops.crs, m)
    return _finish(m, [stops, frames.get("route"), frames.get("areas")],
                   legends=[(_e(title), _patrol_legend(plan, stops, areas="areas" in frames), [],
                             "patrol")])


def _stops_layer(stops: gpd.GeoDataFrame) -> _JsLayer:
    """Numbered stop markers (``hs-stop hs-stop-<n>``) with why/when popups."""
    stops = stops.sort_values("order")
    data = []
    for (_, row), (la, lo) in zip(stops.iterrows(), points_wgs84(stops.geometry), strict=True):
        lines = [f"<b>Stop {_num(row['order'])}</b>"]
        for col, label in (("name", ""), ("why", "Why: "), ("street", "Street: "),
                           ("arrival", "Arrive: "), ("dwell_min", "Stay: ")):
            if col in row.index and pd.notna(row[col]) and str(row[col]) != "":
                v = row[col]
                if col == "arrival" and isinstance(v, pd.Timestamp):
                    v = v.strftime("%H:%M")
                if col == "dwell_min":
                    v = f"{_num(v)} min"
                lines.append(f"{label}{_e(v)}")
        data.append([la, lo, int(row["order"]),
                     "<div class='hs-popup'>" + "<br>".join(lines) + "</div>"])
    body = (
        f"var data = {_js(data)}; var g = L.featureGroup();"
        "data.forEach(function(d) {"
        " var icon = L.divIcon({className: 'hs-stop hs-stop-' + d[2], iconSize: [26, 26],"
        "  iconAnchor: [13, 13], html: '<div class=\"hs-num\" style=\"background:"
        f"{STOP_COLOUR}\">' + d[2] + '</div>'}});"
        " L.marker([d[0], d[1]], {icon: icon, zIndexOffset: 2000, title: 'Stop ' + d[2]})"
        "  .bindPopup(d[3]).addTo(g); });"
        "return g;"
    )
    return _JsLayer("Stops", body)


def _start_marker(start: Any, crs: Any, m: folium.Map) -> None:
    """The start.

    A green "Start" flag whose foot is on the point, drawn above every stop (a stop at the start
    stays visible beside the flag).
    """
    if start is None or getattr(start, "is_empty", True):
        return
    pt = gpd.GeoSeries([start], crs=crs).to_crs(WGS84).iloc[0]
    _JsSnippet(
        f"L.marker([{pt.y:.6f}, {pt.x:.6f}], {{zIndexOffset: 5000, title: 'Start',"
        " icon: L.divIcon({className: 'hs-start', iconSize: [0, 0], iconAnchor: [0, 0],"
        f" html: '<div class=\"hs-flag\" style=\"background:{START_COLOUR}\">Start</div>'}})"
        "}).bindTooltip('Start').addTo(map);"
    ).add_to(m)


def _patrol_legend(plan: Any, stops: gpd.GeoDataFrame, *, areas: bool) -> str:
    summary = []
    if getattr(plan, "length_m", None) is not None:
        summary.append(f"{_num(float(plan.length_m) / 1000, 1)} km")
    if getattr(plan, "minutes", None) is not None:
        summary.append(f"{_num(plan.minutes)} min")
    summary.append(f"{len(stops)} stops")
    rows = [" · ".join(summary)]
    dropped = getattr(plan, "dropped", None)
    if dropped is not None and len(dropped):
        rows.append(f"{len(dropped)} target(s) left out (see the briefing)")
    rows.append(f"<i class='hs-dot' style='background:{STOP_COLOUR}'></i>stops, numbered in "
                "walking order")
    rows.append(f"<i style='background:{START_COLOUR}'></i>start")
    if areas:
        rows.append("<i class='hs-outline'></i>hotspot areas (click for rank)")
    return "<br>" + "<br>".join(rows)


# ---------------------------------------------------------------------------------------
# saving and offline assets


def node_modules_dir() -> Path:
    """Where Leaflet and plugins were installed by ``make assets`` (npm).

    Looks at ``$HOTSPOTS_NODE_MODULES``, the project root, then the current directory.

    Raises
    ------
    HotspotsError
        None of them has Leaflet: run ``make assets``.
    """
    cands = []
    env = os.environ.get("HOTSPOTS_NODE_MODULES")
    if env:
        cands.append(Path(env).expanduser())
    cands += [PROJECT_ROOT / "node_modules", Path.cwd() / "node_modules"]
    for c in cands:
        if all((c / a).is_file() for a in OFFLINE_ASSETS):
            return c
    looked = ", ".join(str(c) for c in cands)
    raise HotspotsError(
        "offline maps need Leaflet and its plugins from npm, which are not installed "
        f"(looked in {looked}). Run `make assets` in the project folder (needs npm), "
        "or save the map with offline=False to load them from the internet."
    )


_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif",
         ".jpg": "image/jpeg", ".woff2": "font/woff2", ".woff": "font/woff"}


def _inline_css(path: Path) -> str:
    """CSS with every relative ``url(...)`` replaced by a data: URI."""
    text = path.read_text("utf-8")

    def repl(mo: re.Match) -> str:
        ref = mo.group(2)
        if ref.startswith(("data:", "#", "http:", "https:")):
            return mo.group(0)
        f = (path.parent / ref).resolve()
        if not f.is_file():
            return "url()"
        mime = _MIME.get(f.suffix.lower(), "application/octet-stream")
        return f"url(data:{mime};base64,{base64.b64encode(f.read_bytes()).decode()})"

    return re.sub(r"url\((['\"]?)([^'\")]+)\1\)", repl, text)


def offline_assets_html() -> str:
    """Leaflet, markercluster and fullscreen CSS/JS as inline ``<style>``/``<script>``."""
    root = node_modules_dir()
    parts = []
    for rel in OFFLINE_ASSETS:
        p = root / rel
        if rel.endswith(".css"):
            parts.append(f"<style>/* {rel} */\n{_inline_css(p)}</style>")
        else:
            js = p.read_text("utf-8").replace("</script", "<\\/script")
            parts.append(f"<script>/* {rel} */\n{js}</script>")
    return "\n".join(parts)


_EXTERNAL_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*['\"]?(?:https?:)?//[^>]*>\s*</script>", re.I)
_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*['\"]?(?:https?:)?//[^>]*>", re.I)


def map_html(m: folium.Map, *, offline: bool | None = None) -> str:
    """The map as one HTML page.

    Offline: Leaflet and plugins inlined and no external ``<script>``/``<link>`` at all (the
    tiles, fetched by Leaflet, stay: they fall back to the offline base layer when they cannot
    load).
    """
    if offline is None:
        offline = bool(getattr(m, "_hs_offline", False))
    text = m.get_root().render()
    if not offline:
        return text
    text = _EXTERNAL_SCRIPT.sub("", text)
    text = _EXTERNAL_LINK.sub("", text)
    assets = offline_assets_html() + '\n<link rel="icon" href="data:,">\n'
    head_end = text.lower().find("</head>")
    if head_end < 0:
        raise HotspotsError("could not find </head> in the rendered map: folium changed?")
    text = text[:head_end] + assets + text[head_end:]
    left = re.findall(r"<(?:script|link)\b[^>]*(?:src|href)\s*=\s*['\"]?(?:https?:)?//", text, re.I)
    if left:
        raise HotspotsError(f"offline map still loads {len(left)} external file(s)")
    return text


def save_map(m: folium.Map, path: str | os.PathLike, *, offline: bool | None = None) -> Path:
    """Write a map to an HTML file atomically.

    Parameters
    ----------
    m : folium.Map
        From :func:`hotspot_map`, :func:`focus_ward_map` or :func:`patrol_map` (any
        folium map works).
    path : str or PathLike
        Target ``.html`` file; folders are created.
    offline : bool, optional
        Inline Leaflet and plugins (from ``make assets``) so the page needs no network.
        Defaults to the ``offline`` the map was made with.

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(m, folium.Map):
        raise BadInputError(f"save_map needs a folium.Map, got {type(m).__name__}")
    return atomic_write_text(path, map_html(m, offline=offline))
