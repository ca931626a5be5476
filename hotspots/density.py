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
96k), then takes whichever path is cheaper. Its FFT path (:func:`_fft_bounded`) is
plain linear binning on a sub-grid of step ≤ h/20 (quartic) or σ/7 (gaussian), one
forward transform, and read at the cell centres only (the spectrum folded: inverse
transforms on k times fewer rows), together with a rigorous bound on its error: a point's
bilinear-interpolation error is at most step²/8 times the kernel's largest second
derivatives over the box its sub-cell can occupy (:func:`_bound_stencil`, in closed
form), and those bounds convolved with the binned weights bound every cell's error,
with one more spectrum and no per-point work. Cells where that bound exceeds 1% of the
smallest value the exact sum can take get the exact sum over the points near them
(:func:`_exact_cells`): the rims of sharp peaks, not the whole grid. On smooth
densities the bound is ~0.4-0.6%, so few cells need it (100k scattered + clustered
points, 100 m cells, 400 m bandwidth: ~65 of 40,000 cells; measured error 0.27%).
Checked against brute force on scattered, clustered, tightly peaked and stacked
points (tests/test_density.py): within 1% on every cell above 1% of the peak.
Stacked borough data have few distinct points, and the exact path is then the
cheaper one (milliseconds for a borough month). The uniform and epanechnikov kernels
(a jump / a kink at the rim of the disc, which binning cannot place to within 1%) are
always evaluated exactly over unique points.

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
#: Sub-grid nodes per bandwidth on the `auto` path (plain binning, see
#: :func:`_bound_stencils`): its error bound is then ~0.5% of a smooth density, so
#: only the cells where the density falls away fast need the exact sum.
_AUTO_NODES = {"quartic": 20, "gaussian": 7}
#: Relative accuracy `auto` aims at on cells above 1% of the peak.
_RTOL = 0.01
#: multiply-adds per matrix product: OpenBLAS runs up to 4 · 65,536 on one thread
_GEMM_MACS = 200_000
_MAX_SUBGRID_NODES = 16_000_000
#: Largest pair of stencil spectra the `auto` path keeps between calls (values; 20 MB).
_CACHED_SPECTRUM_VALUES = 2_500_000
#: `auto` layouts used once already: their stencil spectra are kept from the second use.
_SEEN_LAYOUTS: set[tuple] = set()
#: Points handled at once where per-point arrays are made (fresh memory is slow).
_CHUNK = 65_536


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


def nrd_bandwidth(x: np.ndarray, y: np.ndarray, counts: np.ndarray | None = None) -> float:
    """The sfhotspot rule of thumb (R's ``MASS::bandwidth.nrd``), averaged over x and y.

    4 · 1.06 · min(sd, IQR/1.34) · n^(−1/5) for each coordinate, metres. `counts`:
    incidents at each (distinct) point, as if each point were repeated that often
    (same quantiles, numpy's linear interpolation, without building the repeats).
    """

    def one(v: np.ndarray) -> float:
        if counts is not None:
            return _nrd_counted(v, counts)
        if len(v) < 2:
            return 0.0
        q75, q25 = np.percentile(v, [75, 25])
        return 4 * 1.06 * min(float(np.std(v, ddof=1)), (q75 - q25) / 1.34) * len(v) ** -0.2

    return (one(x) + one(y)) / 2


def _nrd_counted(v: np.ndarray, counts: np.ndarray) -> float:
    """:func:`nrd_bandwidth` of one coordinate whose value v[i] occurs counts[i] times."""
    n = float(counts.sum())
    if n < 2:
        return 0.0
    order = np.argsort(v)  # ties hold equal values: any order
    vs, upto = v[order], np.cumsum(counts[order])

    def quantile(q: float) -> float:  # numpy's "linear" method on the repeated values
        at = n * q + (1 - q) - 1
        lo = math.floor(at)
        a, b = vs[np.searchsorted(upto, [lo, min(lo + 1, n - 1)], side="right")]
        t = at - lo
        return float(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)

    mean = float((counts * v).sum()) / n  # not np.dot: BLAS threads fight on shared cores
    sd = math.sqrt(float((counts * (v - mean) ** 2).sum()) / (n - 1))
    return 4 * 1.06 * min(sd, (quantile(0.75) - quantile(0.25)) / 1.34) * n**-0.2


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


def _subgrid_factor(grid: Grid, bandwidth: float, kernel: str) -> int:
    """Sub-cells per cell of the forced FFT path (step ≤ h / :data:`_NODES_PER_BANDWIDTH`).

    Odd, so that every cell centre is a sub-grid node (see :func:`_fft`) and the
    convolution is read at the centres themselves, with no further interpolation (its
    measured accuracy is for those).
    """
    k = max(1, math.ceil(_NODES_PER_BANDWIDTH[kernel] * grid.cell_size / bandwidth))
    return k if k % 2 else k + 1


def _fft_shape(grid: Grid, bandwidth: float, kernel: str) -> tuple[int, int, int, int]:
    """Sub-grid factor k, margin m (nodes), FFT shape (rows, cols) of the padded sub-grid."""
    k = _subgrid_factor(grid, bandwidth, kernel)
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


def _even_spectrum(quadrant: np.ndarray, fy: int, fx: int, rows: int | None = None) -> np.ndarray:
    """``rfft2`` of a stencil even in x and in y, from its quadrant of offsets ≥ 0.

    The stencil is centred on index 0 (wrapping around). Real, a cosine sum: two small
    matrix products instead of a transform of the whole padded array. A stack of
    quadrants (..., n, n) gives a stack of spectra. `rows`: only the first rows (the
    spectrum is even in the row frequency too: row fy − p is row p).
    """
    n = quadrant.shape[-1]
    cy = _cosines(np.arange(fy if rows is None else rows), n, fy)
    cx = _cosines(np.arange(fx // 2 + 1), n, fx)
    # one BLAS thread: these products take milliseconds, and threads fighting over
    # shared cores made them take tens
    with _blas().limit(limits=1, user_api="blas"):
        return cy @ quadrant @ cx.T


def _cosines(freqs: np.ndarray, n: int, length: int) -> np.ndarray:
    """cos(2π·f·d/length) for offsets d = 0..n-1, doubled for d > 0 (±d both count)."""
    twice = np.where(np.arange(n) == 0, 1.0, 2.0)
    return np.cos(2 * math.pi * np.outer(freqs, np.arange(n)) / length) * twice


@functools.cache
def _blas() -> Any:
    """The controller of the loaded BLAS libraries (threadpoolctl; found once)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


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


def _quartic_box_sups(lo: np.ndarray, hi: np.ndarray, lo2: np.ndarray, hi2: np.ndarray):
    """Sup of K_xx⁺ and K_xx⁻ over boxes, unit quartic (h = 1), divided by 4·3/π.

    `lo`, `hi`: smallest and largest |x| over each box; `lo2`, `hi2`: the same for |y|.
    Inside the disc K_xx = (12/π)(3x² + y² − 1): increasing in |x| and |y|, so its
    largest value over a box is at the far corner or, when that corner is outside, on
    the rim (where it tends to 2x²), and its smallest at the near corner; 0 outside.
    """
    inside = lo * lo + lo2 * lo2 < 1
    far = np.where(hi * hi + hi2 * hi2 < 1, 3 * hi * hi + hi2 * hi2 - 1,
                   2 * np.minimum(hi * hi, 1 - lo2 * lo2))
    return np.where(inside, np.maximum(far, 0.0), 0.0), np.maximum(1 - 3 * lo * lo - lo2 * lo2, 0.0)


def _gauss_box_sups(lo: np.ndarray, hi: np.ndarray, lo2: np.ndarray, hi2: np.ndarray):
    """Sup of K_xx⁺ and K_xx⁻ over boxes, unit gaussian (σ = 1, untruncated), times 2π.

    K_xx = e^(−y²/2) · e^(−x²/2)(x² − 1)/(2π): the y factor is largest at the smallest
    |y|; the x factor is negative below |x| = 1 (most so at 0) and peaks at |x| = √3.
    """
    fy = np.exp(-0.5 * lo2 * lo2)
    t = np.clip(math.sqrt(3.0), lo, hi)
    plus = np.maximum(np.exp(-0.5 * t * t) * (t * t - 1), 0.0)
    minus = np.maximum(np.exp(-0.5 * lo * lo) * (1 - lo * lo), 0.0)
    return plus * fy, minus * fy


@functools.lru_cache(maxsize=32)
def _bound_stencil(kernel: str, ratio: float, half: int) -> np.ndarray:
    """Per-point bound on plain linear binning's error, for bandwidth 1 and step `ratio`.

    Quadrant (offsets 0..`half` steps in x and y) of E: a point of unit weight binned
    to a node at offset d from a cell centre is off there by at most E(d). Bilinear
    interpolation on a sub-cell of side s errs by ½tx(1−tx)s²·K_xx(ξ) +
    ½ty(1−ty)s²·K_yy(ξ′) for some ξ, ξ′ in the sub-cell (t(1−t) ≤ ¼), and the sub-cell
    of any point binned to that node lies within the box d ± s: so the error lies
    between −s²/8·(sup K_xx⁻ + sup K_yy⁻) and s²/8·(sup K_xx⁺ + sup K_yy⁺) over that
    box (computed exactly: :func:`_quartic_box_sups`, :func:`_gauss_box_sups`), and E
    is the larger of the two. The gaussian's cut at 5σ is a jump, added in full to
    every box that reaches inside the cut.
    """
    a = np.arange(half + 1, dtype=float)
    lo = np.maximum(a - 1, 0.0) * ratio  # nearest |x| in the box, then farthest
    hi = (a + 1) * ratio
    lo_x, lo_y = lo[None, :], lo[:, None]
    hi_x, hi_y = hi[None, :], hi[:, None]
    if kernel == "quartic":
        sups = _quartic_box_sups(lo_x, hi_x, lo_y, hi_y), _quartic_box_sups(lo_y, hi_y, lo_x, hi_x)
        scale, jump, reach = 12 / math.pi, 0.0, 1.0
    else:
        sups = _gauss_box_sups(lo_x, hi_x, lo_y, hi_y), _gauss_box_sups(lo_y, hi_y, lo_x, hi_x)
        scale, reach = 1 / (2 * math.pi), GAUSS_TRUNCATE
        jump = math.exp(-0.5 * reach * reach) * scale
    (px, mx), (py, my) = sups
    near = lo_x * lo_x + lo_y * lo_y < reach * reach  # box reaches inside the support
    return np.where(near, ratio * ratio / 8 * scale * np.maximum(px + py, mx + my) + jump, 0.0)


def _auto_layout(grid: Grid, bandwidth: float, kernel: str) -> tuple[int, int, int, int, int]:
    """Sub-grid of the `auto` path: factor k, margin m, stencil half-width, FFT shape.

    k sub-cells per cell makes the step at most bandwidth / :data:`_AUTO_NODES`. The
    margin puts every cell centre on a node whose index is a multiple of k, so that
    reading the centres only is a fold of the spectrum (:func:`_convolve_at_centres`);
    the FFT rows and columns are multiples of k for the same reason.
    """
    k = max(1, math.ceil(_AUTO_NODES[kernel] * grid.cell_size / bandwidth - 1e-9))
    half = math.ceil(support_radius(bandwidth, kernel) / (grid.cell_size / k)) + 1
    m = -(-(half + 2 + k // 2) // k) * k - k // 2
    # the binned nodes (n·k + 2m) fit; no wrap-around onto a cell centre, as the
    # centres lie m > `half` nodes (the stencil's reach) inside them
    fy = k * sp_fft.next_fast_len(-(-(grid.nrows * k + 2 * m) // k), real=False)
    fx = k * sp_fft.next_fast_len(-(-(grid.ncols * k + 2 * m) // k), real=True)
    return k, m, half, fy, fx


def _convolve_at_centres(spec: np.ndarray, quadrants: np.ndarray, k: int, fx: int,
                         rows: slice, cols: slice,
                         spectra: np.ndarray | None = None) -> np.ndarray:
    """Inverse ``rfft2`` of ``spec`` times each even stencil's spectrum, at every k-th node.

    `quadrants`: (stencils, n, n), offsets ≥ 0 of stencils even in x and y (see
    :func:`_even_spectrum`). Keeping every k-th row and column of a signal is summing
    its spectrum's k × k blocks (aliasing) and inverting at 1/k the length each way: the
    rows are summed as the products are made, the columns after (their upper half from
    the lower by Hermitian symmetry), and one small inverse transform is left. The
    stencils' spectra are made and used a few rows at a time (:func:`_spectrum_rows`)
    and nothing large is allocated (fresh memory is slow on this VM). `rows`, `cols`
    pick the cell centres (in nodes / k). `fx` must be a multiple of k. `spectra`: the
    stencils' spectra already made, (stencils, fy, fx//2 + 1), as
    :func:`_stencil_spectra` keeps them (`quadrants` then only gives their count and
    size); None: made here.
    """
    fy, fxh = spec.shape
    ny, nx, count = fy // k, fx // k, len(quadrants)
    folded = np.empty((ny, fxh), complex)
    tmp = np.empty((_row_step(quadrants.shape[-1], fxh, ny), fxh), complex)
    small = np.empty((ny, nx // 2 + 1), complex)
    out = np.empty((count, len(range(ny)[rows]), len(range(nx)[cols])))
    n = quadrants.shape[-1]
    if spectra is None:  # made once for every stencil
        cosines = _cosines(np.arange(fxh), n, fx), _cosines(np.arange(fy), n, fy)
    for i in range(count):  # one stencil at a time: one folded array
        if spectra is not None:
            _fold_rows(spec, spectra[i], ny, folded)
            blocks = ()
        else:
            blocks = _spectrum_rows(quadrants[i], fy, fx, ny, cosines)
        for lo, hi, kb in blocks:
            if lo < ny:  # the first block of rows is written, the others added
                np.multiply(spec[lo:hi], kb, out=folded[lo:hi])
            else:
                np.multiply(spec[lo:hi], kb, out=tmp[: hi - lo])
                folded[lo % ny: lo % ny + hi - lo] += tmp[: hi - lo]
        _fold_columns(folded, k, fx, small)
        out[i] = sp_fft.irfft2(small, s=(ny, nx))[rows, cols]
    out /= k * k
    return out


def _fold_rows(spec: np.ndarray, spectrum: np.ndarray, ny: int, folded: np.ndarray) -> None:
    """`folded` (ny, fxh) = the sum over blocks b of ``spec[b·ny + r] × spectrum[b·ny + r]``.

    `spectrum`: a stencil's (real) spectrum with each value twice, (fy, 2·fxh), as
    :func:`_stencil_spectra` keeps it, so that the product is real times real on
    `spec`'s float view (numpy's complex times real converts the real factor to
    complex first, ~1.7x slower), block by block in the order of the row-by-row path:
    the same values.
    """
    pairs, out = spec.view(float), folded.view(float)
    np.multiply(pairs[:ny], spectrum[:ny], out=out)
    tmp = np.empty_like(out)
    for lo in range(ny, len(pairs), ny):
        np.multiply(pairs[lo: lo + ny], spectrum[lo: lo + ny], out=tmp)
        out += tmp


def _row_step(n: int, fxh: int, ny: int) -> int:
    """Rows of a stencil's spectrum made by one matrix product (see :func:`_spectrum_rows`)."""
    return max(1, min(ny, _GEMM_MACS // (n * fxh)))


def _spectrum_rows(quadrant: np.ndarray, fy: int, fx: int, ny: int,
                   cosines: tuple[np.ndarray, np.ndarray] | None = None):
    """Yield (lo, hi, rows lo..hi-1) of the (fy, fx) ``rfft2`` of an even stencil.

    `quadrant`: (n, n), its offsets ≥ 0 (see :func:`_even_spectrum`). Blocks never
    straddle a multiple of `ny` rows. Matrix products small enough that BLAS runs them on
    one thread (threads fought over shared cores; limiting them with threadpoolctl
    restarted them after a fork); each block's rows are overwritten by the next.
    `cosines`: :func:`_cosines` for the columns and the rows, if already made.
    """
    n, fxh = quadrant.shape[-1], fx // 2 + 1
    step, cstep = _row_step(n, fxh, ny), max(1, _GEMM_MACS // (n * n))
    cx, cy = cosines or (_cosines(np.arange(fxh), n, fx), _cosines(np.arange(fy), n, fy))
    ker, across = np.empty((step, fxh)), np.empty((n, fxh))
    for c in range(0, fxh, cstep):
        np.matmul(quadrant, cx[c: c + cstep].T, out=across[:, c: c + cstep])
    lo = 0
    while lo < fy:
        hi = min(lo + step, (lo // ny + 1) * ny)  # within one block of ny rows
        yield lo, hi, np.matmul(cy[lo:hi], across, out=ker[: hi - lo])
        lo = hi


def _fold_columns(folded: np.ndarray, k: int, fx: int, small: np.ndarray) -> None:
    """Sum a half spectrum's k blocks of columns into `small`: keeping every k-th column.

    `folded`: (ny, fx//2 + 1), the ``rfft2`` layout of a real (ny, fx) signal; `small`
    gets the same for the signal's every k-th column, (ny, fx/k//2 + 1), times k.
    Frequency q of the decimated signal sums columns q + b·fx/k (b < k); those above
    fx/2 are the conjugates of column fx − (q + b·fx/k) at row −r (Hermitian symmetry).
    Slices only: each block's columns are a run, ascending or descending.
    """
    nx, half = fx // k, small.shape[1]
    small[:] = 0
    for b in range(k):
        c0 = b * nx
        nd = max(0, min(half, fx // 2 + 1 - c0))  # columns read directly
        small[:, :nd] += folded[:, c0: c0 + nd]
        if nd < half:  # columns c0 + nd ... c0 + half - 1, by symmetry: descending runs
            part = np.conj(folded[:, fx - c0 - half + 1: fx - c0 - nd + 1][:, ::-1])
            small[0, nd:] += part[0]
            small[1:, nd:] += part[:0:-1]  # row r reads row ny - r


def _bin_linear(u: np.ndarray, v: np.ndarray, w: np.ndarray | None, binned: np.ndarray,
                fx: int) -> None:
    """Linear binning, added to the (fy, fx) nodes of `binned`, (fy, 2·(fx//2 + 1)).

    `u`, `v`: the points' places in nodes (≥ 0; overwritten); `w`: weights (None: 1
    each). Each point's weight goes to the four nodes around it, bilinearly, added with
    ``np.add.at``: no index or weight arrays four points long, and the corners come
    from u·v in the same three point-long buffers (fresh memory is slow on this VM).
    The spare columns let :func:`_rfft2_inplace` put the spectrum in place.
    """
    if not len(u):
        return
    stride = binned.shape[1]
    j0 = u.astype(np.intp)  # >= 0: truncation is floor
    flat = v.astype(np.intp)
    u -= j0  # now each point's place in its sub-cell, 0..1
    v -= flat
    flat *= stride
    flat += j0
    del j0
    nodes = binned.ravel()
    ne = np.multiply(u, v)  # north-east: u·v (times w)
    if w is not None:
        ne *= w
        u *= w
        v *= w
    np.add.at(nodes[stride + 1:], flat, ne)
    u -= ne  # south-east: u(1 - v)
    np.add.at(nodes[1:], flat, u)
    v -= ne  # north-west: (1 - u)v
    np.add.at(nodes[stride:], flat, v)
    # south-west: w - the other three
    if w is None:
        np.subtract(1.0, ne, out=ne)
    else:
        np.subtract(w, ne, out=ne)
    ne -= u
    ne -= v
    np.add.at(nodes, flat, ne)


def _rfft2_inplace(padded: np.ndarray, fx: int) -> np.ndarray:
    """``rfft2`` of ``padded[:, :fx]``, written over `padded` (fy, 2·(fx//2+1)): no new array.

    Rows are transformed 64 at a time (each row's spectrum takes its own row's
    memory), then the columns in place: fresh memory is slow on this VM.
    """
    spec = padded.view(complex)
    for lo in range(0, len(padded), 64):
        spec[lo: lo + 64] = sp_fft.rfft(padded[lo: lo + 64, :fx], axis=1)
    return sp_fft.fft(spec, axis=0, overwrite_x=True)


def _auto_quadrants(kernel: str, bandwidth: float, step: float, half: int) -> np.ndarray:
    """The `auto` path's two stencils (kernel, error bound; per m²), offsets 0..`half` steps.

    `step`: the sub-grid step in metres. Quadrants (2, half + 1, half + 1) of stencils
    even in x and y, as :func:`_convolve_at_centres` takes them.
    """
    off = np.arange(half + 1) * step
    quad = np.empty((2, half + 1, half + 1))
    quad[0] = kernel_values(off[None, :] ** 2 + off[:, None] ** 2, bandwidth, kernel)
    quad[1] = _bound_stencil(kernel, round(step / bandwidth, 12), half) / bandwidth**2
    return quad


@functools.lru_cache(maxsize=2)
def _stencil_spectra(kernel: str, bandwidth: float, step: float, half: int, k: int,
                     fy: int, fx: int) -> np.ndarray:
    """``rfft2`` (fy, fx) of the :func:`_auto_quadrants` stencils, read-only, each value twice.

    (2, fy, 2·(fx//2 + 1)): real spectra, each value repeated for the real and the
    imaginary part of the transform it multiplies (:func:`_fold_rows`). Made as
    :func:`_convolve_at_centres` makes them row by row (the same products in the same
    order: the same values), kept for the next call with the same layout.
    """
    quad = _auto_quadrants(kernel, bandwidth, step, half)
    out = np.empty((len(quad), fy, fx // 2 + 1, 2))
    n, fxh = half + 1, fx // 2 + 1
    cosines = _cosines(np.arange(fxh), n, fx), _cosines(np.arange(fy), n, fy)
    for i, stencil in enumerate(quad):
        for lo, hi, rows in _spectrum_rows(stencil, fy, fx, fy // k, cosines):
            out[i, lo:hi] = rows[..., None]
    out.flags.writeable = False
    return out.reshape(len(quad), fy, -1)


def _binned_bounded(x, y, w, grid: Grid, bandwidth: float, kernel: str):
    """Plain linear binning + FFT at the cell centres, with a bound on its error (per m²).

    Returns (estimate, bound, k): the exact sum at every cell centre (row 0 = north)
    is within `bound` of the estimate, up to FFT round-off. The bound is the binned
    weights convolved with :func:`_bound_stencil`: one forward transform, two
    spectra, two inverse transforms read at the cell centres only.
    """
    k, m, half, fy, fx = _auto_layout(grid, bandwidth, kernel)
    s = grid.cell_size / k
    ny, nx = grid.nrows * k + 2 * m, grid.ncols * k + 2 * m
    o = 0.5 if k % 2 else 0.0  # odd k: nodes at sub-cell centres, so centres are nodes
    binned = np.zeros((fy, 2 * (fx // 2 + 1)))
    for lo in range(0, len(x), _CHUNK):  # chunks: small point-long arrays, reused
        u = x[lo: lo + _CHUNK] - (grid.x0 + (o - m) * s)
        u *= 1 / s
        v = y[lo: lo + _CHUNK] - (grid.y0 + (o - m) * s)
        v *= 1 / s
        wc = None if w is None else w[lo: lo + _CHUNK]
        if not (u.min() >= 0 and u.max() < nx - 1 and v.min() >= 0 and v.max() < ny - 1):
            ok = (u >= 0) & (u < nx - 1) & (v >= 0) & (v < ny - 1)  # too far out to count
            u, v, wc = u[ok], v[ok], None if wc is None else wc[ok]
        _bin_linear(u, v, wc, binned, fx)
    spec = _rfft2_inplace(binned, fx)
    del binned
    quad = _auto_quadrants(kernel, bandwidth, s, half)
    # the stencils' spectra kept when small enough and the layout is used a second time
    # (kde is often called again with the same grid and bandwidth); else made a few rows
    # at a time: a one-off call pays no fresh memory for them (page faults, ~1 ms a MB)
    layout = (kernel, bandwidth, s, half, k, fy, fx)
    spectra = None
    if 4 * fy * (fx // 2 + 1) <= _CACHED_SPECTRUM_VALUES:
        if layout in _SEEN_LAYOUTS:
            spectra = _stencil_spectra(*layout)
        else:
            if len(_SEEN_LAYOUTS) >= 64:
                _SEEN_LAYOUTS.clear()
            _SEEN_LAYOUTS.add(layout)
    q = (m + k // 2) // k  # cell centre (row r from the south, col c) at node k(q + r), k(q + c)
    est, bound = _convolve_at_centres(spec, quad, k, fx, slice(q, q + grid.nrows),
                                      slice(q, q + grid.ncols), spectra)
    return est[::-1], bound[::-1], k


def _fft(
    x, y, w, grid: Grid, bandwidth: float, kernel: str, *, nonnegative: bool = True,
) -> np.ndarray:
    """Corrected linear binning on a fine sub-grid, FFT convolution, read at cell centres.

    Linear binning evaluates, for each point, the bilinear interpolant of the kernel
    between the four sub-grid nodes around it; that interpolant is off by
    ½·step²·(tx(1−tx)·K_xx + ty(1−ty)·K_yy) to leading order (tx, ty the point's
    place within its sub-cell). Binning w·tx(1−tx) and w·ty(1−ty) as well and
    convolving them with K_xx and K_yy removes that term, leaving an error of order
    step³ (step⁴ per unit of curvature change): three FFT convolutions, summed in the
    frequency domain, one inverse transform.

    The sub-grid has k nodes per cell (:func:`_subgrid_factor`), placed so that every
    cell centre is a node: at the sub-cell centres for odd k, at their corners for
    even k.

    Returns the kernel sum at the cell centres (per m²).
    """
    k, m, fy, fx = _fft_shape(grid, bandwidth, kernel)
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

    Points are bucketed by cell (sorted, only the buckets some asked cell reaches);
    every asked cell takes the points of the buckets within the kernel's reach, all
    (cell, point) pairs at once in chunks of ~1M. The cost is the number of pairs,
    not points × all cells.
    """
    cs = grid.cell_size
    radius = support_radius(bandwidth, kernel)
    reach = int(math.ceil(radius / cs)) + 1
    # buckets over the grid widened by `reach` on every side: points just outside count
    wide = grid.ncols + 2 * reach
    di, dj = (a.ravel() for a in np.mgrid[-reach: reach + 1, -reach: reach + 1])
    # cell offsets whose nearest point can be within the radius of the centre
    gap = np.hypot(np.maximum(np.abs(di) - 0.5, 0), np.maximum(np.abs(dj) - 0.5, 0)) * cs
    di, dj = di[gap <= radius], dj[gap <= radius]
    crow, ccol = np.divmod(np.asarray(cells), grid.ncols)
    wanted = (crow[:, None] + di + reach) * wide + (ccol[:, None] + dj + reach)  # cell x offset
    need = np.zeros((grid.nrows + 2 * reach) * wide, bool)
    need[wanted.ravel()] = True
    # each point's cell as grid.cell_index computes it, a chunk of points at a time
    sels, buckets = [], []
    for lo in range(0, len(x), _CHUNK):
        col = np.subtract(x[lo: lo + _CHUNK], grid.x0)
        col /= cs
        np.floor(col, out=col)
        row = np.subtract(y[lo: lo + _CHUNK], grid.y0)
        row /= cs
        np.floor(row, out=row)  # counted from the south
        sel = np.flatnonzero((col >= -reach) & (col < grid.ncols + reach)
                             & (row > -reach - 1) & (row <= grid.nrows - 1 + reach))
        bucket = ((grid.nrows - 1 + reach - row[sel]) * wide + (col[sel] + reach)).astype(np.intp)
        keep = need[bucket]
        sels.append(sel[keep] + lo)
        buckets.append(bucket[keep])
    sel, bucket = np.concatenate(sels), np.concatenate(buckets)
    order = np.argsort(bucket)
    bucket = bucket[order]
    px, py = x[sel[order]], y[sel[order]]
    pw = np.ones(len(px)) if w is None else w[sel[order]]
    lo = np.searchsorted(bucket, wanted)
    cnt = np.searchsorted(bucket, wanted, side="right") - lo
    per_cell = cnt.sum(axis=1)
    cx = grid.x0 + (ccol + 0.5) * cs
    cy = grid.y1 - (crow + 0.5) * cs
    acc = np.zeros(len(crow))
    ends = np.cumsum(per_cell)
    first = 0
    while first < len(crow):  # chunks of cells with ~1M pairs between them
        last = max(first + 1, int(np.searchsorted(ends, ends[first] - per_cell[first] + 1e6)))
        c_lo, c_cnt = lo[first:last].ravel(), cnt[first:last].ravel()
        which = np.repeat(np.arange(first, last).repeat(len(di)), c_cnt)
        p = np.repeat(c_lo - (np.cumsum(c_cnt) - c_cnt), c_cnt) + np.arange(len(which))
        dx, dy = px[p] - cx[which], py[p] - cy[which]
        kv = kernel_values(dx * dx + dy * dy, bandwidth, kernel) * pw[p]
        acc[first:last] = np.bincount(which - first, kv, minlength=last - first)
        first = last
    return acc


def _merge_codes(x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(place of each point, x, y of the places), or None when points rarely repeat.

    police.uk snaps crimes to shared points. A sample of 20,000 decides first whether
    there are repeats to pay for (London 2022: 76% of the sample distinct, 849k crimes
    on 96k points; scattered points: 100%). The coordinates' bits are hashed into one
    int64 and factorized (~2.5x faster than factorizing x + iy); a hash collision,
    which would merge two places, is checked for and falls back to the complex key.
    """
    step = max(1, len(x) // 20_000)
    sample = _hash_xy(x[::step], y[::step])  # a collision only makes repeats look likelier
    if len(pd.unique(sample)) > 0.95 * len(sample):
        return None
    codes, _ = pd.factorize(_hash_xy(x, y))
    first = np.zeros(codes.max() + 1, np.intp)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # a row of each place
    ux, uy = x[first], y[first]
    if not ((ux[codes] == x) & (uy[codes] == y)).all():  # a collision (or NaN)
        codes, uniq = pd.factorize(x + 1j * y)
        ux, uy = uniq.real, uniq.imag
    return codes, ux, uy


def _hash_xy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The coordinates' bits mixed into one int64 (unique values found ~2x faster than complex)."""
    return x.view(np.int64) * np.int64(-7046029254386353131) ^ y.view(np.int64)


def _collapse(x, y, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical coordinates into one weighted point (see :func:`_merge_codes`)."""
    merged = _merge_codes(x, y)
    if merged is None:
        return x, y, w
    codes, ux, uy = merged
    return ux, uy, np.bincount(codes, weights=w, minlength=len(ux)).astype(float)


def choose_method(n_points: int, grid: Grid, bandwidth: float, kernel: str) -> str:
    """``"exact"`` or ``"fft"``, whichever should be cheaper for `n_points` locations.

    The uniform and epanechnikov kernels (a jump / a kink at the edge of the disc,
    which binning smears over a sub-grid step) are always evaluated exactly.
    """
    if kernel not in _NODES_PER_BANDWIDTH:
        return "exact"
    offsets = math.pi * (support_radius(bandwidth, kernel) / grid.cell_size + 1) ** 2
    _, _, _, fy, fx = _auto_layout(grid, bandwidth, kernel)
    nodes = fy * fx
    if nodes > _MAX_SUBGRID_NODES:
        return "exact"
    # measured on a 2-core machine: exact ~25 ns per location and cell offset (gaussian
    # ~80: exp); the FFT path ~4 ms to set up, ~60 ns per point (binning), ~15 ns per
    # sub-grid node (spectra, products) and ~0.5 ns per node·log2(nodes) (the one
    # full-size transform)
    exact_cost = (80e-9 if kernel == "gaussian" else 25e-9) * n_points * offsets
    fft_cost = 0.004 + 60e-9 * n_points + nodes * (15e-9 + 0.5e-9 * math.log2(nodes))
    # exact answers are worth having while they take under ~15 ms (a borough's month)
    return "exact" if exact_cost <= max(fft_cost, 0.015) else "fft"


def _fft_bounded(x, y, w, grid: Grid, bandwidth: float, kernel: str) -> np.ndarray | None:
    """The `auto` FFT path: plain binned FFT, then the exact sum where its bound is > 1%.

    A cell keeps the FFT value when its error bound (:func:`_binned_bounded`) is at
    most 1% of the smallest value the exact sum can have there; cells whose exact
    value cannot reach 1% of the peak are not checked. None when so many cells fail
    that evaluating the whole grid exactly is cheaper.
    """
    est, bound, k = _binned_bounded(x, y, w, grid, bandwidth, kernel)
    # FFT round-off: ~1e-16 · log(nodes) of the largest sums; 1e-9 of all weight at
    # the kernel's peak covers it many times over
    total = float(len(x) if w is None else w.sum())
    bound += 1e-9 * float(kernel_values(np.zeros(1), bandwidth, kernel)[0]) * total
    low = est - bound  # the exact sum is at least this
    may_matter = est + bound >= 0.01 * low.max()  # may be above 1% of the exact peak
    cells = np.flatnonzero(may_matter & (bound > _RTOL * low))
    out = np.maximum(est, 0.0)  # exact sums are >= 0: clipping round-off only helps
    if len(cells) > 0.5 * out.size:
        log.debug("kde: FFT bound above 1%% on %d of %d cells; exact evaluation",
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
        path: exact, or a plain binned FFT whose cells its error bound cannot clear
        to 1% are summed exactly (method reported "fft").
        With ``nonnegative=False`` the FFT path keeps its small negative values (the
        binning correction dips below 0 near a kernel's rim), so that arrays of parts
        of the data add up to the whole's (:func:`hotspots.distributed.kde_dask`
        clips the sum).
    """
    kernel_values(np.zeros(1), 1.0, kernel)  # validates the kernel name
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = None if weights is None else np.asarray(weights, float)  # None: 1 each
    if method != "auto" and w is None:
        w = np.ones(len(x))
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
    # the FFT path's error bound adds up non-negative weights (kde's are checked)
    if choose_method(len(x), grid, bandwidth, kernel) == "fft" and (w is None or w.min() >= 0):
        out = _fft_bounded(x, y, w, grid, bandwidth, kernel)
        if out is not None:
            return out, "fft"
    return _exact(x, y, np.ones(len(x)) if w is None else w, grid, bandwidth, kernel), "exact"


def _incident_points(inc: gpd.GeoDataFrame, weights: str | None):
    """Distinct places of the incidents: x, y (m), summed weights, incidents, total.

    Rows sharing one point object (``read_incidents`` makes one per snap point: 96k
    for London's 849k crimes) are read once (:func:`hotspots.clusters.distinct_points`);
    with missing or non-point rows, every row's coordinates (centroids) instead,
    identical places merged (:func:`_merge_codes`). The incident counts (`pc`) are
    None when every place holds one.
    """
    from .clusters import distinct_points  # (clusters does not import density)

    try:
        uxy, inv = distinct_points(inc)
    except BadInputError:  # rows without a location (left out) or not points
        x, y, ok = points_xy(inc)
        w = weights_array(inc, weights)[ok]
        if len(x) == 0:
            raise BadInputError("incidents have no locations: nothing to map") from None
        merged = _merge_codes(x, y) if len(x) > 1000 else None
        if merged is None:
            return x, y, w, None, len(x)
        inv, x, y = merged
    else:
        x, y, w = np.ascontiguousarray(uxy[:, 0]), np.ascontiguousarray(uxy[:, 1]), None
        if len(x) == len(inv):
            return x, y, weights_array(inc, weights)[np.argsort(inv)], None, len(inv)
    w = weights_array(inc, weights) if w is None else w
    counts = np.bincount(inv, minlength=len(x)).astype(float)
    return x, y, np.bincount(inv, weights=w, minlength=len(x)), counts, len(inv)


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
        cheaper of exact and a plain binned FFT with a rigorous error bound, whose
        cells the bound cannot clear to 1% are summed exactly. See the module
        docstring.
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
    if kernel not in KERNELS:
        raise BadInputError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    px, py, pw, pc, n_inc = _incident_points(inc, weights)
    extent = clip if clip is not None else (px.min(), py.min(), px.max(), py.max())
    chosen = []
    if grid is None:
        if cell_size is None:
            cell_size = default_cell_size(extent)
            chosen.append(f"cell size {cell_size:g} m (shorter side / 50)")
        grid = make_grid(extent, cell_size)
    if bandwidth is None:
        nrd = nrd_bandwidth(px, py, pc)  # once: quantiles of every incident
        lo, hi = BANDWIDTH_CELLS  # as default_bandwidth, without computing nrd again
        bandwidth = float(round(min(hi * grid.cell_size, max(lo * grid.cell_size, nrd))))
        chosen.append(f"bandwidth {bandwidth:g} m (rule of thumb {nrd:.0f} m, kept to 2-3 cells)")
    bandwidth = check_positive(bandwidth, "bandwidth")
    dens, method = density_array(px, py, grid, bandwidth, kernel, pw, method)
    dens *= 1e6
    counts = bin_points(px, py, pc, grid)  # number of incidents (not their weights)
    if not quiet:
        log.info(
            "kde: %s%s kernel, %d incidents, %dx%d cells, %s evaluation",
            "; ".join(chosen) + "; " if chosen else "",
            kernel,
            n_inc,
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
            "n_points": int(n_inc),
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
