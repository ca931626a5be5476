"""Packs are safe in every format: data text carrying markup reaches the reader as text.

A payload in data (ward names, location text, reasons, --area-name) must not become a
tag, a link or a script in the Markdown packs (rendered here by a CommonMark renderer,
markdown-it-py with raw HTML allowed, as many viewers do, then opened in Chromium) nor
break the GPX (every text field read back by an XML parser).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

import hotspots as hs
from hotspots import report
from hotspots.datasets import PROJECT_ROOT

PAYLOAD = "<img src=x onerror=alert(1)>"
LINK = "[click](javascript:alert(2))"
#: everything data text may carry: a tag, a Markdown link, a bare URL, controls, a pipe
NASTY = f"{PAYLOAD} {LINK} http://evil.example | **b** \x07\x1b"
GPX = {"g": "http://www.topografix.com/GPX/1/1"}


def _clean(text: str) -> str:
    return text.replace("\x07", "").replace("\x1b", "")


def _render(md: str) -> str:
    """CommonMark to HTML (raw HTML passed through, as GitHub-like viewers would)."""
    from markdown_it import MarkdownIt

    return ("<!doctype html><html><head><meta charset='utf-8'></head><body>"
            + MarkdownIt("commonmark", {"html": True}).render(md) + "</body></html>")


def assert_safe_markdown(md: str, open_page, path) -> None:
    assert "<img" not in md and "<script" not in md.lower()
    path.write_text(_render(md), "utf-8")
    page, log = open_page(path)
    page.wait_for_timeout(200)  # a failed <img> load fires onerror asynchronously
    assert log.dialogs == [], path
    assert page.locator("a").count() == 0, path  # no link from data
    # the only images are the pack's own static maps (PNG files it wrote), none from data
    srcs = page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('src'))")
    assert all(re.fullmatch(r"[\w.-]+\.png", s or "") for s in srcs), srcs
    assert page.locator("img[onerror]").count() == 0, path
    # the payload is shown as the characters it is
    assert PAYLOAD in page.inner_text("body"), path


def test_the_check_catches_raw_html(open_page, tmp_path):
    """Without escaping the renderer runs the payload: the browser check sees it."""
    path = tmp_path / "raw.html"
    path.write_text(_render(f"Ward: {PAYLOAD}\n"), "utf-8")
    page, log = open_page(path)
    page.wait_for_timeout(200)
    assert log.dialogs == ["1"]


@pytest.fixture(scope="module")
def patrol_plan():
    rng = np.random.default_rng(0)
    xy = rng.normal([530_000, 180_000], 40, size=(60, 2))
    inc = gpd.GeoDataFrame({
        "category": ["robbery"] * 40 + ["streetsafe"] * 20,
        "occurred_at": pd.Timestamp("2024-03-01 20:00"),
        "subcategory": ["x"] * 40 + [NASTY] * 20,
        "location_desc": [NASTY] * 60,
    }, geometry=[Point(p) for p in xy], crs=27700)
    areas = gpd.GeoDataFrame({"rank": [1], "score": [60.0], "wards": [NASTY],
                              "streets": [NASTY]},
                             geometry=[Point(530_000, 180_000).buffer(150)], crs=27700)
    targets = hs.patrol_targets(inc, areas=areas, n=1, hours=None)
    return hs.plan_patrol(None, targets, max_minutes=120)


def test_patrol_briefing_markdown_is_safe(patrol_plan, open_page, tmp_path):
    md, html_text = report.patrol_briefing(patrol_plan, area_name=NASTY, title=NASTY)
    assert PAYLOAD not in html_text
    assert_safe_markdown(md, open_page, tmp_path / "briefing.html")


def test_gpx_text_fields_round_trip(patrol_plan, tmp_path):
    path = patrol_plan.to_gpx(tmp_path / "route.gpx", name=NASTY, source=NASTY)
    text = path.read_text("utf-8")
    assert "<img" not in text and "\x07" not in text
    root = ET.parse(path).getroot()  # a control character would fail here
    clean = _clean(NASTY)
    assert clean == f"{PAYLOAD} {LINK} http://evil.example | **b** "
    assert root.find("g:metadata/g:name", GPX).text == clean
    assert root.find("g:metadata/g:copyright", GPX).get("author") == clean
    stops = patrol_plan.stops
    names = [w.find("g:name", GPX).text for w in root.findall("g:wpt", GPX)]
    descs = [w.find("g:desc", GPX).text for w in root.findall("g:wpt", GPX)]
    assert names == [_clean(f"{r.order}. {r.name}") for r in stops.itertuples()]
    assert all(PAYLOAD in d for d in descs)  # the reasons' text, as text
    assert [p.find("g:name", GPX).text for p in root.findall("g:rte/g:rtept", GPX)] == names


@pytest.fixture(scope="module")
def nasty_wards():
    w = hs.wards(borough="Harrow", year=2022)
    return w.assign(ward_name=[f"{n} {PAYLOAD}" for n in w["ward_name"]])


@pytest.fixture(scope="module")
def nasty_tips(nasty_wards):
    inc = hs.read_incidents(PROJECT_ROOT / "sample_data" / "harrow_flytips_2022_synthetic.csv.gz")
    inc = hs.assign_wards(inc, nasty_wards)
    return inc.assign(location_desc=NASTY)


def test_councillor_summary_markdown_is_safe(nasty_tips, nasty_wards, open_page, tmp_path):
    fw = hs.focus_week(nasty_tips, nasty_wards, week="2022-06-06", population=False,
                       teams=pd.DataFrame({"ward_code": nasty_wards["ward_code"],
                                           "team": NASTY}))
    assert fw.chosen and PAYLOAD in fw.chosen[0]
    md, html_text = report.focus_summary(fw, map_files={fw.chosen[0]: NASTY}, borough=NASTY)
    assert PAYLOAD not in html_text
    assert_safe_markdown(md, open_page, tmp_path / "summary.html")


def test_action_plans_markdown_is_safe(nasty_tips, nasty_wards, open_page, tmp_path):
    areas = hs.top_areas(nasty_tips, n=3, wards=nasty_wards, quiet=True)
    plans = {a.rank: hs.action_menu(nasty_tips[nasty_tips.within(a.geometry)])
             for a in areas.itertuples()}
    table, md, html_text = report.action_plan_sheets(areas, plans, title=NASTY,
                                                     incidents=nasty_tips)
    assert PAYLOAD not in html_text
    assert_safe_markdown(md, open_page, tmp_path / "plans.html")


@pytest.mark.filterwarnings("error:Glyph:UserWarning")
def test_static_maps_draw_no_control_characters(nasty_tips, nasty_wards):
    """Control characters in ward names and titles are drawn as spaces (no font has a
    BEL glyph: matplotlib warned "Glyph 7 missing" and drew a box)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from hotspots.plots import figure_png, plot_hotspots, plot_place

    wards = nasty_wards.assign(ward_name=[f"{n}\x07\x1b" for n in nasty_wards["ward_name"]])
    figs = [plot_hotspots(nasty_tips.head(50), wards=wards, title=NASTY),
            plot_place(wards=wards, highlight=[wards["ward_name"].iloc[0]], title=NASTY)]
    for fig in figs:
        texts = [t.get_text() for t in fig.findobj(Text)]
        assert any(PAYLOAD in t for t in texts)  # data text still drawn, as text
        assert not any(re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", t) for t in texts)
        figure_png(fig)
        plt.close(fig)
