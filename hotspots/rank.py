"""The top areas: where to focus, ranked by a documented score.

``top_areas`` finds candidate areas (DBSCAN or HDBSCAN cluster hulls, or connected
hot regions of a KDE surface), scores each from the incidents inside it, and returns
the best ``n`` with what a person needs to act on them: counts by category, ward(s),
a centroid in lat/lon, change against the previous period and, given a street
network, the street names.

Harm weights (:func:`harm_weights`) are indicative days-of-custody-equivalent weights
per category, in the spirit of the Cambridge Crime Harm Index; see
``hotspots/data/harm_weights.csv`` and edit it (or pass your own table).
"""

from __future__ import annotations

import contextlib
import logging
import math
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import BadInputError
from ._validate import (
    BNG,
    WGS84,
    check_gdf,
    check_nonempty,
    check_positive,
    weights_array,
)
from .boundaries import describe_location, named_streets, stations
from .clusters import (
    _area_hits,
    _cluster_hulls,
    _dbscan_labels,
    _expand,
    _piece_shapes,
    _renumber,
    _split_distinct,
    _subset,
    cluster_areas,
    collapse,
    column_counts,
    distinct_points,
    hdbscan,
    point_xy,
)
from .privacy import protect
from .risk_areas import DefaultGuess, _both, _hot_cells, _Later, _shares, _trim_to_forecast
from .selection import (
    _base_mask,
    _change_masks,
    _period_mask,
    _recency,
    _span_iso,
    change_label,
)

__all__ = [
    "DEFAULT_EPS", "DEFAULT_MAX_AREA", "EPS_LADDER", "HOT_SHARE", "KDE_SHARES",
    "KDE_SPLIT_QUANTILE", "METHODS", "MS_LADDER", "REACH", "auto_min_samples",
    "candidate_areas", "change_label", "few_areas_note", "harm_weights", "order_areas",
    "points_in_areas", "score_areas", "top_areas",
]

log = logging.getLogger("hotspots")

METHODS = ("dbscan", "hdbscan", "kde")
_W = "_hs_weight"  # temporary column carrying the combined (harm x user) weight
DEFAULT_EPS = 150.0
#: the KDE method keeps cells in the top share of non-zero cells, trying these in turn
#: until there are at least ``n`` separate hot regions
KDE_SHARES = (0.02, 0.05, 0.10, 0.20, 0.01, 0.005)
#: multiples of the automatic min_samples tried in turn until DBSCAN gives n clusters:
#: dense places (the City) need more to break chains, sparse ones fewer
MS_LADDER = (1.0, 1.5, 2.25, 3.4, 5.0, 7.5, 0.7, 0.5, 0.35, 0.25)
#: multiples of eps tried (when eps is not given) if no min_samples gives n clusters
EPS_LADDER = (1.0, 2 / 3, 0.5, 1 / 3)
_AREA_CELL = 500.0
KDE_CELL, KDE_BANDWIDTH = 50.0, 150.0  # metres, defaults for method="kde"
#: largest hotspot area in m² (20 ha, about a 450 m square): see top_areas' max_area
DEFAULT_MAX_AREA = 200_000.0
#: each KDE split step drops this share of a region's coolest cells
KDE_SPLIT_QUANTILE = 0.25
#: top_areas' high-risk cells: the forecast's best cells over this share of the area
HOT_SHARE = 0.02
#: high-risk cells within this many metres of a top area join the nearest one (None:
#: all of them, so the areas hold every high-risk cell)
REACH: float | None = None


def harm_weights() -> pd.DataFrame:
    """The shipped harm weight per category (editable CSV), as a DataFrame.

    Returns
    -------
    DataFrame
        ``category, weight, basis, source``. Weights are *indicative*
        days-of-custody-equivalents derived from Sentencing Council starting points
        for a typical offence of each category, in the spirit of the Cambridge Crime
        Harm Index (Sherman, Neyroud & Neyroud 2016); they are not the official
        CCHI values. Copy ``hotspots/data/harm_weights.csv``, edit, and pass the
        copy's path (or the table) as ``harm=`` to use your own.
    """
    with resources.files("hotspots").joinpath("data/harm_weights.csv").open(
        "r", encoding="utf-8"
    ) as fh:
        return pd.read_csv(fh)


def _harm_map(harm: Any) -> dict[str, float] | None:
    if harm is None or harm is False:
        return None
    table = harm_weights() if harm is True else harm
    if isinstance(table, str | Path):  # an edited copy of the shipped CSV
        try:
            table = pd.read_csv(table)
        except (OSError, ValueError) as exc:
            raise BadInputError(f"could not read the harm weights CSV {str(harm)!r}: {exc}") \
                from None
    if isinstance(table, dict):
        return {str(k): float(v) for k, v in table.items()}
    if not isinstance(table, pd.DataFrame) or not {"category", "weight"} <= set(table.columns):
        raise BadInputError(
            "harm must be True, a dict, or a table (DataFrame or CSV path) with 'category' "
            "and 'weight' columns"
        )
    return dict(zip(table["category"].astype(str), table["weight"].astype(float), strict=True))


def _incident_weights(inc: pd.DataFrame, weights: str | None = None,
                      harm: Any = None) -> np.ndarray:
    """Per-incident weight: the ``weights`` column (or 1) times the harm weight.

    Categories missing from the harm table get weight 1 (logged).
    """
    w = weights_array(inc, weights)
    hm = _harm_map(harm)
    if hm is not None:
        if "category" not in inc.columns:
            raise BadInputError("harm weighting needs a 'category' column")
        cat = inc["category"].astype(str)
        missing = sorted(set(cat.unique()) - set(hm))
        if missing:
            log.info("harm weights: no weight for %s; they count 1", missing)
        w = w * cat.map(hm).fillna(1.0).to_numpy(float)
    return w


# --- candidate areas ------------------------------------------------------------------


def _occupied_cells(xy: np.ndarray) -> int:
    """Number of :data:`_AREA_CELL` squares holding at least one of the points."""
    c = np.floor(np.asarray(xy) / _AREA_CELL).astype(np.int64)
    return len(pd.unique(c[:, 0] * (1 << 32) + c[:, 1]))  # hashing: np.unique(axis=0) sorts


def _uniform_expectation(xy: np.ndarray, eps: float, w: np.ndarray | None = None) -> float:
    """Weight a uniform spread of the incidents would put within ``eps`` of a point.

    total weight × π eps² / study area, the study area being the 500 m squares that
    hold at least one incident (robust to a few stray far-off points, unlike the
    convex hull).
    """
    if len(xy) == 0:
        return 0.0
    total = float(len(xy) if w is None else w.sum())
    return _expectation(total, _occupied_cells(xy), eps)


def _expectation(total: float, cells: int, eps: float) -> float:
    return total * math.pi * eps**2 / (cells * _AREA_CELL**2)


def _auto_ms(total: float, cells: int, eps: float) -> int:
    """:func:`auto_min_samples` from the total weight and the occupied squares."""
    return max(3, int(round(4 * _expectation(total, cells, eps))))


def auto_min_samples(xy: np.ndarray, eps: float, w: np.ndarray | None = None) -> int:
    """Four times :func:`uniform_expectation`, at least 3: the starting min_samples.

    Harrow 2022 (15k crimes, eps 150 m) gives ~80 and areas of 0.1-0.8 km² (twice
    the share chains Harrow's town centre into one 2 km² blob); one month of Barnet
    burglary gives the floor, 3.
    """
    if len(xy) == 0:
        return 3
    return _auto_ms(float(w.sum()) if w is not None else float(len(xy)),
                    _occupied_cells(xy), eps)


def candidate_areas(  # noqa: PLR0913 (top_areas' candidate options, shared with backtest)
    inc: gpd.GeoDataFrame,
    method: str = "dbscan",
    n: int = 20,
    weight: np.ndarray | None = None,
    eps: float | None = None,
    min_samples: float | None = None,
    cell_size: float | None = None,
    bandwidth: float | None = None,
    max_area: float | None = DEFAULT_MAX_AREA,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Candidate hotspot polygons (unranked) and the parameters chosen.

    DBSCAN: hulls of clusters (buffer eps/2). ``min_samples`` defaults to
    :func:`auto_min_samples` times the first of :data:`MS_LADDER` (1, 1.5, 2.25 ...
    7.5, then 0.7 ... 0.25; never below 3) that gives ``n`` clusters, else the one
    giving most; when none gives ``n`` and ``eps`` was not given, eps shrinks (150,
    100, 75, 50 m), as dense places (the City) chain into one cluster at 150 m.
    HDBSCAN: ``min_cluster_size`` = :func:`uniform_expectation` (at least 5).
    KDE: quartic KDE on 50 m cells with a 150 m radius (defaults), then connected
    (8-neighbour) regions of the cells in the top share of non-zero density cells,
    the share being the first of 2%, 5%, 10%, 20% that yields ``n`` regions (else
    the one yielding most).

    Areas larger than ``max_area`` m² are then split (None: never): DBSCAN and
    HDBSCAN clusters by re-clustering their own members with tighter DBSCAN settings
    (:func:`hotspots.clusters.split_cluster`; for HDBSCAN from eps 150 m and
    min_samples = min_cluster_size, unweighted as HDBSCAN is), KDE regions by
    raising the density threshold within the region (:func:`_split_region`).
    Incidents that fall out (noise, cooler cells) belong to no piece. The parameters
    record ``max_area``, ``n_split`` (areas split), ``n_pieces`` (pieces they gave)
    and ``n_oversize`` (areas still too big because no tighter setting changes them;
    0 on all the shipped data).

    Returns
    -------
    (GeoDataFrame with ``geometry`` only, dict of chosen parameters)
    """
    if method not in METHODS:
        raise BadInputError(f"method must be one of {METHODS}, got {method!r}")
    return _candidates(inc, None, method, n, weight, eps, min_samples, cell_size, bandwidth,
                       max_area)


def _candidates(  # noqa: PLR0913 (candidate_areas' options, plus the points known)
    inc: gpd.GeoDataFrame, distinct: tuple | None, method: str, n: int,
    weight: np.ndarray | None, eps: float | None, min_samples: float | None,
    cell_size: float | None, bandwidth: float | None, max_area: float | None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`candidate_areas`, given the incidents' distinct points when known.

    ``distinct`` = (uxy, inverse) of ``inc``'s coordinates (as :func:`collapse`), so
    top_areas' one collapse of every incident serves here too.
    """
    w = np.ones(len(inc)) if weight is None else np.asarray(weight, float)
    max_area = check_positive(max_area, "max_area")
    params: dict[str, Any] = {"method": method, "max_area": max_area}
    if method == "kde":
        work = inc[["geometry"]].copy()
        work[_W] = w
        return _kde_regions(work, n, cell_size, bandwidth, max_area, params)
    user_eps = check_positive(eps, "eps")
    eps = user_eps or DEFAULT_EPS
    if method == "dbscan":
        if distinct is None:
            distinct = collapse(point_xy(inc), w)[::2]
        geoms = _dbscan_candidates(distinct, w, n, user_eps, min_samples, max_area, params)
        return gpd.GeoDataFrame(geometry=geoms, crs=BNG), params
    xy = point_xy(inc)
    auto = min_samples is None
    work = inc[["geometry"]].copy()
    # HDBSCAN has no weights: cluster size in incidents, the uniform expectation
    mcs = max(5, round(_uniform_expectation(xy, eps))) if auto else max(3, int(min_samples))
    lab = hdbscan(work, min_cluster_size=mcs, quiet=True)
    params.update(min_cluster_size=mcs, buffer=eps / 2)
    areas = cluster_areas(lab, buffer=eps / 2)
    uxy, uw, inv = collapse(xy, np.ones(len(xy)))
    labels = lab["cluster"].to_numpy()
    ulabels = np.empty(len(uxy), labels.dtype)
    ulabels[inv] = labels
    if not np.array_equal(ulabels[inv], labels):  # one coordinate, two labels: per row
        uxy, uw, ulabels = xy, np.ones(len(xy)), labels
    geoms = _split_clusters(uxy, uw, ulabels, np.asarray(areas.geometry.array), eps, mcs,
                            max_area, params)
    return gpd.GeoDataFrame(geometry=geoms, crs=BNG), params


def _dbscan_candidates(distinct: tuple, w: np.ndarray, n: int, user_eps: float | None,
                       min_samples: float | None, max_area: float | None,
                       params: dict) -> np.ndarray:
    """DBSCAN candidate polygons (see :func:`candidate_areas`), on distinct points.

    The same clusters and hulls as :func:`dbscan` + :func:`cluster_areas` on the
    incidents (collapsing is exact for DBSCAN), without copying the frame per try.
    """
    uxy, inv = distinct
    uw = np.bincount(inv, weights=w, minlength=len(uxy))
    mult = np.bincount(inv, minlength=len(uxy)).astype(float)  # dbscan's cluster order
    cells, total = _occupied_cells(uxy), float(w.sum())
    eps = user_eps or DEFAULT_EPS
    auto = min_samples is None
    best = None
    known: dict = {}  # each eps's neighbour pairs, for all the tries of min_samples
    for e in [eps] if user_eps else [eps * f for f in EPS_LADDER]:
        m0 = _auto_ms(total, cells, e)
        tries = dict.fromkeys(max(3, round(m0 * f)) for f in MS_LADDER) if auto \
            else [float(min_samples)]
        for m in tries:
            lab = _renumber(_dbscan_labels(uxy, uw, e, m, known)[0], uxy, mult)
            k = int(lab.max()) + 1 if len(lab) else 0
            if best is None or k > best[3] or k >= n:
                best = (lab, m, e, k)
            if k >= n:
                break
        if best[3] >= n:
            break
    lab, ms, eps, _ = best
    params.update(eps=eps, min_samples=ms)
    # each distinct point's first row: hulls fed in row order, as cluster_areas does,
    # give GEOS's very same hull polygons (its output follows the input order)
    first = np.full(len(uxy), len(inv))
    np.minimum.at(first, inv, np.arange(len(inv)))
    m = lab >= 0
    hulls = _cluster_hulls(uxy[m], lab[m], eps / 2, first[m]) if m.any() \
        else np.zeros(0, object)
    return _split_clusters(uxy, uw, lab, hulls, eps, ms, max_area, params)


def _split_clusters(uxy, uw, ulabels, hulls, eps, min_samples, max_area, params
                    ) -> np.ndarray:
    """Cluster polygons (``hulls[c]`` of cluster c) with those over ``max_area`` split.

    On distinct coordinates (police.uk: ~9 incidents per snap point in London) with
    their summed weights ``uw`` and cluster labels ``ulabels`` (-1 noise).
    """
    hulls = np.asarray(hulls, dtype=object)
    big = np.flatnonzero(shapely.area(hulls) > max_area) if max_area and len(hulls) \
        else np.zeros(0, np.int64)
    keep = np.ones(len(hulls), bool)
    keep[big] = False
    out = [hulls[keep]]
    if len(big):
        order = np.argsort(ulabels, kind="stable")
        sorted_labels = ulabels[order]
        lo, hi = np.searchsorted(sorted_labels, big), np.searchsorted(sorted_labels, big + 1)
        # each big cluster's own hull (its points in index order, as split_cluster makes
        # it), all in one call
        sel = np.concatenate([order[a:b] for a, b in zip(lo, hi, strict=True)])
        first = _cluster_hulls(uxy[sel], np.repeat(np.arange(len(big)), hi - lo), eps / 2)
        # (distinct points already: split_cluster's own collapse is not needed)
        members = [order[a:b] for a, b in zip(lo, hi, strict=True)]
        split = _split_distinct(uxy, uw, members, eps, min_samples, max_area, first)
        pieces = [p for s in split for p in s]
        cluster = np.repeat(np.arange(len(split)), [len(s) for s in split])
        out.append(_piece_shapes(uxy, pieces, np.array([p[2] for p in pieces]), cluster))
    out = np.concatenate(out)
    n_pieces = len(out) - int(keep.sum())
    _record_split(params, len(big), n_pieces, shapely.area(out), max_area)
    return out


def _record_split(params, n_split, n_pieces, area, max_area) -> None:
    params.update(n_split=int(n_split), n_pieces=int(n_pieces))
    if max_area:
        params["n_oversize"] = int((np.asarray(area) > max_area).sum())
        if params["n_oversize"]:
            log.info("top_areas: %d areas stay above max_area=%g m²: no tighter setting "
                     "splits them", params["n_oversize"], max_area)


def _split_region(dens: np.ndarray, cells: np.ndarray, max_cells: int) -> list[np.ndarray]:
    """Pieces (flat cell indices) of a KDE hot region of at most ``max_cells`` cells.

    Within the region the density threshold rises to the region's own
    :data:`KDE_SPLIT_QUANTILE` quantile (cells at or below it drop out), and the
    connected (8-neighbour) parts left are split the same way until they fit. Every
    step drops at least the coolest cell, so it ends; a region of equal cells that
    is still too big is kept whole.
    """
    from scipy import ndimage

    out = []
    stack = [cells]
    while stack:
        idx = stack.pop()
        d = dens.ravel()[idx]
        hot = idx[d > np.quantile(d, KDE_SPLIT_QUANTILE)] if len(idx) > max_cells else idx
        if len(hot) in (0, len(idx)):
            out.append(idx)
            continue
        # label within the bounding box of what is left
        r, c = np.divmod(hot, dens.shape[1])
        box = np.zeros((r.max() - r.min() + 1, c.max() - c.min() + 1), bool)
        box[r - r.min(), c - c.min()] = True
        lab, k = ndimage.label(box, structure=np.ones((3, 3)))
        part = lab[r - r.min(), c - c.min()]
        stack.extend(hot[part == i] for i in range(k, 0, -1))
    return out


def _kde_regions(work, n, cell_size, bandwidth, max_area, params):
    from scipy import ndimage

    from .density import kde
    from .grid import cell_polygons, grid_of, to_array

    # street-block scale, like DBSCAN's eps: hs.kde's own defaults (a 50th of the
    # extent, 3 cells) smooth a borough into a few big blobs, too coarse for 20 areas
    cell_size = check_positive(cell_size, "cell_size") or KDE_CELL
    bandwidth = check_positive(bandwidth, "bandwidth") or KDE_BANDWIDTH
    g = kde(work, cell_size=cell_size, bandwidth=bandwidth, weights=_W, quiet=True)
    dens, _ = to_array(g, "density", fill=0.0)
    grid = grid_of(g)
    pos = dens[dens > 0]
    best = None
    for share in KDE_SHARES:
        thr = np.quantile(pos, 1 - share) if len(pos) else np.inf
        lab, k = ndimage.label(dens >= thr, structure=np.ones((3, 3)))
        if best is None or k > best[1]:
            best = (lab, k, share)
        if k >= n:
            best = (lab, k, share)
            break
    lab, k, share = best
    polys = cell_polygons(grid)
    flat = lab.ravel()
    order = np.argsort(flat, kind="stable")
    bounds = np.searchsorted(flat[order], np.arange(1, k + 2))
    regions = [order[bounds[i] : bounds[i + 1]] for i in range(k)]
    cell_area = float(g.attrs.get("cell_size", cell_size)) ** 2
    n_split = 0
    if max_area:
        max_cells = max(1, int(max_area // cell_area))
        split = []
        for cells in regions:
            if len(cells) > max_cells:
                n_split += 1
                split += _split_region(dens, cells, max_cells)
            else:
                split.append(cells)
        regions = split
    geoms = [shapely.union_all(polys[cells]) for cells in regions]
    _record_split(params, n_split, len(regions) - (k - n_split), shapely.area(geoms), max_area)
    params.update(
        cell_size=g.attrs.get("cell_size"), bandwidth=g.attrs.get("bandwidth"), kde_share=share
    )
    return gpd.GeoDataFrame(geometry=geoms, crs=BNG), params


def points_in_areas(xy: np.ndarray, geoms, distinct: tuple | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(point index, area index) for each point inside (or on the edge of) each area.

    Identical coordinates are tested once (police.uk points share snap points).
    ``distinct`` = (uxy, inverse) with ``uxy[inverse] == xy`` and ``uxy`` sorted, e.g.
    the distinct points of a larger set ``xy`` was taken from, saves collapsing again
    (the result is the same).
    """
    if len(xy) == 0 or len(geoms) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if distinct is None:
        uxy, _, inv = collapse(xy, np.ones(len(xy)))
    else:
        uxy, inv = distinct
    up, ua = _area_hits(uxy, geoms)
    return _expand(up, ua, inv, len(uxy))


def score_areas(
    geoms, pt: np.ndarray, ar: np.ndarray, w: np.ndarray, r: np.ndarray
) -> pd.DataFrame:
    """Per area: n_incidents, weight, R (recency-weighted weight), area_m2, score.

    score = R · sqrt(ρ / ρ_ref), with R = Σ w_i·r_i over incidents in the area,
    ρ = R / area (km²) and ρ_ref the median ρ of all candidate areas.
    """
    k = len(geoms)
    area = shapely.area(np.asarray(geoms))
    n = np.bincount(ar, minlength=k)
    wsum = np.bincount(ar, weights=w[pt], minlength=k)
    rsum = np.bincount(ar, weights=(w * r)[pt], minlength=k)
    rho = rsum / np.maximum(area / 1e6, 1e-9)
    ref = np.median(rho[rho > 0]) if (rho > 0).any() else 1.0
    score = rsum * np.sqrt(rho / ref)
    c = shapely.centroid(np.asarray(geoms))
    return pd.DataFrame(
        {
            "score": score,
            "n_incidents": n,
            "weight": wsum,
            "area_m2": area,
            "_cx": shapely.get_x(c),
            "_cy": shapely.get_y(c),
        }
    )


def order_areas(s: pd.DataFrame) -> np.ndarray:
    """Positions by score desc; ties by incidents desc, then centroid x, y ascending."""
    return np.lexsort((s["_cy"], s["_cx"], -s["n_incidents"].to_numpy(), -s["score"].to_numpy()))


# --- labels for people ----------------------------------------------------------------


def _ward_names(geoms: gpd.GeoSeries, inc: gpd.GeoDataFrame, wards: Any,
                uxy: np.ndarray | None = None) -> list[str]:
    """Ward name(s) each area overlaps, largest overlap first, comma-separated.

    An area overlapping no ward gets the nearest ward's name. Without ``wards``, those
    of the boroughs holding an incident (``uxy``: their distinct points, if known).
    """
    if wards is None:
        from .boundaries import boroughs
        from .boundaries import wards as ward_table
        from .forecast_area import _borough_counts

        if uxy is None:
            uxy = distinct_points(inc)[0]
        # the boroughs with a point within (strictly inside) them
        held = _borough_counts(uxy[:, 0], uxy[:, 1]) > 0
        codes = boroughs()["borough_code"].to_numpy()[held]
        if len(codes) == 0:
            return [""] * len(geoms)
        wards = ward_table(list(codes))
    wards = check_gdf(wards, "wards", required=["ward_name"])
    wg, ga = np.asarray(wards.geometry.array), np.asarray(geoms.array)

    def overlaps(idx: np.ndarray) -> tuple:  # (area, ward, m² in common) of these areas
        ai, wi = shapely.STRtree(wg).query(ga[idx], predicate="intersects")
        return idx[ai], wi, shapely.area(shapely.intersection(ga[idx[ai]], wg[wi]))

    every = np.arange(len(ga))  # half the areas each thread (GEOS releases the GIL)
    (a1, w1, o1), (a2, w2, o2) = _both(lambda: overlaps(every[0::2]),
                                       lambda: overlaps(every[1::2]))
    ai, wi, ov = np.r_[a1, a2], np.r_[w1, w2], np.r_[o1, o2]
    df = pd.DataFrame({"a": ai, "name": wards["ward_name"].to_numpy()[wi], "ov": ov})
    df = df[df["ov"] > 0].sort_values(["a", "ov", "name"], ascending=[True, False, True])
    names = df.groupby("a")["name"].agg(lambda s: ", ".join(dict.fromkeys(s)))
    out = [names.get(i, "") for i in range(len(geoms))]
    # an area wholly outside every ward (a cluster on London Bridge: ward polygons
    # stop at the river bank) takes the nearest ward's name rather than none
    lost = [i for i, s in enumerate(out) if not s]
    if lost and len(wg):
        ai, wi = shapely.STRtree(wg).query_nearest(geoms.array[lost], all_matches=False)
        for a, w in zip(ai, wi, strict=True):
            out[lost[a]] = str(wards["ward_name"].iloc[w])
    return out


def _street_names(geoms: gpd.GeoSeries, network: Any, k: int = 2) -> list[str]:
    """Names of the streets with the most length inside each area ("A Road / B Street").

    Areas crossed by no named street get the name of the nearest named street.
    """
    edges = named_streets(network)
    if len(edges) == 0:
        return [""] * len(geoms)
    eg = edges.geometry.array
    names = edges["name"].astype(str).to_numpy()
    tree = shapely.STRtree(eg)
    ai, ei = tree.query(geoms.array, predicate="intersects")
    ln = shapely.length(shapely.intersection(eg[ei], geoms.array[ai]))
    df = pd.DataFrame({"a": ai, "name": names[ei], "len": ln})
    df = df.groupby(["a", "name"], as_index=False)["len"].sum()
    df = df.sort_values(["a", "len", "name"], ascending=[True, False, True])
    top = df.groupby("a")["name"].agg(lambda s: " / ".join(list(s)[:k]))
    out = []
    for i, g in enumerate(geoms.array):
        if i in top.index:
            out.append(top[i])
        else:
            j = tree.query_nearest(shapely.centroid(g))
            out.append(names[j[0]] if len(j) else "")
    return out


# --- the public function --------------------------------------------------------------


def _check_options(method: str, network: Any, rank_by: str | None) -> None:
    """top_areas' method, network and rank_by checked before any work."""
    if method not in METHODS:
        raise BadInputError(f"method must be one of {METHODS}, got {method!r}")
    if network is not None and not hasattr(network, "edges"):
        raise BadInputError(
            "network must be a street graph, e.g. hs.street_network('osm_city_of_london')"
        )
    if rank_by not in (None, "forecast", "score"):
        raise BadInputError(f"rank_by must be 'forecast' or 'score', got {rank_by!r}")


def _places(geoms: gpd.GeoSeries, inc: gpd.GeoDataFrame, wards: gpd.GeoDataFrame | None,
            network: Any, uxy: np.ndarray) -> dict[str, list[str]]:
    """Each area's ward names, streets (given a network) and landmark (its own alone)."""
    if len(geoms) == 0:
        return {"wards": [], "streets": [], "landmark": []}
    return {"wards": _ward_names(geoms, inc, wards, uxy),
            "streets": _street_names(geoms, network) if network is not None else [],
            "landmark": describe_location(geoms.centroid)}


def _place_columns(out: gpd.GeoDataFrame, names: list[str]) -> gpd.GeoDataFrame:
    """``wards`` (``names``) and ``lat``/``lon`` of each area's centre (``_cx``, ``_cy``)."""
    out["wards"] = names
    ll = gpd.GeoSeries(shapely.points(out["_cx"], out["_cy"]), crs=BNG).to_crs(WGS84)
    out["lat"], out["lon"] = ll.y.to_numpy(), ll.x.to_numpy()
    return out.drop(columns=["_cx", "_cy"])


def top_areas(  # noqa: PLR0913
    # (the analysts' one call: filters, candidate areas, scoring and forecast ranking are
    # documented options; the phases are the helpers below)
    inc: gpd.GeoDataFrame,
    *,
    n: int = 20,
    method: str = "dbscan",
    weights: str | None = None,
    harm: Any = None,
    period: tuple | None = None,
    hours: tuple[float, float] | None = None,
    categories: list[str] | str | None = None,
    network: Any = None,
    eps: float | None = None,
    min_samples: float | None = None,
    wards: gpd.GeoDataFrame | None = None,
    cell_size: float | None = None,
    bandwidth: float | None = None,
    max_area: float | None = DEFAULT_MAX_AREA,
    rank_by: str | None = None,
    study_area: Any = None,
    forecast_cell: float | None = None,
    forecast_freq: str = "MS",
    hot_share: float = HOT_SHARE,
    reach: float | None = REACH,
    quiet: bool = False,
) -> gpd.GeoDataFrame:
    """The ``n`` areas to focus on, ranked by what is expected there next.

    Parameters
    ----------
    inc : GeoDataFrame
        Canonical incidents (any CRS; EPSG:27700 inside).
    n : int, default 20
        How many areas ("officers focus on 20 areas").
    method : {"dbscan", "hdbscan", "kde"}, default "dbscan"
        How candidate areas are found: DBSCAN cluster hulls buffered by eps/2,
        HDBSCAN cluster hulls (varied density), or connected hot regions of the KDE
        surface (see :func:`candidate_areas` for the adaptive thresholds).
    weights : str, optional
        Column of per-incident weights (e.g. a fly-tip's size).
    harm : True, DataFrame, dict or CSV path, optional
        Multiply weights by a harm weight per category (True: the shipped
        :func:`harm_weights`; a path: your edited copy of
        ``hotspots/data/harm_weights.csv``). ``n_*`` counts stay unweighted.
    period : (start, end), optional
        Keep incidents in this period (both ends inclusive; whole months for
        month-only data). ``change_*`` then compares with the previous period of
        equal length.
    hours : (h0, h1), optional
        Time of day, start inclusive, end exclusive, in hours or "HH:MM": e.g.
        (14, 24), ("14:00", "24:00") or (22, 6) (wraps past midnight). Incidents
        without a time are left out; ignored (with a warning) when no incident has
        a time, as with police.uk data.
    categories : str or list of str, optional
        Keep only these categories (mix fly_tip + asb, or pick one).
    network : networkx.MultiDiGraph, optional
        Street network (osmnx); adds ``streets``: the one or two named streets
        with most length inside each area.
    eps, min_samples : float, optional
        DBSCAN parameters; eps default 150 m, min_samples automatic
        (:func:`auto_min_samples`, adjusted until there are ``n`` clusters).
    wards : GeoDataFrame, optional
        Wards to name areas by; default the 2022 wards of the borough(s) the points
        fall in.
    cell_size, bandwidth : float, optional
        KDE grid and kernel radius in metres (method="kde"); default 50 m and 150 m.
    max_area : float or None, default 200,000 m² (20 ha)
        Largest area to return. A hotspot is a place a patrol covers: the
        crime-and-place literature works at street segments and small places, and a
        foot patrol of a hot spot lasts about 15 minutes. 20 ha is a square of about
        450 m, a few minutes' walk across, so those 15 minutes walk its streets
        rather than cross it once; areas still vary in size below it. Without a
        limit, clusters chain dense centres together (DBSCAN's top area on Camden,
        June 2019: 306 ha holding 1,607 of 4,075 crimes). Larger candidate areas
        are split into denser pieces (see :func:`candidate_areas`); ``None`` keeps
        them whole. An area stays above the limit only when no tighter setting
        changes it (counted in ``attrs["n_oversize"]``).
    rank_by : {"forecast", "score"}, optional
        ``forecast`` (default when the incidents carry months or dates): areas are
        trimmed to their high-risk cells of :func:`hotspots.forecast` and ranked by
        expected incidents next period (weighted by ``weights`` x harm when given; see
        Notes). ``score``: the recency-weighted score of the incidents inside.
    study_area : polygon or GeoDataFrame, optional
        The forecast's study area (default: the borough(s) holding the incidents).
    forecast_cell : float, optional
        The forecast's cell size, metres; default 100 m, or the study area's default
        cell size when smaller (the City: 50 m).
    forecast_freq : {"MS", "W-MON"}, default "MS"
        The forecast's period: next month, or next week (needs dates).
    hot_share : float, default 0.02
        High-risk cells: the forecast's best cells covering this share of the study
        area. Parts of an area outside them are trimmed off.
    reach : float, optional
        High-risk cells outside the ``n`` areas join the nearest area when within
        ``reach`` metres of it; default None: all of them, so the areas together are
        exactly the high-risk cells (an area may then hold a few outlying cells).
        A distance keeps areas compact but hands over less of the expected crime.

    Returns
    -------
    GeoDataFrame
        EPSG:27700, rows ranked 1..k (k <= n): ``rank, score, n_incidents, weight,
        n_<category>..., area_m2, wards, lat, lon, change_n, change_pct, landmark``
        (+ ``streets``), ``geometry``; ranked by forecast, also ``risk`` (expected
        incidents next month in the area) and ``risk_share`` (its share of the study
        area's expected total). ``landmark`` places the area relative to the
        nearest TfL station ("350 m north-east of Kenton station"; "" beyond 2 km), so a
        person can find it when the data carry no street names. ``attrs`` holds
        the chosen parameters, among them ``max_area``, ``n_split`` (candidate areas
        split), ``n_pieces`` and ``n_oversize``; with a change, ``change_from`` and
        ``change_to``: the two compared periods as ISO 8601 intervals, ends inclusive
        (``"2022-01-01/2022-06-30"``; ``"2022-01/2022-06"`` for month-only data).

    Notes
    -----
    **Score.** For the incidents inside an area (points on its edge included), with
    weight w_i (``weights`` × harm, 1 by default) and recency r_i = 2^(−age_i/h)
    (age from the end of the period, h = half the period's length, so an incident
    at the start counts a quarter; all 1 when the data span one instant or month):
    ``R = Σ w_i r_i``, density ``ρ = R / area_km²``, and
    ``score = R · sqrt(ρ / ρ_ref)`` with ρ_ref the median ρ of all candidate areas:
    the weighted count, boosted for tight areas and damped for sprawling ones.
    Ties break by more incidents, then by centroid x then y (west, south first).

    **Ranked by forecast.** The forecast (``hs.forecast``, method auto, on every
    incident up to the period's end) gives each cell its expected incidents next
    month. The high-risk cells are the best ones covering ``hot_share`` of the
    study area; each candidate area keeps only its parts in high-risk cells (a
    sprawling shape loses its cool fringe, a tight hot one is unchanged; an area
    with none is dropped). The ``n`` areas expected to hold most are kept, and every
    other high-risk cell joins the nearest of them (within ``reach``). ``score`` =
    ``risk`` = the expected incidents in each area (each cell's risk times the share
    of the cell covered). So the areas handed over hold what the best cells of the
    same total area would (police.uk burglary is spread thin: in Barnet the best
    cells are scattered, and areas kept to their cluster hulls held 10-20% less).

    **Change.** ``change_n`` = incidents in the area in the period − in the
    previous period of equal length; without ``period``, the second half of the
    data's time span − the first half (month-only data: the last ⌊k/2⌋ months −
    the ⌊k/2⌋ before). ``change_pct`` = 100 × change_n / previous (NaN when 0).
    ``attrs["change_from"]``/``["change_to"]`` name the two periods compared.
    """
    # anonymous reports (StreetSafe) off their own points and text (privacy.py): no area
    # outline, centre or street name carries a report's location
    inc = protect(check_gdf(inc, "incidents"))
    check_nonempty(inc, "incidents")
    n = int(check_positive(n, "n", allow_none=False))
    _check_options(method, network, rank_by)
    base = _base_mask(inc, categories, hours)
    t, monthly, window, cur = _period_mask(inc, base, period)
    sub = inc if cur.all() else inc[cur]  # (no copy of a big frame for nothing)
    if len(sub) == 0:
        raise BadInputError("no incidents left after the category/period/hours filters")
    if rank_by is None:
        rank_by = "forecast" if t is not None else "score"
    risk = fc = hot = places = codes = None
    if rank_by == "forecast" and t is not None:
        # the forecast (its backtest the dearest part) needs no candidate area: it runs
        # in a second thread meanwhile (numpy, scipy.fft and GEOS release the GIL)
        upto = base & (t < window[2]).to_numpy() if window is not None else base
        fc = _start_forecast(inc, upto, weights, harm, study_area, forecast_cell,
                             forecast_freq, hot_share)
    prev, now, bounds = _change_masks(t, base, cur, window, monthly=monthly)
    rstart, rend = (window[1], window[2]) if window is not None else (None, None)
    try:
        w = _incident_weights(sub, weights, harm)
        r = _recency(t[cur], rstart, rend) if t is not None else np.ones(len(sub))
        if fc is not None:  # (while the forecast's thread collapses the points)
            codes = _prime_tail(sub)
        # every incident's coordinates and distinct points, once for everything below
        uxy, inv = fc[2].result() if fc is not None else distinct_points(inc)
        cand, params = _candidates(sub, _rows_points(uxy, inv, cur), method, n, w, eps,
                                   min_samples, cell_size, bandwidth, max_area)
    finally:
        if fc is not None:
            fc[0].shutdown(wait=False)
    if rank_by == "forecast":
        if fc is None:
            raise BadInputError("rank_by='forecast' needs 'month' or 'occurred_at' columns")
        cand, risk, hot = _trim_to_forecast(fc[1], cand, n, hot_share, reach, max_area,
                                            params, fc[3])
        # (at most n areas: their names and landmarks in a thread meanwhile, on copies,
        # as this thread prepares the areas for its point tests)
        copies = gpd.GeoSeries(shapely.from_wkb(shapely.to_wkb(cand.geometry.array)), crs=BNG)
        places = _Later(_places, copies, inc, wards, network, uxy)
    # which distinct points each area holds, once for the scores and the change
    up, ua = _hits(uxy, np.asarray(cand.geometry.array), hot)
    pt, ar = _expand(up, ua, inv[cur], len(uxy))
    s = score_areas(cand.geometry.array, pt, ar, w, r)
    if risk is not None:
        s["score"] = s["risk"] = risk
        # an area of scattered cells may have its centroid outside it: a point inside
        inner = shapely.point_on_surface(cand.geometry.array)
        s["_cx"], s["_cy"] = shapely.get_x(inner), shapely.get_y(inner)
        total = params.get("expected_total")
        s["risk_share"] = risk / total if total else 0.0
    keep = order_areas(s)[:n]
    # areas with something in them: incidents, or (ranked by forecast) expected ones
    keep = keep[(s["n_incidents"] if risk is None else s["score"]).to_numpy()[keep] > 0]
    geoms = cand.geometry.iloc[keep].reset_index(drop=True)
    out = s.iloc[keep].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    remap = np.full(len(cand), -1)  # candidate -> its row in `out` (-1: not kept)
    remap[keep] = np.arange(len(keep))
    if "category" in sub.columns and len(keep):  # unweighted counts by category
        _category_columns(out, sub["category"], remap[ar], pt, codes)
    area_cols = ["area_m2"] + (["risk", "risk_share"] if risk is not None else [])
    out = out[[c for c in out.columns if c not in area_cols] + area_cols]
    out = gpd.GeoDataFrame(out, geometry=geoms.array, crs=BNG)
    # a landmark people know, since police.uk and synthetic data carry no street names
    named = _places(out.geometry, inc, wards, network, uxy) if places is None \
        else {k: [v[i] for i in keep] if v else [] for k, v in places.result().items()}
    out = _place_columns(out, named["wards"])
    mine = remap[ua] >= 0  # the pairs of the areas kept, numbered as kept
    out["change_n"], out["change_pct"] = _change((up[mine], remap[ua[mine]]), (inv, len(uxy)),
                                                 len(out), prev, now)
    if network is not None:
        out["streets"] = named["streets"]
    out["landmark"] = named["landmark"]
    out = out[[c for c in out.columns if c != "geometry"] + ["geometry"]]
    params.update(n=n, harm=harm is not None and harm is not False, n_input=len(sub),
                  rank_by=rank_by)
    if bounds is not None and out["change_n"].notna().any():
        # the two periods change_n compares, so reports can say which (not "previous")
        params.update(change_from=_span_iso(bounds[0], bounds[1], month_only=monthly),
                      change_to=_span_iso(bounds[1], bounds[2], month_only=monthly))
    out.attrs.update({k: v for k, v in params.items() if v is not None})
    if not quiet:
        log.info(
            "top_areas: %s",
            ", ".join(f"{k}={v}" for k, v in params.items() if v is not None),
        )
    return out


def _category_columns(out: pd.DataFrame, column: pd.Series, row: np.ndarray,
                      pt: np.ndarray, codes: tuple | None) -> None:
    """``n_<category>`` columns: each kept area's incidents by category (unweighted).

    ``row``: each (incident ``pt``, area) pair's row in ``out`` (-1: area not kept);
    ``codes``: ``pd.factorize(column)`` if made (else only the rows counted are).
    """
    sel = row >= 0
    take = pt[sel]
    if codes is None:
        column, take = column.iloc[take], np.arange(len(take))
    counts, present = column_counts(row[sel], len(out), column, take, codes)
    for j, c in enumerate(present):
        out[f"n_{c}"] = counts[:, j]


def _start_forecast(inc: gpd.GeoDataFrame, upto: np.ndarray, weights: str | None, harm: Any,
                    study_area: Any, cell: float | None, freq: str, hot_share: Any) -> tuple:
    """Start top_areas' forecast in a thread.

    Returns (the executor, the future, points, the :class:`DefaultGuess`).
    ``points``: a future of the distinct points of every incident (:func:`distinct_points`),
    made first in the thread, so the caller's own steps run meanwhile. The future gives
    (study area, cell size, history, scores, attrs, ranked cells, hot cells): the study
    area and the auto forecast of the incidents ``upto`` (to the period's end), its
    cells ranked (:func:`hotspots.forecasting._ranked_cells`) and the
    :func:`_hot_cells` of the first share tried (None when ``hot_share`` is not a
    share: top_areas says so), made in this thread in case the candidate areas are
    not found yet. When the backtest keeps the default method and the caller's thread
    already made its cells (:class:`DefaultGuess`), scores, ranked and hot cells are
    None.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    points: Future = Future()

    def run() -> tuple:
        from .forecasting import _forecast_scores, _ranked_cells, study_area_geometry
        from .grid import default_cell_size

        try:
            uxy, inv = distinct_points(inc)
        except BaseException as exc:  # (the caller raises it)
            points.set_exception(exc)
            raise
        points.set_result((uxy, inv))
        hist_inc = inc if upto.all() else inc[upto]
        hw = _incident_weights(hist_inc, weights, harm) if weights or harm else None
        distinct = _rows_points(uxy, inv, upto)
        sa = study_area_geometry(study_area, hist_inc, distinct=distinct)
        size = check_positive(cell, "forecast_cell") or min(100.0, default_cell_size(sa))
        # the history out before the backtest, for the caller's guess of the default
        hist, score, attrs = _forecast_scores(
            hist_inc, size, sa, freq, "auto", None, 0.05, None, hw, distinct,
            on_history=lambda h: guess.history.set_result((sa, size, h)), skip=guess.made)
        if score is None:
            return sa, size, hist, None, attrs, None, None  # (the caller made them)
        ranked = _ranked_cells(hist, score)
        ok = isinstance(hot_share, int | float) and 0 < hot_share <= 1
        first = _hot_cells(hist, sa, ranked, _shares(hot_share)[0]) if ok else None
        return sa, size, hist, score, attrs, ranked, first

    guess = DefaultGuess()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="top_areas-forecast")
    return pool, pool.submit(run), points, guess


def _rows_points(uxy: np.ndarray, inv: np.ndarray, rows: np.ndarray) -> tuple:
    """:func:`_subset` for the ``rows`` (a mask); all rows: as they are, no pass over them."""
    return (uxy, inv) if rows.all() else _subset(uxy, inv[rows])


def _prime_tail(sub: pd.DataFrame) -> tuple | None:
    """What the steps after the forecast need from no area, done before waiting for it.

    Those steps run on one core: the category column factorized (returned, for
    :func:`hotspots.clusters.column_counts`), and the BNG to WGS84 transformer and the
    stations table (describe_location) loaded into their caches.
    """
    gpd.GeoSeries([], crs=BNG).to_crs(WGS84)  # (pyproj keeps the transformer)
    with contextlib.suppress(Exception):  # (a missing file: the real call reports it)
        stations()
    return pd.factorize(sub["category"]) if "category" in sub.columns else None


def _hits(uxy: np.ndarray, geoms: np.ndarray, hot: tuple | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_area_hits` (pairs sorted by point, then area), half the areas a thread.

    ``hot`` = (grid, mask) of the cells the areas were cut to: only the points near
    those cells are tested (~1 in 6 in London).
    """
    if hot is not None:
        from .grid import near_cells

        near = np.flatnonzero(near_cells(*hot, uxy[:, 0], uxy[:, 1]))
        up, ua = _area_hits(uxy[near], geoms)  # (still sorted by x, as it wants)
        return near[up], ua
    if len(geoms) < 2:
        return _area_hits(uxy, geoms) if len(geoms) else (np.zeros(0, int),) * 2
    (p1, a1), (p2, a2) = _both(lambda: _area_hits(uxy, geoms[0::2]),
                               lambda: _area_hits(uxy, geoms[1::2]))
    up, ua = np.r_[p1, p2], np.r_[2 * a1, 2 * a2 + 1]
    srt = np.lexsort((ua, up))
    return up[srt], ua[srt]


def _change(hits: tuple, rows: tuple, k: int, prev: np.ndarray | None,
            now: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Incidents in each of ``k`` areas in ``now`` minus in ``prev`` (row masks).

    ``hits`` = (distinct point, area) pairs (see :func:`_area_hits`), ``rows`` =
    (each row's distinct point, the number of distinct points).
    """
    if prev is None or now is None or k == 0 or not (prev.any() or now.any()):
        return np.full(k, np.nan), np.full(k, np.nan)
    up, ua = hits
    inv, n_points = rows
    before, after = (np.bincount(ua, weights=np.bincount(inv[m], minlength=n_points)[up],
                                 minlength=k) for m in (prev, now))
    change = after - before
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(before > 0, 100 * change / before, np.nan)
    return change, pct


def few_areas_note(areas: gpd.GeoDataFrame, n: int) -> str | None:
    """Why :func:`top_areas` found fewer than the `n` areas asked for.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        The result of :func:`top_areas` (its ``attrs`` say the rule used).
    n : int
        How many areas were asked for.

    Returns
    -------
    str or None
        One sentence ("only 3 of 20 areas: 41 incidents are too few or too scattered
        for more (an area needs at least 5 incidents within 150 m of each other)"), or
        None when all `n` were found.
    """
    if len(areas) >= n:
        return None
    a = areas.attrs
    rule = (f" (an area needs at least {a['min_samples']} incidents within {a['eps']:g} m of "
            "each other)" if "min_samples" in a and "eps" in a else "")
    return (f"{'no' if len(areas) == 0 else f'only {len(areas)} of {n}'} areas: "
            f"{a.get('n_input', 0):,} incidents are too few or too scattered for "
            f"{'any area' if len(areas) == 0 else 'more'}{rule}")
