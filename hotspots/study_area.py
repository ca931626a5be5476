"""The study area of :func:`hotspots.read_incidents`: ``bounds=`` resolved, and points tested.

``bounds="london"`` is the Greater London outline (the GLA's 33 borough polygons
united) widened by :data:`LONDON_BUFFER_M`; a borough's name is that borough widened
the same; a box, a polygon or ``None`` are taken as given. :func:`_inside` tests
points against it (box, then polygon) and :func:`_distance_to` says how far outside
a point is, through a k-d tree of the outline's vertices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import BadInputError, UnknownPlaceError
from ._validate import BNG

log = logging.getLogger("hotspots")

#: Study-area box in BNG metres (xmin, ymin, xmax, ymax): the GLA boundary's extent
#: (503,568-561,958 E, 155,851-200,934 N) plus about 1 km each side. A quick first cut;
#: the default study area is the London outline itself (``bounds="london"``).
LONDON_BOUNDS: tuple[float, float, float, float] = (502_500.0, 154_800.0, 563_000.0, 202_000.0)

#: Metres the Greater London outline is widened by for ``bounds="london"``. police.uk
#: snaps each crime to a map point, and a London crime's point can sit just across the
#: boundary; in the 2022 London file one point is 0.3 m outside, the next 470 m (then
#: 0.8-80 km: crimes in the Home Counties and beyond), so 100 m keeps the first kind
#: and rejects the second with room either side.
LONDON_BUFFER_M: float = 100.0

#: The reason given for a point outside a box study area.
OUTSIDE_REASON = "outside study-area bounds"


@dataclass(frozen=True)
class _Area:
    """A study area: a box, optionally refined by a (prepared) polygon in BNG."""

    box: tuple[float, float, float, float]
    geom: Any = None
    reason: str = OUTSIDE_REASON
    label: str = ""


@lru_cache(maxsize=1)
def _london_area() -> _Area | None:
    """Greater London (GLA borough union) + LONDON_BUFFER_M, or None without the file."""
    import shapely

    from .boundaries import read_layer
    from .datasets import locate

    if locate("boroughs") is None:
        return None
    outline = shapely.union_all(read_layer("boroughs").geometry.to_numpy())
    area = shapely.buffer(outline, LONDON_BUFFER_M)
    shapely.prepare(area)
    buf = f"{LONDON_BUFFER_M:g} m"
    return _Area(
        tuple(shapely.bounds(area)), area,
        f"outside London (Greater London boundary + {buf})",
        f"Greater London boundary + {buf}",
    )  # fmt: skip


def _borough_area(name: str) -> _Area:
    """A London borough (name or E09 code) widened by LONDON_BUFFER_M."""
    import shapely

    from .boundaries import boroughs

    try:
        b = boroughs(name)
    except UnknownPlaceError as exc:  # names the close matches
        raise BadInputError(
            f"bounds must be 'london', 'none', a London borough, a box or a polygon: "
            f"{exc.args[0]}"
        ) from None
    area = shapely.buffer(shapely.union_all(b.geometry.to_numpy()), LONDON_BUFFER_M)
    shapely.prepare(area)
    label = f"{b['borough_name'].iloc[0]} + {LONDON_BUFFER_M:g} m"
    return _Area(tuple(shapely.bounds(area)), area, f"outside {label}", label)


def _polygon_area(geom: Any) -> _Area:
    import shapely

    if isinstance(geom, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if geom.crs is None:
            raise BadInputError("bounds: the polygons have no CRS; set one (e.g. EPSG:27700)")
        geom = shapely.union_all(geom.to_crs(BNG).geometry.to_numpy())
    if shapely.get_type_id(geom) not in (3, 6) or shapely.is_empty(geom):
        raise BadInputError(f"bounds polygon must be a non-empty (multi)polygon, got {geom!r}")
    geom = shapely.make_valid(geom)
    shapely.prepare(geom)
    return _Area(tuple(shapely.bounds(geom)), geom, "outside the study area", "polygon")


def _check_bounds(bounds: Any) -> _Area | None:
    if bounds is None:
        return None
    if isinstance(bounds, _Area):
        return bounds
    if isinstance(bounds, str):
        key = bounds.strip().lower()
        if key == "none":
            return None
        if key != "london":
            return _borough_area(bounds)
        area = _london_area()
        if area is None:
            log.warning(
                "read_incidents: the London borough outline (dataset 'boroughs') is not "
                "available: using the box LONDON_BOUNDS as the study area instead"
            )
            return _Area(LONDON_BOUNDS, label=f"box {LONDON_BOUNDS}")
        return area
    if isinstance(bounds, (gpd.GeoDataFrame, gpd.GeoSeries)) or hasattr(bounds, "geom_type"):
        return _polygon_area(bounds)
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError):
        msg = f"bounds must be (xmin, ymin, xmax, ymax) in metres, got {bounds!r}"
        raise BadInputError(msg) from None
    if len(b) != 4 or not (b[0] < b[2] and b[1] < b[3]):
        raise BadInputError(f"bounds must be (xmin, ymin, xmax, ymax) with min < max, got {b}")
    return _Area(b, label=f"box {b}")  # type: ignore[arg-type]


def _unique_xy(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes and distinct (a, b) pairs, numbered in order of first appearance.

    police.uk snaps crimes to shared map points, so projecting or building each
    distinct point once is several times faster. Without NaN or zeros (whose sign
    the pair's first appearance decides), each coordinate is factorised on its own
    and the pairs of codes as one integer: a third quicker than factorising complex
    numbers, with the same numbering and values.
    """
    # not NaN or infinite, not zeros (whose sign the pair's first appearance decides)
    plain = len(a) >= 1_000 and all(np.all(np.isfinite(v) & (v != 0)) for v in (a, b))
    if not plain:
        codes, uniq = pd.factorize(a + 1j * b)
        return codes, uniq.real, uniq.imag
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    codes, pairs = pd.factorize(ca.astype(np.int64) * len(ub) + cb)
    return codes, ua[pairs // len(ub)], ub[pairs % len(ub)]


def _inside(x: np.ndarray, y: np.ndarray, bounds: _Area | None) -> np.ndarray:
    """Whether each point (BNG metres) is in the study area: the box, then the polygon."""
    with np.errstate(invalid="ignore"):
        if bounds is None:
            return np.isfinite(x) & np.isfinite(y)
        b = bounds.box
        inside = (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3])
    if bounds.geom is not None and inside.any():
        import shapely

        idx = np.flatnonzero(inside)  # the box is a cheap first cut
        inside[idx] = shapely.intersects_xy(bounds.geom, x[idx], y[idx])
    return inside


def _distance_to(area: _Area, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Metres from points outside `area` to its outline, to within 65 m.

    The detail shows 0.1 km. Vectorised: the nearest outline vertex through a k-d
    tree. Seen from
    d metres away, vertices s apart overstate the distance by at most s²/(8d), so
    points 10 km or more away use the outline simplified to 50 m with a vertex every
    1 km (<= 62.5 m), nearer ones the outline simplified to 10 m with a vertex every
    50 m (<= 13 m). 56,000 far-away points take a fraction of a second; GEOS polygon
    distance, point by point, took 20 s.
    """
    codes, ux, uy = _unique_xy(x, y)
    pts = np.column_stack([ux, uy])
    d, _ = _outline_tree(area, 50.0, 1000.0).query(pts)
    near = d < 10_000
    if near.any():
        d[near] = _outline_tree(area, 10.0, 50.0).query(pts[near])[0]
    return np.asarray(d)[codes]


@lru_cache(maxsize=8)
def _outline_tree(area: _Area, tolerance: float, spacing: float) -> Any:
    """A k-d tree of `area`'s outline vertices.

    The outline is simplified to `tolerance` metres, then given a vertex at least every
    `spacing` metres.
    """
    import shapely
    from scipy.spatial import cKDTree

    outline = shapely.boundary(shapely.simplify(area.geom, tolerance))
    return cKDTree(shapely.get_coordinates(shapely.segmentize(outline, spacing)))
