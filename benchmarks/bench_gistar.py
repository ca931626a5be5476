"""Benchmark: hs.gistar vs PySAL esda.G_Local (star=True, binary queen weights + self).

N = 10k, 100k and 1M uniform points with a planted cluster in a 10 km square on
100 m cells (100 x 100 grid); a 500 x 500 grid (50 km square, 1M points; skipped
with ``quick``) since esda's cost grows with cells, not points; and the real files:
Harrow 2022 on 100 m cells and all of London 2022 on 250 m cells. esda needs a
libpysal weights object (``lat2W``, queen, timed with it) then G_Local; ours is the
whole call (binning + two convolutions + p + FDR) from the points. Agreement: the
largest |z_ours − Zs_esda|. Peak memory: tracemalloc (numpy buffers included).
Run: ``python benchmarks/bench_gistar.py [--quick]``.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import geopandas as gpd
import numpy as np

import hotspots as hs
from hotspots.grid import to_array


def measure(fn, *args, **kw):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return dt, peak, out


def _esda(counts):
    from esda import G_Local
    from libpysal.weights import lat2W

    w = lat2W(*counts.shape, rook=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(counts.ravel().astype(float), w, star=True, transform="B",
                       permutations=0)


def _case(name, inc, cell, rows):
    t_o, m_o, gi = measure(hs.gistar, inc, cell_size=cell, quiet=True)
    counts, _ = to_array(gi, "count")
    t_r, m_r, ref = measure(_esda, counts)
    z, _ = to_array(gi, "z")
    rows.append(dict(case=name, n=len(inc), cells=counts.size, ours_s=t_o, ours_mib=m_o, esda_s=t_r,
                     esda_mib=m_r, speedup=t_r / t_o,
                     max_abs_dz=float(np.abs(z.ravel() - ref.Zs).max())))


def _points(n: int, side_km: float, rng) -> gpd.GeoDataFrame:
    """n uniform points in a square plus a planted cluster of n/20 (300 m sd) at its centre."""
    side = side_km * 1000
    x = np.r_[rng.uniform(0, side, n), rng.normal(side / 2, 300, n // 20)]
    y = np.r_[rng.uniform(0, side, n), rng.normal(side / 2, 300, n // 20)]
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)


def run(sizes=(10_000, 100_000, 1_000_000), quick: bool = False) -> list[dict]:
    """Print and return time, peak memory, speed-up and z agreement per case.

    ``quick`` keeps N <= 100,000, skips the 500 x 500 grid and all of London.
    """
    rows: list[dict] = []
    rng = np.random.default_rng(0)
    _esda(np.ones((3, 3)))  # import esda/libpysal before timing
    for n in [n for n in sizes if n <= 100_000] if quick else sizes:
        _case(f"N={n:,} 10 km, 100x100", _points(n, 10, rng), 100, rows)
    if not quick:
        _case("N=1,000,000 50 km, 500x500", _points(1_000_000, 50, rng), 100, rows)
    for key, cell in [("harrow_crime_2022", 100)] + ([] if quick else
                                                      [("london_crime_2022", 250)]):
        try:
            _case(key, hs.read_incidents(key), cell, rows)
        except hs.HotspotsError as exc:
            print(f"skip {key}: {exc}")
    print("bench_gistar: hs.gistar (from points) vs esda.G_Local (from the count grid)")
    for r in rows:
        print(f"  {r['case']:<28} {r['cells']:>8,} cells  ours {r['ours_s']:6.3f} s "
              f"{r['ours_mib']:5.0f} MiB | esda {r['esda_s']:7.2f} s {r['esda_mib']:5.0f} MiB"
              f"  x{r['speedup']:6.1f}  max|dz| {r['max_abs_dz']:.1e}")
    return rows


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv[1:])
