"""Benchmark: hs.forecast's time per fold on Barnet burglary (12 years, 100 m cells).

Each fold forecasts a month from all the months before it, as ``hs.backtest`` and a
user would: ``method="auto"`` (binning + a 36-fold backtest of ten candidates + the
forecast) and ``method="decayed"`` alone. Reference: the spreadsheet way to get the
decayed counts, pandas (cell id from floor division, ``groupby(cell, month)`` sum,
weights 0.5^(age/12)), measured in the same run. Agreement: the decayed forecast's
cells ranked the same as pandas' (Spearman over the cells with a count).
The cell areas inside the study area are cached per study area and grid (as in a
backtest, after its first fold). Target: auto under 0.3 s per fold on an idle machine.
Run: ``python benchmarks/bench_forecast.py [--quick]``.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _measure import best_of, header, line, row

import hotspots as hs


def _pandas_decayed(inc, end: pd.Timestamp) -> pd.Series:
    """Decayed counts per 100 m cell with pandas: the reference."""
    df = pd.DataFrame({"cx": np.floor(inc.geometry.x / 100), "cy": np.floor(inc.geometry.y / 100),
                       "m": inc["month"].dt.year * 12 + inc["month"].dt.month})
    age = end.year * 12 + end.month - 1 - df["m"]
    df["w"] = 0.5 ** (age / 12)
    return df.groupby(["cx", "cy"])["w"].sum()


def _ours(inc, sa, method: str):
    return hs.forecast(inc, cell_size=100, study_area=sa, method=method, quiet=True)


def run(quick: bool = False) -> list[dict]:
    from scipy.stats import spearmanr

    header("hs.forecast per fold, Barnet burglary 2010-2023, 100 m cells")
    inc = hs.read_incidents("barnet_burglary")
    sa = hs.boroughs("Barnet")
    months = sorted(inc["month"].unique())[-(2 if quick else 6):]
    _ours(inc, sa, "decayed")  # cell areas cached (per study area and grid), as in backtests
    rows = []
    for m in months:
        train = inc[inc["month"] < m]
        ref = best_of(_pandas_decayed, train, pd.Timestamp(m))
        for method in ("auto", "decayed"):
            ours = best_of(_ours, train, sa, method)
            f = ours.result
            key = list(zip(np.floor(f.geometry.bounds["minx"] / 100 + 1e-6),
                           np.floor(f.geometry.bounds["miny"] / 100 + 1e-6), strict=True))
            mine = pd.Series(f["risk"].to_numpy(),
                             index=pd.MultiIndex.from_tuples(key, names=["cx", "cy"]))
            both = ref.result.to_frame("ref").join(mine.rename("ours"), how="inner")
            agree = (f"spearman {spearmanr(both['ref'], both['ours'])[0]:.3f}"
                     if method == "decayed" else f"chose {f.attrs['label']}")
            case = f"{pd.Timestamp(m):%Y-%m} {method} ({len(train):,} incidents)"
            print(line(case, ours, ref, "pandas decayed", agree), flush=True)
            rows.append(row(case, len(train), ours, ref, "pandas decayed", agree))
    return rows


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
