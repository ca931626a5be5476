"""Folder-atomic outputs (hotspots._atomic.atomic_dir): a killed run leaves the previous
complete folder or nothing, never a mix of two runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _kill_points import Paused

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
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]  # no temporary left


def test_atomic_dir_failure_leaves_the_previous_folder(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as d:
        _write_run(d, "run1")
    with pytest.raises(RuntimeError), atomic_dir(out) as d:
        _write_run(d, "run2", ("a.txt",))
        raise RuntimeError("boom")
    assert _tokens(out) == {"run1"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


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
token = sys.argv[2]
with _atomic.atomic_dir(sys.argv[1]) as d:
    for i in range(30):
        (d / f"f{i:02d}.txt").write_text(token)
        pause(i)
"""
#: kill points of one writer run: 30 files, then the folder's marker (before the swap)
_POINTS = 31


def test_sigkill_loop_never_leaves_a_mixed_folder(tmp_path):
    """Kill writers at random points (after any file, or after the marker just before
    the folder is swapped in): the folder always holds one whole run's files, the
    last run that finished."""
    out = tmp_path / "w" / "out"
    root = Path(_atomic.__file__).parents[1]
    rng = np.random.default_rng(0)
    finished = None
    for run in range(25):
        proc = Paused(_WRITER, str(out), f"run{run}", root=root, log=tmp_path / "log.txt")
        if run in (0, 12):  # some runs finish, the rest are killed part-way
            assert proc.finish() == 0, (tmp_path / "log.txt").read_text()
            finished = f"run{run}"
        else:
            assert proc.kill_at(int(rng.integers(1, _POINTS + 1))), run
        files = sorted(p.name for p in out.glob("*.txt"))
        assert files == [f"f{i:02d}.txt" for i in range(30)], run
        assert _tokens(out) == {finished}, run
    # the leftovers of killed runs are cleared by the next run
    with atomic_dir(out) as d:
        _write_run(d, "last")
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]
