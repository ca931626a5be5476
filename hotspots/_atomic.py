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


#: written last into every folder :func:`atomic_dir` makes: the files of that run
OUTPUT_MARKER = ".hotspots-output.json"
_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)),
            ctypes.c_uint(_RENAME_EXCHANGE))
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (38, 22, 95):  # ENOSYS, EINVAL (filesystem without exchange), EOPNOTSUPP
        return False
    raise OSError(err, os.strerror(err), str(b))


def _stale_temps(target: Path) -> None:
    """Remove the temporary folders of earlier runs for `target` whose process is gone
    (a killed run leaves its half-written folder under a hidden name)."""
    import shutil

    for p in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            pid = int(p.name[len(target.name) + 2:].split(".", 1)[0])
        except ValueError:
            continue
        try:
            os.kill(pid, 0)
            continue  # still running (or another user's): leave it
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(p, ignore_errors=True)


def _check_replaceable(target: Path) -> None:
    """Refuse to swap out a folder that holds the working directory, or a home or root."""
    from ._errors import BadInputError

    t = target.resolve()
    here = Path.cwd().resolve()
    if t == here or t in here.parents or t == Path.home().resolve() or t.parent == t:
        raise BadInputError(f"output folder {target} holds the current folder (or is a home "
                            "or root folder): give a folder of its own, e.g. --out out/patrol")
    if target.exists() and not target.is_dir():
        raise BadInputError(f"output folder {target} exists and is a file: give a folder")


@contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `target`; on success it replaces `target`.

    A command writes its whole output folder inside, then the folder is swapped into
    place in one rename, so a reader (or a killed run) sees the previous complete
    output or the new complete output, never a mix::

        with atomic_dir("out/patrol") as d:
            plan.to_gpx(d / "route.gpx"); write_pack(d, "briefing", md, html)

    Files in the old folder that no earlier run wrote (someone's notes, say) are carried
    over into the new one; files an earlier run wrote (listed in its
    :data:`OUTPUT_MARKER`) and not written again are dropped. On an exception nothing
    changes and the temporary folder is removed. A folder holding the working
    directory, a home or a root folder is refused.
    """
    import json
    import shutil

    target = Path(target)
    _check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _stale_temps(target)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.",
                                suffix=".tmp"))
    os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700; outputs are for colleagues too
    old = None
    try:
        yield tmp
        written = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        if target.is_dir():
            _carry_over(target, tmp)
        atomic_write_text(tmp / OUTPUT_MARKER, json.dumps({"files": written}, indent=1))
        if target.exists() and not _exchange(tmp, target):
            # no atomic exchange here: old aside, new in (a kill between the two renames
            # leaves no folder, never a mixed one), then the old one removed
            old = target.with_name(f".{target.name}.{os.getpid()}.old.tmp")
            os.rename(target, old)
            os.rename(tmp, target)
        elif not target.exists():
            os.rename(tmp, target)
        else:
            old = tmp  # after the exchange the temporary name holds the previous folder
    finally:
        for p in (tmp, old):
            if p is not None and p.exists():
                shutil.rmtree(p, ignore_errors=True)


def _carry_over(target: Path, tmp: Path) -> None:
    """Hard-link (else copy) into `tmp` the files of `target` no earlier run wrote and
    this run did not write."""
    import json
    import shutil

    try:
        ours = set(json.loads((target / OUTPUT_MARKER).read_text("utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        ours = set()
    for p in target.rglob("*"):
        rel = p.relative_to(target)
        if not p.is_file() or str(rel) in ours or str(rel) == OUTPUT_MARKER:
            continue
        dest = tmp / rel
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(p, dest)
        except OSError:
            shutil.copy2(p, dest)


def atomic_write_grid(grid, target: str | os.PathLike, source: str | None = None) -> Path:
    """Write a grid GeoDataFrame (GeoPackage, GeoJSON or CSV by suffix) atomically, with
    a ``source`` column (GeoJSON: property and ``attribution``) naming data and licence.

    A CSV has no geometry, so each cell's centre is given instead: ``x``, ``y`` (British
    National Grid, metres) and ``lon``, ``lat`` (WGS84). A GeoPackage's layer is named
    after the file. Writes `grid` as given: :func:`hotspots.report.write_grid` first
    blanks small counts of anonymous reports.
    """
    target = Path(target)
    if target.suffix.lower() == ".csv":
        centre = grid.geometry.centroid
        wgs = centre.to_crs(4326)
        table = grid.drop(columns="geometry").assign(
            x=centre.x.round(1), y=centre.y.round(1), lon=wgs.x.round(6), lat=wgs.y.round(6))
        return atomic_write_csv(table, target, source=source)
    if target.suffix.lower() == ".geojson":
        return atomic_write_geojson(grid, target, source=source)
    with atomic_path(target) as tmp:  # name the layer: the temp file's name is not valid
        with_source(grid, source).to_file(tmp, driver="GPKG",
                                          layer=target.stem.replace(" ", "_") or "grid")
    return target
