"""Which polygon each of many points falls in, and how far it is from its polygon's edge.

The engine behind :func:`hotspots.assign_wards` for points that do not repeat (fire
brigade calls, collisions, council reports: a million distinct points). Testing every
point against the polygons with GEOS and measuring every point's distance to its
ward's boundary costs microseconds a point; here almost all of the work is numpy:

1. The polygons' rings become arrays of straight segments, grouped by polygon
   (:class:`Edges`).
2. Which polygon (:meth:`Edges.regions`): a fine raster marks every cell an edge
   touches. Unmarked cells that share a side form regions no edge crosses
   (``scipy.ndimage.label``), so all the points of a region lie in the same
   polygons: one point per region is tested with GEOS and the answer holds for the
   whole region. Only points in marked cells (a few per cent) are tested one by one.
3. How far (:meth:`Edges.distances`), once each point's polygon is known: the points
   are put in square blocks per polygon (Morton order). Going down a quadtree of
   blocks from the polygon's own segments, each block keeps only those that can hold
   the nearest edge of a point inside it: a segment whose distance to the block's
   centre exceeds the nearest segment's by more than the block's diagonal cannot
   (triangle inequality). Each point's distance is then the minimum over a prefix of
   its block's list (sorted by distance from the block's centre), exact: the same
   point-to-segment formula GEOS uses.

The region argument holds for overlapping polygons and holes too (every ring's edges
are segments); the distance is to the point's own polygon's boundary (every ring).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely
from scipy import ndimage

#: Points per final block aimed at (the final block side follows from the density)
_POINTS_PER_BLOCK = 16.0
#: Final block side limits, metres
_BLOCK_MIN, _BLOCK_MAX = 25.0, 400.0
#: Raster for the edge-free regions: at most this many cells, cells at least this size (m)
_RASTER_MAX, _RASTER_MIN = 4_000_000, 5.0
#: ... and at least this many cells: with fewer points a coarser raster leaves more
#: of them in touched cells for GEOS, for little saved (labelling 1M cells: ~10 ms)
_RASTER_FLOOR = 1_000_000
#: (block, segment) pairs handled per batch when building the quadtree
_BUILD_PAIRS = 1 << 19
#: Points handled per batch in the per-point step (~6 pairs a point): small batches
#: reuse freed memory, where large ones fault in fresh pages each time (in a fresh
#: process at 1M points: 15k page faults instead of 66k, the step 2-3× faster)
_BATCH = 16_384
#: A point is within this of a corner or side (m): the cells on both sides are marked
_EPS = 1e-3


def segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of the polygons' rings: start and end points (m × 2 each) and, per edge,
    the index of its polygon (ascending). Zero-length edges are dropped."""
    lines, owner = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    own = owner[idx[:-1][same]]
    keep = (a != b).any(axis=1)
    return a[keep], b[keep], own[keep]


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


def _argsort_ids(v: np.ndarray) -> np.ndarray:
    """Stable argsort of integers in [0, 2**32): two 16-bit radix passes (about 4× numpy's
    default stable sort of int64 on a million values)."""
    if not len(v) or v.max() < 1 << 16:
        return np.argsort(v.astype(np.uint16), kind="stable")
    first = np.argsort((v & 0xFFFF).astype(np.uint16), kind="stable")
    return first[np.argsort((v[first] >> 16).astype(np.uint16), kind="stable")]


def _reduce_min(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.minimum.reduceat(values, starts) if len(values) else values[:0]


class Edges:
    """The segments of a set of polygons, with a raster of the cells they touch.

    Coordinates are kept relative to the corner of the segments' bounding box grown by
    `pad` metres (float32 then keeps millimetres for the pruning); a point outside that
    box is in no polygon and further than `pad` from every edge.
    """

    def __init__(self, geoms: np.ndarray, pad: float):
        a, b, self.owner = segments(geoms)
        self.a, self.b = a, b
        if not len(a):  # no polygon with an edge: callers check len(owner)
            a = b = np.zeros((1, 2))
        self.lo = np.minimum(a.min(axis=0), b.min(axis=0)) - pad - 1.0
        self.hi = np.maximum(a.max(axis=0), b.max(axis=0)) + pad + 1.0
        a, e = a - self.lo, b - a
        cols = (a[:, 0], a[:, 1], e[:, 0], e[:, 1], 1.0 / (e * e).sum(axis=1))
        self.seg = tuple(np.ascontiguousarray(c) for c in cols)
        self.seg32 = tuple(c.astype(np.float32) for c in self.seg)
        self.seg_start = np.searchsorted(self.owner, np.arange(len(geoms) + 1))
        self.area = float(np.nansum(shapely.area(geoms)))  # m², missing ones left out
        self.f = 0.0  # raster cell side (m), set by regions()

    def inside(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per point (m, BNG): within the padded bounding box of the edges."""
        return (x >= self.lo[0]) & (x <= self.hi[0]) & (y >= self.lo[1]) & (y <= self.hi[1])

    # -- which polygon ---------------------------------------------------------------
    def regions(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per point, the id of a region no edge crosses (or -1, -2).

        All the points of a region lie in the same polygons; -1: in a cell an edge
        touches, test the point itself; -2: outside the padded bounding box, so in no
        polygon. Builds the raster (cells: about 2 per point, at most
        :data:`_RASTER_MAX`) and keeps it, and the points' cells, for :meth:`near`.
        """
        inside = self.inside(x, y)
        extent = self.hi - self.lo
        cells = min(_RASTER_MAX, max(2 * int(inside.sum()), _RASTER_FLOOR))
        self.f = f = max(_RASTER_MIN, math.sqrt(float(np.prod(extent)) / cells))
        nx, ny = (int(v) for v in np.ceil(extent / f).astype(int) + 1)
        marked = np.zeros((ny, nx), bool)
        for px, py in _crossings(self.seg, f):
            for ex, ey in ((-_EPS, -_EPS), (-_EPS, _EPS), (_EPS, -_EPS), (_EPS, _EPS)):
                marked[self._cell(py + ey, ny), self._cell(px + ex, nx)] = True
        labels, _ = ndimage.label(~marked)  # 4-connected: neighbours share a side
        self.marked = marked
        # each point's cell as a flat index (-1: outside the box)
        every = inside.all()  # usual for real data: no copies of the coordinates
        px, py = (x, y) if every else (x[inside], y[inside])
        cell = self._cell(py - self.lo[1], ny)
        cell *= nx
        cell += self._cell(px - self.lo[0], nx)
        region = labels.ravel()[cell].astype(np.int64)
        region -= 1  # -1: a marked cell
        if every:
            self.cell = cell
            return region
        self.cell = np.full(len(x), -1, np.int64)
        self.cell[inside] = cell
        out = np.full(len(x), -2, np.int64)
        out[inside] = region
        return out

    def _cell(self, v: np.ndarray, n: int) -> np.ndarray:
        """Cell index along one axis of `v` (m from the corner), clipped to [0, n)."""
        c = (v * (1.0 / self.f)).astype(np.int64)  # v >= 0 inside: truncation is floor
        return np.clip(c, 0, n - 1, out=c)

    def near(self, which: np.ndarray, reach: float) -> np.ndarray:
        """Per point `which` (of those given to :meth:`regions`): False where it is
        surely further than `reach` m from every edge.

        An edge within `reach` of a point touches a cell at most ``ceil(reach / f)``
        cells away (either way) from the point's own: the marked cells grown by that
        many cells.
        """
        cell = self.cell[which]
        out = cell >= 0
        if not out.any() or reach < 0:
            return np.zeros(len(which), bool)
        k = math.ceil(reach / self.f)
        grown = ndimage.maximum_filter(self.marked, size=2 * k + 1) if k else self.marked
        out[out] = grown.ravel()[cell[out]]
        return out

    def lines(self) -> np.ndarray:
        """The segments as shapely LineStrings (original coordinates), by index."""
        return shapely.linestrings(np.stack([self.a, self.b], axis=1))

    # -- how far ---------------------------------------------------------------------
    def distances(self, x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
        """Exact distance (m) from each point to the boundary of its polygon `poly`.

        The points must lie inside :meth:`inside` (they do: each is in its polygon).
        """
        out = np.full(len(x), np.nan)
        if not len(x):
            return out
        tree = _Quadtree(self, x - self.lo[0], y - self.lo[1], poly)
        sel = tree.pts

        def batch(lo: int) -> None:
            rows = sel[lo: lo + _BATCH]
            out[rows] = tree.distances(tree.x[rows], tree.y[rows], tree.pt_blk[lo: lo + _BATCH])

        starts = range(0, len(sel), _BATCH)
        if len(starts) < 2:
            for lo in starts:
                batch(lo)
            return out
        # numpy releases the GIL in its loops: batches run on two cores side by side
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(batch, starts))
        return out


class _Quadtree:
    """Blocks of points per polygon, each with the polygon's segments that can be nearest.

    `x, y`: metres from the corner of `edges`; `poly`: each point's polygon. After
    building, :attr:`pts` lists the points in block order and :attr:`pt_blk` their
    blocks; :meth:`distances` measures them.
    """

    def __init__(self, edges: Edges, x: np.ndarray, y: np.ndarray, poly: np.ndarray):
        self.seg, self.seg32, self.x, self.y = edges.seg, edges.seg32, x, y
        extent = edges.hi - edges.lo
        k = max(1, len(x))
        area = min(float(np.prod(extent)), max(edges.area, 1.0))
        g = min(_BLOCK_MAX, max(_BLOCK_MIN, math.sqrt(area * _POINTS_PER_BLOCK / k)))
        nx, ny = (int(v) for v in np.ceil(extent / g).astype(int) + 1)
        self.g, self.levels = g, max(1, math.ceil(math.log2(max(nx, ny))))
        if int(poly.max()) >= 1 << (62 - 2 * self.levels):
            raise ValueError("too many polygons for the quadtree's keys")
        # per point its block's key, (polygon, Morton code), then the points in key order
        code = _spread((x * (1 / g)).astype(np.int64))  # x, y >= 0: truncation is floor
        code |= _spread((y * (1 / g)).astype(np.int64)) << np.uint64(1)
        key = poly.astype(np.uint64) << np.uint64(2 * self.levels) | code
        self.pts = (_argsort_ids(key) if int(key.max()) < 1 << 32
                    else np.argsort(key, kind="stable"))
        key = key[self.pts]
        self.pt_blk = np.r_[0, np.cumsum(key[1:] != key[:-1])]
        self._build(key[_starts(key)], edges.seg_start)

    def _centres(self, keys: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        """Centres (m) of blocks at `level` (0: one block, the whole grid, per polygon)."""
        size = self.g * 2.0 ** (self.levels - level)
        morton = keys & np.uint64((1 << 2 * level) - 1)
        bx, by = _unspread(morton), _unspread(morton >> np.uint64(1))
        return (bx + 0.5) * size, (by + 0.5) * size

    def _build(self, final: np.ndarray, seg_start: np.ndarray) -> None:
        """Blocks of every level, top down, with the segments that can be nearest.

        Level 0 has one block per polygon holding all of its segments; each block
        below keeps those that can hold the nearest edge of a point inside it.
        `final`: the sorted keys (polygon, Morton code) of the points' blocks.
        """
        keys = final >> np.uint64(2 * self.levels)
        keys = keys[_starts(keys)]
        n_seg = (seg_start[1:] - seg_start[:-1])[keys.astype(np.int64)]
        blk = np.repeat(np.arange(len(keys), dtype=np.int32), n_seg)
        first = np.cumsum(n_seg) - n_seg
        seg = (np.arange(len(blk)) - np.repeat(first - seg_start[keys.astype(np.int64)],
                                               n_seg)).astype(np.int32)
        blk, seg, d = self._prune(keys, 0, blk, seg)
        for level in range(1, self.levels + 1):
            new = final >> np.uint64(2 * (self.levels - level))
            new = new[_starts(new)]  # sorted, so distinct values are where it changes
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
                parts.append(self._prune(new[c0:c1], level, cb, cs, offset=c0))
            keys = new
            blk, seg, d = (np.concatenate(a) for a in zip(*parts, strict=True))
        self.blk_start = np.searchsorted(blk, np.arange(len(keys) + 1))
        self.blk_dmin = _reduce_min(d, self.blk_start[:-1])
        # each block's segments by distance from its centre (to 1/65535 of the span a
        # block keeps, 2 half-diagonals): a point needs only a prefix of them. Pairs
        # come grouped by block, so a stable sort of these keys is nearly linear.
        self.span = np.float32(self.g * math.sqrt(2) + 0.2)
        q = np.minimum((d - self.blk_dmin[blk]) * (65535 / self.span), 65535)
        blk_key = (blk.astype(np.int64) << 16) | q.astype(np.int64)
        order = np.argsort(blk_key, kind="stable")
        self.blk_key, self.blk_seg = blk_key[order], seg[order]
        self.blk_best = self.blk_seg[self.blk_start[:-1]]  # nearest the centre
        self.blk_cx, self.blk_cy = self._centres(keys, self.levels)

    def _prune(self, keys: np.ndarray, level: int, blk: np.ndarray, seg: np.ndarray,
               offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Of the (block, segment) pairs, those whose segment can be nearest to a point
        of the block; block indices shifted by `offset` on the way out."""
        cx, cy = self._centres(keys, level)
        cx, cy = cx.astype(np.float32).take(blk), cy.astype(np.float32).take(blk)
        d = seg_distance(cx, cy, self.seg32, seg)
        dmin = _reduce_min(d, _starts(blk))[blk]
        # a point within r of the centre is within dmin + r of the nearest segment; a
        # segment further than dmin + 2r from the centre is further than that
        # (float32: distances to ~1e-5 relative; the margin covers it)
        size = self.g * 2.0 ** (self.levels - level)
        keep = d <= dmin * np.float32(1 + 1e-5) + np.float32(size * math.sqrt(2) + 0.1)
        return blk[keep] + np.int32(offset), seg[keep], d[keep]

    def distances(self, px: np.ndarray, py: np.ndarray, blk: np.ndarray) -> np.ndarray:
        """Exact distance from each point to the nearest segment of its block's list."""
        start = self.blk_start[blk]
        upper = seg_distance(px, py, self.seg, self.blk_best[blk])
        # |p - s| >= |c - s| - |p - c|: only segments within upper + |p - c| of the
        # centre c can beat the upper bound, a prefix of the block's sorted list (the
        # centre distances are float32 and the keys rounded down: the margins cover it)
        reach = np.hypot(px - self.blk_cx[blk], py - self.blk_cy[blk])
        reach += upper
        reach *= 1 + 1e-5
        reach += 0.1
        reach -= self.blk_dmin[blk]
        q = np.clip(reach * (65535 / self.span), 0, 65535).astype(np.int64)
        q |= blk.astype(np.int64) << 16
        count = np.searchsorted(self.blk_key, q, side="right") - start
        pt = np.repeat(np.arange(len(px), dtype=np.int32), count)
        first = np.cumsum(count) - count
        j = np.arange(len(pt), dtype=np.int64)
        j += np.repeat(start - first, count)
        d = seg_distance(px[pt], py[pt], self.seg, self.blk_seg[j])
        starts = _starts(pt)
        np.minimum.at(upper, pt[starts], _reduce_min(d, starts))
        return upper


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


def _crossings(seg: tuple, f: float):
    """The ends of the segments and where they cross the lines of a grid of side `f`.

    Yields (x, y) arrays (m from the corner): the ends, the crossings of vertical
    lines, of horizontal ones. A segment touches a cell (its closed square) only if an
    end lies in it or it meets one of the cell's sides: marking the cells on both
    sides of each of these points (:data:`_EPS` either way) marks every cell it touches.
    """
    ax, ay, ex, ey, _ = seg
    yield np.r_[ax, ax + ex], np.r_[ay, ay + ey]
    for u, v, eu, ev, swap in ((ax, ay, ex, ey, False), (ay, ax, ey, ex, True)):
        first = np.ceil(np.minimum(u, u + eu) / f).astype(np.int64)
        k = np.maximum(np.floor(np.maximum(u, u + eu) / f).astype(np.int64) - first + 1, 0)
        sid = np.repeat(np.arange(len(u)), k)
        line = (np.repeat(first, k) + np.arange(len(sid)) - np.repeat(np.cumsum(k) - k, k)) * f
        # along a grid line (eu = 0): the other family of lines and the ends mark it
        t = (line - u[sid]) / np.where(eu == 0, 1.0, eu)[sid]
        other = v[sid] + np.clip(t, 0.0, 1.0) * ev[sid]
        yield (other, line) if swap else (line, other)
