"""Write the README's speed table from benchmark runs: ``python benchmarks/readme_table.py
out/bench.json [more.json ...] [--readme README.md]``.

``make bench`` (``run.py --json out/bench.json``) saves every row it prints; this turns
them into the Markdown between ``<!-- bench-table:start -->`` and ``<!-- bench-table:end
-->`` in the README: one line per case measured against a reference (ours, the
reference, the ratio and the agreement check, all from the same run) and the stage
times of the London end-to-end case. Nothing is typed by hand, so the table says what
the last run measured.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
#: what each benchmark's rows are about (the row names alone repeat across benchmarks)
TOPIC = {"dbscan": "DBSCAN", "gistar": "Gi*", "join": "ward join", "kde": "KDE",
         "london": "London 2022", "scale": "scale"}


def _secs(v: float) -> str:
    return f"{v:.3g} s" if v < 10 else f"{v:.1f} s"


def _mem(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f", {v:.0f} MiB"


def merge(runs: list[dict]) -> dict:
    """Several runs' results, a later run's benchmark replacing an earlier one's."""
    out = {"results": {}, "notes": []}
    for run in runs:
        out["results"].update(run["results"])
        names = ", ".join(run["results"])
        out["notes"].append(f"{names}: run of {run['date']}, {run['cpus']} CPUs"
                            f"{' (--quick)' if run['quick'] else ''}")
    return out


def table(results: dict) -> str:
    """The Markdown table (and stage list) for the rows of merged runs."""
    meta = ("Measured by `make bench` (" + "; ".join(results["notes"]) + "); ratio = "
            "reference time / ours (> 1: ours is faster), each row's two sides from the "
            "same run.")
    lines = [meta, "", "| case | ours | reference | ratio | agreement |", "|---|---|---|---|---|"]
    stages = []
    for name, res in results["results"].items():
        for r in res["rows"]:
            ref_s = r.get("ref_s")
            if ref_s is None or (isinstance(ref_s, float) and math.isnan(ref_s)):
                if name == "london":
                    stages.append(r)
                continue
            agree = str(r.get("agreement", "")).replace("|", "/")
            ratio = r["ratio"]
            ratio = f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.2g}×"
            topic = TOPIC.get(name, name)
            case = r["case"] if r["case"].startswith(topic) else f"{topic}: {r['case']}"
            lines.append(f"| {case} | {_secs(r['ours_s'])}{_mem(r.get('ours_mib'))} | "
                         f"{r['ref']} {_secs(ref_s)}{_mem(r.get('ref_mib'))} | "
                         f"{ratio} | {agree} |")
    if stages:
        lines += ["", "London 2022 end to end, per stage:", "", "| stage | seconds |",
                  "|---|---|"]
        lines += [f"| {r['case'].removeprefix('London 2022: ')} | {r['ours_s']:.2f} |"
                  for r in stages]
    return "\n".join(lines)


def main(paths: list[str], readme: str = "README.md") -> None:
    results = merge([json.loads(Path(p).read_text()) for p in paths])
    text = Path(readme).read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    Path(readme).write_text(f"{head}{START}\n{table(results)}\n{END}{tail}")
    print(f"{readme}: speed table rewritten from {', '.join(paths)}")


if __name__ == "__main__":
    args = sys.argv[1:]
    target = "README.md"
    if "--readme" in args:
        i = args.index("--readme")
        target = args[i + 1]
        del args[i: i + 2]
    main(args, target)
