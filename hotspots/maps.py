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
  is still switched on and off on its own in the layer control.
* The density surface is drawn as classed polygons (grid cells dissolved by density
  class, reprojected exactly), not an image stretched over lat/lon bounds and not a
  heat layer of raw points.
* ``offline=True`` (see :func:`save_map`) inlines Leaflet and its plugins from
  ``node_modules`` (``make assets``) and strips every external ``<script>``/``<link>``;
  base tiles are left out and the map says so.
"""

from __future__ import annotations

import base64
import html
import json
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
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template
from shapely.geometry import mapping

from ._atomic import atomic_write_text
from ._errors import BadInputError, HotspotsError
from ._style import (
    AREA_COLOUR,
    GI_COLOURS,
    GI_CONFIDENCE,
    QUIET_LABELS,
    area_categories,
    category_colour,
    category_label,
    density_classes,
    density_range,
    incident_attribution,
    label_colours,
)
from ._time import month_range
from ._validate import WGS84, check_gdf
from .datasets import PROJECT_ROOT
from .privacy import aggregate_anonymous, protect, split_anonymous
from .privacy import note as anonymous_note
from .rank import change_label

log = logging.getLogger("hotspots")

DEFAULT_TILES = "OpenStreetMap"  # CARTO basemaps now ask for an API key
OFFLINE_NOTE = "Base map tiles unavailable offline"
#: more distinct markers than this and coordinates are snapped to a coarser grid.
DEFAULT_MAX_MARKERS = 20_000
_SNAP_STEPS_M = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0)

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

_CSS = """
.hs-legend, .hs-title, .hs-note { background: rgba(255,255,255,0.92); padding: 6px 8px;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px/1.35 sans-serif; }
.hs-title { font-size: 15px; font-weight: bold; }
.hs-note { font-size: 11px; color: #555; }
.hs-legend i { display: inline-block; width: 12px; height: 12px; margin-right: 5px;
  vertical-align: -2px; border-radius: 2px; opacity: 0.85; }
.hs-legend .hs-dot { border-radius: 50%; }
.hs-num { display: flex; align-items: center; justify-content: center; border-radius: 50%;
  color: #fff; font: bold 12px sans-serif; border: 2px solid #fff;
  box-shadow: 0 0 3px rgba(0,0,0,0.6); width: 100%; height: 100%; box-sizing: border-box; }
.hs-inc-dot { display: flex; align-items: center; justify-content: center; border-radius: 50%;
  width: 100%; height: 100%; box-sizing: border-box; border: 1px solid #fff; color: #fff;
  font: bold 10px sans-serif; }
.hs-cluster div { width: 100%; height: 100%; border-radius: 50%; display: flex;
  align-items: center; justify-content: center; box-sizing: border-box;
  border: 1px solid #fff; box-shadow: 0 0 3px rgba(0,0,0,0.5); opacity: 0.92; }
.hs-cluster span { background: rgba(255,255,255,0.92); border-radius: 50%; width: 62%;
  height: 62%; display: flex; align-items: center; justify-content: center;
  font: bold 11px sans-serif; color: #222; }
.hs-area-label .hs-num { border-radius: 5px; border-color: #fff8e1; }
.hs-popup table { border-collapse: collapse; margin-top: 3px; }
.hs-popup td { padding: 0 6px 0 0; }
.leaflet-container { background: #f2efe9; }
.leaflet-control-attribution { font-size: 10px; max-width: 60%; }
"""


# ---------------------------------------------------------------------------------------
# small helpers


def _e(value: Any) -> str:
    """HTML-escape any value for a popup or tooltip ('' for missing)."""
    if value is None or (not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value)):
        return ""
    if isinstance(value, (list, tuple, np.ndarray)):
        value = ", ".join(str(v) for v in value)
    return html.escape(str(value), quote=True)


def _js(obj: Any) -> str:
    """JSON that is safe inside an inline ``<script>``: ``<``, ``>`` and ``&`` as
    ``\\u`` escapes, so no ``</script>``, ``<!--`` or raw markup from data can appear."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _num(value: Any, digits: int = 0) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if not np.isfinite(v):
        return ""
    return f"{v:,.{digits}f}"


def _geojson(gdf: gpd.GeoDataFrame, props: list[dict]) -> dict:
    """A FeatureCollection in WGS84 with the given per-row properties."""
    geoms = gdf.geometry.to_crs(WGS84)
    feats = []
    for geom, p in zip(geoms, props, strict=True):
        if geom is None or geom.is_empty:
            continue
        feats.append({"type": "Feature", "geometry": _round_coords(mapping(geom)), "properties": p})
    return {"type": "FeatureCollection", "features": feats}


def _round_coords(gj: dict, nd: int = 6) -> dict:
    """Round coordinates to ~0.1 m: smaller files, no visible change."""

    def rnd(c):
        if isinstance(c, (int, float)):
            return round(c, nd)
        return [rnd(x) for x in c]

    if gj["type"] == "GeometryCollection":
        return {"type": gj["type"], "geometries": [_round_coords(g, nd) for g in gj["geometries"]]}
    return {"type": gj["type"], "coordinates": rnd(gj["coordinates"])}


def _as_text_list(value: Any) -> str:
    """A ``wards``/``streets`` cell (string, list or array) as one escaped line."""
    if isinstance(value, (list, tuple, np.ndarray, set)):
        return _e(", ".join(str(v) for v in value if v is not None and str(v) != ""))
    return _e(value)


class _JsLayer(Layer):
    """A toggleable layer whose JavaScript body builds and returns a Leaflet layer."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(map) {
                {{ this.body }}
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str, body: str, show: bool = True, overlay: bool = True,
                 control: bool = True):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "HotspotsLayer"
        self.body = body


class _JsSnippet(MacroElement):
    """A piece of map-level JavaScript (legends, notes, attribution); `map` is the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function(map) {
                {{ this.body }}
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, body: str):
        super().__init__()
        self._name = "HotspotsSnippet"
        self.body = body


def _control(html_text: str, position: str, cls: str) -> _JsSnippet:
    """A fixed box on the map (legend, title, note); `html_text` must already be escaped."""
    return _JsSnippet(
        f"var c = L.control({{position: {_js(position)}}});"
        f"c.onAdd = function() {{ var d = L.DomUtil.create('div', {_js(cls)});"
        f" d.innerHTML = {_js(html_text)}; L.DomEvent.disableClickPropagation(d);"
        " L.DomEvent.disableScrollPropagation(d); return d; };"
        "c.addTo(map);"
    )


def _polygon_layer(name: str, fc: dict, show: bool = True, sticky: bool = True) -> _JsLayer:
    """GeoJSON polygons styled per feature (``properties.style``, which may carry a
    CSS ``className``), with optional escaped ``tooltip``/``popup`` HTML."""
    body = (
        f"var data = {_js(fc)};"
        "return L.geoJSON(data, {"
        " style: function(f) { return f.properties.style; },"
        " onEachFeature: function(f, l) {"
        "  if (f.properties.tooltip)"
        f"   l.bindTooltip(f.properties.tooltip, {{sticky: {_js(sticky)}}});"
        "  if (f.properties.popup) l.bindPopup(f.properties.popup, {maxWidth: 340});"
        " }});"
    )
    return _JsLayer(name, body, show=show)


# ---------------------------------------------------------------------------------------
# layers


def _ward_layer(wards: gpd.GeoDataFrame, focus_code: str | None = None,
                name: str = "Ward boundaries") -> _JsLayer:
    props = []
    for _, row in wards.iterrows():
        is_focus = focus_code is not None and str(row.get("ward_code")) == focus_code
        faded = focus_code is not None and not is_focus
        style = {
            "className": "hs-ward" + (" hs-focus-ward" if is_focus else ""),
            "color": "#08306b" if is_focus else "#555555",
            "weight": 4 if is_focus else 1.2,
            "fill": True,
            "fillColor": "#9e9e9e" if faded else "#6baed6",
            "fillOpacity": 0.45 if faded else (0.06 if is_focus else 0.0),
            "opacity": 0.5 if faded else 0.9,
        }
        label = _e(row.get("ward_name", ""))
        if "borough_name" in wards.columns and focus_code is None:
            label += f" <span style='color:#777'>({_e(row['borough_name'])})</span>"
        props.append({"style": style, "tooltip": label, "popup": None})
    return _polygon_layer(name, _geojson(wards, props))


def _density_layer(grid: gpd.GeoDataFrame) -> tuple[_JsLayer, str] | None:
    """Density classes as coloured polygons + legend HTML (None when all zero)."""
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
                      "fillOpacity": 0.55},
            "tooltip": f"{rng} incidents per km²",
            "popup": None,
        })
    log.info("map density classes (incidents per km²): %s", breaks)
    layer = _polygon_layer("Density (incidents per km²)", _geojson(dissolved, props))
    rows = []
    for c in reversed(range(len(breaks))):
        hi = breaks[c + 1] if c + 1 < len(breaks) else None
        rng = density_range(breaks[c], hi)
        rows.append(f"<i style='background:{colours[c]}'></i>{rng}")
    legend = "<b>Density</b><br><small>incidents per km²</small><br>" + "<br>".join(rows)
    return layer, legend


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
                  show: bool = False) -> tuple[_JsLayer, str] | None:
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
    legend = "<b>Gi* hot and cold spots</b><br>" + "<br>".join(rows)
    layer = _polygon_layer("Gi* hot and cold spots", _geojson(dissolved, props), show=show)
    return layer, legend


def _change_layer(result: gpd.GeoDataFrame, show: bool = True) -> tuple[_JsLayer, str] | None:
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
    legend = "<b>Change over time</b><br>" + "<br>".join(
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


def _area_layer(areas: gpd.GeoDataFrame, name: str = "Top areas") -> _JsLayer:
    """Numbered area polygons (class ``hs-area hs-area-<rank>``) and their rank labels."""
    areas = areas.sort_values("rank") if "rank" in areas.columns else areas.assign(
        rank=np.arange(1, len(areas) + 1))
    cats = area_categories(areas)
    n = len(areas)
    compared = change_label(areas.attrs)
    props, labels = [], []
    pts = areas.geometry.representative_point().to_crs(WGS84)
    for (_, row), pt in zip(areas.iterrows(), pts, strict=True):
        popup = _area_popup(row, cats, n, compared)
        r = int(row["rank"])
        props.append({
            "style": {"className": f"hs-area hs-area-{r}", "color": AREA_COLOUR, "weight": 2.5,
                      "fillColor": AREA_COLOUR, "fillOpacity": 0.18},
            "tooltip": f"Area {r}",
            "popup": popup,
        })
        labels.append([round(pt.y, 6), round(pt.x, 6), r, popup])
    body = (
        f"var data = {_js(_geojson(areas, props))}; var labels = {_js(labels)};"
        "var g = L.featureGroup();"
        "L.geoJSON(data, { style: function(f) { return f.properties.style; },"
        " onEachFeature: function(f, l) { l.bindTooltip(f.properties.tooltip, {sticky: true});"
        "  l.bindPopup(f.properties.popup, {maxWidth: 340}); } }).addTo(g);"
        "labels.forEach(function(d) {"
        " var icon = L.divIcon({className: 'hs-area-label hs-area-label-' + d[2],"
        f"  html: '<div class=\"hs-num\" style=\"background:{AREA_COLOUR}\">' + d[2] + '</div>',"
        "  iconSize: [24, 24], iconAnchor: [12, 12], popupAnchor: [0, -10]});"
        " L.marker([d[0], d[1]], {icon: icon, title: 'Area ' + d[2], zIndexOffset: 1000})"
        "  .bindPopup(d[3], {maxWidth: 340}).addTo(g); });"
        "return g;"
    )
    return _JsLayer(name, body)


def _snap_step(xy: np.ndarray, keys: np.ndarray, max_markers: int) -> float:
    """Grid step (m) at which points aggregate to at most `max_markers` markers (0: none)."""
    # distinct (key, point) first: police.uk repeats points, and snapping distinct
    # points gives the same distinct markers as snapping every row
    base = pd.DataFrame({"k": keys, "x": xy[:, 0], "y": xy[:, 1]}).drop_duplicates()
    bxy = base[["x", "y"]].to_numpy()

    def n_markers(step: float) -> int:
        s = np.round(bxy / step) if step else np.round(bxy, 1)
        frame = pd.DataFrame({"k": base["k"].to_numpy(), "x": s[:, 0], "y": s[:, 1]})
        return len(frame.drop_duplicates())

    if n_markers(0.0) <= max_markers:
        return 0.0
    for step in _SNAP_STEPS_M:
        if n_markers(step) <= max_markers:
            return step
    return _SNAP_STEPS_M[-1]


def incident_markers(inc: gpd.GeoDataFrame,
                     max_markers: int = DEFAULT_MAX_MARKERS) -> pd.DataFrame:
    """The markers a map draws for `inc`: one per category and shared coordinate.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents with ``category`` (``location_desc`` and ``month`` feed the popup).
    max_markers : int, default 20000
        Above this many markers, coordinates are snapped to the first grid step of
        5, 10, 25, 50, 100, 250 m that brings the count under it (logged); 250 m when
        none does.

    Returns
    -------
    DataFrame
        ``category, x, y`` (BNG metres), ``lat, lon``, ``n`` (incidents at the marker)
        and ``popup`` (escaped HTML), sorted by category; ``attrs["snap_m"]`` is the
        grid step used (0: exact coordinates).
    """
    inc = check_gdf(inc, "incidents")
    pts = inc[inc.geometry.notna() & ~inc.geometry.is_empty]
    n_rows = len(pts)
    cat = (pts["category"].astype(str).to_numpy() if "category" in pts.columns
           else np.full(n_rows, "other"))
    xy = np.column_stack([pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()])
    step = _snap_step(xy, cat, max_markers) if n_rows else 0.0
    if step:
        log.info("map: snapped incident markers to a %g m grid to stay under %d markers",
                 step, max_markers)
        xy = np.round(xy / step) * step
    month = (pd.to_datetime(pts["month"], errors="coerce").to_numpy() if "month" in pts.columns
             else np.full(n_rows, np.datetime64("NaT")))
    frame = pd.DataFrame({"category": cat, "x": np.round(xy[:, 0], 1),
                          "y": np.round(xy[:, 1], 1), "month": month})
    agg = (frame.groupby(["category", "x", "y"], sort=True)
           .agg(n=("category", "size"), m0=("month", "min"), m1=("month", "max"))
           .reset_index())
    # up to three distinct street descriptions per marker, in first-seen order
    descs: dict[tuple, list[str]] = {}
    if "location_desc" in pts.columns:
        raw = pts["location_desc"].to_numpy(dtype=object)
        ok = ~pd.isna(raw)
        d = frame.loc[ok, ["category", "x", "y"]].assign(d=raw[ok].astype(str))
        # vectorised (a row loop took seconds on a year of London): distinct
        # descriptions in first-seen order, the first three per marker
        d = d[d["d"] != ""].drop_duplicates()
        d = d.assign(r=d.groupby(["category", "x", "y"], sort=False).cumcount())
        wide = d[d["r"] < 3].pivot(index=["category", "x", "y"], columns="r", values="d")
        descs = {k: [v for v in vals if isinstance(v, str)] for k, vals in
                 zip(wide.index, wide.to_numpy(dtype=object).tolist(), strict=True)}
    lonlat = gpd.GeoSeries(gpd.points_from_xy(agg["x"], agg["y"]), crs=inc.crs).to_crs(WGS84)
    agg["lat"] = np.round(lonlat.y.to_numpy(), 6)
    agg["lon"] = np.round(lonlat.x.to_numpy(), 6)
    popups = []
    for c, x, y, n, m0, m1 in agg[["category", "x", "y", "n", "m0", "m1"]].itertuples(
            index=False):
        popup = (f"<div class='hs-popup'><b>{_e(category_label(c))}</b>"
                 f"<br>{n:,} incident{'s' if n > 1 else ''}")
        for d in descs.get((c, x, y), ()):
            popup += "<br>" + _e(d)
        span = month_range(m0, m1)
        if span:
            popup += f"<br><small>{_e(span)}</small>"
        popups.append(popup + "</div>")
    agg["popup"] = popups
    out = agg.drop(columns=["m0", "m1"])
    out.attrs["snap_m"] = float(step)
    return out


def _incident_layers(inc: gpd.GeoDataFrame, max_markers: int,
                     show: bool = True) -> tuple[list[_JsLayer], str]:
    """One toggleable layer per category (markers from :func:`incident_markers`), all
    clustered together: one set of clusters, each a pie of its categories, instead of
    a dozen overlapping per-category clusters."""
    # anonymous reports (StreetSafe) never as points: counts per cell of >= 5 (privacy.py)
    inc, anon = split_anonymous(inc)
    markers = incident_markers(inc, max_markers)
    layers, legend_rows = [], []
    for c, sub in markers.groupby("category", sort=True):
        label = _e(category_label(c))
        colour = category_colour(c)
        data = [[float(a), float(b), int(n), p] for a, b, n, p in
                sub[["lat", "lon", "n", "popup"]].itertuples(index=False)]
        body = (
            f"var data = {_js(data)}; var colour = {_js(colour)};"
            f"var g = {_CLUSTERS_JS};"
            "var ms = data.map(function(d) { var s = d[2] > 1 ? 20 : 12;"
            " var icon = L.divIcon({className: 'hs-inc', iconSize: [s, s],"
            "  html: '<div class=\"hs-inc-dot\" style=\"background:' + colour + '\">'"
            "   + (d[2] > 1 ? d[2] : '') + '</div>'});"
            " return L.marker([d[0], d[1]], {icon: icon, hsN: d[2], hsColour: colour})"
            "  .bindPopup(d[3]); });"
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
        legend_rows.append(f"<i class='hs-dot' style='background:{colour}'></i>{label} ({total:,})")
    if len(anon):
        layer, row = _anonymous_layer(anon, show)
        layers.append(layer)
        legend_rows.append(row)
    legend = "<b>Incidents</b><br>" + "<br>".join(legend_rows) if legend_rows else ""
    return layers, legend


def _anonymous_layer(anon: gpd.GeoDataFrame, show: bool = True) -> tuple[_JsLayer, str]:
    """Anonymous reports as cells holding at least 5 (count and reasons in the popup) and
    the legend row saying what is hidden (:func:`hotspots.privacy.aggregate_anonymous`)."""
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


#: the map's one incident cluster group, made by the first category layer; a cluster
#: shows its incident count on a pie of its categories' colours
_CLUSTERS_JS = (
    "map._hsClusters || (map._hsClusters = L.markerClusterGroup({"
    " showCoverageOnHover: false, chunkedLoading: true, maxClusterRadius: 40,"
    " iconCreateFunction: function(cl) {"
    "  var by = {}, n = 0;"
    "  cl.getAllChildMarkers().forEach(function(m) {"
    "   by[m.options.hsColour] = (by[m.options.hsColour] || 0) + m.options.hsN;"
    "   n += m.options.hsN; });"
    "  var stops = [], a = 0;"
    "  Object.keys(by).sort(function(x, y) { return by[y] - by[x]; }).forEach(function(c) {"
    "   var b = a + 360 * by[c] / n;"
    "   stops.push(c + ' ' + a.toFixed(1) + 'deg ' + b.toFixed(1) + 'deg'); a = b; });"
    "  var s = n < 100 ? 32 : (n < 1000 ? 40 : 48);"
    "  return L.divIcon({className: 'hs-cluster', iconSize: L.point(s, s),"
    "   html: '<div style=\"background: conic-gradient(' + stops.join(', ') + ')\">'"
    "    + '<span>' + n + '</span></div>'}); }}))"
)


# ---------------------------------------------------------------------------------------
# the map frame


def _new_map(title: str, offline: bool, tiles: str | None) -> folium.Map:
    m = folium.Map(
        location=[51.5, -0.12], zoom_start=11, tiles=None if offline else tiles,
        control_scale=True, prefer_canvas=False,
    )
    m.options["maxZoom"] = 19  # markercluster needs it; without tiles nothing else sets it
    m._hs_offline = offline  # save_map's default
    m.get_root().header.add_child(Element(f"<style>{_CSS}</style>"), name="hs_css")
    m.get_root().header.add_child(Element(f"<title>{_e(title)}</title>"), name="hs_title")
    from folium.plugins import Fullscreen

    Fullscreen(position="topleft").add_to(m)
    _control(f"{_e(title)}", "topright", "hs-title").add_to(m)
    if offline:
        _control(_e(OFFLINE_NOTE), "bottomleft", "hs-note").add_to(m)
    return m


def _finish(m: folium.Map, frames: Iterable[gpd.GeoDataFrame | None], inc=None,
            legends: Iterable[str] = (), fit: gpd.GeoDataFrame | None = None) -> folium.Map:
    """Legends, attribution, layer control, and the view fitted to the data."""
    for text in legends:
        if text:
            _control(text, "bottomright", "hs-legend").add_to(m)
    attr = incident_attribution(inc)
    _JsSnippet(f"map.attributionControl.addAttribution({_js(_e(attr))});").add_to(m)
    n_layers = sum(isinstance(c, Layer) for c in m._children.values())
    # a long list of layers would cover the map: fold it behind the layers button
    folium.LayerControl(collapsed=n_layers > 10, position="topright").add_to(m)
    boxes = [f.to_crs(WGS84).total_bounds for f in ([fit] if fit is not None else frames)
             if f is not None and len(f)]
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if boxes:
        b = np.array(boxes)
        m.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])
    return m


def hotspot_map(
    inc: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    wards: gpd.GeoDataFrame | None = None,
    grid: gpd.GeoDataFrame | None = None,
    gistar: gpd.GeoDataFrame | None = None,
    title: str = "Hotspots",
    offline: bool = False,
    tiles: str | None = DEFAULT_TILES,
    max_markers: int = DEFAULT_MAX_MARKERS,
    show_incidents: bool | None = None,
    change: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """An interactive hotspot map: wards, density surface, top areas, incidents, Gi*.

    Each layer can be switched on and off in the layer control. The view fits the data;
    the map has a scale bar, a fullscreen button and OS/ONS (OGL v3) and OpenStreetMap
    (ODbL) attribution, plus a "synthetic" note when ``inc["source"] == "synthetic"``.

    Parameters
    ----------
    inc : GeoDataFrame, optional
        Incidents (``category``; ``location_desc``, ``month`` used in popups). Points at
        the same coordinate and category become one marker with a count; one layer per
        category in the layer control, clustered together (pie-coloured clusters).
    areas : GeoDataFrame, optional
        Ranked areas from ``hs.top_areas``: ``rank`` (numbered polygons), and in the
        popup ``wards``, ``streets``, ``n_incidents``, ``n_<category>``, ``area_m2``,
        ``score``, ``change_n``, ``change_pct`` when present.
    wards : GeoDataFrame, optional
        Ward boundaries (``ward_name`` shown on hover).
    grid : GeoDataFrame, optional
        KDE grid from ``hs.kde`` with ``density`` (incidents per km²); drawn as classed
        polygons at upper quantiles of the non-zero density, with a legend.
    gistar : GeoDataFrame, optional
        Grid from ``hs.gistar`` with ``gi_bin`` (−3..3), ``label`` or ``z``/``p`` (see
        :func:`gistar_bins`); significant cells drawn (layer off on opening when `grid`
        or `areas` are drawn too).
    title : str, default "Hotspots"
    offline : bool, default False
        No base tiles (they need the internet) and a note saying so; :func:`save_map`
        then inlines Leaflet and plugins so the file opens with no network at all.
    tiles : str or None, default "OpenStreetMap"
        Folium tile name for online maps (e.g. "cartodbpositron", which CARTO now
        says needs an API key).
    max_markers : int, default 20000
        Above this many distinct markers, coordinates are snapped to a 5–250 m grid
        (logged) to keep the file small.
    show_incidents : bool, optional
        Whether the incident layers are switched on when the map opens. Default: on
        only when no `areas` are given (thousands of markers hide the areas; the layer
        control turns them on).
    change : GeoDataFrame, optional
        A change-over-time result with a ``label`` column (``hs.hotspot_change``,
        ``hs.classify_hotspots``, ``hs.dual_kde``, ``hs.operation_effect(...).zones``):
        cells/wards/areas/zones coloured by
        label (emerging and increases in reds, decreases and cold spots in blues),
        "no pattern" left out, with a legend.

    Returns
    -------
    folium.Map
        Save with :func:`save_map` (atomic, and offline-safe).
    """
    frames = _checked(inc=inc, areas=areas, wards=wards, grid=grid, gistar=gistar,
                      change=change)
    if not frames:
        raise BadInputError("hotspot_map needs at least one of inc, areas, wards, grid or gistar")
    m = _new_map(title, offline, tiles)
    legends: list[str] = []
    if "wards" in frames:
        _ward_layer(frames["wards"]).add_to(m)
    if "grid" in frames:
        got = _density_layer(frames["grid"])
        if got:
            got[0].add_to(m)
            legends.append(got[1])
    if "gistar" in frames:
        # off on opening unless it is the only surface drawn
        got = _gistar_layer(frames["gistar"], show="grid" not in frames and "areas" not in frames)
        if got:
            got[0].add_to(m)
            legends.append(got[1])
    if "change" in frames:
        got = _change_layer(frames["change"], show="grid" not in frames)
        if got:
            got[0].add_to(m)
            legends.append(got[1])
    if "inc" in frames:
        show = show_incidents if show_incidents is not None else "areas" not in frames
        layers, legend = _incident_layers(frames["inc"], max_markers, show=show)
        for layer in layers:
            layer.add_to(m)
        legends.append(legend)
    if "areas" in frames:
        _area_layer(frames["areas"]).add_to(m)
    return _finish(m, frames.values(), inc=frames.get("inc"), legends=legends)


def _checked(**frames: gpd.GeoDataFrame | None) -> dict[str, gpd.GeoDataFrame]:
    required = {"areas": ["rank"], "grid": ["density"], "change": ["label"]}
    out = {k: check_gdf(v, k, required.get(k, ())) for k, v in frames.items() if v is not None}
    if "inc" in out:  # anonymous reports off their points before any layer or bounds
        out["inc"] = protect(out["inc"])
    return out


def focus_ward_map(
    inc: gpd.GeoDataFrame | None,
    wards: gpd.GeoDataFrame,
    ward: str,
    areas: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    offline: bool = False,
    tiles: str | None = DEFAULT_TILES,
    max_markers: int = DEFAULT_MAX_MARKERS,
) -> folium.Map:
    """A map of one ward: it is outlined, the other wards faded, its areas numbered.

    Parameters
    ----------
    inc : GeoDataFrame or None
        Incidents; those inside the ward (by ``ward_code`` when present, else by location)
        are drawn by category.
    wards : GeoDataFrame
        Ward boundaries including the focus ward.
    ward : str
        Ward name or code (any case).
    areas : GeoDataFrame, optional
        Ranked areas; those touching the ward are drawn, keeping their borough rank.
    title : str, optional
        Defaults to "Focus ward: <name>".
    offline, tiles, max_markers
        As in :func:`hotspot_map`.
    """
    from .boundaries import find_ward

    w = check_gdf(wards, "wards", ["ward_code", "ward_name"])
    row = find_ward(ward, w)
    code = str(row["ward_code"])
    geom = w.loc[w["ward_code"] == code].geometry.union_all()
    frames = _checked(inc=inc, areas=areas)
    m = _new_map(title or f"Focus ward: {row['ward_name']}", offline, tiles)
    _ward_layer(w, focus_code=code).add_to(m)
    legends = []
    inc_in = None
    if "inc" in frames:
        i = frames["inc"]
        inc_in = i[i["ward_code"].astype(str) == code] if "ward_code" in i.columns else i[
            i.geometry.within(geom)]
        layers, legend = _incident_layers(inc_in, max_markers)
        for layer in layers:
            layer.add_to(m)
        legends.append(legend)
    if "areas" in frames:
        a = frames["areas"]
        a = a[a.geometry.intersects(geom)]
        if len(a):
            _area_layer(a, name="Top areas in this ward").add_to(m)
    focus = gpd.GeoDataFrame(geometry=[geom], crs=w.crs)
    return _finish(m, [], inc=inc_in, legends=legends, fit=focus)


def patrol_map(
    plan: Any,
    areas: gpd.GeoDataFrame | None = None,
    network: Any = None,
    title: str = "Patrol plan",
    offline: bool = False,
    tiles: str | None = DEFAULT_TILES,
) -> folium.Map:
    """A patrol plan: the route, numbered stops with why/when, and the areas.

    Parameters
    ----------
    plan : object
        From ``hs.plan_patrol``: ``stops`` (GeoDataFrame in visiting order with
        ``order, name, why, street, arrival, dwell_min``), ``route`` (LineString
        GeoDataFrame/GeoSeries), ``length_m``, ``minutes``, ``dropped``.
    areas : GeoDataFrame, optional
        Ranked areas to show under the route.
    network : GeoDataFrame, GeoSeries or networkx graph, optional
        Street network drawn faintly (layer off on opening).
    title : str, default "Patrol plan"
    offline, tiles
        As in :func:`hotspot_map`.
    """
    stops = check_gdf(getattr(plan, "stops", None), "plan.stops", ["order"])
    route = getattr(plan, "route", None)
    if isinstance(route, gpd.GeoSeries):
        route = gpd.GeoDataFrame(geometry=route, crs=route.crs)
    frames = _checked(route=route, areas=areas)
    m = _new_map(title, offline, tiles)
    if network is not None:
        edges = network
        if not isinstance(edges, (gpd.GeoDataFrame, gpd.GeoSeries)):
            import osmnx as ox

            edges = ox.graph_to_gdfs(network, nodes=False)
        edges = gpd.GeoDataFrame(geometry=gpd.GeoSeries(edges.geometry), crs=edges.crs)
        props = [{"style": {"className": "hs-network", "color": "#999", "weight": 1,
                            "opacity": 0.6}, "tooltip": None, "popup": None}] * len(edges)
        _polygon_layer("Street network", _geojson(edges, props), show=False).add_to(m)
    if "areas" in frames:
        _area_layer(frames["areas"], name="Hotspot areas").add_to(m)
    if "route" in frames:
        r = frames["route"]
        props = [{"style": {"className": "hs-route", "color": "#08519c", "weight": 5,
                            "opacity": 0.8}, "tooltip": "Patrol route", "popup": None}] * len(r)
        _polygon_layer("Route", _geojson(r, props)).add_to(m)
    stops = stops.sort_values("order")
    pts = stops.geometry.to_crs(WGS84)
    data = []
    for (_, row), pt in zip(stops.iterrows(), pts, strict=True):
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
        data.append([round(pt.y, 6), round(pt.x, 6), int(row["order"]),
                     "<div class='hs-popup'>" + "<br>".join(lines) + "</div>"])
    body = (
        f"var data = {_js(data)}; var g = L.featureGroup();"
        "data.forEach(function(d) {"
        " var icon = L.divIcon({className: 'hs-stop hs-stop-' + d[2], iconSize: [26, 26],"
        "  iconAnchor: [13, 13], html: '<div class=\"hs-num\" style=\"background:#08519c\">'"
        "  + d[2] + '</div>'});"
        " L.marker([d[0], d[1]], {icon: icon, zIndexOffset: 2000}).bindPopup(d[3]).addTo(g); });"
        "return g;"
    )
    _JsLayer("Stops", body).add_to(m)
    start = getattr(plan, "start", None)
    if start is not None and not getattr(start, "is_empty", True):
        pt = gpd.GeoSeries([start], crs=stops.crs).to_crs(WGS84).iloc[0]
        _JsSnippet(
            f"L.marker([{pt.y:.6f}, {pt.x:.6f}], {{icon: L.divIcon({{className: 'hs-start',"
            " iconSize: [26, 26], iconAnchor: [13, 13], html: '<div class=\"hs-num\""
            " style=\"background:#238b45\">S</div>'})}).bindTooltip('Start').addTo(map);"
        ).add_to(m)
    summary = [f"<b>{_e(title)}</b>"]
    if getattr(plan, "length_m", None) is not None:
        summary.append(f"{_num(float(plan.length_m) / 1000, 1)} km")
    if getattr(plan, "minutes", None) is not None:
        summary.append(f"{_num(plan.minutes)} min")
    summary.append(f"{len(stops)} stops")
    dropped = getattr(plan, "dropped", None)
    if dropped is not None and len(dropped):
        summary.append(f"{len(dropped)} target(s) left out (see the briefing)")
    # two sets of numbers on one map: say which is which
    summary.append("<i class='hs-dot' style='background:#08519c'></i>stops, numbered in "
                   "walking order")
    summary.append("<i class='hs-dot' style='background:#238b45'></i>S: start")
    if "areas" in frames:
        summary.append(f"<i style='background:{AREA_COLOUR}'></i>hotspot areas, numbered "
                       "by rank")
    legend = "<br>".join(summary)
    return _finish(m, [stops, frames.get("route"), frames.get("areas")], legends=[legend])


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


def map_html(m: folium.Map, offline: bool | None = None) -> str:
    """The map as one HTML page; offline: no external ``<script>``/``<link>`` at all."""
    if offline is None:
        offline = bool(getattr(m, "_hs_offline", False))
    if not offline:
        return m.get_root().render()
    # base tiles need the internet: leave them out of an offline page
    children = list(m._children.items())
    figure = m.get_root()
    for k, v in children:
        if isinstance(v, folium.TileLayer):
            del m._children[k]
            # an earlier render left the layer's script in the page: take it out too
            for el in _descendants(v):
                for part in (figure.script, figure.header, figure.html):
                    part._children.pop(el.get_name(), None)
    try:
        text = figure.render()
    finally:  # put the map back as it was, in order
        m._children.clear()
        m._children.update(children)
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


def _descendants(el: Element) -> list[Element]:
    out = [el]
    for child in el._children.values():
        out += _descendants(child)
    return out


def save_map(m: folium.Map, path: str | os.PathLike, offline: bool | None = None) -> Path:
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
    return atomic_write_text(path, map_html(m, offline))
