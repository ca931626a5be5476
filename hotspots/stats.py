"""Getis-Ord Gi* hot and cold spots on the shared grid, with FDR correction.

On a regular grid with binary distance-band weights, Gi* needs only two sums per
cell: the incidents in its neighbourhood and the number of cells in it (edge cells
have fewer). Both are convolutions of the grid with the neighbourhood stencil, so the
whole map takes milliseconds. The z-score is Getis & Ord's (1995) Gi*:

    z_i = (Σ_j w_ij x_j − x̄ W_i) / (S √((n W_i − W_i²)/(n − 1)))

with W_i = Σ_j w_ij (the cell itself included), x̄ and S the mean and (population)
standard deviation of the n study-area cells. It equals PySAL's
``esda.G_Local(y, w, star=True, transform="B").Zs``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
from scipy import ndimage
from scipy.signal import fftconvolve
from scipy.stats import norm

from ._errors import BadInputError
from ._validate import check_gdf, check_nonempty, check_positive, weights_array
from .grid import Grid, bin_points, clip_mask, default_cell_size, make_grid, points_xy, to_gdf
from .privacy import mark_anonymous

__all__ = [
    "LABELS",
    "fdr_bh",
    "gistar",
    "gistar_array",
    "neighbourhood",
]

log = logging.getLogger("hotspots")

#: Gi_Bin levels as in ArcGIS: 3 = 99%, 2 = 95%, 1 = 90% confidence.
_LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))
LABELS = {
    3: "hot 99%",
    2: "hot 95%",
    1: "hot 90%",
    0: "not significant",
    -1: "cold 90%",
    -2: "cold 95%",
    -3: "cold 99%",
}


def fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), same shape as `p`.

    A cell is a discovery at false discovery rate α when its q ≤ α. NaNs stay NaN.
    """
    p = np.asarray(p, float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    pv = p[ok]
    n = pv.size
    if n == 0:
        return q
    order = np.argsort(pv)
    ranked = pv[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]  # monotone from the top
    adj = np.empty(n)
    adj[order] = np.minimum(ranked, 1.0)
    q[ok] = adj
    return q


def neighbourhood(cell_size: float, distance: float) -> np.ndarray:
    """Binary stencil of the cells whose centres are within `distance` (inclusive)."""
    r = int(math.floor(distance / cell_size + 1e-9))
    off = np.arange(-r, r + 1) * cell_size
    d = np.hypot(off[None, :], off[:, None])
    return (d <= distance * (1 + 1e-9)).astype(float)


def _window_sum(a: np.ndarray, stencil: np.ndarray) -> np.ndarray:
    """Sum of `a` over the stencil around each cell (zero outside the grid)."""
    if stencil.size <= 225:  # small: direct, exact in floating point
        return ndimage.correlate(a, stencil, mode="constant", cval=0.0)
    out = fftconvolve(a, stencil, mode="same")  # symmetric stencil: same as correlate
    return np.round(out) if np.array_equal(a, np.round(a)) else out  # integer sums exact


def gistar_array(
    counts: np.ndarray, stencil: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores of grid values; returns ``(z, W)`` with W the neighbour counts.

    Cells outside `mask` are not part of the study area: they are neither scored
    (z = NaN) nor neighbours. A study area with no variation gives z = 0.
    """
    mask = np.ones(counts.shape, bool) if mask is None else np.asarray(mask, bool)
    x = np.where(mask, counts, 0.0).astype(float)
    n = int(mask.sum())
    if n < 2:
        raise BadInputError("Gi* needs a study area of at least 2 cells")
    local = _window_sum(x, stencil)
    wsum = _window_sum(mask.astype(float), stencil)
    xbar = x[mask].mean()
    s = math.sqrt(max(float((x[mask] ** 2).mean() - xbar**2), 0.0))
    var = (n * wsum - wsum**2) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (local - xbar * wsum) / (s * np.sqrt(var))
    z = np.where(np.isfinite(z), z, 0.0)  # no variation, or a neighbourhood = everything
    return np.where(mask, z, np.nan), wsum


def _permutation_p(
    x: np.ndarray,
    local: np.ndarray,
    wcard: np.ndarray,
    permutations: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Two-sided pseudo p-values by conditional randomisation (esda's scheme).

    `x`, `local` (observed neighbourhood sums) and `wcard` (neighbour counts, self
    included) are flat over the study-area cells. For cell i its own value stays and
    its W_i − 1 neighbours are drawn without replacement from the other n − 1 cells;
    one set of draws is shared by all cells (valid for each cell, as in esda). The
    folded one-sided p = (as-or-more-extreme + 1) / (permutations + 1) is doubled and
    capped at 1 for a two-sided test.
    """
    n = x.size
    k = max(int(wcard.max()) - 1, 1)
    draws = np.stack([rng.permutation(n - 1)[:k] for _ in range(permutations)])  # (P, k)
    larger = np.empty(n)
    chunk = max(1, 4_000_000 // (permutations * k))
    for start in range(0, n, chunk):
        idx = np.arange(start, min(n, start + chunk))
        ids = draws[None, :, :] + (draws[None, :, :] >= idx[:, None, None])  # skip self
        take = np.arange(k)[None, None, :] < (wcard[idx] - 1)[:, None, None]
        sims = (x[ids] * take).sum(axis=2) + x[idx, None]  # (cells, P)
        larger[idx] = (sims >= local[idx, None] - 1e-9).sum(axis=1)
    larger = np.where(larger > permutations / 2, permutations - larger, larger)
    return np.minimum(1.0, 2 * (larger + 1) / (permutations + 1))


def gistar(  # noqa: PLR0913 (the grid, the neighbourhood, the inference: documented options)
    inc: gpd.GeoDataFrame,
    *,
    cell_size: float | None = None,
    distance: float | None = None,
    permutations: int = 0,
    alpha: float = 0.05,
    p_adjust: str = "fdr",
    weights: str | None = None,
    seed: int = 0,
    clip: Any = None,
    grid: Grid | None = None,
    quiet: bool = False,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots of incident counts on a regular grid.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents (points; analysed in EPSG:27700).
    cell_size : float, optional
        Cell side, metres; default :func:`hotspots.grid.default_cell_size`.
    distance : float, optional
        Neighbourhood radius, metres, between cell centres, inclusive; the cell itself
        always counts. Default ``cell_size·√2``: the cell and its 8 neighbours, as
        sfhotspot does.
    permutations : int
        0 (default): p-values from the normal distribution. Otherwise the number of
        conditional random permutations for pseudo p-values (e.g. 999).
    alpha : float, default 0.05
        Significance level of the ``significant`` column.
    p_adjust : {"fdr", "none"}, default "fdr"
        "fdr": p-values adjusted to control the false discovery rate
        (Benjamini-Hochberg) across the cells; the ``gi_bin``/``label`` levels
        (99/95/90%) use the same adjusted p-values, as ArcGIS's Gi_Bin with FDR
        correction. "none": raw p-values.
    weights : str, optional
        Column to sum per cell instead of counting incidents (e.g. harm).
    seed : int
        Seed of the permutations.
    clip : polygon or GeoDataFrame, optional
        Study area: only cells intersecting it are analysed (and are neighbours).
        Default: the bounding grid of the incidents.
    grid : Grid, optional
        Use this grid (overrides `cell_size`).
    quiet : bool
        Do not log the chosen parameters.

    Returns
    -------
    GeoDataFrame
        ``row, col, count, z, p, q, gi_bin, label, significant, geometry`` where `z` is
        the Gi* z-score, `p` the two-sided p-value (esda's ``p_norm`` is one-sided:
        ours is twice it), `q` the BH-adjusted p, `gi_bin` −3..3 and `label` e.g.
        "hot 99%". With `weights`, `count` is still the number of incidents and the
        statistic uses the weighted sum (column `value`). ``attrs``: ``cell_size``,
        ``distance``, ``permutations``, ``alpha``, ``p_adjust``, ``n_cells``, ``neighbours``.
    """
    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    x, y, ok = points_xy(inc)
    w = weights_array(inc, weights)[ok]
    if len(x) == 0:
        raise BadInputError("incidents have no locations: nothing to analyse")
    permutations = int(permutations)
    if permutations < 0:
        raise BadInputError("permutations must be 0 (analytic p-values) or more")
    if not 0 < alpha < 1:
        raise BadInputError(f"alpha must be between 0 and 1 (e.g. 0.05), got {alpha!r}")
    if p_adjust not in ("fdr", "none"):
        raise BadInputError(f"p_adjust must be 'fdr' or 'none', got {p_adjust!r}")
    fdr = p_adjust == "fdr"
    chosen = []
    if grid is None:
        extent = clip if clip is not None else (x.min(), y.min(), x.max(), y.max())
        if cell_size is None:
            cell_size = default_cell_size(extent)
            chosen.append(f"cell size {cell_size:g} m (shorter side / 50)")
        grid = make_grid(extent, cell_size)
    cs = grid.cell_size
    if distance is None:
        distance = cs * math.sqrt(2)
        chosen.append(f"distance {distance:.0f} m (the cell and its 8 neighbours)")
    distance = check_positive(distance, "distance")
    mask = clip_mask(grid, clip) if clip is not None else np.ones(grid.shape, bool)
    counts = bin_points(x, y, None, grid)
    values = bin_points(x, y, w, grid) if weights else counts
    stencil = neighbourhood(cs, distance)
    z, wsum = gistar_array(values, stencil, mask)
    if permutations:
        local = _window_sum(np.where(mask, values, 0.0), stencil)
        p = np.full(grid.shape, np.nan)
        p[mask] = _permutation_p(
            values[mask], local[mask], wsum[mask], permutations, np.random.default_rng(seed)
        )
    else:
        p = np.where(mask, 2 * norm.sf(np.abs(z)), np.nan)
    q = p.copy()
    q[mask] = fdr_bh(p[mask]) if fdr else p[mask]
    level = np.zeros(grid.shape, np.int8)
    for lv, cut in reversed(_LEVELS):  # 90% first, overwritten by stronger levels
        level[q <= cut] = lv
    gi_bin = (np.sign(np.nan_to_num(z)) * level).astype(np.int8)
    significant = q <= alpha
    if not quiet:
        log.info(
            "gistar: %s%dx%d cells, %d in the study area, %s p-values%s",
            "; ".join(chosen) + "; " if chosen else "",
            grid.nrows,
            grid.ncols,
            int(mask.sum()),
            f"{permutations} permutations" if permutations else "normal",
            f", FDR {alpha:g}" if fdr else f", no FDR correction (p <= {alpha:g})",
        )
    arrays = {"count": counts}
    if weights:
        arrays["value"] = values
    arrays.update(z=z, p=p, q=q, gi_bin=gi_bin, significant=significant)
    out = to_gdf(
        grid,
        arrays,
        mask=mask,
        attrs={
            "distance": float(distance),
            "permutations": permutations,
            "alpha": float(alpha),
            "p_adjust": p_adjust,
            "n_cells": int(mask.sum()),
            "neighbours": int(stencil.sum()),
            "seed": int(seed),
        },
    )
    out.insert(out.columns.get_loc("significant"), "label", out["gi_bin"].map(LABELS))
    out["count"] = out["count"].astype(np.int64)
    return mark_anonymous(out, inc)  # writers blank small counts of anonymous reports
