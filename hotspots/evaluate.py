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

- **PEI**, Predictive Efficiency Index (Hunt 2016, "Do crime hot spots move?
  Exploring the effects of the modifiable areal unit problem and modifiable temporal
  unit problem on crime hot spot stability", PhD thesis, American University): hits
  ÷ the most incidents any cells of the same area could have caught. 1 = perfect.

``backtest`` forecasts each month from the months before it (rolling origin) and
scores it on that month, every method flagging exactly the same area.
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

__all__ = [
    "BASELINES",
    "DECAYED",
    "FORECASTS",
    "METHODS",
    "OTHERS",
    "WINDOWS",
    "backtest",
    "BacktestResult",
    "pai",
    "protocol",
    "rri",
]

log = logging.getLogger("hotspots")

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


def _cell_priority(method: str, train: gpd.GeoDataFrame, grid, counts: np.ndarray,
                   eps: float) -> np.ndarray:
    """Per-cell ranking score of ``method`` fitted on ``train`` (higher = hotter).

    kde: density on the same grid (hs.kde defaults for the bandwidth). gistar:
    z-score (hs.gistar defaults). dbscan/hdbscan: cells whose centre lies in a
    candidate area, ordered by that area's top_areas rank then by the cell's count;
    after them cells holding unclustered incidents, by count (so every method can
    use the same area when there is signal for it).
    """
    if method == "kde":  # hs.kde's arrays (same default bandwidth), without the frame
        from .density import default_bandwidth, density_array

        xy = point_xy(train)
        bw = default_bandwidth(xy[:, 0], xy[:, 1], grid.cell_size)
        return density_array(xy[:, 0], xy[:, 1], grid, bw)[0]
    if method == "gistar":  # hs.gistar's defaults: the cell and its 8 neighbours
        from .stats import gistar_array, neighbourhood

        return gistar_array(counts, neighbourhood(grid.cell_size, grid.cell_size * 2**0.5))[0]
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


# --- backtest -------------------------------------------------------------------------


class BacktestResult(NamedTuple):
    """``table``: one row per (test month, method); ``summary``: one row per method."""

    table: pd.DataFrame
    summary: pd.DataFrame


#: grid forecasts (hotspots.forecast) and the package's other hotspot methods
FORECASTS = ("forecast", "counts", "decayed", "blend", "stkde", "near_repeat")
OTHERS = ("kde", "gistar", "dbscan", "hdbscan")
METHODS = FORECASTS + OTHERS + ("top20",)
#: kde/gistar/dbscan/hdbscan are fitted on each of these training windows (months);
#: counts on each too
WINDOWS = (1, 3, 6, 12, 24)
#: always in the table, whatever ``methods`` says
BASELINES = (
    ("naive (last month's counts)", "counts", {"window": 1}),
    ("decayed counts (half-life 12, 24 months)", "decayed", {"half_life": 12, "window": 24}),
)
#: the decayed-count cells the top twenty areas are compared with at their own area
DECAYED = BASELINES[1]


def _specs(methods: Sequence[str], windows: Sequence[int]) -> list[tuple[str, str, Any]]:
    """(label, method, params or training window) of every row group of the table."""
    from .forecasting import _PARAMS

    def last(w: int) -> str:
        return "last month" if w == 1 else f"last {w} months"

    named = {
        "blend": "blend: own decayed count + neighbours within 400 m",
        "near_repeat": "near-repeat: decayed count + neighbours' last 2 months",
        "stkde": "prospective space-time KDE (Bowers et al. 2004; 400 m, 2 months)",
    }
    out: list[tuple[str, str, Any]] = list(BASELINES)
    for m in methods:
        if m == "forecast":
            out.append(("forecast (auto)", "forecast", None))
        elif m == "counts":
            out += [(f"counts, {last(w)}", "counts", {"window": w}) for w in windows if w != 1]
        elif m == "decayed":
            out.append(("decayed counts (half-life 12, all history)", "decayed",
                        {"half_life": 12, "window": None}))
        elif m in named:
            out.append((named[m], m, dict(_PARAMS[m])))
        elif m in OTHERS:
            out += [(f"{m}, {last(w)}", m, int(w)) for w in windows]
    return out


def _evaluate(hist, scores: np.ndarray, folds: np.ndarray, budget: float) -> dict:
    """hits, PAI, PEI, RRI of per-fold cell scores (folds x cells) at ``budget`` m²."""
    from .forecasting import flag_cells

    share = budget / hist.cell_area.sum()
    tie = hist.tie_key()
    flat = hist.counts.reshape(len(hist.counts), -1)
    out = {k: np.full(len(folds), np.nan) for k in ("hits", "pai", "pei", "rri", "area")}
    for i, u in enumerate(folds):
        test = flat[u]
        n = test.sum()
        idx, w = flag_cells(scores[i], hist.cell_area, budget, tie)
        out["area"][i] = hist.cell_area.ravel()[idx] @ w
        if n == 0:
            continue
        hits = test[idx] @ w
        best_idx, best_w = flag_cells(test, hist.cell_area, budget, tie)  # Hunt's n*
        prev = flat[max(0, u - 12):u].sum(axis=0)  # RRI against the 12 months before
        n_prev = prev[idx] @ w
        out["hits"][i], out["pai"][i] = hits, (hits / n) / share
        out["pei"][i] = hits / (test[best_idx] @ best_w)
        out["rri"][i] = (hits / n_prev) / (n / prev.sum()) if n_prev > 0 else np.nan
    return out


def _auto_scores(hist, folds: np.ndarray, area_share: float) -> tuple[np.ndarray, list[str]]:
    """Score the cells as hs.forecast(method="auto") would at each fold.

    Its choice is made per fold from the folds before it only (the candidates' PAIs
    are computed once for every period).
    """
    from .forecasting import auto_folds, candidates, choose, method_label, method_scores, pai_matrix

    specs = candidates(hist.per_month)
    labels = [method_label(*c) for c in specs]
    every = np.arange(1, int(folds.max()))
    pai = pai_matrix(hist, specs, every, area_share)[0] if len(every) else \
        np.empty((len(specs), 0))
    pick = np.array([choose(pai[:, auto_folds(0, int(u)) - 1], labels)[0] for u in folds])
    out = np.empty((len(folds), hist.cell_area.size))
    for j in np.unique(pick):
        sel = np.flatnonzero(pick == j)
        out[sel] = method_scores(hist, *specs[j], folds[sel]).reshape(len(sel), -1)
    return out, [labels[j] for j in pick]


def _other_scores(hist, inc: gpd.GeoDataFrame, per: np.ndarray, method: str, window: int,
                  folds: np.ndarray, eps: float) -> np.ndarray:
    """kde/gistar/dbscan/hdbscan fitted on the ``window`` months before each fold."""
    out = np.empty((len(folds), hist.cell_area.size))
    for i, u in enumerate(folds):
        m = (per >= u - window) & (per < u)
        counts = hist.counts[max(0, u - window):u].sum(axis=0)
        if not m.any():
            out[i] = 0.0
            continue
        pri = _cell_priority(method, inc[m], hist.grid, counts, eps)
        out[i] = np.nan_to_num(pri, nan=-np.inf).ravel()
    return out


def backtest(  # noqa: PLR0913 (methods, windows, area, grid, folds: documented options)
    inc: gpd.GeoDataFrame,
    methods: Sequence[str] = FORECASTS + ("kde", "gistar"),
    windows: Sequence[int] = WINDOWS,
    area_share: float = 0.05,
    study_area: Any = None,
    cell_size: float = 100.0,
    months: int | None = None,
    eps: float = 150.0,
    progress: Callable[[int, int], None] | None = None,
    *,
    quiet: bool = False,
) -> BacktestResult:
    """Forecast each month from the months before it and score every method on it.

    A rolling-origin backtest; every method flags exactly the same area.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents with a ``month`` column (e.g. ``hs.read_incidents("barnet_burglary")``).
    methods : sequence of str
        Any of ``forecast`` (hs.forecast's auto choice, made per fold from earlier
        folds only), ``counts`` (plain counts over each of ``windows``), ``decayed``
        (half-life 12 months, all history), ``blend``, ``stkde``, ``near_repeat``
        (hotspots.forecast defaults), ``kde``, ``gistar``, ``dbscan``, ``hdbscan``
        (fitted on each of ``windows``) and ``top20`` (hs.top_areas on all months
        before, scored at its own area: see Returns). The naive baseline (last month's
        counts) and decayed counts (half-life 12, 24 months) are always included.
    windows : sequence of int, default (1, 3, 6, 12, 24)
        Training windows, months.
    area_share : float, default 0.05
        Share of the study area every method flags: cells ranked by score (ties in a
        fixed random order), the last one counted for the part that completes the
        area exactly; a boundary cell counts for its part inside the study area.
    study_area : polygon or GeoDataFrame, optional
        Default: the borough(s) holding >= 5% of the incidents' distinct points.
    cell_size : float, default 100
        Grid cell side, metres.
    months : int, optional
        Only the last ``months`` test months (default: every month with one before it).
    eps : float, default 150
        DBSCAN/HDBSCAN hull buffer scale (as in :func:`hotspots.top_areas`).
    progress : callable(done, total), optional
        Called after each method (the CLI draws a progress bar with it).

    Returns
    -------
    BacktestResult
        ``table``: per test month and method ``month, method, label, n_test, hits,
        area_share, pai`` (Chainey et al. 2008), ``pei`` (Hunt 2016: hits over the
        most any cells of that area could have caught), ``rri`` (the flagged cells'
        share of the test month over their share of the 12 months before; Levine
        2008) and ``chosen`` (auto's choice). ``top20`` rows are scored at the union
        of the areas' own area, with ``pai_decayed_same_area``, the decayed-count
        cells of that area. ``summary``: per label ``mean_pai, sd_pai, median_pai,
        mean_pei, mean_rri, sd_rri, area_share, folds``, best mean PAI first.
    """
    from .forecasting import build_history

    inc = check_gdf(inc, "incidents", required=["month"])
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise BadInputError(f"unknown method(s) {bad}; choose from {METHODS}")
    if not 0 < float(area_share) < 1:
        raise BadInputError(f"area_share must be between 0 and 1, got {area_share}")
    from .forecasting import study_area_of

    sa = _geom(study_area, "study_area") if study_area is not None else study_area_of(inc)
    hist = build_history(inc, sa, cell_size, "MS")
    folds = np.flatnonzero(hist.counts.reshape(len(hist.counts), -1).sum(axis=1) > 0)
    folds = folds[folds >= 1]
    if months is not None:
        folds = folds[-int(months):]
    if len(folds) == 0:
        raise BadInputError("need at least two months of incidents to backtest")
    budget = float(area_share) * hist.cell_area.sum()
    mon = pd.to_datetime(inc["month"]).dt.to_period("M")
    per = (mon.array.asi8 - hist.periods[0].ordinal) if len(inc) else np.zeros(0, int)
    specs = _specs(methods, windows)
    params = dict(cell_size=hist.grid.cell_size, area_share=float(area_share),
                  study_area_km2=round(sa.area / 1e6, 3), folds=len(folds),
                  first_test=str(hist.periods[folds[0]]), last_test=str(hist.periods[folds[-1]]))
    if not quiet:
        log.info("backtest: %d test months, %d methods, %s", len(folds), len(specs), params)
    rows = []
    steps = len(specs) + ("top20" in methods)
    for k, (label, m, p) in enumerate(specs):
        chosen = None
        if m == "forecast":
            sc, chosen = _auto_scores(hist, folds, float(area_share))
        elif m in OTHERS:
            sc = _other_scores(hist, inc, per, m, p, folds, eps)
        else:
            from .forecasting import method_scores

            sc = method_scores(hist, m, p, folds).reshape(len(folds), -1)
        ev = _evaluate(hist, sc, folds, budget)
        rows.append(_rows(hist, folds, label, m, ev, chosen))
        if progress is not None:
            progress(k + 1, steps)
    if "top20" in methods:
        rows.append(_top20_rows(hist, inc, per, folds, sa))
        if progress is not None:
            progress(steps, steps)
    return _result(pd.concat(rows, ignore_index=True), params)


def protocol(attrs: dict) -> str:
    """The backtest's protocol in a sentence or three, from ``summary.attrs``."""
    text = (
        f"Rolling origin: each month from {attrs.get('first_test')} to "
        f"{attrs.get('last_test')} ({attrs.get('folds')} folds) forecast from the months "
        f"before it only; every method flags exactly {attrs.get('area_share', 0):.0%} of the "
        f"{attrs.get('study_area_km2')} km² study area ({attrs.get('cell_size', 0):g} m "
        "cells ranked by score, ties in a fixed random order, the last cell counted for the "
        "part that completes the area). PAI = share of the month's incidents caught / share "
        "of area (Chainey et al. 2008); PEI = caught / the most any cells of that area "
        "could catch (Hunt 2016); RRI = the flagged cells' share of the month / their "
        "share of the 12 months before (Levine 2008). sd: spread over folds."
    )
    t20 = attrs.get("top20_mean_pai_decayed_same_area")
    if t20 is not None:
        text += (" Top 20 areas are scored at their own total area; the decayed-count cells "
                 f"of that same area have mean PAI {t20:.2f}.")
    return text


def _rows(hist, folds, label, method, ev, chosen) -> pd.DataFrame:
    n = hist.counts[folds].reshape(len(folds), -1).sum(axis=1)
    df = pd.DataFrame({
        "month": hist.periods[folds].to_timestamp(), "method": method, "label": label,
        "n_test": n.astype(int), "hits": ev["hits"],
        "area_share": ev["area"] / hist.cell_area.sum(),
        "pai": ev["pai"], "pei": ev["pei"], "rri": ev["rri"],
    })
    if chosen is not None:
        df["chosen"] = chosen
    return df


def _result(table: pd.DataFrame, params: dict) -> BacktestResult:
    summary = (
        table.groupby("label", sort=False)
        .agg(method=("method", "first"), mean_pai=("pai", "mean"), sd_pai=("pai", "std"),
             median_pai=("pai", "median"), mean_pei=("pei", "mean"), mean_rri=("rri", "mean"),
             sd_rri=("rri", "std"), area_share=("area_share", "mean"), folds=("pai", "count"))
        .sort_values("mean_pai", ascending=False, kind="stable")
        .reset_index()
    )
    if "pai_decayed_same_area" in table.columns:
        t20 = table[table["method"] == "top20"]
        summary.attrs["top20_mean_pai_decayed_same_area"] = float(
            t20["pai_decayed_same_area"].mean())
    table.attrs.update(params)
    summary.attrs.update(params)
    return BacktestResult(table, summary)


def _top20_rows(hist, inc, per, folds, sa) -> pd.DataFrame:
    """Score hs.top_areas(n=20), fitted on all months before each fold, at its own area.

    The union of the areas (clipped to the study area) against the decayed-count cells
    of that same area.
    """
    from .forecasting import flag_cells, method_scores
    from .rank import top_areas

    total = hist.cell_area.sum()
    tie = hist.tie_key()
    shapely.prepare(sa)
    xy = point_xy(inc)
    inside = shapely.intersects_xy(sa, xy[:, 0], xy[:, 1])
    dec = method_scores(hist, DECAYED[1], DECAYED[2], folds).reshape(len(folds), -1)
    flat = hist.counts.reshape(len(hist.counts), -1)
    rows = []
    for i, u in enumerate(folds):
        train = inc[per < u]
        test = inside & (per == u)
        areas = top_areas(train, n=20, study_area=sa, forecast_cell=hist.grid.cell_size,
                          quiet=True)
        hot = shapely.intersection(shapely.union_all(areas.geometry.array), sa)
        shapely.prepare(hot)
        n = int(test.sum())
        hits = int(shapely.intersects_xy(hot, xy[test, 0], xy[test, 1]).sum()) if n else 0
        share = hot.area / total
        idx, w = flag_cells(dec[i], hist.cell_area, hot.area, tie)
        dec_hits = flat[u][idx] @ w
        rows.append(dict(
            month=hist.periods[u].to_timestamp(), method="top20",
            label="top 20 areas (hs.top_areas), at their own area", n_test=n, hits=hits,
            area_share=share, pai=(hits / n) / share if n and share else np.nan,
            pei=np.nan, rri=np.nan,
            pai_decayed_same_area=(dec_hits / n) / share if n and share else np.nan))
    return pd.DataFrame(rows)
