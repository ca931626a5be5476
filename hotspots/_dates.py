"""Reading incident dates and times from files: formats, day- or month-first, Excel
serial dates, and a separate time-of-day column combined with the date.

:func:`read_dates` gives :mod:`hotspots.io` each row's ``occurred_at`` and ``month``,
which rows carry a time of day, and notes for people on how the dates were read (a
month-first file, an ambiguous one, a time column that holds no times).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._time import london_naive, month_start

_NS = "datetime64[ns]"

# Tried in order on the values still unparsed: ISO first, then UK day-first styles.
_DATE_FORMATS = (
    "ISO8601", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%y %H:%M",
    "%d/%m/%y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d %b %Y", "%d %B %Y",
    "%d-%b-%y", "%d-%b-%Y", "%m/%d/%Y %I:%M:%S %p", "%b %Y", "%B %Y", "%Y%m%d",
)  # fmt: skip
#: The same, month-first (US style), for files whose dates prove it.
_US_FORMATS = tuple(
    f.replace("%d/%m", "%m/%d").replace("%d-%m", "%m-%d") if f[:2] == "%d" else f
    for f in _DATE_FORMATS
)
#: Excel serial day numbers read as dates: 20000-80000 is 1954-2119 (day 0 = 1899-12-30).
_SERIAL_RANGE = (20_000, 80_000)
_EXCEL_EPOCH = np.datetime64("1899-12-30", "ns")
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})\b")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?")


@dataclass
class DateRead:
    """Dates read from one table (all on a fresh 0..n-1 index)."""

    occurred: pd.Series  # datetime64[ns] London local; NaT where only the month is known
    month: pd.Series  # datetime64[ns], first of the month
    missing: np.ndarray  # no date given
    bad: np.ndarray  # a date given but not readable
    timed: np.ndarray  # occurred_at carries a time of day taken from the file
    notes: list[str] = field(default_factory=list)


def read_dates(df: pd.DataFrame, date: Any, mode: str, *, time: Any = None,
               year: int | None = None, occurred_col: Any = None, file: str = "") -> DateRead:
    """Parse a table's dates.

    Parameters
    ----------
    df : DataFrame
        The table.
    date : column label or None
        The date (or date-time, or month) column.
    mode : str
        ``auto`` (dates or date-times, day- or month-first as the file proves), ``month``
        (month-level dates), ``us_month`` (Camden's ``MM/DD/YYYY hh:mm:ss AM``, month
        level), ``month_number`` (1-12 with `year`), ``canonical`` (our own ``month`` +
        ``occurred_at`` = `occurred_col`) or ``none``.
    time : column label, optional
        A separate time-of-day column, added to dates that have no time of their own.
    """
    n = len(df)
    nat = pd.Series(pd.NaT, index=range(n), dtype=_NS)
    none = np.zeros(n, bool)
    if mode == "none" or date is None:
        return DateRead(nat, nat.copy(), none, none.copy(), none.copy())
    raw = df[date].reset_index(drop=True)
    if time is None and mode != "canonical" and n >= _DISTINCT_MIN:
        distinct = _per_distinct(raw, mode, year, file, str(date))
        if distinct is not None:
            return distinct
    notes: list[str] = []
    if mode == "month_number":
        month, missing = _month_numbers(raw, year)
        return DateRead(nat, month, missing, ~missing & month.isna().to_numpy(), none, notes)
    if mode == "canonical":
        occurred = (parse_dates(df[occurred_col])[0] if occurred_col is not None else nat)
        month, missing = parse_dates(raw)
        month = month_start(month.fillna(occurred))
        missing = missing & occurred.isna().to_numpy()
        timed = occurred.notna().to_numpy() & _has_clock(df[occurred_col] if occurred_col
                                                          is not None else nat)
        return DateRead(occurred, month, missing, ~missing & month.isna().to_numpy(), timed)
    if mode == "us_month":
        text = raw.astype("string").str.strip()
        missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
        parsed = london_naive(pd.to_datetime(text, format="%m/%d/%Y %I:%M:%S %p",
                                             errors="coerce"))
        redo = parsed.isna().to_numpy() & ~missing
        if redo.any():
            parsed[redo] = parse_dates(text[redo])[0].to_numpy()
    else:
        parsed, missing, note = _parse_any(raw, str(date), file)
        notes += note
    month = month_start(parsed)
    bad = ~missing & month.isna().to_numpy()
    if mode in ("month", "us_month") or _looks_monthly(raw, missing):
        return DateRead(nat, month.reset_index(drop=True), missing, bad, none, notes)
    timed = parsed.notna().to_numpy() & _has_clock(raw)
    p = parsed.dropna()
    if timed.any() and not (p != p.dt.normalize()).any():
        timed[:] = False  # "2022-02-07 00:00:00" throughout: dates, not times
    if time is not None:
        parsed, timed = _add_times(parsed, timed, df[time].reset_index(drop=True), str(time),
                                   str(date), notes)
        notes = [n if not file or n.startswith(file) else f"{file}: {n}" for n in notes]
    return DateRead(parsed.reset_index(drop=True), month.reset_index(drop=True), missing, bad,
                    timed, notes)


#: tables from this many rows have their dates read once per distinct value
_DISTINCT_MIN = 1_000


def _per_distinct(raw: pd.Series, mode: str, year: int | None, file: str,
                  name: str) -> DateRead | None:
    """:func:`read_dates` of each distinct value once, spread back to the rows.

    Each value is read on its own (formats, day- or month-first as the distinct
    values prove, which values carry a time), so reading the distinct values gives
    every row what reading them all would; police.uk's million rows hold 12 months.
    None when most values are distinct (nothing to gain).
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        return None
    try:
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists from JSON): each row read on its own
        return None
    if len(uniques) * 4 > len(raw):
        return None
    values = pd.Series(uniques)
    if (codes < 0).any():  # one more row, missing, for the rows with no value
        values = values.reindex(range(len(uniques) + 1))
    one = read_dates(pd.DataFrame({name: values}), name, mode, year=year, file=file)
    slot = np.where(codes < 0, len(uniques), codes)

    def spread(s: pd.Series) -> pd.Series:
        return pd.Series(s.to_numpy()[slot], dtype=s.dtype)

    return DateRead(spread(one.occurred), spread(one.month), one.missing[slot], one.bad[slot],
                    one.timed[slot], one.notes)


def parse_dates(s: pd.Series, formats: tuple[str, ...] = _DATE_FORMATS
                ) -> tuple[pd.Series, np.ndarray]:
    """Parse a date column: (timestamps, missing mask). Unparsed present values are NaT."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = london_naive(s.reset_index(drop=True))
        return out, out.isna().to_numpy()
    text = s.astype("string").str.strip().reset_index(drop=True)
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    out = pd.Series(pd.NaT, index=text.index, dtype=_NS)
    for fmt in formats:
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


def _parse_any(raw: pd.Series, name: str, file: str) -> tuple[pd.Series, np.ndarray, list]:
    """Dates in any supported form: Excel serial numbers, else text day- or month-first."""
    serial = _excel_serial(raw)
    if serial is not None:
        missing = serial.isna().to_numpy() & _blank(raw)
        return serial, missing, [f"{file}: {name} holds Excel serial day numbers: read as dates"]
    if pd.api.types.is_datetime64_any_dtype(raw):
        return (*parse_dates(raw), [])
    text = raw.astype("string").str.strip()
    order, notes = _date_order(text, name, file)
    return (*parse_dates(text, _US_FORMATS if order == "month" else _DATE_FORMATS), notes)


def _blank(raw: pd.Series) -> np.ndarray:
    text = raw.astype("string").str.strip()
    return (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)


def _excel_serial(raw: pd.Series) -> pd.Series | None:
    """Excel serial day numbers (44599.5 = 2022-02-07 12:00) as timestamps, or None when
    the column is not all numbers in the plausible range."""
    if pd.api.types.is_bool_dtype(raw) or pd.api.types.is_datetime64_any_dtype(raw):
        return None
    if pd.api.types.is_numeric_dtype(raw):
        v = raw.to_numpy(dtype=float, na_value=np.nan)
    else:
        text = raw.astype("string").str.strip()
        if not text.str.fullmatch(r"\d{5}(?:\.\d+)?", na=True).all():
            return None
        v = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(v)
    lo, hi = _SERIAL_RANGE
    if not ok.any() or not ((v[ok] >= lo) & (v[ok] <= hi)).all():
        return None
    out = np.full(len(v), np.datetime64("NaT"), dtype=_NS)
    # whole seconds: Excel stores times as day fractions with rounding noise
    out[ok] = _EXCEL_EPOCH + np.round(v[ok] * 86_400).astype("int64").astype("timedelta64[s]")
    return pd.Series(out)


def _date_order(text: pd.Series, name: str, file: str) -> tuple[str, list[str]]:
    """Day-first or month-first for numeric dates like ``03/04/2022``, with a note when
    the file proves month-first or leaves the order open."""
    text = pd.Series(text.dropna().unique(), dtype="string")  # each distinct value once
    m = text.str.extract(_NUMERIC_DATE)
    a = pd.to_numeric(m[0], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    b = pd.to_numeric(m[1], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        day_proof = (a > 12) & (b <= 12)
        month_proof = (b > 12) & (a <= 12)
        open_ = (a <= 12) & (b <= 12) & (a != b)
    where = f"{file}: {name}" if file else name
    if month_proof.any() and not day_proof.any():
        eg = text[month_proof].iloc[0]
        k = int(month_proof.sum())
        return "month", [f"{where} read month-first (US style): {k:,} date"
                         f"{'s' if k != 1 else ''} such as {eg!r} {'have' if k != 1 else 'has'}"
                         " a day over 12 in the second place"]
    if month_proof.any() and day_proof.any():
        return "day", [f"{where} mixes day-first and month-first dates: read day-first; "
                       f"month-first dates such as {text[month_proof].iloc[0]!r} are rejected"]
    if open_.any() and not day_proof.any():
        eg = text[open_].iloc[0]
        d = pd.to_datetime(eg, dayfirst=True, errors="coerce")
        when = f" ({d:%-d %B %Y})" if d is not pd.NaT else ""
        return "day", [f"{where}: dates such as {eg!r} could be day- or month-first; "
                       f"read day-first{when}, as UK data are"]
    return "day", []


def _has_clock(raw: pd.Series) -> np.ndarray:
    """Which values carry a time of day (a clock time in the text, or a non-midnight
    timestamp)."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        t = pd.to_datetime(raw.reset_index(drop=True))
        return (t.notna() & (t != t.dt.normalize())).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        v = raw.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return np.isfinite(v) & (np.mod(v, 1) != 0)
    text = raw.astype("string").reset_index(drop=True)
    return text.str.contains(r"\d:\d{2}", regex=True, na=False).to_numpy(dtype=bool)


def _times_of_day(s: pd.Series) -> pd.Series:
    """Times of day as timedeltas: ``14:05``, ``14:05:09``, ``2:05 PM``, ``1405``, Excel
    fractions (0.5 = 12:00), ``datetime.time`` values; NaT where not a time."""
    if pd.api.types.is_datetime64_any_dtype(s):
        t = pd.to_datetime(s)
        return (t - t.dt.normalize()).astype("timedelta64[ns]")
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            frac = (v >= 0) & (v < 1)
            hhmm = (v >= 1) & (v < 2400) & (np.mod(v, 1) == 0) & (np.mod(v, 100) < 60)
        secs = np.where(frac, np.round(v * 86_400),
                        np.where(hhmm, (v // 100) * 3600 + np.mod(v, 100) * 60, np.nan))
        return pd.Series(pd.to_timedelta(secs, unit="s"))
    text = s.astype("string").str.strip()
    four = text.str.fullmatch(r"\d{4}", na=False)
    text = text.where(~four, text.str[:2] + ":" + text.str[2:])
    m = text.str.extract(_CLOCK)
    h = pd.to_numeric(m[0], errors="coerce")
    mi = pd.to_numeric(m[1], errors="coerce")
    sec = pd.to_numeric(m[2], errors="coerce").fillna(0)
    ampm = m[3].astype("string").str.lower()
    pm = (ampm == "pm").fillna(value=False).to_numpy(dtype=bool)
    h = h.where(ampm.isna().to_numpy(), (h % 12) + np.where(pm, 12, 0))
    ok = (h <= 23) & (mi <= 59) & (sec <= 59)
    secs = (h * 3600 + mi * 60 + sec).where(ok)
    return pd.Series(pd.to_timedelta(secs.to_numpy(dtype=float, na_value=np.nan), unit="s"))


def _add_times(parsed: pd.Series, timed: np.ndarray, times: pd.Series, name: str,
               date_name: str, notes: list[str]) -> tuple[pd.Series, np.ndarray]:
    """Dates without a time of day + the time column -> date-times."""
    if timed.any():  # the date column has its own times: it wins
        notes.append(f"{date_name} holds times of day: column {name} not used")
        return parsed, timed
    td = _times_of_day(times)
    present = ~_blank(times)
    ok = td.notna().to_numpy() & parsed.notna().to_numpy()
    if present.sum() and td[present].notna().mean() < 0.5:
        notes.append(f"column {name} does not hold times of day (such as 14:05): not used")
        return parsed, timed
    out = parsed.copy()
    out[ok] = (parsed[ok] + td[ok]).to_numpy()
    n_bad = int((present & ~td.notna().to_numpy()).sum())
    notes.append(f"times of day from column {name} added to {date_name}"
                 + (f"; {n_bad:,} unreadable times left at midnight" if n_bad else ""))
    return out, ok


def _month_numbers(raw: pd.Series, year: int | None) -> tuple[pd.Series, np.ndarray]:
    n = len(raw)
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        # numbers already (crimemappingdata's 1-12): no round trip through text
        num = raw.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(num)
    else:
        text = raw.astype("string").str.strip()
        missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
        num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    good = np.isin(num, np.arange(1, 13))
    vals = np.full(n, np.datetime64("NaT"), dtype=_NS)
    vals[good] = (np.datetime64(f"{year}-01", "M") + (num[good].astype(int) - 1)).astype(_NS)
    month = pd.Series(vals)
    rest = ~good & ~missing
    if rest.any():  # a full date where a month number was expected: still usable
        parsed, _ = parse_dates(raw[rest])
        month[rest] = month_start(parsed).to_numpy()
    return month, missing


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


def _looks_monthly(raw: pd.Series, missing: np.ndarray) -> bool:
    if pd.api.types.is_datetime64_any_dtype(raw):
        return False
    text = raw.astype("string").str.strip()[~missing]
    return bool(len(text)) and bool(text.str.fullmatch(r"\d{4}-\d{1,2}").all())
