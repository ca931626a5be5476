"""top_areas' candidate areas cut to the forecast's high-risk cells, ranked by risk.

The forecast's best cells covering a share of the study area (:func:`_hot_cells`);
each candidate area keeps its parts in them, the ``n`` expected to hold most are
kept, and every other high-risk cell joins the nearest of them with room
(:func:`_hot_areas`, :func:`_join_leftovers`). See :func:`hotspots.rank.top_areas`'
Notes. The element-wise GEOS steps run half in each of two threads: this runs after
the forecast, with both cores free.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import shapely

from ._errors import BadInputError
from ._validate import BNG

#: element-wise GEOS steps of at least this many elements run in two threads
_HALVES_FROM = 200


def _trim_to_forecast(fc: Any, cand: gpd.GeoDataFrame, n: int, hot_share: float,  # noqa: PLR0913
                      reach: float | None, max_area: float | None, params: dict,
                      guess: DefaultGuess | None = None,
                      ) -> tuple[gpd.GeoDataFrame, np.ndarray, tuple | None]:
    """The ``n`` candidate areas expected to hold most incidents, and each one's risk.

    ``fc``: the future of :func:`_start_forecast`, ``guess`` its :class:`DefaultGuess`.
    The areas are cut to the forecast's high-risk cells (see top_areas' Notes),
    returned too as (grid, mask) (None: no area).

    When fewer than ``n`` areas hold a high-risk cell, the high-risk share widens
    (x2.5, x5, x10) until they do. Records the forecast's method, cell size, expected
    total and the share used in ``params``.
    """
    if not 0 < float(hot_share) <= 1:
        raise BadInputError(f"hot_share must be between 0 and 1, got {hot_share}")
    if len(cand) == 0:  # no cluster at all: too few incidents for any area
        return cand, np.zeros(0), None
    geoms = np.asarray(cand.geometry.array)
    made = guess.run(fc, geoms, n, hot_share, reach, max_area) if guess is not None \
        else None
    sa, cell, hist, score, attrs, ranked, first = fc.result()
    done = None  # the first share's areas, when the guess made them
    if ranked is None:  # the backtest kept the default: this thread made its cells
        ranked, first, done = made
    for i, share in enumerate(_shares(hot_share)):
        hot = first if i == 0 and first is not None else _hot_cells(hist, sa, ranked, share)
        out, risk = done if i == 0 and done is not None else \
            _hot_areas(hot, geoms, n, reach, max_area)
        if len(out) >= n:
            break
    params.update(forecast=attrs["label"], forecast_cell=cell, hot_share=share,
                  reach=reach, expected_total=round(ranked[2], 3),
                  forecast_period=attrs["forecast_period"])
    return gpd.GeoDataFrame(geometry=out, crs=BNG), risk, (hist.grid, hot.keep)


class DefaultGuess:
    """The default forecast's high-risk areas, made while the backtest still runs.

    top_areas' forecast thread publishes the history (:attr:`history`: study area,
    cell size, history) before auto's backtest, which keeps the default (decayed
    counts) on most data. The caller's thread, once its candidate areas are found
    and while the backtest runs (it would only wait), makes the default's next-period
    scores, ranked cells, first high-risk cells and areas (:meth:`run`). The forecast
    thread then skips those when the backtest keeps the default, and makes its own
    when it picks another method (the guess is dropped). The same functions of the
    same arrays either way: the same result as making them after the backtest.
    Whichever thread claims the work first (:meth:`claim`) does it.
    """

    def __init__(self) -> None:
        import threading
        from concurrent.futures import Future

        self.history: Future = Future()
        self._lock = threading.Lock()
        self._owner: str | None = None

    def claim(self, who: str) -> bool:
        """True when ``who`` does the default's cells (the first to ask does)."""
        with self._lock:
            if self._owner is None:
                self._owner = who
            return self._owner == who

    def made(self, hist: Any, name: str, full: dict[str, Any]) -> bool:
        """True when the caller's thread makes the chosen method's cells (forecast thread).

        That is when the method is the default and the caller claimed the work.
        """
        from .forecasting import candidates

        return (name, full) == candidates(hist.per_month)[0] and not self.claim("forecast")

    def run(self, fc: Any, geoms: np.ndarray, n: int, hot_share: Any, reach: float | None,
            max_area: float | None) -> tuple | None:
        """(ranked cells, first hot cells, their areas) of the default, or None.

        None when the backtest is over (or failed), the history is not out yet, or
        the forecast thread claimed the work.
        """
        from .forecasting import _ranked_cells, candidates, method_scores

        ok = isinstance(hot_share, int | float) and 0 < hot_share <= 1
        if not ok or fc.done() or not self.history.done() or not self.claim("caller"):
            return None
        sa, _, hist = self.history.result()
        name, full = candidates(hist.per_month)[0]
        ranked = _ranked_cells(hist, method_scores(hist, name, full, [len(hist.periods)])[0])
        first = _hot_cells(hist, sa, ranked, _shares(hot_share)[0])
        return ranked, first, _hot_areas(first, geoms, n, reach, max_area)


def _shares(hot_share: float) -> list[float]:
    """The high-risk shares tried in turn: hot_share x1, x2.5, x5, x10 (at most 1)."""
    return list(dict.fromkeys(min(1.0, hot_share * f) for f in (1, 2.5, 5, 10)))


def _hot_cells(hist: Any, sa: Any, ranked: tuple, share: float) -> _HotCells:
    """The forecast's best cells covering ``share`` of the study area, best first.

    ``ranked``: :func:`hotspots.forecasting._ranked_cells` (hs.forecast's cells in its
    row order, without the frame of every cell: only the best are boxed).
    """
    from .grid import cell_polygons

    order, cell_risk, _ = ranked
    cum = np.cumsum(hist.cell_area.ravel()[order])
    k = min(int(np.searchsorted(cum, share * cum[-1])), len(order) - 1)
    pick = order[: k + 1][cell_risk[order[: k + 1]] > 0]
    keep = np.zeros(hist.grid.shape, bool)
    keep.ravel()[pick] = True
    # cell_polygons lists the kept cells row-major: back to rank order
    cells = cell_polygons(hist.grid, keep)[np.argsort(np.argsort(pick))]
    row, col = np.divmod(pick, hist.grid.ncols)
    # the parts in the study area: only cells not wholly inside are cut
    area_m2 = hist.cell_area.ravel()[pick]
    part = area_m2 < shapely.area(cells)
    cells[part] = shapely.intersection(cells[part], sa)
    risk = cell_risk[pick] * shapely.area(cells) / area_m2
    return _HotCells(cells, risk, row, col, keep, shapely.STRtree(cells))


class _HotCells(NamedTuple):
    """High-risk forecast cells, best first.

    Their parts in the study area, those parts' risk, row, col; the cells' grid mask
    and an STRtree of the parts.
    """

    geometry: np.ndarray
    risk: np.ndarray
    row: np.ndarray
    col: np.ndarray
    keep: np.ndarray
    tree: Any


def _hot_areas(hot: _HotCells, geoms: np.ndarray, n: int,
               reach: float | None, max_area: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Areas cut to the ``hot`` cells, the best ``n`` kept, leftover hot cells joined.

    A leftover hot cell joins the nearest area within ``reach``, while the area stays
    under ``max_area``.
    """
    cells, hrisk = hot.geometry, hot.risk
    gi, ci = hot.tree.query(geoms, predicate="intersects")
    k0 = len(geoms)
    if len(np.unique(gi)) < n:  # too few areas touch a high-risk cell: add the
        # connected groups of high-risk cells no area touches as areas of their own
        free = np.setdiff1d(np.arange(len(cells)), ci)
        extra = _cell_groups(hot.row[free], hot.col[free])
        geoms = np.concatenate([geoms, [shapely.union_all(cells[free[g]]) for g in extra]])
        gi = np.concatenate([gi, np.repeat(np.arange(len(extra)) + k0,
                                           [len(g) for g in extra])]).astype(np.int64)
        ci = np.concatenate([ci, *[free[g] for g in extra]]).astype(np.int64)
    pieces = _in_halves(shapely.intersection, geoms[gi], cells[ci])
    frac = shapely.area(pieces) / shapely.area(cells[ci])
    risk = np.bincount(gi, weights=hrisk[ci] * frac, minlength=len(geoms))
    top = np.argsort(-risk, kind="stable")[:n]
    top = top[risk[top] > 0]
    sel = np.isin(gi, top)
    gi, pieces, pc = gi[sel], pieces[sel], ci[sel]  # pc: each piece's cell
    taken = np.zeros(len(cells), bool)
    taken[ci[sel][frac[sel] > 0.999]] = True
    left = np.flatnonzero(~taken)
    if len(left) and len(top) and (reach is None or reach > 0):
        size = np.bincount(gi, weights=shapely.area(pieces), minlength=len(geoms))[top]
        # the parts of the cells outside the areas: only cells an area reaches change
        rest = cells[left].copy()
        cut = np.isin(left, ci[sel])
        rest[cut] = _in_halves(shapely.difference, rest[cut],
                               np.full(int(cut.sum()), shapely.union_all(geoms[top]),
                                       dtype=object))
        to = _join_leftovers(cells[left], rest, hrisk[left], geoms[top], size, reach,
                             max_area)
        ok = to >= 0
        gi = np.concatenate([gi, top[to[ok]]])
        pieces = np.concatenate([pieces, rest[ok]])
        pc = np.concatenate([pc, left[ok]])
    order = np.argsort(gi, kind="stable")
    gi, pieces, pc = gi[order], pieces[order], pc[order]
    lo, hi = np.searchsorted(gi, top), np.searchsorted(gi, top, side="right")
    # half the areas' pieces each thread (the same unions)
    mid = int(np.searchsorted(hi, len(gi) / 2))
    out = np.array([None] * len(top), dtype=object)
    out[:mid], out[mid:] = _both(
        lambda: [shapely.union_all(pieces[a:b]) for a, b in zip(lo[:mid], hi[:mid],
                                                                 strict=True)],
        lambda: [shapely.union_all(pieces[a:b]) for a, b in zip(lo[mid:], hi[mid:],
                                                                 strict=True)])
    # risk of each area: every high-risk cell's risk times the share of it covered,
    # from the pieces (an area's pieces of one cell do not overlap: its part of the
    # cell, and what of the cell no area reached)
    slot = np.empty(len(geoms), np.int64)
    slot[top] = np.arange(len(top))
    cover = shapely.area(pieces) / shapely.area(cells[pc])
    return out, np.bincount(slot[gi], weights=hrisk[pc] * cover, minlength=len(out))


def _join_leftovers(lc: np.ndarray, rest: np.ndarray, hrisk: np.ndarray, tops: np.ndarray,
                    size: np.ndarray, reach: float | None, max_area: float | None
                    ) -> np.ndarray:
    """The area (position in ``tops``) each leftover hot cell ``lc`` joins, -1: none.

    Highest risk first, each to the nearest area with room for its part outside the
    areas (``rest``), so what max_area leaves out is the least risky; ``size``: the
    areas' m² so far (updated).
    """
    lim = np.inf if reach is None else reach
    room = np.inf if max_area is None else max_area
    # every distance at once when no area fills up; else only from a cell to the
    # areas with room for it, once some have (most cells find all full)
    dist = shapely.distance(lc[:, None], tops[None, :]) if max_area is None else None
    near = _Nearest(lc, tops) if dist is None else None
    to = np.full(len(lc), -1)
    a_rest = shapely.area(rest)
    seq = np.argsort(-hrisk, kind="stable")
    smallest = np.minimum.accumulate(a_rest[seq][::-1])[::-1]  # of the cells to come
    smin = size.min()
    for pos, j in enumerate(seq):
        if smin + smallest[pos] > room:  # every area is full for what is left
            break
        if smin + a_rest[j] > room:  # no area has room for this one
            continue
        fits = np.flatnonzero(size + a_rest[j] <= room)
        if len(fits) == 0:
            continue
        d = dist[j, fits] if dist is not None else near(j, fits)
        d = np.where(np.isnan(d), np.inf, d)
        k = int(np.argmin(d))  # the nearest, ties to the first area (as a stable sort)
        if d[k] <= lim:
            size[fits[k]] += a_rest[j]
            to[j] = fits[k]
            smin = size.min()
    return to


class _Nearest:
    """Distances from cell ``j`` to areas ``fits``: GEOS's for those that may be nearest.

    The others get inf. An area whose bounding box is further from the cell than the
    nearest area found cannot be nearer: the least and the first of equals come out as
    from every distance, with ~2 GEOS distances a cell instead of one per area.
    """

    def __init__(self, cells: np.ndarray, areas: np.ndarray):
        self.cells, self.areas = cells, areas
        cb, ab = shapely.bounds(cells), shapely.bounds(areas)
        self.exact = not (np.isfinite(cb).all() and np.isfinite(ab).all())
        if not self.exact:  # box-to-box gaps, a hair short of any rounding
            gx = np.maximum(np.maximum(ab[None, :, 0] - cb[:, None, 2],
                                       cb[:, None, 0] - ab[None, :, 2]), 0.0)
            gy = np.maximum(np.maximum(ab[None, :, 1] - cb[:, None, 3],
                                       cb[:, None, 1] - ab[None, :, 3]), 0.0)
            self.low = np.hypot(gx, gy) * (1 - 1e-9) - 1e-6

    def __call__(self, j: int, fits: np.ndarray) -> np.ndarray:
        if self.exact:
            return shapely.distance(self.cells[j], self.areas[fits])
        low = self.low[j, fits]
        first = int(np.argmin(low))
        d = np.full(len(fits), np.inf)
        d[first] = shapely.distance(self.cells[j], self.areas[fits[first]])
        if np.isnan(d[first]):
            return shapely.distance(self.cells[j], self.areas[fits])
        maybe = np.flatnonzero(low <= d[first])
        maybe = maybe[maybe != first]
        d[maybe] = shapely.distance(self.cells[j], self.areas[fits[maybe]])
        return d


def _in_halves(f: Any, *arrays: np.ndarray) -> np.ndarray:
    """``f(*arrays)`` of an element-wise GEOS function, half the elements in a thread.

    GEOS releases the GIL: once the forecast is done the rest of top_areas has both
    cores. The very same values as one call.
    """
    n = len(arrays[0])
    if n < _HALVES_FROM:
        return f(*arrays)
    h = n // 2
    head, tail = _both(lambda: f(*(a[:h] for a in arrays)), lambda: f(*(a[h:] for a in arrays)))
    return np.concatenate([head, tail])


class _Later:
    """``f(*args)`` run in a thread from now; :meth:`result` waits for it."""

    def __init__(self, f: Any, *args: Any):
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="top_areas-later")
        self._fut = pool.submit(f, *args)
        pool.shutdown(wait=False)  # (its thread ends with the call)

    def result(self) -> Any:
        return self._fut.result()


def _both(first: Any, second: Any) -> tuple[Any, Any]:
    """``(first(), second())``, the second in a thread meanwhile."""
    later = _Later(second)
    return first(), later.result()


def _cell_groups(row: np.ndarray, col: np.ndarray) -> list[np.ndarray]:
    """Positions of the cells in each connected (8-neighbour) group of grid cells."""
    from scipy import ndimage

    if len(row) == 0:
        return []
    r, c = row - row.min(), col - col.min()
    box = np.zeros((r.max() + 1, c.max() + 1), bool)
    box[r, c] = True
    lab, k = ndimage.label(box, structure=np.ones((3, 3)))
    part = lab[r, c]
    order = np.argsort(part, kind="stable")
    return np.split(order, np.searchsorted(part[order], np.arange(2, k + 1)))
