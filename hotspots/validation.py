"""What the reader makes of a file, before an analysis is trusted: :func:`validate`.

The report (:class:`ValidationReport`) is what ``hotspots validate`` prints, as data:
the layout detected, rows read / kept / rejected / fixed, the date range and
implausible dates, SYNTHETIC rows, categories (and wordings counted as 'other'), the
extent, and the wards and boroughs the points fall in (joined to every London ward
with the library's one ward-join policy, :func:`hotspots.assign_wards`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from ._errors import BadInputError
from .io import ReadReport

log = logging.getLogger("hotspots")

#: dates before this, or after today, are reported as implausible
FIRST_PLAUSIBLE = "2000-01-01"
#: the ward boundaries the places are reported on
WARDS_YEAR = 2022


@dataclass
class ValidationReport:
    """What :func:`validate` found: the fields of ``hotspots validate --json``.

    Attributes
    ----------
    files : list of str
        The files read.
    kind : str or None
        The layout detected (``police_uk``, ``camden``, ...).
    rows_read, rows_kept, rows_rejected, rows_fixed : int
        Data rows read, kept, rejected and kept after a repair.
    rejected_by_reason, fixed_by_fix : dict
        Rows per reason / repair, largest first.
    rejects : pandas.DataFrame
        The first rejected rows (``file, row, reason, detail``); every one is in
        ``read_report.rejects``.
    dates : dict
        ``first, last`` (text), ``month_only``, ``n_undated``, ``n_implausible`` (before
        :data:`FIRST_PLAUSIBLE` or after today) and ``implausible_example``.
    synthetic, n_synthetic, synthetic_note
        Whether rows are SYNTHETIC (``source == "synthetic"`` or a true ``synthetic``
        column), how many, and the file's note about them.
    categories, unrecognised_categories : dict
        Rows per category; source wordings not in the category table (counted as
        'other').
    extent : dict or None
        ``bng`` (metres) and ``wgs84`` bounds ``[minx, miny, maxx, maxy]``.
    wards_touched, outside_london_wards : int or None
        2022 wards the points fall in, and points in no London ward.
    boroughs : dict
        Points per borough.
    times : dict
        ``n_with_time``: kept rows whose time of day is known (what an hours window
        such as 14:00-24:00 can use; 0 for month-only police.uk data).
    warnings : list of str
        How the files were read where it matters (dates read month-first or an
        ambiguous order, lines not UTF-8, a quote running over line breaks, the sheets
        or layers read, a time column combined with the date).
    incidents : geopandas.GeoDataFrame
        The incidents kept (not in :meth:`to_dict`).
    read_report : hotspots.ReadReport
        The reader's report, with every rejected row (not in :meth:`to_dict`).
    """

    files: list[str]
    kind: str | None
    rows_read: int
    rows_kept: int
    rows_rejected: int
    rows_fixed: int
    rejected_by_reason: dict
    fixed_by_fix: dict
    rejects: pd.DataFrame
    dates: dict
    synthetic: bool
    n_synthetic: int
    synthetic_note: str | None
    categories: dict
    unrecognised_categories: dict
    extent: dict | None = None
    wards_touched: int | None = None
    outside_london_wards: int | None = None
    boroughs: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    incidents: gpd.GeoDataFrame | None = field(default=None, repr=False)
    read_report: ReadReport | None = field(default=None, repr=False)

    _KEYS = ("files", "kind", "rows_read", "rows_kept", "rows_rejected", "rows_fixed",
             "rejected_by_reason", "fixed_by_fix", "rejects", "dates", "synthetic",
             "n_synthetic", "synthetic_note", "categories", "unrecognised_categories",
             "extent", "times", "warnings")
    _PLACES = ("wards_touched", "outside_london_wards", "boroughs")

    @property
    def ok(self) -> bool:
        """True when at least one row was kept (something to analyse)."""
        return self.rows_kept > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (what ``hotspots validate --json`` prints).

        The places (wards, boroughs) only when a point was kept.
        """
        from ._json import plain

        keys = self._KEYS + (self._PLACES if self.extent else ())
        return plain({k: getattr(self, k) for k in keys})

    def summary(self, *, rejects: bool = True) -> str:
        """The report as plain text; `rejects`: with the first rejected rows listed."""
        lines = self._summary_lines()
        if rejects and len(self.rejects):
            lines += [f"first {len(self.rejects)} of {self.rows_rejected:,} rejected rows:",
                      self.rejects.to_string(index=False)]
        return "\n".join(lines)

    def _summary_lines(self) -> list[str]:
        d = self.dates
        lines = [
            f"files: {', '.join(self.files)}",
            f"kind detected: {self.kind}",
            f"rows read: {self.rows_read:,}; kept {self.rows_kept:,}; rejected "
            f"{self.rows_rejected:,}; fixed {self.rows_fixed:,}",
        ]
        lines += [f"  rejected, {r}: {n:,}" for r, n in self.rejected_by_reason.items()]
        lines += [f"  fixed, {r}: {n:,}" for r, n in self.fixed_by_fix.items()]
        if self.synthetic:
            lines.insert(0, f"SYNTHETIC: {self.n_synthetic:,} of {self.rows_kept:,} rows are "
                         "generated, not real reports" + (f" ({self.synthetic_note})"
                                                          if self.synthetic_note else ""))
        if d["first"]:
            lines.append(f"dates: {d['first']} to {d['last']}"
                         + (" (month only: no day or time of day)" if d["month_only"] else "")
                         + (f"; {d['n_undated']:,} undated" if d["n_undated"] else ""))
        else:
            lines.append("dates: none (no date column found, or no row has a readable date)")
        if d["first"] and not d["month_only"]:
            n = self.times.get("n_with_time", 0)
            lines.append(f"times of day: {n:,} of {self.rows_kept:,} rows"
                         + ("" if n else " (dates only: an hours window finds nothing)"))
        if d["n_implausible"]:
            lines.append(f"  implausible dates (before {FIRST_PLAUSIBLE[:4]} or after today): "
                         f"{d['n_implausible']:,}, e.g. {d['implausible_example']}")
        if self.extent:
            b, g = self.extent["bng"], self.extent["wgs84"]
            lines.append(f"extent: E {b[0]:,}-{b[2]:,}, N {b[1]:,}-{b[3]:,} (BNG m); "
                         f"lon {g[0]} to {g[2]}, lat {g[1]} to {g[3]}")
            boroughs = ", ".join(f"{k} {v:,}" for k, v in self.boroughs.items())
            nw = self.wards_touched
            lines.append(f"places: {nw} ward{'s' if nw != 1 else ''} ({WARDS_YEAR}) in "
                         f"{boroughs}" + (f"; {self.outside_london_wards:,} outside every "
                                          "London ward" if self.outside_london_wards else ""))
        if self.categories:
            lines.append("categories: " + ", ".join(f"{k} {v:,}"
                                                    for k, v in self.categories.items()))
        if self.unrecognised_categories:
            lines.append("  not in the category table, counted as 'other': " + ", ".join(
                f"{k!r} {v:,}" for k, v in self.unrecognised_categories.items()))
        lines += [f"note: {w}" for w in self.warnings]
        return lines

    def __str__(self) -> str:
        return self.summary()


def validate(source: Any, *, n_rejects: int = 10, wards: gpd.GeoDataFrame | None = None,
             **read_options: Any) -> ValidationReport:
    """Check what the reader makes of a file before trusting an analysis of it.

    Parameters
    ----------
    source : str, path or list
        Incident file(s), a police.uk folder, a glob or a registry key (as
        :func:`hotspots.read_incidents`).
    n_rejects : int, default 10
        How many rejected rows to keep in ``rejects`` (all are in ``read_report``).
    wards : geopandas.GeoDataFrame, optional
        Wards to place the points in; default every London ward of 2022
        (``hs.wards(year=2022)``), joined with :func:`hotspots.assign_wards`'s default
        tolerance, so the borough totals match ``hs.ward_counts`` of
        :func:`hotspots.borough_incidents`.
    **read_options
        Passed to :func:`hotspots.read_incidents` (``kind``, ``year``, ``lon``/``lat``,
        ``x``/``y``, ...).

    Returns
    -------
    ValidationReport
        ``.summary()`` as text, ``.to_dict()`` as JSON-ready values, ``.ok`` False when
        no row was kept. A file with no row kept is a report, not an error.
    """
    from .categories import unrecognised_categories
    from .io import read_incidents

    inc, report = read_incidents(source, with_report=True,  # bounds=None: keep every row
                                 **{k: v for k, v in read_options.items()
                                    if v is not None or k == "bounds"})
    places: dict[str, Any] = {}
    extent = None
    if len(inc):
        from .boundaries import wards as load_wards
        from .join import assign_wards

        extent = {"bng": [round(v) for v in inc.total_bounds],
                  "wgs84": [round(v, 5) for v in inc.to_crs(4326).total_bounds]}
        joined = assign_wards(inc, load_wards(year=WARDS_YEAR) if wards is None else wards)
        places = {"wards_touched": int(joined["ward_code"].nunique()),
                  "outside_london_wards": int(joined["ward_code"].isna().sum()),
                  "boroughs": joined["borough_name"].value_counts().to_dict()}
    # the source's own wording is kept in `subcategory`; only rows counted as 'other'
    # (a file whose category column is already canonical keeps free text there)
    other = (unrecognised_categories(inc.loc[inc["category"] == "other", "subcategory"])
             .to_dict() if len(inc) and "subcategory" in inc.columns else {})
    return ValidationReport(
        files=list(report.files), kind=inc.attrs.get("read_kind"),
        rows_read=report.n_read, rows_kept=report.n_kept,
        rows_rejected=report.n_rejected, rows_fixed=report.n_fixed,
        rejected_by_reason=report.reason_counts().to_dict(),
        fixed_by_fix=report.fixed["fix"].value_counts().to_dict() if report.n_fixed else {},
        rejects=report.rejects[["file", "row", "reason", "detail"]].head(n_rejects),
        dates=_dates(inc), **_synthetic(inc),
        categories=inc["category"].value_counts().to_dict() if len(inc) else {},
        unrecognised_categories=other, extent=extent, **places,
        times={"n_with_time": report.n_with_time}, warnings=list(report.warnings),
        incidents=inc, read_report=report)


def _dates(inc: pd.DataFrame) -> dict[str, Any]:
    """Date range as the reader found it, and the rows without a plausible date.

    Month-only, day-only or day and time of day; how many rows have no date, and how
    many have an implausible one (with an example).
    """
    from ._time import incident_times, month_only

    try:
        t = incident_times(inc) if len(inc) else pd.Series(dtype="datetime64[ns]")
    except BadInputError:  # neither occurred_at nor month: an undated file
        t = pd.Series(pd.NaT, index=inc.index, dtype="datetime64[ns]")
    dated = t.dropna()
    out: dict[str, Any] = {"first": None, "last": None, "month_only": False,
                           "n_undated": int(len(t) - len(dated)), "n_implausible": 0,
                           "implausible_example": None}
    if dated.empty:
        return out
    monthly = month_only(inc)
    timed = bool((dated != dated.dt.normalize()).any())  # all midnight: days only
    fmt = "%Y-%m" if monthly else "%Y-%m-%d %H:%M" if timed else "%Y-%m-%d"
    today = pd.Timestamp.now().normalize() + pd.Timedelta(days=1)
    odd = dated[(dated < pd.Timestamp(FIRST_PLAUSIBLE)) | (dated >= today)]
    example = None
    if len(odd):
        ident = inc.loc[odd.index[0], "incident_id"] if "incident_id" in inc.columns else None
        example = f"{odd.iloc[0]:{fmt}}" + (f" (incident {ident})" if ident else "")
    out.update(first=f"{dated.min():{fmt}}", last=f"{dated.max():{fmt}}",
               month_only=bool(monthly), n_implausible=int(len(odd)),
               implausible_example=example)
    return out


def _synthetic(inc: pd.DataFrame) -> dict[str, Any]:
    """How many rows are SYNTHETIC and the file's ``note`` about them, if any.

    A row is synthetic when ``source == "synthetic"`` or its ``synthetic`` column is true.
    """
    flag = pd.Series(data=False, index=inc.index)
    if "source" in inc.columns:
        flag |= inc["source"].astype(str).str.strip().str.lower().eq("synthetic")
    if "synthetic" in inc.columns:
        flag |= inc["synthetic"].astype(str).str.strip().str.lower().isin(("true", "1", "yes"))
    note = None
    if flag.any() and "note" in inc.columns:
        notes = inc.loc[flag, "note"].dropna().astype(str)
        note = notes.mode().iloc[0] if len(notes) else None
    return {"synthetic": bool(flag.any()), "n_synthetic": int(flag.sum()),
            "synthetic_note": note}


__all__ = ["FIRST_PLAUSIBLE", "ValidationReport", "validate"]
