"""Does a hotspot map find the right places? PAI, RRI and a rolling backtest.

- **PAI**, Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008, "The utility
  of hotspot mapping for predicting spatial patterns of crime", *Security Journal*
  21:4-28): ``(n / N) / (a / A)``, the share of crimes caught divided by the share of
  the study area flagged. 1 = no better than chance.
- **RRI**, Recapture Rate Index (Levine 2008, CrimeStat III, ch. 9; as used by
  Drawve 2016, *Journal of Quantitative Criminology*): ``(n_test / n_train) /
  (N_test / N_train)``, how much of its own share of crime a hotspot keeps from the
  period it was fitted on to the next; area-independent. 1 = the hotspots hold
  their share, > 1 = they take a larger share next period.

``backtest`` fits each method on month t and scores it on month t+1, rolling over a
series, at equal flagged area (``area_share`` of the study area) so PAIs compare.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import BadInputError
from ._validate import BNG, check_gdf, check_positive
from .clusters import point_xy

log = logging.getLogger("hotspots")

METHODS = ("kde", "dbscan", "hdbscan", "gistar", "grid")


def _geom(obj: Any, name: str) -> shapely.Geometry:
    """One BNG geometry from a polygon, GeoSeries or GeoDataFrame."""
    if isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries):
        if obj.crs is not None and obj.crs.to_epsg() != 27700:
            obj = obj.to_crs(BNG)
        return shapely.union_all(obj.geometry.array)
    if isinstance(obj, shapely.Geometry):
        return obj
    raise BadInputError(f"{name} must be a polygon, GeoSeries or GeoDataFrame")


def _hits(geom: shapely.Geometry, inc: gpd.GeoDataFrame) -> int:
    shapely.prepare(geom)
    return int(shapely.intersects(geom, inc.geometry.array).sum())


def pai(areas: Any, test_inc: gpd.GeoDataFrame, study_area: Any) -> float:
    """Predictive Accuracy Index: (hits / N) / (hotspot area / study area).

    Parameters
    ----------
    areas : GeoDataFrame, GeoSeries or polygon
        The hotspots (e.g. ``hs.top_areas(...)``); overlaps count once.
    test_inc : GeoDataFrame
        Incidents of the period being predicted; N = how many lie in the study area,
        hits = how many of those lie in (or on the edge of) the hotspots.
    study_area : polygon, GeoDataFrame or float
        The study area (e.g. the borough), or its area in m². Hotspot area is
        clipped to it when it is a geometry.

    Returns
    -------
    float
        PAI (NaN when there are no test incidents or the hotspots have no area).
    """
    test_inc = check_gdf(test_inc, "test incidents")
    hot = _geom(areas, "areas")
    if isinstance(study_area, int | float):
        big_a = check_positive(study_area, "study_area", allow_none=False)
        inside = test_inc
    else:
        sa = _geom(study_area, "study_area")
        big_a = sa.area
        hot = shapely.intersection(hot, sa)
        shapely.prepare(sa)
        inside = test_inc[shapely.intersects(sa, test_inc.geometry.array)]
    n_all = len(inside)
    if n_all == 0 or hot.area <= 0:
        return float("nan")
    return (_hits(hot, inside) / n_all) / (hot.area / big_a)


def rri(areas: Any, train_inc: gpd.GeoDataFrame, test_inc: gpd.GeoDataFrame) -> float:
    """Recapture Rate Index: (n_test / n_train) / (N_test / N_train).

    n_* are incidents inside the hotspots in each period, N_* all incidents given
    (Levine 2008, CrimeStat III; Drawve 2016). Area does not enter: it measures
    whether the hotspots keep their share of crime from one period to the next.

    Returns
    -------
    float
        RRI (NaN when no training incident lies in the hotspots or a period is empty).
    """
    train_inc = check_gdf(train_inc, "training incidents")
    test_inc = check_gdf(test_inc, "test incidents")
    hot = _geom(areas, "areas")
    n_tr, n_te = _hits(hot, train_inc), _hits(hot, test_inc)
    if n_tr == 0 or len(train_inc) == 0 or len(test_inc) == 0:
        return float("nan")
    return (n_te / n_tr) / (len(test_inc) / len(train_inc))


# --- backtest -------------------------------------------------------------------------


class BacktestResult(NamedTuple):
    """``table``: one row per (test month, method); ``summary``: one row per method."""

    table: pd.DataFrame
    summary: pd.DataFrame


def _cell_priority(method: str, train: gpd.GeoDataFrame, grid, counts: np.ndarray,
                   eps: float) -> np.ndarray:
    """Per-cell ranking score of ``method`` fitted on ``train`` (higher = hotter).

    grid: cell counts. kde: density on the same grid (hs.kde defaults for the
    bandwidth). gistar: z-score. dbscan/hdbscan: cells whose centre lies in a
    candidate area, ordered by that area's top_areas rank then by the cell's count;
    after them cells holding unclustered incidents, by count (so every method can
    use the same area when there is signal for it).
    """
    if method == "grid":
        return counts
    if method == "kde":
        from .density import kde
        from .grid import to_array

        g = kde(train, grid=grid, quiet=True)
        return np.nan_to_num(to_array(g, "density", fill=0.0)[0])
    if method == "gistar":
        from .stats import gistar

        g = gistar(train, grid=grid, quiet=True)
        return _on_grid(g, "z", grid)
    from .rank import candidate_areas, order_areas, points_in_areas, score_areas

    cand, _ = candidate_areas(train, method, n=50, eps=eps)
    pri = np.zeros(grid.shape)
    if len(cand) == 0:
        return pri
    geoms = cand.geometry.array
    xy = point_xy(train)
    pt, ar = points_in_areas(xy, geoms)
    s = score_areas(geoms, pt, ar, np.ones(len(xy)), np.ones(len(xy)))
    order = order_areas(s)
    xc, yc = grid.centres()
    cells = shapely.points(xc.ravel(), yc.ravel())
    ci, ai = shapely.STRtree(geoms).query(cells, predicate="within")
    rank = np.empty(len(order), int)
    rank[order] = np.arange(len(order))
    flat = pri.ravel()
    big = counts.max() + 1.0
    np.maximum.at(flat, ci, (len(order) - rank[ai]) * big)
    flat += counts.ravel()  # then cells with unclustered incidents, by count
    return flat.reshape(grid.shape)


def _on_grid(g: gpd.GeoDataFrame, column: str, grid) -> np.ndarray:
    """Values of a grid frame moved onto ``grid`` by cell centre (same cell size)."""
    out = np.full(grid.shape, -np.inf)
    c = shapely.centroid(g.geometry.array)
    r, k = grid.cell_index(shapely.get_x(c), shapely.get_y(c))
    ok = (r >= 0) & (r < grid.nrows) & (k >= 0) & (k < grid.ncols)
    out[r[ok], k[ok]] = np.nan_to_num(g[column].to_numpy(float)[ok], nan=-np.inf)
    return out


def study_area_of(inc: gpd.GeoDataFrame, min_share: float = 0.05) -> shapely.Geometry:
    """The borough(s) holding at least ``min_share`` of the incidents' distinct points."""
    from .boundaries import boroughs
    from .clusters import collapse

    b = boroughs()
    uxy = collapse(point_xy(inc), np.ones(len(inc)))[0]
    _, bi = shapely.STRtree(b.geometry.array).query(shapely.points(uxy), predicate="within")
    share = np.bincount(bi, minlength=len(b)) / max(len(uxy), 1)
    keep = share >= min_share
    if not keep.any():
        raise BadInputError("the incidents are not in a London borough: pass study_area=")
    return shapely.union_all(b.geometry.array[keep])


def backtest(
    inc: gpd.GeoDataFrame,
    methods: Sequence[str] = METHODS,
    area_share: float = 0.05,
    study_area: Any = None,
    cell_size: float = 150.0,
    months: int | None = None,
    eps: float = 150.0,
    progress: Callable[[int, int], None] | None = None,
    quiet: bool = False,
) -> BacktestResult:
    """Fit hotspots on month t, score them on month t+1, rolling over a series.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents with a ``month`` column (e.g. ``hs.read_incidents("barnet_burglary")``).
    methods : sequence of str
        Any of ``kde, dbscan, hdbscan, gistar, grid`` (grid = last month's cell
        counts: the naive baseline).
    area_share : float, default 0.05
        Share of the study area every method may flag (equal area makes PAIs
        comparable).
    study_area : polygon or GeoDataFrame, optional
        Default: the borough(s) holding >= 5% of the incidents' distinct points.
    cell_size : float, default 150
        The evaluation grid, metres. Every method ranks its cells and flags the best
        until their area inside the study area reaches ``area_share`` of it (a cell
        on the boundary counts for its part inside); N counts the incidents inside
        the study area.
    months : int, optional
        Only the last ``months`` (train, test) pairs.
    eps : float, default 150
        DBSCAN/HDBSCAN hull buffer scale (as in :func:`hotspots.top_areas`).
    progress : callable(done, total), optional
        Called after each test month (the CLI draws a progress bar with it).

    Returns
    -------
    BacktestResult
        ``table``: ``month`` (test month), ``method``, ``n_train``, ``n_test``, ``hits``,
        ``area_share`` (flagged share actually used: cluster methods and the grid
        baseline flag only cells with a signal, so may use less), ``pai``, ``rri``;
        ``summary``: per method ``mean_pai, median_pai, mean_rri, mean_area_share,
        months``, sorted by mean PAI.
    """
    from .grid import bin_points, make_grid

    inc = check_gdf(inc, "incidents", required=["month"])
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise BadInputError(f"unknown method(s) {bad}; choose from {METHODS}")
    if not 0 < float(area_share) < 1:
        raise BadInputError(f"area_share must be between 0 and 1, got {area_share}")
    methods = list(methods)
    if "gistar" in methods:
        try:
            from .stats import gistar  # noqa: F401
        except ImportError:  # stats module not installed in this build
            log.warning("backtest: Gi* unavailable (hotspots.stats missing); skipped")
            methods.remove("gistar")
    sa = _geom(study_area, "study_area") if study_area is not None else study_area_of(inc)
    grid = make_grid(sa, cell_size)
    shapely.prepare(sa)
    # each cell counts for the part of it inside the study area
    from .grid import cell_polygons

    cell_area = shapely.area(shapely.intersection(cell_polygons(grid), sa)).reshape(grid.shape)
    budget = float(area_share) * sa.area
    xy = point_xy(inc)
    row, col = grid.cell_index(xy[:, 0], xy[:, 1])
    ok = (row >= 0) & (row < grid.nrows) & (col >= 0) & (col < grid.ncols)
    ok &= shapely.intersects_xy(sa, xy[:, 0], xy[:, 1])  # N: incidents in the study area
    inc = inc[ok]
    row, col = row[ok], col[ok]
    mon = pd.to_datetime(inc["month"])
    per = (mon.dt.year * 12 + mon.dt.month - 1).to_numpy()  # months as integers
    present = set(per.tolist())
    pairs = [(t, t + 1) for t in sorted(present) if t + 1 in present]
    if months is not None:
        pairs = pairs[-int(months):]
    if not pairs:
        raise BadInputError("need at least two consecutive months of incidents to backtest")
    params = dict(cell_size=grid.cell_size, area_share=float(area_share),
                  study_area_km2=round(sa.area / 1e6, 3))
    if not quiet:
        log.info("backtest: %d month pairs, %s", len(pairs), params)
    rows = []
    for step, (t, u) in enumerate(pairs):
        tr, te = per == t, per == u
        train = inc[tr]
        counts = bin_points(xy[ok][tr, 0], xy[ok][tr, 1], None, grid)
        test_flat = row[te] * grid.ncols + col[te]
        train_flat = row[tr] * grid.ncols + col[tr]
        for m in methods:
            pri = _cell_priority(m, train, grid, counts, eps)
            sel = _flag(pri, cell_area, budget)
            hits, n_in_tr = int(sel[test_flat].sum()), int(sel[train_flat].sum())
            share = cell_area.ravel()[sel].sum() / sa.area
            n_te, n_tr = int(te.sum()), int(tr.sum())
            rows.append(dict(
                month=pd.Timestamp(year=u // 12, month=u % 12 + 1, day=1), method=m,
                n_train=n_tr, n_test=n_te, hits=hits, area_share=share,
                pai=(hits / n_te) / share if n_te and share else np.nan,
                rri=(hits / n_in_tr) / (n_te / n_tr) if n_in_tr and n_te else np.nan,
            ))
        if progress is not None:
            progress(step + 1, len(pairs))
    table = pd.DataFrame(rows)
    summary = (
        table.groupby("method")
        .agg(mean_pai=("pai", "mean"), median_pai=("pai", "median"), mean_rri=("rri", "mean"),
             mean_area_share=("area_share", "mean"), months=("pai", "count"))
        .sort_values("mean_pai", ascending=False)
        .reset_index()
    )
    table.attrs.update(params)
    summary.attrs.update(params)
    return BacktestResult(table, summary)


def _flag(pri: np.ndarray, cell_area: np.ndarray, budget: float) -> np.ndarray:
    """Flat mask of the top cells with a signal whose area (inside the study area)
    adds up to at most ``budget`` m².

    Ties break by row then column (north-west first) so results are reproducible.
    Cells without signal (priority <= 0 for counts/clusters; -inf for Gi*) are not
    flagged; for Gi* and KDE every cell has a value, so they use the full budget.
    """
    p = np.where(cell_area > 0, pri, -np.inf).ravel()
    if not np.isfinite(p).any():
        return np.zeros(p.size, bool)
    has_signal = np.isfinite(p) & (p > 0) if np.nanmin(p[np.isfinite(p)]) >= 0 else np.isfinite(p)
    idx = np.flatnonzero(has_signal)
    order = idx[np.lexsort((idx, -p[idx]))]
    order = order[np.cumsum(cell_area.ravel()[order]) <= budget * (1 + 1e-9)]
    sel = np.zeros(p.size, bool)
    sel[order] = True
    return sel
