"""Ward counts and kernel density over dask-geopandas partitions, for data beyond one machine.

Both analyses are sums over incidents, so each partition is reduced where it lives
and only small results travel:

- :func:`ward_counts_dask`: every partition is joined to the wards
  (:func:`hotspots.assign_wards`) and counted per ward, period and category; the
  partial counts are added up and finished by :func:`hotspots.ward_counts` itself
  (``weights=``), so zero-filling, rates and ``attrs`` are the single-machine ones.
- :func:`kde_dask`: every partition is binned and convolved on the *same* grid and
  bandwidth (:func:`hotspots.density.density_array`, linear in the points), and the
  grids are added: a few MB per partition, whatever the number of incidents.

The same code runs on the threads of one process, a ``dask.distributed.LocalCluster``
or a real cluster: whichever scheduler is active (``Client(...)``) computes it.
Results equal the single-machine ones: counts exactly, densities to floating-point
summation order (relative differences ~1e-15). See README "Beyond one machine" for
when to switch.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import BadInputError
from ._optional import require
from ._time import incident_times, period_freq
from ._validate import check_gdf, check_positive, weights_array
from .density import KERNELS, density_array
from .grid import Grid, bin_points, make_grid, points_xy, to_gdf
from .join import EDGE_COLUMN, WARD_TOLERANCE_M, assign_wards, ward_counts

__all__ = ["kde_dask", "ward_counts_dask"]

log = logging.getLogger("hotspots")


def _partitions(ddf: Any, npartitions: int | None = None) -> list:
    """Delayed partitions of a dask(-geopandas) frame; a GeoDataFrame is split first."""
    dask_geopandas = _dask("dask_geopandas")
    if isinstance(ddf, gpd.GeoDataFrame):
        ddf = dask_geopandas.from_geopandas(ddf, npartitions=npartitions or 4)
    if not hasattr(ddf, "to_delayed"):
        raise BadInputError(f"expected a dask-geopandas GeoDataFrame, got {type(ddf).__name__}; "
                            "make one with dask_geopandas.read_parquet or "
                            "hs.IncidentStore(path).to_dask()")
    return ddf.to_delayed()


def _dask(module: str = "dask") -> Any:
    """`module` from the ``hotspots[dask]`` extra, or a message naming the extra."""
    return require(module, extra="dask", feature="hotspots.distributed")


def _compute(tasks: list) -> list:
    return list(_dask().compute(*tasks))


# --------------------------------------------------------------------------- ward counts
def _partition_counts(part: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, pfreq: str | None,
                      by: str | None, tolerance: float, *, daily: bool) -> pd.DataFrame:
    """One partition joined to wards and counted per ward, period and `by`."""
    if not len(part):
        return pd.DataFrame()
    joined = assign_wards(part, wards, tolerance=tolerance)
    keys = {"ward_code": joined["ward_code"], "ward_name": joined["ward_name"]}
    if pfreq is not None:
        keys["period"] = incident_times(joined, dated_only=daily).dt.to_period(
            pfreq).dt.start_time
    if by is not None:
        if by not in joined.columns:
            raise BadInputError(f"no column {by!r} to count by")
        keys[by] = joined[by].astype("str")
    keys[EDGE_COLUMN] = joined[EDGE_COLUMN]  # so the totals carry n_near_edge too
    df = pd.DataFrame(keys)
    return df.groupby(list(df.columns), dropna=False).size().rename("n").reset_index()


def ward_counts_dask(
    ddf: Any,
    wards: gpd.GeoDataFrame,
    *,
    freq: str | None = "W-MON",
    by: str | None = "category",
    rates: bool = True,
    population: pd.DataFrame | pd.Series | None = None,
    tolerance: float = WARD_TOLERANCE_M,
) -> pd.DataFrame:
    """:func:`hotspots.ward_counts` of :func:`hotspots.assign_wards`, partition by partition.

    Parameters
    ----------
    ddf : dask_geopandas.GeoDataFrame (or a GeoDataFrame, split in 4)
        Canonical incidents, e.g. ``hs.IncidentStore(path).to_dask()``.
    wards : geopandas.GeoDataFrame
        Ward polygons (:func:`hotspots.wards`), sent once to every worker.
    freq, by, rates, population
        As :func:`hotspots.ward_counts` (weekly or daily counts on month-only data fall
        back to months with the same warning).
    tolerance : float, default :data:`hotspots.WARD_TOLERANCE_M` (25)
        As :func:`hotspots.assign_wards`, metres.

    Returns
    -------
    pandas.DataFrame
        The table :func:`hotspots.ward_counts` gives for the whole data at once, with
        the same ``attrs`` (plus ``n_partitions``).
    """
    dask = _dask()
    wards = check_gdf(wards, "wards", required=["ward_code", "ward_name"])
    parts = _partitions(ddf)
    pfreq, daily = (None, False) if freq is None else period_freq(freq)
    month_only = False
    if daily:  # weeks/days need occurred_at somewhere in the data, as ward_counts decides
        has_day = dask.delayed(lambda p: "occurred_at" in p.columns
                               and bool(p["occurred_at"].notna().any()))
        month_only = not any(_compute([has_day(p) for p in parts]))
        if month_only:
            pfreq, daily = period_freq("MS")
    w = dask.delayed(wards, pure=True)
    task = dask.delayed(_partition_counts, pure=True)
    partial = [f for f in _compute([task(p, w, pfreq, by, tolerance, daily=daily) for p in parts])
               if len(f)]
    if not partial:
        raise BadInputError("no incidents in any partition")
    keys = [c for c in partial[0].columns if c != "n"]
    agg = (pd.concat(partial, ignore_index=True)
           .groupby(keys, dropna=False, sort=False)["n"].sum().reset_index())
    if pfreq is not None:
        # a period start lies in its own period: ward_counts puts it back in the same bin
        nat = pd.Series(pd.NaT, index=agg.index, dtype="datetime64[ns]")
        start = agg.pop("period").astype("datetime64[ns]")
        agg["occurred_at"], agg["month"] = (nat, start) if month_only else (start, nat)
    out = ward_counts(agg, freq=freq, by=by, rates=rates, wards=wards, population=population,
                      weights="n")
    out.attrs["n_partitions"] = len(parts)
    return out


# --------------------------------------------------------------------------- density
def _partition_density(part: gpd.GeoDataFrame, grid: Grid, bandwidth: float, kernel: str,
                       weights: str | None, method: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(kernel sum per m², incident count per cell, points) of one partition on `grid`."""
    if not len(part):
        return np.zeros(grid.shape), np.zeros(grid.shape), 0
    x, y, ok = points_xy(part)
    w = weights_array(part, weights)[ok]
    # unclipped: the binning correction's small negative values must add up as in the whole
    dens, _ = density_array(x, y, grid, bandwidth, kernel, w, method, nonnegative=False)
    return dens, bin_points(x, y, None, grid), len(x)


def _partition_bounds(part: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(part.total_bounds if len(part) else [np.nan] * 4, float)


def kde_dask(
    ddf: Any,
    *,
    bandwidth: float,
    grid: Grid | None = None,
    cell_size: float | None = None,
    kernel: str = "quartic",
    weights: str | None = None,
    clip: Any = None,
    method: str = "fft",
) -> gpd.GeoDataFrame:
    """:func:`hotspots.kde` summed over partitions: the same grid, in incidents per km².

    Parameters
    ----------
    ddf : dask_geopandas.GeoDataFrame (or a GeoDataFrame, split in 4)
        Incidents in EPSG:27700.
    bandwidth : float
        Kernel radius (standard deviation for the gaussian), metres. Required: the
        single-machine default depends on the spread of all points at once; take it
        from ``hs.kde(one_month).attrs["bandwidth"]`` or choose it.
    grid : Grid, optional
        The grid (``hotspots.grid.make_grid``); default: the data's (or `clip`'s)
        extent at `cell_size` (one extra pass over the partitions for the extent).
    cell_size : float, optional
        Metres, when `grid` is not given; default as :func:`hotspots.kde`.
    kernel, weights, clip
        As :func:`hotspots.kde`.
    method : {"fft", "exact"}, default "fft"
        The binned FFT path (quartic and gaussian; within 1% of the direct sum on every
        cell above 1% of the peak, see :mod:`hotspots.density`) or the direct sum. Both
        are linear in the points, so the partitions' grids add up to the whole's.
        (``"auto"`` decides from all points at once, so it is not offered here.)

    Returns
    -------
    geopandas.GeoDataFrame
        ``row, col, count, density, geometry`` as :func:`hotspots.kde` with the same
        grid, bandwidth and method; ``attrs`` also ``n_partitions``.
    """
    dask = _dask()
    if kernel not in KERNELS:
        raise BadInputError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    if method not in ("fft", "exact"):
        raise BadInputError(f"method must be 'fft' or 'exact' on partitions, got {method!r}")
    bandwidth = check_positive(bandwidth, "bandwidth", allow_none=False)
    parts = _partitions(ddf)
    if grid is None:
        if clip is not None:
            extent = clip
        else:
            b = np.array(_compute([dask.delayed(_partition_bounds)(p) for p in parts]))
            if np.isnan(b).all():
                raise BadInputError("incidents have no locations: nothing to map")
            extent = (np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]),
                      np.nanmax(b[:, 3]))
        grid = make_grid(extent, cell_size)
    task = dask.delayed(_partition_density, pure=True)
    results = _compute([task(p, grid, bandwidth, kernel, weights, method) for p in parts])
    dens = np.maximum(np.sum([r[0] for r in results], axis=0), 0.0) * 1e6
    counts = np.sum([r[1] for r in results], axis=0)
    n = int(sum(r[2] for r in results))
    if n == 0:
        raise BadInputError("incidents have no locations: nothing to map")
    log.info("kde_dask: %s kernel, bandwidth %g m, %d incidents in %d partitions, %dx%d cells, "
             "%s evaluation", kernel, bandwidth, n, len(parts), grid.nrows, grid.ncols, method)
    return to_gdf(grid, {"count": counts, "density": dens}, clip=clip,
                  attrs={"bandwidth": float(bandwidth), "kernel": kernel, "method": method,
                         "n_points": n, "n_partitions": len(parts)})
