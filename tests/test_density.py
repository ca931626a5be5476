"""Kernel density: exact against a brute-force sum and scikit-learn, on real data."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import shapely
from sklearn.neighbors import KernelDensity

import hotspots as hs
from hotspots._errors import BadInputError
from hotspots.density import (
    default_bandwidth,
    density_array,
    kernel_values,
    nrd_bandwidth,
)
from hotspots.grid import make_grid, points_xy, to_array


def brute(x, y, grid, h, kernel, w=None):
    """Direct evaluation: every point's kernel at every cell centre (per m²)."""
    xy, inv = np.unique(np.c_[x, y], axis=0, return_inverse=True)
    wt = np.bincount(inv.ravel(), weights=w, minlength=len(xy))
    xc, yc = (a.ravel() for a in grid.centres())
    out = np.empty(xc.size)
    for i in range(0, xc.size, 1000):  # chunks keep memory small
        d2 = (xc[i : i + 1000, None] - xy[:, 0]) ** 2 + (yc[i : i + 1000, None] - xy[:, 1]) ** 2
        out[i : i + 1000] = kernel_values(d2, h, kernel) @ wt
    return out.reshape(grid.shape)


def assert_close_where_it_matters(got, ref, rtol=0.01):
    big = ref > 0.01 * ref.max()
    rel = np.abs(got - ref)[big] / ref[big]
    assert rel.max() <= rtol, f"max relative error {rel.max():.4f} on cells > 1% of peak"


@pytest.mark.parametrize("kernel", ["quartic", "gaussian", "uniform", "epanechnikov"])
def test_kernels_integrate_to_one(kernel):
    h, s = 100.0, 2.0
    off = np.arange(-600, 600 + s, s)
    d2 = off[None, :] ** 2 + off[:, None] ** 2
    assert kernel_values(d2, h, kernel).sum() * s * s == pytest.approx(1, abs=2e-3)
    # quartic as in QGIS/ArcGIS/sfhotspot: 3/(pi h^2) (1 - d^2/h^2)^2 inside the radius
    assert kernel_values(np.array([50.0**2]), h, "quartic")[0] == pytest.approx(
        3 / (math.pi * h * h) * (1 - 0.25) ** 2
    )


def test_kde_matches_direct_evaluation_on_camden(camden):
    out = hs.kde(camden, quiet=True)
    grid = make_grid(camden, out.attrs["cell_size"])
    x, y, _ = points_xy(camden)
    ref = brute(x, y, grid, out.attrs["bandwidth"], "quartic") * 1e6
    got, _ = to_array(out, "density")
    assert_close_where_it_matters(got, ref, rtol=1e-9)
    assert out.attrs["kernel"] == "quartic" and out["count"].sum() == len(camden)
    assert list(out.columns) == ["row", "col", "count", "density", "geometry"]


def brute_at(x, y, xc, yc, h, kernel, chunk=200):
    """Direct evaluation at the points (xc, yc) only (per m²), over unique locations."""
    xy, inv = np.unique(np.c_[x, y], axis=0, return_inverse=True)
    wt = np.bincount(inv.ravel(), minlength=len(xy)).astype(float)
    out = np.empty(len(xc))
    for i in range(0, len(xc), chunk):
        d2 = (xc[i : i + chunk, None] - xy[:, 0]) ** 2 + (yc[i : i + chunk, None] - xy[:, 1]) ** 2
        out[i : i + chunk] = kernel_values(d2, h, kernel) @ wt
    return out


#: The FFT path's measured error is <= 0.26% on these data; assert the issue's 1%
#: with room to spare by holding it to 0.5%.
FFT_RTOL = 0.005


@pytest.mark.parametrize("h_cells", [None, 1.5])
def test_fft_path_matches_direct_evaluation_on_camden(camden, h_cells):
    """Forced FFT (no fallback), quartic, on police.uk points stacked on snap points."""
    x, y, _ = points_xy(camden)
    out = hs.kde(camden, quiet=True, method="exact")
    cs = out.attrs["cell_size"]
    h = out.attrs["bandwidth"] if h_cells is None else h_cells * cs
    grid = make_grid(camden, cs)
    got = hs.kde(camden, bandwidth=h, grid=grid, method="fft", quiet=True)
    assert got.attrs["method"] == "fft"
    assert_close_where_it_matters(
        to_array(got, "density")[0], brute(x, y, grid, h, "quartic") * 1e6, FFT_RTOL
    )


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize("h_cells", [3, 1.5])
def test_fft_path_matches_direct_evaluation_on_harrow(harrow, kernel, h_cells):
    x, y, _ = points_xy(harrow)
    grid = make_grid(harrow, 200)  # Harrow's default cell size (3 cells = default bandwidth)
    h = h_cells * 200
    got, method = density_array(x, y, grid, h, kernel, method="fft")
    assert method == "fft"
    assert_close_where_it_matters(got, brute(x, y, grid, h, kernel), FFT_RTOL)


def test_fft_path_on_london_sample(london_2022):
    """100k of London's 849k crimes, default grid and bandwidth; brute force on 2,000
    random cells above 1% of the peak (and the peak cell itself)."""
    inc, _ = london_2022  # read once per session (conftest)
    rng = np.random.default_rng(1)
    sample = inc.iloc[np.sort(rng.choice(len(inc), 100_000, replace=False))]
    x, y, _ = points_xy(sample)
    fft = hs.kde(sample, method="fft", quiet=True)
    cs, h = fft.attrs["cell_size"], fft.attrs["bandwidth"]
    assert (cs, h) == (500, 1500)
    got, _ = to_array(fft, "density")
    exact, _ = density_array(x, y, make_grid(sample, cs), h, method="exact")
    big = np.flatnonzero(exact.ravel() > 0.01 * exact.max())
    pick = np.r_[np.argmax(exact), rng.choice(big, min(2000, big.size), replace=False)]
    xc, yc = (a.ravel()[pick] for a in make_grid(sample, cs).centres())
    ref = brute_at(x, y, xc, yc, h, "quartic") * 1e6
    rel = np.abs(got.ravel()[pick] - ref) / ref
    assert ref[0] == pytest.approx(exact.max() * 1e6, rel=1e-9)  # picked the true peak
    assert rel.max() <= FFT_RTOL, f"max relative error {rel.max():.4f}"
    # gaussian: `auto` proves the FFT bound here and keeps the FFT answer
    sd = h / 3
    auto, method = density_array(x, y, make_grid(sample, cs), sd, "gaussian")
    assert method == "fft"
    ref_g = brute_at(x, y, xc, yc, sd, "gaussian")
    keep = ref_g > 0.01 * auto.max()
    assert (np.abs(auto.ravel()[pick] - ref_g) / ref_g)[keep].max() <= 0.01


def test_uniform_kernel_is_always_exact(harrow):
    x, y, _ = points_xy(harrow)
    grid = make_grid(harrow, 200)
    got, method = density_array(x, y, grid, 600.0, "uniform")
    assert method == "exact"
    assert_close_where_it_matters(got, brute(x, y, grid, 600.0, "uniform"), 1e-9)
    with pytest.raises(BadInputError, match="exact"):
        density_array(x, y, grid, 600.0, "uniform", method="fft")


def test_auto_fft_is_proven_within_one_percent():
    """When auto keeps the FFT answer, its error bound held: check against brute force."""
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 10_000, 120_000), rng.uniform(0, 10_000, 120_000)
    grid = make_grid((0, 0, 10_000, 10_000), 250)
    got, method = density_array(x, y, grid, 1000.0, "quartic")
    assert method == "fft"
    # brute force at every 4th row and column keeps it quick
    xc, yc = (a[::4, ::4].ravel() for a in grid.centres())
    ref = np.empty(xc.size)
    for i in range(xc.size):
        ref[i] = kernel_values((x - xc[i]) ** 2 + (y - yc[i]) ** 2, 1000.0, "quartic").sum()
    rel = np.abs(got[::4, ::4].ravel() - ref) / ref
    assert rel[ref > 0.01 * ref.max()].max() <= 0.01


@pytest.mark.parametrize(("ours", "theirs"), [("gaussian", "gaussian"), ("uniform", "tophat")])
def test_agrees_with_sklearn_kernel_density(camden, ours, theirs):
    x, y, _ = points_xy(camden)
    out = hs.kde(camden, cell_size=250, bandwidth=300, kernel=ours, quiet=True)
    xc, yc = make_grid(camden, 250).centres()
    kd = KernelDensity(kernel=theirs, bandwidth=300).fit(np.c_[x, y])
    ref = np.exp(kd.score_samples(np.c_[xc.ravel(), yc.ravel()])) * len(x) * 1e6
    got, _ = to_array(out, "density")
    if ours == "uniform":  # sklearn's tophat counts d < h, ours d <= h: compare off the rim
        ref = ref.reshape(got.shape)
        np.testing.assert_allclose(np.median(np.abs(got - ref)), 0, atol=1e-9)
    else:
        assert_close_where_it_matters(got, ref.reshape(got.shape), rtol=1e-4)


def test_weights_equal_repeated_points(camden):
    sub = camden.iloc[:400].copy()
    sub["n"] = np.arange(400) % 3 + 1
    rep = sub.loc[sub.index.repeat(sub["n"])]
    a = hs.kde(sub, cell_size=100, bandwidth=300, weights="n", quiet=True)
    b = hs.kde(rep, cell_size=100, bandwidth=300, quiet=True)
    np.testing.assert_allclose(a["density"], b["density"], rtol=1e-9, atol=1e-12)
    assert a["count"].sum() == 400  # count stays the number of incidents


def test_density_integrates_to_number_of_incidents(camden):
    out = hs.kde(camden.iloc[:500], cell_size=50, bandwidth=400, quiet=True, grid=None)
    inside = hs.kde(
        camden.iloc[:500], bandwidth=400, quiet=True,
        grid=make_grid(camden.iloc[:500], 50, pad=500),
    )
    cell_km2 = (50 / 1000) ** 2
    assert inside["density"].sum() * cell_km2 == pytest.approx(500, rel=2e-3)
    assert out["density"].sum() * cell_km2 < 500  # the bounding box alone loses the rim


def test_clip_and_defaults(harrow, caplog):
    poly = shapely.Point(515_000, 189_000).buffer(1500)
    with caplog.at_level(logging.INFO, logger="hotspots"):
        out = hs.kde(harrow, clip=poly)
    assert "bandwidth" in caplog.text and "cell size" in caplog.text
    assert out.intersects(poly).all()
    cs, h = out.attrs["cell_size"], out.attrs["bandwidth"]
    assert cs == 50  # 3 km square / 50 = 60 m -> 50 m (nearest nice number)
    x, y, _ = points_xy(harrow)
    assert 2 * cs <= h <= 3 * cs
    assert default_bandwidth(x, y, 200) == 600  # Harrow rule of thumb ~1.1 km, capped
    assert 1000 < nrd_bandwidth(x, y) < 1250


def test_bad_inputs(camden):
    with pytest.raises(BadInputError, match="kernel"):
        hs.kde(camden, kernel="triangle")
    with pytest.raises(BadInputError, match="empty"):
        hs.kde(camden.iloc[:0])
    with pytest.raises(BadInputError, match="bandwidth"):
        hs.kde(camden, bandwidth=-5)
    before = camden.copy()
    hs.kde(camden, quiet=True)
    assert camden.equals(before)  # input not mutated


def _clouds(rng, n, side=6000.0):
    """Distinct points: half scattered, half in 20 tight clusters (hotspots)."""
    k = n // 2
    centres = rng.uniform(500, side - 500, (20, 2)).repeat(k // 20, axis=0)
    return (np.r_[rng.uniform(0, side, k), rng.normal(centres[:, 0], 150)],
            np.r_[rng.uniform(0, side, k), rng.normal(centres[:, 1], 150)])


@pytest.mark.parametrize("h_cells", [3, 4])
def test_auto_fft_on_distinct_points_within_one_percent(h_cells):
    """`auto` on scattered + clustered distinct points: the binned FFT with its error
    estimate, within 1% of brute force on every cell above 1% of the peak."""
    x, y = _clouds(np.random.default_rng(h_cells), 16_000)
    grid = make_grid((0, 0, 6000, 6000), 100)
    got, method = density_array(x, y, grid, h_cells * 100.0)
    assert method == "fft"
    assert_close_where_it_matters(got, brute(x, y, grid, h_cells * 100.0, "quartic"), 0.01)


def test_auto_fft_corrects_points_packed_closer_than_a_step():
    """Points packed within a metre of each other err together (their binning errors
    do not cancel): the estimate counts them as one and the cells it cannot clear are
    summed exactly, so the result stays within 1% of brute force."""
    rng = np.random.default_rng(5)
    spots = rng.uniform(0, 6000, (400, 2))
    xy = spots.repeat(40, axis=0) + rng.uniform(-0.5, 0.5, (16_000, 2))
    grid = make_grid((0, 0, 6000, 6000), 100)
    got, _ = density_array(xy[:, 0], xy[:, 1], grid, 300.0)
    assert_close_where_it_matters(got, brute(xy[:, 0], xy[:, 1], grid, 300.0, "quartic"), 0.01)


def test_exact_sum_at_chosen_cells_is_the_direct_sum():
    from hotspots.density import _exact_cells

    x, y = _clouds(np.random.default_rng(9), 5000)
    w = np.random.default_rng(9).uniform(0.5, 3, len(x))
    grid = make_grid((0, 0, 6000, 6000), 150)
    cells = np.random.default_rng(9).choice(grid.nrows * grid.ncols, 300, replace=False)
    ref = brute(x, y, grid, 450.0, "quartic", w).ravel()[cells]
    np.testing.assert_allclose(_exact_cells(x, y, w, grid, cells, 450.0, "quartic"), ref,
                               rtol=1e-9, atol=1e-18)


@pytest.mark.parametrize(("kernel", "h"), [("quartic", 400.0), ("gaussian", 150.0)])
def test_auto_within_one_percent_on_distinct_points_with_tight_peaks(kernel, h):
    """20k distinct points, half scattered and half in four tight clusters (sd 30 m):
    `auto` keeps the binned FFT where its error bound proves 1% and sums the rest
    (the rims around the peaks) exactly; within 1% of brute force everywhere above
    1% of the peak."""
    rng = np.random.default_rng(20)
    centres = rng.uniform(1000, 5000, (4, 2)).repeat(2500, axis=0)
    xy = np.r_[rng.uniform(0, 6000, (10_000, 2)), centres + rng.normal(0, 30, (10_000, 2))]
    grid = make_grid((0, 0, 6000, 6000), 100)
    got, method = density_array(xy[:, 0], xy[:, 1], grid, h, kernel)
    assert method == "fft"
    assert_close_where_it_matters(got, brute(xy[:, 0], xy[:, 1], grid, h, kernel), 0.01)


@pytest.mark.parametrize(("kernel", "h_cells", "sd"), [
    ("quartic", 1.3, 2.0), ("quartic", 3.7, 40.0), ("gaussian", 0.6, 5.0), ("gaussian", 1.4, 80.0),
])
def test_bounded_fft_path_within_one_percent_on_odd_grids(kernel, h_cells, sd):
    """The auto FFT path itself (binning + FFT + bound + exact where the bound says so)
    on non-square grids, weighted points partly off the grid and clusters from stacked
    (sd 2 m) to broad: within 1% of brute force on every cell above 1% of the peak."""
    from hotspots.density import _fft_bounded

    rng = np.random.default_rng(int(h_cells * 10))
    grid = make_grid((0, 0, 33 * 70 - 1e-6, 35 * 70 - 1e-6), 70)  # a width once laid out too tight
    centres = rng.uniform(300, 1400, (5, 2)).repeat(600, axis=0)
    xy = np.r_[rng.uniform(-200, 2800, (3000, 2)), centres + rng.normal(0, sd, (3000, 2))]
    w = rng.uniform(0.2, 3, len(xy))
    got = _fft_bounded(xy[:, 0], xy[:, 1], w, grid, h_cells * 70, kernel)
    assert got is not None and got.shape == grid.shape
    assert_close_where_it_matters(got, brute(xy[:, 0], xy[:, 1], grid, h_cells * 70, kernel, w),
                                  0.01)


@pytest.mark.parametrize(("kernel", "h"),
                         [("quartic", 190.0), ("quartic", 250.0), ("gaussian", 73.0)])
def test_binned_estimate_within_its_bound_at_every_cell(kernel, h):
    """The auto path's binned FFT read at the cell centres (its spectrum folded in rows
    and columns: odd and even sub-grid factors, non-square grids) is within its own
    error bound of brute force at every cell, and that bound is small."""
    from hotspots.density import _auto_layout, _binned_bounded

    x, y = _clouds(np.random.default_rng(int(h)), 6000)
    grid = make_grid((0, 0, 6000 - 1e-6, 4700), 50 if kernel == "gaussian" else 100)
    est, bound, k = _binned_bounded(x, y, None, grid, h, kernel)
    _, _, _, fy, fx = _auto_layout(grid, h, kernel)
    assert fy % k == 0 and fx % k == 0
    ref = brute(x, y, grid, h, kernel)
    assert est.shape == ref.shape == grid.shape
    assert (np.abs(est - ref) <= bound + 1e-12 * ref.max()).all()
    assert bound.max() < 0.05 * ref.max()
