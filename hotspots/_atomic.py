"""Atomic output: write to a temp file in the target folder, then rename over it.

A reader (or a browser reloading a map) never sees a half-written file, and a crash
leaves the previous output intact.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`.

    Use it for writers that want a file name (``gdf.to_file``, ``fig.savefig``)::

        with atomic_path("out/map.png") as tmp:
            fig.savefig(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=target.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are for colleagues too
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to `target` atomically and return its path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to `target` atomically and return its path."""
    return atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_csv(df, target: str | os.PathLike, **kwargs) -> Path:
    """Write a DataFrame as CSV atomically (index off unless asked)."""
    kwargs.setdefault("index", False)
    with atomic_path(target) as tmp:
        df.to_csv(tmp, **kwargs)
    return Path(target)
