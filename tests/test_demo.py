"""`make demo` end to end: Harrow first, every promised output written, offline and attributed."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import pytest
from typer.testing import CliRunner

import hotspots as hs
from hotspots.cli import app
from hotspots.datasets import PROJECT_ROOT

CALIBRATED = "calibrated to FixMyStreet report counts"


@pytest.fixture(scope="module")
def demo_out(demo_run):
    return demo_run[0]  # one demo run per session (conftest), shared with test_packs.py


@pytest.fixture(scope="module")
def index_rows(demo_out):
    """(description, file, data) per row of the demo's README table."""
    text = (demo_out / "README.md").read_text()
    return re.findall(r"^\| (.+?) \| `([^`]+)` \| (.+?) \|$", text, flags=re.M)


def test_demo_writes_every_listed_output(demo_out, index_rows):
    listed = [f for _, f, _ in index_rows]
    assert len(listed) >= 30
    for rel in listed:
        assert (demo_out / rel).is_file(), rel
    for part in ("harrow/crime_ward_counts_monthly.csv", "harrow/ward_counts_rates_2022.csv",
                 "harrow/robbery_violence_top20_areas.csv",
                 "harrow/robbery_violence_hotspots_map.html",
                 "harrow/flytips_fixmystreet_ward_reports.csv",
                 "focus-week-2022-W06/councillor-summary.html", "patrol-harrow/briefing.md",
                 "patrol/briefing.html", "patrol/route.gpx", "flytip-top20/action-plans.csv",
                 "flytip-top20/areas.csv"):
        assert part in listed
    index = (demo_out / "README.md").read_text()
    assert "OpenStreetMap" in index and "Open Government Licence" in index
    assert "ODC-By" in index and "reporting, not incidence" in index


def test_every_output_says_its_data_and_licence(index_rows):
    for what, rel, data in index_rows:
        # a licence for every real dataset; generated-only files say SYNTHETIC instead
        assert re.search(r"\((OGL v3\.0|ODbL 1\.0|ODC-By 1\.0)\)", data) or (
            data.startswith("SYNTHETIC") and ";" not in data), rel
        if "flytip" in rel or "fly-tip" in what.lower() or "focus" in rel:
            assert "SYNTHETIC" in data and CALIBRATED in data, rel
        if rel.startswith("patrol/"):
            assert "OpenStreetMap" in data or "OSM" in data or "ODbL" in data, rel
        if rel.startswith("patrol-harrow/"):
            assert "ODbL" not in data and "police.uk" in data, rel


def _ward_of(inc: gpd.GeoDataFrame, tolerance: float = 25.0) -> pd.Series:
    """Independent reference for the one ward-join policy: geopandas' spatial join to
    every London 2022 ward (a shared edge: lowest code), then the nearest ward within
    `tolerance` metres for points in none."""
    london = hs.wards(None, 2022)[["ward_code", "geometry"]]
    hit = gpd.sjoin(inc[["geometry"]], london, predicate="intersects", how="left")
    code = hit.groupby(level=0)["ward_code"].min().reindex(inc.index)
    miss = code.isna()
    near = gpd.sjoin_nearest(inc.loc[miss, ["geometry"]], london, max_distance=tolerance,
                             how="left")
    code[miss] = near.groupby(level=0)["ward_code"].first()
    return code


@pytest.fixture(scope="module")
def harrow_in_wards(harrow):
    """Harrow's 2022 crimes in Harrow's 2022 wards, by the reference join (66 of the
    14,946 rows lie inside a neighbouring borough's ward and are left out)."""
    return harrow[_ward_of(harrow).isin(hs.wards("Harrow", 2022)["ward_code"])]


def test_demo_ward_counts_cover_all_harrow_wards_and_rows(demo_out, harrow_in_wards):
    counts = pd.read_csv(demo_out / "harrow" / "crime_ward_counts_monthly.csv")
    assert counts["ward_code"].nunique() == 22  # Harrow's 2022 wards, zero-filled
    assert counts["period"].nunique() == 12
    assert counts["count"].sum() == len(harrow_in_wards) == 14_880


def test_demo_cli_and_library_give_one_ward_total(demo_out, harrow, harrow_in_wards):
    """One ward-join policy: the demo, `hotspots counts --borough` and the library
    (hs.borough_incidents + hs.ward_counts) count each ward alike, as the reference."""
    demo = pd.read_csv(demo_out / "harrow" / "crime_ward_counts_monthly.csv")
    demo = demo.groupby("ward_code")["count"].sum()
    res = CliRunner().invoke(app, ["counts", "harrow_crime_2022", "--borough", "Harrow",
                                   "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    cli = pd.DataFrame(json.loads(res.stdout)["rows"]).set_index("ward_code")["count"]
    lib = hs.ward_counts(hs.borough_incidents(harrow, "Harrow"), freq=None, by=None,
                         wards=hs.wards("Harrow", 2022)).set_index("ward_code")["count"]
    ref = _ward_of(harrow_in_wards).value_counts()
    for got in (demo, cli, lib):
        assert got[got > 0].sort_index().to_dict() == ref.sort_index().to_dict()


def test_rates_table_has_four_measures_and_rate_is_count_per_1000(demo_out, harrow_in_wards):
    t = pd.read_csv(demo_out / "harrow" / "ward_counts_rates_2022.csv")
    assert set(t["measure"]) == {"robbery", "violence and sexual offences", "burglary",
                                 "fly-tips (SYNTHETIC)"}
    assert (t.groupby("measure")["ward_code"].nunique() == 22).all()
    assert t["rate_per_1000"].to_numpy() == pytest.approx(
        (t["count"] / t["population"] * 1000).to_numpy(), rel=1e-3)  # population rounded
    # crime totals recounted from the file's rows in Harrow's wards (reference join)
    n = harrow_in_wards["category"].value_counts()
    total = t.groupby("measure")["count"].sum()
    assert total["robbery"] == n["robbery"]
    assert total["violence and sexual offences"] == n["violence_sexual"]
    assert total["burglary"] == n["burglary"]
    sample = pd.read_csv(PROJECT_ROOT / "sample_data" / "harrow_flytips_2022_synthetic.csv.gz")
    assert total["fly-tips (SYNTHETIC)"] == len(sample)
    flies = t[t["measure"] == "fly-tips (SYNTHETIC)"]
    assert flies["source"].str.contains("SYNTHETIC").all()
    assert flies["source"].str.contains(CALIBRATED).all()
    assert t.loc[t["measure"] == "robbery", "source"].str.contains("police.uk").all()
    assert t["population_source"].str.contains("GLA").all()


def test_robbery_violence_top20_counts_only_those_categories(demo_out, harrow):
    t = pd.read_csv(demo_out / "harrow" / "robbery_violence_top20_areas.csv")
    assert len(t) == 20 and t["rank"].tolist() == list(range(1, 21))
    n_cols = [c for c in t.columns if c.startswith("n_") and c != "n_incidents"]
    assert set(n_cols) == {"n_robbery", "n_violence_sexual"}
    assert (t["n_robbery"] + t["n_violence_sexual"] == t["n_incidents"]).all()
    assert t["source"].str.contains("police.uk").all()
    # recount: robbery + violence points inside each area polygon
    areas = gpd.read_file(demo_out / "harrow" / "robbery_violence_top20_areas.geojson")
    areas = areas.to_crs(27700)
    rv = harrow[harrow["category"].isin(["robbery", "violence_sexual"])]
    for (_, a), n in zip(areas.iterrows(), t["n_incidents"], strict=True):
        assert int(rv.geometry.within(a.geometry.buffer(1e-6)).sum()) == n, a["rank"]


def test_fixmystreet_reports_beside_synthetic(demo_out):
    t = pd.read_csv(demo_out / "harrow" / "flytips_fixmystreet_ward_reports.csv")
    assert len(t) == 22
    real = hs.fixmystreet_counts("Harrow", by="ward")
    assert t.set_index("ward_code")["reports"].to_dict() == \
        real.set_index("ward_code")["reports"].to_dict()
    assert t["source"].str.contains("not incidence").all()
    # the background points (planted hotspots aside) rank the wards as the real reports do
    assert t["reports"].corr(t["synthetic_background_2022"], method="spearman") > 0.8
    # and so do all the points, planted hotspots included (placed by the same shares)
    assert t["reports"].corr(t["synthetic_2022"], method="spearman") > 0.8
    # the ward with fewest real reports (Canons) is not among the busiest synthetic half
    assert t.loc[t["reports"].idxmin(), "synthetic_rank"] > 11


def test_harrow_patrol_briefing_names_places_and_says_no_network(demo_out):
    md = (demo_out / "patrol-harrow" / "briefing.md").read_text()
    assert "No street network" in md and "Harrow-on-the-Hill station" in md
    assert "shopping area" in md and "police.uk" in md and "OpenStreetMap" not in md
    city = (demo_out / "patrol" / "briefing.md").read_text()
    assert "No street network" not in city and "OpenStreetMap" in city
    assert "footpaths absent" in city


def test_demo_maps_are_offline(demo_out):
    for html in demo_out.rglob("*.html"):
        text = html.read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", text), html
        assert not re.search(r"<link[^>]+href=\"https?://", text), html


def test_demo_synthetic_outputs_say_so(demo_out):
    summary = (demo_out / "focus-week-2022-W06" / "councillor-summary.md").read_text()
    plans = (demo_out / "flytip-top20" / "action-plans.md").read_text()
    for text in (summary, plans):
        assert "SYNTHETIC" in text and CALIBRATED in text and "not incidence" in text
    weekly = pd.read_csv(demo_out / "harrow" / "flytips_ward_counts_weekly_SYNTHETIC.csv")
    assert weekly["source"].str.contains(CALIBRATED).all()


#: the licences the registry's attribution lines name, in full
LICENCE = r"Open Government Licence v3\.0|ODbL 1\.0|ODC-By 1\.0"


def _is_flytip(rel: str) -> bool:
    return "flytip" in rel or "focus" in rel


def test_every_csv_says_its_source_and_licence(demo_out, index_rows):
    listed = {f: data for _, f, data in index_rows}
    csvs = sorted(str(p.relative_to(demo_out)) for p in demo_out.rglob("*.csv"))
    assert len(csvs) >= 15
    assert {"flytip-top20/action-plans.csv", "focus_history.csv", "harrow/crime_rejects.csv",
            "focus-week-2022-W06/menu.csv", "change/harrow_2022_by_ward/change.csv"} <= set(csvs)
    for rel in csvs:
        t = pd.read_csv(demo_out / rel, dtype=str, keep_default_na=False)
        assert "source" in t.columns, rel
        if not len(t):  # no rows to label (Harrow has no rejects): the index says it
            assert re.search(r"\((OGL v3\.0|ODbL 1\.0|ODC-By 1\.0)\)", listed[rel]), rel
            continue
        src = t["source"]
        assert src.str.contains(LICENCE).all(), rel
        if _is_flytip(rel):
            assert src.str.contains("SYNTHETIC").all(), rel
            assert src.str.contains(CALIBRATED).all() and src.str.contains("FixMyStreet").all()
            assert src.str.contains("ODC-By 1.0").all(), rel  # FixMyStreet's licence
        elif rel.startswith(("harrow/crime", "harrow/robbery", "change/harrow")):
            assert src.str.contains("police.uk").all() and not src.str.contains("SYNTHETIC").any()
    # the columns people rely on stay first: the team's action-plan sheet still starts as before
    plans = pd.read_csv(demo_out / "flytip-top20" / "action-plans.csv", nrows=1)
    assert list(plans.columns[:3]) == ["area", "where", "action"]
    assert plans.columns[-1] == "source"


def test_every_geojson_is_attributed(demo_out):
    files = sorted(demo_out.rglob("*.geojson"))
    assert len(files) >= 5
    for p in files:
        doc = json.loads(p.read_text())
        assert re.search(LICENCE, doc["attribution"]), p
        assert doc["features"], p
        assert all(f["properties"]["source"] == doc["attribution"] for f in doc["features"]), p
    city = json.loads((demo_out / "patrol" / "route.geojson").read_text())["attribution"]
    harrow = json.loads((demo_out / "patrol-harrow" / "route.geojson").read_text())["attribution"]
    assert "ODbL 1.0" in city and "police.uk" in city  # walked on the OSM network
    assert "OpenStreetMap" not in harrow and "police.uk" in harrow  # no network used
    # still readable as a layer
    assert len(gpd.read_file(demo_out / "patrol" / "route.geojson")) == len(
        json.loads((demo_out / "patrol" / "route.geojson").read_text())["features"])


def test_gpx_carries_copyright_and_licence(demo_out):
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    expected = {"patrol": "https://opendatacommons.org/licenses/odbl/1-0/",
                "patrol-harrow": "https://www.nationalarchives.gov.uk/doc/"
                                 "open-government-licence/version/3/"}
    for folder, url in expected.items():
        meta = ET.parse(demo_out / folder / "route.gpx").getroot().find("g:metadata", ns)
        rights = meta.find("g:copyright", ns)
        assert re.search(LICENCE, rights.get("author")) and "police.uk" in rights.get("author")
        assert rights.find("g:license", ns).text == url
        assert re.search(LICENCE, meta.find("g:desc", ns).text)


def test_cli_outputs_from_the_synthetic_sample_say_so(tmp_path):
    # a path (not a registry key) to the project's synthetic sample is still recognised
    sample = PROJECT_ROOT / "sample_data" / "harrow_flytips_2022_synthetic.csv.gz"
    out = tmp_path / "counts.csv"
    result = CliRunner().invoke(app, ["counts", str(sample), "--borough", "Harrow", "--out",
                                      str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    src = pd.read_csv(out)["source"]
    assert src.str.contains("SYNTHETIC").all() and src.str.contains(CALIBRATED).all()
    assert src.str.contains("ODC-By 1.0").all() and src.str.contains("OS data").all()
    # a file of the user's own is named, its licence left to its publisher
    own = tmp_path / "mine.csv"
    pd.read_csv(sample).assign(source="council").to_csv(own, index=False)
    result = CliRunner().invoke(app, ["counts", str(own), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    src = pd.read_csv(out)["source"]
    assert src.str.contains("mine.csv").all() and not src.str.contains("SYNTHETIC").any()


def test_with_source_appends_last_and_fills_only_blanks(tmp_path):
    from hotspots._atomic import atomic_write_csv, atomic_write_geojson

    t = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    atomic_write_csv(t, tmp_path / "t.csv", source="S (OGL v3.0)")
    back = pd.read_csv(tmp_path / "t.csv")
    assert list(back.columns) == ["a", "b", "source"] and (back["source"] == "S (OGL v3.0)").all()
    # a source column already there keeps its place and its values; blanks are filled
    t2 = pd.DataFrame({"source": ["police.uk", None], "n": [1, 2]})
    atomic_write_csv(t2, tmp_path / "t2.csv", source="S")
    assert pd.read_csv(tmp_path / "t2.csv")["source"].tolist() == ["police.uk", "S"]
    g = gpd.GeoDataFrame({"n": [3], "when": [pd.Timestamp("2022-01-01")]},
                         geometry=gpd.points_from_xy([530000], [180000]), crs=27700)
    atomic_write_geojson(g, tmp_path / "g.geojson", source="S")
    doc = json.loads((tmp_path / "g.geojson").read_text())
    assert doc["attribution"] == "S"
    assert doc["features"][0]["properties"] == {"n": 3, "when": "2022-01-01 00:00:00",
                                                "source": "S"}
    assert doc["features"][0]["geometry"]["coordinates"][0] == pytest.approx(-0.1, abs=0.05)


def test_demo_shows_no_streetsafe_report(demo_out, index_rows):
    """Anonymous reports stay anonymous in every demo output (hotspots/privacy.py): no
    StreetSafe report's point (lon/lat or BNG, to 5 decimals) or location text anywhere."""
    from test_privacy import assert_no_report_exposed, report_points

    listed = [f for _, f, _ in index_rows]
    for part in ("streetsafe/streetsafe_map.html", "streetsafe/streetsafe_top10_areas.csv",
                 "streetsafe/streetsafe_top10_areas.geojson", "streetsafe/patrol/briefing.md",
                 "streetsafe/patrol/route.gpx"):
        assert part in listed
    # one synthetic fly-tip (drawn as a point, as fly-tips are) falls within a metre of
    # a StreetSafe report: that coordinate says nothing about the report
    tips = report_points(PROJECT_ROOT / "sample_data" / "harrow_flytips_2022_synthetic.csv.gz")
    points = report_points() - tips
    assert len(points) >= 2 * 780 - 2
    # (the fly-tips' location text reads like the reports': only the points are checked
    # here; test_privacy checks the text of outputs made from the StreetSafe sample)
    assert assert_no_report_exposed(demo_out, points, texts=()) >= 40
    assert "synthetic location near" not in "".join(
        p.read_text() for p in (demo_out / "streetsafe").rglob("*")
        if p.suffix in (".md", ".html", ".csv", ".geojson", ".gpx"))
    text = (demo_out / "streetsafe" / "streetsafe_map.html").read_text()
    assert "counts per 250 m cell holding at least 5" in text
    # the folder is complete and marked as one run's output
    assert (demo_out / ".hotspots-output.json").exists()
    assert not any(p.name.startswith(f".{demo_out.name}.") for p in demo_out.parent.iterdir())


def test_demo_messages_name_the_final_folder_not_the_temporary_one(tmp_path):
    """The demo writes into a hidden temporary folder; what it says names `out/...`."""
    from hotspots.demo import DemoContext

    ctx = DemoContext(tmp_path / ".out.123.tmp", final=tmp_path / "out")
    assert ctx.shown(ctx.out / "patrol") == tmp_path / "out" / "patrol"
    assert DemoContext(tmp_path).shown(tmp_path / "patrol") == tmp_path / "patrol"
