"""Change over time: checked against scipy, hand-computed cases, a published WDD
example and planted patterns on a tiny 5x5 grid; Barnet burglary for the real data."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats as sps

import hotspots as hs
from hotspots import datasets
from hotspots.change import CHANGE_LABELS, hotspot_change, trend_table
from hotspots.classify import (
    ESRI_LABELS,
    SFHOTSPOT_LABELS,
    classify_hotspots,
    esri_label,
    mann_kendall,
    sfhotspot_label,
)
from hotspots.density import dual_kde
from hotspots.grid import Grid, make_grid
from hotspots.operation import operation_effect, wdd

X0, Y0 = 530_000.0, 180_000.0


@pytest.fixture(scope="module")
def barnet() -> gpd.GeoDataFrame:
    inc = hs.read_incidents(datasets.path("barnet_burglary"))
    return inc[inc["month"] >= "2021-01-01"].reset_index(drop=True)


def _points(xy, months=None, days=None) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, float).reshape(-1, 2)
    n = len(xy)
    df = {"incident_id": [f"i{i}" for i in range(n)], "category": "burglary"}
    if days is not None:
        occ = pd.to_datetime(pd.Series(days))
        df["occurred_at"] = occ.to_numpy()
        df["month"] = occ.dt.to_period("M").dt.start_time.to_numpy()
    else:
        df["occurred_at"] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
        df["month"] = pd.to_datetime(pd.Series(months)).to_numpy()
    return gpd.GeoDataFrame(df, geometry=shapely.points(xy), crs=27700)


# --------------------------------------------------------------------- Mann-Kendall
@pytest.mark.parametrize("ties", [False, True])
def test_mann_kendall_tau_is_scipy_kendall_tau_b(ties):
    rng = np.random.default_rng(1)
    x = rng.poisson(3, 40).astype(float) if ties else rng.normal(size=40) + np.linspace(0, 1, 40)
    assert ties == (len(np.unique(x)) < len(x))
    res = mann_kendall(x)
    ref = sps.kendalltau(np.arange(len(x)), x)  # tau-b
    assert res.tau == pytest.approx(ref.statistic, abs=1e-12)
    # S by brute force over all pairs
    S = sum(np.sign(x[j] - x[i]) for i in range(len(x)) for j in range(i + 1, len(x)))
    assert res.S == S
    # no ties: the continuity-corrected z of the textbook formula
    if not ties:
        n = len(x)
        z = (S - np.sign(S)) / math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
        assert res.z == pytest.approx(z)
        assert res.p == pytest.approx(2 * sps.norm.sf(abs(z)))


def test_mann_kendall_on_barnet_series_matches_scipy(barnet):
    monthly = barnet.groupby("month").size().sort_index()
    res = mann_kendall(monthly.to_numpy())
    ref = sps.kendalltau(np.arange(len(monthly)), monthly.to_numpy())
    assert res.tau == pytest.approx(ref.statistic, abs=1e-12)
    assert mann_kendall([1, 1, 1, 1]) == (0.0, 0.0, 0.0, 1.0)


# --------------------------------------------------------------------- before / after
def test_hotspot_change_counts_and_poisson_test(barnet):
    before_copy = barnet.copy()
    res = hotspot_change(barnet, split="2022-03-01", cell_size=500, quiet=True)
    pd.testing.assert_frame_equal(barnet, before_copy)  # input untouched
    split = pd.Timestamp("2022-03-01")
    assert res["n_before"].sum() == (barnet["month"] < split).sum()
    assert res["n_after"].sum() == (barnet["month"] >= split).sum()
    # independent binning with numpy
    grid = make_grid(barnet, 500)
    x, y = barnet.geometry.x.to_numpy(), barnet.geometry.y.to_numpy()
    b = (barnet["month"] < split).to_numpy()
    ex = grid.x0 + np.arange(grid.ncols + 1) * 500
    ey = grid.y0 + np.arange(grid.nrows + 1) * 500
    h, _, _ = np.histogram2d(x[b], y[b], bins=[ex, ey])
    ref = h.T[::-1]  # row 0 = north
    assert np.array_equal(ref[res["row"], res["col"]], res["n_before"].to_numpy())
    # the p-value is scipy's binomial test with the period lengths (14 and 13 months)
    t1, t2 = res.attrs["days_before"], res.attrs["days_after"]
    assert (t1, t2) == (424.0, 396.0)
    top = res.sort_values("count").iloc[-1]
    p = sps.binomtest(int(top["n_after"]), int(top["count"]), t2 / (t1 + t2)).pvalue
    assert top.p == pytest.approx(p)
    assert set(res["label"]) <= set(CHANGE_LABELS)
    assert (res["significant"] == (res["q"] < 0.05)).all()  # FDR across cells by default


def test_small_numbers_are_not_over_read():
    # 3 -> 6 in equal periods is +100% but p = 0.51; 10 -> 30 is significant
    pts = [(X0 + 50, Y0 + 50)] * 9 + [(X0 + 550, Y0 + 50)] * 40
    months = ["2022-01-01"] * 3 + ["2022-03-01"] * 6 + ["2022-01-01"] * 10 + ["2022-03-01"] * 30
    res = hotspot_change(_points(pts, months), split="2022-02-15", cell_size=100, quiet=True)
    assert res.attrs["split"] == "2022-02-01"  # month-only data: nearest month start
    small = res[res["count"] == 9].iloc[0]
    big = res[res["count"] == 40].iloc[0]
    # periods Jan (31 days) and Feb-Mar (59 days): the test uses those exposures
    assert small.p == pytest.approx(sps.binomtest(6, 9, 59 / 90).pvalue)
    assert not small.significant and small.change == 3
    assert big.p == pytest.approx(sps.binomtest(30, 40, 59 / 90).pvalue)


def test_hotspot_change_by_ward_matches_sjoin(barnet):
    res = hotspot_change(barnet, by="ward", quiet=True)
    wards = hs.wards()
    j = gpd.sjoin(barnet[["month", "geometry"]], wards[["ward_code", "geometry"]],
                  predicate="intersects").sort_values("ward_code")
    j = j[~j.index.duplicated(keep="first")]
    split = pd.Timestamp(res.attrs["split"])
    ref = j[j["month"] >= split].groupby("ward_code").size()
    got = res.set_index("ward_code")["n_after"]
    assert (got.reindex(ref.index) == ref).all()
    assert got.sum() == ref.sum()
    # only the wards the incidents fall in, not every ward near them
    assert set(res["ward_code"]) == set(j["ward_code"])


# --------------------------------------------------------------------- classification
GRID5 = Grid(X0, Y0, 100.0, 5, 5)


def _planted(active: list[int], n_periods: int = 10) -> gpd.GeoDataFrame:
    """One incident in every cell of a 5x5 grid each month (no pattern), plus 3 more in
    each cell of the NW 3x3 block in the `active` months."""
    xs = X0 + (np.arange(5) + 0.5) * 100
    ys = Y0 + 500 - (np.arange(5) + 0.5) * 100  # row 0 = north
    pts, months = [], []
    for k in range(n_periods):
        month = pd.Timestamp("2021-01-01") + pd.DateOffset(months=k)
        for r in range(5):
            for c in range(5):
                extra = 3 if (k in active and r < 3 and c < 3) else 0
                pts += [(xs[c], ys[r])] * (1 + extra)
                months += [month] * (1 + extra)
    return _points(pts, months)


@pytest.mark.parametrize(
    "active, sf, esri",
    [
        (list(range(10)), "persistent hotspot", "persistent hot spot"),
        ([8, 9], "emerging hotspot", "consecutive hot spot"),
        ([9], "emerging hotspot", "new hot spot"),
        ([0, 1, 2, 3, 4], "former hotspot", "no pattern detected"),
        ([0, 3, 6, 9], "intermittent hotspot", "sporadic hot spot"),
        (list(range(9)), "persistent hotspot", "historical hot spot"),
    ],
)
def test_classification_on_a_hand_computed_5x5_grid(active, sf, esri):
    res = classify_hotspots(_planted(active), freq="MS", grid=GRID5, quiet=True)
    cell = res.set_index(["row", "col"])
    # centre of the planted block: Gi* z = (9k - 81k/25) / (12k/25 * sqrt(6)) = 2*sqrt(6)
    centre = cell.loc[(1, 1)]
    assert centre.label_sfhotspot == sf
    assert centre.label_esri == esri
    assert centre.label == sf  # sfhotspot is the default scheme
    if 9 in active:
        assert centre.z_last == pytest.approx(2 * math.sqrt(6))
    # the far corner: z = -36/25 / (12/25 * sqrt(3.5)) = -1.60, never significant
    assert cell.loc[(4, 4)].label_sfhotspot == "no pattern"
    assert cell.loc[(4, 4)].label_esri == "no pattern detected"
    assert res.attrs["n_periods"] == 10


def test_esri_rules_on_hand_made_series():
    up = np.linspace(2.5, 6.0, 10)
    assert esri_label(up, up > 2, mann_kendall(up)) == "intensifying hot spot"
    assert esri_label(up[::-1], up > 2, mann_kendall(up[::-1])) == "diminishing hot spot"
    osc = np.array([3, -3, 0, 0, 0, 0, 0, 0, 0, 3.0])
    assert esri_label(osc, abs(osc) > 2, mann_kendall(osc)) == "oscillating hot spot"
    cold = -np.full(10, 3.0)
    assert esri_label(cold, cold < -2, mann_kendall(cold)) == "persistent cold spot"
    one_cold = np.r_[np.zeros(9), -3.0]
    assert esri_label(one_cold, one_cold < -2, mann_kendall(one_cold)) == "new cold spot"
    # sfhotspot: 1 of 8 older periods hot, none recent -> former; hot and cold -> mixed
    hot = np.r_[True, np.zeros(9, bool)]
    assert sfhotspot_label(hot, np.zeros(10, bool)) == "former hotspot"
    assert sfhotspot_label(hot, np.roll(hot, 3)) == "mixed hot/coldspot"


def test_classification_on_barnet_is_deterministic(barnet):
    a = classify_hotspots(barnet, cell_size=500, quiet=True)
    b = classify_hotspots(barnet.sample(frac=1.0, random_state=3), cell_size=500, quiet=True)
    pd.testing.assert_frame_equal(a, b)  # same labels whatever the row order
    assert set(a["label_sfhotspot"]) <= set(SFHOTSPOT_LABELS)
    assert set(a["label_esri"]) <= set(ESRI_LABELS)
    assert a.attrs["n_periods"] == 27 and a.attrs["distance"] == pytest.approx(500 * math.sqrt(2))
    # Mann-Kendall tau of a cell's Gi* z series equals scipy's Kendall tau on that series
    from hotspots.grid import bin_points, grid_of
    from hotspots.stats import gistar_array, neighbourhood

    grid = grid_of(a)
    stencil = neighbourhood(500, 500 * math.sqrt(2))
    x, y = barnet.geometry.x.to_numpy(), barnet.geometry.y.to_numpy()
    months = sorted(barnet["month"].unique())
    zs = np.stack([gistar_array(bin_points(x[m], y[m], None, grid), stencil)[0]
                   for m in (barnet["month"] == mo for mo in months)])
    for _, cell in a[a["label_sfhotspot"] != "no pattern"].head(5).iterrows():
        series = zs[:, cell["row"], cell["col"]]
        ref = sps.kendalltau(np.arange(len(series)), series).statistic
        assert cell["mk_tau"] == pytest.approx(ref, abs=1e-12)
    esri = classify_hotspots(barnet, cell_size=500, scheme="esri", quiet=True)
    assert (esri["label"] == a["label_esri"]).all()


def test_weekly_periods_need_dates(barnet):
    with pytest.raises(hs.BadInputError, match="month"):
        classify_hotspots(barnet, freq="W", cell_size=500, quiet=True)


# --------------------------------------------------------------------- WDD
def test_wdd_reproduces_wheeler_ratcliffe_2018_example():
    # Wheeler & Ratcliffe (2018), Crime Science 7:7, worked example:
    # treated 207 -> 110, control 308 -> 318, displacement 178 -> 157, its control 150 -> 140
    res = wdd((207, 110), (308, 318), (178, 157), (150, 140))
    assert res["wdd"] == -118
    assert res["se"] == pytest.approx(math.sqrt(1568))
    assert round(res["z"], 2) == -2.98


def test_operation_effect_hand_computed():
    target = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    control = shapely.box(X0 + 2000, Y0, X0 + 2500, Y0 + 500)
    zone_pt = {"t": (X0 + 50, Y0 + 50), "b": (X0 + 200, Y0 + 50), "c": (X0 + 2200, Y0 + 200)}
    before, during = "2022-02-10", "2022-03-10"  # op: March; before: 29 Jan - 28 Feb
    plan = {("t", before): 10, ("t", during): 4, ("b", before): 5, ("b", during): 6,
            ("c", before): 20, ("c", during): 22, ("t", "2021-06-01"): 7}  # last: ignored
    pts, days = [], []
    for (z, d), n in plan.items():
        pts += [zone_pt[z]] * n
        days += [d] * n
    inc = _points(pts, days=days)
    res = operation_effect(inc, target, "2022-03-01", "2022-03-29", control=control)
    assert res.before == ("2022-02-01", "2022-03-01")
    assert res.counts.loc["target", ["before", "after"]].tolist() == [10, 4]
    assert res.counts.loc["buffer", ["before", "after"]].tolist() == [5, 6]
    assert res.counts.loc["control", ["before", "after"]].tolist() == [20, 22]
    assert res.counts.loc["target", "change_pct"] == pytest.approx(-60)
    # WDD = (4-10) - (22-20) + (6-5) = -7; Var = 10+4+20+22+5+6 = 67
    assert res.wdd == pytest.approx(-7)
    assert res.z == pytest.approx(-7 / math.sqrt(67))
    # WDQ = (6/22 - 5/20) / (4/22 - 10/20)
    assert res.wdq == pytest.approx((6 / 22 - 5 / 20) / (4 / 22 - 10 / 20))
    assert "fell 60% (10 to 4)" in res.sentence
    assert list(res.zones["label"]) == ["operation area", "250 m buffer", "comparison area"]


def test_operation_effect_default_control_is_rest_of_ward(barnet):
    centre = barnet.geometry.iloc[0]
    res = operation_effect(barnet, centre.buffer(300), "2022-01-01", "2022-07-01")
    assert res.control_desc.startswith("rest of ")
    assert res.counts["before"].sum() > 0
    assert np.isfinite(res.z)
    # a comparison period before the data would read as "no crime then"
    with pytest.raises(hs.BadInputError, match="inside the data"):
        operation_effect(barnet, centre.buffer(300), "2021-02-01", "2021-06-01")


def test_every_change_result_maps_and_plots(barnet):
    """hotspot_change, classify_hotspots, dual_kde and operation zones: one coloured
    layer per meaningful label in the web map, and the same colours in the figure."""
    import matplotlib

    matplotlib.use("Agg")
    from hotspots.maps import map_html
    from hotspots.plots import QUIET_LABELS, label_colours

    y22 = barnet[barnet["month"] >= "2022-01-01"]
    op = operation_effect(barnet, barnet.geometry.iloc[0].buffer(300), "2022-01-01",
                          "2022-07-01")
    results = {
        "change": hotspot_change(y22, cell_size=500, quiet=True),
        "classify": classify_hotspots(y22, cell_size=500, quiet=True),
        "dual": dual_kde(y22, barnet[barnet["month"] < "2022-01-01"], cell_size=500,
                         quiet=True),
        "zones": op.zones,
    }
    zone_colours = label_colours(op.zones["label"])
    assert len(set(zone_colours.values())) == 3  # operation, buffer, comparison differ
    for name, res in results.items():
        labels = sorted(set(res["label"]) - QUIET_LABELS)
        assert labels, name
        html = map_html(hs.hotspot_map(change=res, offline=True, title=name))
        for colour in set(label_colours(labels).values()):
            assert f'"fillColor":"{colour}"' in html, (name, colour)
        fig = hs.plot_change(res, title=name)
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert legend == labels, name
        matplotlib.pyplot.close(fig)


# --------------------------------------------------------------------- dual KDE
def test_dual_kde_ratio_is_kde_over_kde(barnet):
    a = barnet[barnet["month"] >= "2022-06-01"]
    b = barnet[barnet["month"] < "2022-06-01"]
    res = dual_kde(a, b, cell_size=400, bandwidth=800, quiet=True)
    grid = make_grid(a, 400)  # layer a's place
    assert (res.attrs["grid_x0"], res.attrs["grid_ncols"]) == (grid.x0, grid.ncols)
    ka = hs.kde(a, grid=grid, bandwidth=800, quiet=True).set_index(["row", "col"])["density"]
    kb = hs.kde(b, grid=grid, bandwidth=800, quiet=True).set_index(["row", "col"])["density"]
    got = res.set_index(["row", "col"])
    ok = got["density_b"] > 0
    ref = (ka / kb).reindex(got.index)[ok]
    np.testing.assert_allclose(got.loc[ok, "value"], ref, rtol=1e-12)
    assert not np.isinf(res["value"]).any()
    diff = dual_kde(a, b, method="diff", cell_size=400, bandwidth=800, quiet=True)
    assert diff["value"].sum() == pytest.approx(0, abs=1e-9)


def test_station_entries_join_nlc_to_locations():
    st = hs.station_entries(2019)
    raw = pd.read_csv(datasets.path("tfl_entries"))
    loc = pd.read_csv(datasets.path("tfl_stations"))
    # every station with a 2019 figure is placed once (Hayes & Harlington is listed twice)
    assert len(st) == raw.loc[raw["En/Ex 2019"] > 0, "Station"].nunique() == 416
    assert st["nlc"].is_unique and st.attrs["n_unplaced"] == 0
    # figures and places straight from the two files
    by_name = st.set_index("name")
    acton = raw[raw["Station"] == "Acton Town"].iloc[0]
    assert by_name.loc["Acton Town", "entries_exits"] == acton["En/Ex 2019"]
    row = loc[loc["NAME"] == "Acton Town"].iloc[0]
    assert by_name.loc["Acton Town", "geometry"].coords[0] == (row["EASTING"], row["NORTHING"])
    # the stations file gives Headstone Lane Hayes' code 3186: matched by name instead
    hl = by_name.loc["Headstone Lane"]
    assert hl["nlc"] == 1434 and hl["entries_exits"] == 652914
    assert hl["geometry"].coords[0] == (513869, 190584)
    assert by_name.loc["Hayes and Harlington", "nlc"] == 3186
    assert st.total_bounds[0] > 490_000 and st.total_bounds[2] < 570_000  # in London
    with pytest.raises(hs.BadInputError, match="2007-2021"):
        hs.station_entries(2030)


def test_dual_kde_relative_to_station_footfall():
    # StreetSafe-style question on real data: Harrow robbery relative to station entries
    inc = hs.read_incidents(datasets.path("harrow_crime_2022"))
    rob = inc[inc["category"] == "robbery"]
    st = hs.station_entries(2019)
    res = dual_kde(rob, st, weights_b="entries_exits", cell_size=250, bandwidth=1500,
                   quiet=True)
    # the grid is Harrow's, not London's, although the stations cover London
    assert res.attrs["grid_ncols"] * 250 < 20_000
    grid = make_grid(rob, 250)
    kb = hs.kde(st, grid=grid, bandwidth=1500, weights="entries_exits", quiet=True)
    got = res.set_index(["row", "col"])["density_b"]
    ref = kb.set_index(["row", "col"])["density"].reindex(got.index)
    np.testing.assert_allclose(got, ref, rtol=1e-9)
    # weighting by entries matters: the busiest nearby station dominates footfall density
    hw = st[st["name"] == "Harrow-on-the-Hill"].geometry.iloc[0]
    near = res[res.geometry.contains(hw)].iloc[0]
    assert near["density_b"] == pytest.approx(res["density_b"].max(), rel=0.5)
    # clipped to the borough: only its cells, "expected" measured over them
    harrow = hs.wards("Harrow")
    clipped = dual_kde(rob, st, weights_b="entries_exits", cell_size=250, bandwidth=1500,
                       clip=harrow, quiet=True)
    assert clipped.intersects(harrow.union_all()).all() and len(clipped) < len(res)


def test_dual_kde_zero_denominator_gives_nan_not_inf():
    a = _points([(X0, Y0), (X0 + 5000, Y0)], ["2022-01-01"] * 2)
    b = _points([(X0, Y0)], ["2022-01-01"])
    res = dual_kde(a, b, method="log", cell_size=250, bandwidth=500, quiet=True)
    far = res[res["density_b"] == 0]
    assert len(far) and far["value"].isna().all() and (far["label"] == "no reference").all()
    assert res.attrs["n_no_reference"] > 0


# --------------------------------------------------------------------- trend table
def test_trend_table_hand_computed_for_areas():
    areas = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[
        shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 200, Y0, X0 + 300, Y0 + 100)
    ], crs=27700)
    # A: Jan-21 4, Feb-21 2, Jan-22 6, Feb-22 1 ; B: only Jan-22 3
    plan = [("A", "2021-01-01", 4), ("A", "2021-02-01", 2), ("A", "2022-01-01", 6),
            ("A", "2022-02-01", 1), ("B", "2022-01-01", 3)]
    at = {"A": (X0 + 50, Y0 + 50), "B": (X0 + 250, Y0 + 50)}
    pts = [at[a] for a, _, n in plan for _ in range(n)]
    months = [m for _, m, n in plan for _ in range(n)]
    tab = trend_table(_points(pts, months), by=areas, population=pd.Series({"A": 2000, "B": 500}))
    a = tab[tab["name"] == "A"].set_index("period")
    assert len(a) == 14  # Jan 2021 .. Feb 2022, zero-filled
    jan22, feb22 = a.loc["2022-01-01"], a.loc["2022-02-01"]
    assert (jan22["count"], jan22["last_year"], jan22["pct_yoy"]) == (6, 4, 50.0)
    assert (feb22["prev"], feb22["change_prev"], feb22["pct_yoy"]) == (6, -5, -50.0)
    assert jan22["rate_per_1000"] == pytest.approx(3.0)
    b = tab[tab["name"] == "B"].set_index("period").loc["2022-01-01"]
    assert b["last_year"] == 0 and np.isnan(b["pct_yoy"])
    with pytest.raises(hs.BadInputError, match="population"):
        trend_table(_points(pts, months), by=areas, population=True)  # GLA: wards only


def test_trend_table_wards_match_groupby(barnet):
    inc = hs.assign_wards(barnet, hs.wards(borough="Barnet"))
    tab = trend_table(inc, freq="MS")
    ref = inc.dropna(subset=["ward_code"]).groupby(["ward_code", "month"]).size()
    got = tab.set_index(["ward_code", "period"])["count"]
    assert (got.reindex(ref.index) == ref).all() and got.sum() == ref.sum()
    last = tab[tab["period"] == tab["period"].max()].set_index("ward_code")
    year_ago = tab[tab["period"] == tab["period"].max() - pd.DateOffset(years=1)]
    assert (last["last_year"] == year_ago.set_index("ward_code")["count"]).all()


def test_cli_change_writes_map_ready_outputs(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    res = CliRunner().invoke(app, ["change", "barnet_burglary_2022", "--cell-size", "500",
                                   "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    layer = gpd.read_file(tmp_path / "change.geojson")
    assert layer.crs.to_epsg() == 4326 and set(layer["label"]) <= set(CHANGE_LABELS)
    assert (tmp_path / "change.png").stat().st_size > 0


def test_change_controls_false_discoveries_like_scipy():
    """q equals scipy's Benjamini-Hochberg; FDR never flags more cells than raw p."""
    from scipy.stats import false_discovery_control

    inc = hs.read_incidents("harrow_crime_2022")
    res = hs.hotspot_change(inc, quiet=True)
    np.testing.assert_allclose(res["q"], false_discovery_control(res["p"].to_numpy()),
                               rtol=1e-12)
    raw = hs.hotspot_change(inc, quiet=True, p_adjust="none")
    assert res["significant"].sum() <= raw["significant"].sum()
    assert (res["significant"] == (res["q"] < 0.05)).all()
