"""DBSCAN must be scikit-learn's DBSCAN on the raw points; HDBSCAN scikit-learn's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN, HDBSCAN

import hotspots as hs
from hotspots import clusters
from hotspots.clusters import point_xy


def assert_same_dbscan(xy, ours, sk_labels, sk_core, eps):
    """Same core points, a bijection between clusters on core points, same noise,
    and every border point within eps of a core point of the cluster it joined."""
    core, lab = ours["core"].to_numpy(), ours["cluster"].to_numpy()
    np.testing.assert_array_equal(core, sk_core)
    pairs = pd.DataFrame({"a": lab[core], "b": sk_labels[core]}).drop_duplicates()
    assert pairs["a"].is_unique and pairs["b"].is_unique
    np.testing.assert_array_equal(lab == -1, sk_labels == -1)
    border = np.flatnonzero(~core & (lab >= 0))
    tree = cKDTree(xy[core])
    core_lab = lab[core]
    for i in border[:500]:
        near = tree.query_ball_point(xy[i], eps)
        assert lab[i] in set(core_lab[near])
    return len(pairs)


def sklearn_dbscan(xy, eps, ms, w=None):
    m = DBSCAN(eps=eps, min_samples=ms).fit(xy, sample_weight=w)
    core = np.zeros(len(xy), bool)
    core[m.core_sample_indices_] = True
    return m.labels_, core


@pytest.mark.parametrize("eps,ms", [(150, 10), (100, 40), (250, 80)])
def test_dbscan_equals_sklearn_on_harrow(harrow, eps, ms):
    xy = point_xy(harrow)
    ours = hs.dbscan(harrow, eps=eps, min_samples=ms)
    k = assert_same_dbscan(xy, ours, *sklearn_dbscan(xy, eps, ms), eps)
    assert k == ours.attrs["n_clusters"] > 0
    assert ours.attrs["eps"] == eps and ours.attrs["min_samples"] == ms


def test_dbscan_equals_sklearn_on_city_of_london(city):
    xy = point_xy(city)
    ours = hs.dbscan(city, eps=60, min_samples=25)
    assert assert_same_dbscan(xy, ours, *sklearn_dbscan(xy, 60, 25), 60) > 1


def test_dbscan_weighted_equals_sklearn_sample_weight(harrow):
    rng = np.random.default_rng(1)
    inc = harrow.assign(w=rng.uniform(0.2, 3.0, len(harrow)))
    xy = point_xy(inc)
    ours = hs.dbscan(inc, eps=150, min_samples=30, weights="w")
    ref = sklearn_dbscan(xy, 150, 30, inc["w"].to_numpy())
    assert assert_same_dbscan(xy, ours, *ref, 150) > 1


def test_dbscan_chunked_path_is_identical(harrow, monkeypatch):
    whole = hs.dbscan(harrow, eps=150, min_samples=20)
    monkeypatch.setattr(clusters, "_PAIR_BUDGET", 5_000)  # force ~20 spatial chunks
    chunked = hs.dbscan(harrow, eps=150, min_samples=20)
    np.testing.assert_array_equal(whole["core"], chunked["core"])
    np.testing.assert_array_equal(whole["cluster"], chunked["cluster"])


def test_dbscan_numbering_deterministic_and_input_untouched(harrow):
    before = harrow.copy()
    a = hs.dbscan(harrow, eps=150, min_samples=20)
    shuffled = harrow.sample(frac=1, random_state=3)
    b = hs.dbscan(shuffled, eps=150, min_samples=20).loc[a.index]
    np.testing.assert_array_equal(a["cluster"][a["core"]], b["cluster"][b["core"]])
    sizes = a.loc[a["cluster"] >= 0, "cluster"].value_counts().sort_index()
    assert (np.diff(sizes.to_numpy()) <= 0).all()  # cluster 0 is the largest
    pd.testing.assert_frame_equal(harrow, before)
    assert "cluster" not in harrow.columns


def test_hdbscan_is_sklearn_on_raw_points(city):
    sub = city[city["category"] == "theft"]
    ours = hs.hdbscan(sub, min_cluster_size=20)
    ref = HDBSCAN(min_cluster_size=20, copy=True).fit(point_xy(sub)).labels_
    pairs = pd.DataFrame({"a": ours["cluster"].to_numpy(), "b": ref}).drop_duplicates()
    assert pairs["a"].is_unique and pairs["b"].is_unique
    assert ours.attrs["n_clusters"] == ref.max() + 1 > 1


def test_cluster_areas_cover_members_and_count(harrow):
    lab = hs.dbscan(harrow, eps=150, min_samples=40)
    areas = hs.cluster_areas(lab)
    assert areas.attrs["buffer"] == 75
    assert len(areas) == lab.attrs["n_clusters"]
    members = lab[lab["cluster"] >= 0]
    counts = members["cluster"].value_counts().sort_index()
    np.testing.assert_array_equal(areas["n_incidents"], counts.to_numpy())
    ncols = [c for c in areas.columns if c.startswith("n_") and c != "n_incidents"]
    np.testing.assert_array_equal(areas[ncols].sum(axis=1), areas["n_incidents"])
    inside = areas.set_index("cluster").geometry.loc[members["cluster"]].array
    assert inside.contains(members.geometry.array).all()
    np.testing.assert_allclose(areas["density"], areas["n_incidents"] / areas["area_m2"] * 1e6)
    top = members[members["cluster"] == 0]["category"].value_counts()
    assert areas.loc[0, "dominant_category"] == top.index[0]


def test_single_point_cluster_gets_a_disc():
    import geopandas as gpd
    from shapely.geometry import Point

    inc = gpd.GeoDataFrame(
        {"category": ["asb"] * 12}, geometry=[Point(530000, 180000)] * 12, crs=27700
    )
    lab = hs.dbscan(inc, eps=100, min_samples=10)
    assert (lab["cluster"] == 0).all() and lab["core"].all()
    area = hs.cluster_areas(lab)
    assert area.loc[0, "area_m2"] == pytest.approx(np.pi * 50**2, rel=0.02)


def test_hdbscan_bad_sizes_raise_plain_errors(city):
    for kw in (dict(min_cluster_size=1), dict(min_cluster_size=0), dict(min_samples=0)):
        with pytest.raises(hs.BadInputError):
            hs.hdbscan(city.iloc[:100], **kw)


def test_small_graph_components_are_scipys():
    """The numpy search for small graphs finds scipy's components (up to their ids)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(0)
    n = 400
    chain = np.arange(n - 1)[::-1]  # a long path numbered against the hooking order
    for a, b in ((rng.integers(0, n, 300), rng.integers(0, n, 300)), (chain, chain + 1),
                 (np.zeros(0, int), np.zeros(0, int))):
        ours = clusters._components(n, a, b)
        ref = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)),
                                   directed=False)[1]
        assert (ours >= 0).all() and (ours < n).all()
        # the same partition: one-to-one between the two labellings
        pairs = set(zip(ours.tolist(), ref.tolist(), strict=True))
        assert len(pairs) == len(set(ours.tolist())) == len(set(ref.tolist()))


def test_candidate_hulls_from_distinct_points_are_cluster_areas(harrow):
    """top_areas' candidates (distinct points, no frame) are cluster_areas' very polygons."""
    from hotspots.rank import candidate_areas

    cand, p = candidate_areas(harrow, "dbscan", 20, max_area=None)
    lab = hs.dbscan(harrow, eps=p["eps"], min_samples=p["min_samples"], quiet=True)
    ref = hs.cluster_areas(lab)
    assert len(cand) == len(ref)
    assert all(a.equals_exact(b, 0) for a, b in zip(cand.geometry, ref.geometry, strict=True))


def test_hull_candidates_give_geos_own_hull():
    """Dropping the points well inside the extremes' octagon leaves GEOS's hull as it is."""
    import shapely

    rng = np.random.default_rng(4)
    disc = rng.normal(size=(5000, 2)) * 800 + [530_000, 180_000]
    lattice = np.round(rng.uniform(0, 2000, (5000, 2)) / 50) * 50 + [520_000, 175_000]
    square = rng.uniform(0, 3000, (5000, 2)) + [510_000, 170_000]
    for xy in (disc, lattice, square, np.vstack([disc, lattice])[rng.permutation(10_000)]):
        left = clusters._hull_candidates(xy)
        assert len(left) < len(xy) / 10 or len(left) == len(xy)  # (<= 50 left: all kept)
        ref = shapely.convex_hull(shapely.multipoints(xy))
        assert shapely.convex_hull(shapely.multipoints(left)).equals_exact(ref, 0)
    assert len(clusters._hull_candidates(square)) < 500


def test_distinct_points_shared_or_not_are_collapse_of_point_xy():
    """Rows sharing point objects (as read_incidents makes them) are read once, with
    the same distinct points, the same row indices and the same refusals."""
    import geopandas as gpd
    import shapely

    from hotspots._errors import BadInputError

    rng = np.random.default_rng(5)
    objs = shapely.points(np.round(rng.uniform(0, 3000, (4000, 2))) + [530_000, 180_000])
    shared = objs[rng.integers(0, len(objs), 60_000)]  # one object, many rows
    own = shapely.points(shapely.get_coordinates(shared))  # an object per row
    for geoms in (shared, own, np.r_[shared[:30_000], own[30_000:]]):
        gdf = gpd.GeoDataFrame(geometry=geoms, crs=27700)
        uxy, inv = clusters.distinct_points(gdf)
        ref, _, rinv = clusters.collapse(point_xy(gdf), np.ones(len(gdf)))
        assert np.array_equal(uxy, ref) and np.array_equal(inv, rinv)
    for bad, msg in ((None, "without a location"), (shapely.Point(), "without a location"),
                     (shapely.box(0, 0, 1, 1), "must hold points")):
        geoms = shared.copy()
        geoms[123] = bad
        with pytest.raises(BadInputError, match=msg):
            clusters.distinct_points(gpd.GeoDataFrame(geometry=geoms, crs=27700))


def test_column_counts_is_count_table_of_the_rows_taken():
    """Counting a column's codes gives count_table of the rows as text (Arrow too)."""
    from hotspots.clusters import column_counts, count_table

    rng = np.random.default_rng(5)
    vals = np.array(["theft", "burglary", "drugs", "asb", "robbery"], dtype=object)
    for col in (pd.Series(vals[rng.integers(0, 5, 500)]),
                pd.Series(vals[rng.integers(0, 5, 500)], dtype="string[pyarrow]"),
                pd.Series(np.r_[vals[rng.integers(0, 5, 499)], [None]]),  # missing: fallback
                pd.Series(rng.integers(0, 4, 500))):  # numbers counted by their text
        take = np.sort(rng.choice(500, 300, replace=False))
        take = np.r_[take, 499]
        rows = rng.integers(0, 7, len(take))
        ref = count_table(rows, 7, col.iloc[take].astype(str).to_numpy())
        for made in (None, pd.factorize(col)):  # factorized here, or given (top_areas)
            got = column_counts(rows, 7, col, take, made)
            np.testing.assert_array_equal(got[0], ref[0])
            assert list(got[1]) == list(ref[1])


def _lattice_clusters(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct lattice points (25 m: many distances exactly eps, many equal ones),
    whole weights, and DBSCAN labels at eps 75 m."""
    rng = np.random.default_rng(seed)
    blobs = [rng.normal(c, s, (k, 2)) for c, s, k in
             (((0, 0), 150, 1500), ((900, 300), 250, 2000), ((300, 1200), 80, 600))]
    xy = np.round(np.vstack(blobs) / 25) * 25 + [530_000, 180_000]
    uxy, uw, _ = clusters.collapse(xy, rng.integers(1, 5, len(xy)).astype(float))
    lab = clusters._renumber(clusters._dbscan_labels(uxy, uw, 75.0, 12)[0], uxy, uw)
    return uxy, uw, lab


def test_batched_dbscan_is_each_set_alone():
    """Several point sets clustered in one pair search label each set as a lone run."""
    uxy, uw, lab = _lattice_clusters(1)
    # sets side by side (strips of one cluster, a random split of another): many pairs
    # across sets, which must not count
    big, other = np.flatnonzero(lab == 0), np.flatnonzero(lab == 1)
    strip = np.digitize(uxy[big, 0], np.quantile(uxy[big, 0], [0.3, 0.6]))
    half = np.random.default_rng(0).integers(0, 2, len(other))
    sets = [big[strip == 0], big[strip == 1], big[strip == 2], other[half == 0],
            other[half == 1], *(np.flatnonzero(lab == c) for c in range(2, lab.max() + 1))]
    # (min_samples high enough that some non-core points lie between two clusters)
    eps = np.resize([50.0, 50.0, 50.0, 37.5, 37.5, 75.0], len(sets))
    ms = np.resize([24.0, 24.0, 16.0, 16.0, 12.0, 12.0], len(sets))
    node = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    rows = np.concatenate(sets)
    got = clusters._dbscan_many(uxy[rows], uw[rows], node, eps, ms)
    for i, s in enumerate(sets):
        alone = clusters._dbscan_labels(uxy[s], uw[s], eps[i], ms[i])[0]
        mine = got[node == i]
        assert not np.isin(mine[mine >= 0], got[(node != i) & (got >= 0)]).any()
        # the same partition, and labels in the same order (renumbering breaks ties by it)
        np.testing.assert_array_equal(mine < 0, alone < 0)
        pairs = np.unique(np.c_[mine, alone][alone >= 0], axis=0)
        assert len(pairs) == len(np.unique(alone[alone >= 0]))
        assert (np.diff(pairs[:, 0]) > 0).all() and (np.diff(pairs[:, 1]) > 0).all()


@pytest.mark.parametrize("real_weights", [False, True])
def test_splitting_clusters_together_is_splitting_each(real_weights):
    """All oversized clusters split level by level together give each one's pieces
    (same members, eps and polygons) and shapes as splitting it alone."""
    import shapely

    uxy, uw, lab = _lattice_clusters(2)
    if real_weights:  # (sums then add in the lone run's order: no shared pair search)
        uw = uw * 1.1
    members = [np.flatnonzero(lab == c) for c in range(lab.max() + 1)]
    together = clusters._split_distinct(uxy, uw, members, 75.0, 12, 40_000)
    assert sum(len(p) > 1 for p in together) >= 2  # several clusters really split
    for m, pieces in zip(members, together, strict=True):
        alone = clusters._split_distinct(uxy[m], uw[m], [np.arange(len(m))], 75.0, 12,
                                         40_000)[0]
        assert len(pieces) == len(alone)
        for (a, ea, pa), (b, eb, pb) in zip(pieces, alone, strict=True):
            np.testing.assert_array_equal(a, m[b])
            assert ea == eb and pa.equals_exact(pb, 0)
    flat = [p for s in together for p in s]
    cl = np.repeat(np.arange(len(together)), [len(s) for s in together])
    shapes = clusters._piece_shapes(uxy, flat, np.array([p[2] for p in flat]), cl)
    each = np.concatenate([clusters._piece_shapes(uxy, s, np.array([p[2] for p in s]))
                           for s in together])
    assert shapely.equals_exact(shapes, each, 0).all()


def test_cluster_hulls_are_geos_hulls_of_the_points():
    """Hulls made from one line per group are GEOS's hulls of the points themselves."""
    import shapely

    rng = np.random.default_rng(3)
    groups = [rng.integers(0, 4, (k, 2)) * 25.0 + rng.uniform(0, 5e5, 2) for k in
              (1, 1, 2, 3, 3, 7, 50, 51, 400)]  # lone, repeated, collinear, lattice points
    groups.append(np.c_[np.arange(20.0), np.arange(20.0) * 2])  # all on one line
    xy = np.vstack(groups)
    pos = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    buffer = rng.uniform(10, 80, len(groups))
    ref = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy, indices=pos)), buffer)
    assert shapely.equals_exact(clusters._cluster_hulls(xy, pos, buffer), ref, 0).all()


def test_object_groups_partition_rows_as_factorize():
    """Rows grouped by hashed object ids: the same groups as ``pd.factorize`` gives,
    with colliding ids (random ids fill the table) and with addresses in a run."""
    from hotspots._objects import object_groups

    rng = np.random.default_rng(3)
    for ptr in (rng.integers(0, 2**40, 3000)[rng.integers(0, 3000, 50_000)],  # collisions
                (140_000_000 + 48 * rng.integers(0, 20_000, 90_000)) * 16,  # pymalloc-like
                rng.integers(0, 2**62, 25_000),  # every row its own id
                np.array([7, 7, 7], np.int64)):
        ptr = ptr.astype(np.int64)
        slot, first, group = object_groups(ptr)
        g = group[slot]
        codes, uniq = pd.factorize(ptr)
        assert (g >= 0).all() and np.array_equal(g[first], np.arange(len(first)))
        assert len(first) == len(uniq) and (np.diff(ptr[first]) > 0).all()
        # same partition: each factorize code meets one group and the reverse
        assert len(np.unique(codes * len(first) + g)) == len(uniq)
        assert np.array_equal(ptr[first][g], ptr)


def test_xy_order_is_argsort_of_complex_keys():
    """Sorting by x then re-sorting runs of equal x by y is numpy's complex order."""
    rng = np.random.default_rng(9)
    xy = np.round(rng.uniform(-50, 50, (30_000, 2)), 1)  # many equal x, some equal pairs
    keys = np.unique(xy.view(np.complex128).ravel())
    rng.shuffle(keys)
    for k in (keys, keys[:1], keys[:0], rng.uniform(1, 2, 500) + 1j * rng.uniform(1, 2, 500)):
        assert np.array_equal(clusters._xy_order(k), np.argsort(k))
