"""Which incidents and periods an analysis looks at.

The filters of ``top_areas`` (categories, time of day, a period) as row masks, the
two periods its ``change_n`` compares (a period and the one before it, or the data's
two halves in time) and the recency weights of its score. Times are
``occurred_at``, else the middle of the month for month-only data (police.uk).
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import BadInputError
from ._time import incident_times, month_only, parse_time
from ._validate import hours as parse_hours
from ._validate import in_hours
from .categories import check_categories

log = logging.getLogger("hotspots")


def _window(
    t: pd.Series, period: tuple, *, month_only: bool
) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """(prev_start, start, end) with end exclusive, for a (start, end) period.

    Both ends of ``period`` are inclusive whole days; with month-only data they are
    whole months and the previous period is the same number of months before.
    """
    if isinstance(period, str) or not hasattr(period, "__len__") or len(period) != 2:
        raise BadInputError(f"period must be (start, end), e.g. ('2022-07-01', '2022-09-30'); "
                            f"got {period!r}")
    start, end = parse_time(period[0], "period start"), parse_time(period[1], "period end")
    if end < start:
        raise BadInputError(f"period ends ({end.date()}) before it starts ({start.date()})")
    if month_only:
        s, e = start.to_period("M"), end.to_period("M") + 1
        k = (e - s).n
        return (s - k).to_timestamp(), s.to_timestamp(), e.to_timestamp()
    e = end.normalize() + pd.Timedelta(days=1) if end == end.normalize() else end
    return start - (e - start), start, e


def _split_halves(t: pd.Series, *, month_only: bool
                  ) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """Masks of the first and second halves (equal length) of the data's time span.

    Also the bounds (start, middle, end), end exclusive, or None when there is no split.
    """
    if month_only:
        code = _month_codes(t)
        if code is None:  # (times missing: pandas' periods)
            per = t.dt.to_period("M")
            months = np.sort(per.unique())
        else:
            months = pd.PeriodIndex.from_ordinals(np.unique(code), freq="M")
        k = len(months) // 2
        if k == 0:
            z = np.zeros(len(t), bool)
            return z, z, None
        bounds = (months[-2 * k].to_timestamp(), months[-k].to_timestamp(),
                  (months[-1] + 1).to_timestamp())
        if code is None:
            return (per.isin(months[-2 * k : -k]).to_numpy(),
                    per.isin(months[-k:]).to_numpy(), bounds)
        split = months[-k].ordinal  # the months are in order: a comparison per half
        return ((code >= months[-2 * k].ordinal) & (code < split), code >= split, bounds)
    t0, t1 = t.min(), t.max()
    mid = t0 + (t1 - t0) / 2
    return (t < mid).to_numpy(), (t >= mid).to_numpy(), (t0, mid, t1 + pd.Timedelta(1))


def _month_codes(t: pd.Series) -> np.ndarray | None:
    """Each time's month as a pandas monthly period ordinal (months since 1970-01).

    numpy's datetime64[M] is that count: 40x quicker than ``.dt.to_period("M")``
    on a London year. None when a time is missing or not a plain datetime64.
    """
    v = t.to_numpy()
    if v.dtype.kind != "M" or np.isnat(v).any():
        return None
    return v.astype("datetime64[M]").astype(np.int64)


def _span_iso(a: pd.Timestamp, b: pd.Timestamp, *, month_only: bool) -> str:
    """[a, b) as an ISO 8601 interval with an inclusive end.

    '2022-01/2022-06' for whole months, else days ('2022-01-01/2022-06-30').
    """
    fmt = "%Y-%m" if month_only else "%Y-%m-%d"
    return f"{a.strftime(fmt)}/{(b - pd.Timedelta(1)).strftime(fmt)}"


def change_label(attrs: Any) -> str | None:
    """The change's two spans in words, from ``top_areas``' attrs.

    '2022-07-01 to 2022-12-31 vs 2022-01-01 to 2022-06-30' from the ``change_from`` /
    ``change_to`` attrs (None when they are missing).
    """
    a, b = attrs.get("change_from"), attrs.get("change_to")
    if not (isinstance(a, str) and isinstance(b, str)):
        return None
    return f"{b.replace('/', ' to ')} vs {a.replace('/', ' to ')}"


def _recency(
    t: pd.Series | None, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> np.ndarray:
    """2^(-age / h): h is half the time span, so an incident at the start counts 1/4."""
    if t is None:
        return np.ones(0)
    start = t.min() if start is None else start
    end = t.max() if end is None else end
    h = (end - start) / 2
    if not h > pd.Timedelta(0):
        return np.ones(len(t))
    if t.dtype == "datetime64[ns]":
        # pandas' own sum in integer nanoseconds (NaT: age 0), at numpy speed
        v = t.to_numpy()
        age = (pd.Timestamp(end).as_unit("ns").value - v.view(np.int64)) \
            / pd.Timedelta(h).as_unit("ns").value
        age[np.isnat(v)] = 0.0
    else:
        age = np.nan_to_num(((end - t) / h).to_numpy(float), nan=0.0)
    return np.power(2.0, -np.clip(age, 0, None))


def _hours_mask(inc: pd.DataFrame, hours: Any) -> np.ndarray | None:
    """Incidents whose time of day is in [h0, h1) (wrapping past midnight), or None."""
    window = parse_hours(hours)  # the one hours parser (patrol and the CLI use it too)
    if window is None:
        return None
    if month_only(inc):
        log.warning("hours filter ignored: these incidents have no times of day (month only)")
        return None
    occ = incident_times(inc, dated_only=True)
    inside = in_hours((occ.dt.hour + occ.dt.minute / 60).to_numpy(float), window)
    unknown = occ.isna().to_numpy()
    if unknown.any():
        log.info("hours filter: %d incidents without a time are left out", int(unknown.sum()))
    return inside & ~unknown


def _base_mask(inc: gpd.GeoDataFrame, categories: Any, hours: Any) -> np.ndarray:
    """Rows kept by the category and time-of-day filters (bool per incident)."""
    base = np.ones(len(inc), bool)
    if categories is not None:
        cats = sorted(check_categories(
            categories, present=inc["category"] if "category" in inc.columns else None))
        if "category" not in inc.columns:
            raise BadInputError("categories filter needs a 'category' column")
        base &= inc["category"].astype(str).isin(cats).to_numpy()
    if hours is not None:
        hm = _hours_mask(inc, hours)
        if hm is not None:
            base &= hm
    return base


def _period_mask(inc: gpd.GeoDataFrame, base: np.ndarray, period: tuple | None) -> tuple:
    """(times, month-only?, (previous start, start, end) or None, rows in the period).

    Times are ``occurred_at``, else the middle of the month (day 15); None without
    either column.
    """
    t = None
    if "occurred_at" in inc.columns or "month" in inc.columns:
        t = incident_times(inc, mid_month=True)
    monthly = t is not None and month_only(inc)
    if period is None:
        return t, monthly, None, base
    if t is None:
        raise BadInputError("period filter needs 'occurred_at' or 'month' columns")
    window = _window(t, period, month_only=monthly)
    return t, monthly, window, base & ((t >= window[1]) & (t < window[2])).to_numpy()


def _change_masks(t: Any, base: np.ndarray, cur: np.ndarray, window: tuple | None,
                  *, monthly: bool) -> tuple:
    """(rows before, rows now, (start before, start now, end) or None) for ``change_n``.

    With a period: the period and the one of equal length before it; without: the
    data's two halves in time (none without times).
    """
    if window is not None:
        p0, s0, _ = window
        return base & ((t >= p0) & (t < s0)).to_numpy(), cur, window
    if t is None:
        return None, None, None
    first, second, bounds = _split_halves(t, month_only=monthly)
    return base & first, base & second, bounds
