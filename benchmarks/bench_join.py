"""Benchmark: hs.assign_wards vs plain geopandas.sjoin, 1M points to London's 704 wards,
and reading + joining the whole London 2022 file (849,409 rows) end to end.

The points are the real London 2022 police.uk coordinates (849k crimes snapped to
far fewer anonymous map points), resampled with replacement to 10k, 100k and
1,000,000 rows (``quick``: not 1M), so the benchmark has police.uk's real share of
repeated coordinates. Time and memory: :mod:`_measure` (each run in a forked child,
peak RSS). Agreement: share of points given the same ward code (no ward = "" on both
sides); ours runs with ``tolerance=0``, the question sjoin answers (the default also
places near-misses within 25 m).

Distinct points (fire brigade calls, collisions, council reports: no police.uk snap
points): 100k and 1,000,000 points uniform over the wards' bounding box (about 40% of
them outside London), ``assign_wards`` against sjoin (issue 20 target:
>= 2x with identical wards; quick: 100k only); ours also gives every point in a ward its
exact distance to the ward's edge (checked against GEOS on 2,000 sampled points).

The end-to-end case times ``hs.read_incidents`` (layout detection, checks, content ids,
the London outline) + ``hs.assign_wards`` on the 2022 (20 m) wards against the plain
way: ``pandas.read_csv``, ``points_from_xy`` + ``to_crs``, ``geopandas.sjoin``. It runs
in quick mode too (about 10 s). Agreement is over the rows both keep (the reader
rejects the ~100 outside London). Run: ``python benchmarks/bench_join.py [--quick]``.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from _measure import best_of, header, line, measure, row

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


def _distinct(n: int, wards: gpd.GeoDataFrame, seed: int = SEED) -> gpd.GeoDataFrame:
    """n distinct points uniform over the wards' bounding box (BNG, no repeats)."""
    x0, y0, x1, y1 = wards.total_bounds
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(rng.uniform(x0, x1, n),
                                                        rng.uniform(y0, y1, n)), crs=27700)


def _sjoin(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> np.ndarray:
    """The plain way: sjoin every row, then one ward per point (lowest code, as ours)."""
    j = gpd.sjoin(pts, wards[["ward_code", "geometry"]], how="left", predicate="intersects")
    j = j.sort_values("ward_code", kind="stable")
    codes = j[~j.index.duplicated(keep="first")]["ward_code"].reindex(pts.index)
    return codes.to_numpy(dtype=object)


def _ours(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> np.ndarray:
    # tolerance 0: the question sjoin answers (the default also places near-misses)
    return hs.assign_wards(pts, wards, tolerance=0)["ward_code"].to_numpy(dtype=object)


def _read_join(wards: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ours end to end: ward code per kept row, and the rejected rows' file lines."""
    inc, report = hs.read_incidents("london_crime_2022", with_report=True)
    codes = hs.assign_wards(inc, wards, tolerance=0)["ward_code"].to_numpy(dtype=object)
    return codes, report.rejects["row"].to_numpy()


def _read_sjoin(wards: gpd.GeoDataFrame) -> np.ndarray:
    """The plain way end to end: read the CSV, make points, project, sjoin."""
    raw = pd.read_csv(datasets.path("london_crime_2022"))
    pts = gpd.GeoDataFrame(
        raw, geometry=gpd.points_from_xy(raw["longitude"], raw["latitude"]), crs=4326
    ).to_crs(27700)
    return _sjoin(pts, wards)


def run(sizes=(10_000, 100_000, N_POINTS), quick: bool = False) -> list[dict]:
    """Print and return time, peak memory, ratio and agreement of assign_wards vs sjoin."""
    wards = hs.wards(year=2022)
    header(f"bench_join: hs.assign_wards vs geopandas.sjoin, {len(wards)} wards (2022), "
           "London 2022 crime coordinates resampled")
    warm = _points(1000)
    _ours(warm, wards)  # warm up lazy imports and caches before the forked runs
    _sjoin(warm, wards)
    hs.read_incidents("harrow_crime_2022")  # builds the cached London outline
    rows = [_run_one(n, wards) for n in sizes if not quick or n <= 100_000]
    rows += [_run_distinct(n, wards) for n in (100_000, N_POINTS) if not quick or n <= 100_000]
    return rows + [_run_london(wards)]


def _ours_edges(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ours, keeping the edge distances too (checked against GEOS after the timing)."""
    out = hs.assign_wards(pts, wards, tolerance=0)
    return out["ward_code"].to_numpy(dtype=object), out["ward_edge_m"].to_numpy()


def _edge_error(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, codes: np.ndarray,
                edge_m: np.ndarray, k: int = 2000) -> float:
    """Largest |ward_edge_m - GEOS distance to the ward's boundary| (m) over k points in
    a ward, sampled."""
    inside = np.flatnonzero(pd.notna(codes))
    pick = np.random.default_rng(SEED).choice(inside, min(k, len(inside)), replace=False)
    boundary = wards.set_index("ward_code").boundary
    ref = shapely.distance(pts.geometry.values[pick], boundary.loc[codes[pick]].values)
    return float(np.abs(edge_m[pick] - ref).max())


def _run_distinct(n: int, wards: gpd.GeoDataFrame) -> dict:
    pts = _distinct(n, wards)
    ours = best_of(_ours_edges, pts, wards)
    ref = best_of(_sjoin, pts, wards)
    codes, edge_m = ours.result
    same = pd.Series(codes).fillna("").to_numpy() == pd.Series(ref.result).fillna(
        "").to_numpy()
    agreement = (f"same ward {same.mean():.4%} ({(~same).sum()} differ); edge distance "
                 f"max error {_edge_error(pts, wards, codes, edge_m):.1e} m vs GEOS")
    ok = ref.seconds >= 2 * ours.seconds and same.all()
    case = f"{n:,} distinct points"
    print(line(case, ours, ref, "geopandas.sjoin", agreement)
          + f" | target >= 2x, identical: {'OK' if ok else 'MISSED'}")
    return row(case, n, ours, ref, "geopandas.sjoin", agreement, n_unique=n)


def _run_london(wards: gpd.GeoDataFrame) -> dict:
    ours = measure(_read_join, wards)
    ref = measure(_read_sjoin, wards)
    codes, rejected = ours.result
    n = len(codes) + len(rejected)
    kept = np.ones(n, bool)
    kept[rejected - 2] = False  # CSV line numbers: the header is line 1
    same = pd.Series(codes).fillna("").to_numpy() == pd.Series(ref.result[kept]).fillna(
        "").to_numpy()
    agreement = f"same ward {same.mean():.4%} of {len(codes):,} kept ({(~same).sum()} differ)"
    case = f"read + join London 2022, {n:,} rows"
    print(line(case, ours, ref, "read_csv + to_crs + sjoin", agreement)
          + f" | {n / ours.seconds:,.0f} rows/s vs {n / ref.seconds:,.0f} rows/s")
    return row(case, n, ours, ref, "read_csv + to_crs + sjoin", agreement,
               rows_per_s=n / ours.seconds, ref_rows_per_s=n / ref.seconds)


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
