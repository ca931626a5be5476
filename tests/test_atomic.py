"""Folder-atomic outputs (hotspots._atomic.atomic_dir): a killed run leaves the previous
complete folder or nothing, never a mix of two runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hotspots import _atomic
from hotspots._atomic import OUTPUT_MARKER, atomic_dir
from hotspots._errors import BadInputError


def _write_run(d: Path, token: str, names=("a.txt", "b.txt", "sub/c.txt")) -> None:
    for n in names:
        (d / n).parent.mkdir(parents=True, exist_ok=True)
        (d / n).write_text(token)


def _tokens(folder: Path) -> set[str]:
    return {p.read_text() for p in folder.rglob("*.txt") if p.name != "notes.txt"}


@pytest.mark.parametrize("exchange", [True, False])
def test_atomic_dir_replaces_the_whole_folder(tmp_path, monkeypatch, exchange):
    if not exchange:  # a filesystem without renameat2 exchange: rename aside, then in
        monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    with atomic_dir(out) as d:
        assert d.parent == tmp_path and d.name.startswith(".out.")
        _write_run(d, "run1", ("a.txt", "b.txt", "old-only.txt"))
    (out / "notes.txt").write_text("mine")  # not written by a run: kept
    with atomic_dir(out) as d:
        assert not (d / "a.txt").exists()  # a fresh folder, not a copy of the old one
        _write_run(d, "run2")
    assert _tokens(out) == {"run2"}
    assert not (out / "old-only.txt").exists()  # the earlier run's file is gone
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / OUTPUT_MARKER).read_text())["files"] == [
        "a.txt", "b.txt", "sub/c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary left


def test_atomic_dir_failure_leaves_the_previous_folder(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as d:
        _write_run(d, "run1")
    with pytest.raises(RuntimeError), atomic_dir(out) as d:
        _write_run(d, "run2", ("a.txt",))
        raise RuntimeError("boom")
    assert _tokens(out) == {"run1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_refuses_the_working_folder_and_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInputError, match="current folder"), atomic_dir(tmp_path):
        pass
    with pytest.raises(BadInputError, match="current folder"), atomic_dir("."):
        pass
    (tmp_path / "f").write_text("x")
    with pytest.raises(BadInputError, match="is a file"), atomic_dir(tmp_path / "f"):
        pass


_WRITER = """
import sys, time
from hotspots._atomic import atomic_dir
token = sys.argv[2]
with atomic_dir(sys.argv[1]) as d:
    for i in range(30):
        (d / f"f{i:02d}.txt").write_text(token)
        time.sleep(0.002)
"""


def test_sigkill_loop_never_leaves_a_mixed_folder(tmp_path):
    """Kill writers at random moments: the folder always holds one run's files, all of them."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(_atomic.__file__).parents[1])}
    rng = np.random.default_rng(0)
    completed = 0
    for run in range(25):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(out), f"run{run}"],
                                env=env)
        time.sleep(float(rng.uniform(0.05, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        completed += proc.returncode == 0
        if out.exists():
            files = sorted(p.name for p in out.glob("*.txt"))
            assert files == [f"f{i:02d}.txt" for i in range(30)], run
            assert len(_tokens(out)) == 1, run
    assert 0 < completed < 25  # some runs finished, most were killed part-way
    # the leftovers of killed runs are cleared by the next run
    with atomic_dir(out) as d:
        _write_run(d, "last")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
