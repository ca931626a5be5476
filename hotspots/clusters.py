"""Density clusters of incidents: exact fast DBSCAN, HDBSCAN, and cluster areas.

DBSCAN here gives the clustering scikit-learn's ``DBSCAN`` gives on the raw points
(same core points, same clusters up to renumbering; a border point within ``eps`` of
two clusters joins the one with the nearest core point, a choice DBSCAN leaves open).
It is fast because it works on *unique coordinates*: police.uk snaps every crime to
one of a fixed set of anonymous map points, so a borough-year of 15,000 crimes sits on
a few thousand points. Collapsing identical coordinates to one point whose weight is
their multiplicity is exact for DBSCAN: every copy has the same neighbourhood, so the
same weighted neighbour count, core status and cluster.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ._errors import BadInputError
from ._objects import object_groups, object_ids
from ._validate import check_gdf, check_nonempty, check_positive, weights_array

__all__ = [
    "DEFAULT_HDBSCAN_MAX",
    "MIN_SPLIT_EPS",
    "SPLIT_STEPS",
    "cluster_areas",
    "column_counts",
    "count_table",
    "collapse",
    "distinct_points",
    "dbscan",
    "hdbscan",
    "piece_areas",
    "point_xy",
    "split_cluster",
]

log = logging.getLogger("hotspots")

# Above this many neighbour pairs the neighbour graph is built in spatial chunks so
# memory stays bounded (about 16 bytes a pair), at the cost of a second pass.
_PAIR_BUDGET = 8_000_000

#: tighter (eps, min_samples) factors tried in turn by :func:`split_cluster`, each
#: raising the density a core point needs (min_samples / eps²) by 1.5-2.25×: shorter
#: links first, since big clusters are chains of dense places, then denser cores,
#: then shorter links with proportionally fewer neighbours (for sparse chains where
#: no point has min_samples within a shorter eps)
SPLIT_STEPS = ((2 / 3, 1.0), (1.0, 1.5), (2 / 3, 2 / 3), (0.5, 0.5))
#: split_cluster never links points closer than this (metres): about the spacing of
#: police.uk snap points in central London, below which links carry no information
MIN_SPLIT_EPS = 25.0

DEFAULT_HDBSCAN_MAX = 300_000  # raw points; HDBSCAN cannot use weights (see hdbscan)
_HASH_FROM = 20_000  # collapse hashes above this many rows (sorting is quicker below)
_SMALL_GRAPH = 20_000  # nodes up to which _components runs its own numpy search


def point_xy(gdf: gpd.GeoDataFrame, name: str = "incidents") -> np.ndarray:
    """(n, 2) float array of point coordinates in metres; raises on missing points."""
    # shapely objects, None where missing
    return _coordinates(np.asarray(gdf.geometry.values), name)


def distinct_points(gdf: gpd.GeoDataFrame, name: str = "incidents"
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct point coordinates (sorted, metres) and each row's index into them.

    The same as :func:`collapse` of :func:`point_xy` (same checks and messages).
    Rows that share one point object (``read_incidents`` makes one per distinct
    place: 96k for London's 849k crimes) are read once: reading every row's
    coordinates costs a cache miss per row, ~4x the whole of this.
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    n = len(geoms)
    if n > _HASH_FROM:
        ptr = object_ids(geoms)
        sample = ptr[:: n // 10_000]  # rows with objects of their own: skip at once
        slot, first, group = object_groups(ptr) if len(pd.unique(sample)) < len(sample) \
            else (None, ptr, None)
        if len(first) <= n // 2:
            uxy, _, uinv = collapse(_coordinates(geoms[first], name), np.ones(len(first)))
            # each group's distinct point, then each row's: one gather over the rows
            return uxy, np.where(group >= 0, uinv[group], -1)[slot]
    uxy, _, inv = collapse(point_xy(gdf, name), np.ones(n))
    return uxy, inv


def _coordinates(geoms: np.ndarray, name: str) -> np.ndarray:
    """(n, 2) coordinates of point geometries; raises on missing or other shapes."""
    kinds = shapely.get_type_id(geoms)  # one vectorised pass: -1 missing, 0 point
    if (kinds == -1).any():
        raise BadInputError(f"{name} has rows without a location; drop them first")
    if (kinds != 0).any():
        raise BadInputError(f"{name} must hold points (one incident per row)")
    xy = shapely.get_coordinates(geoms)  # empty points give no coordinates at all
    if len(xy) != len(geoms):
        raise BadInputError(f"{name} has rows without a location; drop them first")
    return xy.astype(float, copy=False)


def collapse(xy: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique coordinates, their summed weights and each row's unique index.

    Returns ``(uxy, uw, inverse)`` with ``uxy[inverse] == xy``; ``uxy`` sorted by x
    then y (as ``np.unique`` of the (x, y) pairs).
    """
    xy = np.ascontiguousarray(xy, dtype=float)
    if len(xy) > _HASH_FROM and np.isfinite(xy).all() and (xy != 0).all():
        # hashing then sorting only the distinct points (police.uk London: 96k for
        # 849k rows) instead of sorting every row; exact, since with no NaN and no
        # ±0.0 equal floats are equal bits (those cases keep np.unique's rules)
        codes, ukeys = pd.factorize(xy.view(np.complex128).ravel())
        order = _xy_order(ukeys)
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        inverse = rank[codes]
        ukeys = ukeys[order]
    else:
        keys = xy.view(np.complex128).ravel()
        ukeys, inverse = np.unique(keys, return_inverse=True)
    uxy = np.column_stack([ukeys.real, ukeys.imag])
    uw = np.bincount(inverse, weights=w, minlength=len(ukeys))
    return uxy, uw, inverse.ravel()


def _xy_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort`` of distinct finite complex ``keys`` (x then y), ~2x quicker.

    Sorted by x alone (a float sort), then only the runs of equal x re-sorted by y.
    """
    order = np.argsort(keys.real)
    xs = keys.real[order]
    tie = np.flatnonzero(xs[1:] == xs[:-1])
    if len(tie):  # the positions in runs of equal x, in order: sorted by (x, y)
        at = np.unique(np.r_[tie, tie + 1])
        sub = order[at]
        order[at] = sub[np.lexsort((keys.imag[sub], keys.real[sub]))]
    return order


def _subset(uxy: np.ndarray, inv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct points of some rows, from all rows' (uxy, inverse): still sorted."""
    present = np.bincount(inv, minlength=len(uxy)) > 0
    if present.all():
        return uxy, inv
    return uxy[present], (np.cumsum(present) - 1)[inv]


def _area_hits(uxy: np.ndarray, geoms) -> tuple[np.ndarray, np.ndarray]:
    """(distinct point, area) pairs, point inside or on the edge; sorted by point.

    Per area, the points in its bounding box (a slice of the points sorted by x),
    then the prepared area's ``intersects`` on their coordinates: no point objects.
    """
    geoms = np.asarray(geoms, dtype=object)
    order = None
    if len(uxy) > 1 and (np.diff(uxy[:, 0]) < 0).any():  # (collapse sorts by x)
        order = np.argsort(uxy[:, 0], kind="stable")
        uxy = uxy[order]
    x, y = uxy[:, 0], uxy[:, 1]
    b = shapely.bounds(geoms)
    lo, hi = np.searchsorted(x, b[:, 0], "left"), np.searchsorted(x, b[:, 2], "right")
    shapely.prepare(geoms)
    ups, uas = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for i in np.flatnonzero(np.isfinite(b).all(axis=1) & (hi > lo)):
        ys = y[lo[i]:hi[i]]
        j = lo[i] + np.flatnonzero((ys >= b[i, 1]) & (ys <= b[i, 3]))
        j = j[shapely.intersects_xy(geoms[i], x[j], y[j])]
        ups.append(j)
        uas.append(np.full(len(j), i, np.int64))
    up, ua = np.concatenate(ups), np.concatenate(uas)
    if order is not None:
        up = order[up]
    srt = np.lexsort((ua, up))
    return up[srt], ua[srt]


def _expand(up: np.ndarray, ua: np.ndarray, inv: np.ndarray, n_points: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct-point hits (sorted by point) back to every row at those points.

    Rows of one point in row order, points in order: (row index, area index).
    """
    hit = np.zeros(n_points, bool)
    hit[up] = True
    rows = np.flatnonzero(hit[inv])  # only the rows at a hit point are sorted
    rows = rows[np.argsort(inv[rows], kind="stable")]
    counts = np.bincount(inv[rows], minlength=n_points)
    starts = np.cumsum(counts) - counts
    rep = counts[up]
    return rows[np.repeat(starts[up], rep) + _ranges(rep)], np.repeat(ua, rep)


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """0..l-1 for each l, concatenated."""
    if len(lengths) == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(lengths)
    return np.arange(ends[-1]) - np.repeat(ends - lengths, lengths)


def count_table(rows: np.ndarray, k: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each value per row group: ``pd.crosstab(rows, values)``, 10x quicker.

    ``rows`` are group numbers 0..k-1, ``values`` strings. Returns (k x m counts, the m
    distinct values sorted), every group 0..k-1 present (zeros where empty).
    """
    codes, uniq = pd.factorize(np.asarray(values, dtype=object))
    order = np.argsort(uniq, kind="stable")  # sorted, as crosstab's columns
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    m = len(uniq)
    flat = np.asarray(rows, np.int64) * m + rank[codes]
    return np.bincount(flat, minlength=k * m).reshape(k, m), uniq[order]


def column_counts(rows: np.ndarray, k: int, column: pd.Series, take: np.ndarray,
                  factorized: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`count_table` of ``column.iloc[take].astype(str)``, without that copy.

    The whole column is factorized once (a big Arrow string column: ~4x quicker than
    taking its rows); the values of ``take`` are counted by their codes. Falls back
    to :func:`count_table` when a value is missing or two values share a text.
    ``factorized``: ``pd.factorize(column)`` if already made.
    """
    codes, uniq = pd.factorize(column) if factorized is None else factorized
    names = np.asarray(pd.Index(uniq).astype(str), dtype=object)
    mine = codes[take]
    if len(mine) and mine.min() < 0 or len(set(names)) < len(names):
        return count_table(rows, k, column.iloc[take].astype(str).to_numpy())
    m = len(names)
    counts = np.bincount(np.asarray(rows, np.int64) * m + mine, minlength=k * m).reshape(k, m)
    present = np.flatnonzero(counts.sum(axis=0) > 0)
    order = present[np.argsort(names[present], kind="stable")]  # sorted, as count_table
    return counts[:, order], names[order]


def _spatial_chunks(xy: np.ndarray, n_chunks: int) -> list[np.ndarray]:
    """Index chunks of points, as vertical strips so each chunk is compact."""
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    return np.array_split(order, n_chunks)


def _chunk_pairs(xy: np.ndarray, tree: cKDTree, idx: np.ndarray, eps: float):
    """Directed neighbour pairs (i, j) with i in ``idx``, d <= eps, self included."""
    m = cKDTree(xy[idx]).sparse_distance_matrix(tree, eps, output_type="ndarray")
    return idx[m["i"]], m["j"]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A component id (< n) for each of n nodes of the undirected graph of edges a-b."""
    if n > _SMALL_GRAPH:
        g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
        return connected_components(g, directed=False)[1]
    # small graphs (split_cluster's hundreds of re-clusterings): hook each root onto
    # the smaller root across an edge, then point every node at its root, until no
    # edge joins two roots; scipy's setup costs more than the whole search here
    lab = np.arange(n)
    while True:
        la, lb = lab[a], lab[b]
        diff = la != lb
        if not diff.any():
            return lab
        a, b, la, lb = a[diff], b[diff], la[diff], lb[diff]
        np.minimum.at(lab, np.maximum(la, lb), np.minimum(la, lb))
        while True:  # pointer jumping: parents only ever point at smaller ids
            up = lab[lab]
            if np.array_equal(up, lab):
                break
            lab = up


def _dbscan_labels(
    xy: np.ndarray, w: np.ndarray, eps: float, min_samples: float, known: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN on weighted distinct points: (component label or -1, core mask).

    Labels are arbitrary component ids; callers renumber. Exactly scikit-learn's
    definition: a point is core when the summed weight of points within ``eps``
    (itself included, distance <= eps) reaches ``min_samples``; clusters are the
    connected components of core points; a non-core point within ``eps`` of a core
    point takes the label of its nearest core point. ``known``: a dict kept across
    calls on the same points and weights (a ladder of min_samples), so each eps's
    neighbour pairs are searched once.
    """
    n = len(xy)
    if known is None or eps not in known:
        tree = _pair_tree(xy, w)
        # pair count estimated from a sample: it only picks the (equally exact) code
        # path (not needed when even all pairs fit: split_cluster's re-clusterings)
        step = max(1, n // 2000)
        n_pairs = 0 if n * (n - 1) // 2 <= _PAIR_BUDGET else \
            int(tree.query_ball_point(xy[::step], eps, return_length=True).sum() * step)
        p = tree.query_pairs(eps, output_type="ndarray") if n_pairs <= _PAIR_BUDGET else None
        if known is not None:
            known[eps] = tree, n_pairs, p
    else:
        tree, n_pairs, p = known[eps]
    if p is not None:
        return _pair_labels(xy, w, p[:, 0], p[:, 1], eps, min_samples)
    chunks = _spatial_chunks(xy, -(-n_pairs // _PAIR_BUDGET))
    deg = np.zeros(n)
    for idx in chunks:
        a, b = _chunk_pairs(xy, tree, idx, eps)
        deg += np.bincount(a, weights=w[b], minlength=n)
    core = deg >= min_samples
    core_idx = np.flatnonzero(core)
    labels = np.full(n, -1, dtype=np.int64)
    if len(core_idx) == 0:
        return labels, core
    # merge each chunk's core-core edges into the running components
    nc = len(core_idx)
    cxy = xy[core_idx]
    ctree = cKDTree(cxy)
    base = np.arange(nc)
    rep = base.copy()  # rep[i]: a member of i's component found so far
    for idx in _spatial_chunks(cxy, -(-n_pairs // _PAIR_BUDGET)):
        a, b = _chunk_pairs(cxy, ctree, idx, eps)
        a, b = rep[a], rep[b]
        keep = a != b
        lab = _components(nc, np.r_[base, a[keep]], np.r_[rep, b[keep]])
        first = np.full(lab.max() + 1, nc)
        np.minimum.at(first, lab, base)
        rep = first[lab]
    labels[core_idx] = rep
    border = np.flatnonzero(~core)
    labels[border] = _nearest_core(xy, core_idx, rep, border, eps)
    return labels, core


def _pair_tree(xy: np.ndarray, w: np.ndarray) -> cKDTree:
    """k-d tree for neighbour pairs, unbalanced when the weights are whole numbers.

    The tree shape only changes the order pairs come in (each pair passes the same
    d <= eps test), which changes no sum of whole weights; unbalanced, London's 96k
    points build in 0.016 s instead of 0.025 s.
    """
    if len(w) and _whole(w):
        return cKDTree(xy, balanced_tree=False, compact_nodes=False)
    return cKDTree(xy)


def _whole(w: np.ndarray) -> bool:
    """Whether the weights are whole numbers whose sums are exact in any order."""
    return bool(np.all(w == np.floor(w)) and w.sum() < 2.0**53)


def _pair_labels(xy: np.ndarray, w: np.ndarray, i: np.ndarray, j: np.ndarray, eps,
                 min_samples, node: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_dbscan_labels` from the neighbour pairs ``i``-``j`` (each once, d <= eps).

    ``node``: each point's set when several sets are clustered at once (pairs only
    within a set; ``eps`` and ``min_samples`` then arrays, one per set; labels
    distinct across sets, and within a set in the order a lone run gives them).
    """
    n = len(xy)
    deg = w + np.bincount(i, w[j], minlength=n) + np.bincount(j, w[i], minlength=n)
    core = deg >= (min_samples if node is None else min_samples[node])
    core_idx = np.flatnonzero(core)
    labels = np.full(n, -1, dtype=np.int64)
    if len(core_idx) == 0:
        return labels, core
    pos = np.full(n, -1, dtype=np.int64)
    pos[core_idx] = np.arange(len(core_idx))
    ci, cj = core[i], core[j]
    keep = ci & cj
    comp = _components(len(core_idx), pos[i[keep]], pos[j[keep]])
    labels[core_idx] = comp
    # a non-core point whose core neighbours all have one label takes it (its
    # nearest core point, being nearer, passed the same d <= eps test: it is one of
    # them); only points between clusters need their nearest core point looked up,
    # in a k-d tree of their set's core points as a lone run makes it, so that
    # equally near ones resolve the same way (the 85k non-core points of London
    # 2022 took 0.02 s of lookups; 294 of them lie between two clusters)
    m1, m2 = cj & ~ci, ci & ~cj  # (non-core, core) pairs, either way round
    a, lab = np.r_[i[m1], j[m2]], np.r_[labels[j[m1]], labels[i[m2]]]
    lo, hi = np.full(n, n), np.full(n, -1)
    np.minimum.at(lo, a, lab)
    np.maximum.at(hi, a, lab)
    one = lo == hi
    labels[one] = hi[one]
    between = np.flatnonzero(lo < hi)
    if node is None:
        labels[between] = _nearest_core(xy, core_idx, comp, between, eps)
        return labels, core
    for g in np.unique(node[between]):
        mine = node[core_idx] == g
        pts = between[node[between] == g]
        labels[pts] = _nearest_core(xy, core_idx[mine], comp[mine], pts, eps[g])
    return labels, core


def _nearest_core(xy: np.ndarray, core_idx: np.ndarray, comp: np.ndarray, pts: np.ndarray,
                  eps: float) -> np.ndarray:
    """Label ``comp`` of each of ``pts``' nearest core point within ``eps``, else -1."""
    out = np.full(len(pts), -1, dtype=np.int64)
    if len(pts):
        ctree = cKDTree(xy[core_idx])
        d, k = ctree.query(xy[pts], k=1, distance_upper_bound=eps * (1 + 1e-9) + 1e-9)
        ok = d <= eps
        out[ok] = comp[k[ok]]
    return out


def _dbscan_many(xy: np.ndarray, w: np.ndarray, node: np.ndarray, eps: np.ndarray,
                 min_samples: np.ndarray) -> np.ndarray:
    """:func:`_dbscan_labels` labels of several point sets at once.

    ``node`` numbers each point's set; ``eps``, ``min_samples`` one per set. One
    k-d tree and pair search per distinct eps, pairs across sets dropped: each pair
    passes the same test (cKDTree's d <= eps on the same coordinates) as in a lone
    run. Weights must be whole numbers, so that a point's neighbour weight is exact
    whatever order its pairs come in. Labels distinct across sets.
    """
    ii, jj = [], []
    for e in np.unique(eps):
        sel = np.flatnonzero(eps[node] == e)
        p = _pair_tree(xy[sel], w[sel]).query_pairs(e, output_type="ndarray")
        a, b = sel[p[:, 0]], sel[p[:, 1]]
        same = node[a] == node[b]
        ii.append(a[same])
        jj.append(b[same])
    return _pair_labels(xy, w, np.concatenate(ii), np.concatenate(jj), eps, min_samples,
                        node)[0]


def _renumber(labels: np.ndarray, xy: np.ndarray, size: np.ndarray,
              groups: np.ndarray | None = None) -> np.ndarray:
    """Relabel clusters 0..k-1 by descending size, ties by smallest x then y; -1 kept.

    ``size`` is each row's contribution to its cluster's size (1 per incident, or a
    multiplicity for collapsed points). ``groups``: each row's group number, when
    the clusters of several groups (no label shared between two) are numbered
    0.. within each group, in one call.
    """
    out = np.full(len(labels), -1, dtype=np.int64)
    m = labels >= 0
    if not m.any():
        return out
    # numpy, not a pandas groupby: overhead counts on split_cluster's small inputs
    old, inv = np.unique(labels[m], return_inverse=True)
    k = len(old)
    total = np.bincount(inv, weights=np.asarray(size, float)[m], minlength=k)
    xmin, ymin = np.full(k, np.inf), np.full(k, np.inf)
    np.minimum.at(xmin, inv, xy[m, 0])
    np.minimum.at(ymin, inv, xy[m, 1])
    rank = np.empty(k, np.int64)
    if groups is None:
        rank[np.lexsort((ymin, xmin, -total))] = np.arange(k)  # size desc, then x, then y
    else:
        grp = np.empty(k, np.int64)
        grp[inv] = groups[m]
        order = np.lexsort((ymin, xmin, -total, grp))
        rank[order] = np.arange(k) - np.searchsorted(grp[order], grp[order])
    out[m] = rank[inv]
    return out


def dbscan(
    inc: gpd.GeoDataFrame,
    *,
    eps: float = 150.0,
    min_samples: float = 10,
    weights: str | None = None,
    quiet: bool = False,
) -> gpd.GeoDataFrame:
    """DBSCAN clusters of incidents, exact and fast on snapped (police.uk) points.

    Parameters
    ----------
    inc : GeoDataFrame
        Canonical incidents (any CRS; worked on in EPSG:27700).
    eps : float, default 150
        Neighbourhood radius in metres (distance <= eps counts). 150 m is about a
        street block, the scale at which police.uk snap points are spaced.
    min_samples : float, default 10
        Incidents (or summed weight) within ``eps`` of a point, itself included, for
        it to be a core point.
    weights : str, optional
        Column of per-incident weights (e.g. harm); each incident then counts its
        weight towards ``min_samples``, as ``sample_weight`` in scikit-learn.
    quiet : bool
        Do not log.

    Returns
    -------
    GeoDataFrame
        A copy of ``inc`` (EPSG:27700) with ``cluster`` (int, -1 for noise; clusters
        numbered 0.. by descending number of incidents, ties by smallest x then y)
        and ``core`` (bool). ``attrs``: ``eps``, ``min_samples``, ``n_clusters``,
        ``weights`` (column name or "").

    Notes
    -----
    Identical coordinates are collapsed to one point weighted by their multiplicity
    (times ``weights``), which is exact for DBSCAN. Neighbour pairs are found with a
    k-d tree; with more than ~20 million pairs they are processed in spatial chunks.
    """
    inc = check_gdf(inc, "incidents")
    eps = check_positive(eps, "eps", allow_none=False)
    min_samples = check_positive(min_samples, "min_samples", allow_none=False)
    out = inc.copy()
    distinct = distinct_points(out) if len(out) else None
    w = weights_array(out, weights)
    if distinct is not None:
        uxy, inv = distinct
        uw = np.bincount(inv, weights=w, minlength=len(uxy))
        lab, core = _dbscan_labels(uxy, uw, eps, min_samples)
        mult = np.bincount(inv, minlength=len(uxy)).astype(float)
        lab = _renumber(lab, uxy, mult)
        out["cluster"] = lab[inv]
        out["core"] = core[inv]
    else:
        out["cluster"] = np.array([], dtype=np.int64)
        out["core"] = np.array([], dtype=bool)
    k = int(out["cluster"].max() + 1) if len(out) else 0
    out.attrs.update(eps=eps, min_samples=min_samples, n_clusters=k, weights=weights or "")
    if not quiet:
        log.info("dbscan: eps=%g m, min_samples=%g -> %d clusters", eps, min_samples, k)
    return out


def hdbscan(
    inc: gpd.GeoDataFrame,
    *,
    min_cluster_size: int = 15,
    min_samples: int | None = None,
    cluster_selection_epsilon: float = 0.0,
    max_points: int = DEFAULT_HDBSCAN_MAX,
    quiet: bool = False,
) -> gpd.GeoDataFrame:
    """HDBSCAN clusters (scikit-learn), for hotspots of varied density.

    Parameters
    ----------
    inc : GeoDataFrame
        Canonical incidents.
    min_cluster_size : int, default 15
        Smallest group of incidents worth calling a cluster.
    min_samples : int, optional
        Neighbours for the core distance; scikit-learn's default (= min_cluster_size)
        when None.
    cluster_selection_epsilon : float, default 0
        Metres below which clusters are merged (scikit-learn's parameter).
    max_points : int, default 300,000
        Refuse larger inputs with a clear message rather than run for an hour.

    Returns
    -------
    GeoDataFrame
        A copy of ``inc`` with ``cluster`` (-1 noise; numbered by descending size,
        ties by smallest x, y) and ``probability`` (scikit-learn's membership
        strength). ``attrs``: ``min_cluster_size``, ``min_samples``, ``n_clusters``.

    Notes
    -----
    HDBSCAN has no sample weights, and collapsing duplicates would change core
    distances, so it runs on the raw points: every incident is a point, police.uk
    duplicates included. That is the exact algorithm, not an approximation: a snap
    point carrying ``min_samples`` or more crimes has core distance 0, i.e. it is as
    dense as possible, which is what a hotspot map should say. No jitter is added.
    """
    from sklearn.cluster import HDBSCAN

    inc = check_gdf(inc, "incidents")
    check_nonempty(inc, "incidents")
    mcs = int(check_positive(min_cluster_size, "min_cluster_size", allow_none=False))
    if mcs < 2:
        raise BadInputError(f"min_cluster_size must be at least 2, got {min_cluster_size!r}")
    if min_samples is not None and int(check_positive(min_samples, "min_samples")) < 1:
        raise BadInputError(f"min_samples must be at least 1, got {min_samples!r}")
    if len(inc) > max_points:
        raise BadInputError(
            f"{len(inc):,} incidents is more than hdbscan's limit of {max_points:,}: "
            "filter by period or category, or use hs.dbscan (exact and fast on big data)"
        )
    out = inc.copy()
    xy = point_xy(out)
    ms = None if min_samples is None else int(min_samples)
    if len(out) < max(mcs, 2):
        lab = np.full(len(out), -1)
        prob = np.zeros(len(out))
    else:
        model = HDBSCAN(
            min_cluster_size=mcs,
            min_samples=ms,
            cluster_selection_epsilon=float(cluster_selection_epsilon),
            copy=True,
        ).fit(xy)
        lab, prob = model.labels_, model.probabilities_
    out["cluster"] = _renumber(np.asarray(lab), xy, np.ones(len(out)))
    out["probability"] = prob
    k = int(out["cluster"].max() + 1)
    out.attrs.update(min_cluster_size=mcs, min_samples=ms if ms is not None else mcs, n_clusters=k)
    if not quiet:
        log.info("hdbscan: min_cluster_size=%d, min_samples=%s -> %d clusters", mcs, ms, k)
    return out


def _hull_candidates(xy: np.ndarray) -> np.ndarray:
    """``xy`` without the points well inside the octagon of its 8 extreme points.

    None of them is a hull vertex, and GEOS drops them itself before its Graham
    scan (above 50 points, the same octagon rule; its result does not depend on
    their order then), so the convex hull of what is left is the very same
    polygon, made without a point object per input point. Order kept.
    """
    if len(xy) <= 50:
        return xy
    x, y = xy[:, 0], xy[:, 1]
    ring = xy[[np.argmin(x), np.argmin(x - y), np.argmax(y), np.argmax(x + y),
               np.argmax(x), np.argmax(x - y), np.argmin(y), np.argmin(x + y)]]  # clockwise
    inside = np.ones(len(xy), bool)
    for (x0, y0), (x1, y1) in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        if x0 == x1 and y0 == y1:
            continue
        # strictly right of every clockwise edge, by a margin float error cannot cross
        cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
        inside &= cross < -1e-6 * np.hypot(x1 - x0, y1 - y0) * (1 + np.abs(xy).max())
    left = xy[~inside]
    return left if len(left) > 50 else xy


def _cluster_hulls(xy: np.ndarray, pos: np.ndarray, buffer: float | np.ndarray,
                   first: np.ndarray | None = None) -> np.ndarray:
    """Convex hull of each group's points buffered by ``buffer`` metres.

    ``pos`` numbers each point's group 0..k-1 (every group non-empty); returns the k
    polygons, group 0 first. The one definition of a cluster's area, shared by
    :func:`cluster_areas` and :func:`split_cluster`. ``first`` orders the points
    within a group (default: as given): GEOS's hull follows the input order, so
    distinct points ordered by their first incident give the very polygons the
    incidents give.
    """
    order = np.argsort(pos, kind="stable") if first is None else np.lexsort((first, pos))
    xy, pos = xy[order], pos[order]
    # each group as a line through its points, not a multipoint: GEOS's hull reads
    # the same coordinates in the same order, and a line needs no point object per
    # point (~15x quicker to make); a lone point is given twice (a line needs two)
    twice = np.bincount(pos)[pos] == 1
    if twice.any():
        xy, pos = np.repeat(xy, 1 + twice, axis=0), np.repeat(pos, 1 + twice)
    return shapely.buffer(shapely.convex_hull(shapely.linestrings(xy, indices=pos)), buffer)


def split_cluster(
    xy: np.ndarray,
    w: np.ndarray,
    eps: float,
    min_samples: float,
    max_area: float,
) -> list[tuple[np.ndarray, float]]:
    """Pieces of one cluster small enough to cover, by re-clustering its own members.

    A cluster whose area (hull buffered by ``eps / 2``, as :func:`_cluster_hulls`)
    exceeds ``max_area`` is clustered again, on its members only, with the first of
    :data:`SPLIT_STEPS` that changes it (each demands a denser neighbourhood:
    shorter links, eps never below :data:`MIN_SPLIT_EPS`, and/or more neighbours
    per unit area); each piece is
    then split the same way from its own settings, until every piece fits or no
    tighter setting changes it (then it is kept whole, over the limit). Members that
    become noise belong to no piece, so pieces only shrink.

    Parameters
    ----------
    xy, w : arrays
        The cluster's incidents (metres) and their weights (as for :func:`dbscan`).
    eps, min_samples : float
        The settings the cluster was found with.
    max_area : float
        Largest area in m² a piece may have.

    Returns
    -------
    list of (member indices into ``xy``, eps of the piece)
        One entry per piece, in a fixed order (depth first, larger pieces first);
        the cluster itself, unchanged, when it already fits. A piece's area is
        ``_cluster_hulls`` with buffer eps/2 of its own eps, so it lies inside its
        parent's area.
    """
    uxy, uw, inv = collapse(xy, w)
    out = [(idx, e) for idx, e, _ in
           _split_distinct(uxy, uw, [np.arange(len(uxy))], eps, min_samples, max_area)[0]]
    # back from unique points to incidents
    order = np.argsort(inv, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(inv, minlength=len(uxy)))]
    return [
        (np.concatenate([order[starts[u] : starts[u + 1]] for u in idx]), e) for idx, e in out
    ]


def _split_distinct(uxy: np.ndarray, uw: np.ndarray, members: list[np.ndarray], eps: float,
                    min_samples: float, max_area: float, hulls: np.ndarray | None = None
                    ) -> list[list[tuple[np.ndarray, float, shapely.Geometry]]]:
    """:func:`split_cluster` of many clusters of distinct points at once.

    ``members``: each cluster's indices into ``uxy`` (weights ``uw``); ``hulls``:
    their polygons when known (else made as :func:`_cluster_hulls`, buffer eps/2).
    Returns, per cluster, its pieces as (indices, eps, polygon) in split_cluster's
    order. Each piece is split on its own, so the clusters are worked level by
    level: one area test, renumbering and hull call a level for all of them.
    """
    if hulls is None:
        pos = np.repeat(np.arange(len(members)), [len(m) for m in members])
        hulls = _cluster_hulls(uxy[np.concatenate(members)], pos, eps / 2)
    # a node: (path (cluster, piece, piece ...), point indices, eps, min_samples, polygon)
    nodes = [((c,), idx, float(eps), float(min_samples), h)
             for c, (idx, h) in enumerate(zip(members, hulls, strict=True))]
    leaves = []
    # whole weights (multiplicities) add up exactly in any order: re-clusterings can
    # then share one pair search (_step_labels)
    whole = _whole(uw)
    while nodes:
        big = shapely.area([nd[4] for nd in nodes]) > max_area
        leaves += [nd for nd, b in zip(nodes, big, strict=True) if not b]
        nodes, kept = _split_level(uxy, uw, [nd for nd, b in zip(nodes, big, strict=True) if b],
                                   whole=whole)
        leaves += kept
    leaves.sort(key=lambda nd: nd[0])  # by path: depth first, pieces in order
    out = [[] for _ in members]
    for path, idx, e, _, poly in leaves:
        out[path[0]].append((idx, e, poly))
    return out


def _split_level(uxy: np.ndarray, uw: np.ndarray, nodes: list, *, whole: bool
                 ) -> tuple[list, list]:
    """Each node re-clustered with the first of :data:`SPLIT_STEPS` that changes it.

    Returns (the pieces, as nodes; the nodes no step changes). ``whole``: the
    weights are whole numbers (see :func:`_step_labels`).
    """
    done, pts, labs, grp = [], [], [], []  # nodes split, and their points' labels
    base = 0  # labels kept distinct across steps
    for fe, fm in SPLIT_STEPS:
        run, left = [], []
        for nd in nodes:
            e, m = nd[2], nd[3]
            e2, m2 = max(e * fe, MIN_SPLIT_EPS), m * fm
            if m2 / e2**2 <= m / e**2:  # not denser (eps at its floor)
                left.append(nd)
            else:
                run.append((nd, e2, m2))
        nodes = left
        if not run:
            continue
        sizes = np.array([len(nd[1]) for nd, _, _ in run])
        node = np.repeat(np.arange(len(run)), sizes)
        idx = np.concatenate([nd[1] for nd, _, _ in run])
        e2s, m2s = np.array([r[1] for r in run]), np.array([r[2] for r in run])
        lab = _step_labels(uxy[idx], uw[idx], sizes, e2s, m2s, whole=whole)
        ul, at = np.unique(lab, return_index=True)
        k = np.bincount(node[at[ul >= 0]], minlength=len(run))
        noise = np.bincount(node[lab < 0], minlength=len(run)) > 0
        # progress: more pieces, members dropped, or a tighter buffer
        go = (k >= 2) | ((k == 1) & (noise | (e2s < np.array([nd[2] for nd, _, _ in run]))))
        nodes += [nd for (nd, _, _), g in zip(run, go, strict=True) if not g]
        mask = go[node]
        grp.append((np.cumsum(go) - 1 + len(done))[node[mask]])
        done += [(nd, e2, m2, kk) for (nd, e2, m2), kk, g in zip(run, k, go, strict=True) if g]
        pts.append(idx[mask])
        labs.append(np.where(lab[mask] >= 0, lab[mask] + base, -1))
        base += len(lab)
    if not done:
        return [], nodes
    # all the pieces renumbered and their hulls made at once, numbered node by node
    idx, node = np.concatenate(pts), np.concatenate(grp)
    lab = _renumber(np.concatenate(labs), uxy[idx], uw[idx], node)
    keep = lab >= 0
    k = np.array([d[3] for d in done])
    first = np.cumsum(k) - k
    piece = first[node[keep]] + lab[keep]
    polys = _cluster_hulls(uxy[idx[keep]], piece, np.repeat([d[1] for d in done], k) / 2)
    order = np.argsort(piece, kind="stable")  # each piece's points in node order
    parts = np.split(idx[keep][order], np.cumsum(np.bincount(piece))[:-1])
    pieces = [((*nd[0], i), parts[first[j] + i], e2, m2, polys[first[j] + i])
              for j, (nd, e2, m2, kk) in enumerate(done) for i in range(kk)]
    return pieces, nodes


def _step_labels(xy: np.ndarray, w: np.ndarray, sizes: np.ndarray, eps: np.ndarray,
                 min_samples: np.ndarray, *, whole: bool) -> np.ndarray:
    """Labels of :func:`_dbscan_labels` on consecutive sets of ``sizes`` points.

    Each set has its own ``eps`` and ``min_samples``; labels distinct across sets.
    Sets whose pairs all fit the pair budget together are clustered in one
    :func:`_dbscan_many` call, when the weights are ``whole`` numbers (else each
    alone, so that sums of weights add in the same order as ever).
    """
    starts = np.cumsum(sizes) - sizes
    bound = sizes * (sizes - 1) // 2  # the most pairs a set can have
    batches, cur, total = [], [], 0
    for s in range(len(sizes)):
        if not whole or bound[s] > _PAIR_BUDGET:
            batches.append([s])
            continue
        if cur and total + bound[s] > _PAIR_BUDGET:
            batches.append(cur)
            cur, total = [], 0
        cur.append(s)
        total += bound[s]
    if cur:
        batches.append(cur)
    lab = np.full(len(xy), -1, dtype=np.int64)
    base = 0
    for b in batches:
        rows = np.concatenate([np.arange(starts[s], starts[s] + sizes[s]) for s in b])
        if len(b) == 1:
            got = _dbscan_labels(xy[rows], w[rows], eps[b[0]], min_samples[b[0]])[0]
        else:
            node = np.repeat(np.arange(len(b)), sizes[b])
            got = _dbscan_many(xy[rows], w[rows], node, eps[b], min_samples[b])
        lab[rows] = np.where(got >= 0, got + base, -1)
        base += len(rows)
    return lab


def piece_areas(xy: np.ndarray, pieces: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Polygons for the pieces of one cluster (:func:`split_cluster`), sharing no area.

    Each piece is the hull of its members buffered by its eps/2 (:func:`_cluster_hulls`,
    so it lies inside the parent's area). Where hulls of two pieces overlap, each
    place goes to the piece holding the nearest member (Voronoi cells of the
    members), so no incident is counted in two pieces; a piece keeps all of its
    hull that no other piece's hull reaches. Every member stays inside its piece.
    """
    pos = np.repeat(np.arange(len(pieces)), [len(m) for m, _ in pieces])
    rows = np.concatenate([m for m, _ in pieces])
    hulls = _cluster_hulls(xy[rows], pos, np.array([e / 2 for _, e in pieces]))
    return _piece_shapes(xy, pieces, hulls)


def _piece_shapes(xy: np.ndarray, pieces: list, hulls: np.ndarray,
                  cluster: np.ndarray | None = None) -> np.ndarray:
    """:func:`piece_areas` given each piece's hull polygon.

    ``cluster``: each piece's cluster (0.., a cluster's pieces consecutive) when the
    pieces of several clusters are shaped at once: a piece shares area only with
    pieces of its own cluster. Default: all one cluster. Each step is one
    vectorised GEOS call for all the pieces, on the very geometries a piece-by-piece
    run would give it, so the same polygons.
    """
    hulls = np.asarray(hulls, dtype=object)
    n = len(hulls)
    cl = np.zeros(n, np.int64) if cluster is None else np.asarray(cluster, np.int64)
    # every ordered pair of pieces of one cluster (by first piece, then second)
    sizes = np.bincount(cl, minlength=cl.max() + 1 if n else 0)
    a = np.repeat(np.arange(n), sizes[cl])
    b = (np.cumsum(sizes) - sizes)[cl[a]] + _ranges(sizes[cl])
    a, b = a[a != b], b[a != b]
    hit = shapely.intersects(hulls[a], hulls[b])
    a, b = a[hit], b[hit]
    if not len(a):  # no hull overlaps another: no Voronoi cells needed
        return hulls
    # only the hulls overlapping a piece, and only its Voronoi cells reaching into
    # the overlap, shape it (the rest of its hull is the hull minus the others)
    touched, first = np.unique(a, return_index=True)
    others = shapely.union_all(_padded(hulls[b], np.diff(np.r_[first, len(a)])), axis=1)
    h = hulls[touched]
    overlap = shapely.intersection(h, others)
    cells, owner = _voronoi_cells(xy, pieces, hulls, cl, np.unique(cl[touched]))
    mine = np.isin(owner, touched)
    order = np.argsort(owner[mine], kind="stable")  # each piece's cells in order
    cells, row = cells[mine][order], np.searchsorted(touched, owner[mine][order])
    shapely.prepare(overlap)
    hit = shapely.intersects(overlap[row], cells)
    near = shapely.union_all(
        _padded(cells[hit], np.bincount(row[hit], minlength=len(touched))), axis=1)
    out = hulls.copy()
    out[touched] = shapely.union(shapely.intersection(h, near), shapely.difference(h, others))
    return out


def _padded(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Rows of ``counts[r]`` consecutive ``values`` each, padded with None.

    For ``shapely.union_all(..., axis=1)``: it skips None, so each row's union is
    that of its values alone, in order.
    """
    out = np.full((len(counts), max(1, int(counts.max(initial=0)))), None, dtype=object)
    out[np.repeat(np.arange(len(counts)), counts), _ranges(counts)] = values
    return out


def _voronoi_cells(xy: np.ndarray, pieces: list, hulls: np.ndarray, cl: np.ndarray,
                   clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi cells of each of ``clusters``' distinct member points, and each one's piece.

    A cluster's diagram reaches its hulls' bounding box (GEOS extends it to the
    envelope of extend_to: the box is the envelope of the hulls' union, without the
    union); its cells come in the order of its sorted distinct points.
    """
    pts, owner, boxes = [], [], []
    for c in clusters:
        mine = np.flatnonzero(cl == c)
        rows = np.concatenate([pieces[i][0] for i in mine])
        uxy, _, inv = collapse(xy[rows], np.ones(len(rows)))
        upos = np.empty(len(uxy), np.int64)
        # a coordinate is in one piece (pieces are clusters of coordinates)
        upos[inv] = np.repeat(mine, [len(pieces[i][0]) for i in mine])
        pts.append(uxy)
        owner.append(upos)
        boxes.append(shapely.total_bounds(hulls[mine]))
    which = np.repeat(np.arange(len(pts)), [len(p) for p in pts])
    diagrams = shapely.voronoi_polygons(shapely.multipoints(np.concatenate(pts), indices=which),
                                        extend_to=shapely.box(*np.transpose(boxes)),
                                        ordered=True)
    return shapely.get_parts(diagrams), np.concatenate(owner)


def cluster_areas(
    labelled: gpd.GeoDataFrame,
    buffer: float | None = None,
    weights: str | None = None,
) -> gpd.GeoDataFrame:
    """One polygon per cluster: the convex hull of its incidents, buffered.

    Parameters
    ----------
    labelled : GeoDataFrame
        Output of :func:`dbscan` or :func:`hdbscan` (needs ``cluster``).
    buffer : float, optional
        Margin in metres around the hull. Default ``eps / 2`` when the labels came
        from DBSCAN (so a cluster on a single snap point still gets a ~eps-wide
        area, and the margin is half the linking distance), else 50 m.
    weights : str, optional
        Column summed into ``weight``; default the one DBSCAN was run with, else 1
        per incident.

    Returns
    -------
    GeoDataFrame
        EPSG:27700, one row per cluster (noise excluded), ordered by ``cluster``:
        ``cluster, n_incidents, weight, n_<category>..., area_m2, density``
        (incidents per km²), ``dominant_category``, ``geometry``.
    """
    labelled = check_gdf(labelled, "labelled incidents", required=["cluster"])
    if buffer is None:
        eps = labelled.attrs.get("eps")
        buffer = float(eps) / 2 if eps else 50.0
    buffer = check_positive(buffer, "buffer", allow_none=False)
    weights = weights or labelled.attrs.get("weights") or None
    members = labelled[labelled["cluster"] >= 0]
    df = pd.DataFrame(
        {
            "cluster": members["cluster"].to_numpy(),
            "w": weights_array(members, weights),
        }
    )
    has_cat = "category" in members.columns
    cats = sorted(members["category"].dropna().astype(str).unique()) if has_cat else []
    lab = df["cluster"].to_numpy()
    ids = np.unique(lab)
    pos = np.searchsorted(ids, lab)
    hulls = _cluster_hulls(point_xy(members), pos, buffer)
    out = pd.DataFrame(
        {
            "cluster": ids.astype(np.int64),
            "n_incidents": np.bincount(pos, minlength=len(ids)),
            "weight": np.bincount(pos, weights=df["w"].to_numpy(), minlength=len(ids)),
        }
    )
    dominant = None
    if has_cat:
        counts, present = count_table(pos, len(ids), members["category"].astype(str).to_numpy())
        ct = pd.DataFrame(counts, columns=present).reindex(columns=cats, fill_value=0)
        for cat in cats:
            out[f"n_{cat}"] = ct[cat].to_numpy()
        # dominant: most incidents; ties go to the alphabetically first (columns sorted)
        dominant = np.asarray(cats, dtype=object)[ct.to_numpy().argmax(axis=1)] if cats else None
    out = gpd.GeoDataFrame(out, geometry=hulls, crs=labelled.crs)
    out["area_m2"] = out.geometry.area
    out["density"] = out["n_incidents"] / (out["area_m2"] / 1e6)
    out["dominant_category"] = dominant
    cols = [c for c in out.columns if c not in ("area_m2", "density", "dominant_category",
                                                "geometry")]
    out = out[[*cols, "area_m2", "density", "dominant_category", "geometry"]]
    out.attrs.update(buffer=buffer)
    return out
