"""Benchmark: hs.assign_wards vs plain geopandas.sjoin, 1M points to London's 704 wards.

The points are the real London 2022 police.uk coordinates (849k crimes snapped to
far fewer anonymous map points), resampled with replacement to 10k, 100k and
1,000,000 rows (``quick``: not 1M), so the benchmark has police.uk's real share of
repeated coordinates. Each method runs in a forked child process so its peak memory
(Linux VmHWM, reset before the run) is its own. Run: ``python benchmarks/bench_join.py [--quick]``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

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


def _sjoin(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.Series:
    """The plain way: sjoin every row, then one ward per point (lowest code, as ours)."""
    j = gpd.sjoin(pts, wards[["ward_code", "geometry"]], how="left", predicate="intersects")
    j = j.sort_values("ward_code", kind="stable")
    return j[~j.index.duplicated(keep="first")]["ward_code"].reindex(pts.index)


def _ours(pts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.Series:
    return hs.assign_wards(pts, wards)["ward_code"]


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(fn, pts, wards, q) -> None:  # runs in a forked process
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark
        ok = True
    except OSError:
        ok = False
    base = _rss_kib("VmRSS")
    t0 = time.perf_counter()
    codes = fn(pts, wards)
    dt = time.perf_counter() - t0
    peak = (_rss_kib("VmHWM") - base) / 1024 if ok else float("nan")
    q.put((dt, peak, codes.to_numpy(dtype=object)))


def _measure(fn, pts, wards) -> tuple[float, float, np.ndarray]:
    if not Path("/proc/self/status").exists():  # not Linux: time in-process, no memory
        t0 = time.perf_counter()
        codes = fn(pts, wards)
        return time.perf_counter() - t0, float("nan"), codes.to_numpy(dtype=object)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn, pts, wards, q))
    p.start()
    out = q.get()
    p.join()
    return out


def run(sizes=(10_000, 100_000, N_POINTS), quick: bool = False) -> list[dict]:
    """Time and peak memory of assign_wards vs geopandas.sjoin per size; prints them."""
    wards = hs.wards(year=2022)
    return [_run_one(n, wards) for n in sizes if not quick or n <= 100_000]


def _run_one(n: int, wards: gpd.GeoDataFrame) -> dict[str, float]:
    pts = _points(n)
    n_unique = len(np.unique(np.column_stack([pts.geometry.x, pts.geometry.y]), axis=0))
    t_ours, m_ours, ours = _measure(_ours, pts, wards)
    t_sj, m_sj, ref = _measure(_sjoin, pts, wards)
    same = pd.Series(ours).fillna("").to_numpy() == pd.Series(ref).fillna("").to_numpy()
    ratio = t_sj / t_ours
    print(f"bench_join: {n:,} points ({n_unique:,} distinct), {len(wards)} wards (2022)")
    print(f"  hs.assign_wards   {t_ours:7.2f} s   peak +{m_ours:7.0f} MiB")
    print(f"  geopandas.sjoin   {t_sj:7.2f} s   peak +{m_sj:7.0f} MiB")
    print(f"  speed-up {ratio:.1f}x (target >= 2x): {'OK' if ratio >= 2 else 'MISSED'}")
    print(f"  assignments agree: {same.mean():.4%} ({(~same).sum()} differ)")
    return {
        "n_points": n, "n_unique": n_unique, "ours_s": t_ours, "sjoin_s": t_sj,
        "ours_peak_mib": m_ours, "sjoin_peak_mib": m_sj, "speedup": ratio,
        "agree": float(same.mean()),
    }


if __name__ == "__main__":
    import sys

    os.environ.setdefault("PYTHONHASHSEED", "0")
    run(quick="--quick" in sys.argv[1:])
