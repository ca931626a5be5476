"""Command-line safety (issue 15 items 4-5): whole output folders, sane arguments.

A killed `hotspots patrol` leaves the previous complete folder or none, never a mix of
two runs; `--minutes inf` and output names whose extension is not the format written
are refused before any work, with a plain message.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _kill_points import CLI, Paused
from typer.testing import CliRunner

from hotspots.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """30 robberies in three clusters near Harrow-on-the-Hill: a plan in a second or two."""
    rng = np.random.default_rng(1)
    centres = np.array([[515_200, 187_400], [515_900, 187_900], [514_700, 188_300]])
    xy = np.vstack([c + rng.normal(0, 25, (10, 2)) for c in centres])
    p = tmp_path_factory.mktemp("small") / "robberies.csv"
    pd.DataFrame({"category": "robbery", "occurred_at": "2022-03-01 20:00",
                  "easting": xy[:, 0].round(1), "northing": xy[:, 1].round(1)}).to_csv(
        p, index=False)
    return p


@pytest.mark.parametrize("minutes", ["inf", "nan", "-5", "0"])
def test_patrol_refuses_minutes_that_are_no_budget(small, tmp_path, minutes):
    res = invoke("patrol", "--incidents", str(small), "--minutes", minutes, "--out",
                 str(tmp_path / "p"))
    assert res.exit_code == 1 and "--minutes" in res.output, res.output
    assert "Traceback" not in res.output and not (tmp_path / "p").exists()


@pytest.mark.parametrize(("cmd", "out"), [("kde", "x.xyz"), ("gistar", "grid"),
                                          ("map", "map.png"), ("counts", "c.json")])
def test_output_extension_must_match_the_format(small, tmp_path, cmd, out):
    res = invoke(cmd, str(small), "--out", str(tmp_path / out))
    assert res.exit_code == 1, res.output
    msg = " ".join(res.output.split())
    assert "--out" in msg and "must end in one of" in msg and "Traceback" not in msg
    assert not (tmp_path / out).exists()


def test_kde_extensions_give_their_formats(small, tmp_path):
    import geopandas as gpd

    for name in ("k.gpkg", "k.geojson", "k.CSV"):
        res = invoke("kde", str(small), "--out", str(tmp_path / name), "--quiet")
        assert res.exit_code == 0, res.output
    assert len(gpd.read_file(tmp_path / "k.gpkg")) == len(gpd.read_file(tmp_path / "k.geojson"))
    assert "density" in pd.read_csv(tmp_path / "k.CSV").columns


def _run_token(folder: Path) -> set[str]:
    """The start time each file of a patrol folder says (one per run in this test)."""
    found = set()
    for name in ("briefing.md", "briefing.html", "route.gpx", "route.geojson", "map.html"):
        text = (folder / name).read_text("utf-8")
        found |= set(re.findall(r"\b\d\d:\d\d\b", text)) & TOKENS
    return found


#: start times two hours apart; a run of at most 90 minutes never shows another's
TOKENS = {f"{h:02d}:01" for h in range(0, 24, 2)}


def test_sigkill_loop_on_patrol_never_mixes_two_runs(small, tmp_path):
    """Runs differ by start time (it is in every file); kill them at random points (after
    any file is written, or after the folder's marker just before it is swapped in):
    the folder holds all files of exactly the last finished run."""
    out = tmp_path / "patrol"
    log = tmp_path / "log.txt"
    args = ["patrol", "--incidents", str(small), "--hours", "all", "--k", "3",
            "--minutes", "90", "--offline", "--out", str(out)]
    # one complete run first, counting its kill points (every file it writes)
    first = Paused(CLI, *args, "--start-time", "00:01", root=ROOT, log=log)
    assert first.finish() == 0, log.read_text()
    n_points = first.points
    assert _run_token(out) == {"00:01"}
    files = {p.name for p in out.iterdir() if not p.name.startswith(".")}  # one whole run
    assert {"briefing.md", "briefing.html", "route.gpx", "route.geojson", "map.html"} <= files
    assert n_points > len(files)  # the files and the marker written last
    rng = np.random.default_rng(0)
    finished = "00:01"
    for i, token in enumerate(sorted(TOKENS - {"00:01"})[:4]):
        proc = Paused(CLI, *args, "--start-time", token, root=ROOT, log=log)
        if i == 2:  # one more run finishes: the folder is then that run's
            assert proc.finish() == 0, log.read_text()
            finished = token
        else:
            assert proc.kill_at(int(rng.integers(1, n_points + 1))), i
        assert out.exists(), i  # a previous complete folder is never removed by a kill
        names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
        assert names == files, (i, names)
        assert _run_token(out) == {finished}, (i, _run_token(out))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".patrol.")]
    assert len(leftovers) <= 1  # at most the last killed run's temporary (the next run clears it)
