"""An on-disk incident store: GeoParquet partitioned by month, appended to safely.

A team loads a new export every week; the store keeps every incident once, says where
each came from, and survives a crash mid-load. Layout of a store folder::

    store/
      _manifest.json                    the commit record: files, their months, rows,
                                        bounds and categories, and the load log
      _loads.csv                        the load log as a table, for people (a copy)
      period=2022-01/part-000001-<token>.parquet
      period=2022-02/part-000001-<token>.parquet
      ...

Each data file is GeoParquet (geometry as WKB, EPSG:27700) with the canonical incident
columns, ``_x``/``_y`` (the point in metres, for bounding-box filters without decoding
geometry), ``_load`` (the load that brought the row) and ``_scope`` (where its
``incident_id`` is unique: "" for everywhere, else its source; see
:meth:`IncidentStore.append`), plus the source's own columns as text (true/false
columns stay boolean). The folder opens in any GeoParquet tool
(``geopandas.read_parquet(store)``, ``pyarrow.dataset``, DuckDB, QGIS; plain readers
take the columns of the first file only, :meth:`IncidentStore.query` and
:meth:`IncidentStore.to_dask` every file's); the directory key is ``period`` because
the files already hold a ``month`` column (a timestamp), which a ``month=`` key would
clash with. :meth:`IncidentStore.compact` rewrites each month's files into one through
the same commit.

Safe writes (the rules live in :mod:`hotspots._store_files`): each append or compact
first writes a journal entry naming the files it will write (``_journal/``), writes
them under hidden names (``.part-*.tmp``: pyarrow, geopandas and DuckDB skip names
starting with a dot or underscore), records the new manifest with every file's sha256
in the journal (the commit point), renames the files to their final names, then writes
``_manifest.<generation>.json`` and replaces ``_manifest.json`` (the last
:data:`KEEP_MANIFESTS` generations are kept). A process killed before the commit point
is rolled back by the next writer (only the hidden files its journal names are
deleted); one killed after it is rolled forward, and plain GeoParquet readers already
see its files. The store never deletes a file a manifest lists unless the committed
manifest says its commit replaced it (compaction, ``replace_changed``): files nothing
explains are moved to ``_orphans/`` with a WARNING, or, when visible (an older
manifest restored), make writers refuse until :meth:`IncidentStore.recover` adopts
them. :meth:`IncidentStore.check` verifies every file (rows, sha256). One writer at a
time (a lock file); readers never wait.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import shapely

from . import _store_files as disk
from ._atomic import atomic_write_csv
from ._errors import BadInputError
from ._store_files import KEEP_MANIFESTS, MANIFEST, FileProblem, Orphan, RecoverReport, StoreCheck
from ._time import london_naive
from ._validate import BNG, check_gdf
from .categories import check_categories
from .io import hash_ids

log = logging.getLogger("hotspots")

__all__ = ["GLOBAL_ID_SOURCES", "KEEP_MANIFESTS", "LOADS_CSV", "MANIFEST", "STORE_COLUMNS",
           "FileProblem", "IncidentStore", "Load", "Orphan", "RecoverReport", "StoreCheck",
           "content_ids"]

LOADS_CSV = "_loads.csv"
_LOCK = "_lock"
_KEY = disk.KEY  # directory key: period=YYYY-MM
#: Columns the store adds to every file (dropped again by :meth:`IncidentStore.query`).
STORE_COLUMNS = ("_x", "_y", "_load", "_scope")
#: Sources whose incident ids are unique across all their files (police.uk Crime IDs).
GLOBAL_ID_SOURCES = frozenset({"police.uk"})
# ids made from content (hotspots.io.hash_ids, content_ids): the same everywhere
_MADE_ID = r"^[0-9a-f]{16}#[0-9]+$"
_SEP = "\x1f"  # joins key parts (a control character no id or source holds)
_CANONICAL = ("incident_id", "category", "subcategory", "occurred_at", "month", "source",
              "location_desc")  # fmt: skip
_TEXT = ("incident_id", "category", "subcategory", "source", "location_desc")


@dataclass(frozen=True)
class Load:
    """One append, as recorded in the load log.

    ``n_read = n_kept + n_rejected`` (rows of the input, and those the reader or the
    store turned away); ``n_kept = n_new + n_duplicate`` (duplicates: incidents already
    in the store or earlier in the same input, by ``incident_id`` within its scope; see
    :meth:`IncidentStore.append`). ``n_changed`` of the duplicates have the id of a
    stored incident (same scope) but say something else (category, month, time, place
    to 1 m or location text: an edited record); ``n_replaced`` of those replaced the
    stored version (``replace_changed=True``), the others were left as stored.
    """

    load: int
    file: str
    sha256: str
    source: str
    n_read: int
    n_kept: int
    n_rejected: int
    n_new: int
    n_duplicate: int
    started: str
    seconds: float
    n_changed: int = 0
    n_replaced: int = 0


def content_ids(inc: pd.DataFrame) -> pd.Series:
    """Stable ids for incidents that have none: a hash of what each row says.

    The hash covers ``category, subcategory, month, occurred_at, location_desc`` and
    the point (to 0.1 m), then ``#n`` numbers identical rows in order of appearance,
    so the same export loaded twice gives the same ids and two identical crimes in one
    export stay two incidents.

    Returns
    -------
    pandas.Series of str
        ``"<16 hex digits>#<n>"`` (:func:`hotspots.io.hash_ids`), on the input's index.
    """
    xy = _xy(inc) if isinstance(inc, gpd.GeoDataFrame) else (None, None)
    cols = {}
    for c in ("category", "subcategory", "month", "occurred_at", "location_desc"):
        cols[c] = (inc[c].astype("string").fillna("").to_numpy() if c in inc.columns
                   else np.full(len(inc), ""))
    if xy[0] is not None:  # to 0.1 m, so float noise after reprojection does not split ids
        cols["x"], cols["y"] = np.round(xy[0], 1), np.round(xy[1], 1)
    ids = hash_ids(pd.DataFrame(cols))
    return pd.Series(ids.to_numpy(), index=inc.index, dtype="str")


def _xy(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    geom = gdf.geometry.values
    x, y = shapely.get_x(geom), shapely.get_y(geom)  # NaN for missing, empty or non-points
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


class IncidentStore:
    """Canonical incidents on disk, one GeoParquet folder per month, appended safely.

    Parameters
    ----------
    path : str or PathLike
        The store folder; created by the first :meth:`append`.

    Examples
    --------
    >>> store = hs.IncidentStore("data/store")
    >>> store.append("2022-01-metropolitan-street.csv")       # doctest: +SKIP
    >>> store.query(period=("2022-01", "2022-03"), categories=["burglary"])  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        #: the :class:`~hotspots.ReadReport` of the last file :meth:`append` read
        self.last_report = None
        if self.path.exists() and not self.path.is_dir():
            raise BadInputError(f"store path {self.path} is a file, not a folder")

    def __repr__(self) -> str:
        m = self._manifest()
        return (f"IncidentStore({str(self.path)!r}: {self._rows(m):,} incidents, "
                f"{len(self._months(m))} months, {len(m['loads'])} loads)")

    def __len__(self) -> int:
        return self._rows(self._manifest())

    # ------------------------------------------------------------------ reading state
    def _manifest(self) -> dict:
        """The committed manifest as readers see it (checked: a clear error if damaged)."""
        return disk.view(self.path, BNG)

    @staticmethod
    def _rows(m: dict) -> int:
        return sum(f["rows"] for f in m["files"])

    @staticmethod
    def _months(m: dict) -> list[str]:
        return sorted({f["month"] for f in m["files"]})

    def _file_path(self, rel: str) -> Path:
        """A committed file; its hidden name when a killed append never renamed it."""
        p = self.path / rel
        return p if p.exists() or not disk.hidden(p).exists() else disk.hidden(p)

    def files(self, period: Any = None) -> list[Path]:
        """The committed data files (optionally only those of `period`), oldest load first.

        For tools that take a list of files (``dask_geopandas.read_parquet``, DuckDB).
        """
        lo, hi = _month_range(period)
        return [self._file_path(f["path"]) for f in self._manifest()["files"]
                if lo <= f["month"] <= hi]

    def loads(self) -> pd.DataFrame:
        """The load log: one row per append (see :class:`Load` for the columns)."""
        cols = list(Load.__dataclass_fields__)
        out = pd.DataFrame(self._manifest()["loads"], columns=cols)
        for c in ("n_changed", "n_replaced"):  # logs written before these counts: 0
            out[c] = out[c].fillna(0).astype("int64")
        return out

    def info(self) -> dict[str, Any]:
        """What the store holds, as the manifest records it (no data file is opened).

        The counts are the manifest's, not checked against the files: :meth:`check`
        verifies every file (rows, sha256) and finds orphans.

        Returns
        -------
        dict
            ``path, n_rows, n_files, months`` (DataFrame ``month, rows, files``),
            ``categories`` (Series of rows per category), ``loads`` (the load log),
            ``bounds`` (xmin, ymin, xmax, ymax in BNG metres, or None), ``generation``
            (of the manifest), ``rows_from`` (where the counts come from, in words).
        """
        m = self._manifest()
        files = pd.DataFrame(m["files"], columns=["path", "month", "rows"])
        months = (files.groupby("month").agg(rows=("rows", "sum"), files=("path", "size"))
                  .reset_index())
        cats, bounds = _summary(m["files"])
        categories = pd.Series(cats, dtype="int64", name="rows").sort_values(ascending=False)
        return {"path": str(self.path), "n_rows": self._rows(m), "n_files": len(m["files"]),
                "months": months, "categories": categories, "loads": self.loads(),
                "bounds": bounds, "generation": disk.generation(m),
                "rows_from": "manifest (not checked against the files: `hotspots store "
                             "check` / IncidentStore.check() verifies them)"}

    # ------------------------------------------------------------------ query
    def query(
        self,
        period: Any = None,
        categories: str | Iterable[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        wards: Any = None,
        columns: Iterable[str] | None = None,
        bbox_crs: Any = None,
    ) -> gpd.GeoDataFrame:
        """Incidents matching every filter given, reading only the files that can hold them.

        Files are chosen from the manifest (month, bounds and categories of each file),
        so a query for one month of burglary opens that month's files only; within them
        pyarrow filters rows on ``category`` and the ``_x``/``_y`` columns.

        Parameters
        ----------
        period : str, Timestamp or (start, end), optional
            Whole months: ``"2022"``, ``"2022-03"`` or a pair of months/dates, both
            months included (``("2022-01", "2022-06")``; start after end is an
            error). police.uk gives months only, so the store partitions and filters
            by ``month``.
        categories : str or list of str, optional
            Category vocabulary values (``"burglary"``, ``["asb", "drugs"]``, see
            :data:`hotspots.io.CATEGORIES`); source wordings the vocabulary knows are
            mapped (``"Burglary"``, ``"Anti-social behaviour"``), others are an error.
        bbox : (xmin, ymin, xmax, ymax), optional
            BNG metres (EPSG:27700) unless `bbox_crs` says otherwise; points on the
            edge are included. A box that looks like longitude/latitude degrees
            without `bbox_crs` is an error.
        wards : GeoDataFrame, geometry, or list of ward names/codes, optional
            Keep incidents inside these wards (names/codes are looked up in
            ``hs.wards(year=2022)``); the wards' bounding box prunes files first.
        columns : list of str, optional
            Source columns to return beyond the canonical ones (default: all).
        bbox_crs : CRS, optional
            The CRS `bbox` is in, e.g. ``"EPSG:4326"`` for (lon_min, lat_min, lon_max,
            lat_max); converted to the BNG box that covers it.

        Returns
        -------
        geopandas.GeoDataFrame
            Canonical incidents (EPSG:27700) in month then load order; ``attrs``:
            ``n_files`` (in the store), ``n_files_read``.
        """
        m = self._manifest()
        lo, hi = _month_range(period)
        cats = check_categories(categories)
        area = _ward_geometry(wards)
        box = _check_bbox(bbox, bbox_crs)
        if area is not None:
            abox = shapely.bounds(area)
            box = abox if box is None else (max(box[0], abox[0]), max(box[1], abox[1]),
                                            min(box[2], abox[2]), min(box[3], abox[3]))
        chosen = [f for f in m["files"]
                  if lo <= f["month"] <= hi
                  and (cats is None or cats & set(f["categories"]))
                  and (box is None or _overlaps(f["bounds"], box))]
        expr = None
        if cats is not None:
            expr = ds.field("category").isin(sorted(cats))
        if box is not None:
            b = ((ds.field("_x") >= box[0]) & (ds.field("_x") <= box[2])
                 & (ds.field("_y") >= box[1]) & (ds.field("_y") <= box[3]))
            expr = b if expr is None else expr & b
        if columns is not None:
            columns = set(columns) | set(_CANONICAL) | set(STORE_COLUMNS)
        table = _scan([self._file_path(f["path"]) for f in chosen], expr, columns)
        out = _to_frame(table)
        if area is not None and len(out):
            shapely.prepare(area)
            inside = shapely.contains_xy(area, out.geometry.x.to_numpy(),
                                         out.geometry.y.to_numpy())
            inside |= shapely.intersects(area, out.geometry.values)  # edge points
            out = out[inside].reset_index(drop=True)
        out.attrs.update(n_files=len(m["files"]), n_files_read=len(chosen))
        log.info("store query: %d incidents from %d of %d files", len(out), len(chosen),
                 len(m["files"]))
        return out

    def read(self) -> gpd.GeoDataFrame:
        """Every incident in the store (:meth:`query` with no filter)."""
        return self.query()

    def to_dask(self, period: Any = None):
        """The committed files (optionally one `period`) as a dask-geopandas GeoDataFrame.

        One partition per file (a month of one load), read lazily where the work runs:
        the input of :func:`hotspots.distributed.ward_counts_dask` and ``kde_dask``.
        Every partition has the columns of all the files (a column a file lacks is
        missing there), as :meth:`query` returns them, so a mixed-source store loses
        no source's columns.
        """
        from ._optional import require

        dd = require("dask.dataframe", extra="dask", feature="IncidentStore.to_dask")
        # importing dask_geopandas registers GeoDataFrame partitions with dask
        require("dask_geopandas", extra="dask", feature="IncidentStore.to_dask")

        files = self.files(period)
        if not files:
            raise BadInputError(f"the store {self.path} holds nothing for period {period!r}")
        schema = _schema(files)
        meta = _to_frame(schema.empty_table())
        return dd.from_map(_read_file, [str(f) for f in files], schema=schema, meta=meta,
                           label="store-read")

    # ------------------------------------------------------------------ append
    def append(
        self,
        data: Any,
        source: str | None = None,
        report: Any = None,
        id_scope: str | None = None,
        *,
        replace_changed: bool = False,
        **read_kwargs: Any,
    ) -> Load:
        """Add incidents, skipping any the store already holds.

        Which incidents are "already held" depends on where their ``incident_id`` is
        unique. Ids made from content (:func:`content_ids`, the reader's
        ``<16 hex>#<n>`` ids) and police.uk Crime IDs (:data:`GLOBAL_ID_SOURCES`) are
        the same incident in every file. Other sources number their own records (a
        council's references 1, 2, 3 ...), so their ids are unique only within their
        *scope*: `id_scope` when given, else the row's ``source`` (for generic tables
        the reader sets it to the file's stem). An incident is a duplicate when the
        store holds its id in the same scope, or holds its id from another scope with
        the same category, month and point (to 1 m): two copies of one export under
        different names add nothing, while two councils' reference numbers 1..200 are
        all kept.

        A record edited between exports (same id and scope, another category, month,
        time, location text or a point more than ~1 m away) is counted in
        ``n_changed`` and, by default, the stored version is kept (a warning says
        so). With ``replace_changed=True`` the new version replaces it in the same
        commit: the files holding the old rows are rewritten without them, so the
        row count does not change and a killed append still leaves the store as it
        was. Only rows whose id is already stored are compared.

        Parameters
        ----------
        data : path, registry key or GeoDataFrame
            A file/folder/glob/registry key (read with :func:`hotspots.read_incidents`,
            whose rejects are counted in the log), or incidents already read.
        source : str, optional
            What to call this load in the log; default the file name(s), else
            ``attrs["source"]`` or "frame".
        id_scope : str, optional
            Where this load's own ids are unique, e.g. ``"harrow-council-flytips"``
            for weekly exports of one system whose file names change; default the
            ``source`` column (see above).
        replace_changed : bool, default False
            Replace stored incidents whose record changed (see above) with this
            load's version, instead of keeping the stored one.
        report : ReadReport, optional
            The report :func:`hotspots.read_incidents` gave for `data` (a frame), so
            the log counts the rows the reader rejected.
        **read_kwargs
            Passed to :func:`hotspots.read_incidents` when `data` is a path.

        Returns
        -------
        Load
            The load-log row: counts read, kept, rejected, new, duplicate (the
            reader's report is in :attr:`last_report`). Incidents without an
            ``incident_id`` column get :func:`content_ids`.
        """
        t0 = time.perf_counter()
        started = pd.Timestamp.now().isoformat(timespec="seconds")
        inc, report, file, sha = _resolve_input(data, report, read_kwargs)
        self.last_report = report
        if not isinstance(inc, gpd.GeoDataFrame):
            raise BadInputError("append needs a GeoDataFrame of incidents or a file to read")
        inc = check_gdf(inc, "incidents")
        n_rejected_reader = int(report.n_rejected) if report is not None else 0
        frame, n_bad = _prepare(inc, id_scope)
        with self._writing() as m:
            rec = self._add(m, frame, replace_changed=replace_changed, t0=t0, started=started,
                            file=file, sha256=sha,
                            source=source or file or str(inc.attrs.get("source", "frame")),
                            n_read=len(inc) + n_rejected_reader,
                            n_rejected=n_rejected_reader + n_bad)
        log.info("store append #%d (%s): read %d, kept %d, rejected %d, new %d, duplicate %d"
                 ", changed %d, replaced %d", rec.load, rec.source, rec.n_read, rec.n_kept,
                 rec.n_rejected, rec.n_new, rec.n_duplicate, rec.n_changed, rec.n_replaced)
        if rec.n_changed and not replace_changed:
            log.warning("store: %d incidents already stored have changed since (category, "
                        "month, time, place or location text); kept the stored version "
                        "(replace_changed=True / --replace-changed takes the new one)",
                        rec.n_changed)
        return rec

    @contextlib.contextmanager
    def _writing(self, stale: str = "refuse") -> Iterator[dict]:
        """One writer's turn: lock, end what killed writers left, yield the manifest.

        A damaged manifest or journal entry is refused before anything is written
        (even the folder or the lock file); under the lock, data files the manifest
        does not list (an older manifest restored) or listed files that are missing
        are refused too, unless `stale` is ``"orphan"`` (:meth:`recover`).
        """
        disk.read_manifest(self.path, BNG)
        disk.journal(self.path)
        if not (self.path / MANIFEST).exists():
            self.path.mkdir(parents=True, exist_ok=True)
        with _locked(self.path / _LOCK):
            m = disk.recover(self.path, disk.read_manifest(self.path, BNG), stale)
            yield m
            self._write_log()

    def _add(self, m: dict, frame: gpd.GeoDataFrame, *, replace_changed: bool = False,
             forget: Iterable[str] = (), t0: float, **record: Any) -> Load:
        """Commit the rows of `frame` that the store does not hold, as one load.

        `frame` is as :func:`_prepare` gives it; `forget` names manifest entries dropped
        in the same commit; `record` gives the :class:`Load` fields the caller knows
        (file, sha256, source, n_read, n_rejected, started).
        """
        load_no = max(disk.load_numbers(self.path, m), default=0) + 1
        ids = pa.array(frame["incident_id"].to_numpy(dtype=object), pa.string())
        scope = pa.array(frame["_scope"].to_numpy(dtype=object), pa.string())
        keys = pc.binary_join_element_wise(scope, ids, _SEP)
        dup = _repeats(keys)
        forget = set(forget)
        files = [f for f in m["files"] if f["path"] not in forget]
        paths = [self._file_path(f["path"]) for f in files]
        stored_ids, stored_keys = _stored_keys(paths)
        changed = np.zeros(len(frame), dtype=bool)
        held: dict[str, list[str]] = {}  # file -> stored keys of changed records there
        if len(stored_ids):  # arrow's hashed is_in: pandas' loops in Python on text
            stored = pc.is_in(keys, value_set=stored_keys).to_numpy(zero_copy_only=False)
            # content ids can't change without changing the id: compare the others
            made = pc.fill_null(pc.match_substring_regex(ids, _MADE_ID), fill_value=False)
            given = ~made.to_numpy(zero_copy_only=False)
            changed, held = _changed(frame, keys, stored & ~dup & given, paths)
            dup |= stored
            dup |= _same_elsewhere(frame, ids, scope, dup, stored_ids, paths)
        take = ~dup | (changed if replace_changed else False)
        new = frame.loc[take].reset_index(drop=True)
        new["_load"] = np.int32(load_no)
        rewrite = [f for f in files if str(self._file_path(f["path"])) in held
                   ] if replace_changed else []
        txn = disk.Txn(self.path, "append", load_no, m)
        names = _part_names(new, load_no, txn.token)
        txn.begin(list(names.values()) + [_rewrite_name(f, txn.token, i)
                                          for i, f in enumerate(rewrite)])
        try:
            entries = self._write_parts(new, names)
            replaced = [f["path"] for f in rewrite]
            if rewrite:  # rewrite the files holding the old versions, without them
                files = [f for f in files if f["path"] not in set(replaced)]
                entries += self._drop_rows(rewrite, held, txn.token)
            n_changed = int(changed.sum())
            rec = Load(load=load_no, n_kept=len(frame), n_new=int((~dup).sum()),
                       n_duplicate=int(dup.sum()), seconds=round(time.perf_counter() - t0, 3),
                       n_changed=n_changed, n_replaced=n_changed if replace_changed else 0,
                       **record)
            txn.commit({**m, "files": sorted(files + entries,
                                             key=lambda f: (f["month"], f["load"])),
                        "loads": m["loads"] + [asdict(rec)], "replaced": replaced})
        except BaseException:
            txn.abort()  # before the commit point: its hidden files go; after: kept
            raise
        return rec

    def compact(self) -> dict[str, int]:
        """Rewrite each month's files (one per load) into one file, changing nothing else.

        Weekly loads leave many small files per month, and every query and append
        opens each one. The rows, their order, the load log and every query result
        stay the same (each row keeps its ``_load``). Journaled like :meth:`append`:
        a process killed before the commit point leaves the store as it was; the old
        files are deleted only after the committed manifest records that it replaced
        them (one killed before deleting them leaves files the next writer deletes).

        Returns
        -------
        dict
            ``months`` (months rewritten), ``files_before``, ``files_after``.
        """
        if not (self.path / MANIFEST).exists():
            return {"months": 0, "files_before": 0, "files_after": 0}
        with self._writing() as m:
            n_before = len(m["files"])
            groups: dict[str, list[dict]] = {}
            for f in m["files"]:
                groups.setdefault(f["month"], []).append(f)
            groups = {k: v for k, v in groups.items() if len(v) > 1}
            if groups:
                m = self._compact(m, groups)
        out = {"months": len(groups), "files_before": n_before, "files_after": len(m["files"])}
        log.info("store compact: %(months)d months, %(files_before)d files -> %(files_after)d",
                 out)
        return out

    def _compact(self, m: dict, groups: dict[str, list[dict]]) -> dict:
        """One file per month of `groups`, committed; returns the new manifest."""
        txn = disk.Txn(self.path, "compact", max((f["load"] for f in m["files"]), default=0), m)
        names = {month: f"{_KEY}={month}/part-{max(f['load'] for f in fs):06d}-c{txn.token}"
                 ".parquet" for month, fs in groups.items()}
        txn.begin(list(names.values()))
        try:
            entries = []
            for month, fs in groups.items():  # manifest order: load order within the month
                paths = [self._file_path(f["path"]) for f in fs]
                table = ds.dataset([str(p) for p in paths], schema=_schema(paths),
                                   format="parquet").to_table()
                df = table.drop_columns(["geometry"]).to_pandas()
                part = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries.from_wkb(
                    table.column("geometry").to_numpy(zero_copy_only=False)), crs=BNG)
                tmp = disk.hidden(self.path / names[month])
                part.to_parquet(tmp, index=False)
                loads = {n for f in fs for n in f.get("loads", [f["load"]])}
                entries.append(disk.entry(names[month], max(f["load"] for f in fs), part["_x"],
                                          part["_y"], part["category"], tmp, loads=loads))
                if disk.pause():  # the kill test wants the files one after another
                    time.sleep(disk.pause())
            return txn.commit({**m, "files": sorted(
                [f for f in m["files"] if f["month"] not in groups] + entries,
                key=lambda f: (f["month"], f["load"])),
                "replaced": [f["path"] for f in m["files"] if f["month"] in groups]})
        except BaseException:
            txn.abort()
            raise

    def _drop_rows(self, files: list[dict], held: dict[str, list[str]], token: str
                   ) -> list[dict]:
        """Rewrite `files` without the rows of the keys `held` gives.

        The new files stay hidden until the commit; returns their entries (a file left
        empty gets none).
        """
        out = []
        for i, f in enumerate(files):
            path = self._file_path(f["path"])
            table = pq.ParquetFile(path).read()  # no folder key column
            drop = pc.is_in(_keys(table), value_set=pa.array(held[str(path)], pa.string()))
            table = table.filter(pc.invert(drop))
            if not table.num_rows:
                continue
            rel = _rewrite_name(f, token, i)
            tmp = disk.hidden(self.path / rel)
            pq.write_table(table, tmp)  # the same schema and GeoParquet metadata
            out.append(disk.entry(rel, f["load"], table.column("_x"), table.column("_y"),
                                  table.column("category"), tmp, loads=f.get("loads")))
        return out

    def _write_parts(self, new: gpd.GeoDataFrame, names: dict[str, str]) -> list[dict]:
        """Write one hidden file per month (`names`: month -> file); return their entries."""
        if new.empty:
            return []
        codes, months = pd.factorize(new["month"], sort=True)  # strftime once per month
        labels = pd.DatetimeIndex(months).strftime("%Y-%m")
        pause = disk.pause()
        if (np.diff(codes) < 0).any():  # rows not in month order: one sort, then slices
            order = np.argsort(codes, kind="stable")
            new, codes = new.iloc[order].reset_index(drop=True), codes[order]
        starts = np.searchsorted(codes, np.arange(len(labels) + 1))

        def write(i: int) -> dict:
            rel = names[labels[i]]
            part = new.iloc[starts[i]:starts[i + 1]]
            tmp = disk.hidden(self.path / rel)
            tmp.parent.mkdir(exist_ok=True)
            part.to_parquet(tmp, index=False)
            if pause:
                time.sleep(pause)
            return disk.entry(rel, int(part["_load"].iloc[0]), part["_x"], part["_y"],
                              part["category"], tmp)

        if pause:  # the kill test wants the files one after another
            return [write(i) for i in range(len(labels))]
        # parquet encoding and compression release the GIL: two threads use two cores
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            return list(pool.map(write, range(len(labels))))

    # ------------------------------------------------------------------ check / recover
    def check(self) -> StoreCheck:
        """Verify every data file against the manifest; list orphans. Reads only.

        Each listed file must be on disk with the rows and sha256 its manifest entry
        records (files written before checksums: rows only). Orphans are data files
        no manifest entry explains: visible in the data folders (an older manifest
        restored, files copied in: the manifest is then *out of date*), hidden ones a
        killed writer left, and those waiting in ``_orphans/``; each is opened to say
        what it holds (rows, months, categories, loads and, when a kept manifest or
        journal entry knows it, the load's source).

        Returns
        -------
        StoreCheck
            ``ok``, ``problems`` (missing, rows, checksum, unreadable), ``orphans``,
            ``out_of_date``, ``newer_generations``, ``pending`` (killed changes the
            next write finishes); ``summary()`` in words, ``to_dict()`` for JSON.
        """
        disk.read_manifest(self.path, BNG)  # a damaged manifest: the error, before waiting
        with contextlib.ExitStack() as stack:
            # wait for a writer at work, so its hidden files are not reported as leftovers
            if (self.path / _LOCK).exists():
                with contextlib.suppress(OSError):  # a read-only copy: check it as it is
                    stack.enter_context(_locked(self.path / _LOCK))
            return disk.check(self.path, disk.read_manifest(self.path, BNG))

    def recover(self, *, dry_run: bool = True) -> RecoverReport:
        """Adopt orphaned data files back into the store, after saying what they hold.

        With ``dry_run=True`` (the default) nothing changes: the report lists every
        orphan (see :meth:`check`) and the listed files that are missing. With
        ``dry_run=False``, under the writer's lock: unexplained data files are moved
        to ``_orphans/``; the rows of every readable orphan are added back one original
        load at a time, de-duplicated exactly as :meth:`append` does (incidents already
        stored are skipped; a record that changed keeps the stored version), each as
        a new load in the log (source ``"recovered from _orphans/: load #n (...)"``);
        listed files that are missing are forgotten in the same commit. Adopted
        orphan files are kept in ``_orphans/adopted/`` (never deleted: remove that
        folder yourself once satisfied); unreadable ones stay where they are.

        Returns
        -------
        RecoverReport
            ``orphans`` (what they hold), ``adopted`` (the load records), ``forgotten``,
            ``dry_run``; ``summary()`` and ``to_dict()``.
        """
        if dry_run:
            c = self.check()
            return RecoverReport(str(self.path), c.orphans, [], [
                q.path for q in c.problems if q.problem == "missing"], dry_run=True)
        t0 = time.perf_counter()
        started = pd.Timestamp.now().isoformat(timespec="seconds")
        with self._writing(stale="orphan") as m:
            sources = disk.known_sources(self.path, m)
            files = disk.orphan_files(self.path)
            shown = [disk.describe(self.path, p, disk.ORPHANS, sources) for p in files]
            missing = disk.plan(self.path, m).missing
            frames = [_stored_frame(pq.ParquetFile(p).read(), str(p.relative_to(self.path)))
                      for p, o in zip(files, shown, strict=True) if not o.error]
            adopted: list[Load] = []
            forget = missing
            if frames:
                rows = pd.concat(frames, ignore_index=True)
                for n, group in rows.groupby("_load", sort=True):
                    known = f" ({sources[int(n)]})" if int(n) in sources else ""
                    rec = self._add(m, group.drop(columns=["_load", "_orphan"]).reset_index(
                        drop=True), forget=forget, t0=t0, started=started, sha256="",
                        file="; ".join(dict.fromkeys(group["_orphan"])),
                        source=f"recovered from {disk.ORPHANS}/: load #{int(n)}{known}",
                        n_read=len(group), n_rejected=0)
                    m, forget = disk.read_manifest(self.path, BNG), []
                    adopted.append(rec)
            elif forget:  # nothing to adopt: only forget the missing files
                txn = disk.Txn(self.path, "recover", 0, m)
                txn.begin([])
                m = txn.commit({**m, "files": [f for f in m["files"]
                                               if f["path"] not in set(forget)],
                                "replaced": []})
            keep = self.path / disk.ORPHANS / disk.ADOPTED / f"generation-{disk.generation(m)}"
            for p, o in zip(files, shown, strict=True):
                if not o.error:
                    dest = keep / p.relative_to(self.path / disk.ORPHANS)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(p, dest)
        for rec in adopted:
            log.info("store recover: %s -> load #%d: %d rows, new %d, already stored %d",
                     rec.source, rec.load, rec.n_read, rec.n_new, rec.n_duplicate)
        return RecoverReport(str(self.path), shown, [asdict(r) for r in adopted], missing,
                             dry_run=False)

    def _write_log(self) -> None:
        loads = self.loads()
        p = self.path / LOADS_CSV
        if not loads.empty or p.exists():
            atomic_write_csv(loads, p)


# ---------------------------------------------------------------------- helpers
def _part_names(new: pd.DataFrame, load_no: int, token: str) -> dict[str, str]:
    """Month -> the data file an append writes for it."""
    months = pd.DatetimeIndex(pd.unique(new["month"])).strftime("%Y-%m")
    return {m: f"{_KEY}={m}/part-{load_no:06d}-{token}.parquet" for m in sorted(months)}


def _rewrite_name(f: dict, token: str, i: int) -> str:
    """The file that replaces listed file `f` when rows are dropped from it."""
    return f"{_KEY}={f['month']}/part-{f['load']:06d}-r{token}{i}.parquet"


def _stored_frame(table: pa.Table, label: str) -> gpd.GeoDataFrame:
    """A data file's rows as :func:`_prepare` gives them, plus where they came from.

    Store columns are kept; ``_orphan`` names the file.
    """
    df = table.drop_columns([c for c in ("geometry",) if c in table.column_names]).to_pandas()
    if "_scope" not in df.columns:  # files written before _scope: derive it
        df["_scope"] = _scopes(pa.array(df["incident_id"].astype(str).to_numpy(dtype=object)),
                               pa.array(df["source"].to_numpy(dtype=object), pa.string(),
                                        from_pandas=True), None).to_numpy(zero_copy_only=False)
    df["_orphan"] = label
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["_x"], df["_y"]), crs=BNG)
def _summary(files: list[dict]) -> tuple[dict[str, int], tuple[float, ...] | None]:
    """Rows per category and the bounds (xmin, ymin, xmax, ymax) of manifest entries."""
    cats: dict[str, int] = {}
    for f in files:
        for c, n in f["categories"].items():
            cats[c] = cats.get(c, 0) + n
    if not files:
        return cats, None
    b = np.array([f["bounds"] for f in files], dtype=float)
    return cats, (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()),
                  float(b[:, 3].max()))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (one writer at a time; POSIX only, else a no-op)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _resolve_input(data: Any, report: Any, read_kwargs: dict):
    """(incidents, report, file label, sha256) for a frame or something to read."""
    if isinstance(data, pd.DataFrame):
        return data, report, "", ""
    from . import datasets
    from .io import read_incidents

    read_kwargs.setdefault("with_report", True)
    inc, report = read_incidents(data, **read_kwargs)
    paths: list[Path] = []
    if isinstance(data, str) and data in datasets.registry():
        paths = [datasets.path(data)]
    else:
        items = data if isinstance(data, list | tuple) else [data]
        paths = [Path(p) for p in items if Path(p).is_file()]
    if len(paths) == 1:
        sha = datasets.sha256_of(paths[0])
    else:  # a folder or glob: the hash of the read files' names and hashes
        files = report.files if paths == [] else tuple(map(str, paths))
        h = hashlib.sha256()
        for f in files:
            if Path(f).is_file():
                h.update(f"{Path(f).name}:{datasets.sha256_of(Path(f))}\n".encode())
        sha = h.hexdigest()
    label = "; ".join(Path(f).name for f in report.files) or str(data)
    return inc, report, label, sha


def _prepare(inc: gpd.GeoDataFrame, id_scope: str | None = None
             ) -> tuple[gpd.GeoDataFrame, int]:
    """The frame as stored (canonical + store columns + extras as text); rows it can't take."""
    x, y = _xy(inc)
    month = _when(inc["month"]) if "month" in inc.columns else None
    if month is None and "occurred_at" in inc.columns:
        month = _when(inc["occurred_at"]).dt.to_period("M").dt.to_timestamp()
    if month is None:
        raise BadInputError("incidents need a 'month' or 'occurred_at' column to be stored")
    ok = np.isfinite(x) & np.isfinite(y) & month.notna().to_numpy()
    n_bad = int((~ok).sum())
    if n_bad:
        log.warning("store: %d rows have no point location or no date and are not stored",
                    n_bad)
    ids = _as_text(inc["incident_id"]) if "incident_id" in inc.columns else content_ids(inc)
    cols: dict[str, Any] = {}
    for c in _CANONICAL:
        if c == "incident_id":
            cols[c] = ids
        elif c == "month":
            cols[c] = month.astype("datetime64[ns]")
        elif c == "occurred_at":
            cols[c] = (_when(inc[c]) if c in inc.columns
                       else pd.Series(pd.NaT, index=inc.index, dtype="datetime64[ns]"))
        else:
            cols[c] = (_as_text(inc[c]) if c in inc.columns
                       else pd.Series(pd.NA, index=inc.index, dtype="str"))
    cols["_x"], cols["_y"] = x, y
    source = pa.array(cols["source"].to_numpy(dtype=object), pa.string(), from_pandas=True)
    scope = _scopes(pa.array(ids.to_numpy(dtype=object), pa.string()), source, id_scope)
    cols["_scope"] = pd.Series(scope.to_numpy(zero_copy_only=False), index=inc.index,
                               dtype="str")
    skip = set(_CANONICAL) | {inc.geometry.name}
    for c in inc.columns:
        if c not in skip:  # the source's own columns, as text: types rarely clash in the store
            name = str(c)
            while name in cols or name == _KEY:  # 'period' would clash with the folder key
                name += "_src"
            # true/false stays so (a flag like `synthetic`); a clash with text is read as text
            keep = pd.api.types.is_bool_dtype(inc[c])
            cols[name] = inc[c] if keep else _as_text(inc[c])
    frame = gpd.GeoDataFrame(cols, geometry=inc.geometry.values, crs=BNG)
    frame = frame.loc[ok].reset_index(drop=True)
    if (frame["incident_id"].fillna("") == "").any():
        raise BadInputError("some incidents have a blank incident_id; drop the column to have "
                            "the store make content ids, or fill it")
    return frame, n_bad


def _when(s: pd.Series) -> pd.Series:
    """Timestamps as the reader gives them: datetime64[ns], tz-naive London local time."""
    t = pd.to_datetime(s, errors="coerce", utc=isinstance(s.dtype, pd.DatetimeTZDtype))
    if not pd.api.types.is_datetime64_any_dtype(t):  # mixed offsets in text: to UTC first
        t = pd.to_datetime(s, errors="coerce", utc=True)
    return london_naive(t)


def _scopes(ids: pa.Array, source: pa.Array, id_scope: str | None) -> pa.Array:
    """Where each id is unique.

    "" (everywhere) for ids made from content and for :data:`GLOBAL_ID_SOURCES`, else
    `id_scope` or the row's ``source``.
    """
    made = pc.fill_null(pc.match_substring_regex(ids, _MADE_ID), fill_value=False)
    if id_scope is None:
        src = pc.fill_null(source.cast(pa.string()), "")
        given = pc.if_else(pc.is_in(src, value_set=pa.array(sorted(GLOBAL_ID_SOURCES))),
                           "", src)
    else:
        given = pa.array(np.full(len(ids), str(id_scope), dtype=object), pa.string())
    return pc.if_else(made, "", given)


def _repeats(values: pa.Array) -> np.ndarray:
    """True where a value already appeared earlier (arrow's hash: ~5x pandas' on text)."""
    codes = pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False)
    out = np.ones(len(values), dtype=bool)
    out[np.unique(codes, return_index=True)[1]] = False
    return out


def _fingerprint(ids: Any, category: Any, month: Any, x: Any, y: Any) -> pd.Series:
    """id, category, month and point (to 1 m) as one string per row."""
    parts = [pd.Series(np.asarray(ids, dtype=object)).astype("str"),
             pd.Series(np.asarray(category, dtype=object)).astype("str"),
             pd.Series(pd.to_datetime(np.asarray(month))).dt.strftime("%Y-%m"),
             pd.Series(np.round(np.asarray(x, dtype=float))).astype("str"),
             pd.Series(np.round(np.asarray(y, dtype=float))).astype("str")]
    return parts[0].str.cat(parts[1:], sep=_SEP)


def _same_elsewhere(frame: gpd.GeoDataFrame, ids: pa.Array, scope: pa.Array,
                    dup: np.ndarray, stored_ids: pa.Array, paths: list[Path]) -> np.ndarray:
    """Rows whose id the store holds from another scope with the same content.

    Copies of one export under two file names (two scopes) are the same incidents;
    two sources that happen to number records alike are not. Only rows whose id
    collides are compared, so this costs nothing in the usual case.
    """
    out = np.zeros(len(frame), dtype=bool)
    cand = (~dup & (pc.not_equal(scope, "").to_numpy(zero_copy_only=False))
            & pc.is_in(ids, value_set=stored_ids).to_numpy(zero_copy_only=False))
    if not cand.any():
        return out
    want = frame.loc[cand]
    cols = ["incident_id", "category", "month", "_x", "_y"]
    held = _scan(paths, ds.field("incident_id").isin(sorted(set(want["incident_id"]))),
                 cols).select(cols).to_pandas()
    same = _fingerprint(*(want[c] for c in cols)).isin(
        set(_fingerprint(*(held[c] for c in cols)))).to_numpy()
    out[np.flatnonzero(cand)[same]] = True
    if same.any():
        log.info("store: %d incidents have the id, category, month and place of incidents "
                 "stored from another source; taken as the same incidents", int(same.sum()))
    if (~same).any():
        log.info("store: %d incidents share an id with another source's incidents but "
                 "differ from them; stored as different incidents (ids are per source)",
                 int((~same).sum()))
    return out


_COMPARED = ("category", "month", "occurred_at", "location_desc", "_x", "_y")


def _content(df: pd.DataFrame) -> pd.Series:
    """What a record says, as one string per row.

    Category, month, time, location text and the point to 1 m (an edit of any of them
    is a changed record).
    """
    parts = [df["category"].astype("string").fillna(""),
             pd.to_datetime(df["month"]).dt.strftime("%Y-%m").fillna(""),
             pd.to_datetime(df["occurred_at"]).dt.strftime("%Y-%m-%dT%H:%M:%S").fillna(""),
             df["location_desc"].astype("string").fillna(""),
             pd.Series(np.round(df["_x"].to_numpy(dtype=float)), index=df.index).astype("str"),
             pd.Series(np.round(df["_y"].to_numpy(dtype=float)), index=df.index).astype("str")]
    return parts[0].str.cat(parts[1:], sep=_SEP)


def _changed(frame: gpd.GeoDataFrame, keys: pa.Array, cand: np.ndarray, paths: list[Path]
             ) -> tuple[np.ndarray, dict[str, list[str]]]:
    """Rows of `cand` whose stored version says something else, and where that is.

    `cand`'s keys are stored; the files holding those stored versions come with their
    keys.

    Only the colliding ids are read back, so a load of new incidents costs nothing.
    """
    out = np.zeros(len(frame), dtype=bool)
    if not cand.any():
        return out, {}
    want = frame.loc[cand]
    cols = ["incident_id", "_scope", "source", *_COMPARED]
    t = _scan(paths, ds.field("incident_id").isin(sorted(set(want["incident_id"]))), cols,
              with_file=True)
    held = t.select([c for c in t.column_names if c in cols or c == "__filename"]).to_pandas()
    for c in cols:  # a column no file has (location text of a source without it)
        if c not in held.columns:
            held[c] = None
    held["_key"] = _keys(t).to_numpy(zero_copy_only=False)
    held = held.drop_duplicates("_key")  # one stored version per key
    stored = pd.Series(_content(held).to_numpy(), index=held["_key"].to_numpy())
    mine = pd.Series(_content(want).to_numpy(),
                     index=np.asarray(keys.filter(pa.array(cand)).to_pylist(), dtype=object))
    before = stored.reindex(mine.index)
    diff = (before.notna() & (before != mine)).to_numpy()
    out[np.flatnonzero(cand)[diff]] = True
    files: dict[str, list[str]] = {}
    hit = held[held["_key"].isin(set(mine.index[diff]))]
    for f, k in zip(hit["__filename"], hit["_key"], strict=True):
        files.setdefault(str(f), []).append(k)
    return out, files


def _as_text(s: pd.Series) -> pd.Series:
    """Text column; missing stays missing (not the string "nan"); text columns as they are."""
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
        return s
    if pd.api.types.is_object_dtype(s) and pd.api.types.infer_dtype(s) in ("string", "empty"):
        return s  # already text (and None): pyarrow writes it as such, no conversion
    try:  # numbers, dates: arrow's cast is ~20x faster than pandas' astype(str)
        text = pa.array(s, from_pandas=True).cast(pa.string())
        return pd.Series(text, index=s.index, dtype=pd.ArrowDtype(pa.string()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return s.astype("str").where(s.notna())


def _stored_keys(paths: list[Path]) -> tuple[pa.Array, pa.Array]:
    """The stored ids and their de-duplication keys (``scope <US> id``)."""
    if not paths:
        return pa.array([], pa.string()), pa.array([], pa.string())
    t = _scan(paths, None, ["incident_id", "_scope"])
    ids = t.column("incident_id").combine_chunks().cast(pa.string())
    return ids, _keys(t, lambda: _scan(paths, None, ["source"]).column("source"))


def _keys(t: pa.Table, source: Any = None) -> pa.Array:
    """De-duplication keys (``scope <US> id``) of stored rows.

    `source` gives the ``source`` column (when `t` lacks it) for files written before
    ``_scope``.
    """
    ids = t.column("incident_id").combine_chunks().cast(pa.string())
    given = (t.column("_scope").combine_chunks().cast(pa.string()) if "_scope" in t.column_names
             else pa.nulls(len(ids), pa.string()))
    if given.null_count:  # files written before the _scope column: derive it from source
        src = source() if source is not None else t.column("source")
        given = pc.if_else(pc.is_null(given),
                           _scopes(ids, src.combine_chunks().cast(pa.string()), None), given)
    return pc.binary_join_element_wise(given, ids, _SEP)


def _schema(paths: list[Path]) -> pa.Schema:
    """One schema for all `paths`: every column of any file.

    A column two files hold as different types (true/false in one, text in another)
    becomes text.
    """
    gone = [p for p in paths if not p.exists()]
    if gone:
        more = f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""
        raise BadInputError(f"the store's data file {gone[0]} is missing{more}: its manifest "
                            f"lists it; `hotspots store check --store {gone[0].parent.parent}` "
                            "lists what is wrong")
    schemas = [pq.read_schema(p) for p in paths]
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        fields: dict[str, list[pa.Field]] = {}
        for sch in schemas:
            for f in sch:
                fields.setdefault(f.name, []).append(f)
        out = []
        for name, fs in fields.items():
            try:
                out.append(pa.unify_schemas([pa.schema([f]) for f in fs],
                                            promote_options="permissive").field(0))
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                out.append(pa.field(name, pa.string()))
        return pa.schema(out, metadata=schemas[0].metadata)


def _read_file(path: str, schema: pa.Schema) -> gpd.GeoDataFrame:
    """One data file as incidents with every column of `schema` (a dask partition)."""
    names = [n for n in schema.names if n != "geometry"]
    return _to_frame(ds.dataset(path, schema=schema, format="parquet").to_table(columns=names))


def _scan(paths: list[Path], expr, columns: Iterable[str] | None,
          *, with_file: bool = False) -> pa.Table | None:
    """Read the filtered rows of `paths` (the one place the store opens data files).

    `with_file` adds each row's file path as ``__filename``.
    """
    if not paths:
        return None
    schema = _schema(paths)
    names = [n for n in schema.names if n != "geometry"]  # rebuilt from _x/_y: faster
    if columns is not None:  # only these (those the files have)
        wanted = set(columns)
        names = [n for n in names if n in wanted]
    dset = ds.dataset([str(p) for p in paths], schema=schema, format="parquet")
    return dset.to_table(columns=names + ["__filename"] * with_file, filter=expr)


def _to_frame(table: pa.Table | None) -> gpd.GeoDataFrame:
    if table is None:
        cols = {c: pd.Series(dtype="str") for c in _CANONICAL}
        cols["occurred_at"] = cols["month"] = pd.Series(dtype="datetime64[ns]")
        return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=BNG), crs=BNG)
    df = table.to_pandas()
    # one Point per distinct location, shared by the rows there (police.uk repeats points)
    codes, uniq = pd.factorize(df["_x"].to_numpy() + 1j * df["_y"].to_numpy())
    geometry = gpd.points_from_xy(uniq.real, uniq.imag, crs=BNG).take(codes)
    df = df.drop(columns=[c for c in STORE_COLUMNS if c in df.columns])
    return gpd.GeoDataFrame(df, geometry=geometry, crs=BNG)


def _month_range(period: Any) -> tuple[str, str]:
    """('YYYY-MM', 'YYYY-MM') inclusive for a period argument; everything for None."""
    if period is None:
        return "0000-00", "9999-99"
    if isinstance(period, tuple | list):
        if len(period) != 2:
            raise BadInputError(f"period must be one month/year or a (start, end) pair, "
                                f"got {period!r}")
        a, b = (_month_range(p) for p in period)
        if a[0] > b[1]:
            raise BadInputError(f"period starts after it ends: {period!r}; give (start, end)")
        return a[0], b[1]
    text = str(period).strip()
    try:
        if len(text) == 4 and text.isdigit():
            return f"{text}-01", f"{text}-12"
        p = pd.Period(pd.Timestamp(text), freq="M")
    except (TypeError, ValueError):
        raise BadInputError(f"period must look like '2022', '2022-03' or a date, "
                            f"got {period!r}") from None
    return str(p), str(p)


def _check_bbox(bbox: Any, crs: Any = None) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        b = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        b = ()
    if len(b) != 4 or b[0] > b[2] or b[1] > b[3]:
        raise BadInputError(f"bbox must be (xmin, ymin, xmax, ymax) in BNG metres, got {bbox!r}")
    if crs is not None:
        from pyproj import CRS, Transformer
        from pyproj.exceptions import CRSError

        try:
            t = Transformer.from_crs(CRS.from_user_input(crs), BNG, always_xy=True)
        except CRSError as exc:
            raise BadInputError(f"bbox_crs {crs!r} is not a CRS: {exc}") from None
        return tuple(float(v) for v in t.transform_bounds(*b))  # type: ignore[return-value]
    if all(abs(v) <= 180 for v in b):
        raise BadInputError(f"bbox {bbox!r} looks like longitude/latitude degrees; it must be "
                            "EPSG:27700 metres (e.g. (514000, 187000, 516000, 189500)), or "
                            "pass bbox_crs='EPSG:4326'")
    return b  # type: ignore[return-value]


def _overlaps(b: list[float], box: tuple[float, float, float, float]) -> bool:
    return not (b[2] < box[0] or b[0] > box[2] or b[3] < box[1] or b[1] > box[3])


def _ward_geometry(wards: Any) -> shapely.Geometry | None:
    """One (multi)polygon for a wards argument: frame, geometry, or names/codes."""
    if wards is None:
        return None
    if isinstance(wards, shapely.Geometry):
        return wards
    if isinstance(wards, gpd.GeoSeries | gpd.GeoDataFrame):
        g = wards.to_crs(BNG) if wards.crs is not None else wards
        return shapely.union_all(g.geometry.values if isinstance(g, gpd.GeoDataFrame)
                                 else g.values)
    from .boundaries import find_ward
    from .boundaries import wards as load_wards

    names = [wards] if isinstance(wards, str) else list(wards)
    table = load_wards(year=2022)
    return shapely.union_all([find_ward(n, table).geometry for n in names])
