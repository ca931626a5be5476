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
def camden_html(camden, tmp_path_factory):
    m = hs.hotspot_map(camden.inc, areas=camden.areas, wards=camden.wards, grid=camden.grid,
                       gistar=camden.gi, title="Camden, June 2019", offline=True)
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
                       title=XSS)
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
    assert maps.OFFLINE_NOTE in text
    assert "Open Government Licence v3.0" in text and "OpenStreetMap" in text
    assert "SYNTHETIC" not in text  # police.uk data are real


def test_online_map_uses_cdn_and_tiles(camden):
    m = hs.hotspot_map(camden.inc.iloc[:50], wards=camden.wards)
    online = maps.map_html(m)
    assert "https://cdn.jsdelivr.net/npm/leaflet" in online
    assert "tile.openstreetmap.org" in online
    # the same map saved offline: no CDN, no tiles, nothing external at all
    offline = maps.map_html(m, offline=True)
    assert "tile.openstreetmap.org" not in offline and "cdn.jsdelivr" not in offline
    assert "tile.openstreetmap.org" in maps.map_html(m)  # the map itself is unchanged


def test_synthetic_note(camden):
    inc = camden.inc.iloc[:30].assign(source="synthetic")
    text = maps.map_html(hs.hotspot_map(inc, offline=True))
    assert "SYNTHETIC data" in text


def test_texts_from_data_are_escaped(xss_map):
    text = xss_map.read_text("utf-8")
    assert XSS not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


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
    assert "hs-area" in text and maps.OFFLINE_NOTE in text


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


def _clean(log):
    assert log.errors == [], log.errors
    assert log.failed == [], log.failed
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


@pytest.mark.browser
def _close_popup(page) -> None:
    """Close the open popup so it cannot cover what is clicked or hovered next."""
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-popup-content").wait_for(state="detached")


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
    m = hs.focus_ward_map(camden.inc, camden.wards, ward, areas=camden.areas, offline=True)
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
    path = hs.save_map(hs.patrol_map(plan, areas=camden.areas, offline=True),
                       tmp_path / "patrol.html")
    page, log = open_page(path)
    page.wait_for_selector(".hs-stop")
    assert page.locator(".hs-stop").count() == 4
    assert page.locator("path.hs-route").count() == 1
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
                       offline=True, show_incidents=True)
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
                       title="Barnet burglary: 2019 vs 2020")
    path = hs.save_map(m, tmp_path / "change.html")
    page, log = open_page(path)
    _clean(log)
    assert page.locator("path.hs-change").count() == len(labels)
    legend = page.inner_text("body")
    for lab in labels:
        assert lab in legend


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
                       offline=True)
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
