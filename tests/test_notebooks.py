"""The worked notebooks run top to bottom on the shared data, offline (outputs to out/notebooks).

The notebooks are committed without outputs, so they can never show stale results;
`make notebooks` runs them and writes executed copies, with maps and tables, to
out/notebooks/ (``python tests/test_notebooks.py DIR``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
# one per kind of user, named in the README
EXPECTED = ("01_hotspots_for_analysts", "02_focus_ward_week", "03_op_verona_patrol")


def execute(path: Path) -> nbformat.NotebookNode:
    """Run a notebook in its own folder; raises CellExecutionError naming the failing cell."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def test_there_are_notebooks():
    assert set(EXPECTED) <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    stale = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not stale, f"{path.name}: cells {stale} carry outputs; clear them before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = execute(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # maps and tables are drawn inline: a Leaflet map (folium) and an HTML table
    html = [o["data"]["text/html"] for c in code for o in c.get("outputs", [])
            if "text/html" in o.get("data", {})]
    assert any("leaflet" in h.lower() for h in html), "no inline map"
    assert any("<table" in h for h in html), "no inline table"


if __name__ == "__main__":  # `make notebooks`: executed copies with their outputs
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/notebooks")
    out.mkdir(parents=True, exist_ok=True)
    for p in NOTEBOOKS:
        nbformat.write(execute(p), out / p.name)
        print(f"wrote {out / p.name}")
