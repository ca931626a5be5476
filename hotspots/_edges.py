"""Which polygon each of many points falls in, and how far it is from the nearest edge.

The engine behind :func:`hotspots.assign_wards` for points that do not repeat (fire
brigade calls, collisions, council reports: a million distinct points). Testing every
point against the polygons with GEOS and measuring every point's distance to its
ward's boundary costs microseconds a point; here almost all of the work is numpy:

1. The polygons' edges become one array of distinct straight segments (an edge two
   wards share is kept once).
2. The points are put in square blocks (Morton order). Going down a quadtree of
   blocks, each block keeps only the segments that can hold the nearest edge of a
   point inside it: a segment whose distance to the block's centre exceeds the
   nearest segment's by more than the block's diagonal cannot (triangle inequality).
3. Each point's distance to the nearest edge is then the minimum over its block's
   few remaining segments (pruned once more per point with the same bound), exact:
   the same point-to-segment formula GEOS uses.
4. A block whose centre is further from every edge than its half-diagonal holds no
   edge, so all its points lie in the same polygons. Such blocks, joined when they
   touch (``scipy.ndimage.label``), form regions no edge crosses: one point per
   region is tested with GEOS and the answer holds for the whole region. Only points
   in blocks that an edge may cross are tested one by one (a few per cent).

Exactness does not depend on the polygons tiling: the region argument holds for
overlapping polygons and holes too (every ring's edges are segments). The distance is
to the nearest edge of *any* polygon, which is the point's own polygon's boundary
when polygons do not overlap.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

#: Points per final block aimed at (the final block side follows from the density)
_POINTS_PER_BLOCK = 8.0
#: Final block side limits, metres
_BLOCK_MIN, _BLOCK_MAX = 25.0, 400.0
#: Raster for the edge-free regions: at most this many cells, cells at least this size (m)
_RASTER_MAX, _RASTER_MIN = 4_000_000, 5.0
#: (block, segment) pairs handled per batch when building the quadtree
_BUILD_PAIRS = 1 << 19
#: Points handled per batch in the per-point step (bounds memory: ~20 pairs a point)
_BATCH = 65_536


def segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct edges of the polygons' rings.

    Returns start and end points (m × 2 each) and, per edge, the index of the first
    polygon that has it.
    """
    parts = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    lines, owner = parts
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    own = owner[idx[:-1][same]]
    keep = (a != b).any(axis=1)
    a, b, own = a[keep], b[keep], own[keep]
    # an edge two wards share is one segment (distances are minima over segments)
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    _, first = np.unique(np.hstack([lo, hi]), axis=0, return_index=True)
    first.sort()
    return lo[first], hi[first], own[first]


def seg_distance(px, py, seg: tuple, s: np.ndarray | None = None) -> np.ndarray:
    """Distance from points (px, py) to segments a + t·e, t in [0, 1].

    `seg`: contiguous columns ``ax, ay, ex, ey, 1/|e|²`` (numpy is several times slower
    on strided columns); `s`: which segment for each point (None: one each, in order).
    """
    ax, ay, ex, ey, inv = seg if s is None else (c.take(s) for c in seg)
    dx = px - ax
    dy = py - ay
    t = dx * ex
    t += dy * ey
    t *= inv
    np.maximum(t, 0.0, out=t)
    np.minimum(t, 1.0, out=t)
    ex = ex * t if s is None else np.multiply(ex, t, out=ex)
    ey = ey * t if s is None else np.multiply(ey, t, out=ey)
    dx -= ex
    dy -= ey
    dx *= dx
    dy *= dy
    dx += dy
    return np.sqrt(dx, out=dx)


def _spread(v: np.ndarray) -> np.ndarray:
    """Bits of 32-bit integers spread to the even bits of 64 (for Morton codes)."""
    v = v.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                        (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                        (1, 0x5555555555555555)):  # fmt: skip
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def _unspread(v: np.ndarray) -> np.ndarray:
    v = v & np.uint64(0x5555555555555555)
    for shift, mask in ((1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F),
                        (4, 0x00FF00FF00FF00FF), (8, 0x0000FFFF0000FFFF),
                        (16, 0x00000000FFFFFFFF)):  # fmt: skip
        v = (v | (v >> np.uint64(shift))) & np.uint64(mask)
    return v.astype(np.int64)


def _starts(sorted_values: np.ndarray) -> np.ndarray:
    """Indices where a run of equal values starts (empty in, empty out)."""
    if not len(sorted_values):
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])


def _reduce_min(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.minimum.reduceat(values, starts) if len(values) else values[:0]


class EdgeIndex:
    """Segments of a set of polygons, and the quadtree of blocks over a set of points.

    Build with :meth:`build`; then :attr:`dist` (distance from each point to the
    nearest edge, computed by :meth:`distances` for the points asked) and
    :meth:`regions` (points whose polygons one test settles).
    """

    def __init__(self, geoms: np.ndarray, x: np.ndarray, y: np.ndarray, reach: float):
        """Index the edges of `geoms` and the blocks of the points (x, y).

        `reach` (metres): points further than this from every edge and outside every
        polygon's bounding box need no distance (they stay NaN).
        """
        a, b, self.owner = segments(geoms)
        n = len(x)
        lo = np.minimum(a.min(axis=0), b.min(axis=0)) - reach - 1.0
        hi = np.maximum(a.max(axis=0), b.max(axis=0)) + reach + 1.0
        # coordinates relative to the corner: float32 keeps millimetres for the pruning
        a, e = a - lo, b - a
        cols = (a[:, 0], a[:, 1], e[:, 0], e[:, 1], 1.0 / (e * e).sum(axis=1))
        self.seg = tuple(np.ascontiguousarray(c) for c in cols)
        self.seg32 = tuple(c.astype(np.float32) for c in self.seg)
        self.x, self.y = x - lo[0], y - lo[1]
        self.inside = (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1])
        area = float(np.prod(hi - lo))
        k = max(1, int(self.inside.sum()))
        g = min(_BLOCK_MAX, max(_BLOCK_MIN, math.sqrt(area * _POINTS_PER_BLOCK / k)))
        self.g, self.origin = g, lo
        self.nx, self.ny = (int(v) for v in np.ceil((hi - lo) / g).astype(int) + 1)
        self.levels = max(1, math.ceil(math.log2(max(self.nx, self.ny))))
        self.pts = np.flatnonzero(self.inside)
        ix = (self.x[self.pts] // g).astype(np.int64)
        iy = (self.y[self.pts] // g).astype(np.int64)
        code = _spread(ix) | (_spread(iy) << np.uint64(1))
        # distinct blocks by hashing, then sorting only those (not every point)
        inv, keys = pd.factorize(code)
        order = np.argsort(keys)
        rank = np.empty(len(keys), np.int64)
        rank[order] = np.arange(len(keys))
        self.pt_blk = rank[inv]
        self._build(np.asarray(keys)[order])
        self._raster(self.seg, hi - lo)
        self.dist = np.full(n, np.nan)

    # -- quadtree --------------------------------------------------------------------
    def _centres(self, keys: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
        bx, by = _unspread(keys), _unspread(keys >> np.uint64(1))
        return (bx + 0.5) * size, (by + 0.5) * size

    def _build(self, final: np.ndarray) -> None:
        """Blocks of every level, top down, with the segments that can be nearest.

        Each block keeps the segments that can hold the nearest edge of a point inside
        it. `final`: the sorted codes of the points' blocks.
        """
        m = len(self.seg[0])
        keys = np.zeros(1, np.uint64)
        blk, seg = np.zeros(m, np.int32), np.arange(m, dtype=np.int32)
        blk, seg, d = self._prune(keys, self.g * 2.0**self.levels, blk, seg)
        for level in range(1, self.levels + 1):
            shift = np.uint64(2 * (self.levels - level))
            new = final >> shift  # sorted, so distinct values are where it changes
            new = new[_starts(new)]
            parent = np.searchsorted(keys, new >> np.uint64(2))
            pair0 = np.searchsorted(blk, np.arange(len(keys) + 1))  # parent's pairs
            # children in batches of about _BUILD_PAIRS pairs: small arrays are reused
            # by the allocator instead of fresh pages (page faults cost a lot in a VM)
            work = np.cumsum((pair0[1:] - pair0[:-1])[parent])
            total = int(work[-1]) if len(work) else 0
            cuts = np.searchsorted(work, np.arange(_BUILD_PAIRS, total, _BUILD_PAIRS))
            parts = []
            for c0, c1 in zip(np.r_[0, cuts], np.r_[cuts, len(new)], strict=True):
                if c1 <= c0:
                    continue
                p0, p1 = parent[c0], parent[c1 - 1] + 1
                cb, cs = _expand(parent[c0:c1] - p0, p1 - p0, blk[pair0[p0]: pair0[p1]] - p0,
                                 seg[pair0[p0]: pair0[p1]])
                parts.append(self._prune(new[c0:c1], self.g * 2.0 ** (self.levels - level),
                                         cb, cs, offset=c0))
            keys = new
            if not parts:  # no point in the extent: nothing below
                blk, seg, d = blk[:0], seg[:0], np.zeros(0, np.float32)
                break
            blk, seg, d = (np.concatenate(a) for a in zip(*parts, strict=True))
        self.keys, self.blk_seg, self.blk_d = keys, seg, d
        self.blk_start = np.searchsorted(blk, np.arange(len(keys) + 1))
        starts = self.blk_start[:-1]
        self.blk_dmin = _reduce_min(d, starts)
        best = np.flatnonzero(d == self.blk_dmin[blk])
        _, take = np.unique(blk[best], return_index=True)  # every block has one
        self.blk_best = seg[best[take]]
        self.blk_cx, self.blk_cy = self._centres(keys, self.g)

    def _prune(self, keys: np.ndarray, size: float, blk: np.ndarray, seg: np.ndarray,
               offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Of the (block, segment) pairs, those whose segment can be nearest to a point
        of the block; block indices shifted by `offset` on the way out."""
        cx, cy = self._centres(keys, size)
        cx, cy = cx.astype(np.float32).take(blk), cy.astype(np.float32).take(blk)
        d = seg_distance(cx, cy, self.seg32, seg)
        dmin = _reduce_min(d, _starts(blk))[blk]
        # a point within r of the centre is within dmin + r of the nearest segment; a
        # segment further than dmin + 2r from the centre is further than that
        # (float32: distances to ~1e-5 relative; the margin covers it)
        keep = d <= dmin * np.float32(1 + 1e-5) + np.float32(size * math.sqrt(2) + 0.1)
        return blk[keep] + np.int32(offset), seg[keep], d[keep]

    # -- distances -------------------------------------------------------------------
    def distances(self, want: np.ndarray) -> None:
        """Fill :attr:`dist` for the points flagged in `want` (exact)."""
        sel = np.flatnonzero(want[self.pts])

        def batch(lo: int) -> None:
            part = sel[lo: lo + _BATCH]
            rows = self.pts[part]
            self.dist[rows] = self._distances(self.x[rows], self.y[rows], self.pt_blk[part])

        starts = range(0, len(sel), _BATCH)
        if len(starts) < 2:
            for lo in starts:
                batch(lo)
            return
        # numpy releases the GIL in its loops: batches run on two cores side by side
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(batch, starts))

    def _distances(self, px: np.ndarray, py: np.ndarray, blk: np.ndarray) -> np.ndarray:
        upper = seg_distance(px, py, self.seg, self.blk_best[blk])
        off = np.hypot(px - self.blk_cx[blk], py - self.blk_cy[blk])
        count = self.blk_start[blk + 1] - self.blk_start[blk]
        pt = np.repeat(np.arange(len(px)), count)
        j = self.blk_start[blk][pt] + (np.arange(len(pt)) - np.repeat(np.cumsum(count) - count,
                                                                        count))
        # |p - s| >= |c - s| - |p - c|: a segment that cannot beat the block's best is
        # skipped (blk_d is float32: the margin covers its rounding)
        d_c = self.blk_d[j]
        keep = d_c * np.float32(1 - 1e-5) - off[pt] < upper[pt] + 0.1
        pt, s = pt[keep], self.blk_seg[j[keep]]
        d = seg_distance(px[pt], py[pt], self.seg, s)
        out = upper.copy()
        starts = _starts(pt)
        np.minimum.at(out, pt[starts], _reduce_min(d, starts))
        return out

    # -- regions no edge crosses -----------------------------------------------------
    def _raster(self, seg: tuple, extent: np.ndarray) -> None:
        """Cells of a fine raster that no edge touches, labelled by connected region.

        Each edge is sampled every half cell; a piece of edge between two samples
        cannot leave the 3 × 3 cells around the first, so marking those marks every
        cell an edge touches. Two unmarked cells that share a side form an edge-free
        rectangle, so a region of unmarked cells (``ndimage.label``, 4-connected) lies
        in one set of polygons.
        """
        n_in = len(self.pts)
        cells = min(_RASTER_MAX, max(4 * n_in, 250_000))
        f = max(_RASTER_MIN, math.sqrt(float(np.prod(extent)) / cells))
        nx, ny = (int(v) for v in np.ceil(extent / f).astype(int) + 1)
        ax, ay, ex, ey, _ = seg
        k = np.ceil(np.hypot(ex, ey) / (f / 2)).astype(np.int64) + 1  # samples per edge
        sid = np.repeat(np.arange(len(ax)), k)
        t = (np.arange(len(sid)) - np.repeat(np.cumsum(k) - k, k)) / (k - 1)[sid]
        sx = ((ax[sid] + t * ex[sid]) // f).astype(np.int64)
        sy = ((ay[sid] + t * ey[sid]) // f).astype(np.int64)
        marked = np.zeros((ny, nx), bool)
        marked[np.clip(sy, 0, ny - 1), np.clip(sx, 0, nx - 1)] = True
        marked = ndimage.binary_dilation(marked, np.ones((3, 3), bool))
        labels, _ = ndimage.label(~marked)  # 4-connected: neighbours share a side
        cx = (self.x[self.pts] // f).astype(np.int64)
        cy = (self.y[self.pts] // f).astype(np.int64)
        self.f = f
        self.pt_label = labels[cy, cx] - 1  # -1: a marked cell

    def regions(self) -> np.ndarray:
        """Per point, the id of a region no edge crosses (or -1, -2).

        All the points of a region lie in the same polygons; -1: an edge may pass near,
        test the point itself; -2: outside the edges' bounding box, so in no polygon.
        """
        region = np.full(len(self.x), -2, np.int64)
        region[self.pts] = self.pt_label
        return region

    def may_be_within(self, reach: float) -> np.ndarray:
        """Per point: False where it is surely further than `reach` m from every edge."""
        out = np.zeros(len(self.x), bool)
        low = self.blk_dmin * (1 - 1e-5) - 0.1 - self.g / math.sqrt(2)  # float32 margin
        out[self.pts] = low[self.pt_blk] <= reach
        return out


def _expand(parent: np.ndarray, n_parent: int, blk: np.ndarray, seg: np.ndarray):
    """Every (parent block, segment) pair repeated for each child of that parent.

    `parent`: the parent index of each child (sorted); `blk`: pair's block (sorted).
    Returns the children's pairs, grouped by child (int32: half the memory traffic).
    """
    k = np.bincount(blk, minlength=n_parent)  # segments per parent
    per = k[parent]  # each child gets its parent's segment list
    src = np.repeat((np.cumsum(k) - k)[parent] - (np.cumsum(per) - per), per).astype(np.int32)
    src += np.arange(len(src), dtype=np.int32)
    child = np.repeat(np.arange(len(parent), dtype=np.int32), per)
    return child, seg.take(src)
