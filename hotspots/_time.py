"""Time handling shared by the analysis modules.

Incidents carry ``occurred_at`` (a tz-naive London-local Timestamp, NaT when only the
month is known, as for police.uk) and ``month`` (the 1st of the month). The helpers here
answer the questions every module asks of them: when did each incident happen, is the
source month-only, what does a user's date or period frequency mean, and which month
does a time fall in.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ._errors import BadInputError

log = logging.getLogger("hotspots")

_NS = "datetime64[ns]"
#: Days of the week as pandas spells them in anchored frequencies ("W-MON").
_DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
#: Our monthly-or-longer freq -> the pandas Period frequency whose start_time is the
#: period start we report.
_MONTHLY = {"MS": "M", "M": "M", "ME": "M", "QS": "Q", "Q": "Q", "QE": "Q",
            "YS": "Y", "Y": "Y", "YE": "Y", "AS": "Y", "A": "Y"}


LONDON_TZ = "Europe/London"


def london_naive(ts: pd.Series) -> pd.Series:
    """datetime64[ns], tz-naive London local time (the canonical ``occurred_at``);
    tz-aware values are converted to Europe/London first."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert(LONDON_TZ).dt.tz_localize(None)
    return ts.astype("datetime64[ns]")


def incident_times(inc: pd.DataFrame, *, dated_only: bool = False,
                   mid_month: bool = False) -> pd.Series:
    """When each incident happened, on the incidents' index.

    Parameters
    ----------
    inc : DataFrame
        Incidents with ``occurred_at`` and/or ``month`` (unparseable values become NaT).
    dated_only : bool, default False
        Only ``occurred_at`` (NaT for month-only records), for day- or hour-level uses.
    mid_month : bool, default False
        Date month-only records on the 15th of their month instead of the 1st, so that
        they fall in the middle of a window measured in days.

    Returns
    -------
    Series
        ``occurred_at`` where known, else the month (unless `dated_only`); NaT when
        unknown.

    Raises
    ------
    BadInputError
        When neither column gives any incident a time (and `dated_only` is False).
    """
    occurred = (
        pd.to_datetime(inc["occurred_at"], errors="coerce")
        if "occurred_at" in inc.columns
        else pd.Series(pd.NaT, index=inc.index, dtype=_NS)
    )
    if dated_only:
        return occurred
    if "month" in inc.columns:
        month = pd.to_datetime(inc["month"], errors="coerce")
        return occurred.fillna(month + pd.Timedelta(days=14) if mid_month else month)
    if occurred.notna().sum() == 0:
        raise BadInputError("incidents have neither 'occurred_at' nor 'month' to count by period")
    return occurred


def month_only(inc: pd.DataFrame) -> bool:
    """True when no incident has a known day (``occurred_at`` missing or all NaT)."""
    return not incident_times(inc, dated_only=True).notna().any()


def parse_days(values: pd.Series) -> pd.Series:
    """People's dates as timestamps, the way the file reader reads them: ISO
    (``2022-02-07``, ``2022/02/07``, ``20220207``) always; numeric dates day-first as UK
    data are (``07/02/2022`` = 7 February 2022); words (``7 Feb 2022``). NaT where
    unreadable; a time zone is kept as given."""
    s = values.astype("string").str.strip()
    # year first with slashes or dots: ISO order, whatever the separator
    s = s.str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", regex=True)
    out = pd.Series([pd.NaT] * len(s), index=values.index, dtype=object)
    for fmt, kw in (("ISO8601", {}), ("mixed", {"dayfirst": True})):
        todo = pd.isna(out).to_numpy() & s.notna().to_numpy()
        if not todo.any():
            break
        for i, v in zip(np.flatnonzero(todo), s[todo], strict=True):
            try:
                out.iloc[i] = pd.to_datetime(v, format=fmt, **kw)
            except (TypeError, ValueError, OverflowError):
                continue
    return out


def parse_time(value: Any, name: str) -> pd.Timestamp:
    """A user's date argument (str, date, Timestamp) as a tz-naive Timestamp.

    Parameters
    ----------
    value : Any
        A date, Timestamp or text: ISO (``'2022-07-01'``) always; numeric dates
        day-first as UK data are (``'07/02/2022'`` = 7 February 2022), like the file
        reader; a time zone is dropped (the clock time is kept).
    name : str
        The argument's name, for the error message.

    Raises
    ------
    BadInputError
        When `value` is not a date.
    """
    try:
        ts = (parse_days(pd.Series([value])).iloc[0] if isinstance(value, str)
              else pd.Timestamp(value))
    except (TypeError, ValueError):
        raise BadInputError(f"{name} must be a date such as '2022-07-01', got {value!r}") from None
    if ts is pd.NaT or pd.isna(ts):
        raise BadInputError(f"{name} must be a date such as '2022-07-01', got {value!r}")
    return ts.tz_localize(None) if ts.tzinfo else ts


def date_span(inc: pd.DataFrame) -> str:
    """When `inc`'s incidents happened, for a message: "7 Feb 2022 – 13 Mar 2022", or
    months for month-only data; "no dates" when none is known."""
    try:
        t = incident_times(inc).dropna()
    except BadInputError:
        return "no dates"
    if t.empty:
        return "no dates"
    if month_only(inc):
        return month_range(t.min(), t.max())
    lo, hi = t.min(), t.max()
    return f"{lo:%-d %b %Y}" if lo.date() == hi.date() else f"{lo:%-d %b %Y} – {hi:%-d %b %Y}"


def only_since(inc: pd.DataFrame, start: pd.Timestamp, name: str = "since") -> pd.DataFrame:
    """The incidents from `start` on; an error saying what the incidents hold when none is.

    Raises
    ------
    BadInputError
        When no incident is on or after `start`.
    """
    kept = inc[(incident_times(inc) >= start).to_numpy()]
    if kept.empty:
        raise BadInputError(f"no incidents from {start:%-d %b %Y} ({name}): the "
                            f"{len(inc):,} incidents run {date_span(inc)}")
    return kept


def period_freq(freq: str) -> tuple[str, bool]:
    """Translate a user `freq` to a pandas Period frequency; also whether it needs days.

    "W-MON" here means weeks that *start* on Monday (Monday-Sunday), labelled by that
    Monday. pandas' own "W-MON" anchors weeks that *end* on Monday and labels a bin
    by its last day; the Period frequency "W-SUN" (weeks ending Sunday) has exactly
    our Monday-Sunday weeks, and its ``start_time`` is the Monday.

    Returns
    -------
    (str, bool)
        The Period frequency and True when it needs day-level times (weeks, days).

    Raises
    ------
    BadInputError
        For a frequency other than weeks, days, months, quarters or years.
    """
    f = str(freq).upper()
    if f in _MONTHLY:
        return _MONTHLY[f], False
    if f == "D":
        return "D", True
    if f == "W":
        f = "W-MON"
    if f.startswith("W-") and f[2:] in _DAYS:
        end = _DAYS[(_DAYS.index(f[2:]) - 1) % 7]  # the week ends the day before it starts
        return f"W-{end}", True
    raise BadInputError(
        f"freq {freq!r} is not supported; use 'W-MON' (weeks starting Monday), 'D', 'MS' "
        "(months), 'QS', 'YS', or None (one total per ward)"
    )


def month_start(t: Any, shift: int = 0) -> Any:
    """The first of the month of `t`, `shift` months later (a Timestamp or a Series).

    A Series comes back as datetime64[ns] on the same index; NaT stays NaT.
    """
    if isinstance(t, pd.Series):
        vals = t.to_numpy(dtype=_NS).astype("datetime64[M]") + shift
        return pd.Series(vals.astype(_NS), index=t.index)
    return (pd.Timestamp(t).to_period("M") + shift).start_time


def nearest_month_start(ts: pd.Timestamp, name: str) -> pd.Timestamp:
    """Round to the nearest first-of-month (month-only data cannot be split mid-month).

    A move is logged, naming the argument `name`.
    """
    m0, m1 = month_start(ts), month_start(ts, 1)
    out = m0 if (ts - m0) <= (m1 - ts) else m1
    if out != ts:
        log.info(
            "%s %s moved to %s: these incidents carry a month only", name, ts.date(), out.date()
        )
    return out


def month_range(lo: Any, hi: Any, sep: str = " – ") -> str:
    """'Jan 2022' or 'Jan 2022 – Mar 2022' (months or Timestamps); '' when either is missing."""
    if pd.isna(lo) or pd.isna(hi):
        return ""
    return f"{lo:%b %Y}" if lo == hi else f"{lo:%b %Y}{sep}{hi:%b %Y}"


def covered_days(inc: pd.DataFrame) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last day the incidents cover (whole months for month-only rows)."""
    lo, hi = [], []
    occ = incident_times(inc, dated_only=True)
    dated = occ.notna()
    if dated.any():
        lo.append(occ.min().normalize())
        hi.append(occ.max().normalize())
    if "month" in inc:
        m = pd.to_datetime(inc["month"][~dated]).dropna()
        if len(m):
            lo.append(month_start(m.min()))
            hi.append(month_start(m.max(), 1) - pd.Timedelta(days=1))
    return (min(lo) if lo else None), (max(hi) if hi else None)
