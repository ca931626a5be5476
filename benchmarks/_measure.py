"""The one measuring helper every benchmark uses: wall time and peak memory of a call.

Each call runs in a forked child process (Linux), so its peak memory is its own and
not hidden by what earlier runs left allocated. The child first returns free heap
pages to the OS (``malloc_trim``, so memory freed earlier but still resident is not
silently reused), resets its peak-RSS mark (``/proc/self/clear_refs`` = 5), runs the
call timed with ``time.perf_counter``, and reports ``VmHWM - VmRSS`` from
``/proc/self/status``: peak resident memory above what it started with, C/C++
allocations included. Where that is not possible (no fork or no clear_refs) the call
runs in this process and the peak is tracemalloc's (Python and numpy allocations only;
GEOS, BLAS or scikit-learn's C buffers are missed). :data:`MEMORY` says which one is
used; every benchmark prints it.

Because the child is a fork, anything a call imports or caches lazily is lost when it
exits: benchmarks warm each function up once in the parent before measuring it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing as mp
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class Measurement(NamedTuple):
    seconds: float
    peak_mib: float
    result: Any


def _can_fork_rss() -> bool:
    if "fork" not in mp.get_all_start_methods() or not _STATUS.exists():
        return False
    try:
        _CLEAR_REFS.write_text("5")  # harmless here: only resets this process's peak mark
    except OSError:
        return False
    return True


FORKED_RSS = _can_fork_rss()
#: which memory measure the numbers are (printed by every benchmark)
MEMORY = ("peak RSS above start (VmHWM after malloc_trim + clear_refs), forked child per run"
          if FORKED_RSS else "tracemalloc peak (Python/numpy allocations only), in-process")


def _kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in {_STATUS}")


def _in_process(fn: Callable, args: tuple, kw: dict) -> Measurement:
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        dt = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return Measurement(dt, peak, out)


def _release_free_heap() -> None:
    """Hand free heap pages back to the OS, so the child's start RSS holds no free memory.

    Without this a run can reuse memory the parent freed but glibc kept resident, and
    its allocations would not raise the peak above the start: memory under-reported.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):  # not glibc: no malloc_trim
            ctypes.CDLL(name).malloc_trim(0)


def _child(conn, fn: Callable, args: tuple, kw: dict) -> None:
    try:
        _release_free_heap()
        _CLEAR_REFS.write_text("5")  # peak mark = current RSS
        base = _kib("VmRSS")
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        dt = time.perf_counter() - t0
        conn.send(("ok", Measurement(dt, (_kib("VmHWM") - base) / 1024, out)))
    except BaseException as exc:  # report it to the parent rather than hang it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def measure(fn: Callable, *args, **kw) -> Measurement:
    """Time (s) and peak memory (MiB) of ``fn(*args, **kw)``, with its result.

    The result comes back from the child by pickling (outside the timed part); return
    something small (e.g. an array, not a GeoDataFrame) where that matters.
    """
    if not FORKED_RSS:
        return _in_process(fn, args, kw)
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(send, fn, args, kw))
    p.start()
    send.close()
    try:
        while not recv.poll(1.0):
            if not p.is_alive() and not recv.poll(0.5):
                raise RuntimeError(f"benchmark child died (exit code {p.exitcode}; "
                                   "out of memory?)")
        status, out = recv.recv()
    finally:
        p.join()
    if status != "ok":
        raise RuntimeError(f"benchmark child failed: {out}")
    return out


def best_of(fn: Callable, *args, tries: int = 3, under: float = 0.5, **kw) -> Measurement:
    """:func:`measure`, repeated up to ``tries`` times while a run takes < ``under`` s.

    Returns the fastest run: one run of a few hundredths of a second is mostly noise,
    while long runs are measured once to keep the whole benchmark affordable.
    """
    best = measure(fn, *args, **kw)
    for _ in range(tries - 1):
        if best.seconds >= under:
            break
        again = measure(fn, *args, **kw)
        if again.seconds < best.seconds:
            best = again
    return best


def header(title: str) -> None:
    """Print a benchmark's title and the memory measure in use."""
    print(title)
    print(f"  time: perf_counter, best of 3 when a run is under 0.5 s; memory: {MEMORY}")
    print("  ratio = reference time / our time (> 1: ours is faster)")


def line(case: str, ours: Measurement, ref: Measurement | None, ref_name: str,
         agreement: str) -> str:
    """One printed case: ours vs reference time and memory, ratio, agreement."""
    txt = f"  {case:<36} ours {ours.seconds:8.3f} s {ours.peak_mib:7.0f} MiB | "
    if ref is None:
        return txt + f"{ref_name} | {agreement}"
    return (txt + f"{ref_name} {ref.seconds:8.2f} s {ref.peak_mib:7.0f} MiB | "
            f"x{ref.seconds / ours.seconds:6.1f} | {agreement}")


def row(case: str, n: int, ours: Measurement, ref: Measurement | None, ref_name: str,
        agreement: str, **extra) -> dict:
    """The summary-table row run.py prints (same keys in every benchmark)."""
    out = dict(case=case, n=n, ours_s=ours.seconds, ours_mib=ours.peak_mib, ref=ref_name,
               ref_s=float("nan"), ref_mib=float("nan"), ratio=float("nan"))
    if ref is not None:
        out.update(ref_s=ref.seconds, ref_mib=ref.peak_mib, ratio=ref.seconds / ours.seconds)
    out.update(agreement=agreement, **extra)
    return out
