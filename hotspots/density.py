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
96k), then takes the FFT path when it is the cheaper one *and* a rigorous bound on
its error (the per-point bound of :func:`_error_envelope`, summed over points by one
more convolution) proves every cell above 1% of the peak is within 1% of the exact
value; otherwise it evaluates exactly. The bound is worst-case at the rim of the
quartic (whose second derivative jumps there), so on stacked borough data it does
not prove 1% and `auto` evaluates exactly over the unique points, which is then as
fast (milliseconds for a borough month); scattered or gaussian data get the proven
FFT answer (London 2022, gaussian σ = 1.5 cells: 0.4 s instead of 7 s). The uniform and
epanechnikov kernels (a jump / a kink at the rim of the disc, which binning cannot
place to within 1%) are always evaluated exactly over unique points.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy.ndimage import maximum_filter1d

from ._errors import BadInputError
from ._validate import check_gdf, check_nonempty, check_positive, weights_array
from .grid import Grid, bin_points, default_cell_size, make_grid, points_xy, to_gdf

log = logging.getLogger("hotspots")

KERNELS = ("quartic", "gaussian", "uniform", "epanechnikov")
#: Gaussian kernels are cut at this many standard deviations (mass lost: e^-12.5 ≈ 4e-6):
#: far enough that the cut-off's small jump never matters for accuracy.
GAUSS_TRUNCATE = 5.0
#: Default-bandwidth limits, in cells (see :func:`default_bandwidth`).
BANDWIDTH_CELLS = (2.0, 3.0)
#: Sub-grid nodes per bandwidth in the FFT path (finer = slower, more often proven).
_NODES_PER_BANDWIDTH = {"quartic": 32, "gaussian": 10}
#: Relative accuracy `auto` guarantees on cells above 1% of the peak.
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
    """sfhotspot's rule of thumb (R's ``MASS::bandwidth.nrd``), averaged over x and y.

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


def _subgrid_factor(grid: Grid, bandwidth: float, kernel: str) -> int:
    """Odd sub-cells per cell, so the sub-grid step is ≤ bandwidth / nodes-per-bandwidth.

    Odd, so that every cell centre is a sub-grid node: the convolution is then read
    at the centres themselves, with no further interpolation.
    """
    k = max(1, math.ceil(_NODES_PER_BANDWIDTH[kernel] * grid.cell_size / bandwidth))
    return k if k % 2 else k + 1


def _fft_shape(grid: Grid, bandwidth: float, kernel: str) -> tuple[int, int, int, int]:
    """Sub-grid factor k, margin m (nodes), FFT shape (rows, cols) of the padded sub-grid."""
    k = _subgrid_factor(grid, bandwidth, kernel)
    half = math.ceil(support_radius(bandwidth, kernel) / (grid.cell_size / k))
    m = half + 2  # a point further out than this reaches no cell centre
    return (
        k,
        m,
        sp_fft.next_fast_len(grid.nrows * k + 2 * m + 2 * half, real=True),
        sp_fft.next_fast_len(grid.ncols * k + 2 * m + 2 * half, real=True),
    )


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


def _error_envelope(d: np.ndarray, h: float, kernel: str, step: float) -> np.ndarray:
    """Bound on the FFT path's error for a point of unit weight, vs node distance `d`.

    Writing the corrected bilinear binning of one point as 1-D operations along x
    then y, its error is at most step³/24·(|K_xxx| + |K_yyy|) + step⁴/64·|K_xxyy|
    (Peano kernel of the corrected 1-D interpolation; sups over the point's sub-cell)
    where the kernel is smooth over the sub-cell, and ¾·step²·max|K_xx|, |K_yy| (plus
    the jump, for the truncated gaussian) where the edge of the support crosses it.
    Sups over the sub-cell are taken as maxima over radii within 1.5 steps of `d`.
    """
    slack = 1.5 * step
    radius = support_radius(h, kernel)
    r = np.linspace(0, float(d.max()) + 2 * slack, 8192)
    h2 = h * h
    if kernel == "quartic":
        c = 3.0 / (math.pi * h2)
        smooth = step**3 / 24 * 24 * math.sqrt(2) * c * r / h2**2 + step**4 / 64 * 8 * c / h2**2
        m2 = 8 * c / h2
        jump = 0.0
    else:
        k = kernel_values(r * r, h, kernel)
        third = 2 * (3 * r / h2**2 + r**3 / h2**3)
        m2 = k * (1 / h2 + r * r / h2**2)
        smooth = step**3 / 24 * k * third + step**4 / 64 * k * (1 / h2 + r * r / h2**2) ** 2
        jump = 4 * float(kernel_values(np.array([(radius - slack) ** 2]), h, kernel)[0])
    g = np.where(r < radius, smooth, 0.0)
    band = np.abs(r - radius) <= slack
    g = np.where(band, np.maximum(g, 0.75 * step * step * np.max(m2 * band) + jump), g)
    width = int(np.ceil(slack / (r[1] - r[0]))) + 1
    return np.interp(d, r, maximum_filter1d(g, size=2 * width + 1, mode="nearest"))


def _fft(
    x, y, w, grid: Grid, bandwidth: float, kernel: str, check: bool = False,
    nonnegative: bool = True,
) -> tuple[np.ndarray, float]:
    """Corrected linear binning on a fine sub-grid, FFT convolution, read at cell centres.

    Linear binning evaluates, for each point, the bilinear interpolant of the kernel
    between the four sub-grid nodes around it; that interpolant is off by
    ½·step²·(tx(1−tx)·K_xx + ty(1−ty)·K_yy) to leading order (tx, ty the point's
    place within its sub-cell). Binning w·tx(1−tx) and w·ty(1−ty) as well and
    convolving them with K_xx and K_yy removes that term, leaving an error of order
    step³ (step⁴ per unit of curvature change): three FFT convolutions, summed in the
    frequency domain, one inverse transform.

    Returns the kernel sum at the cell centres (per m²) and, with `check`, the largest
    ratio of a rigorous error bound to the value over cells above 1% of the peak
    (see :func:`_error_envelope`; ``inf`` if unchecked).
    """
    k, m, fy, fx = _fft_shape(grid, bandwidth, kernel)
    s = grid.cell_size / k
    half = m - 2
    ny, nx = grid.nrows * k + 2 * m, grid.ncols * k + 2 * m
    # node j sits at x0 - m*s + (j + 0.5)*s; rows counted from the south here
    u = (x - grid.x0) / s + m - 0.5
    v = (y - grid.y0) / s + m - 0.5
    j0, i0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    ok = (j0 >= 0) & (j0 < nx - 1) & (i0 >= 0) & (i0 < ny - 1)
    j0, i0, w = j0[ok], i0[ok], w[ok]
    tu, tv = u[ok] - j0, v[ok] - i0
    flat = i0 * nx + j0
    corners = [(flat, (1 - tu) * (1 - tv)), (flat + 1, tu * (1 - tv)),
               (flat + nx, (1 - tu) * tv), (flat + nx + 1, tu * tv)]  # fmt: skip

    def spectrum(a: np.ndarray) -> np.ndarray:
        return sp_fft.rfft2(a, s=(fy, fx), workers=-1)

    def binned(wt: np.ndarray) -> np.ndarray:
        acc = sum(np.bincount(i, wt * b, minlength=ny * nx) for i, b in corners)
        return spectrum(acc.reshape(ny, nx))

    off = np.arange(-half, half + 1) * s
    X, Y = off[None, :], off[:, None]
    kern, kxx, kyy = _kernel_derivatives(X, Y, bandwidth, kernel)
    b0 = binned(w)
    total = b0 * spectrum(kern)
    total -= 0.5 * s * s * binned(w * tu * (1 - tu)) * spectrum(kxx)
    total -= 0.5 * s * s * binned(w * tv * (1 - tv)) * spectrum(kyy)
    # full convolution: node (i, j) reads index (i + half, j + half)
    rows = half + m + (k - 1) // 2 + k * np.arange(grid.nrows)[::-1]  # flip: row 0 = north
    cols = half + m + (k - 1) // 2 + k * np.arange(grid.ncols)
    del u, v
    out = sp_fft.irfft2(total, s=(fy, fx), workers=-1)[np.ix_(rows, cols)]
    del total
    if nonnegative:  # FFT round-off leaves ±1e-18 at zeros; the correction dips below 0
        out = np.maximum(out, 0.0)
    if not check:
        return out, math.inf
    env = _error_envelope(np.sqrt(X * X + Y * Y), bandwidth, kernel, s)
    bound = sp_fft.irfft2(b0 * spectrum(env), s=(fy, fx), workers=-1)[np.ix_(rows, cols)]
    peak = float(kernel_values(np.zeros(1), bandwidth, kernel)[0])
    bound = np.maximum(bound, 0) + 1e-11 * peak * float(w.sum())  # FFT round-off
    big = out >= 0.009 * out.max()  # 0.9%: the bound also covers cells the error lifts
    return out, float(np.max(bound[big] / out[big])) if big.any() else 0.0


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
    _, _, fy, fx = _fft_shape(grid, bandwidth, kernel)
    nodes = fy * fx
    if nodes > _MAX_SUBGRID_NODES:
        return "exact"
    # measured on a 2-core machine: ~200 ns per location and cell offset exact; the
    # FFT path (five transforms with the error bound) ~15 ns per node·log2(nodes)
    exact_cost = 200e-9 * n_points * offsets
    fft_cost = 50e-9 * n_points + 15e-9 * nodes * math.log2(nodes)
    return "exact" if exact_cost <= fft_cost else "fft"


def density_array(
    x: np.ndarray,
    y: np.ndarray,
    grid: Grid,
    bandwidth: float,
    kernel: str = "quartic",
    weights: np.ndarray | None = None,
    method: str = "auto",
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
        docstring). ``"auto"`` merges identical coordinates, then takes the FFT path
        when it is the cheaper one *and* its rigorous error bound proves that 1%
        guarantee for this data, and the exact path otherwise.
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
        return _fft(x, y, w, grid, bandwidth, kernel, nonnegative=nonnegative)[0], "fft"
    if method != "auto":
        raise BadInputError(f"method must be 'auto', 'exact' or 'fft', got {method!r}")
    if len(x) > 1000:
        x, y, w = _collapse(x, y, w)
    if choose_method(len(x), grid, bandwidth, kernel) == "fft":
        out, ratio = _fft(x, y, w, grid, bandwidth, kernel, check=True)
        if ratio <= _RTOL * 0.99:  # |fft − exact| ≤ 0.99% of fft ⇒ ≤ 1% of exact
            return out, "fft"
        log.debug("kde: FFT error bound %.2g not proven below 1%%; exact evaluation", ratio)
    return _exact(x, y, w, grid, bandwidth, kernel), "exact"


def kde(
    inc: gpd.GeoDataFrame,
    cell_size: float | None = None,
    bandwidth: float | None = None,
    kernel: str = "quartic",
    weights: str | None = None,
    clip: Any = None,
    quiet: bool = False,
    *,
    grid: Grid | None = None,
    method: str = "auto",
    drop_empty: bool = False,
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
    quiet : bool
        Do not log the chosen parameters.
    grid : Grid, optional
        Use this grid (e.g. to compare periods cell for cell); overrides `cell_size`.
    method : {"auto", "exact", "fft"}
        ``"exact"``: direct sum. ``"fft"`` (quartic, gaussian): binned FFT
        convolution, within 1% of the direct sum on every cell above 1% of the peak
        (measured ≤ 0.26% on police.uk data). ``"auto"``: the FFT path when cheaper
        and its error bound proves the 1% guarantee, else exact over unique
        locations. See the module docstring.
    drop_empty : bool
        Drop cells whose density is 0.

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
    return out
