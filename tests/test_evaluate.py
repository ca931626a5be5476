"""PAI and RRI by hand, against geopandas on real data, and the backtest's bookkeeping."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

import hotspots as hs


def pts(xy):
    return gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in xy], crs=27700)


def test_pai_by_hand():
    study = box(0, 0, 1000, 1000)
    hot = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100)], crs=27700)  # 1% of the area
    test = pts([(50, 50)] * 5 + [(500, 500)] * 5)
    assert hs.pai(hot, test, study) == pytest.approx((5 / 10) / 0.01)
    assert hs.pai(hot, test, 1e6) == pytest.approx(50)
    # hotspot area outside the study area does not count; points outside are not in N
    hot2 = gpd.GeoDataFrame(geometry=[box(-100, 0, 100, 100)], crs=27700)
    test2 = pd.concat([test, pts([(-50, 50)] * 3)])
    assert hs.pai(hot2, test2, study) == pytest.approx(50)


def test_rri_by_hand():
    hot = box(0, 0, 100, 100)
    train = pts([(10, 10)] * 4 + [(500, 500)] * 16)
    test = pts([(10, 10)] * 6 + [(500, 500)] * 24)
    assert hs.rri(hot, train, test) == pytest.approx((6 / 4) / (30 / 20))
    assert np.isnan(hs.rri(box(900, 900, 950, 950), train, test))


def test_pai_on_harrow_matches_sjoin():
    inc = hs.read_incidents("harrow_crime_2022")
    m = inc["month"].dt.month
    train, test = inc[m <= 6], inc[m > 6]
    areas = hs.top_areas(train, n=20, quiet=True)
    study = hs.boroughs("Harrow")
    inside = gpd.sjoin(test[["geometry"]], study[["geometry"]], predicate="intersects")
    inside = inside[~inside.index.duplicated()]
    hot = areas.geometry.union_all().intersection(study.geometry.union_all())
    hits = gpd.sjoin(inside[["geometry"]], gpd.GeoDataFrame(geometry=[hot], crs=27700),
                     predicate="intersects")
    expect = (len(hits) / len(inside)) / (hot.area / study.area.sum())
    got = hs.pai(areas, test, study)
    assert got == pytest.approx(expect)
    assert got > 3  # top-twenty areas catch far more than their area's share
    tr_hits = gpd.sjoin(train[["geometry"]], areas[["geometry"]], predicate="intersects")
    n_tr = tr_hits.index.nunique()
    te_hits = gpd.sjoin(test[["geometry"]], areas[["geometry"]], predicate="intersects")
    expect_rri = (te_hits.index.nunique() / n_tr) / (len(test) / len(train))
    assert hs.rri(areas, train, test) == pytest.approx(expect_rri)


@pytest.fixture(scope="module")
def barnet():
    return hs.read_incidents("barnet_burglary")


@pytest.fixture(scope="module")
def bt(barnet):
    return hs.backtest(barnet, methods=["forecast", "counts", "decayed", "kde", "gistar",
                                        "dbscan"], windows=(1, 12), months=3, quiet=True)


def test_backtest_every_method_flags_exactly_the_same_area(bt):
    t, s = bt
    assert {"forecast", "counts", "decayed", "kde", "gistar", "dbscan"} <= set(t["method"])
    # exactly 5% of Barnet for every method in every month (the last cell fractional)
    np.testing.assert_allclose(t["area_share"], 0.05, rtol=1e-12)
    assert (s["folds"] == 3).all()


def test_backtest_bookkeeping(bt, barnet):
    t, s = bt
    labels = set(t["label"])
    assert "naive (last month's counts)" in labels  # baselines always in the table
    assert "decayed counts (half-life 12, 24 months)" in labels
    assert list(t["month"].drop_duplicates()) == list(pd.to_datetime(
        ["2023-01-01", "2023-02-01", "2023-03-01"]))
    np.testing.assert_allclose(t["pai"], (t["hits"] / t["n_test"]) / t["area_share"])
    assert (t["hits"] <= t["n_test"]).all()
    assert ((t["pei"] > 0) & (t["pei"] <= 1 + 1e-12)).all()  # Hunt: at most the best cells
    # n_test: the month's burglaries inside Barnet
    barnet_poly = hs.boroughs("Barnet")
    naive = t[t["label"] == "naive (last month's counts)"]
    for month, n_test in naive[["month", "n_test"]].itertuples(index=False):
        sub = barnet[barnet["month"] == month]
        inside = gpd.sjoin(sub[["geometry"]], barnet_poly[["geometry"]], predicate="intersects")
        assert n_test == len(inside)
    means = t.groupby("label")["pai"].mean()
    np.testing.assert_allclose(s.set_index("label").loc[means.index, "mean_pai"], means)
    assert (s["mean_pai"] > 1).all()  # every method beats chance on burglary
    assert t.loc[t["method"] == "forecast", "chosen"].str.len().gt(0).all()


def test_backtest_counts_baseline_by_hand(bt, barnet):
    """12 months of counts: the hits are the test burglaries in the flagged cells; the
    cells are the 5% with most burglaries in the 12 months before (independent binning)."""
    t, _ = bt
    poly = hs.boroughs("Barnet").geometry.iloc[0]
    inside = barnet[barnet.intersects(poly)]
    key = np.floor(np.column_stack([inside.geometry.x, inside.geometry.y]) / 100).astype(int)
    cells = pd.Series(list(map(tuple, key)), index=inside.index)
    row = t[t["label"] == "counts, last 12 months"].iloc[-1]
    month = row["month"]
    tr = (inside["month"] < month) & (inside["month"] >= month - pd.DateOffset(months=12))
    top = cells[tr].value_counts()
    test = cells[inside["month"] == month].value_counts()
    # the ten busiest training cells are surely flagged (5% of Barnet is ~870 cells)
    assert row["hits"] >= sum(test.get(c, 0) for c in top.index[:10])
    # and every flagged cell had a training burglary (~2,000 such cells, more than 870)
    assert row["hits"] <= test[test.index.isin(top.index)].sum() + 1e-9


def test_backtest_auto_never_reads_the_test_month(barnet):
    """Poison the last test month (every burglary moved to one corner cell): the earlier
    folds and the last fold's choice are unchanged."""
    last = barnet["month"].max()
    poisoned = barnet.copy()
    m = (poisoned["month"] == last).to_numpy()
    corner = poisoned.geometry[~m].iloc[0]
    poisoned.loc[m, "geometry"] = corner
    a = hs.backtest(barnet, methods=["forecast"], months=2, quiet=True).table
    b = hs.backtest(poisoned, methods=["forecast"], months=2, quiet=True).table
    fa, fb = a[a["method"] == "forecast"], b[b["method"] == "forecast"]
    assert fa["chosen"].tolist() == fb["chosen"].tolist()
    pd.testing.assert_series_equal(a["pai"].iloc[:1], b["pai"].iloc[:1], check_names=False)
    assert fa["pai"].iloc[-1] != fb["pai"].iloc[-1]  # the poison did reach the score


def test_backtest_top20_at_their_own_area(city):
    r = hs.backtest(city, methods=["top20"], cell_size=50, months=3, quiet=True,
                    study_area=hs.boroughs("City of London"))
    t20 = r.table[r.table["method"] == "top20"]
    assert len(t20) == 3 and (t20["area_share"] > 0).all()
    # the union of the top twenty areas holds at least what the decayed-count cells
    # of the same total area hold (City of London)
    assert t20["pai"].mean() >= t20["pai_decayed_same_area"].mean() - 1e-9


def test_cli_backtest_runs():
    from typer.testing import CliRunner

    from hotspots.cli import app

    res = CliRunner().invoke(app, ["backtest", "--months", "2"])
    assert res.exit_code == 0, res.output
    assert "PAI" in res.output and "forecast (auto)" in res.output


def test_forecast_beats_decayed_and_plain_counts_on_barnet(barnet):
    """Issue 16's acceptance: at exactly 5% of Barnet, 100 m cells, the last 36 months as
    folds, hs.forecast's mean next-month PAI >= decayed counts (half-life 12, 24 months)
    and >= plain 12-month counts, computed the same way in the same run."""
    r = hs.backtest(barnet, methods=["forecast", "counts"], windows=(12,), months=36,
                    study_area=hs.boroughs("Barnet"), quiet=True)
    pai = r.summary.set_index("label")["mean_pai"]
    auto = pai["forecast (auto)"]
    assert auto >= 1.05 * pai["decayed counts (half-life 12, 24 months)"]  # measured +5.1%
    assert auto >= pai["counts, last 12 months"]


def test_forecast_at_least_decayed_on_the_city():
    city = hs.read_incidents("city_of_london_2019", bounds="City of London")
    r = hs.backtest(city, methods=["forecast", "counts"], windows=(12,), cell_size=50,
                    quiet=True)
    pai = r.summary.set_index("label")["mean_pai"]
    assert r.summary.attrs["folds"] == 11
    assert pai["forecast (auto)"] >= pai["decayed counts (half-life 12, 24 months)"] - 1e-12
    assert pai["forecast (auto)"] >= pai["counts, last 12 months"]
