"""Kill a writer at a chosen point, not after a guessed time (no timed tests).

:class:`Paused` runs Python code in a child process where every file put in place by
``hotspots._atomic.atomic_path`` (every output the library writes, and the
``atomic_dir`` marker just before the folder is swapped in), and every explicit
``pause()`` in the code, prints a line and waits for the parent to say go. The parent
reads those lines and kills the child at the n-th one: where it dies is exact whatever
the machine's load.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

MARK = "@@kill-point"

_PRELUDE = f"""
import contextlib, sys
from hotspots import _atomic

def pause(what=""):
    print({MARK!r}, what, flush=True)
    sys.stdin.readline()

_orig = _atomic.atomic_path

@contextlib.contextmanager
def _paused(target):
    with _orig(target) as tmp:
        yield tmp
    pause(target)

_atomic.atomic_path = _paused
"""

#: code that runs the CLI (argv after the code) under the kill points
CLI = "import runpy; runpy.run_module('hotspots.cli', run_name='__main__')"


class Paused:
    """A child process stopping at each kill point until :meth:`go` (or killed)."""

    def __init__(self, code: str, *args: str, root: Path, log: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(root)}
        self._log = open(log, "ab")  # noqa: SIM115 (closed in wait)
        self.proc = subprocess.Popen([sys.executable, "-c", _PRELUDE + code, *args], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True)
        self.points = 0

    def next_point(self) -> bool:
        """Wait until the child reaches its next kill point (False: it exited first)."""
        for line in self.proc.stdout:
            if line.startswith(MARK):
                self.points += 1
                return True
        return False

    def go(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def kill_at(self, n: int) -> bool:
        """Let the child pass n - 1 kill points, SIGKILL it at the n-th; False if it
        finished before reaching it."""
        while self.next_point():
            if self.points == n:
                self.proc.send_signal(signal.SIGKILL)
                self.wait()
                return True
            self.go()
        self.wait()
        return False

    def finish(self) -> int:
        """Let the child run to its end; its exit code."""
        while self.next_point():
            self.go()
        return self.wait()

    def wait(self) -> int:
        rc = self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self._log):
            with contextlib.suppress(BrokenPipeError, OSError):
                f.close()
        return rc
