"""Incident file formats: finding the files, loading them, and detecting their layout.

:func:`_resolve` expands a path, glob, folder or registry key into files; :func:`_load`
reads one file (CSV/TSV, JSON/GeoJSON, GeoPackage/Shapefile/FlatGeobuf, (Geo)Parquet,
Excel) into a table; :func:`_spec` detects its layout (police.uk street CSV, police.uk
API JSON, Camden open data, ``crimemappingdata``, canonical, generic table) and which
column holds what. :mod:`hotspots.io` turns the result into canonical incidents.
"""

from __future__ import annotations

import glob as _glob
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import BadInputError, DataNotFoundError
from .categories import CATEGORIES, _norm, is_category

__all__ = ["KINDS"]

#: Layouts :func:`read_incidents` knows; pass one as ``kind=`` to skip detection.
#: ``stats19``: DfT road-collision data (category ``collision``, severity as
#: subcategory); ``fire_brigade``: London Fire Brigade incident records (the incident
#: group as category: ``fire``, ``special_service``, ``false_alarm``);
#: ``animal_rescue``: LFB animal rescues.
KINDS: tuple[str, ...] = (
    "police_uk", "police_api", "camden", "crimemappingdata", "stats19", "fire_brigade",
    "animal_rescue", "table", "canonical",
)  # fmt: skip

# Column names recognised in generic tables, compared after _norm(); first match wins.
_NAMES: dict[str, tuple[str, ...]] = {
    "lon": ("longitude", "lon", "lng", "long", "location longitude", "wgs84 longitude"),
    "lat": ("latitude", "lat", "location latitude", "wgs84 latitude"),
    "x": ("easting", "eastings", "bng easting", "bng x", "x bng", "osgb easting",
          "easting m", "location easting osgr", "x coordinate", "xcoord", "x"),
    "y": ("northing", "northings", "bng northing", "bng y", "y bng", "osgb northing",
          "northing m", "location northing osgr", "y coordinate", "ycoord", "y"),
    "category": ("category", "crime type", "crime category", "type", "incident type",
                 "offence", "offence type", "offence group", "problem", "problem type",
                 "report type", "issue", "reason"),
    "date": ("occurred at", "occurred", "datetime", "date time", "date and time",
             "date time of call", "date of call",
             "incident date", "date reported", "reported date", "report date", "reported at",
             "created at", "created", "date", "timestamp", "time", "epoch", "month"),
    "id": ("incident id", "crime id", "id", "reference", "ref", "report id", "case number",
           "case id", "uid", "uuid"),
    "location": ("location desc", "location description", "street name", "street",
                 "location street name", "location", "address"),
}  # fmt: skip

_SUPPORTED = (
    ".csv", ".tsv", ".txt", ".json", ".geojson", ".gpkg", ".shp", ".fgb", ".parquet",
    ".geoparquet", ".xlsx", ".xlsm", ".xls",
)  # fmt: skip


def _resolve(source: Any) -> list[Any]:
    """Expand `source` into a list of files and frames."""
    if isinstance(source, pd.DataFrame):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        s = os.fspath(source)
        p = Path(s).expanduser()
        if p.is_dir():
            files = _folder_files(p)
            if not files:
                raise DataNotFoundError(
                    f"folder {s} holds no incident files ({', '.join(_SUPPORTED)})"
                )
            return files
        if p.is_file():
            return [p]
        if any(ch in s for ch in "*?["):
            files = [Path(f) for f in sorted(_glob.glob(s, recursive=True)) if Path(f).is_file()]
            if not files:
                raise DataNotFoundError(f"no files match {s!r}")
            return files
        from .datasets import path as dataset_path
        from .datasets import registry

        if s in registry():
            return [dataset_path(s)]
        raise DataNotFoundError(f"no such file or folder: {s} (looked at {p.resolve()})")
    if isinstance(source, Iterable):
        items = [f for item in source for f in _resolve(item)]
        if not items:
            raise BadInputError("read_incidents was given an empty list of files")
        return items
    raise BadInputError(
        f"read_incidents needs a file path, list, glob, folder or DataFrame, "
        f"got {type(source).__name__}"
    )


def _folder_files(folder: Path) -> list[Path]:
    # a police.uk download also holds outcomes and stop-and-search files: street only
    street = sorted(p for p in folder.rglob("*-street.csv") if p.is_file())
    if street:
        return street
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".") and _ext(p) in _SUPPORTED
    )  # fmt: skip


def _ext(p: Path) -> str:
    """The format suffix, looking through a trailing .gz/.bz2/.zip/.xz."""
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz") and len(suffixes) > 1:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def _stem(p: Path) -> str:
    name = p.name
    while True:
        stem, dot, ext = name.rpartition(".")
        if not dot or "." + ext.lower() not in (*_SUPPORTED, ".gz", ".bz2", ".zip", ".xz"):
            return name
        name = stem


# --------------------------------------------------------------------------- loading


@dataclass
class _Loaded:
    """One table read from a file (a file with several sheets or layers gives several)."""

    df: pd.DataFrame
    rows: np.ndarray  # row number shown in reports, per row
    file: str
    stem: str
    geoms: gpd.GeoSeries | None = None
    notes: list[str] = field(default_factory=list)  # how the file was read, for people
    #: rows the parser could not take at face value (a quote running over line breaks):
    #: row position -> detail; they are rejected, never merged silently
    broken: dict[int, str] = field(default_factory=dict)


def _load(item: Any, opts: dict) -> list[_Loaded]:
    """Read one input into tables: one per sheet / layer holding incidents."""
    if isinstance(item, pd.DataFrame):
        label = opts["source_name"] or "dataframe"
        geoms = None
        df = item
        if isinstance(item, gpd.GeoDataFrame) and item._geometry_column_name in item.columns:
            geoms = item.geometry
            df = pd.DataFrame(item.drop(columns=item.geometry.name))
        if len(df) == 0:
            raise BadInputError(f"the {type(item).__name__} passed to read_incidents has no rows")
        return [_Loaded(df, np.arange(len(df)), f"<{type(item).__name__}>", label, geoms)]

    path = Path(item)
    ext = _ext(path)
    try:
        if ext in (".csv", ".tsv", ".txt"):
            return [_read_csv(path, ext)]
        if ext in (".xlsx", ".xlsm", ".xls"):
            return _pick(path, _read_excel(path), opts, "sheet")
        if ext == ".gpkg":
            return _pick(path, _read_layers(path), opts, "layer")
        if ext in (".json", ".geojson"):
            df, geoms = _read_json(path)
        elif ext in (".shp", ".fgb"):
            gdf = gpd.read_file(path)
            df, geoms = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), gdf.geometry
        elif ext in (".parquet", ".geoparquet"):
            df, geoms = _read_parquet(path)
        else:
            raise BadInputError(
                f"{path}: unsupported file type {ext or '(none)'!r}; "
                f"read_incidents reads {', '.join(_SUPPORTED)}"
            )
    except BadInputError:
        raise
    except Exception as exc:  # parser/driver errors differ by format; report one way
        raise BadInputError(f"{path} is not a readable table: {exc}") from None
    _check_rows(path, df, geoms)
    return [_Loaded(df, np.arange(len(df)) + 1, str(path), _stem(path), geoms)]


def _check_rows(path: Path, df: pd.DataFrame, geoms: Any) -> None:
    if len(df) == 0 or (len(df.columns) == 0 and geoms is None):
        raise BadInputError(f"{path} is empty: it has no data rows")


def _pick(path: Path, tables: list[tuple[str, pd.DataFrame, Any]], opts: dict,
          what: str) -> list[_Loaded]:
    """The sheets / layers of `path` to read.

    The one asked for (``sheet=``/``layer=``), else every one holding incidents
    (coordinates or point geometry), named in a note.
    """
    names = [t[0] for t in tables]
    flag = f"{what}=" if what == "sheet" else "layer="
    asked = opts.get(what)
    if asked is not None:
        chosen = [t for t in tables if str(t[0]) == str(asked)]
        if not chosen:
            raise BadInputError(f"{path} has no {what} {asked!r}; its {what}s are {names}")
    else:
        chosen = [t for t in tables if len(t[1]) and _has_incidents(t[1], t[2], opts)]
        if not chosen:
            raise BadInputError(
                f"{path}: none of its {what}s {names} holds incidents (coordinate columns "
                f"or point geometry); name one with {flag} (--{what} on the command line)"
            )
    several = len(tables) > 1
    out = []
    for name, df, geoms in chosen:
        _check_rows(path, df, geoms)
        label = f"{path} ({what} {name})" if several else str(path)
        stem = f"{_stem(path)}_{name}" if several else _stem(path)
        offset = 2 if what == "sheet" else 1  # a sheet's header is its row 1
        out.append(_Loaded(df, np.arange(len(df)) + offset, label, stem, geoms))
    if several and asked is None:
        skipped = [n for n in names if n not in {t[0] for t in chosen}]
        note = (f"{path}: read {what}s {', '.join(map(str, (t[0] for t in chosen)))}"
                + (f"; skipped {', '.join(map(str, skipped))} (no incident columns)"
                   if skipped else "")
                + f"; name one with {flag} (--{what})")
        out[0].notes.append(note)
    return out


def _has_incidents(df: pd.DataFrame, geoms: Any, opts: dict | None = None) -> bool:
    """Say whether a sheet / layer has point geometry or coordinate columns.

    Coordinate columns named by the caller (``lon=``/``lat=``, ``x=``/``y=``) count
    when the sheet has them, whatever their names.
    """
    named = [opts.get(k) for k in ("lon", "lat", "x", "y")] if opts else []
    named = [n for n in named if n is not None]
    if named and geoms is None:
        return all(_find(df.columns, [_colnorm(n)]) is not None for n in named)
    if geoms is not None:
        import shapely

        arr = np.asarray(geoms.array)
        present = arr[~(geoms.isna().to_numpy())]
        return bool(len(present)) and bool(np.isin(shapely.get_type_id(present), (0, 4)).any())
    return _coordinate_columns(list(df.columns), _Spec(kind="table", source="")) is not None


def _read_layers(path: Path) -> list[tuple[str, pd.DataFrame, Any]]:
    import pyogrio

    out = []
    for name, _gtype in pyogrio.list_layers(path):
        gdf = gpd.read_file(path, layer=name)
        if isinstance(gdf, gpd.GeoDataFrame) and gdf._geometry_column_name in gdf.columns:
            out.append((str(name), pd.DataFrame(gdf.drop(columns=gdf.geometry.name)),
                        gdf.geometry))
        else:
            out.append((str(name), pd.DataFrame(gdf), None))
    return out


def _open_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed (.gz, .bz2, .xz, one-member .zip)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        import gzip

        return gzip.decompress(path.read_bytes())
    if name.endswith(".bz2"):
        import bz2

        return bz2.decompress(path.read_bytes())
    if name.endswith(".xz"):
        import lzma

        return lzma.decompress(path.read_bytes())
    if name.endswith(".zip"):
        import zipfile

        with zipfile.ZipFile(path) as z:
            members = [m for m in z.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise BadInputError(f"{path}: a zip must hold one file, it holds {members}")
            return z.read(members[0])
    return path.read_bytes()


def _decode_lines(data: bytes) -> tuple[str, list[int]]:
    """Text from bytes, line by line, and the 1-based numbers of the lines not UTF-8.

    UTF-8 where a line is UTF-8, else Windows-1252 (Latin-1 for its five undefined
    bytes), so one stray byte garbles nothing else.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.splitlines(keepends=True)
    out, other = [], []
    for i, line in enumerate(lines, 1):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            other.append(i)
            try:
                out.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                out.append(line.decode("latin-1"))
    return "".join(out), other


def _lines_text(lines: list[int], limit: int = 10) -> str:
    shown = ", ".join(map(str, lines[:limit]))
    return shown + (f" and {len(lines) - limit:,} more" if len(lines) > limit else "")


def _read_csv(path: Path, ext: str) -> _Loaded:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise BadInputError(f"{path} is empty: it has no data rows")
    if b"\x00" in head and not path.name.lower().endswith((".gz", ".bz2", ".zip", ".xz")):
        raise BadInputError(f"{path} is not a text table (it holds binary data)")
    notes: list[str] = []
    data = _open_bytes(path)
    # the fast path: Arrow's parser, where the file is UTF-8 and types as pandas would
    df = _parse_csv_arrow(data, ext)
    if df is None:
        try:  # pandas's parser: the whole file is UTF-8
            df = _parse_csv(path, ext, "utf-8-sig")
        except UnicodeDecodeError:
            from io import StringIO

            text, other = _decode_lines(data)
            notes.append(
                f"{path}: {len(other):,} line{'s' if len(other) != 1 else ''} "
                f"({_lines_text(other)}) {'are' if len(other) != 1 else 'is'} not UTF-8: "
                "read as Windows-1252; every other line as UTF-8"
            )
            df = _parse_csv(StringIO(text), ext, None)
    if len(df) == 0:
        raise BadInputError(f"{path} is empty: it has no data rows")
    rows, broken = _record_lines(df, ext, data)
    if broken:
        lines = [f"{rows[i]}-{rows[i] + span}" for i, span in sorted(broken.items())]
        notes.append(
            f"{path}: {len(broken):,} row{'s' if len(broken) != 1 else ''} at lines "
            f"{_lines_text(lines)} {'hold' if len(broken) != 1 else 'holds'} a quote that "
            "runs over line breaks and swallows the records after it: rejected; close the "
            "quote in the file to read them"
        )
    detail = {i: f"lines {rows[i]}-{rows[i] + span}: a quote runs over {span} line "
                 "break(s), swallowing the records there" for i, span in broken.items()}
    return _Loaded(df, rows, str(path), _stem(path), None, notes, detail)


def _csv_header(src: Any, ext: str, encoding: str | None) -> tuple[str, pd.DataFrame]:
    """The separator (comma, else ; tab or | when the header holds one) and the header."""
    sep = "\t" if ext == ".tsv" else ","
    if hasattr(src, "seek"):
        src.seek(0)
    header = pd.read_csv(src, nrows=0, sep=sep, encoding=encoding)
    if len(header.columns) == 1:  # maybe ; or tab separated
        name = str(header.columns[0])
        for alt in (";", "\t", "|"):
            if alt in name:
                sep = alt
                if hasattr(src, "seek"):
                    src.seek(0)
                header = pd.read_csv(src, nrows=0, sep=sep, encoding=encoding)
                break
    return sep, header


def _parse_csv(src: Any, ext: str, encoding: str | None) -> pd.DataFrame:
    try:
        sep, header = _csv_header(src, ext, encoding)
        # ids as text: numeric ids must not turn into floats (and lose digits)
        dtype = {c: str for c in header.columns if _colnorm(c) in _NAMES["id"]}
        if hasattr(src, "seek"):
            src.seek(0)
        df = pd.read_csv(
            src, sep=sep, encoding=encoding, dtype=dtype, skip_blank_lines=False,
            low_memory=False,
        )  # fmt: skip
    except pd.errors.EmptyDataError:
        raise BadInputError(f"{getattr(src, 'name', 'the file')} is empty: it has no data rows"
                            ) from None
    df.attrs["_sep"] = sep
    return df


#: pandas.read_csv's default missing-value markers, given to Arrow's parser too
_NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def _parse_csv_arrow(data: bytes, ext: str) -> pd.DataFrame | None:
    """The table as :func:`_parse_csv` reads it, through Arrow's faster CSV parser.

    None when the file needs pandas's parser for the same result: not UTF-8, blank
    lines in a one-column file or before the header (elsewhere both parsers keep a
    blank line as a row of missing values), rows with another number of fields,
    repeated or blank column names, or a column Arrow would type otherwise (numbers with spaces
    round them, booleans with gaps). Dates and times Arrow would parse stay text, as
    pandas leaves them.
    """
    try:
        import pyarrow as pa
        from pyarrow import csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow comes with pandas's string dtype
        return None
    from io import BytesIO

    try:
        sep, header = _csv_header(BytesIO(data), ext, "utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    names = [str(c) for c in header.columns]
    quoted = _quoted(data, len(names))
    if quoted is None:
        return None
    ids = [c for c in names if _colnorm(c) in _NAMES["id"]]
    buf = pa.py_buffer(data)
    if data.startswith(b"\xef\xbb\xbf"):
        buf = buf.slice(3)

    def parse(**convert: Any) -> Any:
        return pacsv.read_csv(
            pa.BufferReader(buf),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=quoted,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                null_values=_NA_VALUES, strings_can_be_null=True,
                quoted_strings_can_be_null=True, **convert),
        )  # fmt: skip

    try:
        table = parse(column_types={c: pa.string() for c in ids})
        if table.column_names != names:  # pandas renamed repeated or blank names
            return None
        text = [c for c, col in zip(names, table.columns, strict=True) if not (
            pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
            or pa.types.is_null(col.type) or pa.types.is_string(col.type)
            or pa.types.is_large_string(col.type)
            or (pa.types.is_boolean(col.type) and col.null_count == 0))]
        for c in text:  # dates, times, booleans with gaps: pandas leaves them text
            if pa.types.is_boolean(table.column(c).type):
                return None
        if text:
            again = parse(include_columns=text, column_types={c: pa.string() for c in text})
            for c in text:
                table = table.set_column(names.index(c), c, again.column(c))
    except pa.ArrowException:  # not UTF-8, ragged rows, ...: pandas's parser decides
        return None
    if any(_typed_otherwise(col) for c, col in zip(names, table.columns, strict=True)
           if c not in ids):
        return None
    df = table.to_pandas(split_blocks=True)  # numbers not copied into one 2-D block
    for c, col in zip(names, table.columns, strict=True):
        if pa.types.is_null(col.type):  # an empty column: pandas reads float NaN
            df[c] = np.full(len(df), np.nan)
    df.attrs["_sep"] = sep
    df.attrs["_one_line_records"] = not quoted  # (a blank line is a record too)
    return df


def _quoted(data: bytes, n_columns: int) -> bool | None:
    """Whether a quote after the header may let a record span lines.

    None for a blank line before the header, or in a one-column file: Arrow's parser
    and pandas's both keep a blank line as a row of missing values where there are
    several columns (reported "blank row"); those two cases are left to pandas.
    """
    if data[:1] in (b"\n", b"\r"):
        return None
    if n_columns == 1 and (b"\n\n" in data or (b"\r" in data and any(
            s in data for s in (b"\r\r", b"\n\r\n", b"\r\n\r")))):
        return None
    # without quotes no record spans lines (a quoted header, as Arrow writes, is fine)
    end = data.find(b"\n")
    return data.find(b'"', end) >= 0 if end >= 0 and data[:end].count(b'"') % 2 == 0 else True


def _typed_otherwise(col: Any) -> bool:
    """Whether pandas would type an Arrow column otherwise.

    Text that is all numbers once trimmed (pandas reads `` 12``), or floats past the
    64-bit integer range (whole numbers there stay text or unsigned in pandas).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(col.type):
        lo, hi = pc.min_max(col).values()
        return lo.as_py() is not None and max(-lo.as_py(), hi.as_py()) >= 2.0**63
    if not pa.types.is_string(col.type):
        return False

    def numbers(values: Any) -> bool:
        try:
            pc.cast(pc.utf8_trim_whitespace(values), pa.float64())
        except pa.ArrowException:
            return False
        return True

    if not numbers(col.slice(0, 1000).drop_null()):  # most text columns fail at once
        return False
    values = col.drop_null()
    return len(values) > 0 and numbers(values)


def _record_lines(df: pd.DataFrame, ext: str,
                  data: bytes | None = None) -> tuple[np.ndarray, dict[int, int]]:
    """Each record's first line (header = line 1) and the records a stray quote merged.

    A quoted field may hold line breaks (an address on two lines). One whose text after
    a break holds about a record's worth of separators is instead a quote left open,
    which swallowed the records that follow: those are returned, position -> breaks.
    """
    n = len(df)
    if df.attrs.get("_one_line_records") or (data is not None and _physical_lines(data) == n + 1):
        return 2 + np.arange(n, dtype=np.int64), {}  # one line per record: no field spans lines
    sep = df.attrs.get("_sep", "\t" if ext == ".tsv" else ",")
    breaks = np.zeros(n, np.int64)
    broken: dict[int, int] = {}
    need = max(1, (len(df.columns) - 1) // 2)
    for c in df.columns:
        col = df[c]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            continue
        text = col.astype("string")
        has = text.str.contains("\n", regex=False, na=False).to_numpy(dtype=bool)
        if not has.any():
            continue
        idx = np.flatnonzero(has)
        counts = text[has].str.count("\n").to_numpy(dtype=np.int64)
        breaks[idx] += counts
        for i, value in zip(idx, text[has], strict=True):
            if any(part.count(sep) >= need for part in value.split("\n")[1:]):
                broken[int(i)] = int(breaks[i])
    for i in broken:
        broken[i] = int(breaks[i])
    starts = 2 + np.arange(n) + np.concatenate([[0], np.cumsum(breaks)[:-1]]) if n else breaks
    return starts.astype(np.int64), broken


def _physical_lines(data: bytes) -> int:
    """Lines in `data` (ended by LF, CRLF or CR; a last line without an end counts)."""
    n = data.count(b"\n")
    if b"\r" in data:  # (a search, quicker than a second count)
        n += data.count(b"\r") - data.count(b"\r\n")
    return n + (1 if data and data[-1:] not in (b"\n", b"\r") else 0)


def _read_json(path: Path) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    try:
        data = json.loads(path.read_text("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and data.get("type") in ("FeatureCollection", "Feature"):
        if not data.get("features", [data] if data.get("type") == "Feature" else []):
            raise BadInputError(f"{path} is empty: the GeoJSON has no features")
        gdf = gpd.read_file(path)
        return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), gdf.geometry
    if isinstance(data, dict):  # a wrapper object: use its one list of records
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise BadInputError(f"{path}: JSON object without one list of records")
        data = lists[0]
    if not isinstance(data, list):
        raise BadInputError(f"{path}: JSON is not a list of records")
    if not data:
        raise BadInputError(f"{path} is empty: the JSON list has no records")
    if not all(isinstance(r, dict) for r in data):
        raise BadInputError(f"{path}: JSON list items are not records (objects)")
    return pd.json_normalize(data), None


def _read_parquet(path: Path) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if b"geo" in meta:
        gdf = gpd.read_parquet(path)
        return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), gdf.geometry
    return pd.read_parquet(path), None


def _read_excel(path: Path) -> list[tuple[str, pd.DataFrame, Any]]:
    headers = pd.read_excel(path, sheet_name=None, nrows=0)
    out = []
    for name, header in headers.items():
        dtype = {c: str for c in header.columns if _colnorm(c) in _NAMES["id"]}
        out.append((str(name), pd.read_excel(path, sheet_name=name, dtype=dtype), None))
    return out


# --------------------------------------------------------------------------- detection


@dataclass
class _Spec:
    kind: str
    source: str
    id: str | None = None
    category: str | None = None  # column with the source's wording
    category_value: str | None = None  # one category for every row
    subcategory: str | None = None  # column for subcategory, when not the category's
    sub_labels: dict[str, str] | None = None  # codes in the subcategory column -> words
    open_vocabulary: bool = False  # councils' and services' own wordings become categories
    date: str | None = None
    time: str | None = None  # a separate time-of-day column, combined with date
    date_mode: str = "auto"  # auto | month | us_month | month_number | canonical | none
    location: str | None = None
    place: str | None = None  # police.uk location subtype -> place_type
    lon: str | None = None
    lat: str | None = None
    x: str | None = None
    y: str | None = None
    #: further easting/northing pairs, tried per row after x/y and lon/lat
    more_xy: list[tuple[str, str]] = field(default_factory=list)
    xy_maybe_degrees: bool = False  # x/y found only as "x"/"y": may be lon/lat
    force: str | None = None  # police.uk "Reported by": part of a content-made id
    year: int | None = None


def _colnorm(c: Any) -> str:
    """A column name as words: camelCase split, then :func:`_norm`.

    ``"DateOfCall"`` -> ``"date of call"``, ``"Easting_m"`` -> ``"easting m"``.
    """
    return _norm(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(c)))


def _find(columns: Iterable[Any], names: Iterable[str]) -> str | None:
    lookup: dict[str, Any] = {}
    for c in columns:
        lookup.setdefault(_colnorm(c), c)
    for n in names:
        if n in lookup:
            return lookup[n]
    return None


#: STATS19 accident severity codes (DfT road-safety data guide).
_SEVERITY = {"1": "Fatal", "2": "Serious", "3": "Slight"}


def _detect_kind(columns: Iterable[Any]) -> str:
    norm = {_colnorm(c) for c in columns}
    if {"incident id", "category", "month"} <= norm:
        return "canonical"
    if {"category", "location latitude", "location longitude", "month"} <= norm:
        return "police_api"
    if {"crime id", "month", "crime type"} <= norm:
        return "police_uk"
    if {"category", "easting", "northing", "epoch"} <= norm:
        return "camden"
    if {"month", "type", "longitude", "latitude"} <= norm:
        return "crimemappingdata"
    if ({"accident index", "accident severity"} <= norm
            or {"collision index", "collision severity"} <= norm):
        return "stats19"
    if "incident number" in norm and "animal group parent" in norm:
        return "animal_rescue"
    if "incident number" in norm and norm & {"incident group", "stop code description"}:
        return "fire_brigade"
    return "table"


def _coordinate_columns(cols: list, sp: _Spec) -> _Spec | None:
    """Fill `sp`'s coordinate columns from names; None when there are none."""
    def f(*names: str) -> str | None:
        return _find(cols, names)

    sp.lon, sp.lat = f(*_NAMES["lon"]), f(*_NAMES["lat"])
    sp.x, sp.y = f(*_NAMES["x"][:-1]), f(*_NAMES["y"][:-1])
    # every other easting column with its northing twin (Easting_m, easting_rounded, ...):
    # the known names first, rounded ones last (they are the coarsest)
    pairs = []
    for c in cols:
        words = _colnorm(c).split()
        if "easting" in words or "eastings" in words:
            twin = _twin(c, cols)
            if twin is not None:
                pairs.append((c, twin))
    pairs.sort(key=lambda p: "rounded" in _colnorm(p[0]))
    precise = [p for p in pairs if "rounded" not in _colnorm(p[0])]
    if sp.x is None and precise:
        sp.x, sp.y = precise[0]
    if sp.x is None and (sp.lon is None or sp.lat is None) and pairs:
        sp.x, sp.y = pairs[0]  # rounded eastings come after lat/lon when both exist
    sp.more_xy = [p for p in pairs if p[0] != sp.x]
    if sp.x is None or sp.y is None:
        sp.x, sp.y = f("x"), f("y")
        sp.xy_maybe_degrees = sp.x is not None and sp.y is not None
    has = (sp.lon is not None and sp.lat is not None) or (sp.x is not None and sp.y is not None)
    return sp if has else None


def _twin(easting: Any, cols: list) -> Any:
    """The northing column named like `easting` (``Easting_m`` -> ``Northing_m``)."""
    want = _colnorm(easting).replace("eastings", "northings").replace("easting", "northing")
    for c in cols:
        if _colnorm(c) == want:
            return c
    return None


def _date_column(cols: list) -> Any:
    """The date column: a known name, else the first naming a date.

    That is a word starting with "date" (``date_time of call``, ``DateOfCall``,
    ``Date of incident``).
    """
    found = _find(cols, _NAMES["date"])
    if found is not None:
        return found
    for c in cols:
        if any(w.startswith("date") for w in _colnorm(c).split()):
            return c
    return None


def _time_column(cols: list, date: Any) -> Any:
    """A separate time-of-day column to go with `date` (``time``, ``TimeOfCall``)."""
    if date is None:
        return None
    for c in cols:
        words = _colnorm(c).split()
        if c != date and words and words[0] == "time" and not any(
                w.startswith("date") or w == "stamp" for w in words):
            return c
    return None


def _spec(loaded: _Loaded, opts: dict) -> _Spec:
    cols = list(loaded.df.columns)
    kind = opts["kind"] or _detect_kind(cols)
    police = kind in ("police_uk", "police_api", "camden", "crimemappingdata")
    sp = _Spec(kind=kind, source=opts["source_name"] or ("police.uk" if police else loaded.stem))
    sp.open_vocabulary = not police

    def f(*names: str) -> str | None:
        return _find(cols, names)

    if kind == "police_uk":
        sp.id, sp.category, sp.date = f("crime id"), f("crime type"), f("month")
        sp.location, sp.lon, sp.lat = f("location"), f("longitude"), f("latitude")
        sp.force = f("reported by")
        sp.date_mode = "month"
    elif kind == "police_api":
        sp.id, sp.category, sp.date = f("id"), f("category"), f("month")
        sp.location = f("location street name")
        sp.place = f("location subtype")  # location_type is only "Force"/"BTP"
        sp.lon, sp.lat = f("location longitude"), f("location latitude")
        sp.date_mode = "month"
    elif kind == "camden":
        sp.id, sp.category, sp.date = f("id"), f("category"), f("epoch")
        sp.location, sp.x, sp.y = f("street name"), f("easting"), f("northing")
        sp.lon, sp.lat = f("longitude"), f("latitude")
        sp.date_mode = "us_month"  # "06/01/2019 12:00:00 AM" = June 2019, month only
    elif kind == "crimemappingdata":
        sp.category, sp.date = f("type"), f("month")
        sp.lon, sp.lat = f("longitude"), f("latitude")
        sp.place = f("location type")
        sp.date_mode = "month_number"
        sp.year = opts["year"] or _year_from_name(loaded)
    elif kind == "canonical":
        sp.id, sp.category, sp.date = f("incident id"), f("category"), f("month")
        sp.location, sp.date_mode = f("location desc"), "canonical"
        sp.place = f("place type")
        sp.lon, sp.lat = f(*_NAMES["lon"]), f(*_NAMES["lat"])
        sp.x, sp.y = f(*_NAMES["x"][:-1]), f(*_NAMES["y"][:-1])
    else:
        _coordinate_columns(cols, sp)
        sp.id, sp.category = f(*_NAMES["id"]), f(*_NAMES["category"])
        sp.date, sp.location = _date_column(cols), f(*_NAMES["location"])
        sp.time = _time_column(cols, sp.date)
        if sp.date is not None and _colnorm(sp.date) == "month":
            sp.date_mode = "month"
        if kind == "stats19":  # road collisions (DfT STATS19): severity as subcategory
            sp.id = f("accident index", "collision index")
            sp.category, sp.category_value = None, "collision"
            sp.subcategory = f("accident severity", "collision severity")
            sp.sub_labels = _SEVERITY
            sp.x = f("location easting osgr") or sp.x
            sp.y = f("location northing osgr") or sp.y
        elif kind == "fire_brigade":  # LFB incident records: "Fire", "Special Service"...
            sp.id, sp.category = f("incident number"), f("incident group")
            sp.subcategory = f("stop code description")
        elif kind == "animal_rescue":  # LFB animal rescues
            sp.id, sp.category, sp.category_value = f("incident number"), None, "animal_rescue"
            sp.subcategory = f("animal group parent")

    _apply_options(sp, opts, cols, loaded)
    explicit = any(opts[k] is not None for k in ("lon", "lat", "x", "y"))
    if loaded.geoms is not None and not explicit:  # a geometry beats coordinate columns
        sp.lon = sp.lat = sp.x = sp.y = None
        sp.more_xy = []

    has_pair = (sp.lon is not None and sp.lat is not None) or (
        sp.x is not None and sp.y is not None
    )
    if not has_pair and loaded.geoms is None:
        raise BadInputError(
            f"{loaded.file}: no coordinate columns found (looked for longitude/latitude or "
            f"easting/northing); columns are {[str(c) for c in cols[:30]]}. "
            "Pass lon=/lat= or x=/y= to name them."
        )
    return sp


def _apply_options(sp: _Spec, opts: dict, cols: list, loaded: _Loaded) -> None:
    """Explicit arguments win over detection."""
    for key in ("lon", "lat", "x", "y", "date", "time"):
        if opts.get(key) is not None:
            setattr(sp, key, _column(opts[key], cols, key, loaded.file))
    if opts["x"] is not None or opts["y"] is not None:
        sp.xy_maybe_degrees = False
        sp.more_xy = []
    if opts["date"] is not None:
        if sp.date_mode in ("canonical", "month_number", "us_month"):
            sp.date_mode = "auto"
        if opts.get("time") is None:
            sp.time = _time_column(cols, sp.date)
    if opts["id_column"] is not None:
        sp.id = _column(opts["id_column"], cols, "id_column", loaded.file)
    col = opts.get("category_column")
    if col is not None:
        sp.category = _column(col, cols, "category_column", loaded.file)
        sp.category_value = None
        sp.subcategory = sp.sub_labels = None
    cat = opts["category"]
    if cat is not None:
        if not is_category(cat):
            hint = (f"; to take categories from the column {cat!r}, pass category_column="
                    f"{cat!r} (--category-column)" if cat in cols else "")
            raise BadInputError(
                f"category={cat!r} is not in the vocabulary ({', '.join(CATEGORIES)}) and "
                f"not a lower-case word such as 'fire' or 'animal_rescue'{hint}"
            )
        sp.category_value = cat
        if sp.subcategory is None:  # the file's own wording stays as subcategory
            sp.subcategory = sp.category
    if sp.date is None:
        sp.date_mode = "none"


def _column(name: str, cols: list, what: str, file: str) -> str:
    if name in cols:
        return name
    found = _find(cols, [_colnorm(name)])
    if found is None:
        raise BadInputError(f"{what}={name!r} is not a column of {file}; columns are {cols[:30]}")
    return found


def _year_from_name(loaded: _Loaded) -> int:
    years = set(re.findall(r"(?<![0-9])((?:19|20)[0-9]{2})(?![0-9])", Path(loaded.file).name))
    if len(years) != 1:
        raise BadInputError(
            f"{loaded.file} gives months as numbers 1-12 and its name does not say the year; "
            "pass year=, e.g. read_incidents(path, year=2022)"
        )
    return int(years.pop())
