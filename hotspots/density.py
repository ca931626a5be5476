"""Kernel density of incidents on the shared grid.

``kde`` returns the density at each cell centre, in incidents per km², i.e. the sum
over incidents of the kernel (per m²) times 10⁶. Two ways to compute it, both giving
the exact-evaluation answer:

- ``"exact"``: for every point, evaluate the kernel at the cell centres within its
  radius and add (cost: points × cells under one kernel). Exact to rounding.
- ``"fft"``: spread the points over a sub-grid ``cell_size / k`` fine with linear
  (bilinear) binning, convolve with the kernel sampled on that sub-grid
  (``scipy.signal.fftconvolve``) and read the values at the cell centres (cost:
  points + sub-grid nodes · log). `k` gives 24 (quartic) or 10 (gaussian) sub-grid
  steps per bandwidth.

``method="auto"`` (the default) runs the FFT path when it is the cheaper one *and* a
rigorous bound on the binning error (the bilinear-interpolation bound per point,
summed over points by one more convolution) proves every cell above 1% of the peak
is within 1% of the exact value; otherwise it collapses identical coordinates
(police.uk snaps crimes to shared points) and evaluates exactly. Real borough data
therefore gets the exact answer; a million scattered points get the proven FFT one.
The uniform and epanechnikov kernels (a jump / a kink at the edge) are always exact.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
from scipy.ndimage import maximum_filter1d
from scipy.signal import fftconvolve

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
_NODES_PER_BANDWIDTH = {"quartic": 24, "gaussian": 10}
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
    """Odd sub-cells per cell so the sub-grid step is ≤ bandwidth / nodes-per-bandwidth."""
    k = max(1, math.ceil(_NODES_PER_BANDWIDTH.get(kernel, 24) * grid.cell_size / bandwidth))
    return k if k % 2 else k + 1


def _fft_size(grid: Grid, bandwidth: float, kernel: str) -> int:
    k = _subgrid_factor(grid, bandwidth, kernel)
    m = math.ceil(support_radius(bandwidth, kernel) / (grid.cell_size / k)) + 1
    return (grid.nrows * k + 2 * m) * (grid.ncols * k + 2 * m)


def _fft(
    x, y, w, grid: Grid, bandwidth: float, kernel: str, check: bool = False
) -> tuple[np.ndarray, bool]:
    """Linear binning to a fine sub-grid, FFT convolution, read at cell centres.

    With `check`, also bound the binning error at every cell (per-point bound × the
    weight of points that can reach the cell, itself from a disc convolution) and
    report whether every cell above 1% of the peak is within 1% of the exact value.
    """
    k = _subgrid_factor(grid, bandwidth, kernel)
    s = grid.cell_size / k
    radius = support_radius(bandwidth, kernel)
    m = math.ceil(radius / s) + 4  # margin, sub-grid nodes
    ny, nx = grid.nrows * k + 2 * m, grid.ncols * k + 2 * m
    # node j sits at x0 - m*s + (j + 0.5)*s; rows counted from the south here
    u = (x - grid.x0) / s + m - 0.5
    v = (y - grid.y0) / s + m - 0.5
    j0, i0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    tu, tv = u - j0, v - i0
    ok = (j0 >= 0) & (j0 < nx - 1) & (i0 >= 0) & (i0 < ny - 1)
    j0, i0, tu, tv, w = j0[ok], i0[ok], tu[ok], tv[ok], w[ok]
    flat = i0 * nx + j0
    size = ny * nx
    binned = (
        np.bincount(flat, w * (1 - tu) * (1 - tv), minlength=size)
        + np.bincount(flat + 1, w * tu * (1 - tv), minlength=size)
        + np.bincount(flat + nx, w * (1 - tu) * tv, minlength=size)
        + np.bincount(flat + nx + 1, w * tu * tv, minlength=size)
    ).reshape(ny, nx)
    half = m - 1
    off = np.arange(-half, half + 1) * s
    d2 = off[None, :] ** 2 + off[:, None] ** 2
    rows = m + (k - 1) // 2 + k * np.arange(grid.nrows)[::-1]  # flip: row 0 = north
    cols = m + (k - 1) // 2 + k * np.arange(grid.ncols)
    out = fftconvolve(binned, kernel_values(d2, bandwidth, kernel), mode="same")
    out = np.maximum(out[np.ix_(rows, cols)], 0.0)  # FFT round-off leaves -1e-18 at zeros
    if not check:
        return out, True
    # Bilinear interpolation error for one point: <= step²/8 · sup(|K_xx| + |K_yy|) over
    # its sub-cell; summing that envelope over points (one more convolution of the
    # same binned weights) bounds the error at every cell centre.
    env = _curvature_envelope(np.sqrt(d2), bandwidth, kernel, slack=3 * s)
    bound = s * s / 8 * fftconvolve(binned, env, mode="same")[np.ix_(rows, cols)]
    peak = float(kernel_values(np.zeros(1), bandwidth, kernel)[0])
    bound = np.maximum(bound, 0) + 1e-12 * peak * float(w.sum())  # FFT round-off
    big = out >= 0.009 * out.max()
    return out, bool(np.all(bound[big] <= _RTOL * out[big]))


def _curvature_envelope(d: np.ndarray, h: float, kernel: str, slack: float) -> np.ndarray:
    """max over |r - d| <= slack of |f''(r)| + |f'(r)|/r for the radial kernel f."""
    r = np.linspace(0, d.max() + 2 * slack, 4096)
    u = (r / h) ** 2
    peak = float(kernel_values(np.zeros(1), h, kernel)[0])
    if kernel == "quartic":
        g = np.where(u < 1, peak / h**2 * (np.abs(12 * u - 4) + 4 * (1 - u)), 0.0)
    else:  # gaussian (the tiny jump at the cut-off, 4e-6 of the peak, is ignored)
        g = np.where(u <= GAUSS_TRUNCATE**2, peak / h**2 * np.exp(-u / 2) * (np.abs(u - 1) + 1), 0)
    width = int(np.ceil(slack / (r[1] - r[0]))) + 1
    env = maximum_filter1d(g, size=2 * width + 1, mode="nearest")
    return np.interp(d, r, env)


def _collapse(x, y, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical coordinates into one weighted point (police.uk snaps crimes).

    Sorting a million points costs about a second here, so a sample of 5,000 decides
    first whether there are enough repeats to pay for it.
    """
    key = x + 1j * y
    step = max(1, len(key) // 5000)
    if len(np.unique(key[::step])) > 0.7 * len(key[::step]):
        return x, y, w
    uniq, inv = np.unique(key, return_inverse=True)
    return uniq.real, uniq.imag, np.bincount(inv.ravel(), weights=w, minlength=len(uniq))


def choose_method(n_points: int, grid: Grid, bandwidth: float, kernel: str) -> str:
    """``"exact"`` or ``"fft"``, whichever should be cheaper.

    The uniform and epanechnikov kernels (a jump / a kink at the edge, which binning
    smears) are always evaluated exactly.
    """
    if kernel not in _NODES_PER_BANDWIDTH:
        return "exact"
    cells_per_kernel = math.pi * (support_radius(bandwidth, kernel) / grid.cell_size + 1) ** 2
    # relative costs measured on a 2-core machine: ~35 ns per point-cell pair exact,
    # ~1 ns per node·log2(node) per FFT (three FFTs with the error proof)
    exact_cost = n_points * cells_per_kernel
    nodes = _fft_size(grid, bandwidth, kernel)
    if nodes > _MAX_SUBGRID_NODES:
        return "exact"
    fft_cost = 1.5 * n_points + 0.3 * nodes * math.log2(max(nodes, 2))
    return "exact" if exact_cost <= fft_cost else "fft"


def density_array(
    x: np.ndarray,
    y: np.ndarray,
    grid: Grid,
    bandwidth: float,
    kernel: str = "quartic",
    weights: np.ndarray | None = None,
    method: str = "auto",
) -> tuple[np.ndarray, str]:
    """Kernel sum at each cell centre of `grid`, per m², shape ``grid.shape``.

    The array behind :func:`kde` (multiply by 10⁶ for per km²). `x`, `y` in metres
    (EPSG:27700); points outside the grid still count for cells within reach.

    Returns
    -------
    (array, method used)
        ``method="auto"`` collapses identical coordinates, then runs the FFT path when
        it is cheaper *and* its error bound proves every cell above 1% of the peak is
        within 1% of the exact value; otherwise the exact path. ``"fft"`` skips the
        proof (typically well under 1%, but stacked points can exceed it).
    """
    kernel_values(np.zeros(1), 1.0, kernel)  # validates the kernel name
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, float)
    if method == "exact":
        return _exact(x, y, w, grid, bandwidth, kernel), "exact"
    if method == "fft":
        if kernel not in _NODES_PER_BANDWIDTH:
            raise BadInputError(f"the {kernel} kernel is evaluated exactly: use method='exact'")
        return _fft(x, y, w, grid, bandwidth, kernel)[0], "fft"
    if method != "auto":
        raise BadInputError(f"method must be 'auto', 'exact' or 'fft', got {method!r}")
    if choose_method(len(x), grid, bandwidth, kernel) == "fft":
        out, proven = _fft(x, y, w, grid, bandwidth, kernel, check=True)
        if proven:
            return out, "fft"
    if len(x) > 1000:
        x, y, w = _collapse(x, y, w)
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
        See the module docstring; all agree within 1% where the density matters.
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
