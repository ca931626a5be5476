"""Change over time: is this place getting worse, staying bad, or recovering?

- :func:`hotspot_change`: counts per cell, ward or area before and after a date,
  with a Poisson (conditional binomial) test so that "3 → 6, +100%" is not read as
  a real doubling.
- :func:`classify_hotspots`: Gi* on one fixed grid for every period, then a label
  per cell, either sfhotspot's ``hotspot_classify`` scheme (default) or ArcGIS
  Emerging Hot Spot Analysis's Mann-Kendall categories.
- :func:`operation_effect`: before/after for an operation's area against a
  comparison area, with Wheeler & Ratcliffe's weighted displacement difference (WDD)
  test and Bowers & Johnson's weighted displacement quotient (WDQ).
- :func:`dual_kde`: the density of one layer relative to another on one grid.
- :func:`trend_table`: committee-style counts per ward or area and period, with the
  change against the previous period and the same period last year.
- :func:`mann_kendall`: the Mann-Kendall trend test (S, tau-b, z, p).

Times: an incident's time is ``occurred_at`` where known, else the first of its
``month`` (police.uk publishes months only). For month-only data a period split is
moved to the start of a month, since incidents cannot be placed within one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats as sps

from ._errors import BadInputError
from ._time import (
    incident_times,
    month_only,
    month_start,
    nearest_month_start,
    parse_time,
    period_freq,
)
from ._validate import BNG, check_gdf, check_nonempty, check_positive
from .grid import bin_points, make_grid, points_xy, to_gdf
from .stats import fdr_bh

log = logging.getLogger("hotspots")

#: Labels of :func:`hotspot_change`.
CHANGE_LABELS = ("significant increase", "significant decrease", "no significant change")
#: Labels of the sfhotspot scheme (sfhotspot's own wording).
SFHOTSPOT_LABELS = (
    "persistent hotspot", "emerging hotspot", "former hotspot", "intermittent hotspot",
    "persistent coldspot", "emerging coldspot", "former coldspot", "intermittent coldspot",
    "mixed hot/coldspot", "no pattern",
)
#: Labels of the ArcGIS Emerging Hot Spot Analysis scheme (ESRI's wording).
ESRI_LABELS = tuple(
    f"{kind} {spot}"
    for spot in ("hot spot", "cold spot")
    for kind in ("new", "consecutive", "intensifying", "persistent", "diminishing",
                 "sporadic", "oscillating", "historical")
) + ("no pattern detected",)
#: ESRI's share of periods for the "most of the time" categories.
ESRI_MOST = 0.9
#: Default ring around an operation's area where crime may be displaced to, metres.
DEFAULT_BUFFER = 250.0


# --------------------------------------------------------------------------- times
def _times(inc: pd.DataFrame) -> tuple[pd.Series, bool]:
    """Each incident's time (occurred_at, else month) and whether all are month-only."""
    t = incident_times(inc)
    if t.notna().sum() == 0:
        raise BadInputError(
            "incidents have no dates (occurred_at or month): cannot compare periods"
        )
    return t, month_only(inc)


def _span(t: pd.Series, monthly: bool) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start and (exclusive) end of the time the data cover."""
    if monthly:
        return month_start(t.min()), month_start(t.max(), 1)
    return t.min().floor("D"), t.max().floor("D") + pd.Timedelta(days=1)


def _days(a: pd.Timestamp, b: pd.Timestamp) -> float:
    return (b - a) / pd.Timedelta(days=1)


# --------------------------------------------------------------------------- areas
def _area_of_points(inc: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Position (0..len(areas)-1) of the first area holding each incident; -1 if none."""
    x, y, ok = points_xy(inc)
    pts = shapely.points(x, y)
    tree = shapely.STRtree(areas.geometry.array)
    pi, ai = tree.query(pts, predicate="intersects")
    out = np.full(len(pts), -1, dtype=np.int64)
    order = np.lexsort((ai, pi))  # per point, the lowest area position wins (deterministic)
    pi, ai = pi[order], ai[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    out[pi[first]] = ai[first]
    full = np.full(len(inc), -1, dtype=np.int64)
    full[ok] = out
    return full


def _resolve_areas(by: Any, inc: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str]:
    """The areas to count in (wards covering the incidents, or the user's) and their key."""
    if isinstance(by, str) and by == "ward":
        from .boundaries import wards

        w = wards()
        xmin, ymin, xmax, ymax = inc.total_bounds
        w = w[w.intersects(shapely.box(xmin, ymin, xmax, ymax))].reset_index(drop=True)
        return w[["ward_code", "ward_name", "borough_name", "geometry"]], "ward_code"
    if isinstance(by, gpd.GeoDataFrame):
        areas = check_nonempty(check_gdf(by, "areas"), "areas").reset_index(drop=True)
        key = next(
            (c for c in ("area_id", "ward_code", "name", "rank") if c in areas.columns), None
        )
        if key is None:
            areas = areas.assign(area_id=np.arange(1, len(areas) + 1))
            key = "area_id"
        return areas, key
    raise BadInputError(f"by must be 'cell', 'ward' or a GeoDataFrame of areas, got {by!r}")


# --------------------------------------------------------------------------- tests
def _poisson_change_p(n1: np.ndarray, n2: np.ndarray, t1: float, t2: float) -> np.ndarray:
    """Two-sided p of "same rate before and after": n2 | n1+n2 ~ Binomial(n1+n2, t2/(t1+t2))."""
    share = t2 / (t1 + t2)
    p = np.ones(len(n1))
    cache: dict[tuple[int, int], float] = {}
    for i, (a, b) in enumerate(zip(n1.astype(int), n2.astype(int), strict=True)):
        if a + b == 0:
            continue
        key = (a, b)
        if key not in cache:
            cache[key] = float(sps.binomtest(b, a + b, share).pvalue)
        p[i] = cache[key]
    return p


class MannKendall(NamedTuple):
    """Result of :func:`mann_kendall`."""

    S: float
    tau: float
    z: float
    p: float


def mann_kendall(series: Any) -> MannKendall:
    """Mann-Kendall trend test of a series in time order.

    Parameters
    ----------
    series : array-like of numbers
        Values in time order (missing values are dropped).

    Returns
    -------
    MannKendall
        ``S`` = Σ_{i<j} sign(x_j − x_i); ``tau`` = Kendall's tau-b between time and
        the series (equal to ``scipy.stats.kendalltau(range(n), series)``, ties
        included); ``z`` = (S ∓ 1)/√Var(S) with the continuity correction and the
        tie-corrected variance n(n−1)(2n+5)/18 − Σ t(t−1)(2t+5)/18; ``p`` two-sided
        normal p-value. With fewer than 3 values, or all values equal, tau/z are 0
        and p is 1 (no trend can be shown).
    """
    try:
        x = np.asarray(series, dtype=float).ravel()
    except (TypeError, ValueError):
        raise BadInputError("mann_kendall needs a series of numbers in time order") from None
    x = x[~np.isnan(x)]
    n = len(x)
    if n < 3:
        return MannKendall(0.0, 0.0, 0.0, 1.0)
    diff = x[None, :] - x[:, None]
    S = float(np.sign(diff[np.triu_indices(n, 1)]).sum())
    _, t = np.unique(x, return_counts=True)
    n0 = n * (n - 1) / 2
    ties = float((t * (t - 1) / 2).sum())
    var = (n * (n - 1) * (2 * n + 5) - float((t * (t - 1) * (2 * t + 5)).sum())) / 18.0
    if var <= 0 or n0 == ties:
        return MannKendall(S, 0.0, 0.0, 1.0)
    tau = S / math.sqrt(n0 * (n0 - ties))  # time has no ties, so tau-b's first factor is n0
    z = (S - np.sign(S)) / math.sqrt(var)
    p = float(2 * sps.norm.sf(abs(z)))
    return MannKendall(S, float(tau), float(z), p)


# --------------------------------------------------------------------------- change
def hotspot_change(
    inc: gpd.GeoDataFrame,
    split: Any = None,
    cell_size: float | None = None,
    by: Any = "cell",
    alpha: float = 0.05,
    quiet: bool = False,
    fdr: bool = True,
) -> gpd.GeoDataFrame:
    """Counts before and after a date per cell, ward or area, and whether they changed.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents (``occurred_at`` and/or ``month``; any CRS).
    split : date, optional
        First day of the "after" period. Default: the middle of the time the data
        cover (month-only data: the nearest first of a month).
    cell_size : float, optional
        Cell side in metres when ``by="cell"``; default
        :func:`hotspots.grid.default_cell_size`.
    by : "cell", "ward" or GeoDataFrame
        Grid cells; the 2022 wards the incidents fall in (pass
        ``hs.wards(borough)`` to list a borough's wards with none too); or your own areas (keyed
        by ``area_id``/``ward_code``/``name``/``rank`` if present).
    alpha : float, default 0.05
        Significance level of the change test.
    quiet : bool
        Do not log the chosen parameters.
    fdr : bool, default True
        Control the false discovery rate across all cells/wards/areas tested
        (Benjamini-Hochberg): with hundreds of cells, p < 0.05 alone would flag about
        one in twenty unchanged cells. False: each unit tested on its own.

    Returns
    -------
    GeoDataFrame
        Per cell or ward with at least one incident, or every area you gave: ``n_before,
        n_after, change`` (after − before), ``change_pct`` (% change of the rate per
        day, equal to the % change of counts when both periods are equally long; NaN
        when there were none before), ``p`` (two-sided conditional binomial test of
        equal Poisson rates: given n₁+n₂, n₂ ~ Binomial(n₁+n₂, t₂/(t₁+t₂)) with t the
        period lengths), ``q`` (Benjamini-Hochberg adjusted p), ``significant``
        (q < alpha, or p < alpha with ``fdr=False``) and ``label`` (one of
        :data:`CHANGE_LABELS`). ``attrs``: ``split``, ``start``, ``end`` (ISO dates),
        ``days_before``, ``days_after``, ``alpha``, ``by`` (+ ``cell_size``).
    """
    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    if not 0 < alpha < 1:
        raise BadInputError(f"alpha must be between 0 and 1, got {alpha}")
    t, monthly = _times(inc)
    start, end = _span(t, monthly)
    chosen = []
    if split is None:
        split = start + (end - start) / 2
        split = nearest_month_start(split, "split") if monthly else split.floor("D")
        chosen.append(f"split {split.date()} (middle of the data)")
    else:
        split = parse_time(split, "split")
        if monthly:
            split = nearest_month_start(split, "split")
    if not start < split < end:
        raise BadInputError(
            f"split {split.date()} must fall inside the data ({start.date()} to {end.date()})"
        )
    t1, t2 = _days(start, split), _days(split, end)
    before = (t < split).to_numpy() & t.notna().to_numpy()
    after = (t >= split).to_numpy()
    attrs: dict[str, Any] = {
        "split": str(split.date()), "start": str(start.date()), "end": str(end.date()),
        "days_before": t1, "days_after": t2, "alpha": float(alpha), "fdr": bool(fdr),
    }
    if isinstance(by, str) and by == "cell":
        x, y, ok = points_xy(inc)
        if cell_size is None:
            grid = make_grid(inc)
            chosen.append(f"cell size {grid.cell_size:g} m")
        else:
            grid = make_grid(inc, check_positive(cell_size, "cell_size"))
        n1 = bin_points(x[before[ok]], y[before[ok]], None, grid)
        n2 = bin_points(x[after[ok]], y[after[ok]], None, grid)
        res = to_gdf(grid, {"count": n1 + n2, "n_before": n1, "n_after": n2}, drop_empty=True)
        attrs["by"] = "cell"
    else:
        areas, key = _resolve_areas(by, inc)
        pos = _area_of_points(inc, areas)
        k = len(areas)
        n1 = np.bincount(pos[before & (pos >= 0)], minlength=k).astype(float)
        n2 = np.bincount(pos[after & (pos >= 0)], minlength=k).astype(float)
        keep = [c for c in areas.columns if c != "geometry"]
        res = gpd.GeoDataFrame(
            areas[keep].assign(count=n1 + n2, n_before=n1, n_after=n2),
            geometry=areas.geometry.array, crs=BNG,
        )
        attrs["by"] = "ward" if isinstance(by, str) else key
        if isinstance(by, str):  # wards near the data but holding none of it say nothing
            res = res[res["count"] > 0].reset_index(drop=True)
    a, b = res["n_before"].to_numpy(), res["n_after"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(a > 0, 100.0 * ((b / t2) / (a / t1) - 1.0), np.nan)
    p = _poisson_change_p(a, b, t1, t2)
    q = fdr_bh(p)
    sig = (q if fdr else p) < alpha
    res["change"] = b - a
    res["change_pct"] = pct
    res["p"] = p
    res["q"] = q
    res["significant"] = sig
    res["label"] = np.where(
        sig & (b / t2 > a / t1), CHANGE_LABELS[0], np.where(sig, CHANGE_LABELS[1], CHANGE_LABELS[2])
    )
    res.attrs.update(attrs)
    if not quiet:
        log.info(
            "hotspot_change: %s%d before / %d after %s; %d significant changes at %s < %g",
            "; ".join(chosen) + "; " if chosen else "", int(a.sum()), int(b.sum()),
            split.date(), int(sig.sum()), "FDR q" if fdr else "p", alpha,
        )
    return res


# --------------------------------------------------------------------------- classify
def _period_index(
    t: pd.Series, period: str, monthly: bool
) -> tuple[np.ndarray, pd.DatetimeIndex, str]:
    """Period number of each incident (-1 when undated) and the start of every period."""
    pfreq, daily = period_freq(period)
    if daily and monthly:
        raise BadInputError(
            f"period={period!r} needs the day of each incident, but these incidents only carry "
            "a month (police.uk publishes month only); use period='MS'"
        )
    per = t.dt.to_period(pfreq)
    first, last = per.min(), per.max()
    idx = np.full(len(t), -1, dtype=np.int64)
    ok = per.notna().to_numpy()
    idx[ok] = np.asarray([(p - first).n for p in per[ok]], dtype=np.int64)
    starts = pd.period_range(first, last, freq=pfreq).start_time
    return idx, starts, pfreq


def _holm(p: np.ndarray, axis: int = 0) -> np.ndarray:
    """Holm step-down adjusted p-values along `axis` (R's ``p.adjust`` default)."""
    p = np.moveaxis(np.asarray(p, float), axis, 0)
    m = p.shape[0]
    order = np.argsort(p, axis=0)
    ps = np.take_along_axis(p, order, axis=0)
    factor = (m - np.arange(m)).reshape((m,) + (1,) * (p.ndim - 1))
    adj = np.minimum(np.maximum.accumulate(ps * factor, axis=0), 1.0)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=0)
    return np.moveaxis(out, 0, axis)


def _adjust_over_periods(p: np.ndarray, method: str) -> np.ndarray:
    """Adjust each cell's p-values for the number of periods (axis 0)."""
    if method == "none":
        return p
    if method == "holm":
        return _holm(p, axis=0)
    if method == "fdr":
        flat = p.reshape(p.shape[0], -1)
        return np.column_stack([fdr_bh(flat[:, j]) for j in range(flat.shape[1])]).reshape(p.shape)
    raise BadInputError(f"p_adjust must be 'holm', 'fdr' or 'none', got {method!r}")


def sfhotspot_label(
    hot: np.ndarray,
    cold: np.ndarray,
    hotspot_prop: float = 0.1,
    persistent_prop: float = 0.8,
    recent_prop: float = 0.2,
) -> str:
    """sfhotspot's ``hotspot_classify`` label from one cell's significant hot/cold periods.

    `hot`, `cold`: boolean series in time order. The last ``floor(recent_prop * n)``
    periods (at least 1) are "recent", the others "older". For hot (and likewise
    cold): persistent if hot in ≥ `persistent_prop` of all periods; else emerging if
    hot in < `hotspot_prop` of older periods and ≥ `recent_prop` of recent ones;
    else former if hot in ≥ `hotspot_prop` of older and < `hotspot_prop` of recent
    periods; else intermittent if hot in ≥ `hotspot_prop` of all periods. A cell with
    both a hot and a cold category is "mixed hot/coldspot".
    """
    hot, cold = np.asarray(hot, bool), np.asarray(cold, bool)
    n = len(hot)
    recent = math.floor(recent_prop * n)
    if recent < 1 or n - recent < 1:
        recent = 1
    if n - recent < 1:
        raise BadInputError("classification needs at least 2 periods (one recent, one older)")

    def category(sig: np.ndarray, spot: str) -> str | None:
        prop = sig.mean()
        older, rec = sig[: n - recent].mean(), sig[n - recent:].mean()
        if prop >= persistent_prop:
            return f"persistent {spot}"
        if older < hotspot_prop and rec >= recent_prop:
            return f"emerging {spot}"
        if older >= hotspot_prop and rec < hotspot_prop:
            return f"former {spot}"
        if prop >= hotspot_prop:
            return f"intermittent {spot}"
        return None

    h, c = category(hot, "hotspot"), category(cold, "coldspot")
    if h and c:
        return "mixed hot/coldspot"
    return h or c or "no pattern"


def esri_label(z: np.ndarray, sig: np.ndarray, trend: MannKendall, alpha: float = 0.05) -> str:
    """ArcGIS Emerging Hot Spot Analysis pattern of one location.

    `z`: the Gi* z-scores in time order; `sig`: whether each is significant;
    `trend`: :func:`mann_kendall` of `z`. Hot spot rules (cold spots mirror them):

    - new: hot in the final period and never a significant hot spot before;
    - consecutive: a single run of ≥ 2 hot periods at the end, never hot before it,
      and hot in < 90% of periods;
    - intensifying / diminishing: hot in ≥ 90% of periods including the final one,
      with a significant (p < `alpha`) upward / downward Mann-Kendall trend in z;
    - persistent: hot in ≥ 90% of periods including the final one, no significant trend;
    - oscillating: hot in the final period, < 90% hot, and a significant cold spot
      in some earlier period;
    - sporadic: hot in the final period, < 90% hot, never a significant cold spot;
    - historical: not hot in the final period but hot in ≥ 90% of periods.

    Checked in that order (ESRI lists them so), which settles the overlaps ESRI's
    wording leaves open: e.g. ≥ 90% hot but not in the final period is historical,
    not persistent.
    """
    z, sig = np.asarray(z, float), np.asarray(sig, bool)
    n = len(z)
    for spot, s, up in (("hot spot", sig & (z > 0), 1), ("cold spot", sig & (z < 0), -1)):
        share = s.sum() / n
        if not s[-1]:
            if share >= ESRI_MOST:
                return f"historical {spot}"
            continue
        if s.sum() == 1:
            return f"new {spot}"
        run = n - (np.flatnonzero(~s)[-1] + 1) if (~s).any() else n
        if run >= 2 and not s[: n - run].any() and share < ESRI_MOST:
            return f"consecutive {spot}"
        if share >= ESRI_MOST:
            if trend.p < alpha and np.sign(trend.tau) == up:
                return f"intensifying {spot}"
            if trend.p < alpha and np.sign(trend.tau) == -up:
                return f"diminishing {spot}"
            return f"persistent {spot}"
        other = sig & ((z < 0) if up == 1 else (z > 0))
        return f"oscillating {spot}" if other[:-1].any() else f"sporadic {spot}"
    return "no pattern detected"


def classify_hotspots(
    inc: gpd.GeoDataFrame,
    period: str = "MS",
    cell_size: float | None = None,
    scheme: str = "sfhotspot",
    distance: float | None = None,
    alpha: float = 0.05,
    hotspot_prop: float = 0.1,
    persistent_prop: float = 0.8,
    recent_prop: float = 0.2,
    p_adjust: str = "holm",
    clip: Any = None,
    quiet: bool = False,
    *,
    grid: Any = None,
) -> gpd.GeoDataFrame:
    """Label each grid cell by how its hot/cold-spot status changed over time.

    Counts the incidents of every period (empty periods included) on ONE fixed grid,
    computes Gi* per period (:func:`hotspots.stats.gistar_array`, the cell itself
    and its neighbours within `distance`), and labels each cell with both published
    schemes; ``label`` holds the one chosen by `scheme`.

    **Default scheme: sfhotspot.** Its four categories answer the committee question
    directly (emerging = getting worse, persistent = staying bad, former =
    recovering, intermittent = on and off), and its thresholds (hot in 10% / 80% of
    periods) suit sparse monthly crime counts. ESRI's categories need a location to
    be hot in 90% of periods for most labels, which monthly counts for a borough
    rarely meet, so most cells end up "no pattern detected" or "sporadic".

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents with ``occurred_at`` and/or ``month``.
    period : str, default "MS"
        "MS" months, "QS" quarters, "YS" years, "W"/"W-MON" weeks starting Monday,
        "D" days (weeks and days need ``occurred_at``).
    cell_size : float, optional
        Cell side, metres; default :func:`hotspots.grid.default_cell_size`.
    scheme : {"sfhotspot", "esri"}
        Which label goes in ``label`` (both are always returned).
    distance : float, optional
        Neighbourhood radius in metres; default cell_size·√2 (the 8 touching cells,
        as sfhotspot's ``nb_dist``).
    alpha : float, default 0.05
        Significance level: sfhotspot's ``critical_p``; for ESRI, the level of the
        per-period FDR-corrected Gi* and of the Mann-Kendall trend.
    hotspot_prop, persistent_prop, recent_prop : float
        sfhotspot's ``hotspot_classify_params`` (defaults 0.1, 0.8, 0.2).
    p_adjust : {"holm", "fdr", "none"}, default "holm"
        sfhotspot scheme: adjustment of each cell's p-values over the periods (as
        sfhotspot, whose default ``p.adjust`` method is Holm's). The ESRI scheme
        always uses a Benjamini-Hochberg FDR correction over the cells of each
        period, as ArcGIS does.
    clip : polygon or GeoDataFrame, optional
        Study area: only cells intersecting it take part in Gi* (and are returned).
    grid : hotspots.grid.Grid, optional
        Use this grid; overrides `cell_size`.

    Returns
    -------
    GeoDataFrame
        Cells with an incident or a pattern: ``row, col, count`` (all periods),
        ``n_hot, n_cold`` (significant periods, sfhotspot's adjustment),
        ``z_last`` (Gi* z of the final period), ``mk_tau, mk_z, mk_p`` (Mann-Kendall
        of the z series), ``label_sfhotspot, label_esri, label``. ``attrs``:
        ``cell_size, distance, period, n_periods, first_period, last_period, scheme,
        alpha, p_adjust, hotspot_prop, persistent_prop, recent_prop``.

    Notes
    -----
    sfhotspot (Ashby) is followed except that "recent" means exactly the last
    ``floor(recent_prop · n)`` periods: sfhotspot's code also counts the period
    before them when measuring the recent share. ArcGIS computes a space-time Gi*
    (neighbouring periods included); here Gi* is spatial, one period at a time.
    """
    from .stats import fdr_bh, gistar_array, neighbourhood

    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    if scheme not in ("sfhotspot", "esri"):
        raise BadInputError(f"scheme must be 'sfhotspot' or 'esri', got {scheme!r}")
    if not 0 < alpha < 1:
        raise BadInputError(f"alpha must be between 0 and 1, got {alpha}")
    for name, v in (("hotspot_prop", hotspot_prop), ("persistent_prop", persistent_prop),
                    ("recent_prop", recent_prop)):
        if not 0 < v < 1:
            raise BadInputError(f"{name} must be between 0 and 1, got {v}")
    t, monthly = _times(inc)
    pidx, starts, _ = _period_index(t, period, monthly)
    n_per = len(starts)
    if n_per < 3:
        raise BadInputError(
            f"only {n_per} {period} period(s) in the data: classification needs at least 3; "
            "use a shorter period"
        )
    chosen = []
    x, y, ok = points_xy(inc)
    pidx = pidx[ok]
    if grid is None:
        extent = clip if clip is not None else inc
        grid = make_grid(extent, check_positive(cell_size, "cell_size"))
        if cell_size is None:
            chosen.append(f"cell size {grid.cell_size:g} m")
    if distance is None:
        distance = grid.cell_size * math.sqrt(2)
        chosen.append(f"neighbourhood {distance:.0f} m (the 8 touching cells)")
    distance = check_positive(distance, "distance")
    stencil = neighbourhood(grid.cell_size, distance)
    mask = None
    if clip is not None:
        from .grid import clip_mask

        mask = clip_mask(grid, clip)
    # one fixed grid: counts per period, Gi* per period
    cube = np.stack([bin_points(x[pidx == k], y[pidx == k], None, grid) for k in range(n_per)])
    z = np.stack([gistar_array(c, stencil, mask)[0] for c in cube])
    p = 2 * sps.norm.sf(np.abs(z))
    valid = np.isfinite(z).all(axis=0)
    # sfhotspot: each cell's p adjusted over the periods
    p_cell = _adjust_over_periods(np.where(np.isfinite(p), p, 1.0), p_adjust)
    hot = (p_cell < alpha) & (z > 0)
    cold = (p_cell < alpha) & ~(z > 0)
    # ESRI: FDR over the cells of each period
    sig_esri = np.stack([fdr_bh(np.where(valid, pk, np.nan)) < alpha for pk in p])
    count = cube.sum(axis=0)
    shape = grid.shape
    lab_sf = np.full(shape, "no pattern", dtype=object)
    lab_es = np.full(shape, "no pattern detected", dtype=object)
    mk = np.full((3,) + shape, np.nan)
    for r, c in zip(*np.nonzero(valid), strict=True):
        zs = z[:, r, c]
        trend = mann_kendall(zs)
        mk[:, r, c] = trend.tau, trend.z, trend.p
        lab_sf[r, c] = sfhotspot_label(hot[:, r, c], cold[:, r, c], hotspot_prop,
                                       persistent_prop, recent_prop)
        lab_es[r, c] = esri_label(zs, sig_esri[:, r, c], trend, alpha)
    keep = valid & ((count > 0) | (lab_sf != "no pattern") | (lab_es != "no pattern detected"))
    out = to_gdf(
        grid,
        {
            "count": count, "n_hot": hot.sum(axis=0), "n_cold": cold.sum(axis=0),
            "z_last": z[-1], "mk_tau": mk[0], "mk_z": mk[1], "mk_p": mk[2],
            "label_sfhotspot": lab_sf, "label_esri": lab_es,
            "label": lab_sf if scheme == "sfhotspot" else lab_es,
        },
        mask=keep,
        attrs={
            "distance": float(distance), "period": str(period), "n_periods": int(n_per),
            "first_period": str(starts[0].date()), "last_period": str(starts[-1].date()),
            "scheme": scheme, "alpha": float(alpha), "p_adjust": p_adjust,
            "hotspot_prop": float(hotspot_prop), "persistent_prop": float(persistent_prop),
            "recent_prop": float(recent_prop),
        },
    )
    if not quiet:
        log.info(
            "classify_hotspots: %s%d %s periods (%s to %s), %s scheme",
            "; ".join(chosen) + "; " if chosen else "", n_per, period, starts[0].date(),
            starts[-1].date(), scheme,
        )
    return out


# --------------------------------------------------------------------------- operations
def wdd(
    treated: tuple[float, float],
    control: tuple[float, float],
    displaced: tuple[float, float] = (0, 0),
    displaced_control: tuple[float, float] = (0, 0),
    time_weight: float = 1.0,
) -> dict[str, float]:
    """Weighted displacement difference test (Wheeler & Ratcliffe 2018, Crime Science 7:7).

    Each argument is ``(before, after)`` counts. WDD = ΔT − ΔC + ΔD − ΔCd with
    Δ = after − w·before, where w = `time_weight` (length of the after period over
    the before period; 1 when equally long). Under Poisson counts
    Var(WDD) = Σ after + w² Σ before, z = WDD/√Var, p two-sided normal. Missing
    displacement areas count as (0, 0), as in Wheeler's ``ptools.wdd``.

    Returns
    -------
    dict
        ``local`` (ΔT − ΔC), ``displacement`` (ΔD − ΔCd), ``wdd``, ``se``, ``z``, ``p``.
    """
    w = float(time_weight)
    t0, t1 = (float(v) for v in treated)
    c0, c1 = (float(v) for v in control)
    d0, d1 = (float(v) for v in displaced)
    e0, e1 = (float(v) for v in displaced_control)
    local = (t1 - w * t0) - (c1 - w * c0)
    disp = (d1 - w * d0) - (e1 - w * e0)
    est = local + disp
    var = (t1 + c1 + d1 + e1) + w * w * (t0 + c0 + d0 + e0)
    se = math.sqrt(var)
    z = est / se if se > 0 else 0.0
    return {"local": local, "displacement": disp, "wdd": est, "se": se, "z": z,
            "p": float(2 * sps.norm.sf(abs(z)))}


def _pct(before: float, after: float) -> float:
    return 100.0 * (after - before) / before if before > 0 else float("nan")


@dataclass(frozen=True)
class OperationEffect:
    """Result of :func:`operation_effect`: counts, % changes, WDD and WDQ.

    ``counts`` has one row per zone (``target``, ``buffer``, ``control``) with
    ``before, after, change, change_pct``; ``sentence`` reads it out in plain English.
    """

    counts: pd.DataFrame
    wdd: float
    se: float
    z: float
    p: float
    local: float
    displacement: float
    wdq: float
    before: tuple[str, str]
    during: tuple[str, str]
    buffer_m: float
    control_desc: str
    zones: gpd.GeoDataFrame = None  # type: ignore[assignment]

    @property
    def sentence(self) -> str:
        """One plain-English summary for a briefing."""
        c = self.counts["change_pct"]
        n = self.counts[["before", "after"]].astype(int)

        def pct(zone: str) -> str:
            v = c[zone]
            if not np.isfinite(v):
                return f"went from {n.loc[zone, 'before']} to {n.loc[zone, 'after']}"
            word = "fell" if v < 0 else "rose" if v > 0 else "did not change"
            amount = f" {abs(v):.0f}%" if v else ""
            return f"{word}{amount} ({n.loc[zone, 'before']} to {n.loc[zone, 'after']})"

        verdict = (
            "a real change relative to the comparison area (p = {:.3f})"
            if self.p < 0.05 else "within what chance alone could produce (p = {:.2f})"
        ).format(self.p)
        direction = "fewer" if self.wdd < 0 else "more"
        disp = (
            "crime in the buffer moved against the comparison area's trend, so some "
            "displacement is possible"
            if self.displacement > 0
            else "there is no sign of crime being pushed into the surrounding "
            f"{self.buffer_m:.0f} m"
        )
        return (
            f"In the operation area incidents {pct('target')} between "
            f"{self.before[0]}–{self.before[1]} and {self.during[0]}–{self.during[1]}; in the "
            f"comparison area ({self.control_desc}) they {pct('control')}. Taking the "
            f"comparison area and the {self.buffer_m:.0f} m buffer into account, that is "
            f"{abs(self.wdd):.0f} {direction} incidents than expected (weighted displacement "
            f"difference), {verdict}; {disp}."
        )

    def to_frame(self) -> pd.DataFrame:
        """The counts table with the test results as ``attrs``."""
        out = self.counts.copy()
        out.attrs.update(wdd=self.wdd, se=self.se, z=self.z, p=self.p, wdq=self.wdq)
        return out


def _one_geometry(obj: Any, name: str) -> shapely.Geometry:
    if isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries):
        if obj.crs is None:
            raise BadInputError(f"{name} has no CRS; set one (e.g. .set_crs(27700))")
        geom = obj.to_crs(BNG).geometry.union_all()
    elif isinstance(obj, shapely.Geometry):
        geom = obj  # a bare shapely geometry is taken to be in BNG metres
    else:
        raise BadInputError(
            f"{name} must be a polygon or a GeoDataFrame (got {type(obj).__name__})"
        )
    if geom is None or geom.is_empty or geom.area <= 0:
        raise BadInputError(f"{name} must be a polygon with an area")
    return geom


def operation_effect(
    inc: gpd.GeoDataFrame,
    area: Any,
    start: Any,
    end: Any,
    control: Any = None,
    buffer: float | None = None,
    before: Any = None,
) -> OperationEffect:
    """Did an operation reduce crime in its area, and was crime pushed next door?

    Compares incidents before and during the operation in three zones: the
    **target** area, a **buffer** ring around it (where crime could be displaced to)
    and a **control** area (what would have happened anyway). The weighted
    displacement difference (:func:`wdd`, Wheeler & Ratcliffe 2018) tests target and
    buffer together against the control; the weighted displacement quotient
    (Bowers & Johnson 2003) says whether the buffer gained (< 0: displacement) or
    also fell (> 0: diffusion of benefits) relative to the target's gain.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents with ``occurred_at`` and/or ``month``.
    area : polygon or GeoDataFrame
        The operation's area (a bare shapely polygon is read as BNG metres).
    start, end : date
        The operation's period: from `start` up to (not including) `end`.
    control : polygon or GeoDataFrame, optional
        Comparison area. Default: the rest of the 2022 ward(s) the area lies in,
        outside the target and buffer.
    buffer : float, optional
        Width of the displacement ring, metres; default 250 m.
    before : (start, end) dates, optional
        The comparison period; default the same length immediately before `start`.
        A period of different length is weighted by the ratio of the lengths.

    Returns
    -------
    OperationEffect
        ``counts`` (target/buffer/control × before/after/change/change_pct), ``wdd,
        se, z, p, local, displacement, wdq``, the periods, ``zones`` (the three
        polygons, map-ready with a ``label`` column) and ``sentence``.
    """
    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    target = _one_geometry(area, "area")
    start, end = parse_time(start, "start"), parse_time(end, "end")
    if not start < end:
        raise BadInputError(
            f"the operation must end after it starts ({start.date()}, {end.date()})"
        )
    if before is None:
        b0, b1 = start - (end - start), start
        log.info("operation_effect: before period %s to %s (same length)", b0.date(), b1.date())
    else:
        try:
            b0, b1 = (parse_time(v, "before") for v in before)
        except (TypeError, ValueError):
            raise BadInputError("before must be a (start, end) pair of dates") from None
        if not b0 < b1 <= start:
            raise BadInputError("the before period must end by the time the operation starts")
    width = DEFAULT_BUFFER if buffer is None else check_positive(buffer, "buffer")
    ring = target.buffer(width).difference(target)
    if control is None:
        from .boundaries import wards

        w = wards()
        w = w[w.intersects(target)]
        if len(w) == 0:
            raise BadInputError("the area lies in no London ward: pass a control polygon")
        ctrl = w.geometry.union_all().difference(target.buffer(width))
        control_desc = "rest of " + ", ".join(sorted(w["ward_name"].astype(str)))
        log.info("operation_effect: control area = %s; buffer %g m", control_desc, width)
    else:
        ctrl = _one_geometry(control, "control").difference(target.buffer(width))
        control_desc = "the given control area"
    if ctrl.is_empty or ctrl.area <= 0:
        raise BadInputError("the control area is empty once the target and buffer are removed")
    t, monthly = _times(inc)
    if monthly:
        start, end = nearest_month_start(start, "start"), nearest_month_start(end, "end")
        b0, b1 = nearest_month_start(b0, "before start"), nearest_month_start(b1, "before end")
        if not (start < end and b0 < b1):
            raise BadInputError("with month-only data the periods must span at least one month")
    # a period outside the data would read as "no crime then", e.g. "0 to 63"
    d0, d1 = _span(t, monthly)
    # dated data may just have had a quiet last day, so only months are held to the end
    if b0 < d0 or start >= d1 or (monthly and end > d1):
        raise BadInputError(
            f"the periods compared ({b0.date()} to {end.date()}) must lie inside the data "
            f"({d0.date()} to {d1.date()}): pass a later start, an earlier end or `before`"
        )
    zones = gpd.GeoDataFrame(
        {"zone": ["target", "buffer", "control"]}, geometry=[target, ring, ctrl], crs=BNG
    )
    pos = _area_of_points(inc, zones)
    tv = t.to_numpy()
    in_before = (tv >= np.datetime64(b0)) & (tv < np.datetime64(b1))
    in_during = (tv >= np.datetime64(start)) & (tv < np.datetime64(end))
    n0 = np.bincount(pos[in_before & (pos >= 0)], minlength=3).astype(float)
    n1 = np.bincount(pos[in_during & (pos >= 0)], minlength=3).astype(float)
    counts = pd.DataFrame({"before": n0, "after": n1}, index=pd.Index(zones["zone"], name="zone"))
    counts["change"] = counts["after"] - counts["before"]
    counts["change_pct"] = [_pct(a, b) for a, b in zip(n0, n1, strict=True)]
    weight = _days(start, end) / _days(b0, b1)
    res = wdd(treated=(n0[0], n1[0]), control=(n0[2], n1[2]), displaced=(n0[1], n1[1]),
              time_weight=weight)
    # WDQ: buffer's change relative to control over the target's change relative to control
    with np.errstate(divide="ignore", invalid="ignore"):
        if n0[2] > 0 and n1[2] > 0:
            d_target = n1[0] / n1[2] - n0[0] / n0[2]
            d_buffer = n1[1] / n1[2] - n0[1] / n0[2]
            wdq = float(d_buffer / d_target) if d_target != 0 else float("nan")
        else:
            wdq = float("nan")
    zones["before"], zones["after"] = n0, n1
    zones["label"] = ["operation area", f"{width:.0f} m buffer", "comparison area"]
    return OperationEffect(
        counts=counts, wdd=res["wdd"], se=res["se"], z=res["z"], p=res["p"],
        local=res["local"], displacement=res["displacement"], wdq=wdq,
        before=(str(b0.date()), str(b1.date())), during=(str(start.date()), str(end.date())),
        buffer_m=float(width), control_desc=control_desc, zones=zones,
    )


# --------------------------------------------------------------------------- dual KDE
def dual_kde(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    method: str = "ratio",
    cell_size: float | None = None,
    bandwidth: float | None = None,
    kernel: str = "quartic",
    weights_b: str | None = None,
    quiet: bool = False,
    clip: Any = None,
) -> gpd.GeoDataFrame:
    """Density of layer `a` relative to layer `b` on one grid with one bandwidth.

    E.g. burglaries relative to homes (risk rather than volume), StreetSafe reports
    relative to station entries (`weights_b` = the entries column).

    Parameters
    ----------
    a, b : GeoDataFrame
        Points (any CRS). `b` is the denominator / reference layer.
    method : {"ratio", "diff", "log"}
        "ratio": density_a / density_b; "log": its natural log; "diff": share of
        `a` minus share of `b` (each density divided by its layer's total, so layers
        of different sizes compare), per km².
    cell_size : float, optional
        Metres; default from the extent of `a`. The grid covers `a` only; `b`'s
        points off the grid still count near its edge, so `b` may cover all London.
    bandwidth : float, optional
        Metres, shared by both layers; default :func:`hotspots.density.default_bandwidth`
        of layer `a` (as sfhotspot's ``hotspot_dual_kde`` takes it from `x`).
    kernel : str
        See :func:`hotspots.kde`.
    weights_b : str, optional
        Column of weights for `b` (e.g. ``entries_exits`` of
        :func:`hotspots.station_entries`, resident counts at address points).
    clip : polygon or GeoDataFrame, optional
        Study area (e.g. the borough's wards): only cells intersecting it are kept,
        and "expected" is the ratio over it. Without it, cells of `a`'s bounding box
        outside the area `a` was collected in would read "lower than expected".

    Returns
    -------
    GeoDataFrame
        ``row, col, count`` (incidents of `a`), ``count_b, density_a, density_b``
        (per km²), ``value`` (by `method`), ``label`` ("higher than expected" /
        "lower than expected" / "as expected" / "no reference" where `b`'s density is 0:
        ratio and log are NaN there, never infinite). ``attrs``: ``method,
        bandwidth, kernel, cell_size, n_no_reference``.
    """
    from .density import default_bandwidth, kde

    if method not in ("ratio", "diff", "log"):
        raise BadInputError(f"method must be 'ratio', 'diff' or 'log', got {method!r}")
    from .grid import default_cell_size

    a = check_nonempty(check_gdf(a, "layer a"), "layer a")
    b = check_nonempty(check_gdf(b, "layer b"), "layer b")
    # the grid is layer a's place: a London-wide reference layer such as every TfL
    # station must not stretch a borough's grid over all of London (b's points off the
    # grid still add to the density near its edge)
    xa, ya, _ = points_xy(a)
    cs = check_positive(cell_size, "cell_size") or default_cell_size(
        (xa.min(), ya.min(), xa.max(), ya.max()))
    if bandwidth is None:
        bandwidth = default_bandwidth(xa, ya, cs)
    bandwidth = check_positive(bandwidth, "bandwidth")
    grid = make_grid(a if clip is None else clip, cs)
    ka = kde(a, bandwidth=bandwidth, kernel=kernel, grid=grid, clip=clip, quiet=True)
    kb = kde(b, bandwidth=bandwidth, kernel=kernel, grid=grid, weights=weights_b, clip=clip,
             quiet=True)
    da, db = ka["density"].to_numpy(), kb["density"].to_numpy()
    tiny = 1e-12 * max(float(db.max()), 1e-300)  # below this the reference is absent
    has_ref = db > tiny
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has_ref, da / db, np.nan)
        if method == "ratio":
            value = ratio
        elif method == "log":
            value = np.where(has_ref & (da > 0), np.log(ratio), np.nan)
        else:
            value = da / da.sum() - db / db.sum()
    # "expected": the ratio a layer-wide average would give (total a / total b)
    overall = da.sum() / db.sum() if db.sum() > 0 else np.nan
    rel = ratio / overall
    label = np.where(~has_ref, "no reference",
                     np.where(rel > 1.5, "higher than expected",
                              np.where(rel < 1 / 1.5, "lower than expected", "as expected")))
    out = ka[["row", "col", "count"]].copy()
    out["count_b"] = kb["count"].to_numpy()
    out["density_a"], out["density_b"], out["value"], out["label"] = da, db, value, label
    out = gpd.GeoDataFrame(out, geometry=ka.geometry.array, crs=BNG)
    out = out[(da > 0) | has_ref].reset_index(drop=True)
    out.attrs.update(ka.attrs)
    out.attrs.update(method=method, bandwidth=float(bandwidth), kernel=kernel,
                     n_no_reference=int(((da > 0) & ~has_ref).sum()))
    if not quiet:
        log.info("dual_kde: %s of %d and %d points, %g m cells, bandwidth %g m",
                 method, len(a), len(b), grid.cell_size, bandwidth)
    return out


# --------------------------------------------------------------------------- trends
_LAGS = {"MS": 12, "QS": 4, "YS": 1, "W-MON": 52, "D": 364}


def trend_table(
    inc: gpd.GeoDataFrame,
    by: Any = "ward",
    freq: str = "MS",
    population: Any = None,
) -> pd.DataFrame:
    """Committee-style counts per ward or area and period, with the changes people ask about.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents; for ``by="ward"`` after :func:`hotspots.assign_wards` (else the
        2022 wards are assigned here).
    by : "ward" or GeoDataFrame
        Wards, or your own areas (keyed as in :func:`hotspot_change`).
    freq : str, default "MS"
        "MS" months, "QS" quarters, "YS" years, "W-MON" weeks, "D" days.
    population : DataFrame, Series, True or None
        Residents per ward/area (``<key>, population`` or a Series indexed by the
        key); True = GLA ward figures (:func:`hotspots.ward_population`). When given,
        ``rate_per_1000`` is added.

    Returns
    -------
    pandas.DataFrame
        One row per area and period (zero-filled): ``<key>, [ward_name], period,
        count, prev, change_prev, pct_prev, last_year, change_yoy, pct_yoy``
        (+ ``rate_per_1000``). "Last year" is the same period 12 months (52 weeks,
        364 days) earlier; NaN where the data do not reach back. % changes are NaN
        when the earlier count is 0.
    """
    pfreq, _ = period_freq(freq)
    f = "W-MON" if str(freq).upper().startswith("W") else str(freq).upper()
    if isinstance(by, str) and by == "ward":
        from .join import ward_counts

        if "ward_code" not in inc.columns:
            from .boundaries import wards
            from .join import assign_wards

            inc = assign_wards(check_gdf(inc, "incidents"), wards())
        pop_arg = None if population is None or population is True else population
        tab = ward_counts(inc, freq=freq, by=None, rates=population is not None,
                          population=pop_arg)
        key = "ward_code"
    else:
        inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
        areas, key = _resolve_areas(by, inc)
        pos = _area_of_points(inc, areas)
        t, _ = _times(inc)
        per = t.dt.to_period(pfreq)
        ok = (pos >= 0) & per.notna().to_numpy()
        df = pd.DataFrame({key: areas[key].to_numpy()[pos[ok]], "period": per[ok].to_numpy()})
        periods = pd.period_range(per.min(), per.max(), freq=pfreq)
        full = pd.MultiIndex.from_product([areas[key], periods], names=[key, "period"])
        tab = df.groupby([key, "period"]).size().reindex(full, fill_value=0).rename("count")
        tab = tab.reset_index()
        tab["period"] = tab["period"].dt.start_time
        if population is not None:
            if isinstance(population, pd.Series):
                pop = population
            elif isinstance(population, pd.DataFrame) and {key, "population"} <= set(
                    population.columns):
                pop = population.set_index(key)["population"]
            else:
                raise BadInputError(
                    f"population for your own areas must be a Series indexed by {key} or a "
                    f"table with columns {key}, population (GLA figures exist for wards only)"
                )
            tab["rate_per_1000"] = 1000.0 * tab["count"] / tab[key].map(pop)
    tab = tab.sort_values([key, "period"]).reset_index(drop=True)
    g = tab.groupby(key, sort=False)["count"]
    tab["prev"] = g.shift(1)
    tab["change_prev"] = tab["count"] - tab["prev"]
    lag = _LAGS.get(f, 1)
    tab["last_year"] = g.shift(lag)
    tab["change_yoy"] = tab["count"] - tab["last_year"]
    with np.errstate(divide="ignore", invalid="ignore"):
        for col, ref in (("pct_prev", "prev"), ("pct_yoy", "last_year")):
            tab[col] = np.where(tab[ref] > 0, 100.0 * (tab["count"] - tab[ref]) / tab[ref], np.nan)
    cols = [c for c in (key, "ward_name", "period", "count", "prev", "change_prev", "pct_prev",
                        "last_year", "change_yoy", "pct_yoy", "rate_per_1000") if c in tab.columns]
    out = tab[cols].copy()
    out.attrs.update(freq=str(freq), by="ward" if key == "ward_code" else key, yoy_lag=lag)
    return out
