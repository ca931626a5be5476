"""The one regular grid that density and Gi* share.

A :class:`Grid` is a block of square cells in British National Grid metres. Cell
edges sit on multiples of the cell size, so two grids with the same cell size (two
months, two boroughs) line up cell for cell and can be compared directly.

Arrays on a grid are image-oriented: shape ``(nrows, ncols)``, row 0 is the
northernmost row, column 0 the westernmost, matching the affine ``transform``
(rasterio/GDAL order ``(a, b, c, d, e, f)``). A grid GeoDataFrame (one row per cell:
``row, col, count, ..., geometry``) carries the grid's origin and shape as small
scalars in ``attrs`` so :func:`to_array` can rebuild the raw array for rasters,
image overlays and contours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ._errors import BadInputError
from ._validate import BNG, check_positive

__all__ = [
    "CELLS_ON_SHORT_SIDE",
    "bin_points",
    "cell_polygons",
    "clip_mask",
    "default_cell_size",
    "Grid",
    "grid_of",
    "make_grid",
    "near_cells",
    "nice_number",
    "points_xy",
    "to_array",
    "to_gdf",
]

#: Lower and upper bound of the automatic cell size, metres. Below 25 m a cell is
#: finer than police.uk's snapping of crimes to anonymous map points; above 500 m a
#: cell is larger than an area a patrol can cover on foot.
MIN_CELL, MAX_CELL = 25.0, 500.0
#: Cells on the shorter side of the study area, as sfhotspot does.
CELLS_ON_SHORT_SIDE = 50
_NICE = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0)


@dataclass(frozen=True)
class Grid:
    """A regular grid of square cells in EPSG:27700.

    Attributes
    ----------
    x0, y0 : float
        West and south edges of the grid, metres.
    cell_size : float
        Side of a cell, metres.
    nrows, ncols : int
        Number of rows (south-north) and columns (west-east).
    """

    x0: float
    y0: float
    cell_size: float
    nrows: int
    ncols: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns), as a numpy array of the grid."""
        return (self.nrows, self.ncols)

    @property
    def x1(self) -> float:
        """East edge, metres."""
        return self.x0 + self.ncols * self.cell_size

    @property
    def y1(self) -> float:
        """North edge, metres."""
        return self.y0 + self.nrows * self.cell_size

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1), metres."""
        return (self.x0, self.y0, self.x1, self.y1)

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine transform ``(a, b, c, d, e, f)``: x = a*col + c, y = e*row + f (corners)."""
        return (self.cell_size, 0.0, self.x0, 0.0, -self.cell_size, self.y1)

    def xcentres(self) -> np.ndarray:
        """Easting of each column's centre (west to east), metres."""
        return self.x0 + (np.arange(self.ncols) + 0.5) * self.cell_size

    def ycentres(self) -> np.ndarray:
        """Northing of each row's centre (row 0 = north), metres."""
        return self.y1 - (np.arange(self.nrows) + 0.5) * self.cell_size

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates as two ``(nrows, ncols)`` arrays (x, y)."""
        return np.meshgrid(self.xcentres(), self.ycentres())

    def cell_index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cell holding each point (may fall outside the grid).

        West and south edges are inclusive, east and north edges exclusive.
        """
        col = np.floor((np.asarray(x, float) - self.x0) / self.cell_size).astype(np.int64)
        row_up = np.floor((np.asarray(y, float) - self.y0) / self.cell_size).astype(np.int64)
        return self.nrows - 1 - row_up, col


def nice_number(value: float) -> float:
    """Round `value` to the nearest (in ratio) of 1, 1.5, 2, 2.5, 3, 4, 5, 7.5 × 10^k."""
    if not value > 0:
        raise BadInputError(f"cannot round {value!r} to a nice cell size")
    exp = math.floor(math.log10(value))
    cands = [m * 10.0**exp for m in _NICE]
    return min(cands, key=lambda c: abs(math.log(c / value)))


def default_cell_size(bounds: Any) -> float:
    """The cell size chosen when the user gives none, metres.

    Rule: the shorter side of the study area's bounding box divided by 50 (as
    sfhotspot does), rounded to a nice number (1, 1.5, 2, 2.5, 3, 4, 5, 7.5 × 10^k),
    clamped to 25..500 m. A London borough (8-10 km across) gets 150-200 m cells,
    a ward (1-2 km) 25-40 m, all London 500 m. sfhotspot does not round or clamp.

    Parameters
    ----------
    bounds : tuple or GeoDataFrame or geometry
        ``(xmin, ymin, xmax, ymax)`` in metres, or anything :func:`make_grid` accepts.
    """
    xmin, ymin, xmax, ymax = _bounds_of(bounds)
    short = min(xmax - xmin, ymax - ymin)
    if short <= 0:  # points on a line or a single point: use the longer side
        short = max(xmax - xmin, ymax - ymin)
    if short <= 0:
        return 100.0
    return float(min(MAX_CELL, max(MIN_CELL, nice_number(short / CELLS_ON_SHORT_SIDE))))


def _bounds_of(obj: Any) -> tuple[float, float, float, float]:
    """Bounding box (metres, BNG) of a frame, series, geometry, Grid or 4-tuple."""
    if isinstance(obj, Grid):
        return obj.bounds
    if isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries):
        if obj.crs is not None and obj.crs.to_epsg() != 27700:
            obj = obj.to_crs(BNG)
        geoms = obj.geometry
        geoms = geoms[~(geoms.isna() | geoms.is_empty)]
        if len(geoms) == 0:
            raise BadInputError("cannot build a grid: the input has no geometries")
        b = geoms.total_bounds
    elif isinstance(obj, shapely.Geometry):
        if obj.is_empty:
            raise BadInputError("cannot build a grid on an empty geometry")
        b = obj.bounds
    else:
        try:
            b = tuple(float(v) for v in obj)
        except (TypeError, ValueError):
            raise BadInputError(
                "make_grid needs incidents, a polygon or (xmin, ymin, xmax, ymax) in metres"
            ) from None
        if len(b) != 4:
            raise BadInputError(f"bounds must be (xmin, ymin, xmax, ymax), got {obj!r}")
    xmin, ymin, xmax, ymax = (float(v) for v in b)
    if not all(np.isfinite([xmin, ymin, xmax, ymax])) or xmax < xmin or ymax < ymin:
        raise BadInputError(f"invalid bounds {b!r}")
    return xmin, ymin, xmax, ymax


def make_grid(inc_or_bounds: Any, cell_size: float | None = None, pad: float = 0.0) -> Grid:
    """The grid covering incidents, a polygon or a bounding box.

    Parameters
    ----------
    inc_or_bounds : GeoDataFrame, GeoSeries, shapely geometry or (xmin, ymin, xmax, ymax)
        What the grid must cover (reprojected to EPSG:27700 when needed).
    cell_size : float, optional
        Cell side in metres; default :func:`default_cell_size` of the extent.
    pad : float
        Extra margin around the extent, metres (default 0).

    Returns
    -------
    Grid
        Edges snapped to multiples of `cell_size`, so every point of the extent lies
        inside a cell (including points on the east/north edge).
    """
    xmin, ymin, xmax, ymax = _bounds_of(inc_or_bounds)
    cs = check_positive(cell_size, "cell_size") or default_cell_size((xmin, ymin, xmax, ymax))
    pad = float(pad)
    if pad < 0:
        raise BadInputError(f"pad must be 0 or more metres, got {pad}")
    i0, i1 = math.floor((xmin - pad) / cs), math.floor((xmax + pad) / cs)
    j0, j1 = math.floor((ymin - pad) / cs), math.floor((ymax + pad) / cs)
    ncols, nrows = i1 - i0 + 1, j1 - j0 + 1
    if nrows * ncols > 25_000_000:
        raise BadInputError(
            f"a {cs:g} m grid over this area has {nrows * ncols:,} cells; use a larger cell_size"
        )
    return Grid(x0=i0 * cs, y0=j0 * cs, cell_size=float(cs), nrows=nrows, ncols=ncols)


def bin_points(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None, grid: Grid
) -> np.ndarray:
    """Sum of weights (or number of points) in each cell, shape ``grid.shape``.

    Points outside the grid are ignored. Cost is one pass (``np.bincount``).
    """
    row, col = grid.cell_index(x, y)
    inside = (row >= 0) & (row < grid.nrows) & (col >= 0) & (col < grid.ncols)
    flat = row[inside] * grid.ncols + col[inside]
    w = None if weights is None else np.asarray(weights, float)[inside]
    out = np.bincount(flat, weights=w, minlength=grid.nrows * grid.ncols)
    return out.astype(float).reshape(grid.shape)


def points_xy(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of point rows and a mask of the rows that have one.

    Returns ``(x, y, ok)`` where `x`, `y` hold only rows with a non-empty geometry and
    `ok` is the boolean mask over all rows (so weights can be aligned).
    """
    # shapely's functions on the plain object array: through geopandas' array they
    # cost ~70 ms more on London's 849k points (pandas' ufunc dispatch)
    geoms = np.asarray(gdf.geometry.array)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    pts = geoms[ok] if not ok.all() else geoms
    xy = shapely.get_coordinates(pts)  # one GEOS call per geometry, not three
    if len(xy) != len(pts):  # not one coordinate each: polygons/lines, use centroids
        xy = shapely.get_coordinates(shapely.centroid(pts))
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), ok


def _clip_geometry(clip: Any) -> shapely.Geometry:
    """One BNG geometry from a polygon, GeoSeries or GeoDataFrame."""
    if isinstance(clip, gpd.GeoDataFrame | gpd.GeoSeries):
        if clip.crs is not None and clip.crs.to_epsg() != 27700:
            clip = clip.to_crs(BNG)
        geom = clip.geometry.union_all()
    elif isinstance(clip, shapely.Geometry):
        geom = clip
    else:
        raise BadInputError(
            f"clip must be a polygon or a GeoDataFrame of areas (got {type(clip).__name__})"
        )
    if geom is None or geom.is_empty:
        raise BadInputError("clip area is empty")
    return geom


def cell_polygons(grid: Grid, keep: np.ndarray | None = None) -> np.ndarray:
    """Shapely boxes of all cells, flattened row-major (row 0 = north).

    With ``keep`` (a ``grid.shape`` boolean mask) only those cells' boxes, the same
    as ``cell_polygons(grid)[keep.ravel()]`` without building the others.
    """
    xc, yc = grid.centres()
    if keep is not None:
        xc, yc = xc[keep], yc[keep]
    h = grid.cell_size / 2
    return shapely.box(xc - h, yc - h, xc + h, yc + h).ravel()


def near_cells(grid: Grid, keep: np.ndarray, x: np.ndarray, y: np.ndarray,
               tol: float = 1e-3) -> np.ndarray:
    """Per point: True when within ``tol`` metres (x and y) of a ``keep`` cell's square.

    ``keep``: a ``grid.shape`` boolean mask. Every point of a shape drawn inside those
    cells' squares (a cell cut by a polygon, a union of such pieces) is among them,
    found without GEOS: a point's own cell, and for the few within ``tol`` of a side
    the cells of its four corners ±tol.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    u, v = (x - grid.x0) / grid.cell_size, (y - grid.y0) / grid.cell_size
    fu, fv = np.floor(u), np.floor(v)
    c, r = fu.astype(np.int64), grid.nrows - 1 - fv.astype(np.int64)  # as cell_index
    ok = (r >= 0) & (r < grid.nrows) & (c >= 0) & (c < grid.ncols)
    out = np.zeros(len(x), bool)
    out[ok] = keep[r[ok], c[ok]]
    u -= fu  # where in its cell, 0..1
    v -= fv
    t = tol / grid.cell_size
    side = np.flatnonzero((u < t) | (u > 1 - t) | (v < t) | (v > 1 - t))
    for dx, dy in ((-tol, -tol), (-tol, tol), (tol, -tol), (tol, tol)):
        r, c = grid.cell_index(x[side] + dx, y[side] + dy)
        ok = (r >= 0) & (r < grid.nrows) & (c >= 0) & (c < grid.ncols)
        out[side[ok]] |= keep[r[ok], c[ok]]
    return out


def clip_mask(grid: Grid, clip: Any) -> np.ndarray:
    """Boolean ``grid.shape`` array: cells that intersect the clip area."""
    geom = _clip_geometry(clip)
    shapely.prepare(geom)
    return shapely.intersects(geom, cell_polygons(grid)).reshape(grid.shape)


def to_gdf(
    grid: Grid,
    arrays: Mapping[str, np.ndarray],
    *,
    mask: np.ndarray | None = None,
    drop_empty: bool = False,
    clip: Any = None,
    attrs: Mapping[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """Grid arrays as a GeoDataFrame of square cells (EPSG:27700).

    Parameters
    ----------
    grid : Grid
    arrays : mapping of column name -> array of shape ``grid.shape``
        Include ``"count"``; columns follow ``row, col`` in the given order.
    mask : bool array, optional
        Keep only these cells.
    drop_empty : bool
        Keep only cells with ``count > 0``.
    clip : polygon or GeoDataFrame, optional
        Keep only cells intersecting it.
    attrs : mapping, optional
        Small scalars stored in ``attrs`` besides the grid's own.

    Returns
    -------
    GeoDataFrame
        ``row, col, <arrays...>, geometry``, row-major (row 0 = north).
    """
    keep = np.ones(grid.shape, bool) if mask is None else np.asarray(mask, bool).copy()
    if drop_empty:
        if "count" not in arrays:
            raise BadInputError("drop_empty needs a 'count' array")
        keep &= np.asarray(arrays["count"]) > 0
    if clip is not None:
        keep &= clip_mask(grid, clip)
    rows, cols = np.nonzero(keep)
    data: dict[str, Any] = {"row": rows.astype(np.int32), "col": cols.astype(np.int32)}
    for name, arr in arrays.items():
        arr = np.asarray(arr)
        if arr.shape != grid.shape:
            raise BadInputError(f"array {name!r} has shape {arr.shape}, grid is {grid.shape}")
        data[name] = arr[keep]
    geom = cell_polygons(grid, keep)
    out = gpd.GeoDataFrame(data, geometry=geom, crs=BNG)
    out.attrs.update(
        cell_size=grid.cell_size,
        grid_x0=grid.x0,
        grid_y0=grid.y0,
        grid_nrows=grid.nrows,
        grid_ncols=grid.ncols,
    )
    if attrs:
        out.attrs.update(attrs)
    return out


def grid_of(grid_gdf: gpd.GeoDataFrame) -> Grid:
    """Recover the :class:`Grid` a grid GeoDataFrame was built on.

    Uses the ``grid_*`` attrs when present, else the cells' geometry and row/col.
    """
    a = grid_gdf.attrs
    if all(k in a for k in ("cell_size", "grid_x0", "grid_y0", "grid_nrows", "grid_ncols")):
        return Grid(
            float(a["grid_x0"]),
            float(a["grid_y0"]),
            float(a["cell_size"]),
            int(a["grid_nrows"]),
            int(a["grid_ncols"]),
        )
    if len(grid_gdf) == 0 or not {"row", "col"} <= set(grid_gdf.columns):
        raise BadInputError("not a grid: expected 'row', 'col' columns and cell polygons")
    g = grid_gdf.to_crs(BNG) if grid_gdf.crs and grid_gdf.crs.to_epsg() != 27700 else grid_gdf
    b = shapely.bounds(g.geometry.array)
    cs = float(np.median(b[:, 2] - b[:, 0]))
    rows, cols = g["row"].to_numpy(), g["col"].to_numpy()
    x0 = float(np.median(b[:, 0] - cols * cs))
    y1 = float(np.median(b[:, 3] + rows * cs))
    nrows = int(rows.max()) + 1
    return Grid(x0, y1 - nrows * cs, cs, nrows, int(cols.max()) + 1)


def to_array(
    grid_gdf: gpd.GeoDataFrame, column: str, fill: float = np.nan
) -> tuple[np.ndarray, tuple[float, float, float, float, float, float]]:
    """The raw ``(nrows, ncols)`` array of one column and its affine transform.

    Cells absent from the frame (clipped or dropped) get `fill`. Row 0 is north, so
    the array can be drawn directly as an image over ``Grid.bounds``.
    """
    if column not in grid_gdf.columns:
        raise BadInputError(f"grid has no column {column!r}; it has {list(grid_gdf.columns)}")
    grid = grid_of(grid_gdf)
    arr = np.full(grid.shape, fill, dtype=float)
    arr[grid_gdf["row"].to_numpy(), grid_gdf["col"].to_numpy()] = grid_gdf[column].to_numpy(float)
    return arr, grid.transform
