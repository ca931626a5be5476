"""Benchmark: the all-London 2022 police.uk file, CSV to a saved map, against the plain way.

Ours, stage by stage in one forked child: ``hs.read_incidents`` (layout detection,
checks, ids, the London outline) → ``hs.assign_wards`` (704 wards of 2022) →
``hs.kde`` → ``hs.dbscan`` → ``hs.top_areas(n=20)`` → ``hs.hotspot_map(inc, areas,
wards, grid)`` → ``hs.save_map(offline=True)``. The reference, in another child of the
same run: ``pandas.read_csv`` + ``points_from_xy`` + ``to_crs`` + ``geopandas.sjoin``
of the same file (what an analyst would write by hand to get crimes per ward), and
``read_csv`` + ``to_crs`` alone. The issue 20 targets, each printed OK or MISSED: the
whole pipeline within 1.5x the plain read + project + join and the saved map at most
5 MB; ``read_incidents`` within 1.5x ``read_csv`` + ``to_crs``; ``top_areas`` under a
second; ``hotspot_map`` + ``save_map`` within 1.5 s. Each side runs :data:`RUNS` times
(forked children) and the best run counts; each stage's time is its best of the runs. Data:
``incidents/london_street_crime_2022_police_uk_crimemappingdata.csv.gz`` (849,409
crimes; shared data, found by the registry).
Run: ``python benchmarks/bench_london.py``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
from _measure import header, measure, row

import hotspots as hs
from hotspots import datasets

KEY = "london_crime_2022"
#: runs of each side; the best is kept (one run on a shared VM varies by +-50%)
RUNS = 3
TARGET_RATIO, TARGET_MB = 1.5, 5.0
STAGES = ("read_incidents", "assign_wards", "kde", "dbscan", "top_areas(n=20)",
          "hotspot_map", "save_map(offline)")


def _pipeline(wards: gpd.GeoDataFrame, folder: str) -> dict:
    """Ours end to end; seconds per stage and the saved map's size in bytes."""
    times: dict[str, float] = {}

    def stage(name, fn, *a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        times[name] = time.perf_counter() - t0
        return out

    inc = stage("read_incidents", hs.read_incidents, KEY)
    joined = stage("assign_wards", hs.assign_wards, inc, wards)
    grid = stage("kde", hs.kde, joined, quiet=True)
    stage("dbscan", hs.dbscan, joined, quiet=True)
    areas = stage("top_areas(n=20)", hs.top_areas, joined, n=20, wards=wards, quiet=True)
    m = stage("hotspot_map", hs.hotspot_map, joined, areas=areas, wards=wards, grid=grid)
    path = stage("save_map(offline)", hs.save_map, m, Path(folder) / "london.html",
                 offline=True)
    return {"stages": times, "map_bytes": Path(path).stat().st_size, "rows": len(joined)}


def _plain_read() -> gpd.GeoDataFrame:
    """The plain read: the CSV, points, projected to BNG."""
    raw = pd.read_csv(datasets.path(KEY))
    return gpd.GeoDataFrame(
        raw, geometry=gpd.points_from_xy(raw["longitude"], raw["latitude"]), crs=4326
    ).to_crs(27700)


def _plain(wards: gpd.GeoDataFrame) -> int:
    """The plain way: read the CSV, make points, project, sjoin to the wards."""
    pts = _plain_read()
    joined = gpd.sjoin(pts, wards[["ward_code", "geometry"]], how="left", predicate="intersects")
    return len(joined)


def run() -> list[dict]:
    """Print and return one row per stage, the total against the plain way, the map size."""
    try:
        datasets.path(KEY)
    except hs.HotspotsError as exc:
        print(f"bench_london: skipped ({exc})")
        return []
    wards = hs.wards(year=2022)
    header("bench_london: all-London 2022 police.uk (CSV) to a saved map vs "
           "read_csv + to_crs + sjoin, same run")
    small = hs.read_incidents("harrow_crime_2022")  # warm up: imports, the London outline
    with tempfile.TemporaryDirectory() as tmp:
        _warm = hs.assign_wards(small.iloc[:2000], wards)
        hs.save_map(hs.hotspot_map(_warm, wards=wards.iloc[:5]), Path(tmp) / "w.html",
                    offline=True)
        runs = [measure(_pipeline, wards, tmp) for _ in range(RUNS)]
    ref = min((measure(_plain, wards) for _ in range(RUNS)), key=lambda m: m.seconds)
    read_ref = min((measure(lambda: len(_plain_read())) for _ in range(RUNS)),
                   key=lambda m: m.seconds)
    ours = min(runs, key=lambda m: m.seconds)
    # each stage's best of the runs (a stage's own cost, with the least of the machine's
    # noise; the total is the best run's, against the reference's best run)
    res = {**ours.result, "stages": {name: min(r.result["stages"][name] for r in runs)
                                     for name in STAGES}}
    n = res["rows"]
    print(f"  best of {RUNS} runs each side (stages: each one's best)")
    rows = []
    for name in STAGES:
        sec = res["stages"][name]
        print(f"  {name:<22} {sec:7.2f} s")
        rows.append(dict(case=f"London 2022: {name}", n=n, ours_s=sec))
    total = sum(ours.result["stages"].values())
    mb = res["map_bytes"] / 1e6
    ours = ours._replace(seconds=total)
    ratio = total / ref.seconds
    ok = ratio <= TARGET_RATIO and mb <= TARGET_MB
    agreement = (f"total {ratio:.2f}x the plain read + join; map {mb:.1f} MB | target "
                 f"<= {TARGET_RATIO:g}x and <= {TARGET_MB:g} MB: {'OK' if ok else 'MISSED'}")
    print(f"  {'total':<22} {total:7.2f} s, peak {ours.peak_mib:.0f} MiB | read_csv + to_crs "
          f"+ sjoin {ref.seconds:.2f} s, {ref.peak_mib:.0f} MiB | {agreement}")
    rows.append(row("London 2022 CSV to saved map (read, join, KDE, DBSCAN, top 20, map)", n,
                    ours, ref, "read_csv + to_crs + sjoin", agreement, map_mb=mb,
                    slowdown=ratio))
    read = res["stages"]["read_incidents"]
    top = res["stages"]["top_areas(n=20)"]
    drawn = res["stages"]["hotspot_map"] + res["stages"]["save_map(offline)"]
    for what, good in (
        (f"read_incidents {read:.2f} s = {read / read_ref.seconds:.2f}x read_csv + to_crs "
         f"({read_ref.seconds:.2f} s) | target <= 1.5x", read <= 1.5 * read_ref.seconds),
        (f"top_areas(n=20) {top:.2f} s | target < 1 s", top < 1.0),
        (f"hotspot_map + save_map {drawn:.2f} s, {mb:.1f} MB | target <= 1.5 s and <= 5 MB",
         drawn <= 1.5 and mb <= TARGET_MB),
    ):
        print(f"  {what}: {'OK' if good else 'MISSED'}")
    ok = read <= 1.5 * read_ref.seconds
    rows.append(row("London 2022 read_incidents (stage of the run above)", n,
                    ours._replace(seconds=read, peak_mib=float("nan")), read_ref,
                    "read_csv + to_crs", f"target <= 1.5x: {'OK' if ok else 'MISSED'}"))
    return rows


if __name__ == "__main__":
    run()
