"""Incident readers: any supported file -> the canonical incidents frame + a rejects report.

:func:`read_incidents` detects the layout (police.uk street CSV, police.uk API JSON,
Camden open-data CSV, the ``crimemappingdata`` CSV, generic CSV/XLSX with lon/lat or
easting/northing, GeoJSON, GeoPackage, (Geo)Parquet), normalises categories to the
project vocabulary (:data:`CATEGORIES`, mapping in ``data/categories.csv``), parses
dates, projects to British National Grid and checks every row. Rows that cannot be
placed or dated are never dropped silently: each lands in :class:`ReadReport` ``rejects``
with its file, row number and reason.

Row numbers in reports
----------------------
* CSV / XLSX: the line a person sees in a spreadsheet or editor, with the header on
  line 1, so the first data row is row 2 (a quoted field spanning lines shifts this).
* JSON, GeoJSON, GeoPackage, Parquet: the 1-based position of the record/feature.
* An in-memory DataFrame: the 0-based position, so ``df.iloc[row]`` finds it.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._atomic import atomic_write_csv
from ._dates import read_dates
from ._errors import BadInputError
from ._ids import Coded, content_hash, hash_ids, id_text, surely_distinct
from ._validate import BNG
from .categories import categorise_coded
from .formats import KINDS, _find, _load, _Loaded, _resolve, _Spec, _spec
from .study_area import (
    LONDON_BOUNDS,
    LONDON_BUFFER_M,
    OUTSIDE_REASON,
    _Area,
    _check_bounds,
    _distance_to,
    _inside,
    _unique_xy,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "LONDON_BOUNDS",
    "LONDON_BUFFER_M",
    "hash_ids",
    "nothing_kept",
    "outside_hint",
    "place_spelling",
    "read_incidents",
    "ReadReport",
]

log = logging.getLogger("hotspots")


#: Columns every incidents frame starts with, in this order.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "incident_id", "category", "subcategory", "occurred_at", "month", "source",
    "location_desc", "place_type", "geometry",
)  # fmt: skip



_INTERNAL = ("_x", "_y", "_file", "_row", "_timed", "_pt")

# reject reasons, by code (0 = kept); the first failing check wins
(_OK, _BLANK, _MISSING, _NONNUM, _RANGE, _OUTSIDE, _NOTPOINT, _NODATE, _BADDATE, _DUP,
 _QUOTE) = range(11)
_REASONS = {
    _BLANK: "blank row",
    _MISSING: "missing coordinates",
    _NONNUM: "non-numeric coordinates",
    _RANGE: "coordinates out of range",
    _OUTSIDE: OUTSIDE_REASON,  # the study area's own wording replaces this
    _NOTPOINT: "geometry is not a point",
    _NODATE: "missing date",
    _BADDATE: "unparseable date",
    _DUP: "duplicate id",
    _QUOTE: "quote runs over line breaks",
}


_NS = "datetime64[ns]"


# --------------------------------------------------------------------------- report


@dataclass(repr=False)
class ReadReport:
    """What :func:`read_incidents` did with every input row.

    Attributes
    ----------
    rejects : pandas.DataFrame
        One row per rejected input row: ``file, row, reason, detail`` then the row's raw
        values (see the module docstring for how ``row`` is counted).
    fixed : pandas.DataFrame
        Rows kept after a repair (e.g. swapped latitude/longitude): ``file, row, fix,
        detail`` then the raw values as they were in the file.
    n_read, n_kept : int
        Data rows read and kept; ``n_read == n_kept + n_rejected`` always.
    files : tuple of str
        The files read, in order, each once.
    n_inputs : int
        Inputs read: more than ``len(files)`` when a file was given more than once.
    n_with_time : int
        Kept rows whose ``occurred_at`` carries a time of day from the file (not only a
        date or a month): what an hours window (e.g. 14:00-24:00) can use.
    warnings : list of str
        How the files were read where a person should know: dates read month-first or
        an ambiguous order, lines that were not UTF-8, a quote running over line
        breaks, the sheets or layers read and skipped, a time column combined.
    n_id_repeat : int
        Kept rows sharing their id with another kept row that differs in month, type
        or point (police.uk re-issues ids): marked ``id_repeat``.
    """

    rejects: pd.DataFrame
    fixed: pd.DataFrame
    n_read: int
    n_kept: int
    files: tuple[str, ...] = field(default_factory=tuple)
    n_inputs: int = 0
    n_with_time: int = 0
    warnings: list[str] = field(default_factory=list)
    n_id_repeat: int = 0

    @property
    def n_rejected(self) -> int:
        """Number of rejected rows."""
        return len(self.rejects)

    @property
    def n_fixed(self) -> int:
        """Number of kept rows that were repaired."""
        return len(self.fixed)

    def reason_counts(self) -> pd.Series:
        """Rejected rows per reason, largest first."""
        return self.rejects["reason"].value_counts()

    def summary(self) -> str:
        """A few lines of plain text: counts read, kept, rejected by reason, fixed."""
        nf = len(self.files)
        where = f"{nf} file{'s' if nf != 1 else ''}"
        paths = {re.sub(r" \((?:sheet|layer) .*\)$", "", f) for f in self.files}
        if len(paths) < nf:  # several sheets / layers of one workbook or GeoPackage
            where = f"{nf} sheets or layers of {len(paths)} file{'s' if len(paths) != 1 else ''}"
        if self.n_inputs > nf:  # the same file given again: its rows are duplicates
            where = ("the same file twice" if (nf, self.n_inputs) == (1, 2) else
                     f"{self.n_inputs} inputs ({where}, some given more than once)")
        lines = [
            f"read {self.n_read:,} rows from {where}: "
            f"kept {self.n_kept:,}, rejected {self.n_rejected:,}, fixed {self.n_fixed:,}"
        ]
        lines += [f"  rejected, {r}: {n:,}" for r, n in self.reason_counts().items()]
        if self.n_fixed:
            lines += [f"  fixed, {r}: {n:,}" for r, n in self.fixed["fix"].value_counts().items()]
        if self.n_id_repeat:
            lines.append(f"  kept, id repeated with another month, type or point "
                         f"(column id_repeat): {self.n_id_repeat:,}")
        lines += [f"  note: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_csv(self, path: str | os.PathLike, source: str | None = None) -> Path:
        """Write the rejects table to `path` (atomically) and return the path.

        `source` (the input's dataset and licence) goes in a last ``source`` column.
        """
        return atomic_write_csv(self.rejects, path, source=source)

    def __repr__(self) -> str:
        return f"ReadReport({self.summary().splitlines()[0]})"

    __str__ = summary


# --------------------------------------------------------------------------- public


def read_incidents(  # noqa: PLR0913 (the reading options, keyword-only, documented)
    source: Any,
    *,
    kind: str | None = None,
    category: str | None = None,
    category_column: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    x: str | None = None,
    y: str | None = None,
    date: str | None = None,
    time: str | None = None,
    id_column: str | None = None,
    year: int | None = None,
    sheet: str | None = None,
    layer: str | None = None,
    bounds: tuple[float, float, float, float] | str | Any | None = "london",
    with_report: bool = False,
    source_name: str | None = None,
) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, ReadReport]:
    """Read incident files into the canonical incidents frame (EPSG:27700).

    Parameters
    ----------
    source : path, str, list of paths, glob, folder, registry key or (Geo)DataFrame
        A file; a list of files; a glob such as ``"data/2019-*/*-street.csv"``; a
        police.uk download folder (its ``YYYY-MM/*-street.csv`` files are read); a
        dataset registry key such as ``"camden_2019_06"``; or a frame already loaded.
        Files are only read, never modified.
    kind : str, optional
        Force the layout instead of detecting it: one of :data:`KINDS`.
    category : str, optional
        One category for every row: a vocabulary value (``"fly_tip"``) or any other
        lower-case word (``"fire"``, ``"animal_rescue"``); the file's own type
        column, if any, stays as ``subcategory``. Default: from the file (police
        wordings mapped by ``data/categories.csv``; road collisions -> ``collision``;
        fire-brigade records by their incident group -> ``fire``, ``special_service``,
        ``false_alarm``; other files' short wordings become categories of their own).
    category_column : str, optional
        Column holding each row's incident type. Default: detected.
    lon, lat, x, y : str, optional
        Coordinate columns: WGS84 longitude/latitude (degrees) or BNG easting/northing
        (metres). Default: detected from common names (``Easting_m``,
        ``easting_rounded``, ``location_easting_osgr``...). Per row, the first pair
        with values is used: easting/northing, then longitude/latitude, then further
        easting/northing pairs (e.g. rounded ones); a row placed by a later pair is
        kept and listed in the report's ``fixed`` table.
    date : str, optional
        Date/time column. Default: detected (a known name, else any column whose name
        holds "date"). ``YYYY-MM`` values give a month only; Excel serial numbers are
        dates; numeric dates are day-first unless the file proves month-first (a note
        says which order was used when a file leaves it open).
    time : str, optional
        Time-of-day column combined with a date that has none (``14:05``, ``1405``,
        Excel fractions). Default: detected (``time``, ``TimeOfCall``...).
    id_column : str, optional
        Column holding the source's incident id. Default: detected.
    year : int, optional
        Year for sources that give the month as a number 1-12 (``crimemappingdata``);
        default: the one four-digit year in the file name (e.g. ``..._2022_...``).
    sheet, layer : str, optional
        The one Excel sheet / GeoPackage layer to read. Default: every sheet / layer
        with incidents (coordinate columns or point geometry), each named in the
        report's ``warnings``; a file with none is refused naming them.
    bounds : "london", borough name, (xmin, ymin, xmax, ymax), polygon, or None
        Study area; points outside are rejected. Default ``"london"``: the Greater London
        outline (union of the GLA's 33 borough polygons, registry ``boroughs``) widened
        by :data:`LONDON_BUFFER_M` (100 m), reason "outside London (Greater London
        boundary + 100 m)"; it falls back to the :data:`LONDON_BOUNDS` box, with a
        warning, when the borough file is not available. A tuple is a box in BNG
        metres (reason "outside study-area bounds"); a shapely polygon or a
        GeoDataFrame/GeoSeries of polygons (any CRS) is used as drawn. Also used to
        spot swapped latitude/longitude: a row is swapped back only when the swapped
        point is inside and the original not. A London borough's name or E09 code
        (``"Camden"``) is that borough widened by 100 m. ``None`` (``"none"``) turns
        both checks off: files from outside London are kept whole.
    with_report : bool, default False
        Also return a :class:`ReadReport`. Without it, a one-line warning is logged
        when rows were rejected.
    source_name : str, optional
        Value for the ``source`` column. Default ``"police.uk"`` for police layouts,
        else the file's stem.

    Returns
    -------
    geopandas.GeoDataFrame or (GeoDataFrame, ReadReport)
        ``incident_id, category, subcategory, occurred_at, month, source,
        location_desc, geometry`` then the source's columns (a source column whose name
        clashes gets a ``_src`` suffix). ``incident_id`` is the source's id where given,
        else made from the row's content: ``<16 hex digits>#<k>``, a hash of the layout,
        month, date, source category wording, place type, location text, the force
        that reported it (police.uk) and the point (to the centimetre), then ``k`` =
        1, 2, ... over rows identical in all of those, in file order. Re-reading a file
        (or a file holding a subset of another's rows in the same order, like the
        Harrow extract of the London file) gives the same ids, while genuinely
        repeated crimes (same type, snap point and month) stay distinct. Later rows
        repeating an id with the same month, category and point, in this or an earlier
        file of the same call, are rejected ("duplicate id"); rows repeating an id but
        differing in one of those are other records (police.uk re-issues ids): kept,
        with ``id_repeat`` True on every row of the id (the column appears only then)
        and ``~2``, ``~3``... added to the later ones' ``incident_id``. ``place_type``
        is police.uk's location subtype (Supermarket, Rail Station, LU Station, ...)
        where the source gives one, spelt one way whichever layout it came from.
        ``occurred_at`` is NaT for month-only sources. ``attrs`` holds ``read_kind,
        n_read, n_rejected, n_fixed, n_with_time``.

    Raises
    ------
    DataNotFoundError
        A file, folder or glob that matches nothing.
    BadInputError
        A file that is empty, not a table, or has no recognisable coordinates.
    """
    bounds = _check_bounds(bounds)
    if kind is not None and kind not in KINDS:
        raise BadInputError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    opts = dict(
        kind=kind, category=category, category_column=category_column, lon=lon, lat=lat,
        x=x, y=y, date=date, time=time, id_column=id_column, year=year, sheet=sheet,
        layer=layer, source_name=source_name,
    )  # fmt: skip
    parts = [_read_one(ld, bounds, opts) for item in _resolve(source)
             for ld in _load(item, opts)]
    inc, report, kinds = _combine(parts)
    kind_used = kinds[0] if len(set(kinds)) == 1 else "mixed"
    inc.attrs.update(
        read_kind=kind_used, n_read=report.n_read, n_rejected=report.n_rejected,
        n_fixed=report.n_fixed, n_with_time=report.n_with_time,
    )  # fmt: skip
    for w in report.warnings:
        log.info("read_incidents: %s", w)
    log.info(
        "read_incidents: study area %s; %s",
        "none" if bounds is None else bounds.label,
        report.summary().splitlines()[0],
    )
    if report.n_rejected and not with_report:
        reasons = ", ".join(f"{n:,} {r}" for r, n in report.reason_counts().items())
        log.warning(
            "read_incidents: kept %s of %s rows; rejected %s (%s); "
            "pass with_report=True to see them",
            f"{report.n_kept:,}",
            f"{report.n_read:,}",
            f"{report.n_rejected:,}",
            reasons,
        )
    return (inc, report) if with_report else inc



def nothing_kept(report: ReadReport) -> str:
    """Why a read kept no incident, in words for people.

    The rows and their reasons, and, when rows were outside the study area, the option
    that keeps them (``bounds=None``; ``--bounds none`` on the command line).
    """
    if not report.n_read:
        return "no rows kept: the file has no data rows"
    reasons = ", ".join(f"{n:,} {r}" for r, n in report.reason_counts().items())
    text = f"no rows kept: all {report.n_read:,} rows read were rejected ({reasons})"
    return text + outside_hint(report)


def outside_hint(report: ReadReport) -> str:
    """'; --bounds none keeps ...' when rows were rejected as outside the study area."""
    outside = report.rejects["reason"].astype(str).str.startswith("outside")
    if not outside.any():
        return ""
    return (f"; {int(outside.sum()):,} are outside the study area: --bounds none "
            "(bounds=None) keeps every row, e.g. another force's or service's file; "
            "--bounds BOROUGH keeps one London borough")


# --------------------------------------------------------------------------- checks


def _numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float values, plus masks: missing (blank/NaN) and present-but-not-a-number."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        return v, np.isnan(v), np.zeros(len(s), bool)
    text = s.astype("string").str.strip()
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    v = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return v, missing, ~missing & np.isnan(v)


@lru_cache(maxsize=8)
def _transformer(src: str):
    from pyproj import Transformer

    return Transformer.from_crs(src, BNG, always_xy=True)


def _to_bng(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    codes, ua, ub = _unique_xy(lon, lat)
    ux, uy = _transformer(crs).transform(ua, ub)
    return np.asarray(ux)[codes], np.asarray(uy)[codes]


def _project(u: np.ndarray, v: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray,
                                                              np.ndarray]:
    """Distinct points (a, b) in `crs` to BNG x, y, and which were in range."""
    geographic = crs != BNG
    with np.errstate(invalid="ignore"):
        if geographic:
            ok = np.isfinite(u) & np.isfinite(v) & (np.abs(u) <= 180) & (np.abs(v) <= 90)
        else:
            ok = (u >= 0) & (u <= 700_000) & (v >= 0) & (v <= 1_300_000)
    px, py = np.full(len(u), np.nan), np.full(len(u), np.nan)
    if ok.any():
        if geographic:
            px[ok], py[ok] = _transformer(crs).transform(u[ok], v[ok])
        else:
            px[ok], py[ok] = u[ok], v[ok]
    return px, py, ok


def _place(a, b, missing, nonnum, crs: str, bounds):
    """Project (a, b) to BNG and check it.

    Returns x, y, reason codes, swapped mask per row, and the distinct points: each
    row's point code (-1: not finite) and the points' x, y. ``crs`` is
    ``"EPSG:4326"`` (a = lon, b = lat, degrees) or ``BNG`` (metres). Projection,
    range, study-area and swap checks run once per distinct point (police.uk snaps
    crimes to shared map points: ~1 in 9 rows is a new one).
    """
    n = len(a)
    code = np.zeros(n, np.int8)
    code[missing] = _MISSING
    code[(code == _OK) & nonnum] = _NONNUM
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(a) & np.isfinite(b)
    if finite.all():
        pt, ua, ub = _unique_xy(a, b)
    else:
        pt = np.full(n, -1, np.int64)
        idx = np.flatnonzero(finite)
        pt[idx], ua, ub = _unique_xy(a[idx], b[idx])
    ux, uy, ok = _project(ua, ub, crs)
    inside = ok & _inside(ux, uy, bounds)
    swapped = np.zeros(len(ua), bool)
    cand = ~inside
    if bounds is not None and cand.any():
        sx, sy, _ = _project(ub[cand], ua[cand], crs)
        fix = _inside(sx, sy, bounds)
        idx = np.flatnonzero(cand)[fix]
        ux[idx], uy[idx] = sx[fix], sy[fix]
        swapped[idx] = inside[idx] = ok[idx] = True
    # per row; code -1 (not finite) takes the extra last slot: out of range, not inside
    slot = np.where(pt < 0, len(ua), pt)
    code[(code == _OK) & ~np.append(ok, False)[slot]] = _RANGE  # includes +-inf
    code[(code == _OK) & ~np.append(inside, False)[slot]] = _OUTSIDE
    x = np.append(ux, np.nan)[slot]
    y = np.append(uy, np.nan)[slot]
    x[code != _OK] = np.nan
    y[code != _OK] = np.nan
    return x, y, code, np.append(swapped, False)[slot], (pt, ux, uy)


def _coordinates(ld: _Loaded, sp: _Spec, bounds):
    """BNG x, y per row, reason codes, swapped mask, which column pair was used.

    Last, the distinct points as :func:`_place` gives them, or None when rows were
    placed by more than one column pair.
    """
    df = ld.df
    n = len(df)
    if ld.geoms is not None and sp.lon is None and sp.x is None:
        x, y, code, swapped, points = _geometry_xy(ld.geoms, bounds)
        return x, y, code, swapped, None, points
    pairs = []
    if sp.x is not None and sp.y is not None:
        pairs.append((sp.x, sp.y, BNG))
    if sp.lon is not None and sp.lat is not None:
        pairs.append((sp.lon, sp.lat, "EPSG:4326"))
    if sp.xy_maybe_degrees and not pairs[1:]:
        a, _, _ = _numbers(df[sp.x])
        b, _, _ = _numbers(df[sp.y])
        with np.errstate(invalid="ignore"):
            deg = np.nanmean((np.abs(a) <= 180) & (np.abs(b) <= 90)) > 0.9
        if deg:  # columns named x/y holding degrees: treat as lon/lat
            pairs = [(sp.x, sp.y, "EPSG:4326")]
    pairs += [(ca, cb, BNG) for ca, cb in sp.more_xy]
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    code = np.full(n, _MISSING, np.int8)
    swapped = np.zeros(n, bool)
    used = np.full(n, -1, np.int8)
    parsed = []
    points = None
    for i, (ca, cb, crs) in enumerate(pairs):
        todo = code == _MISSING  # first pair for every row; the next fills its gaps
        if not todo.any():
            break
        a, ma, na = _numbers(df[ca])
        b, mb, nb = _numbers(df[cb])
        parsed.append((ca, cb, crs, a, b))
        px, py, pc, ps, pts = _place(a, b, ma | mb, na | nb, crs, bounds)
        take = todo & ((pc != _MISSING) | (i == 0))
        if i == 0:  # the whole table: x, y and the rest are the first pair's
            x, y, code, swapped, points = px, py, pc, ps, pts
        elif take.any():
            x[take], y[take], code[take], swapped[take] = px[take], py[take], pc[take], ps[take]
            points = None  # rows placed by two pairs: their points are found afresh
        used[take] = i
    return x, y, code, swapped, (parsed, used), points


def _geometry_xy(geoms: gpd.GeoSeries, bounds):
    import shapely

    n = len(geoms)
    arr = geoms.array
    missing = np.asarray(arr.isna() | arr.is_empty, dtype=bool)
    tid = shapely.get_type_id(np.asarray(arr))
    npts = shapely.get_num_geometries(np.asarray(arr))
    pointlike = (tid == 0) | ((tid == 4) & (npts == 1))
    pts = np.asarray(arr).copy()
    multi = (tid == 4) & (npts == 1)
    pts[multi] = shapely.get_geometry(pts[multi], 0)
    a = np.full(n, np.nan)
    b = np.full(n, np.nan)
    good = pointlike & ~missing
    a[good], b[good] = shapely.get_x(pts[good]), shapely.get_y(pts[good])
    crs = geoms.crs
    if crs is None:  # no CRS recorded: degrees if they look like degrees, else BNG
        with np.errstate(invalid="ignore"):
            deg = np.nanmean((np.abs(a) <= 180) & (np.abs(b) <= 90)) > 0.9
        src = "EPSG:4326" if deg else BNG
        log.info("read_incidents: geometry has no CRS; assuming %s", src)
    elif crs.is_geographic:
        src = "EPSG:4326" if crs.to_epsg() in (4326, None) else crs.to_string()
    elif crs.to_epsg() == 27700:
        src = BNG
    else:  # another projected CRS: to BNG first, then check as BNG
        ok = np.isfinite(a) & np.isfinite(b)
        a[ok], b[ok] = _transformer(crs.to_string()).transform(a[ok], b[ok])
        src = BNG
    if src not in (BNG, "EPSG:4326"):
        ok = np.isfinite(a) & np.isfinite(b)
        a[ok], b[ok] = _transformer(src).transform(a[ok], b[ok])
        src = BNG
    x, y, code, swapped, points = _place(a, b, missing, np.zeros(n, bool), src, bounds)
    code[~pointlike & ~missing] = _NOTPOINT
    return x, y, code, swapped, points


def _ids(ld: _Loaded, sp: _Spec, content: Any, n: int) -> pd.Series:
    """Incident ids: the source's id where given, else made from the row's content.

    `content` gives the columns a made id hashes (:func:`content_hash`), asked for
    only when an id is made.
    """
    if sp.id is None:
        return id_text(*content_hash(content(), n))
    s = ld.df[sp.id].reset_index(drop=True)
    if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna(), 1) == 0):
        s = s.astype("Int64")  # 75265998.0 -> "75265998"
    # text already read as str (the CSV readers) stays in its Arrow form: no copy
    # through Python strings
    arrow_text = s.dtype == pd.StringDtype("pyarrow", na_value=np.nan)
    text = (s if arrow_text else s.astype("string")).str.strip()
    present = (text.notna() & (text != "")).to_numpy(dtype=bool, na_value=False)
    if present.all():
        return text.astype(str)
    # the ordinal k counts over every row, as hash_ids(content) would; the text is
    # made only for the rows without an id (police.uk's anti-social behaviour)
    h, k = content_hash(content(), n)
    miss = ~present
    made = id_text(h[miss], k[miss])
    ca = getattr(text.array, "_pa_array", None)
    if ca is not None:  # Arrow text: the made ids put in the gaps, in one pass
        import pyarrow as pa
        import pyarrow.compute as pc

        made_ca = made.array._pa_array.combine_chunks().cast(ca.type)
        return pd.Series(pd.array(pc.replace_with_mask(ca, pa.array(miss), made_ca),
                                  dtype="str"))
    made.index = np.flatnonzero(miss)
    return text.where(present, made.reindex(text.index)).astype(str)


def _text(s: pd.Series | None, n: int) -> pd.Series:
    """Text column with a 0..n-1 index; missing stays missing (not the string "nan")."""
    if s is None:  # all missing, as Arrow nulls (no value to fill per row)
        import pyarrow as pa

        return pd.Series(pd.array(pa.nulls(n, pa.large_string()), dtype="str"))
    s = s.reset_index(drop=True)
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
        return s
    return s.astype("str").where(s.notna())


# --------------------------------------------------------------------------- assembly


@dataclass
class _Part:
    kept: pd.DataFrame  # canonical columns (no geometry) + _x, _y, _file, _row, _srcid + extras
    rejects: pd.DataFrame
    fixed: pd.DataFrame
    raw_names: dict[str, Any]  # output column -> original column name
    n_read: int
    kind: str
    notes: list[str] = field(default_factory=list)
    points: tuple = ()  # x, y (BNG) of the distinct points the kept rows' _pt index
    made_ids: bool = False  # every id made from content (so none repeats)


def _raw_table(df: pd.DataFrame, mask: np.ndarray, file: str, rows: np.ndarray, head: dict):
    """Rows of `df` under `mask` with leading report columns (clashing names get _src)."""
    idx = np.flatnonzero(mask)
    # no rows: a slice (taking none from chunked text would still join its chunks)
    raw = (df.iloc[idx] if len(idx) else df.iloc[:0]).reset_index(drop=True)
    raw.columns = [f"{c}_src" if c in head else c for c in map(str, raw.columns)]
    lead = pd.DataFrame({"file": file, "row": rows[mask], **{k: v for k, v in head.items()}})
    return pd.concat([lead.reset_index(drop=True), raw], axis=1)


def _read_one(ld: _Loaded, bounds, opts: dict) -> _Part:
    sp = _spec(ld, opts)
    df = ld.df
    n = len(df)
    x, y, code, swapped, pairs, points = _coordinates(ld, sp, bounds)
    missing = np.flatnonzero(code == _MISSING)  # a blank row has no coordinates
    if ld.geoms is None and len(df.columns) and len(missing):
        code[missing[df.iloc[missing].isna().all(axis=1).to_numpy()]] = _BLANK
    dates = read_dates(
        df, sp.date, sp.date_mode, time=sp.time, year=sp.year, file=ld.file,
        occurred_col=_find(df.columns, ["occurred at"]) if sp.date_mode == "canonical" else None,
    )  # fmt: skip
    occurred, month = dates.occurred, dates.month
    dcode = np.where(dates.missing, _NODATE, np.where(dates.bad, _BADDATE, _OK))
    late = (code == _OK) & (dcode != _OK)
    code[late] = dcode[late]
    if ld.broken:  # a quote ran over line breaks: the merged record is not trusted
        code[list(ld.broken)] = _QUOTE
    cat, sub, source, coded = _categories(df, sp, n)

    # repaired coordinates go back into the source columns, so they agree with geometry
    out_df, fix_kind, fix_detail, fix = _repairs(df, swapped, pairs)
    rej = code != _OK
    rejects, fixed = _report_tables(ld, sp, bounds, code, pairs, fix & ~rej,
                                    fix_kind, fix_detail)

    consumed = set(_consumed(df, sp))
    rename = {}
    for c in out_df.columns:
        if c in consumed:
            continue
        new = str(c)
        while new in CANONICAL_COLUMNS or new in _INTERNAL:
            new += "_src"
        rename[c] = new
    location = _text(df[sp.location] if sp.location is not None else None, n)
    place = place_spelling(_text(df[sp.place] if sp.place is not None else None, n))
    by = _text(df[sp.force] if sp.force is not None else None, n)

    def content() -> dict:  # what a made id hashes (built only when an id is made)
        return {"kind": sp.kind, "month": month, "occurred_at": occurred,
                "cat": coded[0] if coded else cat, "sub": coded[1] if coded else sub,
                "place": place, "location": location, "force": by,
                "x": np.round(x, 2), "y": np.round(y, 2)}  # fmt: skip

    if points is None:  # rows placed by several column pairs: their points afresh
        points = _unique_xy(x, y)
    frame = pd.DataFrame(
        {
            "incident_id": _ids(ld, sp, content, n),
            "category": cat,
            "subcategory": sub,
            "occurred_at": occurred,
            "month": month,
            "source": _constant(source, n) if isinstance(source, str) else source,
            "location_desc": location,
            "place_type": place,
            "_x": x,
            "_y": y,
            "_file": pd.Categorical.from_codes(np.zeros(n, np.int8), [ld.file]),  # not n strings
            "_row": ld.rows,
            "_timed": dates.timed,
            "_pt": points[0],
        },
        copy=False,  # the columns as they are: no copy into 2-D blocks
    )
    extras = out_df[list(rename)].rename(columns=rename)
    kept = _keep_rows(pd.concat([frame, extras], axis=1), ~rej)
    part = _Part(kept, rejects, fixed, {v: k for k, v in rename.items()}, n, sp.kind,
                 ld.notes + dates.notes, points[1:], sp.id is None)
    coords = "geometry" if pairs is None else " then ".join(f"{c[0]}/{c[1]}" for c in pairs[0])
    year = f" (year {sp.year})" if sp.year else ""
    log.info(
        "read_incidents: %s read as %s; coordinates %s; date %s [%s]%s; time %s; id %s; "
        "category %s",
        ld.file, sp.kind, coords, sp.date, sp.date_mode, year, sp.time, sp.id,
        sp.category_value or sp.category,
    )  # fmt: skip
    return part


def _report_tables(ld: _Loaded, sp: _Spec, bounds, code: np.ndarray, pairs, fix: np.ndarray,
                   fix_kind: np.ndarray, fix_detail: np.ndarray
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rejected rows (reason, detail, raw values) and the kept rows repaired."""
    df = ld.df
    raw_df = df if ld.geoms is None else df.assign(geometry_wkt=ld.geoms.to_wkt().to_numpy())
    rej = code != _OK
    names = _REASONS if bounds is None else {**_REASONS, _OUTSIDE: bounds.reason}
    reasons = pd.Series(code[rej]).map(names).to_numpy()
    rejects = _raw_table(raw_df, rej, ld.file, ld.rows, {"reason": reasons, "detail": ""})
    if rej.any():
        rejects["detail"] = _detail(rejects, code[rej], sp, pairs)
        quote = code[rej] == _QUOTE
        if quote.any():
            rejects.loc[quote, "detail"] = [ld.broken[i] for i in np.flatnonzero(code == _QUOTE)]
        far = _distance_outside(code, pairs, bounds)
        if far is not None:
            outside = code[rej] == _OUTSIDE
            rejects.loc[outside, "detail"] += ", " + far
    fixed = _raw_table(
        raw_df, fix, ld.file, ld.rows,
        {"fix": fix_kind[fix], "detail": fix_detail[fix]},
    )  # fmt: skip
    return rejects, fixed


def _constant(value: str, n: int) -> pd.Series:
    """`value` on every one of `n` rows, as text, without a Python string per row."""
    import pyarrow as pa

    return pd.Series(pd.array(pa.array([value]).take(np.zeros(n, np.int32)), dtype="str"))


def _keep_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of `frame` under `keep`, on a fresh index.

    Arrow-backed columns (text) are not copied where few rows go: the runs of kept
    rows become the chunks of the new column (pandas's ``take`` would copy every
    text column twice, joining its chunks first); with many gaps, Arrow filters
    them chunk by chunk.
    """
    if keep.all():
        return frame
    import pyarrow as pa
    from pandas.arrays import ArrowExtensionArray, ArrowStringArray

    edges = np.flatnonzero(np.diff(np.concatenate([[False], keep, [False]]).astype(np.int8)))
    runs = list(zip(edges[::2].tolist(), (edges[1::2] - edges[::2]).tolist(), strict=True))
    mask = pa.array(keep) if len(runs) > _MAX_RUNS else None
    idx = np.flatnonzero(keep)
    cols = {}
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        arr = s.array
        if isinstance(arr, (ArrowExtensionArray, ArrowStringArray)):
            ca = arr._pa_array
            kept = ca.filter(mask) if mask is not None else pa.chunked_array(
                [c for start, n in runs for c in ca.slice(start, n).chunks], type=ca.type)
            cols[i] = pd.array(kept, dtype=s.dtype)
        else:
            cols[i] = s.take(idx).reset_index(drop=True)
    out = pd.DataFrame(cols, copy=False)
    out.columns = frame.columns
    return out


#: up to this many runs of kept rows, text columns are sliced rather than copied
_MAX_RUNS = 500


def _categories(df: pd.DataFrame, sp: _Spec, n: int) -> tuple[pd.Series, pd.Series, Any, Any]:
    """category, subcategory (the source's wording) and source per row.

    Last, category and subcategory as :class:`Coded` columns when the categories
    were mapped from the subcategory's wording (None otherwise): a made id hashes
    them without finding their distinct values again.
    """
    sub_col = sp.subcategory if sp.subcategory is not None else sp.category
    sub = _text(df[sub_col] if sub_col is not None else None, n)
    if sp.sub_labels:  # codes such as STATS19 severity 1/2/3 -> Fatal/Serious/Slight
        code = sub.str.strip().str.replace(r"\.0$", "", regex=True)
        sub = code.map(sp.sub_labels).fillna(sub).astype("str").where(sub.notna())
    coded = None
    if sp.category_value is not None:
        cat = pd.Series(sp.category_value, index=range(n), dtype="str")
    elif sp.category is not None:
        wording = sub if sub_col == sp.category else _text(df[sp.category], n)
        cat, codes, uniques, labels = categorise_coded(wording, open_vocabulary=sp.open_vocabulary)
        if sub_col == sp.category and not sp.sub_labels:
            slot = np.where(codes < 0, len(uniques), codes)
            coded = (Coded(slot, labels), Coded(codes, uniques))
    else:
        cat = pd.Series("other", index=range(n), dtype="str")
    source: Any = sp.source
    if sp.kind == "canonical":
        sub_col = _find(df.columns, ["subcategory"])
        sub = _text(df[sub_col], n) if sub_col is not None else sub
        coded = None
        src_col = _find(df.columns, ["source"])
        if src_col is not None:
            source = _text(df[src_col], n).fillna(sp.source)
    return cat, sub, source, coded


def _repairs(df: pd.DataFrame, swapped: np.ndarray, pairs) -> tuple[pd.DataFrame, np.ndarray,
                                                                   np.ndarray, np.ndarray]:
    """Swapped coordinates put right in the source columns, and what was fixed per row.

    A row is fixed when swapped, or placed by a later column pair when the first was
    empty. Returns the table, the fix and its detail per row ("" where none) and the
    rows fixed.
    """
    n = len(df)
    out_df = df.reset_index(drop=True)
    kind = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    if pairs is None:
        kind[swapped] = "swapped coordinates"
        detail[swapped] = "point geometry held latitude/longitude the wrong way round"
        return out_df, kind, detail, swapped.copy()
    parsed, used = pairs
    first = f"{parsed[0][0]}/{parsed[0][1]}" if parsed else ""
    for i, (ca, cb, crs, a, b) in enumerate(parsed):
        if i:
            later = used == i
            kind[later] = "coordinates from another column pair"
            detail[later] = f"{first} missing; placed by {ca}/{cb}"
        sw = (used == i) & swapped
        names = "longitude/latitude" if crs != BNG else "easting/northing"
        kind[sw] = "swapped coordinates"
        detail[sw] = f"{ca}/{cb} held {names} the wrong way round; swapped"
        if sw.any():
            out_df = out_df.assign(**{str(ca): np.where(sw, b, a), str(cb): np.where(sw, a, b)})
    return out_df, kind, detail, swapped | (used > 0)


#: Words a place type keeps in capitals (``LU Station``, ``DLR Station``).
_PLACE_ACRONYMS = frozenset({"LU", "DLR", "BTP", "NHS", "ATM", "UK", "TFL"})
_PLACE_SMALL = frozenset({"or", "of", "and", "the", "on", "in"})


def place_spelling(place: pd.Series) -> pd.Series:
    """Place types spelt one way across layouts.

    Blank -> missing; all-capital or all-lower-case text (police.uk's API gives
    "LU STATION") in police.uk's CSV spelling ("LU Station", "Sports/Recreation
    Area"); mixed-case text as given.
    """
    import pyarrow as pa

    # each distinct value once: stripped, blank -> missing (police.uk leaves unknown
    # places blank), spelt; then spread to the rows by Arrow, not a string per row
    codes, uniques = pd.factorize(place, use_na_sentinel=True)
    text = pd.Series(uniques, dtype="str").str.strip().tolist()
    if not any(text):
        return place.str.strip().replace("", None)
    fixed = [_place_word_case(t) if t else None for t in text] + [None]
    slot = pa.array(np.where(codes < 0, len(text), codes))
    return pd.Series(pd.array(pa.array(fixed, pa.large_string()).take(slot), dtype="str"))


def _place_word_case(text: str) -> str:
    if text != text.upper() and text != text.lower():
        return text

    def word(w: str, *, first: bool) -> str:
        if w.upper() in _PLACE_ACRONYMS:
            return w.upper()
        if not first and w.lower() in _PLACE_SMALL:
            return w.lower()
        return w[:1].upper() + w[1:].lower()

    parts = re.split(r"([ /-])", text)
    out, first = [], True
    for p in parts:
        if p in (" ", "/", "-") or not p:
            out.append(p)
            continue
        out.append(word(p, first=first))
        first = False
    return "".join(out)


def _consumed(df: pd.DataFrame, sp: _Spec) -> list:
    """Source columns that become canonical ones and are not repeated as extras."""
    if sp.kind != "canonical":
        return []
    return [c for c in df.columns if str(c) in CANONICAL_COLUMNS]


def _distance_outside(code: np.ndarray, pairs, bounds: _Area | None) -> np.ndarray | None:
    """"<d> km outside" per row outside a polygon study area, in row order (else None)."""
    if bounds is None or bounds.geom is None or pairs is None or not (code == _OUTSIDE).any():
        return None

    parsed, used = pairs
    idx = np.flatnonzero(code == _OUTSIDE)
    x, y = np.full(len(idx), np.nan), np.full(len(idx), np.nan)
    for i, (_, _, crs, a, b) in enumerate(parsed):
        m = used[idx] == i
        if m.any():
            px, py = (a[idx[m]], b[idx[m]]) if crs == BNG else _to_bng(a[idx[m]], b[idx[m]], crs)
            x[m], y[m] = px, py
    km = _distance_to(bounds, x, y) / 1000
    # one string per distinct tenth of a kilometre, not per row
    codes, tenths = pd.factorize(np.round(km * 10))
    return np.array([f"{t / 10:,.1f} km outside" for t in tenths], dtype=object)[codes]


def _detail(rejects: pd.DataFrame, codes: np.ndarray, sp: _Spec, pairs) -> np.ndarray:
    """A short human-readable detail per rejected row (vectorised string building)."""
    out = np.full(len(rejects), "", dtype=object)
    if pairs is not None and pairs[0]:
        ca, cb = pairs[0][0][:2]
        ca_r = f"{ca}_src" if f"{ca}_src" in rejects.columns else ca
        cb_r = f"{cb}_src" if f"{cb}_src" in rejects.columns else cb
        vals = (
            f"{ca}=" + rejects[ca_r].astype("string").fillna("").astype(str)
            + f", {cb}=" + rejects[cb_r].astype("string").fillna("").astype(str)
        )  # fmt: skip
        m = np.isin(codes, [_MISSING, _NONNUM, _RANGE, _OUTSIDE])
        out[m] = vals.to_numpy()[m]
    if sp.date is not None and sp.date in rejects.columns:
        m = np.isin(codes, [_NODATE, _BADDATE])
        out[m] = (f"{sp.date}=" + rejects[sp.date].astype("string").fillna("").astype(str))[m]
    return out


def _combine(parts: list[_Part]) -> tuple[gpd.GeoDataFrame, ReadReport, list[str]]:
    kept = (
        pd.concat([p.kept for p in parts], ignore_index=True) if len(parts) > 1 else parts[0].kept
    )
    part_of = np.repeat(np.arange(len(parts)), [len(p.kept) for p in parts])

    # a repeated id is a duplicate only when the rows also agree on month, type and
    # point (the source's ids, or content-made ones from a file read twice): keep the
    # first, reject the rest (in every file). police.uk re-issues ids and outcomes move
    # crimes: rows repeating an id otherwise are other records, kept and marked
    if (len(parts) == 1 and parts[0].made_ids) or surely_distinct(kept["incident_id"]):
        id_codes, n_ids = np.arange(len(kept)), len(kept)  # (made ids: unique in a file)
    else:
        id_codes = pd.factorize(kept["incident_id"])[0]  # once: both checks use it
        n_ids = id_codes.max() + 1 if len(id_codes) else 0
    if n_ids == len(kept):  # every id once: no duplicate, no repeat
        record, dup = None, np.zeros(len(kept), bool)
    else:
        record = _record_key(kept, id_codes)
        dup = record.duplicated(keep="first").to_numpy()
    dup_rejects = []
    if dup.any():
        first = kept.loc[~dup].set_index(record[~dup].to_numpy())
        for i, p in enumerate(parts):
            m = dup & (part_of == i)
            if not m.any():
                continue
            sub = kept.loc[m]
            raw = sub[list(p.raw_names)].rename(columns=p.raw_names).reset_index(drop=True)
            head = {"reason": _REASONS[_DUP], "detail": ""}
            r = _raw_table(raw, np.ones(len(raw), bool), sub["_file"].iloc[0],
                           sub["_row"].to_numpy(), head)  # fmt: skip
            f = record[m].map(first["_file"]).astype(str).to_numpy()
            row = record[m].map(first["_row"]).astype(str).to_numpy()
            same = f == sub["_file"].astype(str).to_numpy()
            where = np.where(same, "", f + " ") + "row " + row
            r["detail"] = "same id as " + pd.Series(where, dtype=object)
            dup_rejects.append(r)
        kept = _keep_rows(kept, ~dup)
        id_codes = id_codes[~dup]
    kept, n_id_repeat = (kept, 0) if n_ids == len(id_codes) else _mark_id_repeats(kept, id_codes)

    rej_frames = [p.rejects for p in parts] + dup_rejects
    rejects = pd.concat([r for r in rej_frames if len(r)] or [rej_frames[0]], ignore_index=True)
    rejects = rejects.sort_values(["file", "row"], kind="stable", key=_file_order(parts))
    fixed_frames = [p.fixed for p in parts]
    fixed = pd.concat([f for f in fixed_frames if len(f)] or [fixed_frames[0]], ignore_index=True)

    # one Point per distinct location, shared by the rows there (shapely is immutable):
    # the points each part found, each row's index into them shifted past earlier parts
    start = np.cumsum([0] + [len(p.points[0]) for p in parts])
    codes = kept["_pt"].to_numpy() + start[part_of[~dup]]
    ux = np.concatenate([p.points[0] for p in parts])
    uy = np.concatenate([p.points[1] for p in parts])
    geometry = gpd.points_from_xy(ux, uy, crs=BNG).take(codes)
    n_with_time = int(kept["_timed"].sum())
    inc = gpd.GeoDataFrame(
        kept.drop(columns=list(_INTERNAL)), geometry=geometry, crs=BNG, copy=False
    )  # (a copy would join the number columns into one block: ~0.5 s for 1M rows)
    extras = [c for c in inc.columns if c not in CANONICAL_COLUMNS]
    inc = inc[list(CANONICAL_COLUMNS) + extras]
    inc.attrs = {}
    files = tuple(dict.fromkeys(_part_file(p) for p in parts))
    report = ReadReport(
        rejects=rejects.reset_index(drop=True),
        fixed=fixed.reset_index(drop=True),
        n_read=sum(p.n_read for p in parts),
        n_kept=len(inc),
        files=files,
        n_inputs=len(parts),
        n_with_time=n_with_time,
        warnings=[w for p in parts for w in p.notes],
        n_id_repeat=n_id_repeat,
    )
    assert report.n_read == report.n_kept + report.n_rejected  # never lose a row
    return inc, report, [p.kind for p in parts]


def _record_key(kept: pd.DataFrame, id_codes: np.ndarray) -> pd.Series:
    """One hash per (id, month, category, point): rows equal on it are one record.

    `id_codes` are the ids factorised (hashing integers, not 1M id strings again).
    """
    cols = pd.DataFrame({"id": id_codes, "month": kept["month"].to_numpy(),
                         "category": kept["category"].astype("category").to_numpy(),
                         "x": kept["_x"].to_numpy(), "y": kept["_y"].to_numpy()})
    return pd.Series(pd.util.hash_pandas_object(cols, index=False).to_numpy(),
                     index=kept.index)


def _mark_id_repeats(kept: pd.DataFrame, id_codes: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Mark rows sharing an id (different records) and make their ids unique.

    ``id_repeat`` is True on all of them; the later ones get ``~2``, ``~3``... on their
    ``incident_id`` (the source's own id column keeps its value). Returns the frame and
    how many rows repeat an id.
    """
    rep = pd.Series(id_codes).duplicated(keep=False).to_numpy()
    if not rep.any():
        return kept, 0
    k = pd.Series(id_codes).groupby(id_codes, sort=False).cumcount().to_numpy() + 1
    ids = kept["incident_id"].astype(str)
    suffix = "~" + pd.Series(k, index=kept.index).astype(str)
    kept = kept.assign(incident_id=ids.where(k == 1, ids + suffix), id_repeat=rep)
    return kept, int(rep.sum())


def _part_file(p: _Part) -> str:
    for frame in (p.kept, p.rejects):
        if len(frame):
            return str(frame["_file" if "_file" in frame else "file"].iloc[0])
    return ""


def _file_order(parts: list[_Part]):
    order = {f: i for i, f in enumerate(dict.fromkeys(_part_file(p) for p in parts))}

    def key(col: pd.Series) -> pd.Series:
        return col.map(order) if col.name == "file" else col

    return key
