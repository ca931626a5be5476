"""Benchmark: hs.kde's density array vs scikit-learn KernelDensity and scipy gaussian_kde.

N = 10k, 100k, 1M uniform points in a 10 km square, 200 m cells (50 x 50), and the
real Harrow 2022 and all-London 2022 police.uk files (``quick``: N <= 100k, Harrow only).
Same kernel and bandwidth on
both sides: scikit-learn has no quartic, so ours runs the gaussian (sd 200 m, cut at
5 sd) against sklearn's gaussian (tree, rtol=0), and the uniform kernel (radius 600 m)
against sklearn's tophat. Our default quartic (radius 3 cells) has no outside
reference: ``method="auto"`` and the FFT path forced are compared with our exact path
(itself tested against brute force), time ratio and largest relative error. The gaussian rows
force the FFT path (``method="fft"``), so the "diff" column is the FFT path's own
error against scikit-learn's exact tree evaluation. scipy's gaussian_kde uses
the data covariance (near-isotropic for the uniform square, so only run there)
scaled to sd 200 m.

The references are slow (points × cells): each is evaluated on a subset of cells and
its time scaled to the whole grid, printed as "(k cells, scaled)". Agreement is the
largest relative difference on evaluated cells above 1% of the peak (tophat: the
median, since points at exactly the radius fall either side). Time and memory:
:mod:`_measure` (each run in a forked child, peak RSS; a reference's memory is for its
subset of cells). Run: ``python benchmarks/bench_kde.py [--quick]``.
"""

from __future__ import annotations

import numpy as np
from _measure import best_of, header, line, row
from scipy.stats import gaussian_kde
from sklearn.neighbors import KernelDensity

import hotspots as hs
from hotspots.density import density_array
from hotspots.grid import make_grid, points_xy

SIDE = 10_000.0
CELL = 200.0
SD = 200.0
RADIUS = 600.0
#: cells each reference evaluates at most (time then scaled to the full grid)
REF_CELL_BUDGET = {10_000: 2500, 100_000: 400, 1_000_000: 40}


def _agree(ours: np.ndarray, ref: np.ndarray) -> float:
    big = ref > 0.01 * ref.max()
    return float((np.abs(ours - ref)[big] / ref[big]).max())


def _emit(rows: list, case: str, n: int, ours, ref, ref_name: str, agreement: str,
          **extra) -> None:
    print(line(case, ours, ref, ref_name, agreement), flush=True)
    rows.append(row(case, n, ours, ref, ref_name, agreement, **extra))


def _case(name: str, x: np.ndarray, y: np.ndarray, grid, rows: list) -> None:
    n = len(x)
    budget = REF_CELL_BUDGET.get(n, 2500 if n < 50_000 else 100)
    xc, yc = (a.ravel() for a in grid.centres())
    pick = np.linspace(0, xc.size - 1, min(budget, xc.size)).astype(int)
    scale = xc.size / pick.size
    cells = f"{pick.size} cells{', time scaled' if scale > 1 else ''}"
    q = np.c_[xc[pick], yc[pick]]
    h_q = 3 * grid.cell_size
    # quartic: no outside reference; auto and forced FFT against our exact path
    exact = best_of(density_array, x, y, grid, h_q, "quartic", method="exact")
    for method in ("auto", "fft"):
        ours = best_of(density_array, x, y, grid, h_q, "quartic", method=method)
        err = _agree(ours.result[0], exact.result[0])
        label = f"auto ({ours.result[1]})" if method == "auto" else "fft forced"
        _emit(rows, f"{name} quartic {label}", n, ours, exact,
              "our exact path", f"max rel {err:.1e}", kernel="quartic", max_rel_diff=err)
    for ours_k, h, ref_k in (("gaussian", SD, "gaussian"), ("uniform", RADIUS, "tophat")):
        forced = "fft" if ours_k == "gaussian" else "auto"  # uniform: always exact
        ours = best_of(density_array, x, y, grid, h, ours_k, method=forced)
        dens = ours.result[0].ravel()[pick]
        kd = KernelDensity(kernel=ref_k, bandwidth=h, rtol=0).fit(np.c_[x, y])
        ref = best_of(kd.score_samples, q)
        ref = ref._replace(seconds=ref.seconds * scale, result=np.exp(ref.result) * n)
        if ours_k == "gaussian":
            diff, what = _agree(dens, ref.result), "max"
        else:
            diff = float(np.median(np.abs(dens - ref.result) / np.maximum(ref.result, 1e-300)))
            what = "median"
        case = f"{name} {ours_k} ({ours.result[1]})"
        _emit(rows, case, n, ours, ref, f"sklearn {ref_k} [{cells}]",
              f"{what} rel {diff:.1e}", kernel=ours_k, max_rel_diff=diff)
        if ours_k == "gaussian" and n <= 100_000 and name.startswith("uniform"):
            data = np.vstack([x, y])
            sd_data = float(np.sqrt(np.cov(data).diagonal().mean()))
            g = gaussian_kde(data, bw_method=SD / sd_data)
            ref = best_of(g, q.T)
            ref = ref._replace(seconds=ref.seconds * scale)
            diff = _agree(dens, ref.result * n)
            _emit(rows, case, n, ours, ref, f"scipy gaussian_kde [{cells}]",
                  f"max rel {diff:.1e}", kernel=ours_k, max_rel_diff=diff)


def run(sizes=(10_000, 100_000, 1_000_000), quick: bool = False) -> list[dict]:
    """Print and return one row per case: time, peak MiB, ratio, agreement.

    ``quick`` keeps N <= 100,000 and the Harrow file only.
    """
    rows: list[dict] = []
    rng = np.random.default_rng(0)
    grid = make_grid((0, 0, SIDE - 1e-6, SIDE - 1e-6), CELL)
    header("bench_kde: hs density array vs scikit-learn / scipy (reference time scaled "
           "from a subset of cells where noted)")
    wx, wy = rng.uniform(0, SIDE, 500), rng.uniform(0, SIDE, 500)
    for k, method in (("quartic", "fft"), ("gaussian", "fft"), ("uniform", "auto")):
        density_array(wx, wy, grid, 600.0, k, method=method)  # warm up before forking
    for n in [n for n in sizes if n <= 100_000] if quick else sizes:
        x, y = rng.uniform(0, SIDE, n), rng.uniform(0, SIDE, n)
        _case(f"uniform {n:,}", x, y, grid, rows)
    for key in ("harrow_crime_2022",) + (() if quick else ("london_crime_2022",)):
        try:
            inc = hs.read_incidents(key)
        except hs.HotspotsError as exc:
            print(f"skip {key}: {exc}")
            continue
        x, y, _ = points_xy(inc)
        _case(key, x, y, make_grid(inc), rows)
    hit = [r for r in rows if r["n"] == 100_000 and r["ref"].startswith("sklearn gaussian")]
    if hit:
        ok = hit[0]["ratio"] >= 50
        print(f"  target >= 50x vs sklearn gaussian at 100k: {'OK' if ok else 'MISSED'}")
    return rows


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv[1:])
