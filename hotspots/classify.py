"""Emerging hot spots: how each grid cell's hot/cold-spot status changed over time.

- :func:`classify_hotspots`: Gi* on one fixed grid for every period, then a label
  per cell, either sfhotspot's ``hotspot_classify`` scheme (default) or ArcGIS
  Emerging Hot Spot Analysis's Mann-Kendall categories.
- :func:`sfhotspot_label`, :func:`esri_label`: the two schemes' rules for one cell.
- :func:`mann_kendall`: the Mann-Kendall trend test (S, tau-b, z, p).
"""

from __future__ import annotations

import logging
import math
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats as sps

from ._errors import BadInputError
from ._time import period_freq
from ._validate import check_gdf, check_nonempty, check_positive
from .change import incident_times_of
from .grid import bin_points, clip_mask, make_grid, points_xy, to_gdf
from .privacy import mark_anonymous
from .stats import fdr_bh, gistar_array, neighbourhood

__all__ = [
    "ESRI_LABELS",
    "ESRI_MOST",
    "SFHOTSPOT_LABELS",
    "MannKendall",
    "classify_hotspots",
    "esri_label",
    "mann_kendall",
    "sfhotspot_label",
]

log = logging.getLogger("hotspots")

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


# --------------------------------------------------------------------------- classify
def _period_index(
    t: pd.Series, freq: str, *, monthly: bool
) -> tuple[np.ndarray, pd.DatetimeIndex, str]:
    """Period number of each incident (-1 when undated) and the start of every period."""
    pfreq, daily = period_freq(freq)
    if daily and monthly:
        raise BadInputError(
            f"freq={freq!r} needs the day of each incident, but these incidents only carry "
            "a month (police.uk publishes month only); use freq='MS'"
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
    """The sfhotspot ``hotspot_classify`` label of one cell's significant hot/cold periods.

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


def classify_hotspots(  # noqa: PLR0913 (sfhotspot's and ArcGIS's documented parameters)
    inc: gpd.GeoDataFrame,
    *,
    freq: str = "MS",
    cell_size: float | None = None,
    scheme: str = "sfhotspot",
    distance: float | None = None,
    alpha: float = 0.05,
    hotspot_prop: float = 0.1,
    persistent_prop: float = 0.8,
    recent_prop: float = 0.2,
    p_adjust: str = "holm",
    clip: Any = None,
    grid: Any = None,
    quiet: bool = False,
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
    freq : str, default "MS"
        Length of a period: "MS" months, "QS" quarters, "YS" years, "W"/"W-MON" weeks
        starting Monday, "D" days (weeks and days need ``occurred_at``).
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
        ``cell_size, distance, freq, n_periods, first_period, last_period, scheme,
        alpha, p_adjust, hotspot_prop, persistent_prop, recent_prop``.

    Notes
    -----
    sfhotspot (Ashby) is followed except that "recent" means exactly the last
    ``floor(recent_prop · n)`` periods: sfhotspot's code also counts the period
    before them when measuring the recent share. ArcGIS computes a space-time Gi*
    (neighbouring periods included); here Gi* is spatial, one period at a time.
    """
    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    if scheme not in ("sfhotspot", "esri"):
        raise BadInputError(f"scheme must be 'sfhotspot' or 'esri', got {scheme!r}")
    if not 0 < alpha < 1:
        raise BadInputError(f"alpha must be between 0 and 1, got {alpha}")
    for name, v in (("hotspot_prop", hotspot_prop), ("persistent_prop", persistent_prop),
                    ("recent_prop", recent_prop)):
        if not 0 < v < 1:
            raise BadInputError(f"{name} must be between 0 and 1, got {v}")
    t, monthly = incident_times_of(inc)
    pidx, starts, _ = _period_index(t, freq, monthly=monthly)
    n_per = len(starts)
    if n_per < 3:
        raise BadInputError(
            f"only {n_per} {freq} period(s) in the data: classification needs at least 3; "
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
            "distance": float(distance), "freq": str(freq), "n_periods": int(n_per),
            "first_period": str(starts[0].date()), "last_period": str(starts[-1].date()),
            "scheme": scheme, "alpha": float(alpha), "p_adjust": p_adjust,
            "hotspot_prop": float(hotspot_prop), "persistent_prop": float(persistent_prop),
            "recent_prop": float(recent_prop),
        },
    )
    if not quiet:
        log.info(
            "classify_hotspots: %s%d %s periods (%s to %s), %s scheme",
            "; ".join(chosen) + "; " if chosen else "", n_per, freq, starts[0].date(),
            starts[-1].date(), scheme,
        )
    return mark_anonymous(out, inc)  # writers blank small counts of anonymous reports


