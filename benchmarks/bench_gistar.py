"""Benchmark: hs.gistar vs PySAL esda.G_Local (star=True, binary queen weights + self).

N = 10k, 100k and 1M uniform points with a planted cluster in a 10 km square on
100 m cells (100 x 100 grid); a 500 x 500 grid (50 km square, 1M points; skipped
with ``quick``) since esda's cost grows with cells, not points; and the real files:
Harrow 2022 on 100 m cells and all of London 2022 on 250 m cells. esda needs a
libpysal weights object (``lat2W``, queen, timed with it) then G_Local; ours is the
whole call (binning + two convolutions + p + FDR) from the points. Agreement: the
largest |z_ours − Zs_esda| over all cells. Time and memory: :mod:`_measure` (each run in
a forked child, peak RSS).
Run: ``python benchmarks/bench_gistar.py [--quick]``.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
from _measure import best_of, header, line, row

import hotspots as hs
from hotspots.grid import to_array


def _esda(counts: np.ndarray) -> np.ndarray:
    """esda's Gi* z (Zs) on a count grid: lat2W queen weights (timed with it), binary + self."""
    from esda import G_Local
    from libpysal.weights import lat2W

    w = lat2W(*counts.shape, rook=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(counts.ravel().astype(float), w, star=True, transform="B",
                       permutations=0).Zs


def _ours(inc, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """hs.gistar from the points; the count and z grids (small to send back)."""
    gi = hs.gistar(inc, cell_size=cell, quiet=True)
    return to_array(gi, "count")[0], to_array(gi, "z")[0]


def _case(name: str, inc, cell: float, rows: list) -> None:
    ours = best_of(_ours, inc, cell)
    counts, z = ours.result
    ref = best_of(_esda, counts)
    dz = float(np.abs(z.ravel() - ref.result).max())
    agreement = f"max|dz| {dz:.1e}"
    case = f"{name}, {counts.shape[0]}x{counts.shape[1]}"
    print(line(case, ours, ref, "esda", agreement) + f" | {len(inc):,} points", flush=True)
    rows.append(row(case, len(inc), ours, ref, "esda.G_Local", agreement, cells=counts.size,
                    max_abs_dz=dz))


def _points(n: int, side_km: float, rng) -> gpd.GeoDataFrame:
    """n uniform points in a square plus a planted cluster of n/20 (300 m sd) at its centre."""
    side = side_km * 1000
    x = np.r_[rng.uniform(0, side, n), rng.normal(side / 2, 300, n // 20)]
    y = np.r_[rng.uniform(0, side, n), rng.normal(side / 2, 300, n // 20)]
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)


def run(sizes=(10_000, 100_000, 1_000_000), quick: bool = False) -> list[dict]:
    """Print and return time, peak memory, ratio and z agreement per case.

    ``quick`` keeps N <= 100,000, skips the 500 x 500 grid and all of London.
    """
    rows: list[dict] = []
    rng = np.random.default_rng(0)
    header("bench_gistar: hs.gistar (from points) vs esda.G_Local (from the count grid)")
    _esda(np.ones((3, 3)))  # import esda/libpysal and hotspots' lazy modules before timing
    _ours(_points(1000, 1, np.random.default_rng(1)), 100)
    for n in [n for n in sizes if n <= 100_000] if quick else sizes:
        _case(f"N={n:,} 10 km", _points(n, 10, rng), 100, rows)
    if not quick:
        _case("N=1,000,000 50 km", _points(1_000_000, 50, rng), 100, rows)
    for key, cell in [("harrow_crime_2022", 100)] + ([] if quick else
                                                      [("london_crime_2022", 250)]):
        try:
            _case(f"{key} {cell:g} m", hs.read_incidents(key), cell, rows)
        except hs.HotspotsError as exc:
            print(f"skip {key}: {exc}")
    return rows


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv[1:])
