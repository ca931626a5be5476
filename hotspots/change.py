"""Change over time: is this place getting worse, staying bad, or recovering.

- :func:`hotspot_change`: counts per cell, ward or area before and after a date,
  with a Poisson (conditional binomial) test so that "3 → 6, +100%" is not read as
  a real doubling.
- :func:`trend_table`: committee-style counts per ward or area and period, with the
  change against the previous period and the same period last year.

Labelling cells by how their hot/cold-spot status changed lives in
:mod:`hotspots.classify`; an operation's before/after test in :mod:`hotspots.operation`;
one layer's density relative to another's (``dual_kde``) beside ``kde`` in
:mod:`hotspots.density`.
Both share the period and area helpers below (:func:`incident_times_of`,
:func:`data_span`, :func:`days_between`, :func:`area_of_points`, :func:`resolve_areas`).

Times: an incident's time is ``occurred_at`` where known, else the first of its
``month`` (police.uk publishes months only). For month-only data a period split is
moved to the start of a month, since incidents cannot be placed within one.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats as sps

from ._errors import BadInputError
from ._time import (
    incident_times,
    month_only,
    month_start,
    nearest_month_start,
    parse_time,
    period_freq,
)
from ._validate import BNG, check_gdf, check_nonempty, check_positive
from .grid import bin_points, make_grid, points_xy, to_gdf
from .privacy import mark_anonymous
from .stats import fdr_bh

__all__ = [
    "CHANGE_LABELS",
    "area_of_points",
    "data_span",
    "days_between",
    "hotspot_change",
    "incident_times_of",
    "resolve_areas",
    "trend_table",
]

log = logging.getLogger("hotspots")

#: Labels of :func:`hotspot_change`.
CHANGE_LABELS = ("significant increase", "significant decrease", "no significant change")


# --------------------------------------------------------------------------- times
def incident_times_of(inc: pd.DataFrame) -> tuple[pd.Series, bool]:
    """Each incident's time (occurred_at, else month) and whether all are month-only.

    Raises :class:`~hotspots.BadInputError` when no incident has a date.
    """
    t = incident_times(inc)
    if t.notna().sum() == 0:
        raise BadInputError(
            "incidents have no dates (occurred_at or month): cannot compare periods"
        )
    return t, month_only(inc)


def data_span(t: pd.Series, *, monthly: bool) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start and (exclusive) end of the time the data cover."""
    if monthly:
        return month_start(t.min()), month_start(t.max(), 1)
    return t.min().floor("D"), t.max().floor("D") + pd.Timedelta(days=1)


def days_between(a: pd.Timestamp, b: pd.Timestamp) -> float:
    """Days from `a` to `b` (fractional)."""
    return (b - a) / pd.Timedelta(days=1)


# --------------------------------------------------------------------------- areas
def area_of_points(inc: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Position (0..len(areas)-1) of the first area holding each incident; -1 if none."""
    x, y, ok = points_xy(inc)
    pts = shapely.points(x, y)
    tree = shapely.STRtree(areas.geometry.array)
    pi, ai = tree.query(pts, predicate="intersects")
    out = np.full(len(pts), -1, dtype=np.int64)
    order = np.lexsort((ai, pi))  # per point, the lowest area position wins (deterministic)
    pi, ai = pi[order], ai[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    out[pi[first]] = ai[first]
    full = np.full(len(inc), -1, dtype=np.int64)
    full[ok] = out
    return full


def resolve_areas(by: Any, inc: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str]:
    """The areas to count in (wards covering the incidents, or the user's) and their key."""
    if isinstance(by, str) and by == "ward":
        from .boundaries import wards

        w = wards()
        xmin, ymin, xmax, ymax = inc.total_bounds
        w = w[w.intersects(shapely.box(xmin, ymin, xmax, ymax))].reset_index(drop=True)
        return w[["ward_code", "ward_name", "borough_name", "geometry"]], "ward_code"
    if isinstance(by, gpd.GeoDataFrame):
        areas = check_nonempty(check_gdf(by, "areas"), "areas").reset_index(drop=True)
        key = next(
            (c for c in ("area_id", "ward_code", "name", "rank") if c in areas.columns), None
        )
        if key is None:
            areas = areas.assign(area_id=np.arange(1, len(areas) + 1))
            key = "area_id"
        return areas, key
    raise BadInputError(f"by must be 'cell', 'ward' or a GeoDataFrame of areas, got {by!r}")


# --------------------------------------------------------------------------- tests
def _poisson_change_p(n1: np.ndarray, n2: np.ndarray, t1: float, t2: float) -> np.ndarray:
    """Two-sided p of "same rate before and after": n2 | n1+n2 ~ Binomial(n1+n2, t2/(t1+t2))."""
    share = t2 / (t1 + t2)
    p = np.ones(len(n1))
    cache: dict[tuple[int, int], float] = {}
    for i, (a, b) in enumerate(zip(n1.astype(int), n2.astype(int), strict=True)):
        if a + b == 0:
            continue
        key = (a, b)
        if key not in cache:
            cache[key] = float(sps.binomtest(b, a + b, share).pvalue)
        p[i] = cache[key]
    return p



# --------------------------------------------------------------------------- change
def hotspot_change(
    inc: gpd.GeoDataFrame,
    split: Any = None,
    *,
    cell_size: float | None = None,
    by: Any = "cell",
    alpha: float = 0.05,
    p_adjust: str = "fdr",
    quiet: bool = False,
) -> gpd.GeoDataFrame:
    """Counts before and after a date per cell, ward or area, and whether they changed.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents (``occurred_at`` and/or ``month``; any CRS).
    split : date, optional
        First day of the "after" period. Default: the middle of the time the data
        cover (month-only data: the nearest first of a month).
    cell_size : float, optional
        Cell side in metres when ``by="cell"``; default
        :func:`hotspots.grid.default_cell_size`.
    by : "cell", "ward" or GeoDataFrame
        Grid cells; the 2022 wards the incidents fall in (pass
        ``hs.wards(borough)`` to list a borough's wards with none too); or your own areas (keyed
        by ``area_id``/``ward_code``/``name``/``rank`` if present).
    alpha : float, default 0.05
        Significance level of the change test.
    p_adjust : {"fdr", "none"}, default "fdr"
        "fdr": control the false discovery rate across all cells/wards/areas tested
        (Benjamini-Hochberg): with hundreds of cells, p < 0.05 alone would flag about
        one in twenty unchanged cells. "none": each unit tested on its own.
    quiet : bool, default False
        Do not log the chosen parameters.

    Returns
    -------
    GeoDataFrame
        Per cell or ward with at least one incident, or every area you gave: ``n_before,
        n_after, change`` (after − before), ``change_pct`` (% change of the rate per
        day, equal to the % change of counts when both periods are equally long; NaN
        when there were none before), ``p`` (two-sided conditional binomial test of
        equal Poisson rates: given n₁+n₂, n₂ ~ Binomial(n₁+n₂, t₂/(t₁+t₂)) with t the
        period lengths), ``q`` (Benjamini-Hochberg adjusted p), ``significant``
        (q < alpha, or p < alpha with ``p_adjust="none"``) and ``label`` (one of
        :data:`CHANGE_LABELS`). ``attrs``: ``split``, ``start``, ``end`` (ISO dates),
        ``days_before``, ``days_after``, ``alpha``, ``p_adjust``, ``by`` (+ ``cell_size``).
    """
    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    if not 0 < alpha < 1:
        raise BadInputError(f"alpha must be between 0 and 1, got {alpha}")
    if p_adjust not in ("fdr", "none"):
        raise BadInputError(f"p_adjust must be 'fdr' or 'none', got {p_adjust!r}")
    fdr = p_adjust == "fdr"
    t, monthly = incident_times_of(inc)
    start, end = data_span(t, monthly=monthly)
    chosen = []
    if split is None:
        split = start + (end - start) / 2
        split = nearest_month_start(split, "split") if monthly else split.floor("D")
        chosen.append(f"split {split.date()} (middle of the data)")
    else:
        split = parse_time(split, "split")
        if monthly:
            split = nearest_month_start(split, "split")
    if not start < split < end:
        raise BadInputError(
            f"split {split.date()} must fall inside the data ({start.date()} to {end.date()})"
        )
    t1, t2 = days_between(start, split), days_between(split, end)
    before = (t < split).to_numpy() & t.notna().to_numpy()
    after = (t >= split).to_numpy()
    attrs: dict[str, Any] = {
        "split": str(split.date()), "start": str(start.date()), "end": str(end.date()),
        "days_before": t1, "days_after": t2, "alpha": float(alpha), "p_adjust": p_adjust,
    }
    if isinstance(by, str) and by == "cell":
        x, y, ok = points_xy(inc)
        if cell_size is None:
            grid = make_grid(inc)
            chosen.append(f"cell size {grid.cell_size:g} m")
        else:
            grid = make_grid(inc, check_positive(cell_size, "cell_size"))
        n1 = bin_points(x[before[ok]], y[before[ok]], None, grid)
        n2 = bin_points(x[after[ok]], y[after[ok]], None, grid)
        res = to_gdf(grid, {"count": n1 + n2, "n_before": n1, "n_after": n2}, drop_empty=True)
        attrs["by"] = "cell"
    else:
        areas, key = resolve_areas(by, inc)
        pos = area_of_points(inc, areas)
        k = len(areas)
        n1 = np.bincount(pos[before & (pos >= 0)], minlength=k).astype(float)
        n2 = np.bincount(pos[after & (pos >= 0)], minlength=k).astype(float)
        keep = [c for c in areas.columns if c != "geometry"]
        res = gpd.GeoDataFrame(
            areas[keep].assign(count=n1 + n2, n_before=n1, n_after=n2),
            geometry=areas.geometry.array, crs=BNG,
        )
        attrs["by"] = "ward" if isinstance(by, str) else key
        if isinstance(by, str):  # wards near the data but holding none of it say nothing
            res = res[res["count"] > 0].reset_index(drop=True)
    a, b = res["n_before"].to_numpy(), res["n_after"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(a > 0, 100.0 * ((b / t2) / (a / t1) - 1.0), np.nan)
    p = _poisson_change_p(a, b, t1, t2)
    q = fdr_bh(p)
    sig = (q if fdr else p) < alpha
    res["change"] = b - a
    res["change_pct"] = pct
    res["p"] = p
    res["q"] = q
    res["significant"] = sig
    res["label"] = np.where(
        sig & (b / t2 > a / t1), CHANGE_LABELS[0], np.where(sig, CHANGE_LABELS[1], CHANGE_LABELS[2])
    )
    res.attrs.update(attrs)
    if not quiet:
        log.info(
            "hotspot_change: %s%d before / %d after %s; %d significant changes at %s < %g",
            "; ".join(chosen) + "; " if chosen else "", int(a.sum()), int(b.sum()),
            split.date(), int(sig.sum()), "FDR q" if fdr else "p", alpha,
        )
    return mark_anonymous(res, inc)  # writers blank small counts of anonymous reports


# --------------------------------------------------------------------------- trends
_LAGS = {"MS": 12, "QS": 4, "YS": 1, "W-MON": 52, "D": 364}


def trend_table(
    inc: gpd.GeoDataFrame,
    *,
    by: Any = "ward",
    freq: str = "MS",
    population: Any = None,
) -> pd.DataFrame:
    """Committee-style counts per ward or area and period, with the changes people ask about.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents; for ``by="ward"`` after :func:`hotspots.assign_wards` (else the
        2022 wards are assigned here).
    by : "ward" or GeoDataFrame
        Wards, or your own areas (keyed as in :func:`hotspot_change`).
    freq : str, default "MS"
        "MS" months, "QS" quarters, "YS" years, "W-MON" weeks, "D" days.
    population : DataFrame, Series, True or None
        Residents per ward/area (``<key>, population`` or a Series indexed by the
        key); True = GLA ward figures (:func:`hotspots.ward_population`). When given,
        ``rate_per_1000`` is added.

    Returns
    -------
    pandas.DataFrame
        One row per area and period (zero-filled): ``<key>, [ward_name], period,
        count, prev, change_prev, pct_prev, last_year, change_yoy, pct_yoy``
        (+ ``rate_per_1000``). "Last year" is the same period 12 months (52 weeks,
        364 days) earlier; NaN where the data do not reach back. % changes are NaN
        when the earlier count is 0.
    """
    pfreq, _ = period_freq(freq)
    f = "W-MON" if str(freq).upper().startswith("W") else str(freq).upper()
    if isinstance(by, str) and by == "ward":
        from .join import ward_counts

        if "ward_code" not in inc.columns:
            from .boundaries import wards
            from .join import assign_wards

            inc = assign_wards(check_gdf(inc, "incidents"), wards())
        pop_arg = None if population is None or population is True else population
        tab = ward_counts(inc, freq=freq, by=None, rates=population is not None,
                          population=pop_arg)
        key = "ward_code"
    else:
        inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
        areas, key = resolve_areas(by, inc)
        pos = area_of_points(inc, areas)
        t, _ = incident_times_of(inc)
        per = t.dt.to_period(pfreq)
        ok = (pos >= 0) & per.notna().to_numpy()
        df = pd.DataFrame({key: areas[key].to_numpy()[pos[ok]], "period": per[ok].to_numpy()})
        periods = pd.period_range(per.min(), per.max(), freq=pfreq)
        full = pd.MultiIndex.from_product([areas[key], periods], names=[key, "period"])
        tab = df.groupby([key, "period"]).size().reindex(full, fill_value=0).rename("count")
        tab = tab.reset_index()
        tab["period"] = tab["period"].dt.start_time
        if population is not None:
            if isinstance(population, pd.Series):
                pop = population
            elif isinstance(population, pd.DataFrame) and {key, "population"} <= set(
                    population.columns):
                pop = population.set_index(key)["population"]
            else:
                raise BadInputError(
                    f"population for your own areas must be a Series indexed by {key} or a "
                    f"table with columns {key}, population (GLA figures exist for wards only)"
                )
            tab["rate_per_1000"] = 1000.0 * tab["count"] / tab[key].map(pop)
    tab = tab.sort_values([key, "period"]).reset_index(drop=True)
    g = tab.groupby(key, sort=False)["count"]
    tab["prev"] = g.shift(1)
    tab["change_prev"] = tab["count"] - tab["prev"]
    lag = _LAGS.get(f, 1)
    tab["last_year"] = g.shift(lag)
    tab["change_yoy"] = tab["count"] - tab["last_year"]
    with np.errstate(divide="ignore", invalid="ignore"):
        for col, ref in (("pct_prev", "prev"), ("pct_yoy", "last_year")):
            tab[col] = np.where(tab[ref] > 0, 100.0 * (tab["count"] - tab[ref]) / tab[ref], np.nan)
    cols = [c for c in (key, "ward_name", "period", "count", "prev", "change_prev", "pct_prev",
                        "last_year", "change_yoy", "pct_yoy", "rate_per_1000") if c in tab.columns]
    out = tab[cols].copy()
    out.attrs.update(freq=str(freq), by="ward" if key == "ward_code" else key, yoy_lag=lag)
    return out
