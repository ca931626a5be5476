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
    return hs.backtest(barnet, months=3, quiet=True)


def test_backtest_bookkeeping(bt, barnet):
    t, s = bt
    methods = set(t["method"])
    assert {"kde", "dbscan", "hdbscan", "grid"} <= methods
    assert len(t) == 3 * len(methods)
    assert list(t["month"].drop_duplicates()) == list(pd.to_datetime(
        ["2023-01-01", "2023-02-01", "2023-03-01"]))
    np.testing.assert_allclose(t["pai"], (t["hits"] / t["n_test"]) / t["area_share"])
    assert (t["hits"] <= t["n_test"]).all()
    assert (t["area_share"] <= 0.05 + 1e-9).all()
    kde = t[t["method"] == "kde"]
    assert (kde["area_share"] > 0.0497).all()  # KDE has signal everywhere: full budget
    # n_test: the month's burglaries inside Barnet
    barnet_poly = hs.boroughs("Barnet")
    for month, n_test in kde[["month", "n_test"]].itertuples(index=False):
        sub = barnet[barnet["month"] == month]
        inside = gpd.sjoin(sub[["geometry"]], barnet_poly[["geometry"]], predicate="intersects")
        assert n_test == len(inside)
    means = t.groupby("method")["pai"].mean()
    np.testing.assert_allclose(s.set_index("method").loc[means.index, "mean_pai"], means)
    assert (s["mean_pai"] > 1).all()  # every method beats chance on burglary


def test_backtest_grid_baseline_independent(bt, barnet):
    """When the budget exceeds the cells holding last month's burglaries, the grid
    baseline flags exactly those cells: hits = test burglaries sharing a cell."""
    t, _ = bt
    cs = t.attrs["cell_size"]
    g = t[t["method"] == "grid"]
    xy = np.column_stack([barnet.geometry.x, barnet.geometry.y])
    key = np.floor(xy / cs).astype(np.int64)
    in_barnet = hs.boroughs("Barnet").geometry.iloc[0].intersects(barnet.geometry).to_numpy()
    for month, hits, share in g[["month", "hits", "area_share"]].itertuples(index=False):
        prev = month - pd.DateOffset(months=1)
        tr = (barnet["month"] == prev).to_numpy()
        te = (barnet["month"] == month).to_numpy()
        train_cells = {tuple(k) for k in key[tr]}
        if share < 0.0495:  # budget not exhausted: every train cell was flagged
            expect = sum(tuple(k) in train_cells for k in key[te & in_barnet])
            assert hits == expect


def test_cli_backtest_runs():
    from typer.testing import CliRunner

    from hotspots.cli import app

    res = CliRunner().invoke(app, ["backtest", "--months", "2"])
    assert res.exit_code == 0, res.output
    assert "mean PAI" in res.output and "kde" in res.output
