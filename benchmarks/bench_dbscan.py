"""Benchmark: hs.dbscan vs scikit-learn DBSCAN on the raw points, same eps/min_samples.

Two kinds of points in a 10 km square:

- **police.uk-style**: N incidents snapped to 50,000 anonymous locations (locations
  uniform; incidents per location skewed, lognormal, as real snap points are), the
  case hs.dbscan is built for (target >= 20x at 1M incidents);
- **uniform**: N distinct points (no duplicates to collapse; target: at least as fast);
- **real files**: Harrow 2022 and City of London 2019 police.uk crime, and all of
  London 2022 (849k crimes; skipped with ``quick``), with min_samples from
  :func:`hotspots.rank.auto_min_samples` (what ``top_areas`` starts from).

eps = 150 m; min_samples = 1.5x the number of incidents a uniform spread puts within
eps (so there are many clusters and much noise in both cases).
Time and memory: :mod:`_measure` (each run in a forked child, peak RSS). The
scikit-learn reference needs memory for every neighbour pair of the raw points; it
is skipped ("capped") when the exact pair count, computed first, exceeds
``REF_PAIR_CAP`` (1.2 billion, ~10 GB). Agreement: same clustering (same core
points, same noise, clusters equal up to renumbering).
Run: ``python benchmarks/bench_dbscan.py [--quick]``.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from _measure import best_of, header, line, row
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN

import hotspots as hs
from hotspots.clusters import collapse

SIDE = 10_000.0
EPS = 150.0
N_LOCATIONS = 50_000
REF_PAIR_CAP = 1_200_000_000
SEED = 7


def police_points(n: int, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    loc = rng.uniform(0, SIDE, (N_LOCATIONS, 2)).round(0) + [520000.0, 180000.0]
    p = rng.lognormal(0, 1.2, N_LOCATIONS)
    return loc[rng.choice(N_LOCATIONS, n, p=p / p.sum())]


def uniform_points(n: int, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, SIDE, (n, 2)) + [520000.0, 180000.0]


def raw_pairs(xy: np.ndarray) -> int:
    """Exact number of (ordered, self included) raw neighbour pairs sklearn will hold."""
    uxy, m, _ = collapse(xy, np.ones(len(xy)))
    t = cKDTree(uxy)
    return int(t.count_neighbors(t, EPS, weights=(m, m)))


def _gdf(xy):
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)


def _ours(gdf, ms):
    out = hs.dbscan(gdf, eps=EPS, min_samples=ms, quiet=True)
    return out["cluster"].to_numpy(), out["core"].to_numpy()


def _sklearn(xy, ms):
    m = DBSCAN(eps=EPS, min_samples=ms).fit(xy)
    core = np.zeros(len(xy), bool)
    core[m.core_sample_indices_] = True
    return m.labels_, core


def same_clustering(a, b) -> bool:
    """Same core points, clusters equal up to renumbering on them, same noise."""
    (la, ca), (lb, cb) = a, b
    if not (ca == cb).all() or not ((la == -1) == (lb == -1)).all():
        return False
    pairs = pd.DataFrame({"a": la[ca], "b": lb[ca]}).drop_duplicates()
    return bool(pairs["a"].is_unique and pairs["b"].is_unique)


REAL = ("harrow_crime_2022", "city_of_london_2019", "london_crime_2022")


def _real_cases(quick: bool) -> list:
    from hotspots.clusters import point_xy
    from hotspots.rank import auto_min_samples

    out = []
    for key in REAL[:2] if quick else REAL:
        try:
            xy = point_xy(hs.read_incidents(key))
        except hs.HotspotsError as exc:
            print(f"skip {key}: {exc}")
            continue
        out.append((key, len(xy), xy, auto_min_samples(xy, EPS)))
    return out


def run(sizes=(10_000, 100_000, 1_000_000), uniform_sizes=(10_000, 100_000, 300_000),
        quick: bool = False) -> list:
    """Print and return time, peak memory, ratio and agreement for each case.

    ``quick`` keeps N <= 100,000 and the two small real files.
    """
    rows = []
    if quick:
        sizes = [n for n in sizes if n <= 100_000]
        uniform_sizes = [n for n in uniform_sizes if n <= 100_000]
    cases = [("police.uk-style", n, police_points(n), None) for n in sizes]
    cases += [("uniform", n, uniform_points(n), None) for n in uniform_sizes]
    cases += _real_cases(quick)
    header(f"bench_dbscan: hs.dbscan vs sklearn DBSCAN, eps={EPS:g} m, {SIDE / 1000:g} km "
           f"square, snapped to {N_LOCATIONS:,} locations")
    _ours(_gdf(police_points(2000)), 5)  # warm up lazy imports before the forked runs
    _sklearn(police_points(2000), 5)
    for kind, n, xy, ms in cases:
        if ms is None:
            ms = max(5, round(1.5 * n * math.pi * EPS**2 / SIDE**2))
        n_unique = len(collapse(xy, np.ones(n))[0])
        pairs = raw_pairs(xy)
        ours = best_of(_ours, _gdf(xy), ms)  # input frame built untimed
        n_clusters = int(ours.result[0].max() + 1)
        case = f"{kind} {n:,}"
        if pairs <= REF_PAIR_CAP:
            ref, ref_name = best_of(_sklearn, xy, ms), "sklearn"
            same = same_clustering(ours.result, ref.result)
            agreement = f"same clustering: {'yes' if same else 'NO'}"
        else:
            ref, ref_name = None, f"sklearn capped ({pairs:,} raw pairs > {REF_PAIR_CAP:,})"
            agreement = "not checked"
        print(line(case, ours, ref, ref_name, agreement)
              + f" | {n_unique:,} distinct, ms={ms}, {n_clusters} clusters")
        rows.append(row(case, n, ours, ref, ref_name, agreement, n_unique=n_unique,
                        min_samples=ms, raw_pairs=pairs, n_clusters=n_clusters))
    return rows


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv[1:])
