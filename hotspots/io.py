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
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._atomic import atomic_write_csv
from ._errors import BadInputError
from ._time import london_naive, month_start
from ._validate import BNG
from .categories import categorise
from .formats import KINDS, _find, _load, _Loaded, _resolve, _Spec, _spec

log = logging.getLogger("hotspots")


#: Columns every incidents frame starts with, in this order.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "incident_id", "category", "subcategory", "occurred_at", "month", "source",
    "location_desc", "place_type", "geometry",
)  # fmt: skip

#: Study-area box in BNG metres (xmin, ymin, xmax, ymax): the GLA boundary's extent
#: (503,568-561,958 E, 155,851-200,934 N) plus about 1 km each side. A quick first cut;
#: the default study area is the London outline itself (``bounds="london"``).
LONDON_BOUNDS: tuple[float, float, float, float] = (502_500.0, 154_800.0, 563_000.0, 202_000.0)

#: Metres the Greater London outline is widened by for ``bounds="london"``. police.uk
#: snaps each crime to a map point, and a London crime's point can sit just across the
#: boundary; in the 2022 London file one point is 0.3 m outside, the next 470 m (then
#: 0.8-80 km: crimes in the Home Counties and beyond), so 100 m keeps the first kind
#: and rejects the second with room either side.
LONDON_BUFFER_M: float = 100.0


_INTERNAL = ("_x", "_y", "_file", "_row")

# reject reasons, by code (0 = kept); the first failing check wins
_OK, _BLANK, _MISSING, _NONNUM, _RANGE, _OUTSIDE, _NOTPOINT, _NODATE, _BADDATE, _DUP = range(10)
_REASONS = {
    _BLANK: "blank row",
    _MISSING: "missing coordinates",
    _NONNUM: "non-numeric coordinates",
    _RANGE: "coordinates out of range",
    _OUTSIDE: "outside study-area bounds",  # the study area's own wording replaces this
    _NOTPOINT: "geometry is not a point",
    _NODATE: "missing date",
    _BADDATE: "unparseable date",
    _DUP: "duplicate id",
}


# Tried in order on the values still unparsed: ISO first, then UK day-first styles.
_DATE_FORMATS = (
    "ISO8601", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%y %H:%M",
    "%d/%m/%y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d %b %Y", "%d %B %Y",
    "%m/%d/%Y %I:%M:%S %p", "%b %Y", "%B %Y", "%Y%m%d",
)  # fmt: skip
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
    """

    rejects: pd.DataFrame
    fixed: pd.DataFrame
    n_read: int
    n_kept: int
    files: tuple[str, ...] = field(default_factory=tuple)
    n_inputs: int = 0

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


def read_incidents(
    source: Any,
    *,
    kind: str | None = None,
    category: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    x: str | None = None,
    y: str | None = None,
    date: str | None = None,
    id_column: str | None = None,
    year: int | None = None,
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
        Column holding the incident type, or one vocabulary value (e.g. ``"fly_tip"``)
        applied to every row. Default: detected.
    lon, lat, x, y : str, optional
        Coordinate columns: WGS84 longitude/latitude (degrees) or BNG easting/northing
        (metres). Default: detected from common names. When both pairs exist,
        easting/northing is used and longitude/latitude fills rows where it is missing.
    date : str, optional
        Date/time column. Default: detected. ``YYYY-MM`` values give a month only.
    id_column : str, optional
        Column holding the source's incident id. Default: detected.
    year : int, optional
        Year for sources that give the month as a number 1-12 (``crimemappingdata``);
        default: the one four-digit year in the file name (e.g. ``..._2022_...``).
    bounds : "london", (xmin, ymin, xmax, ymax), polygon, or None; default "london"
        Study area; points outside are rejected. ``"london"``: the Greater London
        outline (union of the GLA's 33 borough polygons, registry ``boroughs``) widened
        by :data:`LONDON_BUFFER_M` (100 m), reason "outside London (Greater London
        boundary + 100 m)"; it falls back to the :data:`LONDON_BOUNDS` box, with a
        warning, when the borough file is not available. A tuple is a box in BNG
        metres (reason "outside study-area bounds"); a shapely polygon or a
        GeoDataFrame/GeoSeries of polygons (any CRS) is used as drawn. Also used to
        spot swapped latitude/longitude: a row is swapped back only when the swapped
        point is inside and the original not. ``None`` turns both checks off.
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
        repeating an id, in this or an earlier file of the same call, are rejected
        ("duplicate id"). ``place_type`` is police.uk's
        location subtype (Supermarket, Rail Station, ...) where the source gives one.
        ``occurred_at`` is NaT for month-only sources. ``attrs`` holds ``read_kind,
        n_read, n_rejected, n_fixed``.

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
        kind=kind, category=category, lon=lon, lat=lat, x=x, y=y, date=date,
        id_column=id_column, year=year, source_name=source_name,
    )  # fmt: skip
    parts = [_read_one(item, bounds, opts) for item in _resolve(source)]
    inc, report, kinds = _combine(parts)
    kind_used = kinds[0] if len(set(kinds)) == 1 else "mixed"
    inc.attrs.update(
        read_kind=kind_used, n_read=report.n_read, n_rejected=report.n_rejected,
        n_fixed=report.n_fixed,
    )  # fmt: skip
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



# --------------------------------------------------------------------------- helpers



@dataclass(frozen=True)
class _Area:
    """A study area: a box, optionally refined by a (prepared) polygon in BNG."""

    box: tuple[float, float, float, float]
    geom: Any = None
    reason: str = _REASONS[_OUTSIDE]
    label: str = ""


@lru_cache(maxsize=1)
def _london_area() -> _Area | None:
    """Greater London (GLA borough union) + LONDON_BUFFER_M, or None without the file."""
    import shapely

    from .boundaries import read_layer
    from .datasets import locate

    if locate("boroughs") is None:
        return None
    outline = shapely.union_all(read_layer("boroughs").geometry.to_numpy())
    area = shapely.buffer(outline, LONDON_BUFFER_M)
    shapely.prepare(area)
    buf = f"{LONDON_BUFFER_M:g} m"
    return _Area(
        tuple(shapely.bounds(area)), area,
        f"outside London (Greater London boundary + {buf})",
        f"Greater London boundary + {buf}",
    )  # fmt: skip


def _polygon_area(geom: Any) -> _Area:
    import shapely

    if isinstance(geom, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if geom.crs is None:
            raise BadInputError("bounds: the polygons have no CRS; set one (e.g. EPSG:27700)")
        geom = shapely.union_all(geom.to_crs(BNG).geometry.to_numpy())
    if shapely.get_type_id(geom) not in (3, 6) or shapely.is_empty(geom):
        raise BadInputError(f"bounds polygon must be a non-empty (multi)polygon, got {geom!r}")
    geom = shapely.make_valid(geom)
    shapely.prepare(geom)
    return _Area(tuple(shapely.bounds(geom)), geom, "outside the study area", "polygon")


def _check_bounds(bounds: Any) -> _Area | None:
    if bounds is None:
        return None
    if isinstance(bounds, _Area):
        return bounds
    if isinstance(bounds, str):
        if bounds.strip().lower() != "london":
            msg = f'bounds must be "london", a box, a polygon or None, got {bounds!r}'
            raise BadInputError(msg)
        area = _london_area()
        if area is None:
            log.warning(
                "read_incidents: the London borough outline (dataset 'boroughs') is not "
                "available: using the box LONDON_BOUNDS as the study area instead"
            )
            return _Area(LONDON_BOUNDS, label=f"box {LONDON_BOUNDS}")
        return area
    if isinstance(bounds, (gpd.GeoDataFrame, gpd.GeoSeries)) or hasattr(bounds, "geom_type"):
        return _polygon_area(bounds)
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError):
        msg = f"bounds must be (xmin, ymin, xmax, ymax) in metres, got {bounds!r}"
        raise BadInputError(msg) from None
    if len(b) != 4 or not (b[0] < b[2] and b[1] < b[3]):
        raise BadInputError(f"bounds must be (xmin, ymin, xmax, ymax) with min < max, got {b}")
    return _Area(b, label=f"box {b}")  # type: ignore[arg-type]



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


def _unique_xy(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes and distinct (a, b) pairs: police.uk snaps crimes to shared map points, so
    projecting or building each distinct point once is several times faster."""
    codes, uniq = pd.factorize(a + 1j * b)
    return codes, uniq.real, uniq.imag


def _to_bng(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    codes, ua, ub = _unique_xy(lon, lat)
    ux, uy = _transformer(crs).transform(ua, ub)
    return np.asarray(ux)[codes], np.asarray(uy)[codes]


def _inside(x: np.ndarray, y: np.ndarray, bounds: _Area | None) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if bounds is None:
            return np.isfinite(x) & np.isfinite(y)
        b = bounds.box
        inside = (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3])
    if bounds.geom is not None and inside.any():
        import shapely

        # the box is a cheap first cut; the polygon test runs once per distinct point
        idx = np.flatnonzero(inside)
        codes, ux, uy = _unique_xy(x[idx], y[idx])
        inside[idx] = shapely.intersects_xy(bounds.geom, ux, uy)[codes]
    return inside


def _place(a, b, missing, nonnum, crs: str, bounds):
    """Project (a, b) to BNG and check it; returns x, y, reason codes, swapped mask.

    ``crs`` is ``"EPSG:4326"`` (a = lon, b = lat, degrees) or ``BNG`` (metres).
    """
    n = len(a)
    code = np.zeros(n, np.int8)
    code[missing] = _MISSING
    code[(code == _OK) & nonnum] = _NONNUM
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    finite = np.isfinite(a) & np.isfinite(b)
    geographic = crs != BNG

    def project(u, v):
        with np.errstate(invalid="ignore"):
            if geographic:
                ok = np.isfinite(u) & np.isfinite(v) & (np.abs(u) <= 180) & (np.abs(v) <= 90)
            else:
                ok = (u >= 0) & (u <= 700_000) & (v >= 0) & (v <= 1_300_000)
        px, py = np.full(len(u), np.nan), np.full(len(u), np.nan)
        if ok.any():
            if geographic:
                px[ok], py[ok] = _to_bng(u[ok], v[ok], crs)
            else:
                px[ok], py[ok] = u[ok], v[ok]
        return px, py, ok

    x, y, ok = project(a, b)
    inside = ok & _inside(x, y, bounds)
    swapped = np.zeros(n, bool)
    cand = finite & ~inside
    if bounds is not None and cand.any():
        sx, sy, _ = project(b[cand], a[cand])
        fix = _inside(sx, sy, bounds)
        idx = np.flatnonzero(cand)[fix]
        x[idx], y[idx] = sx[fix], sy[fix]
        swapped[idx] = inside[idx] = ok[idx] = True
    code[(code == _OK) & ~ok] = _RANGE  # includes +-inf
    code[(code == _OK) & ~inside] = _OUTSIDE
    x[code != _OK] = np.nan
    y[code != _OK] = np.nan
    return x, y, code, swapped


def _coordinates(ld: _Loaded, sp: _Spec, bounds):
    """BNG x, y per row, reason codes, swapped mask and which column pair was used."""
    df = ld.df
    n = len(df)
    if ld.geoms is not None and sp.lon is None and sp.x is None:
        return (*_geometry_xy(ld.geoms, bounds), None)
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
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    code = np.full(n, _MISSING, np.int8)
    swapped = np.zeros(n, bool)
    used = np.full(n, -1, np.int8)
    parsed = []
    for i, (ca, cb, crs) in enumerate(pairs):
        todo = code == _MISSING  # first pair for every row; the next fills its gaps
        if not todo.any():
            break
        a, ma, na = _numbers(df[ca])
        b, mb, nb = _numbers(df[cb])
        parsed.append((ca, cb, crs, a, b))
        px, py, pc, ps = _place(a, b, ma | mb, na | nb, crs, bounds)
        take = todo & ((pc != _MISSING) | (i == 0))
        x[take], y[take], code[take], swapped[take] = px[take], py[take], pc[take], ps[take]
        used[take] = i
    return x, y, code, swapped, (parsed, used)


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
    x, y, code, swapped = _place(a, b, missing, np.zeros(n, bool), src, bounds)
    code[~pointlike & ~missing] = _NOTPOINT
    return x, y, code, swapped


def _parse_dates(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse a date column: (timestamps, missing mask). Unparsed present values are NaT."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = london_naive(s.reset_index(drop=True))
        return out, out.isna().to_numpy()
    text = s.astype("string").str.strip().reset_index(drop=True)
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    out = pd.Series(pd.NaT, index=text.index, dtype=_NS)
    for fmt in _DATE_FORMATS:
        todo = ~missing & out.isna().to_numpy()
        if not todo.any():
            break
        part = text[todo]
        try:
            parsed = london_naive(pd.to_datetime(part, format=fmt, errors="coerce"))
        except (ValueError, TypeError):  # offsets mixed with plain times
            parsed = _parse_mixed_zones(part, fmt)
        out[todo] = parsed
    return out, missing


def _parse_mixed_zones(part: pd.Series, fmt: str | None) -> pd.Series:
    """Times with an offset (``Z``, ``+01:00``) converted to London; plain ones are
    already London local time (not UTC, which ``utc=True`` would assume)."""
    aware = part.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False).to_numpy()
    out = pd.Series(pd.NaT, index=part.index, dtype=_NS)
    for mask, utc in ((aware, True), (~aware, False)):
        if mask.any():
            try:
                out[mask] = london_naive(
                    pd.to_datetime(part[mask], format=fmt, errors="coerce", utc=utc))
            except (ValueError, TypeError):  # still mixed (several offsets): all via UTC
                out[mask] = london_naive(
                    pd.to_datetime(part[mask], format=fmt, errors="coerce", utc=True))
    return out


def _dates(ld: _Loaded, sp: _Spec) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """occurred_at, month (both datetime64[ns]) and reason codes."""
    df = ld.df
    n = len(df)
    code = np.zeros(n, np.int8)
    nat = pd.Series(pd.NaT, index=range(n), dtype=_NS)
    if sp.date_mode == "none":
        return nat, nat.copy(), code
    raw = df[sp.date]
    if sp.date_mode == "month_number":
        num, missing, _ = _numbers(raw)
        good = np.isin(num, np.arange(1, 13))
        vals = np.full(n, np.datetime64("NaT"), dtype=_NS)
        vals[good] = (np.datetime64(f"{sp.year}-01", "M") + (num[good].astype(int) - 1)).astype(_NS)
        month = pd.Series(vals)
        rest = ~good & ~missing
        if rest.any():  # a full date where a month number was expected: still usable
            parsed, _ = _parse_dates(raw[rest])
            month[rest] = month_start(parsed).to_numpy()
        occurred = nat
    elif sp.date_mode == "canonical":
        occ_col = _find(df.columns, ["occurred at"])
        occurred, _ = _parse_dates(df[occ_col]) if occ_col is not None else (nat, None)
        month, missing = _parse_dates(raw)
        month = month_start(month.fillna(occurred))
        missing = missing & occurred.isna().to_numpy()
    else:
        if sp.date_mode == "us_month":
            text = raw.astype("string").str.strip().reset_index(drop=True)
            missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
            parsed = london_naive(
                pd.to_datetime(text, format="%m/%d/%Y %I:%M:%S %p", errors="coerce"))
            redo = parsed.isna().to_numpy() & ~missing
            if redo.any():
                parsed[redo] = _parse_dates(text[redo])[0].to_numpy()
        else:
            parsed, missing = _parse_dates(raw)
        month = month_start(parsed)
        month_only = sp.date_mode in ("month", "us_month") or _looks_monthly(raw, missing)
        occurred = nat if month_only else parsed
    code[missing] = _NODATE
    code[(code == _OK) & month.isna().to_numpy()] = _BADDATE
    return occurred.reset_index(drop=True), month.reset_index(drop=True), code


def _looks_monthly(raw: pd.Series, missing: np.ndarray) -> bool:
    if pd.api.types.is_datetime64_any_dtype(raw):
        return False
    text = raw.astype("string").str.strip()[~missing]
    return bool(len(text)) and bool(text.str.fullmatch(r"\d{4}-\d{1,2}").all())


def hash_ids(content: pd.DataFrame) -> pd.Series:
    """Stable ids from what each row says: ``<hash>#<k>``.

    A 64-bit hash of the row's values, then its 1-based ordinal among rows with the
    same hash, so the same export loaded twice gives the same ids while two identical
    crimes in one export (common on police.uk's snapped points) stay two incidents.
    Vectorised: well under 1 s for 850k rows.

    Parameters
    ----------
    content : pandas.DataFrame
        The columns that identify an incident (values, not the index, are hashed).

    Returns
    -------
    pandas.Series of str
        On a fresh 0..n-1 index.
    """
    # text columns hashed as categoricals (same hash as their values, once per value)
    cols = {c: (v.astype("category") if v.dtype == object or pd.api.types.is_string_dtype(v)
                else v) for c, v in content.items()}  # fmt: skip
    h = pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()
    k = pd.Series(h).groupby(h, sort=False).cumcount().to_numpy() + 1
    # hex digits through a byte table: ~20x faster than formatting each number
    digits = np.frombuffer(b"0123456789abcdef", np.uint8)
    b = h.astype(">u8").view(np.uint8).reshape(-1, 8)
    text = np.empty((len(h), 17), np.uint8)
    text[:, 0:16:2], text[:, 1:16:2], text[:, 16] = digits[b >> 4], digits[b & 15], ord("#")
    head = pd.Series(text.view("S17").ravel().astype(str), dtype="str")
    return head + pd.Series(k).astype("str")


def _ids(ld: _Loaded, sp: _Spec, content: pd.DataFrame) -> pd.Series:
    """incident ids: the source's id where given, else made from the row's content."""
    if sp.id is None:
        return hash_ids(content)
    s = ld.df[sp.id].reset_index(drop=True)
    if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna(), 1) == 0):
        s = s.astype("Int64")  # 75265998.0 -> "75265998"
    text = s.astype("string").str.strip()
    present = (text.notna() & (text != "")).to_numpy(dtype=bool, na_value=False)
    if present.all():
        return text.astype(str)
    return text.where(present, hash_ids(content)).astype(str)


def _text(s: pd.Series | None, n: int) -> pd.Series:
    """Text column with a 0..n-1 index; missing stays missing (not the string "nan")."""
    if s is None:
        return pd.Series(index=range(n), dtype="str")
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


def _raw_table(df: pd.DataFrame, mask: np.ndarray, file: str, rows: np.ndarray, head: dict):
    """Rows of `df` under `mask` with leading report columns (clashing names get _src)."""
    raw = df.iloc[np.flatnonzero(mask)].reset_index(drop=True)
    raw.columns = [f"{c}_src" if c in head else c for c in map(str, raw.columns)]
    lead = pd.DataFrame({"file": file, "row": rows[mask], **{k: v for k, v in head.items()}})
    return pd.concat([lead.reset_index(drop=True), raw], axis=1)


def _read_one(item: Any, bounds, opts: dict) -> _Part:
    ld = _load(item, opts)
    sp = _spec(ld, opts)
    df = ld.df
    n = len(df)
    x, y, code, swapped, pairs = _coordinates(ld, sp, bounds)
    if ld.geoms is None and len(df.columns):
        code[df.isna().all(axis=1).to_numpy()] = _BLANK
    occurred, month, dcode = _dates(ld, sp)
    late = (code == _OK) & (dcode != _OK)
    code[late] = dcode[late]

    # the source's wording -> vocabulary; the wording itself stays as subcategory
    sub = _text(df[sp.category] if sp.category is not None else None, n)
    if sp.category_value is not None:
        cat = pd.Series(sp.category_value, index=range(n), dtype="str")
    elif sp.category is not None:
        cat = categorise(sub)
    else:
        cat = pd.Series("other", index=range(n), dtype="str")
    source: Any = sp.source
    if sp.kind == "canonical":
        sub_col = _find(df.columns, ["subcategory"])
        sub = _text(df[sub_col], n) if sub_col is not None else sub
        src_col = _find(df.columns, ["source"])
        if src_col is not None:
            source = _text(df[src_col], n).fillna(sp.source)

    # repaired coordinates go back into the source columns, so they agree with geometry
    out_df = df.reset_index(drop=True)
    fixed_detail = pd.Series("", index=range(n), dtype=object)
    if pairs is not None:
        parsed, used = pairs
        for i, (ca, cb, crs, a, b) in enumerate(parsed):
            sw = (used == i) & swapped
            names = "longitude/latitude" if crs != BNG else "easting/northing"
            fixed_detail[sw] = f"{ca}/{cb} held {names} the wrong way round; swapped"
            out_df = out_df.assign(**{str(ca): np.where(sw, b, a), str(cb): np.where(sw, a, b)})
    else:
        fixed_detail[swapped] = "point geometry held latitude/longitude the wrong way round"

    raw_df = df if ld.geoms is None else df.assign(geometry_wkt=ld.geoms.to_wkt().to_numpy())
    rej = code != _OK
    names = _REASONS if bounds is None else {**_REASONS, _OUTSIDE: bounds.reason}
    reasons = pd.Series(code[rej]).map(names).to_numpy()
    rejects = _raw_table(raw_df, rej, ld.file, ld.rows, {"reason": reasons, "detail": ""})
    if rej.any():
        rejects["detail"] = _detail(rejects, code[rej], sp, pairs)
        far = _distance_outside(code, pairs, bounds)
        if far is not None:
            outside = code[rej] == _OUTSIDE
            rejects.loc[outside, "detail"] += ", " + far[code == _OUTSIDE]
    fix = swapped & ~rej
    fixed = _raw_table(
        raw_df, fix, ld.file, ld.rows,
        {"fix": "swapped coordinates", "detail": fixed_detail[fix].to_numpy()},
    )  # fmt: skip

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
    place = _text(df[sp.place] if sp.place is not None else None, n)
    place = place.str.strip().replace("", None)  # police.uk leaves unknown places blank
    by = _text(df[sp.force] if sp.force is not None else None, n)
    content = pd.DataFrame(
        {"kind": sp.kind, "month": month, "occurred_at": occurred, "cat": cat, "sub": sub,
         "place": place, "location": location, "force": by,
         "x": np.round(x, 2), "y": np.round(y, 2)}
    )  # fmt: skip
    ids = _ids(ld, sp, content)
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "incident_id": ids,
                    "category": cat,
                    "subcategory": sub,
                    "occurred_at": occurred,
                    "month": month,
                    "source": source,
                    "location_desc": location,
                    "place_type": place,
                    "_x": x,
                    "_y": y,
                    "_file": ld.file,
                    "_row": ld.rows,
                }
            ),
            out_df[list(rename)].rename(columns=rename),
        ],
        axis=1,
    )
    kept = frame if not rej.any() else frame.loc[~rej].reset_index(drop=True)
    part = _Part(kept, rejects, fixed, {v: k for k, v in rename.items()}, n, sp.kind)
    coords = "geometry" if pairs is None else " then ".join(f"{c[0]}/{c[1]}" for c in pairs[0])
    year = f" (year {sp.year})" if sp.year else ""
    log.info(
        "read_incidents: %s read as %s; coordinates %s; date %s [%s]%s; id %s; category %s",
        ld.file, sp.kind, coords, sp.date, sp.date_mode, year, sp.id,
        sp.category_value or sp.category,
    )  # fmt: skip
    return part


def _consumed(df: pd.DataFrame, sp: _Spec) -> list:
    """Source columns that become canonical ones and are not repeated as extras."""
    if sp.kind != "canonical":
        return []
    return [c for c in df.columns if str(c) in CANONICAL_COLUMNS]


def _distance_outside(code: np.ndarray, pairs, bounds: _Area | None) -> np.ndarray | None:
    """Per row, "<d> km outside" text for rows outside a polygon study area (else None)."""
    if bounds is None or bounds.geom is None or pairs is None or not (code == _OUTSIDE).any():
        return None
    import shapely

    parsed, used = pairs
    idx = np.flatnonzero(code == _OUTSIDE)
    x, y = np.full(len(idx), np.nan), np.full(len(idx), np.nan)
    for i, (_, _, crs, a, b) in enumerate(parsed):
        m = used[idx] == i
        if m.any():
            px, py = (a[idx[m]], b[idx[m]]) if crs == BNG else _to_bng(a[idx[m]], b[idx[m]], crs)
            x[m], y[m] = px, py
    km = shapely.distance(bounds.geom, shapely.points(x, y)) / 1000
    out = np.full(len(code), "", dtype=object)
    out[idx] = [f"{d:,.1f} km outside" for d in km]
    return out


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

    # repeated ids (the source's, or content-made ones from a file read twice): keep
    # the first kept row, reject the rest (in every file)
    dup = kept["incident_id"].duplicated(keep="first").to_numpy()
    dup_rejects = []
    if dup.any():
        first = kept.loc[~dup].drop_duplicates("incident_id").set_index("incident_id")
        for i, p in enumerate(parts):
            m = dup & (part_of == i)
            if not m.any():
                continue
            sub = kept.loc[m]
            raw = sub[list(p.raw_names)].rename(columns=p.raw_names).reset_index(drop=True)
            head = {"reason": _REASONS[_DUP], "detail": ""}
            r = _raw_table(raw, np.ones(len(raw), bool), sub["_file"].iloc[0],
                           sub["_row"].to_numpy(), head)  # fmt: skip
            f = sub["incident_id"].map(first["_file"]).astype(str).to_numpy()
            row = sub["incident_id"].map(first["_row"]).astype(str).to_numpy()
            same = f == sub["_file"].astype(str).to_numpy()
            where = np.where(same, "", f + " ") + "row " + row
            r["detail"] = "same id as " + pd.Series(where, dtype=object)
            dup_rejects.append(r)
        kept = kept.loc[~dup].reset_index(drop=True)

    rej_frames = [p.rejects for p in parts] + dup_rejects
    rejects = pd.concat([r for r in rej_frames if len(r)] or [rej_frames[0]], ignore_index=True)
    rejects = rejects.sort_values(["file", "row"], kind="stable", key=_file_order(parts))
    fixed_frames = [p.fixed for p in parts]
    fixed = pd.concat([f for f in fixed_frames if len(f)] or [fixed_frames[0]], ignore_index=True)

    # one Point per distinct location, shared by the rows there (shapely is immutable)
    codes, ux, uy = _unique_xy(kept["_x"].to_numpy(), kept["_y"].to_numpy())
    geometry = gpd.points_from_xy(ux, uy, crs=BNG).take(codes)
    inc = gpd.GeoDataFrame(
        kept.drop(columns=list(_INTERNAL)), geometry=geometry, crs=BNG
    )
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
    )
    assert report.n_read == report.n_kept + report.n_rejected  # never lose a row
    return inc, report, [p.kind for p in parts]


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
