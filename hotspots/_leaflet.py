"""Building blocks of the folium/Leaflet pages ``maps`` writes.

Escaping and safe JSON for inline scripts, layers and controls written as small scripts
of our own, the tile layer that falls back to the offline base layer, zoom-dependent
labels, legends that follow their layer, and the label-spreading script that keeps
rank badges apart. No data decisions here: ``maps`` says what to draw.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement
from folium.map import Layer
from folium.template import Template
from pyproj import Transformer
from shapely.geometry import mapping

from ._errors import BadInputError
from ._validate import WGS84

#: OpenStreetMap's standard tiles (their tile usage policy: light use, attribution)
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
#: what a map says when its tiles cannot be loaded
TILE_ERROR_NOTE = ("Base map tiles could not be loaded (no network?): "
                   "showing the offline base layer")
#: screens at most this wide (CSS px) get collapsed legends and layer list
PHONE_MAX_PX = 600
#: how far (m) drawn outlines may be simplified: within the 5-decimal (~1 m) coordinates
SIMPLIFY_M = 1.0
#: zoom from which each kind of label shows (borough names only up to 13)
LABEL_ZOOM = {"borough": 10, "ward": 12, "station": 14, "street-long": 15, "street": 16}

CSS = """
.hs-legend, .hs-title, .hs-note { background: rgba(255,255,255,0.92); padding: 6px 8px;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px/1.35 sans-serif; }
.hs-title { font-size: 15px; font-weight: bold; max-width: 46vw; }
.hs-note { font-size: 11px; color: #555; max-width: 60vw; }
.hs-legend summary { cursor: pointer; font-weight: bold; }
.hs-legend i { display: inline-block; width: 12px; height: 12px; margin-right: 5px;
  vertical-align: -2px; border-radius: 2px; opacity: 0.85; }
.hs-legend .hs-dot { border-radius: 50%; }
.hs-legend .hs-outline { background: none; border: 2px solid #1a1a1a;
  box-shadow: 0 0 0 2px #fff; box-sizing: border-box; opacity: 1; }
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
.hs-area-label .hs-num { border-radius: 5px; }
.hs-start .hs-flag { position: absolute; left: 0; bottom: 0; padding: 2px 6px;
  background: #1b7837; color: #fff; font: bold 12px sans-serif; border: 2px solid #fff;
  border-radius: 4px 4px 4px 0; box-shadow: 0 0 3px rgba(0,0,0,0.6); white-space: nowrap; }
.hs-popup table { border-collapse: collapse; margin-top: 3px; }
.hs-popup td { padding: 0 6px 0 0; }
.leaflet-container { background: #f2efe9; }
.leaflet-control-attribution { font-size: 10px; max-width: 60%; }
.hs-text-layer { position: absolute; left: 0; top: 0; overflow: visible; pointer-events: none; }
.leaflet-zoom-anim .hs-text-layer { visibility: hidden; }
.hs-lbl { visibility: hidden; font: 11px sans-serif; fill: #333; text-anchor: middle;
  dominant-baseline: central; paint-order: stroke; stroke: #fff; stroke-width: 3px;
  stroke-linejoin: round; }
.hs-lbl-ward { fill: #444; }
.hs-lbl-borough { font: bold 15px sans-serif; fill: #666; letter-spacing: 0.12em;
  text-transform: uppercase; }
.hs-lbl-station { font-size: 10px; fill: #111; text-anchor: start; }
.hs-lbl-street, .hs-lbl-street-long { font: italic 10px sans-serif; fill: #555; }
.hs-z10:not(.hs-z14) .hs-lbl-borough, .hs-z12 .hs-lbl-ward, .hs-z14 .hs-lbl-station,
.hs-z15 .hs-lbl-street-long, .hs-z16 .hs-lbl-street { visibility: visible; }
@media (max-width: 600px) {
  .hs-title { font-size: 12px; padding: 3px 6px; }
  .hs-legend { font-size: 11px; padding: 3px 6px; max-height: 40vh; overflow: auto; }
  .hs-note { font-size: 10px; }
  .leaflet-control-attribution { max-width: 100%; max-height: 14px; overflow: hidden;
    white-space: nowrap; text-overflow: ellipsis; }
  .leaflet-control-attribution:hover { max-height: none; white-space: normal; }
}
"""

#: the map's one incident cluster group, made by the first category layer; a cluster
#: shows its incident count on a pie of its categories' colours
CLUSTERS_JS = (
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

#: hsSpread(points, size): where to draw round labels of `size` px so that no two
#: overlap and none covers another label's anchor. Greedy in the given order (rank 1
#: first keeps its spot): each label tries its anchor, then an Archimedean spiral
#: around it. Boxes are compared as squares (what the DOM's bounding boxes are).
SPREAD_JS = """
window.hsSpread = function(pts, size) {
  var gap = size + 3, half = size / 2 + 3, out = [];
  function far(c, q, d) { return Math.max(Math.abs(c.x - q.x), Math.abs(c.y - q.y)) >= d; }
  for (var i = 0; i < pts.length; i++) {
    var p = pts[i], best = null;
    for (var k = 0; k < 4000 && !best; k++) {
      var c = p;
      if (k) { var th = 0.5 * k, r = size * (0.9 + th / (2 * Math.PI));
        c = L.point(p.x + r * Math.cos(th), p.y + r * Math.sin(th)); }
      var ok = true, j;
      for (j = 0; j < out.length && ok; j++) ok = far(c, out[j], gap);
      for (j = 0; j < pts.length && ok; j++) if (j !== i) ok = far(c, pts[j], half);
      if (ok) best = c;
    }
    out.push(best || p);
  }
  return out;
};
// Text labels as SVG <text> in one <svg> per layer, repositioned when the view
// changes: thousands of labels stay cheap (a marker per label is a composited layer
// each, and a borough's streets made zooming take seconds). Texts are set with
// textContent, never parsed as HTML.
window.hsTextClass = function() { return window.HsText || (window.HsText = L.Layer.extend({
  initialize: function(data, pane) { this._data = data; this._pane = pane; },
  onAdd: function(map) {
    var ns = 'http://www.w3.org/2000/svg', svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'hs-text-layer');
    this._els = this._data.map(function(d) {
      var t = document.createElementNS(ns, 'text');
      t.setAttribute('class', 'hs-lbl hs-lbl-' + d[4]); t.textContent = d[2];
      svg.appendChild(t); return t; });
    this._svg = svg; map.getPane(this._pane).appendChild(svg);
    map.on('zoomend viewreset moveend resize', this._update, this); this._update();
  },
  onRemove: function(map) {
    map.off('zoomend viewreset moveend resize', this._update, this); L.DomUtil.remove(this._svg);
  },
  _update: function() {
    var map = this._map, o = map.containerPointToLayerPoint([0, 0]), s = map.getSize();
    L.DomUtil.setPosition(this._svg, o);
    this._svg.setAttribute('width', s.x); this._svg.setAttribute('height', s.y);
    for (var i = 0; i < this._data.length; i++) {
      var d = this._data[i], p = map.latLngToLayerPoint([d[0], d[1]]).subtract(o);
      var x = (p.x + (d[4] === 'station' ? 7 : 0)).toFixed(1), y = p.y.toFixed(1);
      var t = this._els[i]; t.setAttribute('x', x); t.setAttribute('y', y);
      if (d[3]) t.setAttribute('transform', 'rotate(' + d[3] + ' ' + x + ' ' + y + ')');
    }
  }
})); };  // made on first use: this script runs before Leaflet is loaded
window.hsLabels = function(data, pane, g) {
  var T = hsTextClass(); new T(data, pane).addTo(g); return g; };
"""


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


def _geojson(gdf: gpd.GeoDataFrame | gpd.GeoSeries, props: list[dict], nd: int = 5,
             simplify_m: float = SIMPLIFY_M) -> dict:
    """A FeatureCollection in WGS84 with the given per-row properties.

    Outlines are simplified by `simplify_m` metres first (when the CRS is projected) and
    coordinates rounded to `nd` decimals (6 is ~0.1 m, 5 ~1 m): the precision the map
    can show, at a fraction of the size. Vectorised (shapely), not per coordinate.
    """
    geoms = gdf.geometry
    if simplify_m and geoms.crs is not None and geoms.crs.is_projected:
        geoms = geoms.simplify(simplify_m)
    arr = geoms.to_numpy().copy()
    keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))

    def project(c: np.ndarray) -> np.ndarray:
        return np.round(np.column_stack(to_wgs84(c[:, 0], c[:, 1], geoms.crs)), nd)

    arr[keep] = shapely.transform(arr[keep], project)
    feats = [{"type": "Feature", "geometry": mapping(g), "properties": p}
             for g, p, k in zip(arr, props, keep, strict=True) if k]
    return {"type": "FeatureCollection", "features": feats}


def _as_text_list(value: Any) -> str:
    """A ``wards``/``streets`` cell (string, list or array) as one escaped line."""
    if isinstance(value, (list, tuple, np.ndarray, set)):
        return _e(", ".join(str(v) for v in value if v is not None and str(v) != ""))
    return _e(value)


class _Raw(Element):
    """Text that renders as it is.

    folium wraps each rendered script in a new jinja template and renders that again: a
    second pass over every byte of data (a third of a second on a city map), which would
    also read a ``{{`` in the data as template code.
    """

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


def _render_script(el: MacroElement, kwargs: dict) -> None:
    """``MacroElement.render`` for an element with only a script macro, without the
    second template pass (:class:`_Raw`)."""
    script = el._template.module.__dict__["script"]
    el.get_root().script.add_child(_Raw(script(el, kwargs)), name=el.get_name())
    for child in el._children.values():
        child.render(**kwargs)


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

    def __init__(self, name: str, body: str, *, show: bool = True, overlay: bool = True,
                 control: bool = True):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "HotspotsLayer"
        self.body = body

    def render(self, **kwargs: Any) -> None:
        if self.show:  # as folium's Layer: added to the map on opening
            self.add_child(ElementAddToElement(element_name=self.get_name(),
                                               element_parent_name=self._parent.get_name()))
        _render_script(self, kwargs)


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

    def render(self, **kwargs: Any) -> None:
        _render_script(self, kwargs)


def _control(html_text: str, position: str, cls: str) -> _JsSnippet:
    """A fixed box on the map (legend, title, note); `html_text` must already be escaped."""
    return _JsSnippet(
        f"var c = L.control({{position: {_js(position)}}});"
        f"c.onAdd = function() {{ var d = L.DomUtil.create('div', {_js(cls)});"
        f" d.innerHTML = {_js(html_text)}; L.DomEvent.disableClickPropagation(d);"
        " L.DomEvent.disableScrollPropagation(d); return d; };"
        "c.addTo(map);"
    )


def _polygon_layer(name: str, fc: dict, *, show: bool = True, sticky: bool = True,
                   options: dict | None = None, control: bool = True) -> _JsLayer:
    """GeoJSON polygons styled per feature (``properties.style``, which may carry a
    CSS ``className``), with optional escaped ``tooltip``/``popup`` HTML; `options` go
    to ``L.geoJSON`` (e.g. ``{"interactive": False, "pane": "hsBase"}``)."""
    body = (
        f"var data = {_js(fc)};"
        f"return L.geoJSON(data, Object.assign({_js(options or {})}, {{"
        " style: function(f) { return f.properties.style; },"
        " onEachFeature: function(f, l) {"
        "  if (f.properties.tooltip)"
        f"   l.bindTooltip(f.properties.tooltip, {{sticky: {_js(sticky)}}});"
        "  if (f.properties.popup) l.bindPopup(f.properties.popup, {maxWidth: 340});"
        " }}));"
    )
    return _JsLayer(name, body, show=show, control=control)


def tile_layer(tiles: str, attribution: str | None = None) -> _JsLayer:
    """Base tiles from any XYZ URL, under every other layer; when they fail to load
    (no network, server down) a note says so and the offline base layer shows through.

    The map's container gets class ``hs-tiles-ok`` once a tile has loaded,
    ``hs-tiles-idle`` while every tile in view is loaded, and ``hs-tiles-failed`` when
    tiles fail before any loaded.
    """
    url = tile_url(tiles)
    attr = _e(attribution) if attribution else ""
    body = (
        f"var t = L.tileLayer({_js(url)}, {{maxZoom: 19, attribution: {_js(attr)}}});"
        "var c = map.getContainer(), loaded = 0, note = null;"
        "t.on('tileload', function() { loaded++; c.classList.add('hs-tiles-ok');"
        " if (note) { note.remove(); note = null; c.classList.remove('hs-tiles-failed'); } });"
        "t.on('loading', function() { c.classList.remove('hs-tiles-idle'); });"
        "t.on('load', function() { c.classList.add('hs-tiles-idle'); });"
        "t.on('tileerror', function() { if (loaded || note) return;"
        " c.classList.add('hs-tiles-failed');"
        " note = L.control({position: 'bottomleft'});"
        " note.onAdd = function() { var d = L.DomUtil.create('div', 'hs-note hs-tile-note');"
        f"  d.textContent = {_js(TILE_ERROR_NOTE)}; return d; }};"
        " note.addTo(map); });"
        "return t;"
    )
    return _JsLayer("Map tiles", body)


def tile_url(tiles: str) -> str:
    """An XYZ tile URL from `tiles` ("OpenStreetMap" or a URL with {z}, {x} and {y})."""
    if not isinstance(tiles, str):
        raise BadInputError(f"tiles must be a tile URL or None, got {type(tiles).__name__}")
    if tiles.strip().lower() in ("openstreetmap", "osm"):
        return OSM_TILES
    parts = urlsplit(tiles.strip())
    if parts.scheme not in ("http", "https") or not all(k in tiles for k in ("{z}", "{x}", "{y}")):
        raise BadInputError(
            f"tiles {tiles!r} is not an XYZ tile URL: give http(s)://host/{{z}}/{{x}}/{{y}}.png "
            "(any tile server), 'OpenStreetMap', or None for no tiles")
    return tiles.strip()


def tiles_credit(tiles: str, attribution: str | None) -> str | None:
    """The attribution a tile layer adds: OpenStreetMap's is already on every map;
    another server is named by its host unless `attribution` is given."""
    if attribution:
        return attribution
    url = tile_url(tiles)
    return None if url == OSM_TILES else f"Map tiles: {urlsplit(url).netloc}"


def frame_snippet() -> _JsSnippet:
    """Panes for the offline base layer (under the tiles: seen only when they fail) and
    zoom classes on the map's container (``hs-z12`` from zoom 12 up) that show labels."""
    return _JsSnippet(
        "map.createPane('hsBase').style.zIndex = 150;"
        "map.createPane('hsBaseLabels').style.zIndex = 160;"
        "map.getPane('hsBaseLabels').style.pointerEvents = 'none';"
        "map.createPane('hsLabels').style.zIndex = 450;"
        "map.getPane('hsLabels').style.pointerEvents = 'none';"
        "function z() { var c = map.getContainer(), k = map.getZoom();"
        " for (var t = 8; t <= 19; t++) c.classList.toggle('hs-z' + t, k >= t); }"
        "map.on('zoomend viewreset', z); z();"
    )


def label_layer(name: str, labels: list[list], kind: str, pane: str = "hsLabels",
                *, show: bool = True, control: bool = True) -> _JsLayer:
    """Text labels (``[lat, lon, text, angle]``, set as plain text) shown from the
    zoom :data:`LABEL_ZOOM` gives `kind` (CSS class ``hs-lbl-<kind>``)."""
    data = label_data(labels, kind)
    return _JsLayer(name, f"return hsLabels({_js(data)}, {_js(pane)}, L.layerGroup());",
                    show=show, control=control)


def label_data(labels: list[list], kind: str | list[str]) -> list[list]:
    """``[lat, lon, text, angle, kind]`` rows for ``hsLabels`` (the page sets each text
    as plain text, so it is not HTML-escaped here; :func:`_js` keeps the script safe)."""
    kinds = [kind] * len(labels) if isinstance(kind, str) else kind
    return [[la, lo, "" if t is None else str(t), a, k]
            for (la, lo, t, a), k in zip(labels, kinds, strict=True)]


def legend(title: str, body_html: str, layers: list[Layer], key: str) -> _JsSnippet:
    """A legend box (``<details>``: open on wide screens, a one-line summary on a
    phone) shown only while one of `layers` is on the map (always when none given).
    `title` and `body_html` must already be escaped."""
    names = ", ".join(lay.get_name() for lay in layers)
    inner = f"<summary>{title}</summary>{body_html}"
    return _JsSnippet(
        f"var layers = [{names}]; var c = L.control({{position: 'bottomright'}});"
        "c.onAdd = function() {"
        f" var d = L.DomUtil.create('details', 'hs-legend hs-legend-{key}');"
        f" d.innerHTML = {_js(inner)}; d.open = window.innerWidth > {PHONE_MAX_PX};"
        " L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);"
        " return d; };"
        "c.addTo(map);"
        "function upd() { var on = !layers.length || layers.some(function(l) {"
        "  return map.hasLayer(l); });"
        " c.getContainer().style.display = on ? '' : 'none'; }"
        "map.on('overlayadd overlayremove', upd); upd();"
    )


def phone_layer_control(control_name: str) -> _JsSnippet:
    """On a phone the layer list folds behind its button (a list open on a small
    screen covers the map)."""
    return _JsSnippet(
        f"if (window.innerWidth <= {PHONE_MAX_PX}) {{ var lc = {control_name};"
        " lc.remove(); lc.options.collapsed = true; lc.addTo(map); }"
    )


def points_wgs84(geoms: gpd.GeoSeries) -> list[tuple[float, float]]:
    """(lat, lon) rounded to ~0.1 m for each point."""
    lon, lat = to_wgs84(shapely.get_x(geoms.to_numpy()), shapely.get_y(geoms.to_numpy()),
                        geoms.crs)
    return [(round(a, 6), round(b, 6)) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)]


@lru_cache(maxsize=8)
def _transformer(crs: Any) -> Transformer:
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def to_wgs84(x: np.ndarray, y: np.ndarray, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of coordinates in `crs` (None or WGS84: as given).

    One cached transformer per CRS: making one costs ~60 ms, more than projecting a
    hundred thousand points (``GeoSeries.to_crs`` makes one per call).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if crs is None or pyproj.CRS.from_user_input(crs) == pyproj.CRS.from_user_input(WGS84):
        return x, y
    return _transformer(pyproj.CRS.from_user_input(crs)).transform(x, y)


#: (function(map, o) -> controller): a city map's incidents (``_mapdata.city_incidents``
#: gives `o`). Below zoom ``o.zoom`` the shared cluster group holds counts per square
#: and category (clustered into pies as markers are); from that zoom, once the packed
#: rows are unpacked (zlib via the browser's DecompressionStream), the markers at the
#: places in view, made on first sight with the popup rebuilt from their rows.
#: ``controller.layer(i)`` is category `i`'s switch for the layer control;
#: ``controller.mode`` says what is drawn ('cells' or 'points').
CITY_JS = (
    "(function(map, o) {"
    f" var g = {CLUSTERS_JS};"
    " var on = {}, cur = {}, made = {}, P = null, self = {mode: 'cells', ready: false};"
    " function fmt(n) { return n.toLocaleString('en-GB'); }"
    " function many(n) { return fmt(n) + ' incident' + (n > 1 ? 's' : ''); }"
    " var cells = [], c = o.cells;"
    " for (var i = 0; i < c.length; i += 4) (function(d) {"
    "  var col = o.colours[d[2]], s = d[3] < 100 ? 32 : (d[3] < 1000 ? 40 : 48);"
    "  var icon = L.divIcon({className: 'hs-cluster hs-cell', iconSize: [s, s],"
    "   html: '<div style=\"background:' + col + '\"><span>' + d[3] + '</span></div>'});"
    "  cells.push(L.marker([(d[0] + o.origin[0]) / 1e5, (d[1] + o.origin[1]) / 1e5],"
    "   {icon: icon, hsN: d[3], hsColour: col, hsCat: d[2]}).bindPopup(function() {"
    "    return o.heads[d[2]] + '<br>' + many(d[3]) + ' in this ' + o.cell + ' square'"
    "     + '<br><small>zoom in to see the places</small></div>'; })); })(c.slice(i, i + 4));"
    " function pop(r) { var h = o.heads[P.c[r]] + '<br>' + many(P.n[r]);"
    "  for (var j = P.d0[r]; j < P.d0[r] + P.nd[r]; j++) h += '<br>' + P.descs[P.d[j]];"
    "  if (P.spans[P.s[r]]) h += '<br><small>' + P.spans[P.s[r]] + '</small>';"
    "  return h + '</div>'; }"
    " function marker(r, la, lo) { var n = P.n[r], s = n > 1 ? 20 : 12, col = o.colours[P.c[r]];"
    "  var icon = L.divIcon({className: 'hs-inc', iconSize: [s, s],"
    "   html: '<div class=\"hs-inc-dot\" style=\"background:' + col + '\">'"
    "    + (n > 1 ? n : '') + '</div>'});"
    "  return L.marker([la, lo], {icon: icon, hsN: n, hsColour: col, hsCat: P.c[r]})"
    "   .bindPopup(function() { return pop(r); }); }"
    " function inView(want) { var b = map.getBounds().pad(0.25);"
    "  var s = b.getSouth() * 1e5, n = b.getNorth() * 1e5, w = b.getWest() * 1e5,"
    "   e = b.getEast() * 1e5, lo = 0, hi = P.lat.length;"
    "  while (lo < hi) { var mid = (lo + hi) >> 1;"
    "   if (P.lat[mid] < s) lo = mid + 1; else hi = mid; }"
    "  for (var i = lo; i < P.lat.length && P.lat[i] <= n; i++) {"
    "   if (P.lon[i] < w || P.lon[i] > e) continue;"
    "   for (var r = P.r0[i]; r < P.r0[i] + P.k[i]; r++) { if (!on[P.c[r]]) continue;"
    "    want['p' + r] = made[r] || (made[r] = marker(r, P.lat[i] / 1e5, P.lon[i] / 1e5)); } } }"
    " function refresh() { var want = {};"
    "  if (P && map.getZoom() >= o.zoom) { self.mode = 'points'; inView(want); }"
    "  else { self.mode = 'cells';"
    "   cells.forEach(function(m, i) { if (on[m.options.hsCat]) want['c' + i] = m; }); }"
    "  var add = [], del = [], k;"
    "  for (k in cur) if (!want[k]) del.push(cur[k]);"
    "  for (k in want) if (!cur[k]) add.push(want[k]);"
    "  if (del.length) g.removeLayers(del); if (add.length) g.addLayers(add);"
    "  cur = want; }"
    " map.on('zoomend moveend', refresh);"
    " function unpack(buf) {"
    "  var hl = new DataView(buf).getUint32(0, true), i, j, off = 4 + hl;"
    "  var p = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, hl)));"
    "  var T = {u1: Uint8Array, u2: Uint16Array, u4: Uint32Array};"
    "  p.cols.forEach(function(c) { var A = T[c[1]]; off += (4 - off % 4) % 4;"
    "   p[c[0]] = new A(buf, off, c[2]); off += c[2] * A.BYTES_PER_ELEMENT; });"
    "  var m = p.k.length, nr = p.c.length, a = o.origin[0];"
    "  var lat = new Int32Array(m), lon = new Int32Array(m);"
    "  for (i = 0; i < m; i++) { a += p.lat[i]; lat[i] = a; lon[i] = p.lon[i] + o.origin[1]; }"
    "  p.lat = lat; p.lon = lon;"
    "  p.r0 = new Int32Array(m); for (i = 1; i < m; i++) p.r0[i] = p.r0[i - 1] + p.k[i - 1];"
    "  p.nd = p.nd || new Uint8Array(nr); p.d = p.d || []; p.descs = p.descs || [];"
    "  p.d0 = new Int32Array(nr); for (j = 1; j < nr; j++) p.d0[j] = p.d0[j - 1] + p.nd[j - 1];"
    "  P = p; self.ready = true; refresh(); }"
    " if (window.DecompressionStream) {"
    "  var bin = atob(o.points), u = new Uint8Array(bin.length);"
    "  for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);"
    "  new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream('deflate')))"
    "   .arrayBuffer().then(unpack); }"
    # an old browser: the counts stay, and the map says why the places never come
    " else { var note = L.control({position: 'bottomleft'}); note.onAdd = function() {"
    "  var d = L.DomUtil.create('div', 'hs-note'); d.textContent = 'This browser cannot"
    " unpack the incidents\\' places (no DecompressionStream): showing counts per square"
    " at every zoom'; return d; }; note.addTo(map); }"
    " self.layer = function(ci) {"
    "  var Cat = L.Layer.extend({"
    "   onAdd: function(m) { on[ci] = true; if (!m.hasLayer(g)) m.addLayer(g); refresh(); },"
    "   onRemove: function(m) { on[ci] = false; refresh();"
    "    if (!g.getLayers().length) m.removeLayer(g); } });"
    "  var l = new Cat(); l.hsCategory = o.cats[ci];"
    "  l.hsMarkers = cells.filter(function(m) { return m.options.hsCat === ci; });"
    "  return l; };"
    # for tests and notebooks: what is drawn ([category, lat, lon, popup html]) and
    # every packed row ([category, lat, lon, incidents])
    " self.shown = function() { return Object.keys(cur).map(function(k) { var m = cur[k],"
    "  ll = m.getLatLng(), c = m.getPopup().getContent();"
    "  return [o.cats[m.options.hsCat], ll.lat, ll.lng, c(m)]; }); };"
    " self.rows = function() { var out = [], i, r; if (!P) return out;"
    "  for (i = 0; i < P.k.length; i++) for (r = P.r0[i]; r < P.r0[i] + P.k[i]; r++)"
    "   out.push([o.cats[P.c[r]], P.lat[i] / 1e5, P.lon[i] / 1e5, P.n[r]]);"
    "  return out; };"
    " self.cellM = o.cell_m;"
    " return self; })"
)
