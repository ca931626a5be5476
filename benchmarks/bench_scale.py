"""Benchmark: a year of all-London police.uk-like data, end to end on one machine.

Data (SYNTHETIC, generated once and cached): the anonymous map points come from the
project's generator (``hs.synthetic.fly_tips`` on every London borough's 2022 wards:
its background follows the FixMyStreet LSOA weights and it plants hotspots), as many
points as police.uk has for London (95,860 distinct in ``london_crime_2022``). Then
1.1M crimes and 250k ASB reports are spread over those points with heavy-tailed
popularity (lognormal, like police.uk's: a median of 5 crimes a point, a few points
with over 1,000), categories in ``london_crime_2022``'s shares and months with a mild
season, and written as twelve police.uk street CSVs (``2022-MM/2022-MM-metropolitan-
street.csv``, 64-hex Crime IDs, blank for ASB). ``quick``: a tenth of that.

Timed (in a fresh Python process, so its peak RSS is the whole pipeline's, imports
included): read (``hs.read_incidents`` of the folder) → store (``IncidentStore.append``
into an empty store, then ``query`` of the year back) → ward counts (``assign_wards`` on
the 704 2022 wards + monthly ``ward_counts``) → KDE (``hs.kde``) → DBSCAN
(``hs.dbscan``) → top twenty (``hs.top_areas``) → map (``hs.hotspot_map`` +
``save_map``). Prints each stage's seconds and the process's peak RSS after it
(``VmHWM``; ``resource.getrusage`` elsewhere). Targets: < 30 s and < 4 GiB on 2 cores.
Run: ``python benchmarks/bench_scale.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

N_CRIMES, N_ASB, N_POINTS = 1_100_000, 250_000, 95_860
SEED = 2022
TARGET_S, TARGET_GIB = 30.0, 4.0
EXTRA = "(extra) "  # stages timed for the record, outside the pipeline total
_POLICE_TYPES = {  # crimemappingdata wording -> police.uk "Crime type"
    "violent or sexual": "Violence and sexual offences", "other theft": "Other theft",
    "vehicle crime": "Vehicle crime", "theft from person": "Theft from the person",
    "public order": "Public order", "criminal damage or arson": "Criminal damage and arson",
    "burglary": "Burglary", "drugs": "Drugs", "shoplifting": "Shoplifting",
    "robbery": "Robbery", "bicycle theft": "Bicycle theft", "other": "Other crime",
    "weapon possession": "Possession of weapons",
}  # fmt: skip


# --------------------------------------------------------------------------- data
def _cache_dir(scale: float) -> Path:
    from hotspots import datasets

    return datasets.cache_dir() / f"bench_scale_{SEED}_{scale:g}"


def _snap_points(n_points: int, rng: np.random.Generator) -> pd.DataFrame:
    """Anonymous map points from the synthetic generator, borough by borough (BNG, 1 m)."""
    import hotspots as hs

    wards = hs.wards(year=2022)
    per = wards.groupby("borough_name").size()
    k = np.maximum(np.round(per / per.sum() * n_points * 1.02).astype(int), 100)
    parts = []
    for i, (borough, kb) in enumerate(k.items()):
        try:
            pts = hs.synthetic.fly_tips(borough, n=int(kb), seed=SEED + i)
        except hs.BadInputError:  # the City: too small for the default planted hotspots
            pts = hs.synthetic.fly_tips(borough, n=int(kb), seed=SEED + i, n_hotspots=1)
        parts.append(np.column_stack([pts.geometry.x, pts.geometry.y]))
    xy = np.unique(np.round(np.vstack(parts)), axis=0)  # distinct points at 1 m
    xy = xy[rng.permutation(len(xy))[:n_points]]
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})


def make_data(scale: float = 1.0, out: Path | None = None) -> Path:
    """Write (once) the police.uk-like folder for `scale` and return it."""
    import hotspots as hs
    from hotspots._validate import BNG, WGS84

    out = out or _cache_dir(scale)
    done = out / "DONE"
    if done.exists():
        return out
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    n_crime, n_asb = int(N_CRIMES * scale), int(N_ASB * scale)
    n_pts = int(N_POINTS * min(1.0, scale * 2))
    pts = _snap_points(n_pts, rng)
    ll = hs.grid.gpd.points_from_xy(pts["x"], pts["y"], crs=BNG).to_crs(WGS84)
    lon, lat = np.round(np.asarray(ll.x), 6), np.round(np.asarray(ll.y), 6)
    # heavy-tailed popularity: lognormal weights, as police.uk's crimes per point
    pop = rng.lognormal(0.0, 1.3, len(pts))
    real = pd.read_csv(hs.dataset_path("london_crime_2022"), usecols=["type"])["type"]
    shares = real.value_counts(normalize=True)
    season = 1 + 0.08 * np.cos((np.arange(12) - 6) / 12 * 2 * np.pi)
    n = n_crime + n_asb
    where = rng.choice(len(pts), size=n, p=pop / pop.sum())
    month = rng.choice(12, size=n, p=season / season.sum())
    ctype = np.asarray([_POLICE_TYPES[t] for t in shares.index], dtype=object)[
        rng.choice(len(shares), size=n_crime, p=shares.to_numpy())]
    ctype = np.concatenate([ctype, np.full(n_asb, "Anti-social behaviour", dtype=object)])
    ids = np.concatenate([np.array([rng.bytes(32).hex() for _ in range(n_crime)], dtype=object),
                          np.full(n_asb, "", dtype=object)])  # police.uk: ASB has no id
    street = np.array([f"On or near Street {i}" for i in range(len(pts))], dtype=object)
    lsoa = np.array([f"E0{1000000 + i // 8}" for i in range(len(pts))], dtype=object)
    df = pd.DataFrame({
        "Crime ID": ids, "Month": "", "Reported by": "Metropolitan Police Service",
        "Falls within": "Metropolitan Police Service", "Longitude": lon[where],
        "Latitude": lat[where], "Location": street[where],
        "LSOA code": lsoa[where], "LSOA name": "", "Crime type": ctype,
        "Last outcome category": "", "Context": "",
    })
    for m in range(12):
        ym = f"2022-{m + 1:02d}"
        part = df[month == m].assign(Month=ym)
        folder = out / ym
        folder.mkdir(parents=True, exist_ok=True)
        part.to_csv(folder / f"{ym}-metropolitan-street.csv", index=False)
    (out / "README.txt").write_text(
        "SYNTHETIC police.uk-like street crime and ASB for London 2022, made by "
        "benchmarks/bench_scale.py (not real data).\n")
    done.write_text(json.dumps({"rows": n, "points": len(pts),
                                "seconds": round(time.perf_counter() - t0, 1)}))
    return out


# --------------------------------------------------------------------------- pipeline
def _peak_mib() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pipeline(folder: Path, work: Path) -> dict:
    """Run and time every stage; return {stage: (seconds, peak MiB so far)} and sizes."""
    import hotspots as hs

    stages: dict[str, tuple[float, float]] = {}

    def stage(name, fn, *a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        stages[name] = (time.perf_counter() - t0, _peak_mib())
        return out

    wards = hs.wards(year=2022)  # not timed: boundaries are loaded once per session
    inc, report = stage("read", hs.read_incidents, folder, with_report=True)
    store = hs.IncidentStore(work / "store")
    load = stage("store append", store.append, inc, source=folder.name, report=report)
    del inc
    inc = stage("store query (year)", store.query, period="2022")
    joined = stage("ward join", hs.assign_wards, inc, wards)
    counts = stage("ward counts", hs.ward_counts, joined, freq="MS", wards=wards)
    grid = stage("kde", hs.kde, joined, quiet=True)
    clusters = stage("dbscan", hs.dbscan, joined, quiet=True)
    areas = stage("top twenty", hs.top_areas, joined, n=20, wards=wards, quiet=True)

    def _map(markers):
        m = hs.hotspot_map(markers, areas=areas, wards=wards, grid=grid)
        return hs.save_map(m, work / "map.html", offline=False)

    def _in_areas():
        union = shapely.union_all(areas.geometry.values)
        xy = shapely.get_coordinates(joined.geometry.values)
        return joined[shapely.contains_xy(union, xy[:, 0], xy[:, 1])]

    # the regional map: wards, density, the twenty areas and the incidents in them
    path = stage("map", lambda: _map(stage("  (incidents in areas)", _in_areas)))
    map_mib = path.stat().st_size / 2**20
    # every incident as a marker: 100k+ markers even at maps' coarsest 250 m snapping,
    # a 35 MB page; timed for the record, not part of the pipeline total
    stage(EXTRA + "map, every incident", _map, joined)
    return {
        "stages": stages, "rows": len(joined), "new": load.n_new,
        "distinct_points": int(pd.unique(joined.geometry.x.to_numpy()
                                         + 1j * joined.geometry.y.to_numpy()).size),
        "count_rows": len(counts), "cells": len(grid), "areas": len(areas),
        "clusters": int(clusters["cluster"].max() + 1) if "cluster" in clusters else -1,
        "map_mib": map_mib,
    }


def run(quick: bool = False) -> list[dict]:
    """Generate (or reuse) the data, run the pipeline in a fresh process, print, return."""
    scale = 0.1 if quick else 1.0
    t0 = time.perf_counter()
    folder = make_data(scale)
    info = json.loads((folder / "DONE").read_text())
    print(f"bench_scale: {info['rows']:,} SYNTHETIC police.uk-like rows (crime + ASB) on "
          f"{info['points']:,} map points, London 2022 ({folder}; ready in "
          f"{time.perf_counter() - t0:.0f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([sys.executable, __file__, "--pipeline", str(folder), tmp],
                             capture_output=True, text=True, env=dict(os.environ))
        if res.returncode != 0:
            raise RuntimeError(f"pipeline failed:\n{res.stderr[-3000:]}")
        out = json.loads(res.stdout.strip().splitlines()[-1])
    main = {k: v for k, v in out["stages"].items()
            if not k.startswith(EXTRA) and not k.startswith("  ")}
    total = sum(s for s, _ in main.values())
    peak = max(m for _, m in main.values())
    print(f"  cpus: {os.cpu_count()}; memory: peak RSS of the pipeline process (VmHWM), "
          "imports included")
    rows = []
    for name, (sec, mib) in out["stages"].items():
        print(f"  {name:<20} {sec:7.2f} s   peak so far {mib:7.0f} MiB")
        rows.append(dict(case=name, n=out["rows"], ours_s=sec, ours_mib=mib))
    ok = total < TARGET_S and peak < 1024 * TARGET_GIB
    verdict = ("OK" if ok else "MISSED") + (" (the target is for the full size)" if quick else "")
    print(f"  {'total':<20} {total:7.2f} s   peak {peak:7.0f} MiB ({peak / 1024:.2f} GiB) | "
          f"target < {TARGET_S:g} s and < {TARGET_GIB:g} GiB: {verdict}")
    print(f"  {out['rows']:,} incidents on {out['distinct_points']:,} points; "
          f"{out['count_rows']:,} ward-month-category rows; {out['cells']:,} KDE cells; "
          f"{out['clusters']:,} DBSCAN clusters; {out['areas']} areas; map "
          f"{out['map_mib']:.1f} MiB")
    rows.append(dict(case="total", n=out["rows"], ours_s=total, ours_mib=peak,
                     agreement="OK" if ok else "MISSED"))
    return rows


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--pipeline"]:
        import logging

        logging.getLogger("hotspots").setLevel(logging.WARNING)
        result = pipeline(Path(args[1]), Path(args[2]))
        print(json.dumps(result))
    else:
        run(quick="--quick" in args)
