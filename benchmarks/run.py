"""Run every ``bench_*.py`` module's ``run()`` in this folder and print a summary table.

Each benchmark prints its own detailed figures; this collects the rows they return
(a dict or a list of dicts) into one table at the end. ``python benchmarks/run.py
[name ...]`` runs only the named ones (e.g. ``kde gistar``); ``--json PATH`` also writes
every row to PATH, from which ``readme_table.py`` writes the README's speed table. The
full run takes over 10 minutes on 2 cores and needs about 7 GB of memory
(scikit-learn's DBSCAN on 1M points alone peaks at 6 GB); ``--quick`` keeps N <=
100,000, the small real files and the London 2022 cases. Time and memory are measured
by ``_measure.py``. ``london`` (``bench_london.py``) takes the real all-London 2022
file from CSV to a saved map, stage by stage, against the plain read + project + sjoin.
``scale`` (``bench_scale.py``) runs a year of all-London police.uk-like data end to end
in a fresh process and prints each stage's time and the peak RSS (target < 30 s, < 4
GiB); its SYNTHETIC data are generated once (about a minute) and cached; ``--quick``
runs it on a tenth of the rows. numpy's huge pages are off (``NUMPY_MADVISE_HUGEPAGE=0``,
set here before numpy is imported): on a virtual machine their first touch is slow.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import sys
import time
from pathlib import Path

# numpy asks for transparent huge pages for big arrays; on a VM such a page can cost
# ~20 ms when first touched (a fresh 22 MB array: 0.23 s instead of 0.02 s), noise that
# depends on the host, not on the code. Off for every benchmark (ours and the
# references alike), before numpy is imported.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _run(mod, quick: bool):
    """mod.run(), told to be quick by ``quick=True`` or, failing that, ``sizes``."""
    if not quick:
        return mod.run()
    params = inspect.signature(mod.run).parameters
    if "quick" in params:
        return mod.run(quick=True)
    if "sizes" in params:
        default = params["sizes"].default
        return mod.run(sizes=tuple(n for n in default if n <= 100_000))
    return mod.run()


def main(only: list[str], quick: bool = False, json_path: str | None = None) -> None:
    results = {}
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"\n=== {path.name} ===", flush=True)
        t0 = time.perf_counter()
        rows = _run(_load(path), quick)
        rows = [rows] if isinstance(rows, dict) else list(rows or [])
        results[name] = (rows, time.perf_counter() - t0)
    print("\n=== summary ===")
    for name, (rows, dt) in results.items():
        print(f"\n{name} ({dt:.0f} s)")
        cols = list(dict.fromkeys(k for r in rows for k in r))
        if not cols:
            continue
        table = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
        widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
        print("  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
        for t in table:
            print("  " + "  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)))
    if json_path:  # the README's speed table is written from this (readme_table.py)
        out = {"date": time.strftime("%Y-%m-%d"), "quick": quick, "cpus": os.cpu_count(),
               "results": {k: {"rows": r, "seconds": dt} for k, (r, dt) in results.items()}}
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(out, indent=1, default=float))
        print(f"\nresults written to {json_path}; README table: "
              f"python benchmarks/readme_table.py {json_path}")


if __name__ == "__main__":
    args = sys.argv[1:]
    json_path = None
    if "--json" in args:
        i = args.index("--json")
        json_path = args[i + 1]
        del args[i: i + 2]
    main([a for a in args if a != "--quick"], quick="--quick" in args, json_path=json_path)
