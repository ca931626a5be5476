"""The shared grid: cell size rule, binning, GeoDataFrame <-> array."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from hotspots._errors import BadInputError
from hotspots.grid import (
    Grid,
    bin_points,
    cell_polygons,
    clip_mask,
    default_cell_size,
    grid_of,
    make_grid,
    near_cells,
    nice_number,
    points_xy,
    to_array,
    to_gdf,
)


def test_default_cell_size_rule():
    # shorter side / 50, rounded to a nice number, clamped to 25..500 m
    assert default_cell_size((0, 0, 9300, 9160)) == 200  # a borough: 183 m -> 200
    assert default_cell_size((0, 0, 7500, 7560)) == 150
    assert default_cell_size((0, 0, 800, 900)) == 25  # a ward: 16 m -> clamped
    assert default_cell_size((0, 0, 60_000, 45_000)) == 500  # all London: 900 m -> clamped
    assert default_cell_size((0, 0, 5000, 0)) == 100  # points on a line: longer side
    assert nice_number(70) == 75 and nice_number(140) == 150 and nice_number(330) == 300


def test_make_grid_covers_and_aligns(camden):
    x, y, _ = points_xy(camden)
    g = make_grid(camden, 100)
    assert g.x0 % 100 == 0 and g.y0 % 100 == 0
    assert g.x0 <= x.min() and g.x1 > x.max() and g.y0 <= y.min() and g.y1 > y.max()
    # a point exactly on the east/north edge of the extent still falls inside
    e = make_grid((0, 0, 1000, 500), 100)
    assert e.shape == (6, 11)
    r, c = e.cell_index(np.array([1000.0, 0.0]), np.array([500.0, 0.0]))
    assert list(r) == [0, 5] and list(c) == [10, 0]  # row 0 = north
    assert make_grid(camden, 100, pad=250).shape[0] >= g.shape[0] + 4
    with pytest.raises(BadInputError):
        make_grid((0, 0, 1e6, 1e6), 10)


def test_bin_points_matches_histogram2d(camden):
    x, y, _ = points_xy(camden)
    g = make_grid(camden, 150)
    counts = bin_points(x, y, None, g)
    xe = g.x0 + np.arange(g.ncols + 1) * g.cell_size
    ye = g.y0 + np.arange(g.nrows + 1) * g.cell_size
    ref, _, _ = np.histogram2d(y, x, bins=[ye, xe])
    np.testing.assert_array_equal(counts, ref[::-1])  # histogram rows run south->north
    w = np.arange(len(x), dtype=float)
    assert bin_points(x, y, w, g).sum() == pytest.approx(w.sum())


def test_cells_contain_their_points(camden):
    """Independent check with a spatial join: each point lies in the cell it was binned to."""
    g = make_grid(camden, 200)
    x, y, _ = points_xy(camden)
    counts = bin_points(x, y, None, g)
    cells = to_gdf(g, {"count": counts})
    pts = camden[["geometry"]].copy()
    j = gpd.sjoin(pts, cells, predicate="within")
    per_cell = j.groupby(["row", "col"]).size()
    # points on a shared edge are 'within' neither cell; they are rare
    assert len(j) >= 0.99 * len(pts)
    got = cells.set_index(["row", "col"])["count"].loc[per_cell.index]
    assert (got >= per_cell).all()
    assert int(cells["count"].sum()) == len(pts)


def test_gdf_array_round_trip(camden):
    g = make_grid(camden, 250)
    x, y, _ = points_xy(camden)
    counts = bin_points(x, y, None, g)
    cells = to_gdf(g, {"count": counts, "twice": 2 * counts}, drop_empty=True)
    assert list(cells.columns) == ["row", "col", "count", "twice", "geometry"]
    assert cells.crs.to_epsg() == 27700 and (cells["count"] > 0).all()
    assert all(np.isscalar(v) for v in cells.attrs.values())
    arr, transform = to_array(cells, "count", fill=0)
    np.testing.assert_array_equal(arr, counts)
    assert transform == g.transform
    # without attrs (e.g. after a file round trip) the grid comes back from geometry
    bare = cells.copy()
    bare.attrs = {}
    assert grid_of(bare) == Grid(g.x0, g.y1 - (cells["row"].max() + 1) * 250, 250.0,
                                 int(cells["row"].max()) + 1, int(cells["col"].max()) + 1)
    a = cells.iloc[0]
    cx, cy = g.xcentres()[a["col"]], g.ycentres()[a["row"]]
    assert a.geometry.centroid.distance(shapely.Point(cx, cy)) < 1e-6


def test_clip_mask_keeps_cells_touching_polygon():
    g = Grid(0.0, 0.0, 100.0, 10, 10)
    poly = shapely.Point(500, 500).buffer(220)
    m = clip_mask(g, gpd.GeoSeries([poly], crs=27700))
    cells = to_gdf(g, {"count": np.zeros(g.shape)}, clip=poly)
    assert m.sum() == len(cells)
    assert cells.intersects(poly).all()
    # a circle of radius 220 centred on a cell corner touches a 6x6 block minus corners
    assert 20 <= m.sum() <= 36


def test_near_cells_holds_every_point_of_shapes_in_the_cells():
    # a superset of the points in any piece of the kept cells (edges and corners too),
    # and nothing further than the tolerance from them: checked against GEOS
    g = Grid(530_000.0, 180_000.0, 100.0, 20, 30)
    rng = np.random.default_rng(3)
    keep = rng.random(g.shape) < 0.2
    boxes = cell_polygons(g, keep)
    pieces = shapely.intersection(boxes, shapely.Point(531_500, 181_000).buffer(700))
    area = shapely.union_all(pieces)
    xs = g.x0 + np.r_[rng.uniform(0, 3000, 20_000), np.arange(31) * 100.0]
    ys = g.y0 + np.r_[rng.uniform(0, 2000, 20_000), np.arange(31) * 100.0 % 2000]
    # every cell corner, and points on the sides and a hair either side of them
    cx, cy = np.meshgrid(g.x0 + np.arange(31) * 100.0, g.y0 + np.arange(21) * 100.0)
    side = g.x0 + np.arange(31) * 100.0
    x = np.r_[xs, cx.ravel(), np.repeat(side, 3) + np.tile([-1e-9, 0, 1e-9], 31)]
    y = np.r_[ys, cy.ravel(), rng.uniform(g.y0, g.y0 + 2000, 93)]
    near = near_cells(g, keep, x, y)
    inside = shapely.intersects_xy(area, x, y) | shapely.intersects_xy(
        shapely.union_all(boxes), x, y)
    assert near[inside].all()
    far = shapely.distance(shapely.union_all(boxes), shapely.points(x, y)) > 2e-3  # (tol in x, y)
    assert not near[far].any()
