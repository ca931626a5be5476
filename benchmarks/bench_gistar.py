"""Benchmark: hs.gistar vs PySAL esda.G_Local (star=True, binary queen weights + self).

Grids of 50 x 50, 200 x 200 and 500 x 500 cells from uniform points with a planted
cluster, and the real all-London 2022 file on a 250 m grid. esda needs a libpysal
weights object (built with ``lat2W``, timed separately) then G_Local; ours is the
whole call (binning + two convolutions + p + FDR) from the points. Agreement: the
largest |z_ours − Zs_esda|. Peak memory: tracemalloc.
Run: ``python benchmarks/bench_gistar.py``.
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
    rows.append(dict(case=name, cells=counts.size, ours_s=t_o, ours_mib=m_o, esda_s=t_r,
                     esda_mib=m_r, speedup=t_r / t_o,
                     max_abs_dz=float(np.abs(z.ravel() - ref.Zs).max())))


def run(sides=(50, 200, 500)) -> list[dict]:
    """Print and return time, peak memory, speed-up and z agreement per grid."""
    rows: list[dict] = []
    rng = np.random.default_rng(0)
    for side in sides:
        n = 40 * side * side // 10
        x = np.r_[rng.uniform(0, side * 100, n), rng.normal(side * 50, 300, n // 20)]
        y = np.r_[rng.uniform(0, side * 100, n), rng.normal(side * 50, 300, n // 20)]
        inc = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)
        _case(f"uniform+cluster {side}x{side}", inc, 100, rows)
    try:
        _case("london_crime_2022", hs.read_incidents("london_crime_2022"), 250, rows)
    except hs.HotspotsError as exc:
        print(f"skip london_crime_2022: {exc}")
    print("bench_gistar: hs.gistar (from points) vs esda.G_Local (from the count grid)")
    for r in rows:
        print(f"  {r['case']:<26} {r['cells']:>8,} cells  ours {r['ours_s']:6.3f} s "
              f"{r['ours_mib']:5.0f} MiB | esda {r['esda_s']:7.2f} s {r['esda_mib']:5.0f} MiB"
              f"  x{r['speedup']:6.1f}  max|dz| {r['max_abs_dz']:.1e}")
    return rows


if __name__ == "__main__":
    run()
