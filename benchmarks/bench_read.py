"""Benchmark: ``hs.read_incidents`` against ``pandas.read_csv`` + ``to_crs``, same run.

Two files, each read by ours and by the plain way (``pandas.read_csv`` +
``geopandas.points_from_xy`` + ``to_crs(27700)``), in forked children of one run:

* the real all-London 2022 police.uk file (``crimemappingdata`` layout, 849,409 rows;
  shared data, registry key ``london_crime_2022``);
* a synthetic 1,000,000-row police.uk street CSV (``Crime ID, Month, Reported by, ...,
  Context``) made in a temporary folder from the London rows: their snap points and
  months, police.uk's wordings for the types, 64-hex crime ids, anti-social
  behaviour rows without an id (as police.uk gives them), a street name and LSOA per
  point, and 15 % of the repeated rows moved to new points nearby. Not real data.

Target (issue 20 item 1): ours <= 1.5x the plain read, printed OK or MISSED.
Run: ``python benchmarks/bench_read.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from _measure import header, measure, row

import hotspots as hs
from hotspots import datasets

KEY = "london_crime_2022"
TARGET_RATIO = 1.5
N_SYNTHETIC = 1_000_000

#: crimemappingdata's wording -> police.uk street CSV's
_POLICE_WORDS = {
    "bicycle theft": "Bicycle theft", "burglary": "Burglary",
    "criminal damage or arson": "Criminal damage and arson", "drugs": "Drugs",
    "other theft": "Other theft", "other": "Other crime", "public order": "Public order",
    "robbery": "Robbery", "shoplifting": "Shoplifting",
    "theft from person": "Theft from the person", "vehicle crime": "Vehicle crime",
    "violent or sexual": "Violence and sexual offences",
    "weapon possession": "Possession of weapons",
}  # fmt: skip
_OUTCOMES = np.array([
    "Investigation complete; no suspect identified", "Unable to prosecute suspect",
    "Status update unavailable", "Under investigation", "Awaiting court outcome",
    "Offender given a caution", "Local resolution",
], dtype=object)  # fmt: skip


def make_police_uk_csv(src: Path, out: Path, n: int = N_SYNTHETIC, seed: int = 20) -> Path:
    """Write a synthetic `n`-row police.uk street CSV made from the London file `src`."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    rng = np.random.default_rng(seed)
    lon_df = pd.read_csv(src)
    m = len(lon_df)
    take = np.concatenate([np.arange(m), rng.integers(0, m, n - m)])
    d = lon_df.iloc[take].reset_index(drop=True)
    lon, lat = d["longitude"].to_numpy().copy(), d["latitude"].to_numpy().copy()
    moved = np.zeros(n, bool)
    moved[m:] = rng.random(n - m) < 0.15  # 15 % of the repeated rows: a new point nearby
    lon[moved] += rng.integers(-20, 21, moved.sum()) * 1e-5
    lat[moved] += rng.integers(-20, 21, moved.sum()) * 1e-5
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    point, uniq = pd.factorize(lon + 1j * lat)
    crime = d["type"].map(_POLICE_WORDS).to_numpy(dtype=object)
    asb = rng.random(n) < 0.15  # police.uk gives anti-social behaviour without an id
    crime[asb] = "Anti-social behaviour"
    raw = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", np.uint8)
    text = np.empty((n, 64), np.uint8)
    text[:, 0::2], text[:, 1::2] = digits[raw >> 4], digits[raw & 15]
    ids = text.view("S64").ravel().astype(object)
    ids[asb] = None
    outcome = _OUTCOMES[rng.integers(0, len(_OUTCOMES), n)]
    outcome[asb] = None
    streets = np.array([f"On or near Street {i}" for i in range(len(uniq))], dtype=object)
    lsoa = point % 4835
    codes = np.array([f"E01{i:06d}" for i in range(4835)], dtype=object)
    lsoa_names = np.array([f"Borough {i // 150} {i % 150:03d}" for i in range(4835)],
                          dtype=object)
    months = np.array([f"2022-{i:02d}" for i in range(1, 13)], dtype=object)
    force = "Metropolitan Police Service"
    table = pa.table({
        "Crime ID": pa.array(ids, pa.binary()).cast(pa.string()),
        "Month": months[d["month"].to_numpy() - 1].astype(str),
        "Reported by": pa.array(np.full(n, force, dtype=object)),
        "Falls within": pa.array(np.full(n, force, dtype=object)),
        "Longitude": lon, "Latitude": lat, "Location": streets[point].astype(str),
        "LSOA code": codes[lsoa].astype(str), "LSOA name": lsoa_names[lsoa].astype(str),
        "Crime type": crime.astype(str), "Last outcome category": pa.array(outcome, pa.string()),
        "Context": pa.nulls(n, pa.string()),
    })  # fmt: skip
    pacsv.write_csv(table, out, pacsv.WriteOptions(quoting_style="none"))
    return out


def _plain(path: Path, lon: str, lat: str) -> int:
    """The plain read: pandas.read_csv, points, to_crs(27700)."""
    raw = pd.read_csv(path)
    pts = gpd.GeoDataFrame(
        raw, geometry=gpd.points_from_xy(raw[lon], raw[lat]), crs=4326
    ).to_crs(27700)
    return len(pts)


def _ours(path: Path) -> int:
    return len(hs.read_incidents(path))


def _compare(name: str, path: Path, lon: str, lat: str, repeats: int) -> dict:
    """Ours and the plain read, alternating, `repeats` times; medians and their ratio."""
    ours, ref = [], []
    for _ in range(repeats):  # alternating: a busy machine slows both alike
        ours.append(measure(_ours, path))
        ref.append(measure(_plain, path, lon, lat))
    o = sorted(ours, key=lambda m: m.seconds)[len(ours) // 2]
    r = sorted(ref, key=lambda m: m.seconds)[len(ref) // 2]
    slow = o.seconds / r.seconds
    ok = slow <= TARGET_RATIO
    runs = ", ".join(f"{a.seconds:.2f}/{b.seconds:.2f}" for a, b in zip(ours, ref, strict=True))
    verdict = f"{slow:.2f}x read_csv + to_crs | target <= {TARGET_RATIO:g}x: " + (
        "OK" if ok else "MISSED")
    print(f"  {name:<34} ours {o.seconds:6.2f} s {o.peak_mib:6.0f} MiB | read_csv + to_crs "
          f"{r.seconds:6.2f} s {r.peak_mib:6.0f} MiB | {verdict} (runs ours/plain: {runs})")
    return row(name, o.result, o, r, "read_csv + to_crs", verdict, slowdown=slow)


def run(quick: bool = False) -> list[dict]:
    """Print and return one row per file: ours against the plain read, same run."""
    try:
        london = datasets.path(KEY)
    except hs.HotspotsError as exc:
        print(f"bench_read: skipped ({exc})")
        return []
    header("bench_read: hs.read_incidents vs pandas.read_csv + to_crs(27700), same run "
           "(medians of alternating runs)")
    repeats = 1 if quick else 3
    folder = Path(tempfile.gettempdir()) / "hotspots_bench"
    folder.mkdir(exist_ok=True)
    synthetic = folder / f"police_uk_like_{N_SYNTHETIC}_synthetic.csv"
    if not synthetic.exists():  # made once (~15 s), then reused
        make_police_uk_csv(london, synthetic.with_suffix(".tmp"))
        synthetic.with_suffix(".tmp").replace(synthetic)
    # warm up in this process (imports, the London outline and its distance trees)
    warm = folder / "warm.csv"
    warm.write_text("Longitude,Latitude,Month,Crime type\n-0.13,51.5,2022-01,Robbery\n"
                    "1.3,52.6,2022-01,Robbery\n")
    hs.read_incidents(warm)
    _plain(warm, "Longitude", "Latitude")
    return [
        _compare("London 2022 police.uk (849k rows)", london, "longitude", "latitude", repeats),
        _compare(f"police.uk-like CSV ({N_SYNTHETIC:,} rows, synthetic)", synthetic,
                 "Longitude", "Latitude", repeats),
    ]


if __name__ == "__main__":
    run()
