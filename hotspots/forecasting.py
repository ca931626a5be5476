"""Where will incidents be next period? Grid forecasts, chosen by a rolling backtest.

``forecast`` bins the incidents into a cell x period array once (``np.bincount``),
scores every cell with a named method fitted on the past only, and returns one row
per cell of the study area with ``risk``, the expected incidents in that cell next
period. ``method="auto"`` backtests a small set of candidates on the user's own
history (rolling origin: each past period is forecast from the periods before it)
and keeps the default unless a challenger beats it clearly.

Methods (each a named option; parameters in months, scaled for weekly periods):

- ``counts``: incidents in the last ``window`` months (the spreadsheet answer).
- ``decayed``: every past month weighted ``0.5 ** (age / half_life)``, within
  ``window`` months (``None``: all history). Age 0 is the last month seen.
- ``stkde``: prospective space-time KDE (Bowers, Johnson & Pease 2004, "Prospective
  hot-spotting", *British Journal of Criminology* 44:641-658): each incident adds
  ``1/(1 + d/cell) * 1/(1 + age)`` to every cell within ``bandwidth`` metres, for the
  last ``window`` months.
- ``blend``: decayed counts plus ``alpha`` times the quartic-weighted mean of the
  neighbours within ``radius`` metres. police.uk snaps crimes to anonymous map points
  that recur, so a cell's own count stays dominant and the kernel is light.
- ``near_repeat``: decayed counts plus ``beta`` times the neighbours' incidents of
  the last ``recent`` months (burglary's near-repeat risk: Townsley, Homel & Chaseling
  2003; Bowers & Johnson 2004).

Scoring is the Predictive Accuracy Index at an exactly equal flagged area for every
method (see :func:`flag_cells`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _fft
from ._errors import BadInputError
from ._validate import BNG, check_gdf, check_nonempty
from .forecast_area import _hull_points, study_area_of
from .grid import Grid, cell_polygons, default_cell_size, make_grid
from .privacy import mark_anonymous

__all__ = [
    "CANDIDATES",
    "DEFAULT",
    "METHODS",
    "MIN_GAIN",
    "SE_MARGIN",
    "SEED",
    "SHORT_CANDIDATES",
    "auto_folds",
    "build_history",
    "candidates",
    "choose",
    "flag_cells",
    "forecast",
    "forecast_frame",
    "History",
    "incident_periods",
    "method_label",
    "method_scores",
    "pai_matrix",
    "period_code",
    "resolve",
    "select_method",
    "study_area_geometry",
    "study_area_of",
]

log = logging.getLogger("hotspots")

METHODS = ("counts", "decayed", "stkde", "blend", "near_repeat")
#: the method auto keeps unless a challenger clearly beats it
DEFAULT: tuple[str, dict[str, Any]] = ("decayed", {"half_life": 12, "window": None})
#: what ``method="auto"`` backtests (parameters in months and metres)
CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    DEFAULT,
    ("decayed", {"half_life": 6, "window": None}),
    ("decayed", {"half_life": 24, "window": None}),
    ("decayed", {"half_life": 12, "window": 24}),
    ("counts", {"window": 12}),
    ("blend", {"half_life": 12, "alpha": 0.5, "radius": 200}),
    ("blend", {"half_life": 12, "alpha": 1.0, "radius": 400}),
    ("blend", {"half_life": 12, "alpha": 2.0, "radius": 600}),
    ("stkde", {"bandwidth": 400, "window": 2}),
    ("near_repeat", {"half_life": 12, "beta": 1.0, "radius": 200, "recent": 2}),
)
#: added for weekly or daily periods, where a hotspot can rise within weeks
SHORT_CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("decayed", {"half_life": 1, "window": None}),
    ("decayed", {"half_life": 3, "window": None}),
    ("blend", {"half_life": 1, "alpha": 1.0, "radius": 400}),
)
_PARAMS = {
    "counts": {"window": 12},
    "decayed": {"half_life": 12, "window": None},
    "stkde": {"bandwidth": 400, "window": 2},
    "blend": {"half_life": 12, "window": None, "alpha": 1.0, "radius": 400},
    "near_repeat": {"half_life": 12, "window": None, "beta": 1.0, "radius": 200, "recent": 2},
}
#: auto's rolling backtest: at most this many past periods as folds, at least MIN_FOLDS
MAX_FOLDS, MIN_FOLDS = 36, 3
#: a challenger replaces the default only when its mean PAI gain over the folds exceeds
#: this many standard errors of the paired gain (fold-to-fold noise)
SE_MARGIN = 1.5
#: ... and by at least this share of the default's mean PAI (methods ranking the cells
#: almost alike have tiny gains with tinier standard errors: not worth a switch)
MIN_GAIN = 0.01
#: threads of each FFT (scipy.fft splits the folds between them; the same values)
_FFT_WORKERS = -1
SEED = 0
_FREQ = {"MS": "M", "M": "M", "ME": "M", "W": "W-SUN", "W-MON": "W-SUN", "D": "D"}
_PER_MONTH = {"M": 1.0, "W-SUN": 52.1775 / 12, "D": 365.2425 / 12}


# --- history: cells x periods ---------------------------------------------------------


@dataclass(frozen=True)
class History:
    """Incidents binned once: ``counts[t]`` is period t's count per cell.

    Attributes
    ----------
    grid : Grid
    study_area : shapely geometry (BNG)
    cell_area : ndarray, grid.shape
        Area of each cell inside the study area, m² (0: cell outside).
    counts : ndarray, (T, nrows, ncols)
        Incidents per period and cell (incidents outside the study area dropped).
    periods : pandas.PeriodIndex
        The T consecutive periods, oldest first (empty periods included).
    per_month : float
        Periods per month (1 monthly, ~4.35 weekly): scales parameters given in months.
    """

    grid: Grid
    study_area: Any
    cell_area: np.ndarray
    counts: np.ndarray
    periods: pd.PeriodIndex
    per_month: float

    @property
    def inside(self) -> np.ndarray:
        """Cells with some area inside the study area."""
        return self.cell_area > 0

    @cached_property
    def ties(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cells inside (flat, row-major), their places in tie order, and back; kept.

        Returns (cells, place, by_tie): ``place[j]`` is cell j's place in tie order,
        ``by_tie`` the cells' positions in tie order (``place``'s inverse). Tie order
        is :meth:`tie_key`'s. Made without a sort: the keys are a permutation, so
        marking them and listing the marks orders them.
        """
        cells = np.flatnonzero(self.cell_area.ravel() > 0)
        key = self.tie_key()[cells]
        at = np.zeros(self.cell_area.size, np.int64)
        at[key] = np.arange(len(cells))  # each key's position among the cells
        mark = np.zeros(self.cell_area.size, bool)
        mark[key] = True
        by_tie = at[np.flatnonzero(mark)]
        place = np.empty(len(cells), np.int64)
        place[by_tie] = np.arange(len(cells))
        for a in (cells, place, by_tie):
            a.setflags(write=False)
        return cells, place, by_tie

    def tie_key(self) -> np.ndarray:
        """Fixed random order of the cells (flat): breaks ties in scores reproducibly."""
        return np.random.default_rng(SEED).permutation(self.cell_area.size)


def study_area_geometry(study_area: Any, inc: gpd.GeoDataFrame, *,
                        distinct: tuple | None = None) -> shapely.Geometry:
    """Return the study area as one BNG geometry.

    A polygon, a boroughs/wards frame, or (None) the London borough(s) holding >= 5%
    of the incidents' points, else their hull. ``distinct`` = (uxy, inverse) of the
    incidents' coordinates, when known (saves collapsing them again).
    """
    if study_area is None:
        try:
            return study_area_of(inc, uxy=None if distinct is None else distinct[0])
        except BadInputError:
            from .clusters import _hull_candidates, point_xy

            pts = _hull_candidates(point_xy(inc)) if distinct is None \
                else _hull_points(*distinct)
            return shapely.buffer(shapely.convex_hull(shapely.multipoints(pts)), 50.0)
    if isinstance(study_area, gpd.GeoDataFrame | gpd.GeoSeries):
        s = study_area.to_crs(BNG) if study_area.crs and study_area.crs.to_epsg() != 27700 \
            else study_area
        if len(s) == 0:
            raise BadInputError("study_area is empty")
        return shapely.union_all(s.geometry.array)
    if isinstance(study_area, shapely.Geometry) and not study_area.is_empty:
        return study_area
    raise BadInputError("study_area must be a polygon or a GeoDataFrame of areas (BNG)")


@lru_cache(maxsize=16)
def _cell_area(wkb: bytes, grid: Grid) -> np.ndarray:
    """Area (m²) of each cell inside the study area; cached (backtests call it often)."""
    sa = shapely.from_wkb(wkb)
    # cells the boundary crosses are clipped one by one; the others are whole, inside
    # or outside as their centre is (5x faster than intersecting every cell)
    edge = shapely.boundary(sa)
    shapely.prepare(edge)
    near = _near_edge(edge, grid)  # only these cells can touch the boundary
    on = np.zeros(grid.nrows * grid.ncols, bool)
    keep = np.zeros(grid.shape, bool)
    keep.ravel()[near] = True
    on[near] = shapely.intersects(edge, cell_polygons(grid, keep))
    out = np.where(~on & _centres_inside(sa, edge, grid).ravel(), grid.cell_size**2, 0.0)
    b = shapely.bounds(cell_polygons(grid, on.reshape(grid.shape)))
    try:  # clip_by_rect's ufunc takes one rectangle per cell (its wrapper only one)
        clips = shapely.lib.clip_by_rect(np.full(len(b), sa, dtype=object), *b.T)
    except (AttributeError, TypeError, ValueError):
        clips = [shapely.clip_by_rect(sa, *r) for r in b]
    out[on] = shapely.area(clips)
    out.setflags(write=False)
    return out.reshape(grid.shape)


def _centres_inside(sa: shapely.Geometry, edge: shapely.Geometry, grid: Grid) -> np.ndarray:
    """Per cell (``grid.shape``): is its centre inside ``sa``? Exact away from ``edge``.

    A valid (multi)polygon's centres by a scanline fill: each row's centre line
    crosses the boundary ``edge`` (``sa``'s rings) where an odd count of crossings
    to the west means inside (holes and parts included). A centre not in a cell
    that ``edge`` touches is at least half a cell from every crossing, so its answer
    is GEOS ``contains_xy``'s; the others may differ (the caller clips those cells).
    Anything else: ``contains_xy`` of every centre (~25 ms for London's 251k cells;
    this ~2 ms).
    """
    if shapely.get_type_id(sa) not in (3, 6) or not shapely.is_valid(sa):
        xc, yc = grid.centres()
        return shapely.contains_xy(sa, xc, yc)
    xy, part = shapely.get_coordinates(shapely.get_parts(edge), return_index=True)
    seg = np.flatnonzero(part[1:] == part[:-1])  # segment k: vertex k to k + 1
    xa, ya, xb, yb = xy[seg, 0], xy[seg, 1], xy[seg + 1, 0], xy[seg + 1, 1]
    lo, hi = np.minimum(ya, yb), np.maximum(ya, yb)
    cs, yc = grid.cell_size, grid.ycentres()  # (row 0 north: centres falling)
    # each segment's candidate rows (a row more each side), then the exact half-open
    # test lo <= y < hi: a vertex on a centre line counts once
    r0 = np.clip(np.floor((grid.y1 - hi) / cs - 0.5).astype(np.int64) - 1, 0, grid.nrows)
    r1 = np.clip(np.ceil((grid.y1 - lo) / cs - 0.5).astype(np.int64) + 2, 0, grid.nrows)
    k = np.maximum(r1 - r0, 0)
    s = np.repeat(np.arange(len(seg)), k)
    row = np.repeat(r0 - np.cumsum(k) + k, k) + np.arange(k.sum())
    y = yc[row]
    ok = (lo[s] <= y) & (y < hi[s])
    s, row, y = s[ok], row[ok], y[ok]
    x = xa[s] + (y - ya[s]) * (xb[s] - xa[s]) / (yb[s] - ya[s])
    # the first column whose centre lies east of the crossing: from there on, flipped
    col = np.clip(np.floor((x - grid.x0) / cs - 0.5).astype(np.int64) + 1, 0, grid.ncols)
    flips = np.bincount(row * (grid.ncols + 1) + col, minlength=grid.nrows * (grid.ncols + 1))
    odd = np.cumsum(flips.reshape(grid.nrows, grid.ncols + 1), axis=1)[:, :-1] & 1
    return odd.astype(bool)


def _near_edge(edge: shapely.Geometry, grid: Grid) -> np.ndarray:
    """Flat indices (sorted) of the cells a boundary ``edge`` may touch.

    The cells within one cell of a vertex of ``edge`` segmentized to the cell size:
    a piece at most a cell long only reaches the cells next to its ends' cells.
    """
    xy = shapely.get_coordinates(shapely.segmentize(edge, grid.cell_size))
    row, col = grid.cell_index(xy[:, 0], xy[:, 1])
    dr, dc = np.divmod(np.arange(9), 3)
    r = (row[:, None] + dr - 1).ravel()
    c = (col[:, None] + dc - 1).ravel()
    ok = (r >= 0) & (r < grid.nrows) & (c >= 0) & (c < grid.ncols)
    return np.unique(r[ok] * grid.ncols + c[ok])


def period_code(freq: str) -> str:
    """The pandas period code for a user's ``freq`` ("MS", "W-MON", "D")."""
    code = _FREQ.get(str(freq).upper() if str(freq).upper() in _FREQ else str(freq))
    if code is None:
        raise BadInputError(f"freq must be one of {sorted(_FREQ)}, got {freq!r}")
    return code


def incident_periods(inc: gpd.GeoDataFrame, freq: str) -> pd.PeriodIndex:
    """Each incident's period: its ``occurred_at`` (else ``month``) in ``freq`` periods."""
    from ._time import incident_times, month_only

    code = period_code(freq)
    if code != "M" and month_only(inc):
        raise BadInputError(
            f"freq={freq!r} needs incident dates, but these incidents carry a month only "
            "(police.uk): use freq='MS'"
        )
    t = incident_times(inc)
    if t.isna().any():
        raise BadInputError(f"{int(t.isna().sum())} incidents have no date; drop them first")
    if code == "M" and isinstance(t.dtype, np.dtype) and t.dtype.kind == "M":
        # numpy's datetime64[M] counts months since 1970-01: pandas' monthly ordinal
        return pd.PeriodIndex.from_ordinals(_month_ordinals(t.to_numpy()), freq="M")
    return pd.PeriodIndex(t.dt.to_period(code))


def _month_ordinals(t: np.ndarray) -> np.ndarray:
    """``t.astype("datetime64[M]")`` as int64 (months since 1970-01) of datetime64 ``t``.

    numpy's cast to months works out the calendar per value (~35 ms for London's
    849k crimes); days are a plain division, and the few days spanned are cast
    once, as a table (the month of an instant is its day's).
    """
    days = t.astype("datetime64[D]").view(np.int64)
    lo, hi = (int(days.min()), int(days.max())) if len(days) else (0, -1)
    if hi - lo > 1_000_000:  # (over ~2,700 years: the cast per value)
        return t.astype("datetime64[M]").astype(np.int64)
    table = np.arange(lo, hi + 1).astype("datetime64[D]").astype("datetime64[M]")
    return table.astype(np.int64)[days - lo]


def build_history(
    inc: gpd.GeoDataFrame, study_area: Any = None, cell_size: float | None = None,
    freq: str = "MS", end: Any = None, weights: Any = None, *,
    distinct: tuple[np.ndarray, np.ndarray] | None = None,
) -> History:
    """Bin incidents into a cell x period array on a grid over the study area.

    ``end`` (a period or date) extends the series with empty periods up to it, so a
    forecast is for the period after ``end``; default the last incident's period.
    ``weights`` (a column name or one number per incident) are summed instead of
    counting each incident once. ``distinct`` = (uxy, inverse) of the incidents'
    coordinates (:func:`hotspots.clusters.collapse`), when known: each distinct
    point is then placed once (police.uk London: 96k points for 849k crimes).
    """
    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    sa = study_area_geometry(study_area, inc, distinct=distinct)
    grid = make_grid(sa, cell_size or default_cell_size(sa))
    # the cells' areas (GEOS, which releases the GIL) in a second thread meanwhile
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cell-area") as pool:
        area = pool.submit(_cell_area, shapely.to_wkb(sa), grid)
        counts, periods, per = _bin_history(inc, sa, grid, freq, end, weights, distinct)
        area = area.result()
    return History(grid, sa, area, counts, periods,
                   _PER_MONTH[per.freqstr if per.freqstr in _PER_MONTH else "M"])


def _bin_history(inc: gpd.GeoDataFrame, sa: Any, grid: Grid, freq: str, end: Any,
                 weights: Any, distinct: tuple | None
                 ) -> tuple[np.ndarray, pd.PeriodIndex, pd.PeriodIndex]:
    """:func:`build_history`'s counts (periods x cells), the periods, each incident's."""
    per = incident_periods(inc, freq)
    if distinct is None:
        xy = shapely.get_coordinates(inc.geometry.array)
        if len(xy) != len(inc):
            raise BadInputError(
                "incidents must be points with a location (drop empty ones first)")
        inv = None
    else:
        xy, inv = distinct
    row, col = grid.cell_index(xy[:, 0], xy[:, 1])
    ok = (row >= 0) & (row < grid.nrows) & (col >= 0) & (col < grid.ncols)
    shapely.prepare(sa)
    ok[ok] = shapely.intersects_xy(sa, xy[ok, 0], xy[ok, 1])
    # the cells holding a point numbered compactly (London 2022: 55k of 252k): the counts
    # are made for those only, then put in place (no full-size int array to convert)
    ncell = grid.nrows * grid.ncols
    cell = np.where(ok, row * grid.ncols + col, 0)
    mark = np.zeros(ncell, bool)
    mark[cell[ok]] = True
    used = np.flatnonzero(mark)
    # each point's compact cell (-1: outside), then each incident's: one gather from
    # the distinct points, not one per array
    cell = np.where(ok, (np.cumsum(mark) - 1)[cell], -1)
    if inv is not None:
        cell = cell[inv]
    ok = cell >= 0
    if not ok.any():
        raise BadInputError("no incident lies in the study area")
    code = per.asi8  # the periods' ordinals (one pass, not a PeriodIndex per use)
    big = np.iinfo(np.int64).max
    first = pd.Period(ordinal=int(code.min(where=ok, initial=big)), freq=per.freq)
    last = pd.Period(ordinal=int(code.max(where=ok, initial=-big)), freq=per.freq)
    last = last if end is None else max(last, pd.Period(end, per.freq))
    periods = pd.period_range(first, last, freq=per.freq)
    flat = (code - first.ordinal) * len(used)
    flat += cell
    w = None
    if weights is not None:
        w = (inc[weights].to_numpy(float) if isinstance(weights, str)
             else np.asarray(weights, float))
        if w.shape != (len(inc),) or not np.isfinite(w).all():
            raise BadInputError("weights must be one finite number per incident")
    if not ok.all():  # (a study area holding every incident needs no copy)
        flat = flat[ok]
        w = None if w is None else w[ok]
    some = np.bincount(flat, weights=w, minlength=len(periods) * len(used))
    counts = np.zeros((len(periods), ncell))
    counts[:, used] = some.reshape(len(periods), len(used))
    return counts.reshape(len(periods), *grid.shape), periods, per


# --- methods --------------------------------------------------------------------------


def method_label(name: str, params: dict[str, Any]) -> str:
    """``decayed(half_life=12, window=None)``: a method and its parameters in one string."""
    return f"{name}(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"


def resolve(method: str, params: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """A method name and its full parameters (defaults filled in); checks both."""
    if method not in METHODS:
        raise BadInputError(f"method must be 'auto' or one of {METHODS}, got {method!r}")
    full = dict(_PARAMS[method])
    bad = sorted(set(params or {}) - set(full))
    if bad:
        raise BadInputError(f"{method} has no parameter(s) {bad}; it takes {sorted(full)}")
    full.update(params or {})
    return method, full


def _periods(months: float | None, per_month: float) -> int | None:
    """A length in months as a whole number of periods (at least 1); None stays None."""
    return None if months is None else max(1, int(round(float(months) * per_month)))


def _decayed(c: np.ndarray, folds: np.ndarray, half_life: float | None,
             window: int | None, out: np.ndarray | None = None) -> np.ndarray:
    """Per fold u: sum over past periods of 0.5**(age / half_life) * c[u - 1 - age].

    ``half_life`` and ``window`` in periods (None: no decay / all history). Fold u
    reads ``c[:u]`` only. Element by element, lag by lag, for every fold at once: the
    same arithmetic for every cell, so cells with equal histories score equal.
    ``out``: the (folds, ...) array (or view) to write into.
    """
    r = 0.5 ** (1.0 / half_life) if half_life else 1.0
    folds = np.asarray(folds, dtype=np.int64)
    if out is None:
        out = np.empty((len(folds), *c.shape[1:]))
    if window is None or (len(folds) and window >= folds.max()):
        # all history (a window longer than every fold's past is all of it):
        # one pass, D(u) = r * D(u-1) + c[u-1], each fold's slice carried on from the
        # last one (no running copy to copy out)
        src, u = None, 0  # D(u) lives in src (None: not yet started)
        for i in np.argsort(folds, kind="stable"):
            dst = out[i]
            if src is None:
                dst[...] = 0.0
            elif u == folds[i] and src is not dst:
                dst[...] = src
            while u < folds[i]:
                if src is not None and src is not dst:  # r * D into the next slice
                    np.multiply(src, r, out=dst)  # (x * 1.0 is x: a copy would do)
                elif r != 1.0:
                    dst *= r  # the same two roundings as r * d + c[u]
                dst += c[u]
                src, u = dst, u + 1
            src = dst
        return out
    tmp = np.empty(c.shape[1:])
    for i, f in enumerate(folds):  # fold by fold, lag by lag: no fold-sized temporaries
        out[i] = 0.0
        for age in range(min(window, f)):
            coef = r**age
            if coef == 1.0:  # (1.0 * x is x)
                out[i] += c[f - 1 - age]
            else:
                np.multiply(coef, c[f - 1 - age], out=tmp)
                out[i] += tmp
    return out


def _kernel(radius: float, cell: float, kind: str, *, own: bool) -> np.ndarray:
    """Square kernel of the cells within ``radius`` metres.

    Quartic (1 - (d/r)²)² or Bowers' inverse distance 1/(1 + d/cell); without the own
    cell (``own=False``) it is normalised to sum 1 (the neighbours' weighted mean).
    """
    k = max(1, int(np.ceil(radius / cell)))
    yy, xx = np.mgrid[-k:k + 1, -k:k + 1] * cell
    d = np.hypot(xx, yy)
    w = (np.clip(1 - (d / radius) ** 2, 0, None) ** 2 if kind == "quartic"
         else np.where(d <= radius, 1 / (1 + d / cell), 0.0))
    if not own:
        w[k, k] = 0.0
        total = w.sum()  # 0 when the radius reaches no neighbour's centre
        w = w / total if total > 0 else w
    return w


def _smooth(a: np.ndarray | Callable[[np.ndarray], Any], kern: np.ndarray,
            cache: dict | None = None, key: Any = None, *, cells: np.ndarray | None = None,
            shape: tuple[int, int, int] | None = None) -> np.ndarray:
    """Each (rows, cols) slice of ``a`` convolved with ``kern`` (zero outside the grid).

    By FFT (50x faster than direct for 600 m kernels on 100 m cells), rounded to 1e-9
    so FFT noise never separates cells whose exact sums tie (they keep the seeded
    random order).

    Parameters
    ----------
    a : ndarray (k, rows, cols), or a function filling such an array given to it
        The function (with ``shape``) writes straight into the transform's input:
        no copy, and nothing to fill when the transform is already in ``cache``.
    kern : ndarray
        The kernel (odd square, centre over the cell).
    cache : dict, optional
        Keeps ``a``'s transform under ``key``, shared by every kernel up to 13 cells
        wide (the blends smooth one array thrice), and the scratch arrays every call
        with this cache reuses (fresh memory is dear: page faults).
    key : hashable, optional
    cells : ndarray, optional
        Flat cell indices (or a boolean grid mask): the result at these cells only,
        (k, number of cells) (the grid's result then lives in a scratch array).
    shape : tuple, optional
        ``a``'s shape, when ``a`` is a function.

    Returns
    -------
    ndarray (k, rows, cols), or (k, number of cells); a fresh array.
    """
    k, rows, cols = a.shape if shape is None else shape
    half = max(kern.shape[0] // 2, 6)  # one transform size for kernels up to 13 x 13
    fshape = (_fft.fast_len(rows + 2 * half), _fft.fast_len(cols + 2 * half))
    buf = {} if cache is None else cache
    ck = ("fft", key, fshape)
    keep = cache is not None and key is not None
    spec = cache.get(ck) if keep else None
    if spec is None:
        spec = _fft.rfft2(a, (k, rows, cols), fshape, buf, keep=keep,
                          workers=_FFT_WORKERS)
        if keep:
            cache[ck] = spec
    kspec = _fft.kernel_spectrum(kern.tobytes(), kern.shape, fshape)
    if keep:  # the kept transform stays: the product goes into a scratch array
        prod = np.multiply(spec, kspec, out=_fft.scratch(buf, "prod", spec.shape, complex))
    else:
        prod = spec
        prod *= kspec
    # the "same" part: the kernel's centre over each cell
    kh, kw = kern.shape
    full, fct = _fft.irfft2_rows(prod, fshape, kh // 2, rows,
                                 None if cells is None else buf, workers=_FFT_WORKERS)
    out = full[:, :, kw // 2: kw // 2 + cols]
    if cells is not None:  # scaled and rounded element by element: at the cells only
        out = _gather(out, cells)  # (the same values, fewer elements)
    if fct != 1.0:
        out *= fct
    return np.round(out, 9, out=out)


def _dec_key(h: int | None, w: int | None, folds: np.ndarray) -> tuple:
    """The decayed counts' cache key.

    A window longer than any fold's past is all history (the same array, shared).
    """
    return (h, None if w is not None and len(folds) and w >= np.max(folds) else w)


def _dec_keys(hist: History, name: str, p: dict[str, Any], folds: np.ndarray) -> list:
    """The decayed counts ``method_scores(..., cells=...)`` keeps in its cache for a method.

    The method's own decayed counts at the cells (keys ``("cells", h, w)``); the
    whole grid's that it smooths go straight into the transform, not into the cache.
    """
    if name == "stkde":
        return []
    hl = None if name == "counts" else _periods(p["half_life"], hist.per_month)
    return [("cells", *_dec_key(hl, _periods(p["window"], hist.per_month), folds))]


def method_scores(hist: History, name: str, params: dict[str, Any],  # noqa: PLR0913
                  # (the method, its folds, a cache and the cells wanted)
                  folds: Any, cache: dict | None = None,
                  cells: np.ndarray | None = None) -> np.ndarray:
    """Cell scores of a method for each fold u (forecast of period u from periods < u).

    Returns an array (len(folds), nrows, ncols); fold u reads ``hist.counts[:u]`` only.
    ``cache`` (a dict kept for one set of folds) shares decayed counts between methods.
    ``cells`` (flat cell indices, or a boolean grid mask: its cells in row-major
    order): the scores of those cells only, (len(folds), number of cells), the same
    values: decayed counts are made from those cells' own counts (the same
    arithmetic, cell by cell), smoothed scores read at them.
    """
    cache = {} if cache is None else cache

    def dec(h: int | None, w: int | None, at: np.ndarray | None = None) -> np.ndarray:
        key = _dec_key(h, w, folds)
        if at is not None:
            key = ("cells", *key)
            if ("cells",) not in cache:  # the cells' counts, gathered once
                cache[("cells",)] = _gather(c, at)
        if key not in cache:
            cache[key] = _decayed(c if at is None else cache[("cells",)], folds, *key[-2:])
        return cache[key]

    folds = np.asarray(folds, dtype=np.int64)
    c = hist.counts[: int(folds.max())] if len(folds) else hist.counts[:0]
    pm, cell = hist.per_month, hist.grid.cell_size
    p = params
    if name == "stkde":
        w = _periods(p["window"], pm)
        ages = np.arange(w) / pm  # months since each past period

        def fill(out: np.ndarray) -> None:  # (straight into the transform's input)
            out[...] = 0.0
            tmp = np.empty(c.shape[1:])
            for age in range(w):  # lag by lag, fold by fold (no fold-sized temporaries)
                for i in np.flatnonzero(folds - 1 - age >= 0):
                    np.multiply(1 / (1 + ages[age]), c[folds[i] - 1 - age], out=tmp)
                    out[i] += tmp

        return _smooth(fill, _kernel(p["bandwidth"], cell, "inverse", own=True), cache,
                       cells=cells, shape=(len(folds), *c.shape[1:]))
    hl = None if name == "counts" else _periods(p["half_life"], pm)
    win = _periods(p["window"], pm)
    d = dec(hl, win, cells)
    if name in ("counts", "decayed"):
        return d
    # blend: d + alpha * smooth(d); near_repeat: d + beta * smooth(recent counts)
    src = (hl, win) if name == "blend" else (None, _periods(p["recent"], pm))
    kern = _kernel(p["radius"], cell, "quartic", own=False)
    # only the blends share a transform (of their decayed counts): near_repeat's stays
    # in the scratch arrays
    key = ("dec", *src) if name == "blend" else None
    if cells is None:
        sm = _smooth(dec(*src), kern, cache, key)
    else:  # the grid's counts to smooth go straight into the transform's input (once)
        sm = _smooth(lambda out: _decayed(c, folds, *_dec_key(*src, folds), out), kern,
                     cache, key, cells=cells, shape=(len(folds), *c.shape[1:]))
    sm *= p["alpha" if name == "blend" else "beta"]  # in place (a fresh array): no
    sm += d  # temporaries
    return sm


# --- equal-area flagging and PAI ------------------------------------------------------


def flag_cells(score: np.ndarray, cell_area: np.ndarray, budget: float,
               tie: np.ndarray, thr: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Flag the highest-scoring cells until their area adds up to exactly ``budget`` m².

    Cells are ranked by score, ties broken by ``tie`` (a fixed random order); the last
    cell counts for the fraction of it that completes the budget, so every method
    flags exactly the same area. Returns flat cell indices and their weights (1, the
    last one's fraction). ``thr`` (a score every flagged cell reaches, see
    :func:`_thresholds`) only saves time.
    """
    s, a = score.ravel(), cell_area.ravel()
    idx = np.flatnonzero(a > 0)
    top = idx[_thresholds(s[None, idx], a[idx], budget)[0]] if thr is None \
        else idx[s[idx] >= thr]
    if a[top].sum() >= budget:  # else the whole study area is short of the budget
        idx = top
    order = idx[np.lexsort((tie[idx], -s[idx]))]
    cum = np.cumsum(a[order])
    k = min(int(np.searchsorted(cum, budget * (1 - 1e-12))), len(order) - 1)
    w = np.ones(k + 1)
    w[k] = min(1.0, (budget - (cum[k - 1] if k else 0.0)) / a[order[k]])
    return order[: k + 1], w


def _thresholds(s: np.ndarray, a: np.ndarray, budget: float,
                sample: np.ndarray | slice = slice(None, None, 8)) -> np.ndarray:
    """Per row of ``s`` (folds x cells inside), the cells whose score reaches a threshold.

    Any threshold whose cells hold the budget gives :func:`flag_cells` the same
    cells (only those are sorted, cells tied with it included, so ties break as in
    a full sort): this only saves time. Estimated from every 8th cell (``sample``:
    the columns to read, best a random eighth; its positive scores: most cells score
    0) for ~1.12 times the full cells the budget holds;
    where that gives too few cells or over 3 times too many, the m-th highest (m
    twice the full cells plus a margin); all cells when there are fewer than m.
    Returns a boolean (folds x cells) mask.
    """
    k0 = int(np.ceil(budget / a.max()))
    m = k0 * 2 + 64
    if m >= s.shape[1]:
        return np.ones(s.shape, bool)
    j = (k0 * 9) // 64 + 4  # the j-th highest of every 8th: ~8 j cells above
    thr = np.zeros(len(s))
    for i, row in enumerate(s[:, sample]):
        pos = row[row > 0]
        if len(pos) > j:
            thr[i] = np.partition(pos, len(pos) - 1 - j)[len(pos) - 1 - j]
    above = s >= thr[:, None]
    count = np.array([np.count_nonzero(r) for r in above])
    bad = (count < k0) | (count > 3 * m)
    if bad.any():
        exact = -np.partition(-s[bad], m, axis=1)[:, m]
        above[bad] = s[bad] >= exact[:, None]
    return above


def _flag_ranked(s: np.ndarray, a: np.ndarray, budget: float, above: np.ndarray,
                 ties: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`flag_cells` on the cells inside (listed row-major, as ``History.ties``).

    ``s``, ``a``: one fold's scores and the areas of the cells inside; ``above`` marks
    the cells at or above a threshold (:func:`_thresholds`): only those are sorted.
    When they fall short of the budget, the exact threshold's cells, else all cells.
    ``ties``: each cell's place in tie order and the cells in tie order
    (``History.ties[1:]``).
    Returns positions in ``s`` and weights, as flag_cells.
    """
    idx = np.flatnonzero(above)
    if a[idx].sum() < budget:
        m = int(np.ceil(budget / a.max())) * 2 + 64
        idx = np.arange(len(s)) if m >= len(s) else \
            np.flatnonzero(s >= -np.partition(-s, m)[m])
        if a[idx].sum() < budget:  # (the study area may be short of it too: all cells)
            idx = np.arange(len(s))
    order = _by_score(s, idx, *ties)
    cum = np.cumsum(a[order])
    k = min(int(np.searchsorted(cum, budget * (1 - 1e-12))), len(order) - 1)
    w = np.ones(k + 1)
    w[k] = min(1.0, (budget - (cum[k - 1] if k else 0.0)) / a[order[k]])
    return order[: k + 1], w


def _by_score(s: np.ndarray, idx: np.ndarray, place: np.ndarray,
              by_tie: np.ndarray) -> np.ndarray:
    """``idx`` ordered by score ``s`` (highest first), equal scores in tie order.

    ``place``, ``by_tie``: each position's place in tie order and the positions in
    tie order (``History.ties``). ``idx`` is put in tie order by marking the places
    and listing the marks (a counting sort: no sort of the keys), then one stable sort
    by score breaks ties as flag_cells' two-key sort does.
    """
    if len(idx) == len(by_tie):  # every cell: tie order is by_tie itself
        idx = by_tie
    else:
        mark = np.zeros(len(by_tie), bool)
        mark[place[idx]] = True
        idx = by_tie[np.flatnonzero(mark)]
    return idx[_stable_argsort(-s[idx])]


def _stable_argsort(x: np.ndarray) -> np.ndarray:
    """``np.argsort(x, kind="stable")``, ~1.5x quicker for up to 65,535 values.

    A quick sort, each value's rank among the distinct values (uint16), then numpy's
    stable sort of those ranks (a radix sort for 16-bit integers): equal values keep
    their order, as in the stable sort. Longer, or with NaN (never equal to itself):
    the stable sort.
    """
    if len(x) > 65_535:
        return np.argsort(x, kind="stable")
    o = np.argsort(x)
    v = x[o]
    if len(v) == 0 or np.isnan(v[-1]):  # (NaN sorts last)
        return np.argsort(x, kind="stable")
    rank = np.empty(len(v), np.uint16)
    rank[o[:1]] = 0
    rank[o[1:]] = np.cumsum(v[1:] != v[:-1], dtype=np.uint16)  # (-0.0 == 0.0: tied)
    return np.argsort(rank, kind="stable")


def _gather(a: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``a[:, r, c]`` for the cells ``cells`` of a (k, rows, cols) array or view.

    ``cells``: a boolean (rows, cols) mask (its cells in row-major order: what
    pai_matrix uses, the quickest) or flat cell indices.
    """
    if cells.dtype == bool:
        return a[:, cells]
    rr, cc = np.divmod(cells, a.shape[2])
    return a[:, rr, cc]


def pai_matrix(hist: History, specs: list[tuple[str, dict[str, Any]]], folds: Any,
               area_share: float) -> tuple[np.ndarray, np.ndarray]:
    """PAI and hit share of each method (rows) on each fold (columns), equal area.

    A fold's test period is ``hist.counts[u]``; a fold with no incidents gives NaN.
    Cells are flagged as :func:`flag_cells` does, on the cells inside only.
    """
    folds = np.asarray(folds, dtype=np.int64)
    total = hist.cell_area.sum()
    budget = area_share * total
    n = np.array([hist.counts[f].sum() for f in folds])  # (no copy of the folds)
    pai = np.full((len(specs), len(folds)), np.nan)
    # the cells inside, row-major: gathers read memory in order (in tie order they
    # took twice as long); ties are broken among the few cells flagged
    inside, place, by_tie = hist.ties
    mask = hist.inside  # (the same cells: boolean indexing gathers quicker)
    a_in = hist.cell_area.ravel()[inside]
    at = _gather(hist.counts[: int(folds.max()) + 1], mask) if len(folds) else None
    test = None if at is None else at[folds]
    # the cells' counts, gathered once for the tests and the scores
    cache: dict = {} if at is None else {("cells",): at[: int(folds.max())]}
    # decayed counts leave the cache after the last method using them: fresh memory
    # costs page faults, freed memory is reused
    last = {k: j for j, spec in enumerate(specs) for k in _dec_keys(hist, *spec, folds)}
    seen: dict[int, int] = {}  # methods scoring with the very same array (decayed with a
    # window longer than the history is all history) score the same PAIs
    same: list[tuple[int, int]] = []

    # every 8th cell in tie order (row-major, every 8th column is no random sample)
    sample = np.sort(by_tie[::8])

    def flag(j: int, sc: np.ndarray) -> None:
        above = _thresholds(sc, a_in, budget, sample)
        for i in range(len(folds)):
            if n[i] > 0:
                idx, w = _flag_ranked(sc[i], a_in, budget, above[i], (place, by_tie))
                pai[j, i] = (test[i, idx] @ w / n[i]) / area_share

    # two more threads flag methods' cells while the next method scores (numpy and
    # scipy.fft release the GIL): each row of PAIs is written by one call only
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="pai-flag") as pool:
        pending: list = []
        for j, (name, params) in enumerate(specs):
            raw = method_scores(hist, name, params, folds, cache, mask)
            shared = id(raw) in seen
            if shared:
                same.append((j, seen[id(raw)]))
            elif any(raw is v for v in cache.values()):  # (alive in the cache: id holds)
                seen[id(raw)] = j
            for k in [k for k, u in last.items() if u == j and k in cache]:
                seen.pop(id(cache.pop(k)), None)  # (an id is only good while it lives)
            if shared:
                continue
            while len(pending) >= 3:  # at most three methods' scores waiting (memory)
                pending.pop(0).result()
            pending.append(pool.submit(flag, j, raw))
        for f in pending:
            f.result()
    for j, k in same:
        pai[j] = pai[k]
    return pai, n


def choose(pai: np.ndarray, labels: list[str]) -> tuple[int, str]:
    """Index of the method auto keeps (row 0 is the default) and why.

    The default stays unless some challenger's mean PAI gain over the folds exceeds
    :data:`SE_MARGIN` standard errors of the paired gain and :data:`MIN_GAIN` of the
    default's mean PAI; among those, the largest mean gain wins. Fewer than
    :data:`MIN_FOLDS` scored folds: the default.
    """
    ok = ~np.isnan(pai).any(axis=0)
    k = int(ok.sum())
    if k < MIN_FOLDS:
        return 0, f"default: {k} scored fold(s), fewer than {MIN_FOLDS} to judge by"
    gain = pai[:, ok] - pai[0, ok]
    mu = gain.mean(axis=1)
    se = gain.std(axis=1, ddof=1) / np.sqrt(k)
    clear = (mu > SE_MARGIN * se) & (mu > MIN_GAIN * pai[0, ok].mean())
    clear[0] = False
    if not clear.any():
        best = int(np.argmax(np.where(np.arange(len(mu)) > 0, mu, -np.inf)))
        return 0, (f"default: no method beat it by more than {SE_MARGIN} standard errors and "
                   f"{MIN_GAIN:.0%} over {k} folds (best other: {labels[best]}, mean PAI "
                   f"gain {mu[best]:+.2f})")
    j = int(np.argmax(np.where(clear, mu, -np.inf)))
    return j, (f"mean PAI {pai[j, ok].mean():.2f} vs {pai[0, ok].mean():.2f} for the default "
               f"over {k} folds (gain {mu[j]:+.2f}, {mu[j] / se[j]:.1f} standard errors)")


def auto_folds(n_periods: int, upto: int | None = None) -> np.ndarray:
    """Give the folds auto judges by when forecasting period ``upto``.

    Default the next period; the last :data:`MAX_FOLDS` periods before it that have at
    least one period before.
    """
    upto = n_periods if upto is None else upto
    return np.arange(max(1, upto - MAX_FOLDS), upto)


# --- the public function --------------------------------------------------------------


def candidates(per_month: float = 1.0) -> list[tuple[str, dict[str, Any]]]:
    """List what auto backtests (the default first), parameters filled in.

    :data:`CANDIDATES`, plus :data:`SHORT_CANDIDATES` for periods shorter than a month.
    """
    extra = SHORT_CANDIDATES if per_month > 1.5 else ()
    return [resolve(*s) for s in CANDIDATES + extra]


def select_method(hist: History, area_share: float = 0.05, upto: int | None = None,
                  pai: np.ndarray | None = None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Choose auto's method for period ``upto`` from the folds before it only.

    Default: the period after the history. Returns (name, params, report).

    ``pai`` (candidates x :func:`auto_folds`) may be given precomputed (backtests).
    """
    folds = auto_folds(len(hist.periods), upto)
    specs = candidates(hist.per_month)
    labels = [method_label(*s) for s in specs]
    if pai is None:
        pai = pai_matrix(hist, specs, folds, area_share)[0] if len(folds) else \
            np.empty((len(specs), 0))
    j, why = choose(pai, labels)
    with np.errstate(all="ignore"):
        means = np.nanmean(pai, axis=1) if pai.shape[1] else np.full(len(specs), np.nan)
    report = {
        "chosen_because": why,
        "backtest_folds": int((~np.isnan(pai).any(axis=0)).sum()),
        "backtest_area_share": float(area_share),
        "backtest_mean_pai": {lab: round(float(m), 3) for lab, m in zip(labels, means,
                                                                         strict=True)},
    }
    return specs[j][0], dict(specs[j][1]), report


def forecast(  # noqa: PLR0913 (the grid, the time bins, the method: documented options)
    inc: gpd.GeoDataFrame,
    *,
    cell_size: float | None = None,
    study_area: Any = None,
    freq: str = "MS",
    method: str = "auto",
    params: dict[str, Any] | None = None,
    area_share: float = 0.05,
    end: Any = None,
    weights: Any = None,
    quiet: bool = False,
) -> gpd.GeoDataFrame:
    """Expected incidents per grid cell in the next period.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents with ``month`` (police.uk) or ``occurred_at``: the history.
    cell_size : float, optional
        Cell side, metres; default :func:`hotspots.grid.default_cell_size` of the study
        area (a borough: 150-200 m). 100 m suits a borough, 50 m the City.
    study_area : polygon or GeoDataFrame, optional
        Cells cover it whole (zeros included) and incidents outside it are dropped.
        Default: the London borough(s) holding >= 5% of the incidents' points, else
        their convex hull.
    freq : {"MS", "W-MON", "D"}, default "MS"
        Length of a period: months, weeks starting Monday (needs dates), or days.
    method : {"auto", "counts", "decayed", "stkde", "blend", "near_repeat"}
        See the module docstring. ``auto`` backtests :data:`CANDIDATES` on the last
        (up to) 36 periods of this history, each forecast from the periods before it,
        scored by PAI at ``area_share`` of the study area, and keeps the default
        (decayed counts, half-life 12 months, all history) unless a challenger beats
        it by more than 1.5 standard errors of the paired gain and by 1% or more.
    params : dict, optional
        Parameters of a named method (months, metres), e.g. ``{"half_life": 6}``.
    area_share : float, default 0.05
        Flagged share of the study area auto judges the candidates at.
    end : period or date, optional
        Last period of history (empty periods after the last incident count as
        zero); the forecast is for the period after it.
    weights : str or array, optional
        A column (or one number per incident) counted instead of 1 per incident,
        e.g. harm weights; ``risk`` is then expected weight.

    Returns
    -------
    GeoDataFrame
        One row per cell touching the study area (EPSG:27700): ``row, col, risk``
        (expected incidents next period: the scores scaled to the mean count of the
        last 12 months), ``rank`` (1 = highest; ties in a fixed random order),
        ``share`` (of the expected total), ``n_history`` (past incidents),
        ``area_m2`` (inside the study area), ``geometry``. ``attrs``: ``method``,
        ``params``, ``label``, ``forecast_period``, ``n_periods``, ``cell_size``,
        ``freq``, ``expected_total`` and, for auto, ``chosen_because`` and
        ``backtest_*`` (mean PAI of every candidate over the folds).
    """
    hist, score, attrs = _forecast_scores(inc, cell_size, study_area, freq, method, params,
                                          area_share, end, weights)
    out = forecast_frame(hist, score)
    out.attrs.update(attrs)
    if not quiet:
        why = attrs.get("chosen_because")
        log.info("forecast: %s for %s on %g m cells, %d periods of history%s",
                 attrs["label"], attrs["forecast_period"], hist.grid.cell_size,
                 attrs["n_periods"], f"; auto: {why}" if why else "")
    return mark_anonymous(out, inc)  # writers blank small counts of anonymous reports


def _forecast_scores(  # noqa: PLR0913 (forecast's options, plus the points known)
    inc: gpd.GeoDataFrame, cell_size: float | None, study_area: Any, freq: str,
    method: str, params: dict[str, Any] | None, area_share: float, end: Any,
    weights: Any, distinct: tuple | None = None, *,
    on_history: Callable[[History], Any] | None = None,
    skip: Callable[[History, str, dict[str, Any]], bool] | None = None,
) -> tuple[History, np.ndarray | None, dict[str, Any]]:
    """The history, each cell's score for the next period and :func:`forecast`'s attrs.

    Everything forecast does but the frame of cells (see :func:`_ranked_cells`).
    ``on_history(hist)`` is called once the history is made (before auto's backtest);
    the score is None when ``skip(hist, name, params)`` says so for the method chosen
    (top_areas: its caller's thread made it already).
    """
    if not 0 < float(area_share) < 1:
        raise BadInputError(f"area_share must be between 0 and 1, got {area_share}")
    hist = build_history(inc, study_area, cell_size, freq, end, weights, distinct=distinct)
    if on_history is not None:
        on_history(hist)
    report: dict[str, Any] = {}
    if method == "auto":
        if params:
            raise BadInputError("params go with a named method, not method='auto'")
        name, full, report = select_method(hist, area_share)
    else:
        name, full = resolve(method, params)
    score = None if skip is not None and skip(hist, name, full) else \
        method_scores(hist, name, full, [len(hist.periods)])[0]
    return hist, score, _forecast_attrs(hist, name, full, freq, report)


def _forecast_attrs(hist: History, name: str, full: dict[str, Any], freq: str,
                    report: dict[str, Any]) -> dict[str, Any]:
    """:func:`forecast`'s attrs for method ``name`` with parameters ``full``."""
    t = len(hist.periods)
    return dict(
        method=name, params=full, label=method_label(name, full),
        forecast_period=str(hist.periods[-1] + 1), n_periods=t, freq=str(freq),
        study_area_km2=round(hist.study_area.area / 1e6, 3), **report,
    )


def _risk(hist: History, score: np.ndarray,
          s: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Scores made expected incidents (the mean of the last 12 months in all).

    ``s``: the scores clipped at 0 and zero outside, when made already.
    """
    s = np.where(hist.inside, np.clip(score, 0, None), 0.0) if s is None else s
    recent = hist.counts[-_periods(12, hist.per_month):]
    expected = float(recent.sum() / len(recent))
    total = s.sum()
    return (s * (expected / total) if total > 0 else s), expected


def _ranked_cells(hist: History, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The cells inside in :func:`forecast`'s row order, without building the frame.

    Returns (flat cell indices in rank order, each cell's risk (flat, all cells), the
    expected total): the order of ``forecast(...)``'s rows, for callers that need the
    best cells only (top_areas' high-risk cells).
    """
    s = np.where(hist.inside, np.clip(score, 0, None), 0.0)
    risk, expected = _risk(hist, score, s)
    # flag_cells with the whole area as budget: every cell inside, by score, ties in
    # tie order
    inside, place, by_tie = hist.ties
    a = hist.cell_area.ravel()
    idx = inside[_flag_ranked(s.ravel()[inside], a[inside], a.sum(),
                              np.ones(len(inside), bool), (place, by_tie))[0]]
    # as sort_values("rank") of the row-major frame: cells left unranked (rank 0,
    # a sliver past the budget's last 1e-12) come first
    unranked = np.ones(s.size, bool)
    unranked[idx] = False
    first = np.flatnonzero(unranked & hist.inside.ravel())
    return np.concatenate([first, idx]), risk.ravel(), expected


def forecast_frame(hist: History, score: np.ndarray) -> gpd.GeoDataFrame:
    """Cells of the study area with ``risk`` scaled to the expected total next period."""
    from .grid import to_gdf

    inside = hist.inside
    s = np.where(inside, np.clip(score, 0, None), 0.0)
    risk, expected = _risk(hist, score, s)
    rank = np.zeros(s.size, np.int64)
    idx, _ = flag_cells(s, hist.cell_area, hist.cell_area.sum(), hist.tie_key())
    rank[idx] = np.arange(1, len(idx) + 1)
    share = risk / expected if expected > 0 else risk
    out = to_gdf(hist.grid, {
        "risk": risk, "rank": rank.reshape(s.shape), "share": share,
        "n_history": hist.counts.sum(axis=0).astype(np.int64), "area_m2": hist.cell_area,
    }, mask=inside)
    out.attrs.update(expected_total=round(expected, 3))
    return out.sort_values("rank", kind="stable").reset_index(drop=True)
