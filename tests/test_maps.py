"""Maps: escaped popups, aggregated markers, density classes, offline HTML, and the
maps opened in a real headless Chromium with no network (Debian chromium + Playwright).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

import hotspots as hs
from hotspots import maps
from hotspots._errors import BadInputError, HotspotsError
from hotspots.datasets import PROJECT_ROOT

XSS = "<img src=x onerror=alert(1)>"
SHOTS = PROJECT_ROOT / "out" / "test-screenshots"  # for a person to look at


# ---------------------------------------------------------------------------------------
# data: Camden June 2019 (real), its 2014 wards, real top areas and KDE


@pytest.fixture(scope="module")
def camden(camden_layers):
    return camden_layers


@pytest.fixture(scope="module")
def camden_html(camden, tile_server, tmp_path_factory):
    m = hs.hotspot_map(camden.inc, areas=camden.areas, wards=camden.wards, grid=camden.grid,
                       gistar=camden.gi, title="Camden, June 2019", offline=True,
                       tiles=tile_server.url)
    path = tmp_path_factory.mktemp("maps") / "camden.html"
    hs.save_map(m, path)
    return path


@pytest.fixture(scope="module")
def xss_map(camden, tmp_path_factory):
    """One incident, one ward and one area whose texts are an XSS payload."""
    inc = camden.inc.iloc[[0, 1]].copy()
    inc["location_desc"] = XSS
    inc["category"] = ["asb", XSS]  # an unknown category is shown as its own text
    wards = camden.wards.copy()
    wards.loc[wards.index[0], "ward_name"] = XSS
    areas = camden.areas.iloc[[0]].copy()
    areas["wards"] = XSS
    areas["streets"] = XSS
    m = hs.hotspot_map(inc, areas=areas, wards=wards, offline=True, show_incidents=True,
                       title=XSS, tiles=None)
    path = tmp_path_factory.mktemp("xss") / "xss.html"
    hs.save_map(m, path)
    return path


# ---------------------------------------------------------------------------------------
# HTML-level checks (no browser)


def test_offline_html_is_self_contained(camden_html):
    text = camden_html.read_text("utf-8")
    assert not re.search(r"<(script|link)\b[^>]*(src|href)\s*=\s*['\"]?(https?:)?//", text, re.I)
    assert "cdn.jsdelivr" not in text and "cdnjs" not in text and "code.jquery" not in text
    assert '"1.9.4"' in text  # Leaflet's own version string: inlined from node_modules
    assert "L.MarkerClusterGroup" in text and "fullscreen" in text.lower()
    # tiles are fetched by Leaflet (no <script>/<link>): kept, with the note for when
    # they fail
    assert "http://127.0.0.1:" in text and maps.TILE_ERROR_NOTE in text
    assert "Open Government Licence v3.0" in text and "OpenStreetMap" in text
    assert "SYNTHETIC" not in text  # police.uk data are real


def test_online_map_uses_cdn_and_tiles(camden):
    m = hs.hotspot_map(camden.inc.iloc[:50], wards=camden.wards)
    online = maps.map_html(m)
    assert "https://cdn.jsdelivr.net/npm/leaflet" in online
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in online
    # saved offline: Leaflet inlined, no CDN; the tiles stay (offline means only that
    # the page itself needs no network)
    offline = maps.map_html(m, offline=True)
    assert "cdn.jsdelivr" not in offline
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in offline
    assert maps.TILE_ERROR_NOTE in offline


def test_tiles_choice(camden):
    inc = camden.inc.iloc[:50]
    council = "https://maps.example.gov.uk/tiles/{z}/{x}/{y}.png"
    text = maps.map_html(hs.hotspot_map(inc, tiles=council, base_layer=False))
    assert council in text and "Map tiles: maps.example.gov.uk" in text
    text = maps.map_html(hs.hotspot_map(inc, tiles=council, tiles_attribution="© Harrow"))
    assert "© Harrow" in text
    # no tiles: no tile layer at all, the offline base layer only
    text = maps.map_html(hs.hotspot_map(inc, tiles=None))
    assert "L.tileLayer(" not in text and maps.BASE_LAYER_NAME in text
    for bad in ("cartodbpositron", "ftp://x/{z}/{x}/{y}.png", "https://x/tiles.png"):
        with pytest.raises(BadInputError, match="tile URL"):
            hs.hotspot_map(inc, tiles=bad)


def test_synthetic_note(camden):
    inc = camden.inc.iloc[:30].assign(source="synthetic")
    text = maps.map_html(hs.hotspot_map(inc, offline=True))
    assert "SYNTHETIC data" in text


def test_texts_from_data_are_escaped(xss_map):
    text = xss_map.read_text("utf-8")
    assert XSS not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_template_syntax_in_data_is_text(camden):
    """folium renders each script a second time as a jinja template; ours are not, so a
    name holding template syntax reaches the page as it is (and costs no second pass)."""
    wards = camden.wards.iloc[:2].copy()
    wards.loc[wards.index[0], "ward_name"] = "{{ 7*7 }} {% if 1 %}x{% endif %}"
    text = maps.map_html(hs.hotspot_map(wards=wards, tiles=None))
    assert "{{ 7*7 }} {% if 1 %}x{% endif %}" in text


def test_incident_markers_aggregate_shared_points(camden):
    inc = camden.inc
    mk = maps.incident_markers(inc)
    assert mk.attrs["snap_m"] == 0
    # one marker per category and distinct coordinate, counts add up per category
    xy = pd.DataFrame({"c": inc["category"].astype(str), "x": inc.geometry.x.round(1),
                       "y": inc.geometry.y.round(1)})
    assert len(mk) == len(xy.drop_duplicates())
    assert len(mk) < len(inc)  # police.uk snap points are shared
    pd.testing.assert_series_equal(
        mk.groupby("category")["n"].sum().sort_index(),
        inc["category"].value_counts().sort_index(), check_names=False)
    # capped: snapped to a coarser grid, still every incident counted
    small = maps.incident_markers(inc, max_markers=2000)
    assert small.attrs["snap_m"] > 0 and len(small) <= 2000
    assert small["n"].sum() == len(inc)


def test_density_classes_cover_cells_above_first_break(camden):
    grid = camden.grid
    cls = maps.density_classes(grid)
    breaks = cls.attrs["breaks"]
    pos = grid.loc[grid["density"] > 0, "density"]
    assert breaks[0] == pytest.approx(float(np.quantile(pos, 0.5)), rel=0.05)
    assert list(cls["lo"]) == sorted(cls["lo"]) and cls["hi"].isna().sum() == 1
    cell = grid.attrs["cell_size"]
    above = grid[grid["density"] >= breaks[0]]
    assert cls.area.sum() == pytest.approx(len(above) * cell * cell, rel=1e-6)
    top = grid[grid["density"] >= breaks[-1]]
    assert cls.iloc[-1].geometry.area == pytest.approx(len(top) * cell * cell, rel=1e-6)


def test_gistar_bins_and_layer(camden):
    g = camden.grid.copy()
    q = g["density"].quantile([0.9, 0.99])
    g["label"] = np.where(g["density"] >= q[0.99], "hot spot 99%",
                          np.where(g["density"] >= q[0.9], "Hot spot", "not significant"))
    bins = maps.gistar_bins(g)
    assert (bins == 3).sum() == (g["density"] >= q[0.99]).sum()
    assert (bins == 2).sum() == ((g["density"] >= q[0.9]) & (g["density"] < q[0.99])).sum()
    zp = g.assign(z=np.where(bins > 0, 3.0, -0.5), p=np.where(bins > 0, 0.001, 0.6))
    assert ((maps.gistar_bins(zp.drop(columns="label")) == 3) == (bins > 0)).all()
    text = maps.map_html(hs.hotspot_map(gistar=g, offline=True), offline=True)
    assert text.count("hs-gi hs-gi-hot") == 2 and "hs-gi-cold" not in text
    with pytest.raises(BadInputError, match="gistar"):
        hs.hotspot_map(gistar=camden.grid)


def test_missing_assets_say_run_make_assets(camden, monkeypatch, tmp_path):
    monkeypatch.setattr(maps, "PROJECT_ROOT", tmp_path)
    monkeypatch.delenv("HOTSPOTS_NODE_MODULES", raising=False)
    monkeypatch.chdir(tmp_path)
    m = hs.hotspot_map(camden.inc.iloc[:20], offline=True)
    with pytest.raises(HotspotsError, match="make assets"):
        hs.save_map(m, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_save_map_is_atomic(camden, tmp_path):
    out = tmp_path / "sub" / "m.html"
    hs.save_map(hs.hotspot_map(camden.inc.iloc[:20], offline=True), out)
    assert out.read_text("utf-8").lstrip().lower().startswith("<!doctype html>")
    assert [p.name for p in out.parent.iterdir()] == ["m.html"]  # no temp files left


def test_bad_inputs(camden):
    with pytest.raises(BadInputError):
        hs.hotspot_map()
    with pytest.raises(BadInputError, match="rank"):
        hs.hotspot_map(areas=camden.areas.drop(columns="rank"))
    with pytest.raises(BadInputError, match="density"):
        hs.hotspot_map(grid=camden.grid.drop(columns="density"))
    with pytest.raises(hs.UnknownPlaceError):
        hs.focus_ward_map(camden.inc, camden.wards, "Atlantis")


def test_cli_map(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    out = tmp_path / "cli.html"
    res = CliRunner().invoke(app, ["map", "camden_2019_06", "--borough", "Camden",
                                   "--year", "2014", "--out", str(out), "--offline"])
    assert res.exit_code == 0, res.output
    text = out.read_text("utf-8")
    assert "hs-area" in text and maps.TILE_ERROR_NOTE in text
    assert "https://tile.openstreetmap.org/" in text  # tiles by default


def test_cli_tiles_options(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    base = ["map", "camden_2019_06", "--borough", "Camden", "--year", "2014", "--online",
            "--quiet"]
    council = "https://tiles.example.gov.uk/{z}/{x}/{y}.png"
    res = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "a.html"), "--tiles", council])
    assert res.exit_code == 0, res.output
    assert council in (tmp_path / "a.html").read_text("utf-8")
    res = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "b.html"), "--no-tiles"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "b.html").read_text("utf-8")
    assert "L.tileLayer(" not in text and maps.BASE_LAYER_NAME in text
    for bad in (["--tiles", "ftp://x"], ["--tiles", council, "--no-tiles"]):
        res = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "c.html"), *bad])
        assert res.exit_code != 0 and "tiles" in res.output
        assert not (tmp_path / "c.html").exists()


# ---------------------------------------------------------------------------------------
# legibility without a browser: colour families, area anchors, the offline base layer

#: Machado, Oliveira & Fernandes (2009): deuteranopia (severity 1.0) on linear RGB
_DEUTAN = np.array([[0.367322, 0.860646, -0.227968],
                    [0.280085, 0.672501, 0.047413],
                    [-0.011820, 0.042940, 0.968881]])
_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])


def _lab(hexes, deutan: bool = False) -> np.ndarray:
    """CIELAB (D65) of hex colours, as seen with deuteranopia when `deutan`."""
    rgb = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in hexes]) / 255
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    if deutan:
        lin = np.clip(lin @ _DEUTAN.T, 0, 1)
    xyz = lin @ _SRGB_TO_XYZ.T / [0.95047, 1.0, 1.08883]
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]),
                            200 * (f[:, 1] - f[:, 2])])


def _min_delta_e(hexes, deutan: bool) -> float:
    lab = _lab(hexes, deutan)
    d = np.linalg.norm(lab[:, None] - lab[None], axis=2)
    return float(d[np.triu_indices(len(hexes), 1)].min())


def test_colour_classes_stay_distinct_with_deuteranopia():
    from hotspots import _style

    # the simulation has teeth: a red and a green that differ a lot merge under it
    assert _min_delta_e(["#d62728", "#2ca02c"], False) > 60
    assert _min_delta_e(["#d62728", "#2ca02c"], True) < 0.3 * _min_delta_e(
        ["#d62728", "#2ca02c"], False)
    # every class of each colour family stays clearly apart (ΔE*ab ≥ 10; 2.3 is the
    # just-noticeable difference) for a deuteranope
    density = list(_style.DENSITY_COLOURS)
    gi = [_style.GI_COLOURS[b] for b in (3, 2, 1, -1, -2, -3)]
    for family in (density, gi, [_style.STOP_COLOUR, _style.START_COLOUR]):
        assert _min_delta_e(family, True) >= 10, family
    # density is sequential: lightness falls class by class, with or without deuteranopia
    for deutan in (False, True):
        assert np.all(np.diff(_lab(density, deutan)[:, 0]) < -8)
    # Gi*: hot and cold of the same confidence are told apart by more than lightness
    lab = _lab(gi, True)
    for k in range(3):
        assert abs(lab[k, 2] - lab[5 - k, 2]) > 15  # yellow-blue axis survives deuteranopia
    # one family per meaning: density, Gi* and the area outline share no colour
    assert not set(density) & set(gi) and _style.AREA_COLOUR not in set(density) | set(gi)


def test_area_anchor_is_inside_and_clear_of_smaller_areas():
    from shapely.geometry import Point, box

    big = box(0, 0, 100, 100)
    small = Point(50, 50).buffer(30)  # over the big square's own centre
    geoms = np.array([big, small], dtype=object)
    size = np.array([g.area for g in geoms])
    a_big = maps._area_anchor(0, geoms, size)
    a_small = maps._area_anchor(1, geoms, size)
    assert big.contains(a_big) and not small.buffer(3).contains(a_big)
    assert small.contains(a_small) and a_small.distance(Point(50, 50)) < 2
    # real areas: each anchor is in its own area and in no smaller one
    areas = hs.top_areas(hs.read_incidents("camden_2019_06"), n=20, quiet=True)
    geoms = areas.geometry.to_numpy()
    size = np.array([g.area for g in geoms])
    for i, g in enumerate(geoms):
        pt = maps._area_anchor(i, geoms, size)
        assert g.contains(pt)
        assert not any(geoms[j].contains(pt) for j in range(len(geoms)) if size[j] < size[i])


def test_offline_base_layer_frames():
    from shapely.geometry import box

    from hotspots import _basemap

    # around Bank junction: City of London streets with names, stations, wards, borough
    x, y = 532_700, 181_150
    area = box(x - 600, y - 600, x + 600, y + 600)
    base = _basemap.base_frames(area)
    assert "City of London" in set(base["boroughs"]["name"])
    assert "Bank and Monument" in set(base["stations"]["name"])
    assert len(base["wards"]) >= 3
    names = set(base["streets"]["name"])
    assert {"Cheapside", "Threadneedle Street", "Poultry"} <= names
    assert set(base["street_labels"]["name"]) <= names
    assert base["street_labels"]["angle"].between(-90, 90).all()
    for key in ("streets", "wards", "boroughs"):
        assert base[key].geometry.within(area.buffer(1)).all(), key
    # outlines are the real boundaries inside the box, not the box's edge
    ring = gpd.GeoSeries(base["boroughs"]["outline"], crs=27700)
    assert ring.length.sum() < base["boroughs"].boundary.length.sum()
    # Harrow has no street network in the registry: no streets, still the rest
    harrow = hs.wards("Harrow", 2022).total_bounds
    base = _basemap.base_frames(box(*harrow), wards=False)
    assert "streets" not in base and "wards" not in base and len(base["stations"]) > 5


# ---------------------------------------------------------------------------------------
# in the browser

FIND_MAP = """() => Object.keys(window)
  .filter(k => k.startsWith('map_') && window[k] instanceof L.Map)"""
CLUSTER_TOTALS = """() => {
  const out = {};
  Object.values(window).filter(v => v instanceof L.Layer && v.hsCategory).forEach(g => {
    let n = 0; g.hsMarkers.forEach(m => { n += m.options.hsN; });
    out[g.hsCategory] = n;
  });
  return out;
}"""
#: incidents in the map's one cluster group (the categories switched on)
CLUSTERED = """() => {
  const m = Object.values(window).find(v => v instanceof L.Map);
  if (!m._hsClusters || !m.hasLayer(m._hsClusters)) return 0;
  let n = 0; m._hsClusters.getLayers().forEach(x => { n += x.options.hsN; });
  return n;
}"""


def _settle(page):
    """Wait for Leaflet's zoom animation to end (a screenshot mid-zoom is blurred)."""
    page.wait_for_function("() => !document.querySelector('.leaflet-zoom-anim')")
    page.wait_for_timeout(300)


def _clean(log, network: bool = True):
    """No script errors, dialogs or requests leaving the machine; with `network`, no
    failed requests either (bar tiles Leaflet cancelled itself when the view changed)."""
    assert log.errors == [], log.errors
    if network:
        failed = [f for f in log.failed
                  if not (f.startswith("http://127.0.0.1:") and "ERR_ABORTED" in f)]
        assert failed == [], failed
    assert log.external() == [], log.external()
    assert log.dialogs == []


@pytest.mark.browser
def test_camden_map_in_browser(camden, camden_html, open_page):
    page, log = open_page(camden_html)
    page.wait_for_selector("path.hs-area")
    names = page.evaluate(FIND_MAP)
    assert len(names) == 1
    # everything drawn is in the DOM
    assert page.locator("path.hs-area").count() == len(camden.areas)
    assert page.locator(".hs-area-label").count() == len(camden.areas)
    assert page.locator("path.hs-ward").count() == len(camden.wards)
    assert page.locator("path.hs-density").count() == len(maps.density_classes(camden.grid))
    # the view fits the areas
    w, s, e, n = camden.areas.to_crs(4326).total_bounds
    assert page.evaluate(f"() => window['{names[0]}'].getBounds().contains([[{s},{w}],[{n},{e}]])")
    assert page.evaluate(f"() => window['{names[0]}'].getZoom()") >= 12
    # every incident is in a category's cluster layer, whether shown or not
    totals = page.evaluate(CLUSTER_TOTALS)
    expected = camden.inc["category"].value_counts()
    assert totals == {c: int(v) for c, v in expected.items()}
    # area 1's popup: rank and ward
    page.locator(".hs-area-label-1").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    top = camden.areas.loc[camden.areas["rank"] == 1].iloc[0]
    assert "Area 1" in text and "rank 1 of 20" in text
    for ward in str(top["wards"]).split(", "):
        assert ward in text
    assert top["landmark"] in text
    assert f"Incidents: {int(top['n_incidents']):,}" in text
    page.keyboard.press("Escape")
    # switch an incident layer on from the layer control: markers appear
    page.locator(".leaflet-control-layers").hover()
    page.get_by_label(re.compile(r"^\s*Anti-social behaviour")).check()
    page.wait_for_selector(".hs-cluster, .hs-inc")
    assert page.evaluate(CLUSTERED) == expected["asb"]
    # Gi* hot cells: off on opening, one outline per confidence bin when switched on
    assert page.locator("path.hs-gi").count() == 0
    page.get_by_label("Gi* hot and cold spots").check()
    bins = maps.gistar_bins(camden.gi)
    assert page.locator("path.hs-gi-hot").count() == len(set(bins[bins > 0]))
    page.get_by_label("Gi* hot and cold spots").uncheck()
    _settle(page)
    shot = page.screenshot(path=SHOTS / "camden_map.png")
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    _clean(log)


def _close_popup(page) -> None:
    """Close the open popup so it cannot cover what is clicked or hovered next."""
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-popup-content").wait_for(state="detached")


@pytest.mark.browser
def test_incident_popups_rebuilt_in_browser_match_python(camden, camden_html, open_page):
    """The map ships compact marker rows; every popup the browser builds from them is the
    one :func:`maps.incident_markers` writes, at the same place (~1 m)."""
    page, log = open_page(camden_html)
    page.wait_for_selector("path.hs-area")  # the map's scripts have run
    got = page.evaluate(
        "() => { const out = [];"
        " for (const v of Object.values(window)) {"
        "  if (!v || !v.hsMarkers) continue;"
        "  for (const m of v.hsMarkers) { const c = m.getPopup().getContent();"
        "   const ll = m.getLatLng();"
        "   out.push([v.hsCategory, ll.lat, ll.lng, typeof c === 'function' ? c(m) : c]); } }"
        " return out; }")
    mk = maps.incident_markers(camden.inc)
    assert len(got) == len(mk) > 0
    want = sorted(zip(mk["category"], np.round(mk["lat"] * 1e5).astype(int),
                      np.round(mk["lon"] * 1e5).astype(int), mk["popup"], strict=True))
    assert sorted((c, round(la * 1e5), round(lo * 1e5), p) for c, la, lo, p in got) == want
    _clean(log)


@pytest.mark.browser
def test_city_map_counts_squares_until_zoomed_in(camden, open_page, tmp_path):
    """More markers than `max_markers` (a city's year; here Camden with a low cap, and
    StreetSafe reports from Harrow): when the map opens, counts per square and no
    incident's own place; zoomed in past POINTS_ZOOM, the places in view, each popup the
    one :func:`maps.incident_markers` writes. StreetSafe reports are never points."""
    from hotspots import _mapdata, privacy

    ss = hs.read_incidents(PROJECT_ROOT / "sample_data" / "harrow_streetsafe_2022q1_synthetic.csv")
    inc = pd.concat([camden.inc, ss], ignore_index=True)
    m = hs.hotspot_map(inc, areas=camden.areas, max_markers=500, offline=True, tiles=None,
                       show_incidents=True, title="Camden and Harrow as a city")
    path = hs.save_map(m, tmp_path / "city.html")
    page, log = open_page(path)
    page.wait_for_function(f"() => {CITY} && {CITY}.ready")
    assert page.evaluate(f"() => {MAP}.getZoom()") < _mapdata.POINTS_ZOOM
    assert page.evaluate(f"() => {CITY}.mode") == "cells"
    assert page.locator(".hs-inc").count() == 0  # no incident's own place on the page
    assert page.locator(".hs-cluster").count() > 0
    # every incident counted once, in squares: (category, count) against a groupby by hand
    assert page.evaluate(CLUSTERED) == len(camden.inc)
    assert page.evaluate(CLUSTER_TOTALS) == {
        c: int(v) for c, v in camden.inc["category"].value_counts().items()}
    step = page.evaluate(f"() => {CITY}.cellM")
    sq = pd.DataFrame({"c": camden.inc["category"].astype(str),
                       "i": np.floor(camden.inc.geometry.x / step),
                       "j": np.floor(camden.inc.geometry.y / step)})
    by_hand = sorted((c, int(n)) for (c, _, _), n in sq.value_counts().items())
    drawn = page.evaluate(f"() => {CITY}.shown()")
    assert sorted((c, int(re.search(r"<br>([\d,]+) incident", p).group(1).replace(",", "")))
                  for c, _, _, p in drawn) == by_hand
    # StreetSafe: counts per cell of at least 5, and no report among the packed places
    assert page.locator("path.hs-anon").count() > 0
    rows = page.evaluate(f"() => {CITY}.rows()")
    assert {r[0] for r in rows} == set(camden.inc["category"])
    assert sum(r[3] for r in rows) == len(camden.inc)
    reports = {(round(p.y, 5), round(p.x, 5)) for p in ss.to_crs(4326).geometry}
    assert not reports & {(round(r[1], 5), round(r[2], 5)) for r in rows}
    assert not (set(privacy.anonymous_categories()) & {r[0] for r in rows})
    # zoomed into area 1: the places in view (the view padded by a quarter), each with
    # the popup incident_markers writes for it, at its place (~1 m)
    top = camden.areas.loc[camden.areas["rank"] == 1].to_crs(4326).geometry.iloc[0]
    at = top.representative_point()
    page.evaluate(f"() => {{ {MAP}.setView([{at.y}, {at.x}], 17, {{animate: false}}); }}")
    page.wait_for_function(f"() => {CITY}.mode === 'points'")
    page.wait_for_selector(".hs-inc")
    _settle(page)
    got = page.evaluate(f"() => {CITY}.shown()")
    s, w, n, e = page.evaluate(f"() => {{ const b = {MAP}.getBounds().pad(0.25);"
                               " return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }")
    mk = maps.incident_markers(camden.inc, max_markers=10**9)
    ilat, ilon = np.round(mk["lat"] * 1e5), np.round(mk["lon"] * 1e5)
    inside = mk[(ilat >= s * 1e5) & (ilat <= n * 1e5) & (ilon >= w * 1e5) & (ilon <= e * 1e5)]
    want = sorted(zip(inside["category"], np.round(inside["lat"] * 1e5).astype(int),
                      np.round(inside["lon"] * 1e5).astype(int), inside["popup"], strict=True))
    assert len(want) > 0
    assert sorted((c, round(la * 1e5), round(lo * 1e5), p) for c, la, lo, p in got) == want
    # a place on screen opens its popup
    xy = page.evaluate("() => { const r = [...document.querySelectorAll('.hs-inc')]"
                       " .map(e => e.getBoundingClientRect()).find(r => r.left > 60 && r.top > 60"
                       " && r.right < innerWidth - 320 && r.bottom < innerHeight - 200);"
                       " return r && [r.left + r.width / 2, r.top + r.height / 2]; }")
    assert xy is not None
    page.mouse.click(*xy)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    # the DOM writes attributes in double quotes
    assert popup.inner_html() in {p.replace("'", '"') for p in inside["popup"]}
    _settle(page)
    page.screenshot(path=SHOTS / "city_map_zoomed_in.png")
    _clean(log)


def test_xss_runs_nothing(xss_map, open_page):
    page, log = open_page(xss_map)
    page.wait_for_selector(".hs-inc")
    page.locator(".hs-inc").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert XSS in popup.inner_text()
    assert page.locator(".leaflet-popup-content img").count() == 0
    _close_popup(page)  # it may cover the area label (areas are street-scale)
    page.locator(".hs-area-label-1").click()
    page.wait_for_function("() => document.querySelector('.leaflet-popup-content') &&"
                           " document.querySelector('.leaflet-popup-content')"
                           ".innerText.includes('Street:')")
    text = page.locator(".leaflet-popup-content").inner_text()
    assert f"Ward: {XSS}" in text and f"Street: {XSS}" in text
    assert XSS in page.locator(".hs-title").inner_text()
    assert XSS in page.locator(".leaflet-control-layers").inner_text()  # category name
    _close_popup(page)
    page.locator("path.hs-ward").first.hover()  # the ward named like an XSS
    assert XSS in page.locator(".leaflet-tooltip").first.inner_text()
    assert page.locator("img[src='x']").count() == 0
    page.wait_for_timeout(200)  # an onerror would have fired by now
    _clean(log)


@pytest.mark.browser
def test_focus_ward_map_in_browser(camden, open_page, tmp_path):
    ward = camden.areas.iloc[0]["wards"].split(",")[0].strip()
    row = camden.wards.loc[camden.wards["ward_name"] == ward].iloc[0]
    m = hs.focus_ward_map(camden.inc, camden.wards, ward, areas=camden.areas, offline=True,
                          tiles=None)
    path = hs.save_map(m, tmp_path / "focus.html")
    page, log = open_page(path)
    page.wait_for_selector("path.hs-focus-ward")
    assert page.locator("path.hs-focus-ward").count() == 1
    assert page.locator("path.hs-ward").count() == len(camden.wards)
    touching = camden.areas[camden.areas.intersects(row.geometry)]
    assert page.locator("path.hs-area").count() == len(touching) > 0
    totals = page.evaluate(CLUSTER_TOTALS)
    in_ward = gpd.sjoin(camden.inc, camden.wards.loc[[row.name]], predicate="within")
    assert sum(totals.values()) == len(in_ward)
    _settle(page)
    page.screenshot(path=SHOTS / "camden_focus_ward.png")
    _clean(log)


@pytest.mark.browser
def test_patrol_map_in_browser(camden, open_page, tmp_path):
    pts = camden.areas.geometry.representative_point().iloc[:4]
    stops = gpd.GeoDataFrame({
        "order": [1, 2, 3, 4], "name": [f"Hotspot {i}" for i in range(1, 5)],
        "why": ["robbery", "asb", XSS, "violence"], "street": ["A St", "B Rd", "C Way", "D Ln"],
        "arrival": ["14:00", "14:20", "14:40", "15:00"], "dwell_min": [10, 10, 15, 10],
    }, geometry=list(pts), crs=27700)
    plan = SimpleNamespace(
        stops=stops, route=gpd.GeoSeries([LineString(list(pts))], crs=27700),
        length_m=2500.0, minutes=80.0, dropped=pd.DataFrame({"name": ["x"]}), start=pts.iloc[0])
    path = hs.save_map(hs.patrol_map(plan, areas=camden.areas, offline=True, tiles=None),
                       tmp_path / "patrol.html")
    page, log = open_page(path)
    page.wait_for_selector(".hs-stop")
    assert page.locator(".hs-stop").count() == 4
    assert page.locator("path.hs-route").count() == 1
    # one numbering: stops; the areas are outlined, not numbered
    assert page.locator("path.hs-area").count() == len(camden.areas)
    assert page.locator(".hs-area-label").count() == 0
    # the start (at stop 1) is a flag drawn above every stop
    z = page.evaluate("""() => [...document.querySelectorAll('.hs-start, .hs-stop')]
        .map(e => [e.classList.contains('hs-start'), +getComputedStyle(e).zIndex])""")
    start_z = [v for is_start, v in z if is_start]
    assert len(start_z) == 1 and start_z[0] > max(v for is_start, v in z if not is_start)
    page.locator(".hs-stop-3").click()
    text = page.locator(".leaflet-popup-content").inner_text()
    assert "Stop 3" in text and XSS in text and "Stay: 15 min" in text
    _clean(log)


@pytest.mark.browser
def test_harrow_year_map_is_small_and_loads(open_page, tmp_path):
    inc = hs.read_incidents("harrow_crime_2022")
    assert len(inc) >= 14_900
    wards = hs.wards("Harrow", 2022)
    areas = hs.top_areas(inc, n=20, wards=wards, quiet=True)
    grid = hs.kde(inc, clip=wards, quiet=True)
    m = hs.hotspot_map(inc, areas=areas, wards=wards, grid=grid, title="Harrow 2022",
                       offline=True, show_incidents=True, tiles=None)
    path = hs.save_map(m, tmp_path / "harrow.html")
    assert path.stat().st_size < 5_000_000
    page, log = open_page(path)
    page.wait_for_selector("path.hs-area")
    assert sum(page.evaluate(CLUSTER_TOTALS).values()) == len(inc)
    # every category in one cluster group: clusters are pies, not a dozen stacked discs
    assert page.evaluate(CLUSTERED) == len(inc)
    _settle(page)
    page.screenshot(path=SHOTS / "harrow_2022_map.png")
    _clean(log)


@pytest.mark.browser
def test_change_layer_in_browser(open_page, tmp_path):
    """Change over time maps: one coloured layer per label shown, with a legend."""
    from hotspots.plots import QUIET_LABELS

    inc = hs.read_incidents("barnet_burglary")
    inc = inc[(inc["month"] >= "2019-01-01") & (inc["month"] < "2021-01-01")]
    change = hs.hotspot_change(inc, cell_size=1000, quiet=True)
    labels = set(change["label"]) - QUIET_LABELS
    assert labels  # burglary fell in 2020 (lockdowns): some cells fall significantly
    m = hs.hotspot_map(change=change, wards=hs.wards("Barnet", 2022), offline=True,
                       title="Barnet burglary: 2019 vs 2020", tiles=None)
    path = hs.save_map(m, tmp_path / "change.html")
    page, log = open_page(path)
    _clean(log)
    assert page.locator("path.hs-change").count() == len(labels)
    legend = page.inner_text("body")
    for lab in labels:
        assert lab in legend


# ---------------------------------------------------------------------------------------
# every kind of map the demo writes, looked at: tiles from a local server, the network
# blocked, rank labels, clicks, legends, a phone


@pytest.fixture(scope="module")
def city_plan():
    G = hs.street_network("osm_city_of_london")
    city = hs.read_incidents("city_of_london_2019")
    areas = hs.patrol_areas(city, n=8)
    targets = hs.patrol_targets(city, n=8, network=G, areas=areas)
    plan = hs.plan_patrol(G, targets, start="51.5155,-0.0922", max_minutes=120)
    return SimpleNamespace(G=G, plan=plan, areas=areas)


@pytest.fixture(scope="module")
def demo_maps(camden, city_plan, tile_server, tmp_path_factory):
    """The demo's kinds of map (hotspots, focus ward, patrol, change over time) on real
    data, with tiles from the local test server."""
    d = tmp_path_factory.mktemp("demo_maps")
    ward = camden.areas.iloc[0]["wards"].split(",")[0].strip()
    inc = hs.read_incidents("barnet_burglary")
    inc = inc[(inc["month"] >= "2019-01-01") & (inc["month"] < "2021-01-01")]
    made = {
        "hotspots": hs.hotspot_map(camden.inc, areas=camden.areas, wards=camden.wards,
                                   grid=camden.grid, gistar=camden.gi, title="Camden",
                                   offline=True, tiles=tile_server.url),
        "focus": hs.focus_ward_map(camden.inc, camden.wards, ward, areas=camden.areas,
                                   offline=True, tiles=tile_server.url),
        "patrol": hs.patrol_map(city_plan.plan, areas=city_plan.areas, network=city_plan.G,
                                title="Op Verona, City of London", offline=True,
                                tiles=tile_server.url),
        "change": hs.hotspot_map(change=hs.hotspot_change(inc, cell_size=1000, quiet=True),
                                 wards=hs.wards("Barnet", 2022), offline=True,
                                 title="Barnet burglary: 2019 vs 2020", tiles=tile_server.url),
    }
    return {k: hs.save_map(m, d / f"{k}.html") for k, m in made.items()}


KINDS = ["hotspots", "focus", "patrol", "change"]


def _tile_share(png: bytes, rgb, tol: int = 45) -> float:
    """Share of a screenshot's pixels in (or near: under a light overlay) the test
    tiles' colour."""
    import io

    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)
    return float((np.abs(a - np.array(rgb)).max(axis=1) <= tol).mean())


def _visible(page, selector: str) -> int:
    """How many elements match `selector` and are drawn (visible, with a size)."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].filter(e => {
             const r = e.getBoundingClientRect(), s = getComputedStyle(e);
             return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'
               && s.display !== 'none'; }).length""", selector)


@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_demo_map_tiles_and_offline_fallback(kind, demo_maps, tile_server, open_page):
    # tiles from the local server: drawn, no note
    before = len(tile_server.served)
    page, log = open_page(demo_maps[kind])
    page.wait_for_selector(".hs-tiles-idle .leaflet-tile-loaded")
    _settle(page)
    assert len(tile_server.served) > before
    assert page.locator(".hs-tile-note").count() == 0
    png = page.screenshot(path=SHOTS / f"demo_{kind}_tiles.png")
    assert _tile_share(png, tile_server.rgb) > 0.2  # tiles are seen, not only loaded
    assert _tile_share(png, tile_server.rgb, tol=3) > 0.02  # and somewhere uncovered
    _clean(log)
    # the network blocked: the note, the offline base layer seen instead of tiles
    page, log = open_page(demo_maps[kind], block_network=True)
    page.wait_for_selector(".hs-tile-note")
    _settle(page)
    assert maps.TILE_ERROR_NOTE in page.locator(".hs-tile-note").inner_text()
    assert page.locator(".leaflet-tile-loaded").count() == 0
    assert _visible(page, "path.hs-base-borough") > 0
    assert _visible(page, "text.hs-lbl-borough, text.hs-lbl-ward, text.hs-lbl-station,"
                          " text.hs-lbl-street, text.hs-lbl-street-long") > 0
    if kind == "patrol":  # the City: streets, named
        assert _visible(page, "path.hs-street") > 0
        assert _visible(page, "text.hs-lbl-street-long, text.hs-lbl-street") > 0
    png = page.screenshot(path=SHOTS / f"demo_{kind}_offline.png")
    assert _tile_share(png, tile_server.rgb, tol=3) < 0.001  # not a pixel of tile
    assert all(u.startswith("http://127.0.0.1:") for u in log.failed), log.failed
    assert log.errors == []


LABEL_BOXES = """() => [...document.querySelectorAll('.hs-area-label')].map(e => {
  const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"""
MAP = "Object.values(window).find(v => v instanceof L.Map)"
#: a city map's incidents (``CITY_JS``): mode, shown(), rows(), cellM
CITY = f"{MAP}._hsCity"


def _on_map(page, call: str) -> None:
    """Call a method of the page's map (``m``); nothing is returned (Leaflet's methods
    return the map, which Playwright would try to serialise whole)."""
    page.evaluate(f"() => {{ const m = {MAP}; m.{call}; }}")


def _overlaps(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i][0] < boxes[j][2] and boxes[j][0] < boxes[i][2]
            and boxes[i][1] < boxes[j][3] and boxes[j][1] < boxes[i][3]]


@pytest.mark.browser
@pytest.mark.parametrize("kind", ["hotspots", "focus"])
def test_rank_labels_never_overlap(kind, demo_maps, open_page):
    page, log = open_page(demo_maps[kind])
    page.wait_for_selector(".hs-area-label")
    zoom = page.evaluate(f"() => {MAP}.getZoom()")
    for z in (zoom, zoom - 1, zoom - 2, zoom + 1):
        _on_map(page, f"setZoom({z}, {{animate: false}})")
        _settle(page)
        boxes = page.evaluate(LABEL_BOXES)
        assert len(boxes) == page.locator("path.hs-area").count() > 0
        assert _overlaps(boxes) == [], (z, _overlaps(boxes))
    # the check itself: labels all at their anchors would overlap at a low zoom
    _on_map(page, f"setZoom({zoom - 2}, {{animate: false}})")
    _settle(page)
    at_anchor = page.evaluate(f"""() => {{ const m = {MAP};
        const g = Object.values(window).find(v => v && v.hsAnchors);
        return g.hsAnchors.map(a => {{ const p = m.latLngToContainerPoint([a[0], a[1]]);
          return [p.x - 12, p.y - 12, p.x + 12, p.y + 12]; }}); }}""")
    if kind == "hotspots":  # Camden's central areas are a few hundred metres apart
        assert _overlaps(at_anchor)
    _clean(log)


def _click_centres(page, anchors) -> dict[int, str]:
    """Centre the map on each area's anchor, click there, read the popup."""
    got = {}
    box = page.locator(".leaflet-container").bounding_box()
    for lat, lon, rank in anchors:
        _on_map(page, "closePopup()")
        page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
        _on_map(page, f"setView([{lat}, {lon}], m.getZoom(), {{animate: false}})")
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5000)
        got[rank] = popup.inner_text()
    return got


@pytest.mark.browser
def test_clicking_an_areas_centre_opens_that_area(camden, demo_maps, open_page):
    page, log = open_page(demo_maps["hotspots"])
    page.wait_for_selector("path.hs-area")
    anchors = page.evaluate("() => Object.values(window).find(v => v && v.hsAnchors).hsAnchors")
    assert sorted(a[2] for a in anchors) == sorted(camden.areas["rank"])
    # the anchors are inside their own area and in no smaller one (independent check)
    pts = gpd.GeoSeries(gpd.points_from_xy([a[1] for a in anchors], [a[0] for a in anchors]),
                        crs=4326).to_crs(27700)
    by_rank = camden.areas.set_index("rank").geometry
    for (_, _, r), pt in zip(anchors, pts, strict=True):
        assert by_rank[r].distance(pt) < 0.5
    for r, text in _click_centres(page, anchors).items():
        assert text.startswith(f"Area {r} "), (r, text)
    # the polygons themselves (badges out of the way): smaller areas are on top
    page.add_style_tag(content=".hs-area-label { pointer-events: none !important; }")
    for r, text in _click_centres(page, anchors).items():
        assert text.startswith(f"Area {r} "), (r, text)
    _clean(log)


@pytest.mark.browser
def test_legends_follow_their_layer(demo_maps, open_page):
    page, log = open_page(demo_maps["hotspots"])
    page.wait_for_selector(".hs-legend-density")
    assert _visible(page, ".hs-legend-density") == 1
    assert _visible(page, ".hs-legend-areas") == 1
    assert _visible(page, ".hs-legend-gistar") == 0  # Gi* is off on opening
    assert _visible(page, ".hs-legend-incidents") == 0  # so are incidents
    page.locator(".leaflet-control-layers").hover()
    page.get_by_label("Density (incidents per km²)").uncheck()
    assert _visible(page, ".hs-legend-density") == 0
    page.get_by_label("Gi* hot and cold spots").check()
    assert _visible(page, ".hs-legend-gistar") == 1
    page.get_by_label(re.compile(r"^\s*Anti-social behaviour")).check()
    assert _visible(page, ".hs-legend-incidents") == 1
    page.get_by_label("Density (incidents per km²)").check()
    assert _visible(page, ".hs-legend-density") == 1
    _clean(log)


CONTROL_SHARE = """() => {
  const W = innerWidth, H = innerHeight, step = 4; let hit = 0, n = 0;
  const boxes = [...document.querySelectorAll('.leaflet-control')]
    .filter(e => getComputedStyle(e).display !== 'none').map(e => e.getBoundingClientRect());
  for (let x = 0; x < W; x += step) for (let y = 0; y < H; y += step) { n++;
    if (boxes.some(b => x >= b.left && x < b.right && y >= b.top && y < b.bottom)) hit++; }
  return hit / n; }"""


@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_phone_shows_the_map_not_the_controls(kind, demo_maps, open_page):
    page, log = open_page(demo_maps[kind], width=390, height=844)
    page.wait_for_selector(".leaflet-control-layers")
    _settle(page)
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    assert page.evaluate("() => [...document.querySelectorAll('details.hs-legend')]"
                         ".every(d => !d.open)")
    share = page.evaluate(CONTROL_SHARE)
    page.screenshot(path=SHOTS / f"phone_{kind}.png")
    assert share < 0.15, share
    # the same map on a desktop opens its legends
    desk, _ = open_page(demo_maps[kind])
    assert desk.evaluate("() => [...document.querySelectorAll('details.hs-legend')]"
                         ".some(d => d.open)")
    _clean(log)


# ---------------------------------------------------------------------------------------
# README screenshots: taken here in the browser; `make screenshots` (HOTSPOTS_UPDATE_DOCS_IMG=1)
# also copies them over the committed docs/img/*.png


DOCS_IMG = PROJECT_ROOT / "docs" / "img"


def _publish(png: bytes, name: str, tmp_path) -> None:
    """Keep the screenshot in tmp; refresh docs/img only when asked (`make screenshots`)."""
    import os

    from hotspots._atomic import atomic_write_bytes

    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a picture, not a blank
    (tmp_path / name).write_bytes(png)
    if os.environ.get("HOTSPOTS_UPDATE_DOCS_IMG"):
        atomic_write_bytes(DOCS_IMG / name, png)
    assert (DOCS_IMG / name).exists(), f"docs/img/{name} missing: run `make screenshots`"


@pytest.mark.browser
def test_readme_screenshots(harrow, open_page, tmp_path):
    """The README's two pictures: Harrow's 2022 crime map (areas, density, Gi*) and
    an Op Verona patrol briefing (City of London 2019 on the OSM street network)."""
    from hotspots.report import patrol_briefing

    wards = hs.wards("Harrow", 2022)
    inc = hs.assign_wards(harrow, wards, tolerance=25)
    areas = hs.top_areas(inc, n=20, wards=wards, quiet=True)
    m = hs.hotspot_map(inc, areas=areas, wards=wards, grid=hs.kde(inc, clip=wards, quiet=True),
                       gistar=hs.gistar(inc), title="Harrow street crime 2022: top twenty areas",
                       offline=True, tiles=None)  # no network here: the offline base layer
    page, log = open_page(hs.save_map(m, tmp_path / "harrow.html"), width=1200, height=900)
    page.wait_for_selector("path.hs-area")
    assert page.locator("path.hs-area").count() == 20
    _settle(page)
    _publish(page.screenshot(), "harrow_crime_map.png", tmp_path)
    _clean(log)

    G = hs.street_network("osm_city_of_london")
    city = hs.read_incidents("city_of_london_2019")
    targets = hs.patrol_targets(city, n=8, network=G, areas=hs.patrol_areas(city, n=8))
    plan = hs.plan_patrol(G, targets, start="51.5155,-0.0922", max_minutes=120)
    _, html = patrol_briefing(plan, area_name="City of London")
    (tmp_path / "briefing.html").write_text(html, encoding="utf-8")
    page, log = open_page(tmp_path / "briefing.html", width=900, height=1100)
    text = page.inner_text("body")
    assert f"City of London: {len(plan.stops)} stops" in text
    _publish(page.screenshot(), "op_verona_briefing.png", tmp_path)
    _clean(log)
