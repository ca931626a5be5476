"""Put incidents in wards, and count them per ward and period.

``assign_wards`` is a point-in-polygon join that does its work once per distinct
point: police.uk snaps every crime to one of a fixed set of anonymous map points
(849k London crimes on 96k points), so rows sharing a Point object or a coordinate
are merged first and the answer broadcast back to the rows. Few distinct points are
looked up with GEOS (a shapely STRtree); from :data:`_EDGE_INDEX_MIN` on, the numpy
engine of :mod:`hotspots._edges` settles most of them from a raster of the cells the
ward edges touch and measures edge distances exactly without GEOS (fire brigade
calls, collisions: a million distinct points in about a third of ``sjoin``'s time).
``ward_counts`` turns the joined incidents into a tidy, zero-filled table of counts
(and rates per 1,000 residents).
"""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._edges import Edges
from ._errors import BadInputError
from ._objects import object_ids
from ._time import incident_times, month_only, period_freq
from ._validate import check_gdf
from .boundaries import WARD_SETS, ward_population
from .boundaries import wards as load_wards

__all__ = [
    "EDGE_COLUMN",
    "NEAR_EDGE_M",
    "NO_LOCATION",
    "OUTSIDE",
    "WARD_FIELDS",
    "WARD_TOLERANCE_M",
    "assign_wards",
    "borough_incidents",
    "ward_counts",
    "within_wards",
]

log = logging.getLogger("hotspots")

WARD_FIELDS = ["ward_code", "ward_name", "borough_name"]
OUTSIDE = "outside all wards"
NO_LOCATION = "no location"

#: Default for ``near_edge`` (metres): a point this close to a ward edge may belong to
#: the ward across it. The 2022 wards are generalised to 20 m, and police.uk snaps crimes
#: to street points while ward edges often run along streets. Checked on London 2022
#: crimes in the 174 wards whose boundaries did not change from 2018 to 2022: 2.3% of
#: points fall in a different ward with the GLA's full-resolution 2018 file, and 98% of
#: those lie within 20 m of the 20 m file's edge (89% within 10 m); 12% of all points do.
NEAR_EDGE_M = 20.0
#: Distinct points from which :mod:`hotspots._edges` (numpy: raster regions, and a
#: quadtree of each ward's edges) beats GEOS point by point (crossover measured at
#: 20k-40k on London's 704 wards; its fixed cost is ~0.1 s)
_EDGE_INDEX_MIN = 30_000
#: Points in no ward but near one from which their distance is measured to the wards'
#: edges as lines rather than to the polygons
_LINES_MIN = 2_000
#: The column :func:`assign_wards` flags those points in (counted by :func:`ward_counts`)
EDGE_COLUMN = "near_ward_edge"
#: Default for ``tolerance`` (metres), the one ward-join policy of the library, the CLI
#: and the demo: a point in no ward but this close to one goes to the nearest. The 2022
#: wards are generalised to 20 m, so police.uk snap points on boundary roads can fall a
#: few metres outside every ward (docs/methods.md).
WARD_TOLERANCE_M = 25.0


def _unique_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Distinct (x, y) pairs and, per row, the index of its pair (None: all distinct).

    Hashing costs ~0.3 s a million points, so a sample of 20,000 decides first whether
    there are repeats worth merging (police.uk: 849k crimes on 96k points; fire
    brigade calls or collisions: all distinct).
    """
    step = max(1, len(x) // 20_000)
    sample = x[::step] + 1j * y[::step]  # complex128 hashes both coordinates at once
    if len(pd.unique(sample)) > 0.95 * len(sample):
        return x, y, None
    # one int64 per pair (the bits of x and y mixed) hashes twice as fast as complex;
    # a mix two different pairs share is caught below, and then complex it is
    mixed = x.view(np.int64) * np.int64(-7046029254386353131) ^ y.view(np.int64)
    inverse, uniq = pd.factorize(mixed)
    first = np.empty(len(uniq), np.int64)
    first[inverse[::-1]] = np.arange(len(x) - 1, -1, -1)  # first row of each pair
    ux, uy = x[first], y[first]
    if (ux[inverse] == x).all() and (uy[inverse] == y).all():
        return ux, uy, inverse
    inverse, uniq = pd.factorize(x + 1j * y)
    uniq = np.asarray(uniq)
    return uniq.real.copy(), uniq.imag.copy(), inverse


def _distinct_points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Distinct coordinates (m) of point geometries, and per row the index of its own.

    Rows without a location (missing or empty geometry) get index ``len(x)``; None
    when every row is a point of its own, in order. Readers share one Point object
    among the rows at one place (:func:`hotspots.read_incidents`: 849k London crimes on
    96k objects), so repeated objects are merged first by identity, and only the
    distinct objects are read by GEOS.

    Raises
    ------
    BadInputError
        When a geometry is not a point.
    """
    inverse, geoms = _distinct_objects(geoms)
    type_id = shapely.get_type_id(geoms)  # -1 missing, 0 point; one cheap pass
    bad = (type_id != 0) & (type_id != -1)
    if bad.any():
        found = sorted({g.geom_type for g in geoms[bad]})
        raise BadInputError(f"incidents must be points to be put in wards; found {found}")
    located = type_id == 0
    xy = shapely.get_coordinates(geoms)  # skips missing and empty points
    if len(xy) != located.sum():
        located &= ~shapely.is_empty(geoms)
    ux, uy, coord_of = _unique_xy(xy[:, 0], xy[:, 1])
    if inverse is None and coord_of is None and len(ux) == len(geoms):
        return ux, uy, None  # one row, one point: nothing to broadcast
    row_u = np.full(len(geoms), len(ux), dtype=np.int64)
    row_u[located] = np.arange(len(ux)) if coord_of is None else coord_of
    return ux, uy, (row_u if inverse is None else row_u[inverse])


def _to_rows(values: np.ndarray, missing, row_u: np.ndarray | None) -> np.ndarray:
    """Values per distinct point broadcast to the rows (`missing` for no location)."""
    return values if row_u is None else np.append(values, missing)[row_u]


def _distinct_objects(geoms: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Distinct geometry objects: per row the index of its object, and the objects.

    (None, `geoms`) when there are under 50,000 rows, or a sample of 20,000 of them
    shows few repeated objects.
    """
    n = len(geoms)
    if n < 50_000:
        return None, geoms
    geoms = np.ascontiguousarray(geoms)
    ptr = object_ids(geoms)
    sample = ptr[:: n // 20_000]
    if len(pd.unique(sample)) > 0.95 * len(sample):  # as _unique_xy (London 2022: 0.75)
        return None, geoms
    inverse, uniq = pd.factorize(ptr)
    first = np.empty(len(uniq), np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)  # first row of each object
    return inverse, geoms[first]


def _first_by_rank(
    pt: np.ndarray, ward: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each point index in `pt`, keep the hit whose ward has the lowest rank."""
    order = np.lexsort((rank[ward], pt))
    pt, ward = pt[order], ward[order]
    keep = _firsts(pt)
    return pt[keep], ward[keep]


def _firsts(sorted_ids: np.ndarray) -> np.ndarray:
    """True at the first of each run of equal values (empty in, empty out)."""
    keep = np.ones(len(sorted_ids), bool)
    keep[1:] = sorted_ids[1:] != sorted_ids[:-1]
    return keep


def assign_wards(
    inc: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    tolerance: float = WARD_TOLERANCE_M,
    near_edge: float = NEAR_EDGE_M,
) -> gpd.GeoDataFrame:
    """Add the ward each incident lies in: ``ward_code, ward_name, borough_name``.

    Each distinct point is joined once (police.uk snaps many crimes to one map
    point): with GEOS (a shapely STRtree over the ward polygons) up to 30,000
    distinct points, with the numpy engine of :mod:`hotspots._edges` from there.

    - A point inside or on the edge of a ward gets that ward. A point on an edge
      shared by two wards goes to exactly one: the one with the lowest ``ward_code``
      (deterministic, whatever the row or ward order).
    - A point in no ward gets missing ward fields and ``ward_reason`` =
      "outside all wards" (or "no location" when its geometry is missing or empty).
    - With ``tolerance`` > 0, a point in no ward but within that many metres of one
      (the 2022 boundaries are generalised to about 20 m, so coastline-like edges
      such as the London boundary can miss points by a few metres) goes to the
      nearest such ward, and ``ward_reason`` says so ("nearest ward within 12 m").
    - Every located point gets ``ward_edge_m``, its distance to the nearest ward edge
      (for a point in a ward, its own ward's boundary; else the nearest ward, when
      closer than ``near_edge``), and
      ``near_ward_edge`` = ``ward_edge_m < near_edge``: the join is not certain there,
      since the boundaries are generalised and police.uk's snap points sit on streets
      that ward edges often follow (see :data:`NEAR_EDGE_M`).

    Parameters
    ----------
    inc : geopandas.GeoDataFrame
        Incidents with Point geometries, any CRS (joined in EPSG:27700).
    wards : geopandas.GeoDataFrame
        Ward polygons with ``ward_code, ward_name`` (and ``borough_name``), e.g. from
        :func:`hotspots.wards`.
    tolerance : float, default :data:`WARD_TOLERANCE_M` (25)
        Metres; 0 assigns only points inside a ward. The same default everywhere (the
        command line and the demo too), so one file gives one set of ward totals.
    near_edge : float, default :data:`NEAR_EDGE_M` (20)
        Metres: points closer than this to a ward edge get ``near_ward_edge`` True.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of `inc` (same rows, order, index and CRS) with ``ward_code,
        ward_name, borough_name, ward_reason`` (the reason is missing for rows that
        fell inside a ward), ``ward_edge_m`` (float; NaN without a location, or in no
        ward and ``near_edge`` m or more from every ward) and ``near_ward_edge``
        (bool). ``attrs``: ``n_assigned``, ``n_near_miss``, ``n_unassigned``,
        ``tolerance_m``, ``n_near_edge``, ``near_edge_m``.
    """
    pts = check_gdf(inc, "incidents")
    w = check_gdf(wards, "wards", required=["ward_code", "ward_name"])
    if wards.attrs.get("generalisation") == "200 m":
        msg = ("assign_wards: these wards are generalised to 200 m (ONS BSC, meant for maps): "
               "points near edges land in the wrong ward (9% of Harrow's 2022 crimes move "
               "against the 20 m file); join with a 20 m or finer set (hs.wards(year=2022)) "
               "and map with these")
        warnings.warn(msg, UserWarning, stacklevel=2)
        log.info(msg)  # info: the warning already shows once in a notebook
    tolerance = float(tolerance or 0.0)
    if tolerance < 0:
        raise BadInputError(f"tolerance is in metres and cannot be negative, got {tolerance}")
    near_edge = float(near_edge)
    if not near_edge >= 0:
        raise BadInputError(f"near_edge is in metres and cannot be negative, got {near_edge}")
    n = len(pts)
    ux, uy, row_u = _distinct_points(np.asarray(pts.geometry.values))
    n_u = len(ux)

    wgeom = np.asarray(w.geometry.values)  # check_gdf gave them in BNG
    codes = w["ward_code"].astype(str).to_numpy()
    rank = np.argsort(np.argsort(codes, kind="stable"), kind="stable")  # lower code wins
    ward_of, edge_of, near_d = _locate(ux, uy, wgeom, rank, tolerance, near_edge)

    # broadcast from distinct points to rows by integer take (no per-row Python objects)
    row_ward = _to_rows(ward_of, -1, row_u)
    near_u = ~np.isnan(near_d)
    n_near = int(_to_rows(near_u, missing=False, row_u=row_u).sum())
    # reasons as codes into a short list of texts: [missing, outside, no location, near...]
    metres = np.maximum(1, np.ceil(near_d[near_u])).astype(np.int64)
    steps, step_of = np.unique(metres, return_inverse=True)
    texts = [None, OUTSIDE, NO_LOCATION] + [f"nearest ward within {m} m" for m in steps]
    reason_u = np.where(ward_of < 0, 1, 0)
    reason_u[near_u] = 3 + step_of
    reason_code = _to_rows(reason_u, 2, row_u)

    out = inc.copy(deep=False)  # copy-on-write: new columns never reach `inc`
    hit = row_ward >= 0
    for col in WARD_FIELDS:
        src = w[col].astype(str) if col in w.columns else pd.Series([None] * len(w))
        out[col] = pd.array(src.to_numpy(dtype=object), dtype="str").take(
            row_ward, allow_fill=True
        )
    out["ward_reason"] = pd.array(np.array(texts, dtype=object), dtype="str").take(reason_code)
    out["ward_edge_m"] = _to_rows(edge_of, np.nan, row_u)
    out[EDGE_COLUMN] = out["ward_edge_m"].to_numpy() < near_edge
    n_edge = int(out[EDGE_COLUMN].sum())

    n_out = int((~hit).sum())
    out.attrs.update(
        n_assigned=int(hit.sum()) - n_near,
        n_near_miss=n_near,
        n_unassigned=n_out,
        tolerance_m=tolerance,
        n_near_edge=n_edge,
        near_edge_m=near_edge,
    )
    log.info(
        "assign_wards: %d incidents (%d distinct points) -> %d in a ward, %d near-miss "
        "within %g m, %d unassigned; %d within %g m of a ward edge",
        n, n_u, int(hit.sum()) - n_near, n_near, tolerance, n_out, n_edge, near_edge,
    )
    return out


def _wards_of(x: np.ndarray, y: np.ndarray, wgeom: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Index of the lowest-ranked ward each point intersects (-1: none), by GEOS."""
    out = np.full(len(x), -1, dtype=np.int64)
    if len(x) and len(wgeom):
        # query with each ward polygon against a tree of the points: GEOS prepares the
        # polygon once, which beats testing every point against unprepared polygons
        tree = shapely.STRtree(shapely.points(x, y))
        ward_idx, pt_idx = tree.query(wgeom, predicate="intersects")
        pt_idx, ward_idx = _first_by_rank(pt_idx, ward_idx, rank)
        out[pt_idx] = ward_idx
    return out


def _locate(
    x: np.ndarray, y: np.ndarray, wgeom: np.ndarray, rank: np.ndarray, tolerance: float,
    near: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ward index (-1: none) and distances for each distinct point.

    Metres to the nearest ward edge, and metres to the ward when it is a near-miss
    within `tolerance` (else NaN).

    From :data:`_EDGE_INDEX_MIN` points, most are settled without GEOS (see
    :mod:`hotspots._edges`): a point in a raster cell no ward edge touches shares its
    ward with every point of its edge-free region, and one GEOS test per region settles
    them all; only points in cells an edge touches are tested one by one. The edge
    distance of a point in a ward is the exact minimum over the few edges of its ward
    that can be nearest. A point in no ward is measured (by GEOS) only when it may lie
    within `near` (or `tolerance`) metres of one.
    """
    n = len(x)
    ward_of = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    near_d = np.full(n, np.nan)
    reach = max(near, tolerance)
    if not n or (shapely.is_empty(wgeom) | shapely.is_missing(wgeom)).all():
        return ward_of, dist, near_d
    edges = Edges(wgeom, reach) if n >= _EDGE_INDEX_MIN else None
    if edges is None or not len(edges.owner):  # GEOS point by point: few points
        ward_of = _wards_of(x, y, wgeom, rank)
        hit = ward_of >= 0
        dist[hit] = shapely.distance(shapely.points(x[hit], y[hit]),
                                     shapely.boundary(wgeom)[ward_of[hit]])
        miss = np.flatnonzero(~hit)
        shapes, owner = wgeom, np.arange(len(wgeom))
    else:
        ward_of = _wards_by_region(edges.regions(x, y), x, y, wgeom, rank)
        hit = ward_of >= 0
        dist[hit] = edges.distances(x[hit], y[hit], ward_of[hit])
        miss = np.flatnonzero(~hit)
        miss = miss[edges.near(miss, reach)]
        # a point in no ward is as far from a ward as from its nearest edge: GEOS
        # measures a two-point line far faster than a polygon (~20 µs a point), once
        # the lines are made (~20 ms for London's 704 wards)
        lines = len(miss) > _LINES_MIN
        shapes, owner = (edges.lines(), edges.owner) if lines else (wgeom, np.arange(len(wgeom)))
    if reach > 0 and len(miss):
        # the nearest ward within reach (a point in no ward: its nearest edge)
        (mi, mw), d = shapely.STRtree(shapes).query_nearest(
            shapely.points(x[miss], y[miss]), max_distance=reach, return_distance=True,
            all_matches=True,
        )
        mw = owner[mw]
        # equidistant wards: the lowest code wins, as on shared edges
        order = np.lexsort((rank[mw], d, mi))
        mi, mw, d = mi[order], mw[order], d[order]
        keep = _firsts(mi)
        mi, mw, d = miss[mi[keep]], mw[keep], d[keep]
        dist[mi] = d
        if tolerance > 0:
            won = d <= tolerance
            ward_of[mi[won]] = mw[won]
            near_d[mi[won]] = d[won]
    dist[(ward_of < 0) & ~(dist < near)] = np.nan
    return ward_of, dist, near_d


def _wards_by_region(
    region: np.ndarray, x: np.ndarray, y: np.ndarray, wgeom: np.ndarray, rank: np.ndarray
) -> np.ndarray:
    """Ward index per point from :meth:`hotspots._edges.Edges.regions`.

    One GEOS test per region (its first point), one per point that has no region.
    """
    ward_of = np.full(len(x), -1, dtype=np.int64)
    test = np.flatnonzero(region == -1)
    in_region = np.flatnonzero(region >= 0)
    first = np.full(int(region.max(initial=-1)) + 1, -1, np.int64)
    first[region[in_region[::-1]]] = in_region[::-1]  # the first point of each region
    reps = first[first >= 0]  # stands for all of its region
    got = _wards_of(x[np.r_[test, reps]], y[np.r_[test, reps]], wgeom, rank)
    ward_of[test] = got[: len(test)]
    region_ward = np.full(len(first), -1, np.int64)
    region_ward[first >= 0] = got[len(test):]
    ward_of[in_region] = region_ward[region[in_region]]
    return ward_of


# --- counts -----------------------------------------------------------------------------


def _population_for(
    population: pd.DataFrame | pd.Series | None, wards: gpd.GeoDataFrame | None,
    codes: pd.Index, periods: pd.Series | None,
) -> tuple[pd.Series | None, str]:
    """Population per ward code (or None) and a note on where it came from."""
    if population is not None:
        if isinstance(population, pd.DataFrame):
            if not {"ward_code", "population"} <= set(population.columns):
                raise BadInputError("population must have columns 'ward_code' and 'population'")
            population = population.set_index("ward_code")["population"]
        return pd.to_numeric(population, errors="coerce"), "given"
    # the ward pattern the codes belong to: from the wards given, else by looking them up
    year = None
    if wards is not None and "year" in wards.columns and wards["year"].nunique() == 1:
        year = int(wards["year"].iloc[0])
    else:
        year = next(
            (y for y in (2022, 2018, 2014) if codes.isin(load_wards(year=y)["ward_code"]).all()),
            None,
        )
    if year not in WARD_SETS:
        return None, "none (ward codes not from a known ward set)"
    table = load_wards(year=year)
    boroughs = sorted(set(table.loc[table["ward_code"].isin(codes), "borough_code"]))
    if not boroughs:
        return None, "none (ward codes not from a known ward set)"
    mid = 2022
    if periods is not None and periods.notna().any():
        mid = int(periods.dropna().dt.year.median())
    mid = min(max(mid, 2011), 2050)
    pop = ward_population(mid, ward_year=year, borough=boroughs)
    return pop.set_index("ward_code")["population"], f"GLA {mid} on {year} wards"


def ward_counts(
    inc: pd.DataFrame,
    *,
    freq: str | None = "W-MON",
    by: str | None = "category",
    rates: bool = True,
    wards: gpd.GeoDataFrame | None = None,
    population: pd.DataFrame | pd.Series | None = None,
    weights: str | None = None,
) -> pd.DataFrame:
    """Count incidents per ward, period and category: a tidy, zero-filled table.

    Every combination of ward × period × category is present, with 0 where nothing
    happened: the wards are all of `wards` when given (else every ward seen in
    `inc`), the periods run from the first to the last seen, and the categories are
    every value of `by` seen (or its categories, when categorical).

    Parameters
    ----------
    inc : pandas.DataFrame
        Incidents after :func:`assign_wards` (needs ``ward_code``; ``ward_name`` when
        `wards` is not given), with ``occurred_at`` and/or ``month``.
    freq : str or None, default "W-MON"
        "W-MON": weeks starting Monday, ``period`` = that Monday (pandas' own "W-MON"
        labels a week by its *last* day; here the label is the first). Other
        "W-<DAY>" work alike; "D" days; "MS", "QS", "YS" months, quarters, years
        (``period`` = first day). None: one total per ward, no ``period`` column.
        Weekly or daily counts need ``occurred_at``; on a month-only source
        (police.uk) they fall back to monthly counts (``freq="MS"``) with a
        ``UserWarning``, and ``attrs["freq"]`` says "MS". Monthly counts use
        ``occurred_at`` when known, else ``month``.
    by : str or None, default "category"
        Column to break counts down by; None for all incidents together.
    rates : bool, default True
        Add ``rate_per_1000``: count per 1,000 residents (per period) when the
        population of the wards is known.
    wards : geopandas.GeoDataFrame, optional
        The wards to report on (all of them, even with no incidents). Incidents in
        other wards are left out (counted in ``attrs["n_other_wards"]``).
    population : DataFrame or Series, optional
        ``ward_code, population`` (or a Series indexed by ward code). By default the
        GLA figures from :func:`hotspots.ward_population` for the middle year of the
        data on the wards' pattern (approximate on 2022 wards: see there).
    weights : str, optional
        Column of whole numbers each row counts for (default 1 per row): lets partial
        counts (e.g. per partition, :func:`hotspots.distributed.ward_counts_dask`) be
        combined into the same table.

    Returns
    -------
    pandas.DataFrame
        ``ward_code, ward_name, period, <by>, count`` (+ ``n_near_edge``: how many of
        ``count`` lie near the ward's edge, when `inc` has ``near_ward_edge`` from
        :func:`assign_wards`) (+ ``rate_per_1000``), sorted.
        ``attrs``: ``freq`` (used), ``freq_asked``, ``n_counted``, ``n_no_ward``, ``n_undated``,
        ``n_other_wards``, ``population`` (its source).
    """
    if not isinstance(inc, pd.DataFrame):
        raise BadInputError(f"incidents must be a DataFrame, got {type(inc).__name__}")
    if "ward_code" not in inc.columns:
        raise BadInputError("incidents have no 'ward_code': run hs.assign_wards(inc, wards) first")
    if by is not None and by not in inc.columns:
        raise BadInputError(f"no column {by!r} to count by; columns: {list(inc.columns)[:20]}")

    df = pd.DataFrame({"ward_code": inc["ward_code"].astype("str")})
    df["_n"] = 1 if weights is None else inc[weights].to_numpy(dtype="int64")
    edge = EDGE_COLUMN in inc.columns
    if edge:  # how many of each count sit on a ward edge and could belong next door
        near = inc[EDGE_COLUMN].fillna(value=False).to_numpy(dtype=bool)
        df["_edge"] = np.where(near, df["_n"].to_numpy(), 0)
    keys = ["ward_code"]
    n_no_ward = int(df.loc[df["ward_code"].isna(), "_n"].sum())
    freq_asked = freq
    if freq is not None:
        pfreq, daily = period_freq(freq)
        if daily and month_only(inc):
            # police.uk gives a month, no day: a weekly table would be empty, so give
            # the monthly one the data can support and say so loudly
            msg = (
                f"ward_counts: freq={freq!r} needs the day of each incident, but these "
                "incidents carry a month only (police.uk publishes month only): "
                "counting by month instead (freq='MS')"
            )
            warnings.warn(msg, UserWarning, stacklevel=2)
            log.info(msg)  # info: the warning above already shows once in a notebook
            freq = "MS"
            pfreq, daily = period_freq(freq)
        when = incident_times(inc, dated_only=daily)
        df["period"] = when.dt.to_period(pfreq).dt.start_time
        keys.append("period")
    if by is not None:
        df[by] = inc[by]
        keys.append(by)
    n_undated = int(df.loc[df["period"].isna(), "_n"].sum()) if freq is not None else 0

    if wards is not None:
        wards = check_gdf(wards, "wards", required=["ward_code", "ward_name"])
        names = wards.drop_duplicates("ward_code").set_index("ward_code")["ward_name"]
    else:
        if "ward_name" not in inc.columns:
            raise BadInputError("incidents have no 'ward_name'; pass wards= to name the wards")
        seen = pd.DataFrame({"ward_code": df["ward_code"], "ward_name": inc["ward_name"]})
        names = seen.dropna().drop_duplicates("ward_code").set_index("ward_code")["ward_name"]
    names = names.astype(str).sort_index()
    in_scope = df["ward_code"].isin(names.index)
    n_other = int(df.loc[df["ward_code"].notna() & ~in_scope, "_n"].sum())
    df = df[in_scope].dropna(subset=keys)

    levels = [names.index]
    if freq is not None:
        span = df["period"]
        if len(span):
            levels.append(pd.period_range(span.min(), span.max(), freq=pfreq).start_time)
        else:
            levels.append(pd.DatetimeIndex([]))
    if by is not None:
        col = inc[by]
        cats = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else None
        levels.append(pd.Index(sorted(df[by].unique()) if cats is None else list(cats)))
    # one key: a plain index (a frame grouped by one key does not align to a 1-level MultiIndex)
    full = (pd.MultiIndex.from_product(levels, names=keys) if len(keys) > 1
            else pd.Index(levels[0], name=keys[0]))
    summed = df.groupby(keys, observed=True)[["_n", "_edge"] if edge else ["_n"]].sum()
    summed = summed.reindex(full, fill_value=0).astype("int64")
    out = summed.rename(columns={"_n": "count", "_edge": "n_near_edge"}).reset_index()
    out.insert(1, "ward_name", out["ward_code"].map(names))

    pop_note = "not asked"
    if rates:
        periods = out["period"] if freq is not None else None
        pop, pop_note = _population_for(population, wards, names.index, periods)
        if pop is not None and out["ward_code"].map(pop).notna().any():
            out["rate_per_1000"] = out["count"] / out["ward_code"].map(pop) * 1000.0
        else:
            pop_note = f"{pop_note}; no population for these wards, rates left out"

    out.attrs.update(
        freq=str(freq), freq_asked=str(freq_asked), n_counted=int(df["_n"].sum()),
        n_no_ward=n_no_ward, n_undated=n_undated, n_other_wards=n_other, population=pop_note,
    )
    log.info(
        "ward_counts: %d incidents counted in %d wards (freq=%s, by=%s); left out: %d with "
        "no ward, %d undated, %d in other wards; population: %s",
        int(df["_n"].sum()), len(names), freq, by, n_no_ward, n_undated, n_other, pop_note,
    )
    return out



def within_wards(
    inc: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    tolerance: float = WARD_TOLERANCE_M,
) -> gpd.GeoDataFrame:
    """The incidents in `wards`, joined against every London ward of the same year.

    Joining to some wards alone would pull in points just across their outer edge (a
    point inside a neighbour's ward but within `tolerance` of these). When `wards` are
    a subset of a registry ward set (a ``year`` column, as :func:`hotspots.wards` gives),
    points are joined to all of that year's London wards first and those in `wards`
    kept, so every incident is in one ward only; other ward sets are joined as given.

    Parameters
    ----------
    inc : geopandas.GeoDataFrame
        Incidents with Point geometries, any CRS.
    wards : geopandas.GeoDataFrame
        The wards to keep (e.g. ``hs.wards("Harrow", 2022)``).
    tolerance : float, default :data:`WARD_TOLERANCE_M` (25)
        Metres, as :func:`assign_wards`.

    Returns
    -------
    geopandas.GeoDataFrame
        The incidents in `wards`, with :func:`assign_wards`' columns. ``attrs``: the
        join's, plus ``n_read`` and ``n_outside_borough`` (left out: in another ward
        or none).
    """
    years = set(wards["year"].dropna().unique()) if "year" in wards.columns else set()
    against = wards
    if len(years) == 1 and (year := int(years.pop())) in WARD_SETS:
        london = load_wards(None, year)
        if wards["ward_code"].isin(london["ward_code"]).all():
            against = london
    joined = assign_wards(inc, against, tolerance=tolerance)
    kept = joined[joined["ward_code"].isin(wards["ward_code"])]
    kept.attrs.update(joined.attrs, n_read=len(joined),
                      n_outside_borough=len(joined) - len(kept))
    return kept

def borough_incidents(
    inc: gpd.GeoDataFrame,
    borough: str,
    year: int = 2022,
    *,
    tolerance: float = WARD_TOLERANCE_M,
) -> gpd.GeoDataFrame:
    """The incidents in a borough's wards: joined to every London ward, then the borough's kept.

    Joining to the borough's wards alone would pull in points just across its edge (a
    point inside a neighbour's ward but within `tolerance` of the borough). Joined to
    all of London's wards first, every incident is in one ward only: run for each
    borough, the counts add up to London's. This is how ``hotspots counts --borough``,
    ``rank``/``map --borough`` and the demo count a borough.

    Parameters
    ----------
    inc : geopandas.GeoDataFrame
        Incidents with Point geometries, any CRS.
    borough : str
        Borough name or E09 code (as :func:`hotspots.wards`).
    year : int, default 2022
        Ward boundary year.
    tolerance : float, default :data:`WARD_TOLERANCE_M` (25)
        Metres, as :func:`assign_wards`.

    Returns
    -------
    geopandas.GeoDataFrame
        The incidents in the borough's wards, with :func:`assign_wards`' columns.
        ``attrs``: those of the join, plus ``borough`` (its name), ``n_read`` and
        ``n_outside_borough`` (incidents left out: in another ward or none).

    Raises
    ------
    BadInputError
        When no incident is in the borough.
    """
    w = load_wards(borough, year)
    name = w["borough_name"].iloc[0] if len(w) else borough
    kept = within_wards(inc, w, tolerance=tolerance)
    n_out, n_read = kept.attrs["n_outside_borough"], kept.attrs["n_read"]
    kept.attrs["borough"] = name
    if len(kept) == 0:
        raise BadInputError(f"no incidents in {name} ({n_read:,} read, all outside it): "
                            "check the borough, or count every ward")
    if n_out:
        log.info("%d of %d incidents are outside %s and left out", n_out, n_read, name)
    return kept
