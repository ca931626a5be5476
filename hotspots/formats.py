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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import BadInputError, DataNotFoundError
from .categories import CATEGORIES, _norm

#: Layouts :func:`read_incidents` knows; pass one as ``kind=`` to skip detection.
KINDS: tuple[str, ...] = (
    "police_uk", "police_api", "camden", "crimemappingdata", "table", "canonical",
)  # fmt: skip

# Column names recognised in generic tables, compared after _norm(); first match wins.
_NAMES: dict[str, tuple[str, ...]] = {
    "lon": ("longitude", "lon", "lng", "long", "location longitude", "wgs84 longitude"),
    "lat": ("latitude", "lat", "location latitude", "wgs84 latitude"),
    "x": ("easting", "eastings", "bng easting", "bng x", "x bng", "osgb easting",
          "x coordinate", "xcoord", "x"),
    "y": ("northing", "northings", "bng northing", "bng y", "y bng", "osgb northing",
          "y coordinate", "ycoord", "y"),
    "category": ("category", "crime type", "crime category", "type", "incident type",
                 "offence", "offence type", "offence group", "problem", "problem type",
                 "report type", "issue", "reason"),
    "date": ("occurred at", "occurred", "datetime", "date time", "date and time",
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
    df: pd.DataFrame
    rows: np.ndarray  # row number shown in reports, per row
    file: str
    stem: str
    geoms: gpd.GeoSeries | None = None


def _load(item: Any, opts: dict) -> _Loaded:
    if isinstance(item, pd.DataFrame):
        label = opts["source_name"] or "dataframe"
        geoms = None
        df = item
        if isinstance(item, gpd.GeoDataFrame) and item._geometry_column_name in item.columns:
            geoms = item.geometry
            df = pd.DataFrame(item.drop(columns=item.geometry.name))
        if len(df) == 0:
            raise BadInputError(f"the {type(item).__name__} passed to read_incidents has no rows")
        return _Loaded(df, np.arange(len(df)), f"<{type(item).__name__}>", label, geoms)

    path = Path(item)
    ext = _ext(path)
    geoms = None
    offset = 1
    try:
        if ext in (".csv", ".tsv", ".txt"):
            df, offset = _read_csv(path, ext), 2
        elif ext in (".json", ".geojson"):
            df, geoms = _read_json(path)
        elif ext in (".gpkg", ".shp", ".fgb"):
            gdf = gpd.read_file(path)
            df, geoms = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), gdf.geometry
        elif ext in (".parquet", ".geoparquet"):
            df, geoms = _read_parquet(path)
        elif ext in (".xlsx", ".xlsm", ".xls"):
            df, offset = _read_excel(path), 2
        else:
            raise BadInputError(
                f"{path}: unsupported file type {ext or '(none)'!r}; "
                f"read_incidents reads {', '.join(_SUPPORTED)}"
            )
    except BadInputError:
        raise
    except Exception as exc:  # parser/driver errors differ by format; report one way
        raise BadInputError(f"{path} is not a readable table: {exc}") from None
    if len(df) == 0 or (len(df.columns) == 0 and geoms is None):
        raise BadInputError(f"{path} is empty: it has no data rows")
    return _Loaded(df, np.arange(len(df)) + offset, str(path), _stem(path), geoms)


def _read_csv(path: Path, ext: str) -> pd.DataFrame:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise BadInputError(f"{path} is empty: it has no data rows")
    if b"\x00" in head and not path.name.lower().endswith((".gz", ".bz2", ".zip", ".xz")):
        raise BadInputError(f"{path} is not a text table (it holds binary data)")
    sep = "\t" if ext == ".tsv" else ","
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            header = pd.read_csv(path, nrows=0, sep=sep, encoding=encoding)
            if len(header.columns) == 1:  # maybe ; or tab separated
                name = str(header.columns[0])
                for alt in (";", "\t", "|"):
                    if alt in name:
                        sep = alt
                        header = pd.read_csv(path, nrows=0, sep=sep, encoding=encoding)
                        break
            # ids as text: numeric ids must not turn into floats (and lose digits)
            dtype = {c: str for c in header.columns if _norm(c) in _NAMES["id"]}
            return pd.read_csv(
                path, sep=sep, encoding=encoding, dtype=dtype, skip_blank_lines=False,
                low_memory=False,
            )  # fmt: skip
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise BadInputError(f"{path} is empty: it has no data rows") from None
    raise BadInputError(f"{path} is not a text table (unknown text encoding)")


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


def _read_excel(path: Path) -> pd.DataFrame:
    header = pd.read_excel(path, nrows=0)
    dtype = {c: str for c in header.columns if _norm(c) in _NAMES["id"]}
    return pd.read_excel(path, dtype=dtype)


# --------------------------------------------------------------------------- detection


@dataclass
class _Spec:
    kind: str
    source: str
    id: str | None = None
    category: str | None = None  # column with the source's wording
    category_value: str | None = None  # one vocabulary value for every row
    date: str | None = None
    date_mode: str = "auto"  # auto | month | us_month | month_number | canonical | none
    location: str | None = None
    place: str | None = None  # police.uk location subtype -> place_type
    lon: str | None = None
    lat: str | None = None
    x: str | None = None
    y: str | None = None
    xy_maybe_degrees: bool = False  # x/y found only as "x"/"y": may be lon/lat
    force: str | None = None  # police.uk "Reported by": part of a content-made id
    year: int | None = None


def _find(columns: Iterable[Any], names: Iterable[str]) -> str | None:
    lookup: dict[str, Any] = {}
    for c in columns:
        lookup.setdefault(_norm(c), c)
    for n in names:
        if n in lookup:
            return lookup[n]
    return None


def _detect_kind(columns: Iterable[Any]) -> str:
    norm = {_norm(c) for c in columns}
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
    return "table"


def _spec(loaded: _Loaded, opts: dict) -> _Spec:
    cols = list(loaded.df.columns)
    kind = opts["kind"] or _detect_kind(cols)
    police = kind in ("police_uk", "police_api", "camden", "crimemappingdata")
    sp = _Spec(kind=kind, source=opts["source_name"] or ("police.uk" if police else loaded.stem))

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
        sp.id, sp.category = f(*_NAMES["id"]), f(*_NAMES["category"])
        sp.date, sp.location = f(*_NAMES["date"]), f(*_NAMES["location"])
        sp.lon, sp.lat = f(*_NAMES["lon"]), f(*_NAMES["lat"])
        sp.x, sp.y = f(*_NAMES["x"][:-1]), f(*_NAMES["y"][:-1])
        if sp.x is None or sp.y is None:
            sp.x, sp.y = f("x"), f("y")
            sp.xy_maybe_degrees = sp.x is not None and sp.y is not None
        if sp.date is not None and _norm(sp.date) == "month":
            sp.date_mode = "month"

    # explicit arguments win over detection
    for key in ("lon", "lat", "x", "y", "date"):
        if opts[key] is not None:
            setattr(sp, key, _column(opts[key], cols, key, loaded.file))
    if opts["x"] is not None or opts["y"] is not None:
        sp.xy_maybe_degrees = False
    if opts["date"] is not None and sp.date_mode == "canonical":
        sp.date_mode = "auto"
    if opts["id_column"] is not None:
        sp.id = _column(opts["id_column"], cols, "id_column", loaded.file)
    cat = opts["category"]
    if cat is not None:
        if cat in cols:
            sp.category = cat
        elif cat in CATEGORIES:
            sp.category_value = cat
        else:
            raise BadInputError(
                f"category={cat!r} is neither a column of {loaded.file} nor one of {CATEGORIES}"
            )
    if sp.date is None:
        sp.date_mode = "none"
    explicit = any(opts[k] is not None for k in ("lon", "lat", "x", "y"))
    if loaded.geoms is not None and not explicit:  # a geometry beats coordinate columns
        sp.lon = sp.lat = sp.x = sp.y = None

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


def _column(name: str, cols: list, what: str, file: str) -> str:
    if name in cols:
        return name
    found = _find(cols, [_norm(name)])
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
