"""Benchmark: reading a police.uk file from outside London (every row rejected).

A force outside London (56,434 rows, as the Kent-like file of issue 18) read with the
default study area rejects every row with "<d> km outside" in its detail. Ours: the
whole ``read_incidents`` call, whose distances come from a k-d tree of the outline's
vertices (io._distance_to). Floor: the same read with ``bounds=None`` (no check at all):
the extra cost of the rejection is ours minus the floor. Reference: GEOS distance from
the (prepared) Greater London outline to each point, as the reader used to compute it.
Agreement: the largest |d_ours - d_geos| in metres (the detail shows 0.1 km). Once per
process the first outside row also imports scipy.spatial and builds the outline's
trees: printed separately, then warm for the timed runs (as in a notebook session).
Run: ``python benchmarks/bench_outside.py [--quick]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _measure import best_of, header, line, row

import hotspots as hs


def _file(n: int, folder: Path) -> Path:
    """n police.uk rows spread over Kent (lon 0.5-1.4, lat 51.1-51.4), month only."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "Crime ID": [""] * n, "Month": ["2022-01"] * n, "Reported by": ["Kent Police"] * n,
        "Falls within": ["Kent Police"] * n,
        "Longitude": rng.uniform(0.5, 1.4, n).round(6),
        "Latitude": rng.uniform(51.1, 51.4, n).round(6),
        "Location": ["On or near Somewhere"] * n, "LSOA code": [""] * n,
        "LSOA name": [""] * n, "Crime type": ["Anti-social behaviour"] * n,
        "Last outcome category": [""] * n, "Context": [""] * n})
    p = folder / "2022-01-kent-street.csv"
    df.to_csv(p, index=False)
    return p


def _read(path: Path, bounds) -> np.ndarray:
    _, rep = hs.read_incidents(path, bounds=bounds, with_report=True)
    detail = rep.rejects["detail"].str.extract(r"([\d,.]+) km outside")[0]
    return pd.to_numeric(detail.str.replace(",", ""), errors="coerce").to_numpy() * 1000


def _geos(path: Path) -> np.ndarray:
    import shapely
    from pyproj import Transformer

    from hotspots.io import _check_bounds

    area = _check_bounds("london")
    raw = pd.read_csv(path)
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        raw["Longitude"].to_numpy(), raw["Latitude"].to_numpy())
    return shapely.distance(area.geom, shapely.points(x, y))


def run(sizes=(56_434,), quick: bool = False) -> list[dict]:
    """Print and return time and memory of the outside-London read vs its floor and GEOS."""
    rows: list[dict] = []
    header("bench_outside: read_incidents of a file from outside London (all rows rejected)")
    import time

    t0 = time.perf_counter()
    hs.read_incidents(pd.DataFrame({"easting": [530000.0, 700000.0],  # one row outside
                                    "northing": [180000.0, 100000.0]}))
    print(f"  first read with a row outside London (borough outline, scipy.spatial import, "
          f"outline trees): {time.perf_counter() - t0:.2f} s, once per process")
    with tempfile.TemporaryDirectory() as tmp:
        for n in [5_000] if quick else sizes:
            path = _file(n, Path(tmp))
            ours = best_of(_read, path, "london")
            floor = best_of(_read, path, None)
            ref = best_of(_geos, path)
            d = float(np.nanmax(np.abs(ours.result - ref.result)))
            agreement = (f"max|dd| {d:.0f} m; rejection adds "
                         f"{ours.seconds - floor.seconds:.2f} s to the {floor.seconds:.2f} s read")
            print(line(f"N={n:,} outside London", ours, ref, "GEOS distance", agreement),
                  flush=True)
            rows.append(row(f"N={n:,} outside London", n, ours, ref, "shapely.distance",
                            agreement, floor_s=floor.seconds, max_abs_dd_m=d))
    return rows


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
