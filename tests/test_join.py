"""assign_wards and ward_counts, checked against independent truths on the real data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

import hotspots as hs
from hotspots import datasets
from hotspots.boundaries import _norm_name


@pytest.fixture(scope="module")
def camden() -> gpd.GeoDataFrame:
    """The Camden file as points from its own Easting/Northing (EPSG:27700)."""
    c = pd.read_csv(datasets.path("camden_2019_06"))
    return gpd.GeoDataFrame(c, geometry=gpd.points_from_xy(c["Easting"], c["Northing"]), crs=27700)


@pytest.fixture(scope="module")
def harrow() -> gpd.GeoDataFrame:
    """Harrow police.uk 2022 in the incidents shape (month-only, as police.uk is)."""
    h = pd.read_csv(datasets.path("harrow_crime_2022"))
    g = gpd.GeoDataFrame(
        h, geometry=gpd.points_from_xy(h["longitude"], h["latitude"]), crs=4326
    ).to_crs(27700)
    g["month"] = pd.to_datetime("2022-" + g["month"].astype(str) + "-01")
    g["category"] = g["type"]
    return g


@pytest.fixture(scope="module")
def wards22() -> gpd.GeoDataFrame:
    return hs.wards("Harrow", 2022)


@pytest.fixture(scope="module")
def camden_check(camden):
    """Join Camden's points and compare with the police's own ward, by normalised name.

    The file's police wards are not all in Camden: its "Highgate" rows carry Haringey's
    code (E05000272) and its "Regent's Park" rows Westminster's (00BK15N), and those
    points lie in those boroughs. So the reference join uses the boroughs the police
    codes name: Camden (00AG / E050001xx), Haringey and Westminster.
    """
    w = hs.wards(["Camden", "Haringey", "Westminster"], 2014)
    out = hs.assign_wards(camden, w)
    # the police ward's borough, from its code: E05 codes via the 2014 wards, old-style
    # codes by their ONS district prefix (00AG Camden, 00BK Westminster); comparing the
    # borough too keeps same-named wards (Camden's and Westminster's Regent's Park) apart
    police_borough = out["Ward Code"].map(
        hs.wards(year=2014).set_index("ward_code")["borough_name"]
    ).fillna(out["Ward Code"].str[:4].map({"00AG": "Camden", "00BK": "Westminster"}))
    assert police_borough.notna().all()
    agree = (_norm_name(out["ward_name"]) == _norm_name(out["Ward Name"])) & (
        out["borough_name"] == police_borough
    )
    cols = ["Ward Code", "Ward Name", "ward_code", "ward_name", "Street Name", "Easting"]
    cols += ["Northing"]
    bad = out.loc[~agree, cols]
    print(f"\nCamden join vs police ward: {agree.mean():.2%} agree; {len(bad)} disagree:")
    print(bad.to_string())
    return out, agree, bad


def test_camden_join_agrees_with_police_wards(camden_check):
    out, agree, bad = camden_check
    assert len(out) == 4075
    assert agree.mean() >= 0.995, f"agreement {agree.mean():.2%}; disagreements:\n{bad}"


def test_camden_points_outside_camden_are_police_wards_of_neighbours(camden, camden_check):
    """Joined to Camden's wards alone, the points outside are the neighbours' police wards,
    apart from a few the full check already lists as disagreements."""
    out = hs.assign_wards(camden, hs.wards("Camden", 2014))
    outside = out["ward_code"].isna()
    assert (out.loc[outside, "ward_reason"] == "outside all wards").all()
    assert out.attrs["n_unassigned"] == outside.sum()
    police_code = out.loc[outside, "Ward Code"]
    neighbour = police_code.eq("E05000272") | police_code.str.startswith("00BK")
    assert set(police_code.index[~neighbour]) <= set(camden_check[2].index)
    assert neighbour.sum() >= 0.95 * len(police_code)


def test_matches_geopandas_sjoin(harrow, wards22):
    """Where a point is in exactly one ward, we agree with plain geopandas.sjoin."""
    ours = hs.assign_wards(harrow, wards22, tolerance=0)  # points in polygons only
    ref = gpd.sjoin(
        harrow[["geometry"]], wards22[["ward_code", "geometry"]], predicate="intersects"
    )
    n_hits = ref.index.value_counts()
    single = ref[ref.index.map(n_hits) == 1]["ward_code"]
    assert len(single) > 14_000
    assert (ours.loc[single.index, "ward_code"] == single).all()
    assert ours["ward_code"].notna().sum() == ref.index.nunique()
    # several hits -> the lowest code, as documented
    multi = ref[ref.index.map(n_hits) > 1].groupby(level=0)["ward_code"].min()
    assert (ours.loc[multi.index, "ward_code"] == multi).all()


def test_shared_edge_goes_to_lowest_code_whatever_the_order():
    left, right = box(0, 0, 100, 100), box(100, 0, 200, 100)
    w = gpd.GeoDataFrame(
        {"ward_code": ["B2", "A1"], "ward_name": ["Bee", "Ay"], "borough_name": ["X", "X"]},
        geometry=[right, left], crs=27700,
    )
    pts = gpd.GeoDataFrame(geometry=shapely.points([100, 100, 150, 50], [50, 0, 50, 50]), crs=27700)
    a = hs.assign_wards(pts, w)
    b = hs.assign_wards(pts, w.iloc[::-1])
    assert a["ward_code"].tolist() == ["A1", "A1", "B2", "A1"]
    assert b["ward_code"].tolist() == a["ward_code"].tolist()
    assert a["ward_reason"].isna().all()


def test_shared_edge_on_real_wards(wards22):
    """A vertex on the edge between two real Harrow wards goes to the lower code."""
    a, b = wards22.iloc[0], None
    for _, row in wards22.iloc[1:].iterrows():
        if a.geometry.touches(row.geometry) or a.geometry.intersects(row.geometry):
            shared = a.geometry.boundary.intersection(row.geometry.boundary)
            if not shared.is_empty and shared.length > 0:
                b = row
                break
    assert b is not None
    vertex = shapely.get_coordinates(shared)[0]
    pt = gpd.GeoDataFrame(geometry=shapely.points([vertex]), crs=27700)
    hits = wards22[wards22.intersects(pt.geometry.iloc[0])]["ward_code"]
    out = hs.assign_wards(pt, wards22)
    assert out["ward_code"].iloc[0] == hits.min()


def test_tolerance_assigns_near_misses_to_nearest_ward(harrow, wards22):
    plain = hs.assign_wards(harrow, wards22, tolerance=0)
    missed = plain["ward_code"].isna()
    assert missed.sum() > 0 and plain.attrs["n_near_miss"] == 0
    near = hs.assign_wards(harrow, wards22, tolerance=25)
    assert near["ward_code"].notna().all()
    assert near.attrs["n_near_miss"] == missed.sum() and near.attrs["tolerance_m"] == 25
    assert near.loc[missed, "ward_reason"].str.match(r"nearest ward within \d+ m").all()
    assert near.loc[~missed, "ward_reason"].isna().all()
    assert (near.loc[~missed, "ward_code"] == plain.loc[~missed, "ward_code"]).all()
    # brute force: the nearest ward by distance to every polygon
    for i in np.flatnonzero(missed.to_numpy())[:20]:
        d = wards22.distance(harrow.geometry.iloc[i])
        assert near["ward_code"].iloc[i] == wards22.loc[d.idxmin(), "ward_code"]
        metres = int(near["ward_reason"].iloc[i].split()[-2])
        assert metres - 1 <= d.min() <= metres


def test_does_not_mutate_and_keeps_order_index_crs(harrow, wards22):
    sample = harrow.sample(500, random_state=1).to_crs(4326)
    sample.index = [f"row{i}" for i in range(len(sample))][::-1]
    sample.loc[sample.index[3], "geometry"] = None
    before = sample.copy()
    out = hs.assign_wards(sample, wards22)
    pd.testing.assert_frame_equal(sample, before)
    assert list(out.index) == list(sample.index) and out.crs == sample.crs
    assert out["ward_reason"].iloc[3] == "no location" and pd.isna(out["ward_code"].iloc[3])
    bng = hs.assign_wards(sample.to_crs(27700), wards22)
    assert out["ward_code"].equals(bng["ward_code"])


def test_bad_inputs(harrow, wards22):
    with pytest.raises(hs.BadInputError):
        hs.assign_wards(pd.DataFrame(harrow.drop(columns="geometry")), wards22)
    with pytest.raises(hs.BadInputError):
        hs.assign_wards(harrow, wards22, tolerance=-1)
    with pytest.raises(hs.BadInputError, match="assign_wards"):
        hs.ward_counts(harrow)


# --- ward_counts ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def joined(harrow, wards22):
    return hs.assign_wards(harrow, wards22)


def test_monthly_counts_match_crosstab_and_are_zero_filled(joined, wards22):
    c = hs.ward_counts(joined, freq="MS", wards=wards22)
    assert list(c.columns) == ["ward_code", "ward_name", "period", "category", "count",
                               "n_near_edge", "rate_per_1000"]
    n_cat = joined["category"].nunique()
    assert len(c) == 22 * 12 * n_cat
    assert c["count"].sum() == joined["ward_code"].notna().sum()
    assert c.attrs["n_no_ward"] == joined["ward_code"].isna().sum()
    ref = pd.crosstab([joined["ward_code"], joined["month"]], joined["category"]).stack()
    got = c.set_index(["ward_code", "period", "category"])["count"]
    np.testing.assert_array_equal(got.loc[ref.index].to_numpy(), ref.to_numpy())
    assert (got.drop(ref.index) == 0).all()
    # n_near_edge: the counted points flagged on a ward edge, by the same crosstab
    edge = joined[joined["near_ward_edge"]]
    ref_edge = pd.crosstab([edge["ward_code"], edge["month"]], edge["category"]).stack()
    got_edge = c.set_index(["ward_code", "period", "category"])["n_near_edge"]
    np.testing.assert_array_equal(got_edge.loc[ref_edge.index].to_numpy(), ref_edge.to_numpy())
    assert got_edge.sum() == ref_edge.sum() > 0 and (c["n_near_edge"] <= c["count"]).all()
    # rates from the GLA populations, per 1,000 residents per month
    pop = hs.ward_population(2022, borough="Harrow").set_index("ward_code")["population"]
    np.testing.assert_allclose(
        c["rate_per_1000"], c["count"] / c["ward_code"].map(pop) * 1000
    )


def test_weekly_on_month_only_data_falls_back_to_months(joined):
    """police.uk has no day: W-MON gives the monthly table, with a warning saying so."""
    with pytest.warns(UserWarning, match="counting by month instead"):
        c = hs.ward_counts(joined, freq="W-MON")
    assert c.attrs["freq"] == "MS" and c.attrs["freq_asked"] == "W-MON"
    pd.testing.assert_frame_equal(c, hs.ward_counts(joined, freq="MS"))


def test_weekly_periods_start_on_monday(joined):
    """Weeks run Monday-Sunday and are labelled by the Monday (pandas resample with
    closed/label 'left' on W-SUN-ending bins is the reference)."""
    rng = np.random.default_rng(7)
    inc = joined.dropna(subset=["ward_code"]).iloc[:3000].copy()
    start = pd.Timestamp("2023-12-31 23:30")  # a Sunday
    minutes = rng.integers(0, 60 * 24 * 50, len(inc))
    minutes[0] = 0  # one incident late on the Sunday before the first Monday
    inc["occurred_at"] = start + pd.to_timedelta(minutes, "min")
    c = hs.ward_counts(inc, freq="W-MON", by=None, rates=False)
    assert (c["period"].dt.day_of_week == 0).all()
    assert c["period"].min() == pd.Timestamp("2023-12-25")  # Sunday's week began Monday 25th
    weekly = c.groupby("period")["count"].sum()
    ref = (
        pd.Series(1, index=pd.DatetimeIndex(inc["occurred_at"]))
        .resample("W-MON", closed="left", label="left").sum()
    )
    pd.testing.assert_series_equal(weekly, ref, check_names=False, check_freq=False)
    # every ward seen x every week, zero-filled
    assert len(c) == inc["ward_code"].nunique() * len(ref)


def test_given_wards_all_present(joined, wards22):
    some = joined[joined["ward_code"].isin(wards22["ward_code"].iloc[:5])]
    c = hs.ward_counts(some, freq=None, by=None, wards=wards22)
    assert len(c) == 22 and (c.set_index("ward_code")["count"].iloc[5:] == 0).all()
    assert c["count"].sum() == len(some)


def test_pipeline_with_read_incidents():
    """The issue's notebook example on the Camden file, end to end."""
    inc = hs.read_incidents(datasets.path("camden_2019_06"))
    w = hs.wards("Camden", 2014)
    inc = hs.assign_wards(inc, w)
    with pytest.warns(UserWarning, match="freq='MS'"):
        weekly = hs.ward_counts(inc, freq="W-MON")  # police.uk: month only
    assert weekly.attrs["freq"] == "MS" and set(weekly["period"]) == {pd.Timestamp("2019-06-01")}
    assert weekly["count"].sum() == inc["ward_code"].notna().sum()
    c = hs.ward_counts(inc, freq="MS", wards=w)
    assert set(c["ward_code"]) == set(w["ward_code"])
    assert (c["period"] == pd.Timestamp("2019-06-01")).all()
    assert c["count"].sum() == inc["ward_code"].notna().sum() == (
        inc.attrs["n_assigned"] + inc.attrs["n_near_miss"])  # inside + within 25 m
    asb = c[c["category"] == "asb"]["count"].sum()
    assert asb == (inc["category"].eq("asb") & inc["ward_code"].notna()).sum()
    assert c["rate_per_1000"].notna().all()


# --- which 2022 wards, and how sure the join is -----------------------------------------


def test_wards_2022_are_the_20m_file():
    """hs.wards(year=2022) is ONS's 20 m generalised (BGC) set, not the 200 m (BSC) one."""
    assert str(datasets.path("wards_2022")).endswith("london_wards_2022_ons_bgc_bng.gpkg")
    w = hs.wards(year=2022)
    raw = gpd.read_file(datasets.path("wards_2022"), layer="london_wards_2022")
    assert len(w) == len(raw) == 704
    raw = raw.set_index("WD22CD").loc[w["ward_code"]]
    assert shapely.equals(w.geometry.to_numpy(), raw.geometry.make_valid().to_numpy()).all()
    bsc = gpd.read_file(datasets.path("wards_2022_bsc"))
    # a vertex every ~150 m against every ~640 m: over four times the detail
    assert shapely.get_num_coordinates(w.geometry.to_numpy()).sum() > 4 * (
        shapely.get_num_coordinates(bsc.geometry.to_numpy()).sum()
    )


def test_harrow_points_that_change_ward_with_the_200m_file(harrow):
    """1,385 of Harrow's 14,946 2022 crimes (9.3%) land in another ward with the 200 m
    file. police.uk puts crimes on street points and ward edges often follow streets, so
    an edge drawn 200 m out of place moves whole streets of crimes: the 20 m file is the
    default for point joins, the 200 m one only draws small maps."""
    w20 = hs.wards(year=2022)
    bsc = gpd.read_file(datasets.path("wards_2022_bsc")).to_crs(27700)
    bsc = bsc.rename(columns={"WD22CD": "ward_code", "WD22NM": "ward_name"})
    a, b = hs.assign_wards(harrow, w20), hs.assign_wards(harrow, bsc)
    assert a["ward_code"].notna().all() and b["ward_code"].notna().all()
    moved = a["ward_code"] != b["ward_code"]
    assert moved.sum() == 1385 and round(moved.mean(), 3) == 0.093
    # the 200 m side checked with plain geopandas (each point in exactly one polygon)
    ref = gpd.sjoin(harrow[["geometry"]], bsc[["ward_code", "geometry"]], predicate="within")
    assert ref.index.is_unique and (ref["ward_code"] != a.loc[ref.index, "ward_code"]).sum() == 1385


def test_ward_edge_distance_hand_checked():
    """Two 100 m squares side by side: distances to the nearest edge by hand."""
    w = gpd.GeoDataFrame(
        {"ward_code": ["A1", "B2"], "ward_name": ["Ay", "Bee"], "borough_name": ["X", "X"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=27700,
    )  # fmt: skip
    xs, ys = [95, 50, 150, 100, 250, 170], [50, 50, 10, 50, 50, 97]
    pts = gpd.GeoDataFrame(geometry=list(shapely.points(xs, ys)) + [None], crs=27700)
    out = hs.assign_wards(pts, w, near_edge=10)
    # 5 m from the shared edge; 50 m from every edge; 10 m above the bottom (not < 10);
    # on the shared edge; 50 m east of B2 (in no ward); 3 m below the top; no location
    np.testing.assert_allclose(out["ward_edge_m"], [5, 50, 10, 0, np.nan, 3, np.nan])
    # in no ward: the distance is given when it is under near_edge (here 60 m)
    assert hs.assign_wards(pts, w, near_edge=60)["ward_edge_m"].iloc[4] == 50
    assert out["near_ward_edge"].tolist() == [True, False, False, True, False, True, False]
    assert out.attrs["n_near_edge"] == 3 and out.attrs["near_edge_m"] == 10
    assert out["ward_code"].fillna("-").tolist()[:6] == ["A1", "A1", "B2", "A1", "-", "B2"]
    assert hs.assign_wards(pts, w)["near_ward_edge"].sum() == 4  # default 20 m adds (150, 10)
    with pytest.raises(hs.BadInputError, match="near_edge"):
        hs.assign_wards(pts, w, near_edge=-1)


def test_no_point_in_or_near_any_ward():
    """Nothing inside, nothing within tolerance: every row says so (no IndexError)."""
    w = gpd.GeoDataFrame({"ward_code": ["A1"], "ward_name": ["Ay"]},
                         geometry=[box(0, 0, 100, 100)], crs=27700)
    pts = gpd.GeoDataFrame(geometry=shapely.points([500, 900], [500, 0]), crs=27700)
    for tol in (0, 25):
        out = hs.assign_wards(pts, w, tolerance=tol)
        assert out["ward_code"].isna().all() and (out["ward_reason"] == "outside all wards").all()
        assert out.attrs["n_unassigned"] == 2 and out["ward_edge_m"].isna().all()


def test_ward_edge_distance_on_harrow(joined, harrow):
    """Against brute force: each point's distance to every Harrow ward's boundary, min."""
    wards = hs.wards("Harrow", 2022)
    sample = np.random.default_rng(3).choice(len(harrow), 300, replace=False)
    for i in sample:
        p = harrow.geometry.iloc[i]
        ref = wards.boundary.distance(p).min()
        if wards.contains(p).any():  # inside Harrow: its own ward's edge is the nearest
            assert joined["ward_edge_m"].iloc[i] == pytest.approx(ref, abs=1e-6)
    assert (joined["near_ward_edge"] == (joined["ward_edge_m"] < hs.join.NEAR_EDGE_M)).all()
    share = joined["near_ward_edge"].mean()
    assert 0.05 < share < 0.15  # about one Harrow crime in twelve is on a ward edge


def test_near_edge_flags_what_full_resolution_moves(london_2022_csv):
    """Why 20 m: in the 174 London wards unchanged from 2018 to 2022, the GLA's full-
    resolution 2018 file puts 2.3% of 2022 crimes in another ward than the 20 m file,
    and at least 97% of those are flagged near_ward_edge."""
    raw = london_2022_csv[["longitude", "latitude"]]  # the file's read shared (conftest)
    xy = raw.value_counts().rename("n").reset_index()  # each snap point once, with its crimes
    pts = gpd.GeoDataFrame(
        xy, geometry=gpd.points_from_xy(xy["longitude"], xy["latitude"]), crs=4326
    ).to_crs(27700)
    w22, w18 = hs.wards(year=2022), hs.wards(year=2018)
    same = sorted(set(w22["ward_code"]) & set(w18["ward_code"]))
    assert len(same) == 174
    full = hs.assign_wards(pts, w18[w18["ward_code"].isin(same)], tolerance=0)
    inside = full["ward_code"].notna()
    bgc = hs.assign_wards(pts[inside], w22, tolerance=0)
    moved = bgc["ward_code"] != full.loc[inside, "ward_code"]
    n = bgc["n"]
    assert 0.015 < n[moved].sum() / n.sum() < 0.03
    assert n[moved & bgc["near_ward_edge"]].sum() >= 0.97 * n[moved].sum()


def test_joining_to_map_only_wards_warns(harrow):
    # the 2023 (and 2019) sets are generalised to 200 m: fine for maps, wrong for joins
    with pytest.warns(UserWarning, match="generalised to 200 m"):
        hs.assign_wards(harrow.iloc[:50], hs.wards("Harrow", 2023))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hs.assign_wards(harrow.iloc[:50], hs.wards("Harrow", 2022))


def _sjoin_lowest(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> np.ndarray:
    """geopandas.sjoin, one ward per point: the lowest code (assign_wards' rule)."""
    j = gpd.sjoin(pts[["geometry"]], wards[["ward_code", "geometry"]], how="left",
                  predicate="intersects")
    j = j.sort_values("ward_code", kind="stable")
    return j[~j.index.duplicated()]["ward_code"].reindex(pts.index).fillna("-").to_numpy()


@pytest.fixture(params=["numpy index", "GEOS"])
def engine(request, monkeypatch):
    """Both join engines: hotspots._edges (used from 200k distinct points) and GEOS."""
    if request.param == "numpy index":
        monkeypatch.setattr("hotspots.join._EDGE_INDEX_MIN", 0)
        monkeypatch.setattr("hotspots.join._LINES_MIN", 0)  # points in no ward: to lines
    return request.param


def test_distinct_points_match_sjoin_and_brute_force_distances(engine):
    """Scattered distinct points, ward vertices and edge midpoints (exactly on edges):
    the same wards as sjoin, the edge distance as GEOS, with either engine."""
    wards = hs.wards(["Harrow", "Brent"], 2022)
    x0, y0, x1, y1 = wards.total_bounds
    rng = np.random.default_rng(7)
    edge = shapely.get_coordinates(wards.boundary.values)
    k = rng.choice(len(edge) - 1, 1500)
    mid = (edge[k] + edge[k + 1]) / 2
    x = np.r_[rng.uniform(x0 - 300, x1 + 300, 30_000), edge[k, 0], mid[:, 0]]
    y = np.r_[rng.uniform(y0 - 300, y1 + 300, 30_000), edge[k, 1], mid[:, 1]]
    pts = gpd.GeoDataFrame(geometry=shapely.points(x, y), crs=27700)
    out = hs.assign_wards(pts, wards, tolerance=0)
    assert (out["ward_code"].fillna("-").to_numpy() == _sjoin_lowest(pts, wards)).all()
    lines = shapely.union_all(wards.boundary.values)
    pick = rng.choice(len(pts), 1500, replace=False)
    ref = shapely.distance(pts.geometry.values[pick], lines)
    got = out["ward_edge_m"].to_numpy()[pick]
    inside = out["ward_code"].notna().to_numpy()[pick]
    np.testing.assert_allclose(got[inside], ref[inside], atol=1e-6)
    near = ~inside & (ref < hs.join.NEAR_EDGE_M)
    np.testing.assert_allclose(got[near], ref[near], atol=1e-6)
    assert np.isnan(got[~inside & ~near]).all()


def test_overlaps_and_holes_match_sjoin(engine):
    """Polygons that overlap, one with a hole holding another: regions are exact."""
    outer = shapely.Polygon([(0, 0), (1000, 0), (1000, 1000), (0, 1000)],
                            holes=[[(300, 300), (700, 300), (700, 700), (300, 700)]])
    w = gpd.GeoDataFrame(
        {"ward_code": ["C3", "B2", "A1"], "ward_name": ["c", "b", "a"]},
        geometry=[outer, box(350, 350, 650, 650), box(800, -200, 1400, 400)], crs=27700,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    pts = gpd.GeoDataFrame(geometry=shapely.points(rng.uniform(-100, 1500, (40_000, 2))),
                           crs=27700)
    out = hs.assign_wards(pts, w, tolerance=5)
    miss = out["ward_reason"].fillna("").str.startswith("nearest").to_numpy()
    ref = _sjoin_lowest(pts, w)
    assert (out["ward_code"].fillna("-").to_numpy()[~miss] == ref[~miss]).all()
    assert (ref[miss] == "-").all() and 0 < miss.sum() < 1000
    d = shapely.distance(pts.geometry.values[miss], shapely.union_all(w.geometry.values))
    assert (d <= 5).all()


def test_points_a_hair_from_edges_match_sjoin(engine):
    """Points 1e-7 m to 10 m either side of real ward edges (inside, across, outside
    London): the same wards as sjoin, near-misses to the nearest ward, GEOS distances."""
    wards = hs.wards(["Harrow", "Brent"], 2022)
    rng = np.random.default_rng(11)
    edge, ring = shapely.get_coordinates(shapely.get_parts(wards.boundary.values),
                                         return_index=True)
    k = rng.choice(len(edge) - 1, 3000)
    k = k[(ring[k] == ring[k + 1]) & (edge[k] != edge[k + 1]).any(axis=1)]  # real edges
    mid = (edge[k] + edge[k + 1]) / 2
    normal = (edge[k + 1] - edge[k])[:, ::-1] * [1, -1]
    normal /= np.hypot(*normal.T)[:, None]
    off = rng.choice([1e-7, 1e-4, 1e-2, 1.0, 10.0], len(k)) * rng.choice([-1, 1], len(k))
    xy = mid + normal * off[:, None]
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=27700)
    out = hs.assign_wards(pts, wards, tolerance=0)
    assert (out["ward_code"].fillna("-").to_numpy() == _sjoin_lowest(pts, wards)).all()
    inside = out["ward_code"].notna().to_numpy()
    assert 0 < (~inside).sum() < len(pts) // 4  # some just outside the two boroughs
    ref = shapely.distance(pts.geometry.values, shapely.union_all(wards.boundary.values))
    np.testing.assert_allclose(out["ward_edge_m"].to_numpy()[inside], ref[inside], atol=1e-6)
    np.testing.assert_allclose(out["ward_edge_m"].to_numpy()[~inside], ref[~inside], atol=1e-6)
    # with the default tolerance every point is within 10 m of a ward: all placed, the
    # near-misses in the nearest ward (any tie: the lowest code)
    tol = hs.assign_wards(pts, wards)
    assert tol["ward_code"].notna().all() and tol.attrs["n_near_miss"] == (~inside).sum()
    miss = np.flatnonzero(~inside)
    d = np.stack([shapely.distance(pts.geometry.values[miss], g) for g in wards.geometry])
    nearest = np.array([min(wards["ward_code"].to_numpy()[np.isclose(col, col.min(), rtol=0,
                                                                     atol=1e-9)])
                        for col in d.T])
    assert (tol["ward_code"].to_numpy()[miss] == nearest).all()


def test_grid_aligned_edges_marked_and_joined(monkeypatch):
    """Edges along the raster's lines and through its corners: every cell an edge
    touches is marked (checked cell by cell with shapely), and points on the corners,
    sides and centres of all cells join as sjoin."""
    from hotspots import _edges

    monkeypatch.setattr(_edges, "_RASTER_MIN", 10.0)  # cells of 10 m from (-10, -10)
    geoms = [box(0, 0, 100, 100), box(100, 0, 200, 100),
             shapely.Polygon([(0, 100), (100, 200), (0, 200)]),
             shapely.Polygon([(100, 100), (200, 100), (163.3, 200), (100, 200), (50, 150)])]
    w = gpd.GeoDataFrame({"ward_code": ["A", "B", "C", "D"], "ward_name": list("abcd")},
                         geometry=geoms, crs=27700)
    edges = _edges.Edges(np.asarray(w.geometry.values), 9.0)
    g = np.arange(-10.0, 215.0, 5.0)  # corners, side midpoints and centres of the cells
    x, y = (v.ravel() for v in np.meshgrid(g, g))
    edges.regions(x, y)
    assert edges.f == 10.0 and (edges.lo == -10.0).all()
    ny, nx = edges.marked.shape
    cx, cy = (v.ravel() for v in np.meshgrid(np.arange(nx), np.arange(ny)))
    cells = shapely.box(cx * 10.0 - 10, cy * 10.0 - 10, cx * 10.0, cy * 10.0)
    touched = shapely.intersects(cells, shapely.union_all(shapely.boundary(geoms)))
    assert (edges.marked.ravel() == touched).all() and touched.sum() > 60
    monkeypatch.setattr("hotspots.join._EDGE_INDEX_MIN", 0)
    pts = gpd.GeoDataFrame(geometry=shapely.points(x, y), crs=27700)
    out = hs.assign_wards(pts, w, tolerance=0)
    assert (out["ward_code"].fillna("-").to_numpy() == _sjoin_lowest(pts, w)).all()


def test_rows_sharing_point_objects_join_as_distinct_objects(engine):
    """read_incidents shares one Point among the rows at a place: 60,000 rows on 3,000
    objects (and rows with no or an empty geometry) join exactly as the same
    coordinates in 60,000 separate objects."""
    wards = hs.wards(["Harrow", "Brent"], 2022)
    x0, y0, x1, y1 = wards.total_bounds
    rng = np.random.default_rng(5)
    objs = shapely.points(rng.uniform(x0 - 200, x1 + 200, (3000, 2)))
    rows = objs[rng.integers(0, len(objs), 60_000)]
    rows[::997] = None
    rows[5::1009] = shapely.Point()
    shared = gpd.GeoDataFrame({"i": np.arange(len(rows))}, geometry=rows, crs=27700)
    copies = shared.copy()
    copies["geometry"] = [None if g is None else shapely.Point(g.coords) if not g.is_empty
                          else shapely.Point() for g in rows]
    a, b = hs.assign_wards(shared, wards), hs.assign_wards(copies, wards)
    assert a["geometry"].values[0] is rows[0]  # the input's objects, untouched
    cols = ["ward_code", "ward_name", "ward_reason", "ward_edge_m", "near_ward_edge"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    located = ~shapely.is_missing(rows) & ~shapely.is_empty(rows)
    assert a.attrs == b.attrs and a["ward_reason"].eq("no location").sum() == (~located).sum()
    a0 = hs.assign_wards(shared, wards, tolerance=0)
    ref = _sjoin_lowest(shared[located], wards)
    assert (a0["ward_code"].fillna("-").to_numpy()[located] == ref).all()


def test_missing_and_empty_ward_geometries_are_skipped(engine):
    """A ward with no geometry or an empty one holds no point; the others join as sjoin
    (and only-empty wards leave every point outside, no crash)."""
    w = gpd.GeoDataFrame(
        {"ward_code": ["A1", "B2", "C3", "D4"], "ward_name": list("abcd")},
        geometry=[box(0, 0, 100, 100), None, shapely.Polygon(), box(100, 0, 300, 100)],
        crs=27700,
    )  # fmt: skip
    rng = np.random.default_rng(2)
    pts = gpd.GeoDataFrame(geometry=shapely.points(rng.uniform(-50, 350, (40_000, 2))),
                           crs=27700)
    out = hs.assign_wards(pts, w, tolerance=0)
    ok = w[~shapely.is_missing(w.geometry.values) & ~shapely.is_empty(w.geometry.values)]
    assert (out["ward_code"].fillna("-").to_numpy() == _sjoin_lowest(pts, ok)).all()
    inside = out["ward_code"].notna().to_numpy()
    ref = shapely.distance(pts.geometry.values, shapely.union_all(ok.boundary.values))
    np.testing.assert_allclose(out["ward_edge_m"].to_numpy()[inside], ref[inside], atol=1e-6)
    none = hs.assign_wards(pts.iloc[:100], w.iloc[1:3])
    assert none["ward_code"].isna().all() and (none["ward_reason"] == "outside all wards").all()


def test_repeated_coordinates_merged_exactly_even_when_their_hashes_collide():
    """Distinct (x, y) pairs are found by a mixed 64-bit key; two different pairs made to
    share that key (crafted) still come out as two pairs, rows mapped right."""
    from hotspots.join import _unique_xy

    mix = np.int64(-7046029254386353131)  # the mixing constant of _unique_xy
    x1, y1, x2 = np.array([1.0]), np.array([2.0]), np.array([1234.5])
    y2 = ((x1.view(np.int64) * mix ^ y1.view(np.int64)) ^ (x2.view(np.int64) * mix)).view(
        np.float64)  # (1234.5, y2) mixes to the same key as (1.0, 2.0)
    pick = np.random.default_rng(4).integers(0, 3, 30_000)
    for y2_or_not in (y2, np.array([9.0])):  # the collision, and none
        x = np.r_[x1, x2, [7.0]][pick]
        y = np.r_[y1, y2_or_not, [8.0]][pick]
        ux, uy, inv = _unique_xy(x, y)
        assert len(ux) == 3 and (ux[inv] == x).all() and (uy[inv] == y).all()
