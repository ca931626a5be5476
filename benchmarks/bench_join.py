"""Benchmark: hs.assign_wards vs plain geopandas.sjoin, 1M points to London's 704 wards.

The points are the real London 2022 police.uk coordinates (849k crimes snapped to
far fewer anonymous map points), resampled with replacement to 10k, 100k and
1,000,000 rows (``quick``: not 1M), so the benchmark has police.uk's real share of
repeated coordinates. Time and memory: :mod:`_measure` (each run in a forked child,
peak RSS). Agreement: share of points given the same ward code (no ward = "" on both
sides). Run: ``python benchmarks/bench_join.py [--quick]``.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
from _measure import best_of, header, line, row

import hotspots as hs
from hotspots import datasets

N_POINTS = 1_000_000
SEED = 2022


def _points(n: int = N_POINTS, seed: int = SEED) -> gpd.GeoDataFrame:
    raw = pd.read_csv(datasets.path("london_crime_2022"), usecols=["longitude", "latitude"])
    raw = raw.dropna()
    idx = np.random.default_rng(seed).integers(0, len(raw), n)
    pts = raw.iloc[idx].reset_index(drop=True)
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(pts["longitude"], pts["latitude"]), crs=4326
    ).to_crs(27700)


def _sjoin(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> np.ndarray:
    """The plain way: sjoin every row, then one ward per point (lowest code, as ours)."""
    j = gpd.sjoin(pts, wards[["ward_code", "geometry"]], how="left", predicate="intersects")
    j = j.sort_values("ward_code", kind="stable")
    codes = j[~j.index.duplicated(keep="first")]["ward_code"].reindex(pts.index)
    return codes.to_numpy(dtype=object)


def _ours(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> np.ndarray:
    return hs.assign_wards(pts, wards)["ward_code"].to_numpy(dtype=object)


def run(sizes=(10_000, 100_000, N_POINTS), quick: bool = False) -> list[dict]:
    """Print and return time, peak memory, ratio and agreement of assign_wards vs sjoin."""
    wards = hs.wards(year=2022)
    header(f"bench_join: hs.assign_wards vs geopandas.sjoin, {len(wards)} wards (2022), "
           "London 2022 crime coordinates resampled")
    warm = _points(1000)
    _ours(warm, wards)  # warm up lazy imports and caches before the forked runs
    _sjoin(warm, wards)
    return [_run_one(n, wards) for n in sizes if not quick or n <= 100_000]


def _run_one(n: int, wards: gpd.GeoDataFrame) -> dict:
    pts = _points(n)
    n_unique = len(np.unique(np.column_stack([pts.geometry.x, pts.geometry.y]), axis=0))
    ours = best_of(_ours, pts, wards)
    ref = best_of(_sjoin, pts, wards)
    same = pd.Series(ours.result).fillna("").to_numpy() == pd.Series(ref.result).fillna(
        "").to_numpy()
    agreement = f"same ward {same.mean():.4%} ({(~same).sum()} differ)"
    case = f"{n:,} points"
    print(line(case, ours, ref, "geopandas.sjoin", agreement)
          + f" | {n_unique:,} distinct | target >= 2x: "
          + ("OK" if ref.seconds >= 2 * ours.seconds else "MISSED"))
    return row(case, n, ours, ref, "geopandas.sjoin", agreement, n_unique=n_unique)


if __name__ == "__main__":
    import sys

    os.environ.setdefault("PYTHONHASHSEED", "0")
    run(quick="--quick" in sys.argv[1:])
