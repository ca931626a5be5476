"""Printable packs (report.py): they fit the page, open on a phone and speak plainly.

Every HTML pack `make demo` writes is printed to PDF in headless Chromium (Debian's
/usr/bin/chromium through Playwright) and its pages counted; its text is checked for
code words, unexplained numbers and impossible ranks.
"""

from __future__ import annotations

import html as html_lib
import re

import pandas as pd
import pytest

from hotspots import report

PACKS = ("focus-week-2022-W06/councillor-summary.html", "flytip-top20/action-plans.html",
         "patrol/briefing.html", "patrol-harrow/briefing.html")


@pytest.fixture(scope="module")
def demo(demo_run):
    return demo_run[0]


def _pdf(browser, path, **opts) -> bytes:
    page = browser.new_page()
    try:
        page.goto(path.resolve().as_uri(), wait_until="load")
        return page.pdf(format="A4", prefer_css_page_size=True, **opts)
    finally:
        page.close()


def _n_pages(pdf: bytes) -> int:
    """Page objects in a PDF (Chromium writes them uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def _n_images(pdf: bytes) -> int:
    return len(re.findall(rb"/Subtype\s*/Image", pdf))


def _text(path) -> str:
    """The words a reader sees in an HTML pack (tags, styles and data URLs removed)."""
    t = path.read_text()
    t = re.sub(r"<style.*?</style>", " ", t, flags=re.S)
    t = re.sub(r"<[^>]+>", " ", t)
    return html_lib.unescape(t)


def test_pdf_page_counter_counts_pages(browser, tmp_path):
    """The counter used below, checked on a page with three forced page breaks."""
    f = tmp_path / "three.html"
    f.write_text(report.html_page("t", "".join(
        f"<section class='sheet'><p>page {i}</p></section>" for i in range(3))))
    assert _n_pages(_pdf(browser, f)) == 3
    assert _n_pages(_pdf(browser, f, page_ranges="1")) == 1


def test_councillor_summary_fits_two_a4_pages_with_the_map_on_page_1(browser, demo):
    f = demo / PACKS[0]
    pdf = _pdf(browser, f)
    assert 1 <= _n_pages(pdf) <= 2
    assert _n_images(_pdf(browser, f, page_ranges="1")) >= 1
    # the map is also beside the Markdown, which links it
    md = f.with_suffix(".md").read_text()
    assert "![" in md and (f.parent / "councillor-summary-map.png").stat().st_size > 10_000


def test_action_plans_one_page_per_area_each_with_map_and_synthetic_label(browser, demo):
    f = demo / PACKS[1]
    areas = pd.read_csv(f.parent / "areas.csv")
    pdf = _pdf(browser, f)
    assert _n_pages(pdf) == len(areas) == 20
    assert _n_images(pdf) >= len(areas)
    sheets = re.findall(r"<section class='sheet'>(.*?)</section>", f.read_text(), flags=re.S)
    assert len(sheets) == len(areas)
    for s in sheets:  # every printed page: the warning, a map, the area's actions
        assert "class='synthetic'" in s and "SYNTHETIC" in s
        assert "data:image/png;base64," in s and "<table>" in s


@pytest.mark.parametrize("rel", PACKS[2:])
def test_patrol_briefing_has_the_route_map_on_page_1(browser, demo, rel):
    assert _n_images(_pdf(browser, demo / rel, page_ranges="1")) >= 1


@pytest.mark.parametrize("rel", PACKS)
def test_every_pack_has_a_viewport_and_a_picture_and_fits_a_phone(open_page, demo, rel):
    text = (demo / rel).read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "@page{size:A4" in text and "@media print" in text
    page, log = open_page(demo / rel, width=390, height=800)
    assert page.locator("img.map").count() >= 1
    assert page.evaluate("document.querySelector('img.map').naturalWidth") > 300
    # the page itself is no wider than the phone (wide tables scroll inside their box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    assert not log.errors and not log.external()


#: words from the code that must not reach a reader
CODE_WORDS = ("in_ward", "place_type", "Held-Karp", "PatrolPlan(", "n_incidents",
              "fly_tip", "violence_sexual", "EAST", "WEST", "CENTRAL")


@pytest.mark.parametrize("rel", PACKS)
def test_packs_speak_plainly(demo, rel):
    for f in (demo / rel, (demo / rel).with_suffix(".md")):
        text = _text(f) if f.suffix == ".html" else re.sub(r"!\[[^\]]*\]\([^)]*\)", "",
                                                            f.read_text())
        for word in CODE_WORDS:
            assert word not in text, (f.name, word)
        assert not re.search(r"\bhs\.[a-z_]+", text), f.name
        snake = re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text)
        assert not snake, (f.name, snake[:5])
        # every number rounded: no 0.6077552984676251, no lat/lon pairs
        long = re.findall(r"\d+\.\d{3,}", text)
        assert not long, (f.name, long[:5])
        # no "rank N of M" (or "ranks 12th of 10") with N > M
        for n, m in re.findall(r"\branks?\s+(\d+)(?:st|nd|rd|th)?\s+of\s+(\d+)", text):
            assert int(n) <= int(m), (f.name, n, m)
    if "focus-week" in rel:
        text = _text(demo / rel)
        assert "Why this ward:" in text and "per 1,000 residents" in text
        assert "Fly-tipping" in text and "score (top = 100)" in text


def test_places_are_described_in_words_not_coordinates(demo):
    text = _text(demo / PACKS[0]) + _text(demo / PACKS[1])
    assert "ward, " in text and " of Queensbury station" in text
    assert re.search(r"\d (m|km) (north|south|east|west)", text)
    assert not re.search(r"\d+ m [NSEW]{1,2} of", text)  # "1000 m E of": gone
    # the four areas near Queensbury are told apart by their wards and distances
    plans = pd.read_csv(demo / "flytip-top20" / "action-plans.csv")
    wheres = plans.drop_duplicates("area")["where"]
    assert wheres.nunique() == len(wheres)
    # lat/lon stay in the CSV for GIS
    assert {"lat", "lon"} <= set(pd.read_csv(demo / "flytip-top20" / "areas.csv").columns)


def test_patrol_cli_prints_a_sentence_not_the_object(demo_run):
    out = demo_run[1]
    assert "PatrolPlan(" not in out
    assert "stops," in out and "min budget" in out


def test_why_ward_sentence_and_words():
    assert report.say_categories("fly_tip 29, asb 4, robbery 2") == (
        "Fly-tipping 29, Anti-social behaviour 4, robbery 2")
    assert report.say_category("violence_sexual") == "Violence and sexual offences"
    assert report.say_team("EAST") == "East" and report.say_team(None) == ""
    assert report.say_period("2022-01-03/2022-07-03") == "3 Jan 2022 to 3 Jul 2022"
    assert report.say_period("2022-01/2022-06") == "Jan to Jun 2022"
    assert report._num(0.6077552984676251, 2) == "0.61"
    assert report._ordinal(1) == "1st" and report._ordinal(12) == "12th"
    assert report._ordinal(22) == "22nd"


def test_why_ward_names_the_wards_ranked_higher_and_why(demo):
    """From the demo's ranking: North Harrow (West) was chosen below West Harrow and
    Roxeth, both focus wards within the last four weeks."""
    from types import SimpleNamespace

    r = pd.read_csv(demo / "focus-week-2022-W06" / "ranking.csv")
    fw = SimpleNamespace(ranking=r, attrs={"lookback_weeks": 4, "window_end": "2022-02-06"})
    s = report.why_ward(fw, "North Harrow")
    row = r.set_index("ward_name").loc["North Harrow"]
    assert s.startswith(f"{row['n_incidents']:.0f} incidents in the 4 weeks to 6 Feb 2022")
    assert f"ranks {report._ordinal(row['rank'])} of {len(r)} wards" in s
    assert "West team" in s and "West Harrow, focus ward in week of" in s and "Roxeth" in s
