"""Argument sanity (hotspots/_validate.py): finite positive numbers, output names that
match the format written, place names compared after Unicode whitespace normalisation."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

import hotspots as hs
from hotspots import review
from hotspots._validate import check_positive, check_suffix, norm_name
from hotspots.boundaries import find_ward
from hotspots.datasets import PROJECT_ROOT


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, "inf", "nan", 0, -5, "x"])
def test_check_positive_wants_a_finite_positive_number(bad):
    with pytest.raises(hs.BadInputError, match="minutes"):
        check_positive(bad, "minutes")


def test_check_positive_passes_numbers():
    assert check_positive("2.5", "x") == 2.5 and check_positive(None, "x") is None


def test_plan_patrol_refuses_infinite_minutes():
    t = gpd.GeoDataFrame({"target_id": ["T1"], "name": ["a"], "why": ["w"], "value": [1.0],
                          "dwell_min": [10]}, geometry=[Point(530_000, 180_000)], crs=27700)
    for minutes in (math.inf, math.nan, 0):
        with pytest.raises(hs.BadInputError, match="max_minutes"):
            hs.plan_patrol(None, t, max_minutes=minutes)


def test_check_suffix():
    formats = {".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".csv": "CSV"}
    assert check_suffix("a/b.GPKG", formats) == "GeoPackage"
    with pytest.raises(hs.BadInputError, match=r"x\.xyz.*\.gpkg \(GeoPackage\)"):
        check_suffix("x.xyz", formats, "--out")
    with pytest.raises(hs.BadInputError, match="no extension"):
        check_suffix("out/grid", formats, "--out")


@pytest.mark.parametrize("raw", ["Pinner\u00a0", " pinner", "PINNER\u200b", "Pinner\ufeff",
                                 "Pin\u00adner", "Pinner\u2009\u3000"])
def test_norm_name_unicode_whitespace(raw):
    assert norm_name(raw) == "pinner"


def test_norm_name_inner_spaces():
    assert norm_name("Harrow\u00a0on  the\tHill") == "harrow on the hill"


@pytest.fixture(scope="module")
def wards():
    return hs.wards(borough="Harrow", year=2022)


def test_find_ward_ignores_unicode_whitespace(wards):
    for raw in ("Harrow\u00a0on the Hill", "harrow on the hill\u00a0", "Harrow on\u2009the Hill"):
        assert find_ward(raw, wards)["ward_name"] == "Harrow on the Hill"


@pytest.fixture(scope="module")
def tips(wards):
    inc = hs.read_incidents(PROJECT_ROOT / "sample_data" / "harrow_flytips_2022_synthetic.csv.gz")
    return hs.assign_wards(inc, wards)


def test_focus_week_teams_table_with_non_breaking_spaces(tips, wards):
    # a spreadsheet's names: trailing NBSP, NBSP inside, a zero-width space
    names = [n + "\u00a0" if i % 3 == 0 else n.replace(" ", "\u00a0") if i % 3 == 1
             else n + "\u200b" for i, n in enumerate(wards["ward_name"])]
    teams = pd.DataFrame({"ward_name": names,
                          "team": ["East" if i % 2 else "West" for i in range(len(names))]})
    fw = hs.focus_week(tips, wards, week="2022-06-06", teams=teams, population=False)
    assert not any("Teams table" in n or "have no team" in n for n in fw.notes), fw.notes
    assert fw.ranking["team"].notna().all()
    assert len(fw.chosen) == 2


def test_actions_log_ward_names_with_non_breaking_spaces(wards, tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("week,ward,measure,value\n"
                 "2022-01-31,Pinner\u00a0,FPNs evidenced (fly tip),2\n"
                 "2022-01-31,Harrow\u00a0on the Hill,focus fly tips created,3\n", "utf-8")
    r = review.actions_review(p, "2022-02-07", wards=wards)
    assert r.attrs["rejected"] == []
    by = r.set_index("measure")
    assert by.at["FPNs evidenced (fly tip)", "value"] == 2
    assert by.at["focus fly tips created", "wards"] == "Harrow on the Hill"
