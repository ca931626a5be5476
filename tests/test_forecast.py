"""hs.forecast: every method against a grid computed by hand, auto's choice made
without the month it forecasts, and the equal-area flagging rule."""

from __future__ import annotations

import importlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

import hotspots as hs

F = importlib.import_module("hotspots.forecasting")  # the module behind hs.forecast
_fft = importlib.import_module("hotspots._fft")

# a 5 x 5 grid of 100 m cells: x 0..500, y 0..500; row 0 is north (y 400..500). The
# study area stops 1 m short of the east and north edges (cells there stay inside).
STUDY = box(0, 0, 499, 499)


def cell_pt(row: int, col: int) -> Point:
    return Point(col * 100 + 50, 450 - row * 100)


def incidents(spec: list[tuple[str, int, int, int]]) -> gpd.GeoDataFrame:
    """(month, row, col, how many) -> incident points on cell centres."""
    rows = [(pd.Timestamp(m), cell_pt(r, c)) for m, r, c, k in spec for _ in range(k)]
    return gpd.GeoDataFrame({"month": [m for m, _ in rows]}, geometry=[p for _, p in rows],
                            crs=27700)


# three months of history: 2022-01 .. 2022-03
HIST = incidents([("2022-01-01", 2, 2, 4), ("2022-02-01", 0, 0, 2), ("2022-03-01", 4, 4, 1),
                  ("2022-03-01", 2, 2, 1)])


def risk_grid(method, params):
    f = hs.forecast(HIST, cell_size=100, study_area=STUDY, method=method, params=params,
                    quiet=True)
    g = np.zeros((5, 5))
    g[f["row"], f["col"]] = f["risk"]
    return g, f


def normalised(g):
    return g / g.sum()


def test_counts_by_hand():
    g, f = risk_grid("counts", {"window": 2})  # Feb + Mar only
    hand = np.zeros((5, 5))
    hand[0, 0], hand[4, 4], hand[2, 2] = 2, 1, 1
    np.testing.assert_allclose(normalised(g), normalised(hand))
    assert len(f) == 25 and f["area_m2"].sum() == pytest.approx(STUDY.area)
    # risk sums to the mean monthly count of the history (8 incidents / 3 months)
    assert f["risk"].sum() == pytest.approx(8 / 3)
    assert f.attrs["forecast_period"] == "2022-04" and f.attrs["method"] == "counts"


def test_decayed_by_hand():
    g, _ = risk_grid("decayed", {"half_life": 1, "window": None})
    hand = np.zeros((5, 5))
    hand[2, 2] = 4 * 0.25 + 1 * 1  # January is two months old, March the last
    hand[0, 0] = 2 * 0.5
    hand[4, 4] = 1
    np.testing.assert_allclose(normalised(g), normalised(hand))
    g2, _ = risk_grid("decayed", {"half_life": 1, "window": 1})  # March only
    hand2 = np.zeros((5, 5))
    hand2[2, 2] = hand2[4, 4] = 1
    np.testing.assert_allclose(normalised(g2), normalised(hand2))


def neighbours_mean(d, radius, cell=100.0):
    """Quartic-weighted mean of the neighbours within radius (own cell excluded), by loops."""
    out = np.zeros_like(d)
    k = int(np.ceil(radius / cell))
    offs = [(i, j, (1 - (np.hypot(i, j) * cell / radius) ** 2) ** 2)
            for i in range(-k, k + 1) for j in range(-k, k + 1)
            if (i or j) and np.hypot(i, j) * cell <= radius]
    total = sum(w for *_, w in offs)
    for r in range(5):
        for c in range(5):
            out[r, c] = sum(w * d[r + i, c + j] for i, j, w in offs
                            if 0 <= r + i < 5 and 0 <= c + j < 5) / total
    return out


def test_blend_and_near_repeat_by_hand():
    d = np.zeros((5, 5))
    d[2, 2], d[0, 0], d[4, 4] = 4 * 0.25 + 1, 2 * 0.5, 1
    g, _ = risk_grid("blend", {"half_life": 1, "alpha": 0.5, "radius": 150})
    np.testing.assert_allclose(normalised(g), normalised(d + 0.5 * neighbours_mean(d, 150)))
    # the cell's own count stays dominant: the busiest cell ranks first
    assert g[2, 2] == g.max()
    recent = np.zeros((5, 5))
    recent[0, 0], recent[4, 4], recent[2, 2] = 2, 1, 1  # last two months
    g2, _ = risk_grid("near_repeat", {"half_life": 1, "beta": 2.0, "radius": 150, "recent": 2})
    np.testing.assert_allclose(normalised(g2),
                               normalised(d + 2.0 * neighbours_mean(recent, 150)))


def test_a_kernel_reaching_no_neighbour_adds_nothing():
    # quartic weight is 0 at the radius: 100 m on 100 m cells reaches no neighbour
    g, _ = risk_grid("blend", {"half_life": 1, "alpha": 1.0, "radius": 100})
    d = np.zeros((5, 5))
    d[2, 2], d[0, 0], d[4, 4] = 4 * 0.25 + 1, 2 * 0.5, 1
    np.testing.assert_allclose(normalised(g), normalised(d))


def test_stkde_by_hand():
    # Bowers et al.: 1/(1 + d/cell) in space within the bandwidth, 1/(1 + age) in time
    g, _ = risk_grid("stkde", {"bandwidth": 100, "window": 2})
    t = np.zeros((5, 5))
    t[0, 0] = 2 * 1 / 2  # February: one month before March
    t[4, 4] = t[2, 2] = 1
    hand = np.zeros((5, 5))
    for r in range(5):
        for c in range(5):
            for (i, j, w) in [(0, 0, 1.0), (1, 0, 0.5), (-1, 0, 0.5), (0, 1, 0.5), (0, -1, 0.5)]:
                if 0 <= r + i < 5 and 0 <= c + j < 5:
                    hand[r, c] += w * t[r + i, c + j]
    np.testing.assert_allclose(normalised(g), normalised(hand), atol=1e-9)


def test_flag_cells_exact_area_and_seeded_ties():
    area = np.full((2, 3), 100.0)
    area[1, 2] = 40.0  # a boundary cell, partly inside
    score = np.array([[3.0, 1.0, 1.0], [1.0, 0.0, 2.0]])
    tie = np.array([5, 4, 3, 2, 1, 0])
    idx, w = F.flag_cells(score, area, 250.0, tie)
    # 3 (100) then 2 (40) then the tied 1s in tie order: cell 3 (tie 2) before 2, 1
    assert list(idx) == [0, 5, 3, 2]
    assert (area.ravel()[idx] * w).sum() == pytest.approx(250.0)
    assert w[-1] == pytest.approx(10 / 100)


def test_auto_never_reads_the_month_it_forecasts():
    rng = np.random.default_rng(1)
    months = pd.date_range("2020-01-01", periods=20, freq="MS")
    spec = [(str(m.date()), int(r), int(c), 1) for m in months
            for r, c in rng.integers(0, 5, size=(6, 2))]
    inc = incidents(spec)
    hist = F.build_history(inc, STUDY, 100)
    u = 15  # forecast period index 15 (2021-04) from the 15 months before it
    poisoned = F.History(hist.grid, hist.study_area, hist.cell_area,
                         hist.counts.copy(), hist.periods, hist.per_month)
    poisoned.counts[u:] = rng.integers(0, 50, size=poisoned.counts[u:].shape)
    a = F.select_method(hist, upto=u)
    b = F.select_method(poisoned, upto=u)
    assert a == b
    name, params, _ = a
    np.testing.assert_array_equal(F.method_scores(hist, name, params, [u]),
                                  F.method_scores(poisoned, name, params, [u]))
    # and hs.forecast on the months before equals the history cut there
    f = hs.forecast(inc[inc["month"] < months[u]], cell_size=100, study_area=STUDY,
                    quiet=True)
    assert (f.attrs["method"], f.attrs["params"]) == (name, params)


def test_history_counts_are_each_incidents_cell_and_month():
    """build_history's counts (weights or not, points given as distinct or not, some
    outside the study area) are a plain loop over the incidents."""
    from hotspots.clusters import distinct_points

    rng = np.random.default_rng(4)
    months = pd.date_range("2021-01-01", periods=5, freq="MS")
    objs = shapely.points(rng.uniform(-150, 650, (300, 2)))  # some off the study area
    geoms = objs[rng.integers(0, 300, 30_000)]  # shared objects: distinct_points' path
    inc = gpd.GeoDataFrame({"month": months[rng.integers(0, 5, len(geoms))]},
                           geometry=geoms, crs=27700)
    w = rng.uniform(0, 2, len(inc))
    for weights, distinct in ((None, None), (w, None), (w, distinct_points(inc))):
        hist = F.build_history(inc, STUDY, 100, weights=weights, distinct=distinct)
        ref = np.zeros_like(hist.counts)
        x, y = shapely.get_coordinates(geoms).T
        m = inc["month"].dt.to_period("M")
        k = np.flatnonzero((x >= 0) & (x <= 499) & (y >= 0) & (y <= 499))  # in STUDY
        np.add.at(ref, ((m - hist.periods[0]).map(lambda d: d.n).to_numpy()[k],
                        4 - (y[k] // 100).astype(int), (x[k] // 100).astype(int)),
                  1.0 if weights is None else w[k])
        np.testing.assert_allclose(hist.counts, ref, rtol=1e-12, atol=1e-9)
        assert hist.counts.sum() > 0 and list(hist.periods) == list(m.sort_values().unique())


def test_auto_keeps_the_default_without_clear_evidence_and_says_why():
    f = hs.forecast(HIST, cell_size=100, study_area=STUDY, quiet=True)
    assert f.attrs["label"] == F.method_label(*F.DEFAULT)
    assert "fewer than 3" in f.attrs["chosen_because"]
    assert f["rank"].tolist() == list(range(1, 26))


def test_hs_forecast_is_the_function_after_the_module_is_imported():
    # the module has its own name, so importing it never shadows the function hs.forecast
    import hotspots.forecasting as module

    assert hs.forecast is module.forecast
    for fn in (hs.forecast, module.forecast):
        f = fn(HIST, cell_size=100, study_area=STUDY, method="counts", quiet=True)
        assert len(f) == 25


def test_bad_arguments_are_clear():
    with pytest.raises(hs.BadInputError, match="method must be"):
        hs.forecast(HIST, study_area=STUDY, method="magic")
    with pytest.raises(hs.BadInputError, match="no parameter"):
        hs.forecast(HIST, study_area=STUDY, method="counts", params={"half_life": 3})
    with pytest.raises(hs.BadInputError, match="needs incident dates"):
        hs.forecast(HIST, study_area=STUDY, freq="W-MON")


# --- the quick paths give what the plain definitions give ------------------------------


def _random_history(seed: int = 3, shape=(12, 30, 40)):
    """A History of small integer counts (many equal scores, so ties matter)."""
    rng = np.random.default_rng(seed)
    grid = hs.grid.Grid(0.0, 0.0, 100.0, shape[1], shape[2])
    area = np.full(shape[1:], 10_000.0)
    area[:, :3] = 0.0  # outside the study area
    area[:, 3] = 2_500.0  # edge cells, partly inside
    counts = rng.poisson(0.3, shape).astype(float)
    return F.History(grid, box(0, 0, 4000, 3000), area, counts,
                     pd.period_range("2022-01", periods=shape[0], freq="M"), 1.0)


def test_smooth_is_scipy_fftconvolve():
    """One transform shared by every kernel gives scipy.signal's convolution."""
    from scipy.signal import fftconvolve

    a = _random_history().counts[:5]
    cache: dict = {}
    for radius, kind, own in ((200, "quartic", False), (400, "quartic", False),
                              (600, "quartic", False), (400, "inverse", True)):
        kern = F._kernel(radius, 100.0, kind, own=own)
        ref = np.round(fftconvolve(a, kern[None], mode="same", axes=(1, 2)), 9)
        np.testing.assert_allclose(F._smooth(a, kern, cache, "a"), ref, rtol=0, atol=2e-9)
        np.testing.assert_allclose(F._smooth(a, kern), ref, rtol=0, atol=2e-9)
    # the kernels up to 13 wide shared one transform of a (besides a scratch array)
    assert sum(k[0] == "fft" for k in cache) == 1


def test_smooth_into_kept_arrays_is_scipy_fft_bit_for_bit(monkeypatch):
    """pocketfft with given output arrays (scratch reused, input filled in place, the
    cells read before scaling) gives the very values of scipy.fft's public
    rfft2/irfft2 on fresh arrays."""
    assert _fft.pocketfft() is not None  # (this scipy's binding passed its own check)
    rng = np.random.default_rng(5)
    kerns = [F._kernel(r, 100.0, kind, own=own) for r, kind, own in
             ((200, "quartic", False), (600, "quartic", False), (400, "inverse", True))]
    for shape in ((3, 17, 23), (5, 30, 41), (2, 64, 9)):
        a = rng.poisson(0.7, shape) * 1.5
        cells = rng.permutation(shape[1] * shape[2])[: shape[1] * shape[2] // 3]
        rr, cc = np.divmod(cells, shape[2])
        cache: dict = {}
        fast = [F._smooth(a, k, cache, "a") for k in kerns]
        # straight into the transform's input, the grid's output a reused scratch array
        fill = [F._smooth(lambda out, a=a: np.copyto(out, a), k, cache, cells=cells,
                          shape=shape) for k in kerns]
        with monkeypatch.context() as m:
            m.setattr(_fft, "pocketfft", lambda: None)
            plain = [F._smooth(a, k) for k in kerns]
            plain_fill = [F._smooth(lambda out, a=a: np.copyto(out, a), k, {}, cells=cells,
                                    shape=shape) for k in kerns]
        for x, y, z, w in zip(fast, fill, plain, plain_fill, strict=True):
            np.testing.assert_array_equal(x, z)
            np.testing.assert_array_equal(y, z[:, rr, cc])
            np.testing.assert_array_equal(w, z[:, rr, cc])


def test_stable_argsort_is_numpys_stable_argsort():
    """Ties (many, -0.0 against 0.0, infinities) keep their order; NaN and long arrays too."""
    rng = np.random.default_rng(8)
    arrays = [rng.integers(0, 5, 3000).astype(float), rng.random(500), np.array([]),
              rng.choice([np.inf, -np.inf, 1.0, -0.0, 0.0], 2000),
              np.where(rng.random(800) < 0.1, np.nan, rng.integers(0, 3, 800) * 1.0),
              rng.integers(0, 50, 70_000) * 0.5]
    for x in arrays:
        np.testing.assert_array_equal(F._stable_argsort(x), np.argsort(x, kind="stable"))


def test_ties_list_the_cells_in_tie_key_order():
    hist = _random_history(seed=4)
    cells, place, by_tie = hist.ties
    np.testing.assert_array_equal(cells, np.flatnonzero(hist.inside))
    np.testing.assert_array_equal(by_tie, np.argsort(hist.tie_key()[cells]))
    np.testing.assert_array_equal(place[by_tie], np.arange(len(cells)))


def test_decayed_lag_by_lag_is_the_sum_by_definition():
    c = _random_history().counts
    folds = np.array([1, 4, 7, 11])
    for half_life, window in ((2, 3), (None, 2), (6, None), (12, 24)):
        r = 0.5 ** (1 / half_life) if half_life else 1.0
        ref = [sum(r**age * c[f - 1 - age] for age in range(f if window is None
                                                            else min(window, f)))
               for f in folds]
        np.testing.assert_allclose(F._decayed(c, folds, half_life, window), ref,
                                   rtol=1e-12)


def test_decayed_is_its_recurrence_bit_for_bit():
    """All history: D(u) = r * D(u-1) + c[u-1] exactly (any fold order, repeats, u=0);
    a window: the lags added oldest-last from zero, exactly."""
    c = _random_history(seed=9).counts
    folds = np.array([7, 0, 3, 3, 11, 1])
    for half_life in (None, 1, 6):
        r = 0.5 ** (1 / half_life) if half_life else 1.0
        d, ref = np.zeros(c.shape[1:]), {0: np.zeros(c.shape[1:])}
        for u in range(12):
            d = d * r + c[u]
            ref[u + 1] = d
        np.testing.assert_array_equal(F._decayed(c, folds, half_life, None),
                                      [ref[f] for f in folds])
        win = [sum((r**age * c[f - 1 - age] for age in range(min(2, f))),
                   np.zeros(c.shape[1:])) for f in folds]
        np.testing.assert_array_equal(F._decayed(c, folds, half_life, 2), win)


def test_pai_matrix_is_flag_cells_fold_by_fold():
    """Every method and fold: the PAI of flag_cells on the whole grid, exactly."""
    hist = _random_history()
    specs = F.candidates(1.0)
    folds = F.auto_folds(len(hist.periods))
    pai, n = F.pai_matrix(hist, specs, folds, 0.05)
    budget = 0.05 * hist.cell_area.sum()
    tie = hist.tie_key()
    for j, (name, params) in enumerate(specs):
        sc = F.method_scores(hist, name, params, folds)
        for i, f in enumerate(folds):
            test = hist.counts[f].ravel()
            idx, w = F.flag_cells(sc[i], hist.cell_area, budget, tie)
            assert pai[j, i] == (test[idx] @ w / test.sum()) / 0.05


def test_cell_area_near_the_boundary_is_every_cell_clipped():
    """Only cells near the boundary are clipped; the areas are every cell's overlap."""
    from shapely.geometry import MultiPolygon, Polygon

    from hotspots.grid import cell_polygons, make_grid

    shell = [(0, 0), (1000, 0), (1000, 600), (430, 1270), (0, 800)]  # edges on cell lines
    sa = MultiPolygon([Polygon(shell, [[(300, 300), (520, 300), (520, 470), (300, 470)]]),
                       box(1500, 1500, 1730, 1610)])
    grid = make_grid(sa, 100.0)
    got = F._cell_area(sa.wkb, grid)
    ref = shapely.area(shapely.intersection(cell_polygons(grid), sa)).reshape(grid.shape)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    assert got.sum() == pytest.approx(sa.area)


def test_scanline_centres_are_contains_xy_away_from_the_edge():
    """The scanline fill gives GEOS contains_xy for every centre of a cell the
    boundary does not touch (holes, parts, vertices on centre lines and cell
    corners, a polygon crossing the grid's edge), at several cell sizes."""
    from shapely.geometry import Polygon

    from hotspots.grid import Grid, cell_polygons, make_grid

    ring = Point(5000, 5000).buffer(3000)
    donut = ring.difference(Point(5100, 5050).buffer(1200)).difference(box(6000, 3000, 6700, 4000))
    shapes = [
        donut,
        shapely.union_all([donut, box(11000, 1000, 14000, 2550), Point(20000, 9000).buffer(800)]),
        Polygon([(0, 50), (1000, 50), (1000, 1050), (550, 550), (0, 1050)]),  # on centre lines
        Polygon([(0, 0), (450, 150), (1000, 0), (500, 1350)]),  # vertices on cell corners
    ]
    for sa in shapes:
        edge = shapely.boundary(sa)
        for size in (50.0, 100.0, 150.0, 200.0):
            grid = make_grid(sa, size)
            small = Grid(grid.x0 + 3 * size, grid.y0, size, grid.nrows - 2, grid.ncols - 5)
            for g in (grid, small):  # (small: the polygon runs off its west and north)
                got = F._centres_inside(sa, edge, g)
                xc, yc = g.centres()
                away = ~shapely.intersects(edge, cell_polygons(g)).reshape(g.shape)
                assert np.array_equal(got[away], shapely.contains_xy(sa, xc, yc)[away])
            ref = np.where(shapely.contains_xy(sa, *grid.centres()), size**2, 0.0)
            got = F._cell_area(shapely.to_wkb(sa), grid)
            on = shapely.intersects(edge, cell_polygons(grid)).reshape(grid.shape)
            assert np.array_equal(got[~on], ref[~on])


def test_hull_study_area_from_distinct_points_is_the_hull_of_all():
    """Outside London the study area is the points' hull: distinct points give it."""
    from hotspots.clusters import collapse, point_xy

    rng = np.random.default_rng(0)
    xy = np.round(rng.uniform(0, 500, (300, 2)) / 25) * 25 + 2_000_000  # collinear runs
    inc = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*xy[rng.integers(0, 300, 2000)].T),
                           crs=27700)
    uxy, _, inv = collapse(point_xy(inc), np.ones(len(inc)))
    a = F.study_area_geometry(None, inc)
    b = F.study_area_geometry(None, inc, distinct=(uxy, inv))
    assert a.equals_exact(b, 0)


def test_month_ordinals_are_numpys_month_cast():
    """Days cast once as a table: the months of numpy's own cast (before 1970, month
    ends to the nanosecond, other units, one value, none)."""
    rng = np.random.default_rng(6)
    ns = rng.integers(-2_208_988_800, 4_102_444_800, 5000) * 10**9  # 1900 .. 2100
    edges = np.array(["1969-12-31T23:59:59.999999999", "1970-01-01", "2022-02-28T23:59:59",
                      "2022-03-01T00:00"], "datetime64[ns]")
    for t in (ns.view("datetime64[ns]"), edges, edges.astype("datetime64[us]"), edges[:1],
              edges[:0]):
        np.testing.assert_array_equal(F._month_ordinals(t),
                                      t.astype("datetime64[M]").astype(np.int64))


def test_incident_periods_monthly_are_pandas_periods():
    inc = incidents([("2021-12-01", 0, 0, 2), ("2022-03-01", 1, 1, 1)])
    inc["occurred_at"] = pd.to_datetime(["2021-12-31 23:59", pd.NaT, "2022-03-01 00:00"])
    ref = pd.PeriodIndex(hs._time.incident_times(inc).dt.to_period("M"))
    assert F.incident_periods(inc, "MS").equals(ref)


def test_gather_is_fancy_indexing_of_arrays_and_views():
    """_gather gives a[:, r, c] for flat cells and a mask's cells, for views too."""
    rng = np.random.default_rng(3)
    full = rng.random((4, 30, 60))
    cells = rng.permutation(20 * 25)[:300]
    for a in (full[:, :20, :25], full[:, 5:25, 7:32], np.ascontiguousarray(full[:, :20, :25]),
              full[::2, 3:23, ::1][:, :, 1:26], full[:, :20, :50:2]):
        rr, cc = np.divmod(cells, a.shape[2])
        np.testing.assert_array_equal(F._gather(a, cells), a[:, rr, cc])
        mask = np.zeros(a.shape[1:], bool)
        mask.ravel()[cells] = True
        r2, c2 = np.divmod(np.sort(cells), a.shape[2])  # a mask lists its cells row-major
        np.testing.assert_array_equal(F._gather(a, mask), a[:, r2, c2])


def test_ranked_cells_are_flag_cells_of_the_whole_area():
    """_ranked_cells' order ends with flag_cells' ranking of every cell inside (ties!)."""
    hist = _random_history(seed=7)
    for name, params in F.candidates(1.0)[:2]:
        score = F.method_scores(hist, name, params, [len(hist.periods)])[0]
        order, _, _ = F._ranked_cells(hist, score)
        s = np.where(hist.inside, np.clip(score, 0, None), 0.0)
        idx, _ = F.flag_cells(s, hist.cell_area, hist.cell_area.sum(), hist.tie_key())
        np.testing.assert_array_equal(order[len(order) - len(idx):], idx)
        assert sorted(order) == sorted(np.flatnonzero(hist.inside))


def test_method_scores_at_cells_are_the_grid_scores_there():
    """Scores asked at some cells (decayed from their own counts) equal the grid's, bit for bit."""
    hist = _random_history(seed=11)
    folds = F.auto_folds(len(hist.periods))
    cells = np.random.default_rng(2).permutation(hist.cell_area.size)[:500]
    mask = np.random.default_rng(4).random(hist.cell_area.shape) < 0.4
    rr, cc = np.divmod(cells, hist.grid.ncols)
    cache: dict = {}
    for name, params in F.candidates(4.35):  # the weekly list too
        full = F.method_scores(hist, name, params, folds)
        grid = full[:, rr, cc]
        np.testing.assert_array_equal(F.method_scores(hist, name, params, folds, cache, cells),
                                      grid)
        # a boolean mask: its cells in row-major order
        np.testing.assert_array_equal(F.method_scores(hist, name, params, folds, {}, mask),
                                      full[:, mask])
