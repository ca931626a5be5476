"""The forecast's default study area: the London boroughs holding the incidents.

:func:`study_area_of` counts the incidents' distinct points strictly inside each
borough on a raster of the borough edges made once (:func:`_borough_regions`, the
edge-free regions of :mod:`hotspots._edges`): GEOS tests only the points in cells an
edge touches. When no borough holds 5% of them (all London), the caller
(:func:`hotspots.forecasting.study_area_geometry`) takes their hull, whose points
:func:`_hull_points` puts in first-incident order.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely

from ._errors import BadInputError


def study_area_of(inc: gpd.GeoDataFrame, min_share: float = 0.05, *,
                  uxy: np.ndarray | None = None) -> shapely.Geometry:
    """The borough(s) holding at least ``min_share`` of the incidents' distinct points.

    ``uxy``: those distinct points (metres), when known. A point counts for a borough
    when strictly inside it (GEOS "contains").
    """
    from .clusters import collapse, point_xy

    if uxy is None:
        uxy = collapse(point_xy(inc), np.ones(len(inc)))[0]
    counts = _borough_counts(uxy[:, 0], uxy[:, 1])
    share = counts / max(len(uxy), 1)
    keep = share >= min_share
    if not keep.any():
        raise BadInputError("the incidents are not in a London borough: pass study_area=")
    return _borough_union(tuple(np.flatnonzero(keep).tolist()))


def _borough_counts(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points strictly inside each borough (rows of ``boroughs()``), as floats.

    A point in a raster cell no borough edge touches is inside the boroughs its
    region's are (:func:`_borough_regions`, made once); GEOS tests only the points
    in cells an edge touches (3% of London's) against the boroughs.
    """
    edges, labels, member, bg = _borough_regions()
    ny, nx = labels.shape
    box = edges.inside(x, y)
    region = np.full(len(x), -1, np.int64)  # -1: outside every borough's box
    region[box] = labels[edges._cell(y[box] - edges.lo[1], ny),
                         edges._cell(x[box] - edges.lo[0], nx)]
    counts = np.bincount(region[region > 0], minlength=len(member)) @ member
    test = np.flatnonzero(region == 0)  # in a cell an edge touches: GEOS
    tx, ty = x[test], y[test]
    for i, (x0, y0, x1, y1) in enumerate(shapely.bounds(bg)):
        near = np.flatnonzero((tx >= x0) & (tx <= x1) & (ty >= y0) & (ty <= y1))
        counts[i] += np.count_nonzero(shapely.contains_xy(bg[i], tx[near], ty[near]))
    return counts


@lru_cache(maxsize=1)
def _borough_regions() -> tuple:
    """The boroughs' edge raster: (Edges, region labels, boroughs of each region, bg).

    Cells an edge touches have label 0; the others share a label with the cells of
    their edge-free region (:mod:`hotspots._edges`), whose points all lie strictly
    inside the same boroughs: ``member[label]``, from one cell centre per region.
    Depends on the boroughs only, so it is made once (~20 ms).
    """
    from scipy import ndimage

    from ._edges import Edges
    from .boundaries import boroughs

    bg = np.asarray(boroughs().geometry.array)
    shapely.prepare(bg)
    edges = Edges(bg, 0.0)
    edges.regions(np.zeros(0), np.zeros(0))  # (makes edges.marked, edges.f)
    labels, k = ndimage.label(~edges.marked)
    flat = labels.ravel()
    first = np.zeros(k + 1, np.int64)
    first[flat[::-1]] = np.arange(flat.size)[::-1]  # each region's first cell
    row, col = np.divmod(first[1:], labels.shape[1])
    cx = edges.lo[0] + (col + 0.5) * edges.f
    cy = edges.lo[1] + (row + 0.5) * edges.f
    member = np.zeros((k + 1, len(bg)))
    for i, g in enumerate(bg):
        member[1:, i] = shapely.contains_xy(g, cx, cy)
    return edges, labels, member, bg


@lru_cache(maxsize=8)
def _borough_union(rows: tuple[int, ...]) -> shapely.Geometry:
    """Union of these boroughs (rows of ``boroughs()``); cached: all 33 take ~0.3 s."""
    from .boundaries import boroughs

    return shapely.union_all(boroughs().geometry.array[list(rows)])


def _hull_points(uxy: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """``_hull_candidates`` of the distinct points in the order of their first incident.

    GEOS's hull follows the input order: so ordered, the same polygon as all rows give.
    When no two points tie for one of the 8 extremes ``_hull_candidates`` takes (its
    octagon is then the same in any order), the candidates are found among the points
    as they come (sorted) and only they are put in order.
    """
    from .clusters import _hull_candidates

    x, y = uxy[:, 0], uxy[:, 1]
    if len(uxy) <= 50 or any(np.count_nonzero(v == f(v)) > 1 for v in (x, y, x - y, x + y)
                             for f in (np.min, np.max)):
        first = np.full(len(uxy), len(inv))
        np.minimum.at(first, inv, np.arange(len(inv)))
        return _hull_candidates(uxy[np.argsort(first)])
    left = _hull_candidates(uxy)
    keys = uxy.view(np.complex128).ravel()  # sorted (x then y): found by bisection
    idx = np.searchsorted(keys, np.ascontiguousarray(left).view(np.complex128).ravel())
    slot = np.full(len(uxy), -1, np.int64)
    slot[idx] = np.arange(len(idx))
    slot = slot[inv]  # each incident's candidate (-1: none)
    rows = np.flatnonzero(slot >= 0)
    first = np.full(len(idx), len(inv))
    np.minimum.at(first, slot[rows], rows)
    return left[np.argsort(first)]
