"""top_areas: counts, ranks, change and labels checked against independent counts."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import hotspots as hs

VOCAB = list(hs.CATEGORIES)



@pytest.fixture(scope="module")
def harrow_top(harrow):
    return hs.top_areas(harrow)


@pytest.fixture(scope="module")
def flytips():
    return hs.synthetic.fly_tips("Harrow", seed=0, return_truth=True)


def count_within(inc, geoms) -> np.ndarray:
    """Independent count: geopandas sjoin (points on the edge count)."""
    j = gpd.sjoin(inc[["geometry"]], gpd.GeoDataFrame(geometry=geoms, crs=27700),
                  predicate="intersects")
    return j["index_right"].value_counts().reindex(range(len(geoms)), fill_value=0).to_numpy()


def test_harm_weights_cover_the_vocabulary():
    hw = hs.harm_weights()
    assert set(VOCAB) == set(hw["category"])
    assert (hw["weight"] > 0).all() and hw["source"].str.contains("indicative").all()
    assert hw.set_index("category").loc["burglary", "weight"] > hw.set_index(
        "category").loc["shoplifting", "weight"]


def test_top_areas_harrow_one_call(harrow, harrow_top):
    a = harrow_top
    assert len(a) == 20 and a["rank"].tolist() == list(range(1, 21))
    assert (np.diff(a["score"]) <= 0).all()
    np.testing.assert_array_equal(a["n_incidents"], count_within(harrow, a.geometry.array))
    ncols = [c for c in a.columns if c.startswith("n_") and c != "n_incidents"]
    assert {c[2:] for c in ncols} <= set(VOCAB)
    np.testing.assert_array_equal(a[ncols].sum(axis=1), a["n_incidents"])
    np.testing.assert_allclose(a["area_m2"], a.geometry.area)
    assert a["lat"].between(51.55, 51.65).all() and a["lon"].between(-0.41, -0.26).all()
    assert (a["wards"].str.len() > 0).all()
    harrow_wards = set(hs.wards("Harrow")["ward_name"])
    first = {w.split(", ")[0] for w in a["wards"]}
    assert first <= harrow_wards | set(hs.wards()["ward_name"])
    assert a.attrs["method"] == "dbscan" and a.attrs["min_samples"] >= 3
    assert not a.geometry.intersects(a.geometry.iloc[0]).iloc[1:].all()


def test_change_is_second_half_minus_first(harrow, harrow_top):
    a = harrow_top
    m = harrow["month"].dt.month
    first = count_within(harrow[m.between(1, 6)], a.geometry.array)
    second = count_within(harrow[m.between(7, 12)], a.geometry.array)
    np.testing.assert_array_equal(a["change_n"], second - first)
    np.testing.assert_allclose(a["change_pct"], 100 * (second - first) / first)
    # the compared periods are recorded, so reports need not say "previous period"
    assert (a.attrs["change_from"], a.attrs["change_to"]) == ("2022-01/2022-06",
                                                              "2022-07/2022-12")
    assert hs.rank.change_label(a.attrs) == "2022-07 to 2022-12 vs 2022-01 to 2022-06"


def test_period_filter_and_previous_period(harrow):
    a = hs.top_areas(harrow, n=10, period=("2022-07-01", "2022-09-30"), quiet=True)
    cur = harrow[harrow["month"].dt.month.between(7, 9)]
    prev = harrow[harrow["month"].dt.month.between(4, 6)]
    np.testing.assert_array_equal(a["n_incidents"], count_within(cur, a.geometry.array))
    np.testing.assert_array_equal(
        a["change_n"], a["n_incidents"] - count_within(prev, a.geometry.array)
    )
    assert a.attrs["n_input"] == len(cur)
    assert (a.attrs["change_from"], a.attrs["change_to"]) == ("2022-04/2022-06",
                                                              "2022-07/2022-09")


def test_change_periods_in_days(flytips):
    inc, _ = flytips
    t = inc["occurred_at"]
    a = hs.top_areas(inc, n=5, quiet=True)
    (f0, f1), (s0, s1) = (a.attrs[k].split("/") for k in ("change_from", "change_to"))
    mid = t.min() + (t.max() - t.min()) / 2
    assert (f0, s1) == (f"{t.min():%Y-%m-%d}", f"{t.max():%Y-%m-%d}")
    assert s0 == f"{mid:%Y-%m-%d}" and pd.Timestamp(f1) <= pd.Timestamp(s0)
    b = hs.top_areas(inc, n=5, period=("2022-07-01", "2022-09-30"), quiet=True)
    # the previous period has the same number of days (92) and ends the day before
    assert (b.attrs["change_from"], b.attrs["change_to"]) == ("2022-03-31/2022-06-30",
                                                              "2022-07-01/2022-09-30")


def test_harm_and_categories(harrow):
    hw = hs.harm_weights().set_index("category")["weight"]
    a = hs.top_areas(harrow, n=5, harm=True, categories=["burglary", "robbery"], quiet=True)
    sub = harrow[harrow["category"].isin(["burglary", "robbery"])]
    assert set(c for c in a.columns if c.startswith("n_")) == {
        "n_incidents", "n_burglary", "n_robbery"}
    expect = a["n_burglary"] * hw["burglary"] + a["n_robbery"] * hw["robbery"]
    np.testing.assert_allclose(a["weight"], expect)
    np.testing.assert_array_equal(a["n_incidents"], count_within(sub, a.geometry.array))


def test_deterministic_under_row_order(harrow, harrow_top):
    b = hs.top_areas(harrow.sample(frac=1, random_state=7), quiet=True)
    pd.testing.assert_frame_equal(
        harrow_top.drop(columns="geometry"), b.drop(columns="geometry"), check_exact=False
    )
    assert harrow_top.geometry.geom_equals_exact(b.geometry, 1e-6).all()


def test_planted_hotspots_all_in_top_twenty(flytips):
    inc, truth = flytips
    for method in ("dbscan", "hdbscan", "kde"):
        a = hs.top_areas(inc, n=20, method=method, quiet=True)
        missed = [t.hotspot_id for t in truth.itertuples() if not a.intersects(t.geometry).any()]
        assert not missed, f"{method} missed planted hotspots {missed}"


def test_hours_filter_uses_times(flytips, caplog):
    inc, _ = flytips
    a = hs.top_areas(inc, n=5, hours=(14, 24), quiet=True)
    h = inc["occurred_at"].dt.hour
    evening = inc[(h >= 14) & inc["occurred_at"].notna()]
    np.testing.assert_array_equal(a["n_incidents"], count_within(evening, a.geometry.array))
    assert a.attrs["n_input"] == len(evening) < len(inc)


def test_hours_ignored_without_times(harrow, caplog):
    with caplog.at_level(logging.WARNING, logger="hotspots"):
        a = hs.top_areas(harrow, n=3, hours=(14, 24), quiet=True)
    assert "no times of day" in caplog.text
    assert a.attrs["n_input"] == len(harrow)


def test_one_month_of_camden_and_kde():
    cam = hs.read_incidents("camden_2019_06")
    for method in ("dbscan", "kde"):
        a = hs.top_areas(cam, method=method, quiet=True)
        assert len(a) == 20, method
        assert a["change_n"].isna().all()  # one month: nothing to compare with
        assert "change_from" not in a.attrs and hs.rank.change_label(a.attrs) is None
        np.testing.assert_array_equal(a["n_incidents"], count_within(cam, a.geometry.array))


def test_streets_from_network():
    city = hs.read_incidents("city_of_london_2019")
    net = hs.street_network("osm_city_of_london", walk=False)
    a = hs.top_areas(city, n=5, network=net, quiet=True)
    assert (a["streets"].str.len() > 0).all()
    edges = {str(d.get("name")) for _, _, d in net.edges(data=True)}
    for s in a["streets"]:
        assert all(any(p in e for e in edges) for p in s.split(" / "))


def test_bad_inputs(harrow):
    with pytest.raises(hs.BadInputError):
        hs.top_areas(harrow, method="kmeans")
    with pytest.raises(hs.BadInputError):
        hs.top_areas(harrow, categories=["fly_tip"])


def test_area_in_the_river_takes_the_nearest_ward():
    """Ward polygons stop at the Thames bank: a cluster on London Bridge still gets a name."""
    from hotspots.rank import _ward_names

    w = hs.wards("City of London")
    area = gpd.GeoSeries([gpd.points_from_xy([532812], [180430])[0].buffer(30)], crs=27700)
    assert not w.intersects(area.iloc[0]).any()
    nearest = w.iloc[[w.distance(area.iloc[0]).argmin()]]["ward_name"].iloc[0]
    assert _ward_names(area, None, w) == [nearest] == ["Bridge"]


def test_ties_break_by_incidents_then_west_then_south():
    from hotspots.rank import order_areas

    s = pd.DataFrame({"score": [5.0, 5.0, 5.0, 5.0, 9.0], "n_incidents": [3, 4, 3, 3, 1],
                      "_cx": [200.0, 900.0, 100.0, 100.0, 0.0],
                      "_cy": [0.0, 0.0, 50.0, 10.0, 0.0]})
    assert order_areas(s).tolist() == [4, 1, 3, 2, 0]


def test_hours_as_clock_strings_and_harm_csv_path(flytips, tmp_path):
    inc, _ = flytips
    a = hs.top_areas(inc, n=5, hours=(14, 24), quiet=True)
    b = hs.top_areas(inc, n=5, hours=("14:00", "24:00"), quiet=True)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    hw = hs.harm_weights()
    hw.loc[hw["category"] == "fly_tip", "weight"] = 3.0  # an edited copy of the CSV
    hw.to_csv(tmp_path / "harm.csv", index=False)
    c = hs.top_areas(inc, n=5, harm=tmp_path / "harm.csv", categories="fly_tip", quiet=True)
    np.testing.assert_allclose(c["weight"], 3.0 * c["n_fly_tip"])


@pytest.mark.parametrize("kw", [
    dict(period=("last week", "now")), dict(period="2022-07"), dict(hours=14),
    dict(hours=(25, 3)), dict(hours=("2pm", "midnight")), dict(hours=(9, "9:00")),
    dict(harm=123), dict(harm="no_such_file.csv"), dict(network="osm_city_of_london"),
])
def test_bad_filters_raise_plain_errors(harrow, kw):
    with pytest.raises(hs.BadInputError):
        hs.top_areas(harrow, n=3, quiet=True, **kw)


# --- max_area: areas a patrol can cover ------------------------------------------------

MAX_AREA = 200_000.0  # the documented default, 20 ha




@pytest.mark.parametrize("key", ["camden", "harrow", "city"])
def test_no_area_exceeds_max_area(key, request):
    inc = request.getfixturevalue(key)
    for method, harm in [("dbscan", None), ("dbscan", True), ("hdbscan", None), ("kde", None)]:
        a = hs.top_areas(inc, method=method, harm=harm, quiet=True)
        what = f"{key} {method} harm={harm}"
        assert 5 <= len(a) <= 20, what  # KDE finds only 9 hot regions in the small City
        assert a["area_m2"].max() <= MAX_AREA, what
        assert a.attrs["max_area"] == MAX_AREA and a.attrs["n_oversize"] == 0, what
        np.testing.assert_array_equal(a["n_incidents"], count_within(inc, a.geometry.array))


def test_max_area_none_keeps_chained_clusters(camden):
    """Without a limit DBSCAN chains Camden's centre into one area; the default splits it."""
    whole = hs.top_areas(camden, max_area=None, rank_by="score", quiet=True)
    assert whole["area_m2"].iloc[0] > 3_000_000 and whole["n_incidents"].iloc[0] == 1607
    assert whole.attrs["n_split"] == 0 and "max_area" not in whole.attrs
    # max_area=None is plain cluster_areas of hs.dbscan with the chosen settings
    lab = hs.dbscan(camden, eps=whole.attrs["eps"], min_samples=whole.attrs["min_samples"],
                    quiet=True)
    ref = hs.cluster_areas(lab)
    assert ref.geometry.geom_equals_exact(whole.geometry.iloc[0], 1e-6).any()
    split = hs.top_areas(camden, quiet=True)
    assert split.attrs["n_split"] >= 1 and split.attrs["n_pieces"] > split.attrs["n_split"]
    assert split["area_m2"].max() <= MAX_AREA


def test_split_conserves_incidents(camden):
    """Pieces of Camden's chained centre: inside the parent, disjoint, members kept."""
    from hotspots.clusters import piece_areas, point_xy, split_cluster

    whole = hs.top_areas(camden, max_area=None, rank_by="score", quiet=True)
    eps, ms = whole.attrs["eps"], whole.attrs["min_samples"]
    lab = hs.dbscan(camden, eps=eps, min_samples=ms, quiet=True)
    areas = hs.cluster_areas(lab)
    big = areas.iloc[areas["area_m2"].argmax()]
    members = lab[lab["cluster"] == big["cluster"]]
    xy = point_xy(members)
    pieces = split_cluster(xy, np.ones(len(xy)), eps, ms, MAX_AREA)
    polys = piece_areas(xy, pieces)
    assert len(pieces) >= 2 and len(polys) == len(pieces)
    idx = np.concatenate([m for m, _ in pieces])
    assert len(np.unique(idx)) == len(idx) < len(xy)  # disjoint; some fell out as noise
    assert all(e < eps for _, e in pieces)
    assert (gpd.GeoSeries(polys).area <= MAX_AREA).all()
    parent = big.geometry.buffer(1e-6)
    assert all(parent.covers(p) for p in polys)
    # every incident (of all Camden) in a piece was in its parent, and in one piece only
    inside = gpd.sjoin(camden[["geometry"]], gpd.GeoDataFrame(geometry=list(polys), crs=27700),
                       predicate="intersects")
    assert not inside.index.duplicated().any()
    in_parent = set(camden.index[camden.intersects(big.geometry)])
    assert set(inside.index) <= in_parent
    # each piece holds all its own members
    for (m, _), p in zip(pieces, polys, strict=True):
        assert gpd.GeoSeries(members.geometry.iloc[m].array).intersects(p).all()


def test_kde_split_pieces_inside_their_regions(camden):
    from hotspots.rank import candidate_areas

    a, pa = candidate_areas(camden, "kde", 20)
    b, _ = candidate_areas(camden, "kde", 20, max_area=None)
    assert pa["n_split"] >= 1 and (a.area <= MAX_AREA).all() and (b.area > MAX_AREA).any()
    covered = [b.buffer(1e-6).covers(g).sum() for g in a.geometry]
    assert covered == [1] * len(a)
    ii, jj = a.sindex.query(a.geometry, predicate="intersects")
    assert (a.geometry.iloc[ii[ii < jj]].intersection(a.geometry.iloc[jj[ii < jj]],
                                                      align=False).area < 1e-6).all()


def test_unknown_category_is_an_error_not_an_empty_selection(harrow):
    # "violence" is not a category ("violence_sexual" is): it must not silently drop out
    with pytest.raises(hs.BadInputError, match="'violence' is not in the vocabulary"):
        hs.top_areas(harrow, categories=["robbery", "violence"])
    # a source wording the table knows is mapped
    a = hs.top_areas(harrow, n=3, categories="Robbery")
    b = hs.top_areas(harrow, n=3, categories="robbery")
    assert a["n_incidents"].tolist() == b["n_incidents"].tolist()


def test_points_in_areas_is_an_strtree_query():
    """Bounding-box slices + intersects_xy find exactly the (point, area) pairs of an
    STRtree intersects query: edges, corners, holes, duplicates, unsorted input."""
    import shapely
    from shapely.geometry import Polygon

    from hotspots.rank import points_in_areas

    rng = np.random.default_rng(2)
    areas = np.array([shapely.box(0, 0, 100, 100),
                      Polygon([(50, 50), (250, 60), (150, 220)],
                              [[(120, 90), (160, 95), (140, 130)]]),
                      shapely.buffer(shapely.Point(300, 300), 40), shapely.box(90, 0, 120, 40)])
    grid = np.array([(x, y) for x in range(-10, 360, 10) for y in range(-10, 360, 10)], float)
    xy = np.vstack([grid, grid[rng.integers(0, len(grid), 500)]])
    xy = xy[rng.permutation(len(xy))]
    pt, ar = points_in_areas(xy, areas)
    ri, ra = shapely.STRtree(areas).query(shapely.points(xy), predicate="intersects")
    assert sorted(zip(pt.tolist(), ar.tolist(), strict=True)) == \
        sorted(zip(ri.tolist(), ra.tolist(), strict=True))


def test_hot_areas_room_path_is_the_all_distances_path(camden):
    """With room to spare, measuring only to areas with room assigns as every distance."""
    from hotspots.risk_areas import _hot_areas, _HotCells

    top = hs.top_areas(camden, hot_share=0.05, quiet=True)
    hot = hs.forecast(camden, cell_size=100, quiet=True)
    hot = hot.iloc[: len(hot) // 8]
    sa = hs.forecasting.study_area_of(camden)
    boxes, m2 = hot.geometry.array.to_numpy(), hot["area_m2"].to_numpy()
    part = m2 < shapely.area(boxes)  # (the parts in the study area, as _hot_cells)
    boxes[part] = shapely.intersection(boxes[part], sa)
    cells = _HotCells(boxes, hot["risk"].to_numpy() * shapely.area(boxes) / m2,
                      hot["row"].to_numpy(), hot["col"].to_numpy(), None,
                      shapely.STRtree(boxes))
    geoms = top.geometry.array.to_numpy()
    a, ra = _hot_areas(cells, geoms, 10, None, None)
    b, rb = _hot_areas(cells, geoms, 10, None, 1e12)
    assert len(a) == len(b) and np.array_equal(ra, rb)
    assert all(x.equals(y) for x, y in zip(a, b, strict=True))
    # and a limit is kept by every cell added to an area
    c, _ = _hot_areas(cells, geoms, 10, None, 60_000.0)
    assert len(c) == len(a)


def test_nearest_area_from_few_distances_is_every_distance_argmin():
    """_Nearest's pruned distances give the nearest area, ties to the first, as all do."""
    from hotspots.risk_areas import _Nearest

    rng = np.random.default_rng(5)
    # cells on a 100 m grid, areas: boxes and circles on the same lattice (many exact
    # ties), some overlapping cells
    cells = shapely.box(*np.array([(x, y, x + 100, y + 100) for x in range(0, 2000, 100)
                                   for y in range(0, 1500, 100)], float).T)
    c = rng.integers(0, 20, (30, 2)) * 100.0
    areas = np.r_[shapely.box(c[:15, 0], c[:15, 1], c[:15, 0] + 200, c[:15, 1] + 100),
                  shapely.buffer(shapely.points(c[15:]), 120)]
    near = _Nearest(cells, areas)
    for j in range(len(cells)):
        fits = np.flatnonzero(rng.random(len(areas)) < 0.6)
        if len(fits) == 0:
            continue
        every = shapely.distance(cells[j], areas[fits])
        d = near(j, fits)
        k = int(np.argmin(d))
        assert k == int(np.argmin(every)) and d[k] == every.min()
        assert (d[d < np.inf] == every[d < np.inf]).all()


def test_recency_is_pandas_timedelta_arithmetic():
    from hotspots.selection import _recency

    t = pd.Series(pd.to_datetime(["2022-01-15", "2022-03-15", None, "2022-06-30 13:00",
                                  "2022-12-15"], format="ISO8601")).astype("datetime64[ns]")
    start, end = pd.Timestamp("2022-02-01"), pd.Timestamp("2023-01-01")
    age = ((end - t) / ((end - start) / 2)).to_numpy(float)
    ref = np.power(2.0, -np.clip(np.nan_to_num(age, nan=0.0), 0, None))
    assert np.array_equal(_recency(t, start, end), ref)
    assert np.array_equal(_recency(t.astype("datetime64[s]"), start, end), ref)


def test_month_codes_are_pandas_monthly_periods():
    from hotspots.selection import _month_codes

    t = pd.Series(pd.to_datetime(["1969-12-31 23:59", "1970-01-01 00:00", "1900-02-10 12:00",
                                  "2022-03-31 23:59", "2022-04-01 00:00"], format="%Y-%m-%d %H:%M"))
    for s in (t, t.astype("datetime64[ns]"), t.astype("datetime64[s]")):
        assert np.array_equal(_month_codes(s), s.dt.to_period("M").array.asi8)
    assert _month_codes(pd.concat([t, pd.Series([pd.NaT])])) is None
