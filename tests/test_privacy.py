"""Anonymous reports stay anonymous (hotspots/privacy.py) and packs are safe in every format.

The StreetSafe sample's exact points (lon/lat and BNG metres, to 5 decimals) must not
appear in any output made from it: map, top areas, patrol briefing, GPX, CSV, GeoJSON.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

import hotspots as hs
from hotspots import privacy
from hotspots._escape import md_text, xml_text
from hotspots.cli import app
from hotspots.datasets import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "sample_data" / "harrow_streetsafe_2022q1_synthetic.csv"
NUM = re.compile(r"-?\d+(?:\.\d+)?")
PAYLOAD = "<img src=x onerror=alert(1)>"


def report_points(path: Path = SAMPLE) -> set[tuple[float, float]]:
    """Every report's (lat, lon) and (easting, northing), rounded to 5 decimals."""
    d = pd.read_csv(path)
    return ({(round(a, 5), round(b, 5)) for a, b in zip(d["lat"], d["lon"], strict=True)}
            | {(round(a, 5), round(b, 5))
               for a, b in zip(d["easting"], d["northing"], strict=True)})


def exposed(text: str, points: set, per_line: bool) -> set:
    """Report points found in `text`: as two neighbouring numbers in either order (JSON
    [lon, lat], Leaflet [lat, lon], GPX lat=".." lon=".."), and with `per_line` both
    anywhere on one line (a CSV or table row with lat and lon columns apart)."""
    hits = set()
    r = [round(float(x), 5) for x in NUM.findall(text)]
    for a, b in zip(r, r[1:], strict=False):
        if (a, b) in points or (b, a) in points:
            hits.add((a, b))
    if per_line:
        for line in text.splitlines():
            s = {round(float(x), 5) for x in NUM.findall(line)}
            hits |= {p for p in points if p[0] in s and p[1] in s}
    return hits


def assert_no_report_exposed(folder: Path, points: set | None = None,
                             texts: tuple[str, ...] = ("synthetic location near",)) -> int:
    """Every text output under `folder` holds no report point and none of `texts` (the
    reports' free text); returns how many files were checked."""
    points = report_points() if points is None else points
    n = 0
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix not in (".html", ".csv", ".geojson", ".json", ".md",
                                                ".gpx", ".txt"):
            continue
        text = p.read_text("utf-8", errors="replace")
        assert not exposed(text, points, per_line=p.suffix in (".csv", ".md")), p
        assert not any(t in text for t in texts), p  # the sample's location_desc
        n += 1
    return n


def test_exposure_check_finds_exact_points():
    """The check itself: a file holding one report's point, in any of the forms, fails."""
    d = pd.read_csv(SAMPLE).iloc[7]
    pts = report_points()
    assert exposed(f"[{d['lon']}, {d['lat']}]", pts, False)
    assert exposed(f"L.marker([{d['lat']:.5f}, {d['lon']:.5f}])", pts, False)
    assert exposed(f"{d['easting']},{d['northing']}", pts, False)
    assert exposed(f"{d['lat']},x,y,{d['lon']}\n", pts, True)
    assert not exposed(f"{d['lat'] + 0.001}, {d['lon']}", pts, True)


def test_category_table_marks_streetsafe_anonymous():
    assert privacy.anonymous_categories() == {"streetsafe"}
    assert privacy.is_anonymous("streetsafe") and not privacy.is_anonymous("robbery")
    table = pd.read_csv(PROJECT_ROOT / "hotspots" / "data" / "categories.csv", dtype=str,
                        keep_default_na=False)
    assert set(table.loc[table["anonymous"] == "yes", "category"]) == {"streetsafe"}


def _reports(points: list[tuple[float, float]], reasons: list[str] | None = None,
             category: str = "streetsafe") -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame(
        {"category": [category] * n, "subcategory": reasons or ["poor lighting"] * n,
         "location_desc": ["outside number 12"] * n, "lon": [-0.3] * n},
        geometry=[Point(p) for p in points], crs=27700)


def test_aggregation_shows_only_cells_of_at_least_k():
    # 6 reports in cell (2040, 760) of 250 m, 4 in the next cell east: only the first shows
    a = [(510_010.0 + i, 190_010.0 + i) for i in range(6)]
    b = [(510_260.0 + i, 190_010.0) for i in range(4)]
    inc = _reports(a + b, ["followed"] * 5 + ["poor lighting"] + ["followed"] * 4)
    cells = privacy.aggregate_anonymous(inc)
    assert cells["count"].tolist() == [6]
    assert cells.geometry.iloc[0].bounds == (510_000.0, 190_000.0, 510_250.0, 190_250.0)
    # reason counts under 5 are not given exactly
    assert cells["reasons"].iloc[0] == "followed 5, poor lighting fewer than 5"
    assert cells.attrs["suppressed"] == 4 and cells.attrs["n_suppressed_cells"] == 1
    # the threshold is a parameter: at 4 both cells show
    assert sorted(privacy.aggregate_anonymous(inc, min_reports=4)["count"]) == [4, 6]
    assert privacy.aggregate_anonymous(inc, min_reports=7).empty
    # other categories are not aggregated here (they are drawn as points)
    assert privacy.aggregate_anonymous(_reports(a, category="robbery")).empty
    with pytest.raises(hs.BadInputError):
        privacy.aggregate_anonymous(inc, min_reports=0)


def test_reports_in_small_cells_are_counted_by_ward_when_enough():
    a = [(510_010.0 + 300 * i, 190_010.0) for i in range(6)]  # six cells of one report
    b = [(520_010.0 + 300 * i, 190_010.0) for i in range(3)]  # three in another ward
    inc = _reports(a + b).assign(ward_name=["Pinner"] * 6 + ["Canons"] * 3)
    cells = privacy.aggregate_anonymous(inc)
    assert cells.empty and cells.attrs["shown"] == 0
    assert cells.attrs["places"] == {"Pinner": 6}  # Canons' 3 stay hidden
    assert cells.attrs["suppressed"] == 3
    assert privacy.note(cells).endswith("by ward: Pinner 6; 3 in smaller groups are not shown.")
    assert privacy.aggregate_anonymous(inc, place=None).attrs["suppressed"] == 9


def test_protect_moves_reports_off_their_points_and_blanks_text():
    pts = [(510_010.3, 190_020.7), (510_033.1, 190_044.9)]
    inc = pd.concat([_reports(pts), _reports(pts, category="robbery")], ignore_index=True)
    before = inc.copy()
    out = privacy.protect(inc)
    pd.testing.assert_frame_equal(inc, before)  # input untouched
    anon = out["category"] == "streetsafe"
    # both to the centre of their 50 m cell; the robberies stay where they were
    assert [(g.x, g.y) for g in out.geometry[anon]] == [(510_025.0, 190_025.0)] * 2
    assert out.geometry[~anon].equals(inc.geometry[~anon])
    assert out.loc[anon, "location_desc"].isna().all() and out.loc[anon, "lon"].isna().all()
    assert (out.loc[~anon, "location_desc"] == "outside number 12").all()
    assert (out["subcategory"] == "poor lighting").all()  # reasons are kept
    assert out.attrs["anonymised"] == 2
    again = privacy.protect(out)
    assert again.geometry.equals(out.geometry)  # idempotent


def test_reason_counts_say_fewer_than_k():
    r = pd.Series(["a"] * 5 + ["b"] * 4 + [None])
    assert privacy.reason_counts(r) == [("a", "5"), ("b", "fewer than 5")]
    assert privacy.reason_counts(r, min_reports=4) == [("a", "5"), ("b", "4")]


@pytest.fixture(scope="module")
def streetsafe():
    return hs.read_incidents(SAMPLE)


@pytest.fixture(scope="module")
def streetsafe_map(streetsafe, tmp_path_factory):
    out = tmp_path_factory.mktemp("ssmap")
    areas = hs.top_areas(streetsafe, n=10, quiet=True)
    m = hs.hotspot_map(streetsafe, areas=areas, title="StreetSafe", offline=True,
                       show_incidents=True)
    return hs.save_map(m, out / "map.html")


def test_map_of_streetsafe_sample_has_no_report_point(streetsafe_map):
    assert_no_report_exposed(streetsafe_map.parent)
    text = streetsafe_map.read_text()
    assert "counts per 250 m cell holding at least 5" in text


def test_map_draws_cells_not_markers(open_page, streetsafe, tmp_path):
    # incidents only (area polygons on top would take the click)
    path = hs.save_map(hs.hotspot_map(streetsafe, offline=True), tmp_path / "cells.html")
    page, log = open_page(path)
    assert page.locator(".hs-inc").count() == 0  # no incident marker at all
    cells = page.locator("path.hs-anon")
    expected = privacy.aggregate_anonymous(streetsafe)
    assert cells.count() == len(expected) > 0
    cells.first.click(force=True)
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert re.search(r"\d+ reports in this cell", popup)
    assert not log.errors and not log.dialogs


def test_cli_outputs_of_streetsafe_sample_hold_no_report_point(tmp_path):
    run = CliRunner()
    for args in (
        ["map", str(SAMPLE), "--out", str(tmp_path / "map.html"), "--offline", "--quiet"],
        ["rank", str(SAMPLE), "--out", str(tmp_path / "top"), "--quiet"],
        ["rank", str(SAMPLE), "--method", "kde", "--out", str(tmp_path / "top_kde"),
         "--quiet"],
        ["patrol", "--incidents", str(SAMPLE), "--categories", "streetsafe", "--offline",
         "--out", str(tmp_path / "patrol")],
    ):
        result = run.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert not exposed(result.output, report_points(), per_line=True), args
    assert assert_no_report_exposed(tmp_path) >= 8
    brief = (tmp_path / "patrol" / "briefing.md").read_text()
    assert "StreetSafe" in brief
    # no reason is counted below 5
    assert not re.search(r"\((1|2|3|4)\)", brief)


def _small_counts(table: pd.DataFrame) -> dict[str, int]:
    """Count columns holding a value between 1 and 4: {column: how many}."""
    found = {}
    for col in privacy.COUNT_COLUMNS:
        if col in table.columns:
            v = pd.to_numeric(table[col], errors="coerce")
            if n := int(((v > 0) & (v < privacy.MIN_REPORTS)).sum()):
                found[col] = n
    return found


def test_suppress_counts_blanks_cells_of_fewer_than_k():
    """Hand-made change result: the row of 2 + 9 is blanked whole (a shown total and
    after would give the 2 back), the row of 5 + 7 stays; without anonymous reports,
    nothing changes."""
    grid = pd.DataFrame({"count": [11, 12, 0], "n_before": [2, 5, 0], "n_after": [9, 7, 0],
                         "change": [7, 2, 0], "p": [0.06, 0.8, 1.0], "label": ["a", "b", "c"]})
    assert privacy.suppress_counts(grid) is grid  # no attrs: not from anonymous reports
    grid.attrs["anonymous_reports"] = 23
    out = privacy.suppress_counts(grid)
    assert out[["count", "n_before", "n_after", "change", "p"]].iloc[0].isna().all()
    assert out["count"].tolist()[1:] == [12, 0] and out["p"].tolist()[1:] == [0.8, 1.0]
    assert out["label"].tolist() == ["a", "b", "c"] and out.attrs["suppressed_cells"] == 1
    assert grid["count"].tolist() == [11, 12, 0]  # input untouched
    assert privacy.suppress_counts(grid, min_reports=2)["count"].notna().all()


@pytest.mark.parametrize("command", ["kde", "gistar", "forecast"])
def test_grid_outputs_of_streetsafe_sample_show_no_count_under_k(command, tmp_path):
    """kde / gistar / forecast of the StreetSafe sample in every format: no count of 1-4
    (the sample has many such cells), no report point, and the same suppression in all."""
    lib = {"kde": hs.kde, "gistar": hs.gistar, "forecast": hs.forecast}[command]
    inc = hs.read_incidents(SAMPLE)
    raw = lib(inc, **({"quiet": True} if command == "forecast" else {}))
    assert raw.attrs["anonymous_reports"] == len(inc)
    assert _small_counts(raw)  # the library's frame has them: the writers must blank them
    run = CliRunner()
    for ext in ("csv", "geojson", "gpkg"):
        out = tmp_path / f"{command}.{ext}"
        result = run.invoke(app, [command, str(SAMPLE), "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        table = pd.read_csv(out) if ext == "csv" else gpd.read_file(out)
        assert len(table) == len(raw), ext
        assert not _small_counts(table), (ext, _small_counts(table))
        shown = table[[c for c in privacy.COUNT_COLUMNS if c in table.columns]]
        assert shown.isna().any(axis=1).sum() == privacy.suppress_counts(raw).attrs[
            "suppressed_cells"], ext
    assert assert_no_report_exposed(tmp_path) == 2


@pytest.mark.parametrize("command", ["change", "classify"])
def test_change_by_cell_of_streetsafe_sample_shows_no_count_under_k(command, tmp_path):
    result = CliRunner().invoke(app, [command, str(SAMPLE), "--out", str(tmp_path / "ch")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "ch" / f"{command}.csv")
    gj = gpd.read_file(tmp_path / "ch" / f"{command}.geojson")
    assert table["count"].isna().any() and table["count"].notna().any()
    for t in (table, gj):
        assert not _small_counts(t)
        if command == "change":  # what would give the blanked counts back
            blank = t.loc[t["count"].isna(), ["n_before", "n_after", "change", "p"]]
            assert blank.isna().all(axis=None)
    assert assert_no_report_exposed(tmp_path / "ch") >= 3  # csv, geojson, html


# ---------------------------------------------------------------- packs: Markdown, GPX

def test_md_text_escapes_markup_and_links():
    assert md_text(PAYLOAD) == "&lt;img src=x onerror=alert(1)&gt;"
    assert md_text("[x](javascript:alert(1))").startswith("\\[x\\]")
    assert "://" not in md_text("see https://evil.example")
    assert md_text("a\nb|c") == "a b\\|c"
    assert md_text("# not a heading").startswith("\\#")


def test_xml_text_strips_controls_and_round_trips():
    text = "Bell\x07 and NUL\x00 <b>&\"'" + "\x1b[31m"
    doc = f'<a t="{xml_text(text, attribute=True)}">{xml_text(text)}</a>'
    root = ET.fromstring(doc)
    assert root.text == root.get("t") == "Bell and NUL <b>&\"'[31m"


def test_static_maps_draw_no_anonymous_point(streetsafe):
    """plot_hotspots and plot_place (the packs' static maps) leave the reports out."""
    from hotspots.plots import plot_hotspots, plot_place

    robberies = streetsafe.head(50).assign(category="robbery")
    both = pd.concat([streetsafe, robberies], ignore_index=True)
    for fig in (plot_hotspots(inc=both), plot_place(inc=both, stations=False)):
        drawn = [tuple(np.round(xy, 1)) for ax in fig.axes for c in ax.collections
                 for xy in c.get_offsets()]
        # the 50 robberies (points shared with 50 reports) are drawn, nothing else is
        assert len(drawn) == 50, len(drawn)
