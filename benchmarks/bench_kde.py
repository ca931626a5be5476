"""Benchmark: hs.kde's density array vs scikit-learn KernelDensity and scipy gaussian_kde.

N = 10k, 100k, 1M uniform points in a 10 km square, 200 m cells (50 x 50), and the
real Harrow 2022 and all-London 2022 police.uk files. Same kernel and bandwidth on
both sides: scikit-learn has no quartic, so ours runs the gaussian (sd 200 m, cut at
5 sd) against sklearn's gaussian (tree, rtol=0), and the uniform kernel (radius 600 m)
against sklearn's tophat. Our default quartic (radius 3 cells) is timed with
``method="auto"``, the exact path and the FFT path forced, whose largest relative error
against the exact path on cells above 1% of the peak is printed. The gaussian rows
force the FFT path (``method="fft"``), so the "diff" column is the FFT path's own
error against scikit-learn's exact tree evaluation. scipy's gaussian_kde uses
the data covariance (near-isotropic for the uniform square, so only run there)
scaled to sd 200 m.

The references are slow (points × cells): each is evaluated on a subset of cells and
its time scaled to the whole grid, printed as "(k cells, scaled)". Agreement is the
largest relative difference on evaluated cells above 1% of the peak. Peak memory:
tracemalloc (numpy allocations included). Run: ``python benchmarks/bench_kde.py``.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
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


def measure(fn, *args, **kw):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return dt, peak, out


def _agree(ours: np.ndarray, ref: np.ndarray) -> float:
    big = ref > 0.01 * ref.max()
    return float((np.abs(ours - ref)[big] / ref[big]).max())


def _case(name, x, y, grid, rows):
    n = len(x)
    budget = REF_CELL_BUDGET.get(n, 2500 if n < 50_000 else 100)
    xc, yc = (a.ravel() for a in grid.centres())
    pick = np.linspace(0, xc.size - 1, min(budget, xc.size)).astype(int)
    scale = xc.size / pick.size
    q = np.c_[xc[pick], yc[pick]]
    h_q = 3 * grid.cell_size
    t_q, m_q, (exact_q, meth) = measure(density_array, x, y, grid, h_q, "quartic")
    rows.append(dict(case=name, n=n, kernel="quartic", ours_s=t_q, ours_mib=m_q, method=meth))
    # the FFT path forced, against the exact path (itself tested against brute force)
    if meth != "exact":
        t_e, m_e, (exact_q, _) = measure(density_array, x, y, grid, h_q, "quartic", method="exact")
        rows.append(dict(case=name, n=n, kernel="quartic", ours_s=t_e, ours_mib=m_e,
                         method="exact"))
    t_f, m_f, (fft_q, _) = measure(density_array, x, y, grid, h_q, "quartic", method="fft")
    rows.append(dict(case=name, n=n, kernel="quartic", ours_s=t_f, ours_mib=m_f, method="fft",
                     fft_err=_agree(fft_q, exact_q)))
    for ours_k, h, ref_k in (("gaussian", SD, "gaussian"), ("uniform", RADIUS, "tophat")):
        forced = "fft" if ours_k == "gaussian" else "auto"  # uniform: always exact
        t_o, m_o, (dens, meth) = measure(density_array, x, y, grid, h, ours_k, method=forced)
        kd = KernelDensity(kernel=ref_k, bandwidth=h, rtol=0).fit(np.c_[x, y])
        t_r, m_r, logd = measure(kd.score_samples, q)
        ref = np.exp(logd) * n
        t_r *= scale
        agree = _agree(dens.ravel()[pick], ref) if ours_k == "gaussian" else float(
            np.median(np.abs(dens.ravel()[pick] - ref) / np.maximum(ref, 1e-300))
        )
        rows.append(dict(case=name, n=n, kernel=ours_k, ours_s=t_o, ours_mib=m_o, method=meth,
                         ref=f"sklearn {ref_k}", ref_s=t_r, ref_mib=m_r, speedup=t_r / t_o,
                         ref_cells=f"{pick.size}{' scaled' if scale > 1 else ''}",
                         max_rel_diff=agree))
        if ours_k == "gaussian" and n <= 100_000 and name.startswith("uniform"):
            data = np.vstack([x, y])
            sd_data = float(np.sqrt(np.cov(data).diagonal().mean()))
            g = gaussian_kde(data, bw_method=SD / sd_data)
            t_s, m_s, dens_s = measure(g, q.T)
            t_s *= scale
            rows.append(dict(case=name, n=n, kernel="gaussian", ours_s=t_o, ours_mib=m_o,
                             method=meth, ref="scipy gaussian_kde", ref_s=t_s, ref_mib=m_s,
                             speedup=t_s / t_o, ref_cells=rows[-1]["ref_cells"],
                             max_rel_diff=_agree(dens.ravel()[pick], dens_s * n)))


def run(sizes=(10_000, 100_000, 1_000_000)) -> list[dict]:
    """Print and return one row per case: time, peak MiB, speed-up, agreement."""
    rows: list[dict] = []
    rng = np.random.default_rng(0)
    grid = make_grid((0, 0, SIDE - 1e-6, SIDE - 1e-6), CELL)
    for n in sizes:
        x, y = rng.uniform(0, SIDE, n), rng.uniform(0, SIDE, n)
        _case(f"uniform {n:,}", x, y, grid, rows)
    for key in ("harrow_crime_2022", "london_crime_2022"):
        try:
            inc = hs.read_incidents(key)
        except hs.HotspotsError as exc:
            print(f"skip {key}: {exc}")
            continue
        x, y, _ = points_xy(inc)
        _case(key, x, y, make_grid(inc), rows)
    print("bench_kde (time in s; reference time scaled from a subset of cells where noted)")
    for r in rows:
        line = f"  {r['case']:<22} {r['kernel']:<9} ours {r['ours_s']:7.3f} s ({r['method']:<5})"
        line += f" {r['ours_mib']:6.0f} MiB"
        if "fft_err" in r:
            line += f" | max rel. error vs exact on cells > 1% of peak {r['fft_err']:.2e}"
        if "ref" in r:
            line += (f" | {r['ref']:<19} {r['ref_s']:8.2f} s {r['ref_mib']:6.0f} MiB"
                     f" [{r['ref_cells']} cells] x{r['speedup']:7.1f} diff {r['max_rel_diff']:.1e}")
        print(line)
    hit = [r for r in rows if r["n"] == 100_000 and r.get("ref") == "sklearn gaussian"]
    if hit:
        ok = hit[0]["speedup"] >= 50
        print(f"  target >= 50x vs sklearn at 100k: {'OK' if ok else 'MISSED'}")
    return rows


if __name__ == "__main__":
    run()
