"""Gi*: equal to PySAL esda on the same grid and weights; FDR against scipy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely
from scipy.stats import false_discovery_control

import hotspots as hs
from hotspots._errors import BadInputError
from hotspots.grid import to_array
from hotspots.stats import LABELS, fdr_bh, neighbourhood

esda = pytest.importorskip("esda")
weights = pytest.importorskip("libpysal.weights")



def esda_g(y, w, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(y.astype(float), w, star=True, transform="B", **kw)


def test_matches_esda_queen_on_a_40x40_grid(camden):
    gi = hs.gistar(camden, cell_size=190, quiet=True)  # Camden: ~40 x 40 cells
    nr, nc = gi.attrs["grid_nrows"], gi.attrs["grid_ncols"]
    assert 38 <= nr <= 42 and 38 <= nc <= 42 and len(gi) == nr * nc
    counts, _ = to_array(gi, "count")
    ref = esda_g(counts.ravel(), weights.lat2W(nr, nc, rook=False))  # queen + self = 9 cells
    z, _ = to_array(gi, "z")
    p, _ = to_array(gi, "p")
    np.testing.assert_allclose(z.ravel(), ref.Zs, atol=1e-6)
    np.testing.assert_allclose(p.ravel(), 2 * ref.p_norm, atol=1e-6)  # ours is two-sided
    assert gi.attrs["distance"] == pytest.approx(190 * 2**0.5)
    assert gi.attrs["neighbours"] == 9


def test_matches_esda_distance_band_with_clip(camden):
    """A wider band, and a study area clipped to a circle (edge cells have fewer neighbours)."""
    area = shapely.Point(528_500, 184_500).buffer(2500)
    gi = hs.gistar(camden, cell_size=200, distance=450, clip=area, p_adjust="none", quiet=True)
    xy = np.c_[gi.geometry.centroid.x, gi.geometry.centroid.y]
    w = weights.DistanceBand(xy, threshold=450 * (1 + 1e-9), binary=True, silence_warnings=True)
    ref = esda_g(gi["count"].to_numpy(), w)
    np.testing.assert_allclose(gi["z"], ref.Zs, atol=1e-6)
    assert gi.intersects(area).all()
    assert gi.attrs["neighbours"] == int(neighbourhood(200, 450).sum()) == 21


def test_fdr_bh_matches_scipy():
    p = np.random.default_rng(0).uniform(size=500) ** 3
    np.testing.assert_allclose(fdr_bh(p), false_discovery_control(p, method="bh"))
    assert np.isnan(fdr_bh(np.array([np.nan, 0.01]))[0])


def test_labels_bins_and_fdr(camden):
    gi = hs.gistar(camden, quiet=True)
    raw = hs.gistar(camden, p_adjust="none", quiet=True)
    assert set(gi["label"]) <= set(LABELS.values())
    assert (gi["label"] == gi["gi_bin"].map(LABELS)).all()
    np.testing.assert_allclose(gi["q"], false_discovery_control(gi["p"], method="bh"))
    hot99 = gi["gi_bin"] == 3
    assert hot99.any() and (gi.loc[hot99, "z"] > 0).all() and (gi.loc[hot99, "q"] <= 0.01).all()
    assert (gi["significant"] == (gi["q"] <= 0.05)).all()
    # FDR correction can only remove discoveries
    assert (gi["gi_bin"].abs() <= raw["gi_bin"].abs()).all()
    assert (gi["gi_bin"] != 0).sum() < (raw["gi_bin"] != 0).sum()


def test_planted_hotspot_is_hot():
    import geopandas as gpd

    rng = np.random.default_rng(1)
    x = np.r_[rng.uniform(0, 5000, 2000), rng.normal(2650, 40, 150)]
    y = np.r_[rng.uniform(0, 5000, 2000), rng.normal(1450, 40, 150)]
    inc = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)
    gi = hs.gistar(inc, cell_size=100, quiet=True)
    cell = gi[gi.contains(shapely.Point(2650, 1450))].iloc[0]
    assert cell["label"] == "hot 99%"
    assert (gi["gi_bin"] == 3).sum() <= 16  # the planted spot and its ring, nothing else


def test_permutations_seeded_and_close_to_esda(camden):
    a = hs.gistar(camden, cell_size=300, permutations=199, seed=4, quiet=True)
    b = hs.gistar(camden, cell_size=300, permutations=199, seed=4, quiet=True)
    np.testing.assert_array_equal(a["p"], b["p"])
    assert (a["p"] >= 1 / 100).all() and (a["p"] <= 1).all()
    counts, _ = to_array(a, "count")
    nr, nc = counts.shape
    ref = esda_g(counts.ravel(), weights.lat2W(nr, nc, rook=False), permutations=199, seed=1)
    diff = np.abs(a["p"].to_numpy() - np.minimum(1, 2 * ref.p_sim))
    assert np.median(diff) < 0.05  # Monte Carlo noise only
    # strong hot spots are strong under both inferences
    assert (a.loc[a["z"] > 5, "p"] <= 0.02).all()


def test_bad_inputs(camden):
    with pytest.raises(BadInputError):
        hs.gistar(camden, alpha=5)
    with pytest.raises(BadInputError):
        hs.gistar(camden, permutations=-1)
    with pytest.raises(BadInputError):
        hs.gistar(camden.iloc[:0])


def test_gi_bin_is_arcgis_fdr_at_each_confidence_level(camden):
    """Gi_Bin with FDR: BH run separately at 10%, 5%, 1% (scipy), strongest level wins."""
    gi = hs.gistar(camden, cell_size=150, quiet=True)
    p, z = gi["p"].to_numpy(), gi["z"].to_numpy()
    expect = np.zeros(len(gi), int)
    for level, alpha in ((1, 0.10), (2, 0.05), (3, 0.01)):
        m = len(p)
        order = np.sort(p)
        passed = np.flatnonzero(order <= alpha * np.arange(1, m + 1) / m)
        cut = order[passed.max()] if len(passed) else -1.0  # BH step-up threshold
        expect[p <= cut] = level
    expect = np.sign(z).astype(int) * expect
    np.testing.assert_array_equal(gi["gi_bin"].to_numpy(), expect)
    assert {1, 2, 3} <= set(expect)  # all three hot levels occur
