"""Kernel density of incidents on the shared grid.

``kde`` returns the density at each cell centre, in incidents per km², i.e. the sum
over incidents of the kernel (per m²) times 10⁶. Two evaluations:

- ``"exact"`` (the reference): for every point, evaluate the kernel at the cell
  centres within its radius and add (cost: points × cells under one kernel). Exact to
  rounding.
- ``"fft"`` (quartic and gaussian): spread the points over a sub-grid with linear
  (bilinear) binning, convolve with the kernel sampled exactly at the sub-grid
  offsets, and read the result at the cell centres (cost: points + sub-grid nodes ·
  log). The sub-grid step comes from the bandwidth, not the cell size: at most h/32
  for the quartic (h = radius) and σ/10 for the gaussian, with an odd number of steps
  per cell so every cell centre *is* a node (no interpolation when reading). Plain
  linear binning is off by ½·step²·(tx(1−tx)·K_xx + ty(1−ty)·K_yy) per point
  (tx, ty: its place in its sub-cell), which for points stacked on police.uk snap
  points reached 2% at the edge of a kernel; the path bins w·tx(1−tx) and w·ty(1−ty)
  too and subtracts their convolutions with K_xx and K_yy, leaving an error of
  order step³. Accuracy guarantee, checked by the tests against a direct sum on real
  data: within 1% of the exact value on every cell above 1% of the peak. Measured
  maxima: quartic 0.10% (Camden June 2019), 0.12% (Harrow 2022), 0.04% (London
  2022) at the default cell size and bandwidth, 0.26% / 0.04% / 0.04% with the
  bandwidth at 1.5 cells; gaussian ≤ 0.002%.

``method="auto"`` (the default) first merges identical coordinates (police.uk snaps
crimes to shared points: Camden's 4,075 crimes sit on 1,045 points, London's 849k on
96k), then takes whichever path is cheaper. Its FFT path bins on a coarser sub-grid
(quartic: step ≤ h/12, gaussian: σ/10) and then estimates each cell's error
(:func:`_error_estimate`: the per-point binning error measured against distance,
summed as a mean plus 4 standard deviations, with points closer than a sub-grid step
counted as one); cells it cannot clear to 1% get the exact sum over the points near
them (:func:`_exact_cells`), not the whole grid. A rigorous worst-case bound is no use
here: summed over thousands of scattered points whose errors differ in sign it
overstates the error a hundredfold. Checked against brute force on scattered,
clustered and stacked points (tests/test_density.py): within 1% on every cell above 1%
of the peak (measured 0.25% on 100k scattered + clustered points, 100 m cells, 400 m
bandwidth). Stacked borough data have few distinct points, and the exact path is then
the cheaper one (milliseconds for a borough month). The uniform and epanechnikov
kernels (a jump / a kink at the rim of the disc, which binning cannot place to within
1%) are always evaluated exactly over unique points.

``dual_kde`` puts two layers on one grid with one bandwidth and returns the density of
the first relative to the second (burglaries relative to homes, reports relative to
station entries).
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy.ndimage import maximum_filter1d
from scipy.signal import fftconvolve

from ._errors import BadInputError
from ._validate import BNG, check_gdf, check_nonempty, check_positive, weights_array
from .grid import Grid, bin_points, default_cell_size, make_grid, points_xy, to_gdf
from .privacy import mark_anonymous

__all__ = [
    "BANDWIDTH_CELLS",
    "GAUSS_TRUNCATE",
    "KERNELS",
    "choose_method",
    "default_bandwidth",
    "density_array",
    "dual_kde",
    "kde",
    "kernel_values",
    "nrd_bandwidth",
    "support_radius",
]

log = logging.getLogger("hotspots")

KERNELS = ("quartic", "gaussian", "uniform", "epanechnikov")
#: Gaussian kernels are cut at this many standard deviations (mass lost: e^-12.5 ≈ 4e-6):
#: far enough that the cut-off's small jump never matters for accuracy.
GAUSS_TRUNCATE = 5.0
#: Default-bandwidth limits, in cells (see :func:`default_bandwidth`).
BANDWIDTH_CELLS = (2.0, 3.0)
#: Sub-grid nodes per bandwidth in the FFT path (finer = slower, more often proven).
_NODES_PER_BANDWIDTH = {"quartic": 32, "gaussian": 10}
#: Sub-grid nodes per bandwidth on the `auto` path: coarser (faster) than the forced
#: path's, since the cells its error estimate cannot clear are evaluated exactly.
_AUTO_NODES = {"quartic": 12, "gaussian": 10}
#: Standard deviations in the error estimate (see :func:`_error_estimate`)
_Z_ERR = 4.0
#: Relative accuracy `auto` aims at on cells above 1% of the peak.
_RTOL = 0.01
_MAX_SUBGRID_NODES = 16_000_000


def kernel_values(d2: np.ndarray, bandwidth: float, kernel: str = "quartic") -> np.ndarray:
    """Kernel value (per m²) at squared distance `d2` (m²) from a point.

    quartic: 3/(πh²)·(1 − d²/h²)² for d < h (h = radius, as QGIS, ArcGIS, sfhotspot);
    epanechnikov: 2/(πh²)·(1 − d²/h²) for d < h; uniform: 1/(πh²) for d ≤ h;
    gaussian: exp(−d²/2h²)/(2πh²) (h = standard deviation), zero beyond 4h.
    Each integrates to 1 over the plane (the gaussian to 1 − e⁻⁸).
    """
    h2 = bandwidth * bandwidth
    u = np.asarray(d2, float) / h2
    if kernel == "quartic":
        return np.where(u < 1, 3.0 / (math.pi * h2) * (1 - u) ** 2, 0.0)
    if kernel == "epanechnikov":
        return np.where(u < 1, 2.0 / (math.pi * h2) * (1 - u), 0.0)
    if kernel == "uniform":
        return np.where(u <= 1, 1.0 / (math.pi * h2), 0.0)
    if kernel == "gaussian":
        return np.where(u <= GAUSS_TRUNCATE**2, np.exp(-0.5 * u) / (2 * math.pi * h2), 0.0)
    raise BadInputError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")


def support_radius(bandwidth: float, kernel: str) -> float:
    """Distance beyond which the kernel is zero, metres."""
    return bandwidth * (GAUSS_TRUNCATE if kernel == "gaussian" else 1.0)


def nrd_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """The sfhotspot rule of thumb (R's ``MASS::bandwidth.nrd``), averaged over x and y.

    4 · 1.06 · min(sd, IQR/1.34) · n^(−1/5) for each coordinate, metres.
    """

    def one(v: np.ndarray) -> float:
        if len(v) < 2:
            return 0.0
        q75, q25 = np.percentile(v, [75, 25])
        return 4 * 1.06 * min(float(np.std(v, ddof=1)), (q75 - q25) / 1.34) * len(v) ** -0.2

    return (one(x) + one(y)) / 2


def default_bandwidth(x: np.ndarray, y: np.ndarray, cell_size: float) -> float:
    """The bandwidth (kernel radius, metres) chosen when the user gives none.

    Rule: sfhotspot's rule of thumb (:func:`nrd_bandwidth`), kept between 2 and 3
    cells. The normal-reference rule assumes one smooth bump and oversmooths
    clustered crime: it gives 1.1 km for Harrow 2022 and 1.25 km for Camden, enough
    to merge neighbouring hotspots into one blob; 3 cells (600 m for a 200 m
    borough grid) keeps hotspots at street-cluster scale. The floor of 2 cells makes
    sure each kernel covers several cell centres (below one cell, most cells would
    read zero: sfhotspot issue #29). Rounded to the metre.
    """
    lo, hi = BANDWIDTH_CELLS
    nrd = nrd_bandwidth(x, y)
    return float(round(min(hi * cell_size, max(lo * cell_size, nrd))))


def _exact(x, y, w, grid: Grid, bandwidth: float, kernel: str) -> np.ndarray:
    """Kernel sum at every cell centre: loop over cell offsets, vectorised over points."""
    cs = grid.cell_size
    radius = support_radius(bandwidth, kernel)
    row, col = grid.cell_index(x, y)
    # offset of each point from the centre of its own cell (metres; y up)
    fx = x - (grid.x0 + (col + 0.5) * cs)
    fy = y - (grid.y1 - (row + 0.5) * cs)
    reach = int(math.ceil(radius / cs)) + 1
    near = (
        (row >= -reach) & (row < grid.nrows + reach) & (col >= -reach) & (col < grid.ncols + reach)
    )
    row, col, fx, fy, w = row[near], col[near], fx[near], fy[near], w[near]
    acc = np.zeros(grid.nrows * grid.ncols)
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            # nearest a point can be to that cell's centre: skip offsets out of reach
            gap = math.hypot(max(0, abs(di) - 0.5), max(0, abs(dj) - 0.5)) * cs
            if gap > radius:
                continue
            r, c = row + di, col + dj
            ok = (r >= 0) & (r < grid.nrows) & (c >= 0) & (c < grid.ncols)
            dx = dj * cs - fx[ok]
            dy = -di * cs - fy[ok]  # rows grow southwards
            k = kernel_values(dx * dx + dy * dy, bandwidth, kernel) * w[ok]
            acc += np.bincount(r[ok] * grid.ncols + c[ok], weights=k, minlength=acc.size)
    return acc.reshape(grid.shape)


def _subgrid_factor(grid: Grid, bandwidth: float, kernel: str, nodes: float | None = None) -> int:
    """Sub-cells per cell, so the sub-grid step is ≤ bandwidth / `nodes`.

    `nodes` defaults to the forced path's :data:`_NODES_PER_BANDWIDTH`.

    Every cell centre is a sub-grid node whatever the parity (see :func:`_fft`), so the
    convolution is read at the centres themselves, with no further interpolation.
    """
    if nodes is None:  # the forced path keeps odd k (its measured accuracy is for those)
        k = max(1, math.ceil(_NODES_PER_BANDWIDTH[kernel] * grid.cell_size / bandwidth))
        return k if k % 2 else k + 1
    return max(1, math.ceil(nodes * grid.cell_size / bandwidth - 1e-9))


def _fft_shape(
    grid: Grid, bandwidth: float, kernel: str, nodes: float | None = None
) -> tuple[int, int, int, int]:
    """Sub-grid factor k, margin m (nodes), FFT shape (rows, cols) of the padded sub-grid."""
    k = _subgrid_factor(grid, bandwidth, kernel, nodes)
    half = math.ceil(support_radius(bandwidth, kernel) / (grid.cell_size / k))
    m = half + 2  # a point further out than this reaches no cell centre
    # the kernel wraps around index 0: a length of (nodes + half) keeps the wrapped-
    # around part of the circular convolution away from the cell centres
    return (
        k,
        m,
        sp_fft.next_fast_len(grid.nrows * k + 2 * m + half, real=True),
        sp_fft.next_fast_len(grid.ncols * k + 2 * m + half, real=True),
    )


def _even_spectrum(quadrant: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """``rfft2`` of a stencil even in x and in y, from its quadrant of offsets ≥ 0.

    The stencil is centred on index 0 (wrapping around). Real, a cosine sum: two small
    matrix products instead of a transform of the whole padded array.
    """
    n = quadrant.shape[0]
    twice = np.where(np.arange(n) == 0, 1.0, 2.0)  # offsets ±d both, 0 once
    cy = np.cos(2 * math.pi * np.outer(np.arange(fy), np.arange(n)) / fy) * twice
    cx = np.cos(2 * math.pi * np.outer(np.arange(fx // 2 + 1), np.arange(n)) / fx) * twice
    return cy @ quadrant @ cx.T


def _kernel_derivatives(X: np.ndarray, Y: np.ndarray, h: float, kernel: str):
    """K, ∂²K/∂x², ∂²K/∂y² on a stencil of offsets (X, Y) in metres (zero outside support)."""
    d2 = X * X + Y * Y
    K = kernel_values(d2, h, kernel)
    h2 = h * h
    if kernel == "quartic":  # K = c(1-u)², u = d²/h²
        inside = d2 < h2
        c = 3.0 / (math.pi * h2)
        base = -4 * (1 - d2 / h2) / h2
        kxx = np.where(inside, c * (base + 8 * X * X / h2**2), 0.0)
        kyy = np.where(inside, c * (base + 8 * Y * Y / h2**2), 0.0)
    else:  # gaussian: K_xx = K (x²/σ⁴ − 1/σ²)
        kxx = K * (X * X / h2**2 - 1 / h2)
        kyy = K * (Y * Y / h2**2 - 1 / h2)
    return K, kxx, kyy


@functools.lru_cache(maxsize=32)
def _error_profile(kernel: str, ratio: float, n: int = 24_000) -> tuple[np.ndarray, ...]:
    """The corrected binning's error for one point of unit weight against its distance.

    Distance to the cell centre, for bandwidth 1 and sub-grid step `ratio`: radii, mean,
    mean square (over where the point sits in its sub-cell and the direction; the
    centre is a node). Measured on a fixed sample of positions (seeded: the same every
    call).
    """
    rng = np.random.default_rng(0)
    reach = support_radius(1.0, kernel) + 2 * ratio
    r = reach * np.sqrt(rng.random(n))
    th = 2 * math.pi * rng.random(n)
    vx, vy = r * np.cos(th), r * np.sin(th)
    tx, ty = rng.random(n), rng.random(n)
    got = np.zeros(n)
    for a in (0, 1):
        for b in (0, 1):
            k, kxx, kyy = _kernel_derivatives(vx + (tx - a) * ratio, vy + (ty - b) * ratio,
                                              1.0, kernel)
            beta = (tx if a else 1 - tx) * (ty if b else 1 - ty)
            got += beta * (k - 0.5 * ratio**2 * (tx * (1 - tx) * kxx + ty * (1 - ty) * kyy))
    err = got - kernel_values(r * r, 1.0, kernel)
    edges = np.linspace(0, reach, int(math.ceil(reach / ratio * 2)) + 1)  # half steps
    which = np.clip(np.digitize(r, edges) - 1, 0, len(edges) - 2)
    count = np.maximum(np.bincount(which, minlength=len(edges) - 1), 1)
    mean = np.bincount(which, err, minlength=len(edges) - 1) / count
    sq = np.bincount(which, err * err, minlength=len(edges) - 1) / count
    return (edges[:-1] + edges[1:]) / 2, mean, sq


def _error_estimate(x, y, w, grid: Grid, bandwidth: float, kernel: str, k: int) -> np.ndarray:
    """Per cell, an estimate of the `auto` FFT path's error (per m², grid.shape).

    A point's binning error depends on where it sits in its sub-cell and, near the
    kernel's rim, on where the rim crosses it: a rigorous per-point bound summed over
    thousands of scattered points overstates the error a hundredfold (their errors
    differ in sign). So the per-point error is measured instead (:func:`_error_profile`:
    mean and mean square against distance) and the estimate is the summed mean error
    plus 4 standard deviations of a sum of independent errors, √(Σ w²·mean square),
    where all the points of one sub-cell count as one (their weights added before
    squaring: points stacked on one spot, or packed closer than a step, err together).
    Each cell takes the worst over where its points can sit in their cells. Cells
    this estimate cannot clear to 1% get the exact sum (:func:`_exact_cells`); the
    tests check the result against brute force on scattered, clustered and stacked data.
    """
    cs = grid.cell_size
    s = cs / k
    radii, mean, sq = _error_profile(kernel, round(s / bandwidth, 9))
    scale = 1.0 / (bandwidth * bandwidth)  # the kernel of bandwidth h is K(d/h)/h²
    reach = int(math.ceil(support_radius(bandwidth, kernel) / cs)) + 2
    off = np.arange(-reach, reach + 1) * cs
    dist = np.hypot(off[None, :], off[:, None]) / bandwidth
    # worst over a point's place in its cell: radii within cs/√2 of the centres' distance
    width = int(math.ceil(cs / math.sqrt(2) / bandwidth / (radii[1] - radii[0]))) + 1
    bias, var = (np.interp(dist, radii, maximum_filter1d(v, 2 * width + 1, mode="nearest"),
                           right=0.0) * f
                 for v, f in ((np.abs(mean), scale), (sq, scale * scale)))
    # sub-cells of the padded grid, south-up; a sub-cell lies in one cell
    ny, nx = (grid.nrows + 2 * reach) * k, (grid.ncols + 2 * reach) * k
    j = np.floor((x - grid.x0) / s).astype(np.int64) + reach * k
    i = np.floor((y - grid.y0) / s).astype(np.int64) + reach * k
    ok = (j >= 0) & (j < nx) & (i >= 0) & (i < ny)
    sub = np.bincount(i[ok] * nx + j[ok], w[ok], minlength=ny * nx).reshape(ny // k, k, nx // k, k)
    w1 = sub.sum(axis=(1, 3))
    w2 = (sub * sub).sum(axis=(1, 3))
    est = fftconvolve(w1, bias, mode="same")
    est += _Z_ERR * np.sqrt(np.maximum(fftconvolve(w2, var, mode="same"), 0.0))
    est = est[reach: reach + grid.nrows, reach: reach + grid.ncols][::-1]  # row 0 = north
    peak = float(kernel_values(np.zeros(1), bandwidth, kernel)[0])
    return est + 1e-9 * peak * float(w.sum())  # FFT round-off, here and in the estimate


def _fft(
    x, y, w, grid: Grid, bandwidth: float, kernel: str, *, nonnegative: bool = True,
    nodes: float | None = None,
) -> np.ndarray:
    """Corrected linear binning on a fine sub-grid, FFT convolution, read at cell centres.

    Linear binning evaluates, for each point, the bilinear interpolant of the kernel
    between the four sub-grid nodes around it; that interpolant is off by
    ½·step²·(tx(1−tx)·K_xx + ty(1−ty)·K_yy) to leading order (tx, ty the point's
    place within its sub-cell). Binning w·tx(1−tx) and w·ty(1−ty) as well and
    convolving them with K_xx and K_yy removes that term, leaving an error of order
    step³ (step⁴ per unit of curvature change): three FFT convolutions, summed in the
    frequency domain, one inverse transform.

    The sub-grid has k nodes per cell (`nodes` per bandwidth, see
    :func:`_subgrid_factor`), placed so that every cell centre is a node: at the
    sub-cell centres for odd k, at their corners for even k.

    Returns the kernel sum at the cell centres (per m²).
    """
    k, m, fy, fx = _fft_shape(grid, bandwidth, kernel, nodes)
    s = grid.cell_size / k
    half = m - 2
    ny, nx = grid.nrows * k + 2 * m, grid.ncols * k + 2 * m
    # node j sits at x0 + (j - m + o)*s; rows counted from the south here
    o = 0.5 if k % 2 else 0.0
    u = (x - grid.x0) / s + (m - o)
    v = (y - grid.y0) / s + (m - o)
    j0, i0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    ok = (j0 >= 0) & (j0 < nx - 1) & (i0 >= 0) & (i0 < ny - 1)
    if not ok.all():
        j0, i0, w, u, v = j0[ok], i0[ok], w[ok], u[ok], v[ok]
    tu, tv = u - j0, v - i0
    del u, v
    # the three binned arrays (w, w·tu(1−tu), w·tv(1−tv)) laid out at the FFT's size,
    # by one bincount over the four corners of every point
    flat = i0 * fx + j0
    del i0, j0
    size = fy * fx
    idx = np.concatenate([flat, flat + 1, flat + fx, flat + fx + 1])
    corner = np.concatenate([(1 - tu) * (1 - tv), tu * (1 - tv), (1 - tu) * tv, tu * tv])
    del flat
    off = np.arange(half + 1) * s
    stencils = _kernel_derivatives(off[None, :], off[:, None], bandwidth, kernel)
    total = None
    # one binned array at a time, its spectrum times the kernel's added up: few live
    # arrays of one size, which the allocator reuses (fresh pages are costly on a VM)
    for wt, stencil, factor in zip((w, w * tu * (1 - tu), w * tv * (1 - tv)), stencils,
                                   (1.0, -0.5 * s * s, -0.5 * s * s), strict=True):
        binned = np.bincount(idx, corner * np.tile(wt, 4), minlength=size).reshape(fy, fx)
        spec = sp_fft.rfft2(binned, workers=-1)
        del binned
        spec *= factor * _even_spectrum(stencil, fy, fx)
        if total is None:
            total = spec
        else:
            total += spec
        del spec
    del idx, corner
    # the kernel is centred on index 0: node (i, j) reads index (i, j)
    rows = m + k // 2 + k * np.arange(grid.nrows)[::-1]  # flip: row 0 = north
    cols = m + k // 2 + k * np.arange(grid.ncols)
    out = sp_fft.irfft2(total, s=(fy, fx), workers=-1)[np.ix_(rows, cols)]
    del total
    if nonnegative:  # FFT round-off leaves ±1e-18 at zeros; the correction dips below 0
        out = np.maximum(out, 0.0)
    return out


def _exact_cells(
    x, y, w, grid: Grid, cells: np.ndarray, bandwidth: float, kernel: str
) -> np.ndarray:
    """The direct kernel sum at the centres of the given cells (flat indices), per m².

    Points are bucketed by cell once (sorted, CSR); for each cell offset within the
    kernel's reach, every asked cell takes the points of the cell at that offset. The
    cost is the number of (asked cell, nearby point) pairs, not points × all cells.
    """
    cs = grid.cell_size
    radius = support_radius(bandwidth, kernel)
    row, col = grid.cell_index(x, y)
    reach = int(math.ceil(radius / cs)) + 1
    # buckets over the grid widened by `reach` on every side: points just outside count
    wide = grid.ncols + 2 * reach
    inb = ((row >= -reach) & (row < grid.nrows + reach)
           & (col >= -reach) & (col < grid.ncols + reach))
    bucket = (row[inb] + reach) * wide + (col[inb] + reach)
    order = np.argsort(bucket, kind="stable")
    px, py, pw = x[inb][order], y[inb][order], w[inb][order]
    start = np.searchsorted(bucket[order], np.arange((grid.nrows + 2 * reach) * wide + 1))
    crow, ccol = np.divmod(cells, grid.ncols)
    cx = grid.x0 + (ccol + 0.5) * cs
    cy = grid.y1 - (crow + 0.5) * cs
    acc = np.zeros(len(cells))
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            gap = math.hypot(max(0, abs(di) - 0.5), max(0, abs(dj) - 0.5)) * cs
            if gap > radius:
                continue
            b = (crow + di + reach) * wide + (ccol + dj + reach)
            lo, cnt = start[b], start[b + 1] - start[b]
            if not cnt.sum():
                continue
            which = np.repeat(np.arange(len(cells)), cnt)
            p = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(len(which))
            dx, dy = px[p] - cx[which], py[p] - cy[which]
            kv = kernel_values(dx * dx + dy * dy, bandwidth, kernel) * pw[p]
            acc += np.bincount(which, weights=kv, minlength=len(cells))
    return acc


def _collapse(x, y, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical coordinates into one weighted point (police.uk snaps crimes).

    Hashing (``pandas.factorize``, no sort) costs ~0.2 s per million points, so a
    sample of 20,000 decides first whether there are repeats to pay for it (London
    2022: 76% of the sample distinct, 849k crimes on 96k points; scattered points:
    100%).
    """
    key = x + 1j * y
    sample = key[:: max(1, len(key) // 20_000)]
    if len(pd.unique(sample)) > 0.95 * len(sample):
        return x, y, w
    codes, uniq = pd.factorize(key)
    return uniq.real, uniq.imag, np.bincount(codes, weights=w, minlength=len(uniq))


def choose_method(n_points: int, grid: Grid, bandwidth: float, kernel: str) -> str:
    """``"exact"`` or ``"fft"``, whichever should be cheaper for `n_points` locations.

    The uniform and epanechnikov kernels (a jump / a kink at the edge of the disc,
    which binning smears over a sub-grid step) are always evaluated exactly.
    """
    if kernel not in _NODES_PER_BANDWIDTH:
        return "exact"
    offsets = math.pi * (support_radius(bandwidth, kernel) / grid.cell_size + 1) ** 2
    _, _, fy, fx = _fft_shape(grid, bandwidth, kernel, _AUTO_NODES[kernel])
    nodes = fy * fx
    if nodes > _MAX_SUBGRID_NODES:
        return "exact"
    # measured on a 2-core machine: ~200 ns per location and cell offset exact; the
    # FFT path (four transforms) ~15 ns per node·log2(nodes), its error estimate
    # ~100 ns per point and cell
    exact_cost = 200e-9 * n_points * offsets
    fft_cost = (0.05 + 100e-9 * (n_points + grid.nrows * grid.ncols)  # 0.05 s: set-up,
                + 15e-9 * nodes * math.log2(nodes))  # the error profile in a new process
    return "exact" if exact_cost <= fft_cost else "fft"


def _fft_checked(x, y, w, grid: Grid, bandwidth: float, kernel: str) -> np.ndarray | None:
    """The `auto` FFT path: binned FFT on a coarse sub-grid, then exact where in doubt.

    The exact sum goes to the cells its error estimate (:func:`_error_estimate`) cannot
    clear to 1%; None when so many cells need it that evaluating them all exactly is
    cheaper.
    """
    nodes = _AUTO_NODES[kernel]
    out = _fft(x, y, w, grid, bandwidth, kernel, nodes=nodes)
    k = _subgrid_factor(grid, bandwidth, kernel, nodes)
    est = _error_estimate(x, y, w, grid, bandwidth, kernel, k)
    big = out >= 0.009 * out.max()  # 0.9%: also cells the error may have pulled under 1%
    cells = np.flatnonzero((big & (est > _RTOL * 0.99 * out)).ravel())
    if len(cells) > 0.5 * out.size:
        log.debug("kde: FFT error estimate above 1%% on %d of %d cells; exact evaluation",
                  len(cells), out.size)
        return None
    if len(cells):
        out.ravel()[cells] = _exact_cells(x, y, w, grid, cells, bandwidth, kernel)
    log.debug("kde: binned FFT (%d sub-cells per cell), %d cells summed exactly", k, len(cells))
    return out


def density_array(
    x: np.ndarray,
    y: np.ndarray,
    grid: Grid,
    bandwidth: float,
    kernel: str = "quartic",
    weights: np.ndarray | None = None,
    method: str = "auto",
    *,
    nonnegative: bool = True,
) -> tuple[np.ndarray, str]:
    """Kernel sum at each cell centre of `grid`, per m², shape ``grid.shape``.

    The array behind :func:`kde` (multiply by 10⁶ for per km²). `x`, `y` in metres
    (EPSG:27700); points outside the grid still count for cells within reach.

    Returns
    -------
    (array, method used)
        ``"exact"``: the direct sum (reference). ``"fft"``: the binned FFT path
        (quartic and gaussian only), within 1% of the direct sum on every cell above
        1% of the peak (measured ≤ 0.26% on real police.uk data, see the module
        docstring). ``"auto"`` merges identical coordinates, then takes the cheaper
        path: exact, or a coarser binned FFT whose cells its error estimate cannot
        clear to 1% are summed exactly (method reported "fft").
        With ``nonnegative=False`` the FFT path keeps its small negative values (the
        binning correction dips below 0 near a kernel's rim), so that arrays of parts
        of the data add up to the whole's (:func:`hotspots.distributed.kde_dask`
        clips the sum).
    """
    kernel_values(np.zeros(1), 1.0, kernel)  # validates the kernel name
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, float)
    if method == "exact":
        return _exact(x, y, w, grid, bandwidth, kernel), "exact"
    if method == "fft":
        if kernel not in _NODES_PER_BANDWIDTH:
            raise BadInputError(
                f"the {kernel} kernel has an edge that binning smears: use method='exact'"
            )
        return _fft(x, y, w, grid, bandwidth, kernel, nonnegative=nonnegative), "fft"
    if method != "auto":
        raise BadInputError(f"method must be 'auto', 'exact' or 'fft', got {method!r}")
    if len(x) > 1000:
        x, y, w = _collapse(x, y, w)
    if choose_method(len(x), grid, bandwidth, kernel) == "fft":
        out = _fft_checked(x, y, w, grid, bandwidth, kernel)
        if out is not None:
            return out, "fft"
    return _exact(x, y, w, grid, bandwidth, kernel), "exact"


def kde(  # noqa: PLR0913 (the grid, the kernel and the evaluation: documented options)
    inc: gpd.GeoDataFrame,
    *,
    cell_size: float | None = None,
    bandwidth: float | None = None,
    kernel: str = "quartic",
    weights: str | None = None,
    clip: Any = None,
    grid: Grid | None = None,
    method: str = "auto",
    drop_empty: bool = False,
    quiet: bool = False,
) -> gpd.GeoDataFrame:
    """Kernel density of incidents on a regular grid, in incidents per km².

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents (points; any CRS, analysed in EPSG:27700).
    cell_size : float, optional
        Cell side, metres. Default: :func:`hotspots.grid.default_cell_size` of the
        study area (shorter side / 50, nice number, 25..500 m).
    bandwidth : float, optional
        Kernel radius in metres (quartic, epanechnikov, uniform) or standard
        deviation (gaussian). Default: :func:`default_bandwidth` (sfhotspot's rule
        of thumb kept within 2..3 cells).
    kernel : {"quartic", "gaussian", "uniform", "epanechnikov"}
        Quartic (biweight) is the crime-mapping standard.
    weights : str, optional
        Column of non-negative weights (e.g. crimes at a snapped point, harm).
    clip : polygon or GeoDataFrame, optional
        Study area: the grid covers its bounding box and only cells intersecting it
        are returned. Incidents outside it still add to the density near its edge.
    grid : Grid, optional
        Use this grid (e.g. to compare periods cell for cell); overrides `cell_size`.
    method : {"auto", "exact", "fft"}
        ``"exact"``: direct sum. ``"fft"`` (quartic, gaussian): binned FFT
        convolution, within 1% of the direct sum on every cell above 1% of the peak
        (measured ≤ 0.26% on police.uk data). ``"auto"``: over unique locations, the
        cheaper of exact and a coarser binned FFT whose doubtful cells are summed
        exactly. See the module docstring.
    drop_empty : bool
        Drop cells whose density is 0.
    quiet : bool, default False
        Do not log the chosen parameters.

    Returns
    -------
    GeoDataFrame
        ``row, col, count, density, geometry`` (EPSG:27700); ``attrs``: ``cell_size``,
        ``bandwidth``, ``kernel``, ``method``, ``n_points``. The raw array and its
        transform: ``hotspots.grid.to_array(result, "density")``.
    """
    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    x, y, ok = points_xy(inc)
    w = weights_array(inc, weights)[ok]
    if len(x) == 0:
        raise BadInputError("incidents have no locations: nothing to map")
    if kernel not in KERNELS:
        raise BadInputError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    extent = clip if clip is not None else (x.min(), y.min(), x.max(), y.max())
    chosen = []
    if grid is None:
        if cell_size is None:
            cell_size = default_cell_size(extent)
            chosen.append(f"cell size {cell_size:g} m (shorter side / 50)")
        grid = make_grid(extent, cell_size)
    if bandwidth is None:
        bandwidth = default_bandwidth(x, y, grid.cell_size)
        nrd = nrd_bandwidth(x, y)
        chosen.append(f"bandwidth {bandwidth:g} m (rule of thumb {nrd:.0f} m, kept to 2-3 cells)")
    bandwidth = check_positive(bandwidth, "bandwidth")
    dens, method = density_array(x, y, grid, bandwidth, kernel, w, method)
    dens *= 1e6
    counts = bin_points(x, y, None, grid)  # unweighted: number of incidents
    if not quiet:
        log.info(
            "kde: %s%s kernel, %d incidents, %dx%d cells, %s evaluation",
            "; ".join(chosen) + "; " if chosen else "",
            kernel,
            len(x),
            grid.nrows,
            grid.ncols,
            method,
        )
    out = to_gdf(
        grid,
        {"count": counts, "density": dens},
        mask=dens > 0 if drop_empty else None,
        clip=clip,
        attrs={
            "bandwidth": float(bandwidth),
            "kernel": kernel,
            "method": method,
            "n_points": int(len(x)),
        },
    )
    return mark_anonymous(out, inc)  # writers blank small counts of anonymous reports


def dual_kde(  # noqa: PLR0913 (two layers plus kde's own options)
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    *,
    method: str = "ratio",
    cell_size: float | None = None,
    bandwidth: float | None = None,
    kernel: str = "quartic",
    weights_b: str | None = None,
    clip: Any = None,
    quiet: bool = False,
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
    if method not in ("ratio", "diff", "log"):
        raise BadInputError(f"method must be 'ratio', 'diff' or 'log', got {method!r}")
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
