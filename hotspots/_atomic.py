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


def with_source(df, source: str | None, column: str = "source"):
    """`df` with a `column` saying where its data come from and their licence.

    An existing column keeps its place (filled where empty); otherwise it is appended
    last, so the columns users rely on stay where they were.
    """
    if not source:
        return df
    df = df.copy()
    if column in df.columns:
        old = df[column]
        df[column] = old.where(old.notna() & (old.astype(str) != ""), source)
    else:
        df[column] = source
    return df


def atomic_write_csv(df, target: str | os.PathLike, source: str | None = None,
                     **kwargs) -> Path:
    """Write a DataFrame as CSV atomically (index off unless asked).

    `source`, when given, goes in a ``source`` column (:func:`with_source`): every
    output table says where its data come from and their licence.
    """
    kwargs.setdefault("index", False)
    df = with_source(df, source)
    with atomic_path(target) as tmp:
        df.to_csv(tmp, **kwargs)
    return Path(target)


def attributed_geojson(doc: dict, source: str | None) -> dict:
    """A GeoJSON FeatureCollection dict with `source` in every feature's properties and a
    top-level ``attribution`` member (foreign members are allowed by RFC 7946 §6.1)."""
    if source:
        for feat in doc.get("features", []):
            feat["properties"] = {**(feat.get("properties") or {}), "source": source}
        doc["attribution"] = source
    return doc


def atomic_write_geojson(gdf, target: str | os.PathLike, source: str | None = None) -> Path:
    """Write a GeoDataFrame as WGS84 GeoJSON atomically, attributed (see
    :func:`attributed_geojson`); values JSON cannot hold (dates) are written as text."""
    import json

    if gdf.crs is not None:
        gdf = gdf.to_crs(4326)
    doc = attributed_geojson(gdf.to_geo_dict(drop_id=True), source)
    return atomic_write_text(target, json.dumps(doc, ensure_ascii=False, default=_jsonable))


def _jsonable(v):
    """numpy scalars as Python numbers; anything else JSON cannot hold (dates) as text."""
    return v.item() if hasattr(v, "item") and not hasattr(v, "strftime") else str(v)
