"""The `auto` FFT path keeps its stencil spectra from a layout's second use: same values."""

from __future__ import annotations

import numpy as np

from hotspots import density
from hotspots.grid import make_grid


def test_kept_spectra_give_the_same_density():
    rng = np.random.default_rng(5)
    x = np.r_[rng.uniform(0, 10_000, 15_000), rng.normal(5_000, 400, 15_000)]
    y = np.r_[rng.uniform(0, 10_000, 15_000), rng.normal(4_000, 400, 15_000)]
    grid = make_grid((0, 0, 10_000, 10_000), 100.0)
    density._SEEN_LAYOUTS.clear()
    density._stencil_spectra.cache_clear()
    for kernel, h in (("quartic", 400.0), ("gaussian", 150.0)):
        first, how = density.density_array(x, y, grid, h, kernel)
        assert how == "fft"
        assert density._stencil_spectra.cache_info().currsize == (kernel == "gaussian")
        again, _ = density.density_array(x, y, grid, h, kernel)  # spectra made and kept
        kept, _ = density.density_array(x, y, grid, h, kernel)  # spectra reused
        assert density._stencil_spectra.cache_info().hits >= 1
        # the kept spectra are the products the row-by-row path makes: same values
        assert np.array_equal(first, again) and np.array_equal(first, kept)
        # and the whole is still within 1% of the direct sum above 1% of the peak
        exact, _ = density.density_array(x, y, grid, h, kernel, method="exact")
        big = exact > 0.01 * exact.max()
        assert (np.abs(kept - exact)[big] / exact[big]).max() <= 0.01
