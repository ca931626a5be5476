"""Write the README's speed table from a benchmark run: ``python benchmarks/readme_table.py
out/bench.json [README.md]``.

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


def _secs(v: float) -> str:
    return f"{v:.3g} s" if v < 10 else f"{v:.1f} s"


def _mem(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f", {v:.0f} MiB"


def table(results: dict) -> str:
    """The Markdown table (and stage list) for the rows of one run."""
    meta = (f"Measured by `make bench` on {results['date']}, {results['cpus']} CPUs"
            f"{' (--quick)' if results['quick'] else ''}; ratio = reference time / ours "
            "(> 1: ours is faster), all from that one run.")
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
            lines.append(f"| {r['case']} | {_secs(r['ours_s'])}{_mem(r.get('ours_mib'))} | "
                         f"{r['ref']} {_secs(ref_s)}{_mem(r.get('ref_mib'))} | "
                         f"{r['ratio']:.2g}x | {agree} |")
    if stages:
        lines += ["", "London 2022 end to end, per stage:", "", "| stage | seconds |",
                  "|---|---|"]
        lines += [f"| {r['case'].removeprefix('London 2022: ')} | {r['ours_s']:.2f} |"
                  for r in stages]
    return "\n".join(lines)


def main(json_path: str, readme: str = "README.md") -> None:
    results = json.loads(Path(json_path).read_text())
    text = Path(readme).read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    Path(readme).write_text(f"{head}{START}\n{table(results)}\n{END}{tail}")
    print(f"{readme}: speed table rewritten from {json_path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
