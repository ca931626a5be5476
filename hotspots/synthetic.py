"""Synthetic fly-tip and StreetSafe reports on real ward geometry, with planted truth.

No public point-level fly-tip or StreetSafe data exists for London, so the toolkit
ships a seeded generator. Every set it makes is labelled synthetic four ways: the
``source`` column says ``"synthetic"``, a ``synthetic`` column is True, a ``note``
column (and ``attrs["note"]``) says what the points are calibrated to (fly-tips:
FixMyStreet report counts, which measure reporting, not incidence), and
``attrs["synthetic"]`` is True.

What a set holds
----------------
- **Background** points spread over the borough's 2011 LSOAs (clipped to the
  wards of `year`), uniformly within each LSOA piece.
- **Planted hotspots** (6-8 unless ``n_hotspots`` says otherwise; a small borough
  gets fewer and smaller ones, see below) hold 15-20% of
  the set (a seeded draw; to whole points) and sharpen the calibrated pattern
  rather than move it. Placement: a centre is drawn as a background point is (an
  LSOA piece with probability its calibrated share, uniform inside it), kept when
  the ellipse fits wholly inside the piece's ward and 200 m clear of the others, so
  a hotspot in a ward with few reports is rare. Size: each holds ``min(1%,
  share / (2k))`` of the set plus a part of the rest in proportion to its ward's
  calibrated share, so a hotspot in a quiet ward is small (and the ward ranking over
  all points keeps following FixMyStreet: Spearman about 0.9 on Harrow). Shape:
  tight ellipses of equal-area radius 60-150 m (aspect up to 1.8), denser towards
  the centre, so each stands out. About half (the biggest) are active only in a
  burst of 3-8 weeks (in a year; 2 in a quarter), the bursts in disjoint slices of
  the period, so a focus-week analysis has a dominant ward in each burst; the
  others run the whole period. Small boroughs: the default number is capped at one
  hotspot per 1.5 km² of borough (at least 2), and when the wards' median inscribed
  radius is under 300 m the radii shrink in proportion (not below 25 m), so the
  City of London (2.9 km², wards about 90 m deep) gets 2 hotspots of about 25-46 m,
  still far denser than its background; every other borough keeps 6-8 of 60-150 m.
  If a default hotspot still finds no room, the ones placed are kept.
  ``return_truth=True`` also returns
  one row per hotspot: ``hotspot_id, ward_code, ward_name, radius_m, semi_major_m,
  semi_minor_m, angle_deg, n_points, intensity, main_subcategory, start, end,
  start_week, end_week, persistent, geometry`` (the planted ellipse, EPSG:27700).
  ``start`` is the first active day, ``end`` the exclusive end (midnight after the
  last active day); ``start_week``/``end_week`` are 0-based and inclusive, counted
  from the set's ``start``. ``intensity`` is the hotspot's point density per km² per
  active week divided by the background's, over the borough. StreetSafe uses the
  same rule with the flat LSOA (population) weights.
- **Times**: a day drawn by season x day-of-week weight, an hour by an
  hour-of-day profile, a uniform minute. Fly-tips peak early morning (05-08) and
  evening (18-21) and at weekends; StreetSafe reports peak in the evening and at
  night (18-02) and on Friday/Saturday.

Calibration (fly-tips)
----------------------
- **Total**: when ``n`` is None, the borough's latest annual total in Defra's ENV24
  fly-tipping statistics (registry key ``defra_flytips``; Harrow 2021-22: 9,802),
  pro rata to ``weeks``/52.
- **Where**: each 2011 LSOA ``i`` of the borough gets the empirical-Bayes share

      s_i = (r_i + alpha * p_i) / (R + alpha),    p_i = 1 / K

  of the background, where ``r_i`` is its FixMyStreet fly-tipping + dumped-rubbish
  reports 2007-2020 (``fixmystreet_flytips``), ``R`` the borough's total and ``K``
  its LSOAs. The prior ``p`` is flat per LSOA, which is a population prior (LSOAs
  were drawn to hold about 1,500 residents each). ``alpha`` (pseudo-reports)
  maximises the Dirichlet-multinomial marginal likelihood of the counts,
  ``lnG(alpha) - lnG(R + alpha) + sum_i [lnG(r_i + alpha p_i) - lnG(alpha p_i)]``
  (bounded to 1..1e6), so a borough with few or evenly spread reports is pulled
  towards the prior and one with many keeps its own pattern. Harrow: R = 856,
  alpha = 111, FixMyStreet carries R / (R + alpha) = 88% of the weight; the busiest
  LSOA (78 reports) gets 8.1%, an LSOA without reports 0.08%. Within an LSOA points
  are uniform, split between its pieces in the wards of ``year`` by area. Hotspot
  centres are drawn by the same weights (above). :func:`fms_calibration` returns
  all of it.
- **When**: the borough's reports per month of year (full years 2008-2020), shrunk
  the same way towards the London profile (each full year normalised to its own
  total before averaging, so FixMyStreet's growth does not read as seasonality):
  ``m_j = (c_j + beta * q_j) / (C + beta)``, ``beta`` by the same likelihood
  (Harrow: C = 855, beta = 970, so 47% Harrow, 53% London). A day's weight is
  ``m_j`` divided by the month's mean length (Feb 28.25 days) times the day-of-week
  weight.
- These counts measure **reporting through FixMyStreet, not incidence**: every
  fly-tip row's ``note`` column and ``attrs["note"]`` say so. The real counts are
  :func:`hotspots.fixmystreet.fixmystreet_counts`.
- **What**: ``subcategory`` shares and ``size`` classes from the borough's latest
  Defra year whose waste types and sizes are mostly identified (Harrow 2021-22),
  plus a 2% floor per type so no type is impossible. Defra has no mattress type:
  mattresses are taken as 20% of "other household waste" (an assumption).
  ``size_class`` uses Defra's wording ("Single Black Bag" ... "Significant / Multi
  Loads"); ``size`` is an approximate volume in m³ (0.1 for a bag up to 20 for
  multi loads, with +-25% jitter), usable as a weight.

StreetSafe (no public counts or locations exist): background by the flat LSOA
(population) prior, ``n`` defaults to 60 reports a week, reasons have assumed
shares (poor lighting 30%, verbally abused 20%, followed 18%, other 14%, vandalism
10%, abandoned buildings 8%), and no seasonality.

Randomness only through ``numpy.random.default_rng(seed)``: same arguments, same
output, byte for byte when written with :func:`write_sample`.
"""

from __future__ import annotations

import gzip
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import minimize_scalar
from scipy.special import gammaln
from shapely import affinity

from . import datasets, fixmystreet
from ._atomic import atomic_write_bytes, atomic_write_csv, atomic_write_geojson
from ._errors import BadInputError
from ._validate import BNG, WGS84
from .boundaries import WARD_SETS, boroughs, wards
from .datasets import FLY_TIP_NOTE, STREETSAFE_NOTE

__all__ = [
    "FLY_TIP_SUBCATEGORIES",
    "SIZE_CLASSES",
    "STREETSAFE_REASONS",
    "defra_calibration",
    "fly_tips",
    "fms_calibration",
    "fms_seasonality",
    "sample_fly_tips",
    "streetsafe",
    "write_sample",
]

log = logging.getLogger("hotspots")

FLY_TIP_SUBCATEGORIES: dict[str, list[str]] = {
    # our wording -> Defra ENV24 waste-type columns
    "black bags": ["Black Bags - Commercial Incidents", "Black Bags - Household Incidents"],
    "household items": ["Other Household Waste Incidents"],
    "mattress": ["Other Household Waste Incidents"],
    "white goods": ["White Goods Incidents", "Other Electrical Incidents"],
    "construction waste": ["Constr / Demol / Excav Incidents", "Asbestos Incidents"],
    "green waste": ["Green Incidents"],
    "tyres": ["Tyres Incidents", "Vehicle Parts Incidents"],
    "commercial waste": [
        "Other Commercial Waste Incidents",
        "Chemical Drums, Oil, Fuel Incidents",
    ],
}
_MATTRESS_SHARE = 0.2  # of Defra's "other household waste"; Defra has no mattress type

#: Defra size class -> (Defra column, approximate volume in m³)
SIZE_CLASSES: dict[str, tuple[str, float]] = {
    "Single Black Bag": ("Single Black Bag Incidents", 0.1),
    "Single Item": ("Single Item Incidents", 0.5),
    "Car Boot or Less": ("Car Boot or Less Incidents", 1.0),
    "Small Van Load": ("Small Van Load Incidents", 3.0),
    "Transit Van Load": ("Transit Van Load Incidents", 6.0),
    "Tipper Lorry Load": ("Tipper Lorry Load Incidents", 10.0),
    "Significant / Multi Loads": ("Significant / Multi Loads Incidents", 20.0),
}
# which size classes each waste type can come in (a mattress is never a tipper load)
_SIZES_FOR: dict[str, list[str]] = {
    "black bags": ["Single Black Bag", "Car Boot or Less", "Small Van Load", "Transit Van Load"],
    "household items": ["Single Item", "Car Boot or Less", "Small Van Load", "Transit Van Load"],
    "mattress": ["Single Item", "Car Boot or Less"],
    "white goods": ["Single Item", "Car Boot or Less", "Small Van Load"],
    "construction waste": [
        "Car Boot or Less", "Small Van Load", "Transit Van Load", "Tipper Lorry Load",
        "Significant / Multi Loads",
    ],
    "green waste": ["Car Boot or Less", "Small Van Load", "Transit Van Load"],
    "tyres": ["Single Item", "Car Boot or Less", "Small Van Load", "Transit Van Load"],
    "commercial waste": [
        "Car Boot or Less", "Small Van Load", "Transit Van Load", "Tipper Lorry Load",
        "Significant / Multi Loads",
    ],
}

STREETSAFE_REASONS: dict[str, float] = {
    "poor lighting": 0.30,
    "verbally abused": 0.20,
    "followed": 0.18,
    "other": 0.14,
    "vandalism": 0.10,
    "abandoned buildings": 0.08,
}

# hour-of-day (0..23) and day-of-week (Mon..Sun) relative weights
_FLY_HOURS = np.array([0.4, 0.3, 0.3, 0.3, 0.5, 1.6, 2.4, 2.6, 2.0, 1.2, 1.0, 1.0,
                       1.0, 1.0, 1.0, 1.1, 1.3, 1.6, 2.0, 2.2, 2.1, 1.8, 1.2, 0.7])
_FLY_DOW = np.array([0.9, 0.85, 0.85, 0.9, 1.0, 1.35, 1.4])
_SS_HOURS = np.array([2.0, 1.6, 1.2, 0.8, 0.4, 0.3, 0.4, 0.7, 1.0, 0.8, 0.6, 0.6,
                      0.7, 0.7, 0.8, 1.0, 1.3, 1.8, 2.6, 3.0, 3.2, 3.2, 3.0, 2.6])
_SS_DOW = np.array([0.85, 0.85, 0.9, 1.0, 1.25, 1.35, 1.0])

_ALPHA_BOUNDS = (1.0, 1e6)  # empirical-Bayes prior weight, pseudo-reports
_MONTH_DAYS = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_SS_PER_WEEK = 60  # default StreetSafe reports a week (no public figure exists)
_MIN_N = 100  # below this, planted hotspots are a handful of points each
_PLANTED_SHARE = (0.15, 0.20)  # of a set's points in planted hotspots (a seeded draw)
_MIN_HOTSPOT_SHARE = 0.01  # each planted hotspot holds at least min(this, share / (2k))
_N_HOTSPOTS = (6, 8)  # default number of planted hotspots (a seeded draw)
_RADIUS_M = (60.0, 150.0)  # planted hotspots' equal-area radius: tight, so detectable
_MIN_RADIUS_M = 25.0  # smallest radius after scaling down for a small borough
_WARD_CORE_M = 300.0  # wards this deep (median inscribed radius) take the full radii
_KM2_PER_HOTSPOT = 1.5  # default hotspots at most one per this much borough (2 or more)


@dataclass(frozen=True)
class _Spec:
    """What differs between fly-tips and StreetSafe."""

    category: str
    id_prefix: str
    salt: int  # mixed into the seed so the two generators draw different streams
    hours: np.ndarray
    dow: np.ndarray
    use_fms: bool  # FixMyStreet weights (fly-tips) or the flat population prior
    note: str  # what every row and the frame's attrs say about where the points come from


_FLY = _Spec("fly_tip", "ft", 0, _FLY_HOURS, _FLY_DOW, use_fms=True, note=FLY_TIP_NOTE)
_SS = _Spec("streetsafe", "ss", 1, _SS_HOURS, _SS_DOW, use_fms=False, note=STREETSAFE_NOTE)


# --------------------------------------------------------------------------- calibration
def _eb_shares(counts, prior) -> tuple[np.ndarray, float]:
    """Empirical-Bayes shares of `counts`, shrunk towards `prior`; and the prior weight.

    The counts are taken as a Dirichlet-multinomial draw with shares ~ Dirichlet(alpha
    * prior). alpha (pseudo-reports) maximises the marginal likelihood of the counts
    (bounded to 1..1e6; at 1e6 the counts show no detectable departure from the prior),
    and the shares are the posterior means ``(counts + alpha * prior) / (total + alpha)``.
    """
    r = np.asarray(counts, dtype=float)
    pi = np.asarray(prior, dtype=float)
    pi = pi / pi.sum()
    total = r.sum()
    if total == 0:
        return pi, math.inf

    def nll(log_a: float) -> float:
        a = math.exp(log_a)
        return -(gammaln(a) - gammaln(total + a) + np.sum(gammaln(r + a * pi) - gammaln(a * pi)))

    res = minimize_scalar(nll, bounds=np.log(_ALPHA_BOUNDS), method="bounded",
                          options={"xatol": 1e-4})
    a = float(math.exp(res.x))
    return (r + a * pi) / (total + a), a


@lru_cache(maxsize=1)
def _london_month_shares() -> np.ndarray:
    # each full year normalised to its own total before averaging, so the growth of
    # FixMyStreet over the years does not read as seasonality
    t = fixmystreet.month_reports()
    return t.div(t.sum(axis=1), axis=0).mean(axis=0).to_numpy()


@lru_cache(maxsize=64)
def _fms_calibration(code: str) -> dict:
    lsoa = fixmystreet.borough_lsoas(code)["LSOA11CD"]
    reports = fixmystreet.lsoa_reports(code)["reports"].reindex(lsoa, fill_value=0)
    prior = np.full(len(lsoa), 1.0 / len(lsoa))  # flat per LSOA = a population prior
    share, alpha = _eb_shares(reports.to_numpy(), prior)
    london = _london_month_shares()
    months = fixmystreet.month_reports(code).sum(axis=0)
    m_share, m_alpha = _eb_shares(months.to_numpy(), london)
    total, m_total = int(reports.sum()), int(months.sum())
    return {
        "borough_code": code, "reports": total, "alpha": alpha,
        "data_weight": total / (total + alpha),
        "lsoa": pd.DataFrame({"reports": reports.to_numpy().astype(int), "prior": prior,
                              "share": share}, index=pd.Index(lsoa, name="LSOA11CD")),
        "month_reports": m_total, "month_alpha": m_alpha,
        "month_data_weight": m_total / (m_total + m_alpha),
        "months": pd.DataFrame({"reports": months.to_numpy().astype(int), "london": london,
                                "share": m_share, "day_weight": m_share / _MONTH_DAYS * 365.25},
                               index=pd.Index(range(1, 13), name="month")),
    }


def fms_calibration(borough: str) -> dict:
    """Where and when a borough's synthetic fly-tips fall: FixMyStreet, smoothed.

    Spatial: each 2011 LSOA's share is the empirical-Bayes posterior mean
    ``(r_i + alpha / K) / (R + alpha)`` of its FixMyStreet fly-tip + dumped-rubbish
    reports ``r_i`` (2007-2020; ``R`` the borough's total, ``K`` its LSOAs), shrunk
    towards a flat prior (LSOAs hold about 1,500 residents each, so flat is a
    population prior); ``alpha`` maximises the Dirichlet-multinomial likelihood of
    the counts. Seasonal: the borough's reports per month of year (full years
    2008-2020) shrunk the same way towards the London profile (:func:`fms_seasonality`).

    Parameters
    ----------
    borough : str
        One London borough, name or E09 code.

    Returns
    -------
    dict
        ``borough_code``, ``reports`` (R), ``alpha``, ``data_weight`` (R / (R +
        alpha)), ``lsoa`` (frame indexed by ``LSOA11CD``: ``reports, prior, share``;
        shares sum to 1), ``month_reports``, ``month_alpha``, ``month_data_weight``,
        ``months`` (frame indexed 1..12: ``reports``, ``london`` share, smoothed
        ``share``, ``day_weight`` = share per day of that month, mean about 1).
        Cached: treat as read-only.
    """
    b = boroughs(borough)
    if len(b) != 1:
        raise BadInputError(f"fms_calibration takes one borough, got {borough!r}")
    return _fms_calibration(b["borough_code"].iloc[0])


def fms_seasonality(borough: str | None = None) -> tuple[float, ...]:
    """Month-of-year weights (Jan..Dec, mean 1) from FixMyStreet fly-tip reports.

    London (default): each full year 2008-2020 normalised to its own total before
    averaging, so the growth of FixMyStreet does not show up as seasonality. For a
    borough: its smoothed profile from :func:`fms_calibration`.
    """
    shares = _london_month_shares() if borough is None else (
        fms_calibration(borough)["months"]["share"].to_numpy())
    return tuple(float(v) for v in shares * 12)


def _defra_rows(borough_name: str) -> pd.DataFrame:
    d = pd.read_csv(datasets.path("defra_flytips"), dtype=str)
    d = d[d["LA Name"].str.strip().str.lower() == borough_name.lower()]
    num = d.drop(columns=["Year", "ONS Code", "LA Name", "Region", "Reporting basis"],
                 errors="ignore")
    num = num.apply(lambda c: pd.to_numeric(c.str.replace(",", ""), errors="coerce")).fillna(0)
    num.insert(0, "Year", d["Year"].str.strip())
    return num.sort_values("Year", ignore_index=True)


def defra_calibration(borough_name: str) -> dict:
    """Fly-tip totals, waste-type and size-class weights for a borough from Defra ENV24.

    Returns
    -------
    dict
        ``total`` (latest year's incidents), ``total_year``, ``types`` (subcategory ->
        weight, summing to 1), ``types_year``, ``sizes`` (size class -> weight),
        ``sizes_year``. Weights carry a 2% floor per class. Falls back to all-London
        shares when the borough is not in the file (``total`` is then None).
    """
    rows = _defra_rows(borough_name)
    if rows.empty:
        rows, total, total_year = _defra_rows_all(), None, None
    else:
        total, total_year = int(rows["Total Incidents"].iloc[-1]), rows["Year"].iloc[-1]

    def pick(cols: dict[str, float]) -> tuple[dict[str, float], str]:
        # latest year whose identified classes cover at least half the incidents
        for i in range(len(rows) - 1, -1, -1):
            r = rows.iloc[i]
            vals = {k: float(sum(r[c] for c in cs)) * f for k, (cs, f) in cols.items()}
            if sum(vals.values()) >= 0.5 * r["Total Incidents"] > 0:
                tot = sum(vals.values())
                w = {k: max(v / tot, 0.02) for k, v in vals.items()}
                s = sum(w.values())
                return {k: v / s for k, v in w.items()}, r["Year"]
        return {k: 1 / len(cols) for k in cols}, "none"

    type_cols = {
        k: (cs, _MATTRESS_SHARE if k == "mattress" else
            (1 - _MATTRESS_SHARE if k == "household items" else 1.0))
        for k, cs in FLY_TIP_SUBCATEGORIES.items()
    }
    types, types_year = pick(type_cols)
    sizes, sizes_year = pick({k: ([c], 1.0) for k, (c, _) in SIZE_CLASSES.items()})
    return {"total": total, "total_year": total_year, "types": types,
            "types_year": types_year, "sizes": sizes, "sizes_year": sizes_year}


def _defra_rows_all() -> pd.DataFrame:
    d = pd.read_csv(datasets.path("defra_flytips"), dtype=str)
    names = d["LA Name"].str.strip().unique()
    parts = [_defra_rows(n) for n in names]
    return pd.concat(parts).groupby("Year", as_index=False).sum(numeric_only=True)


# --------------------------------------------------------------------------- geometry
@lru_cache(maxsize=8)
def _pieces(borough: str, year: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(LSOA x ward pieces, the borough's wards), EPSG:27700.

    Each piece carries ``area_share`` (of its LSOA) and ``fms_share``: its LSOA's FixMyStreet share
    (:func:`fms_calibration`) split between the LSOA's pieces by area, so the pieces
    of one LSOA sum to exactly the LSOA's share.
    """
    w = wards(borough, year)
    if w.empty:
        raise BadInputError(f"no wards found for {borough!r} in {year}")
    if w["borough_code"].nunique() != 1:
        raise BadInputError("the synthetic generators make one borough at a time")
    code = w["borough_code"].iloc[0]
    lsoa = fixmystreet.borough_lsoas(code)[["LSOA11CD", "geometry"]]
    pieces = gpd.overlay(lsoa, w[["ward_code", "ward_name", "geometry"]], how="intersection",
                         keep_geom_type=True)
    pieces = pieces[pieces.geometry.area > 100.0]  # drop boundary slivers (< 100 m²)
    pieces = pieces.sort_values(["LSOA11CD", "ward_code"], ignore_index=True)
    area = pieces.geometry.area
    pieces["area_share"] = area / area.groupby(pieces["LSOA11CD"]).transform("sum")
    lsoa_share = _fms_calibration(code)["lsoa"]["share"]
    pieces["fms_share"] = pieces["LSOA11CD"].map(lsoa_share).to_numpy() * pieces["area_share"]
    return pieces, w


def _uniform_in(geom, k: int, rng: np.random.Generator) -> np.ndarray:
    """`k` points uniformly inside `geom`, coordinates rounded to 0.1 m (rejection)."""
    shapely.prepare(geom)
    x0, y0, x1, y1 = geom.bounds
    frac = max(geom.area / max((x1 - x0) * (y1 - y0), 1e-9), 0.05)
    out = np.empty((0, 2))
    while len(out) < k:
        m = int((k - len(out)) / frac * 1.3) + 8
        xy = np.round(np.column_stack([rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)]), 1)
        out = np.vstack([out, xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]])
    return out[:k]


def _ellipse(cx: float, cy: float, a: float, b: float, angle: float):
    e = affinity.scale(shapely.Point(0, 0).buffer(1.0, quad_segs=16), a, b)
    return affinity.translate(affinity.rotate(e, angle, origin=(0, 0)), cx, cy)


def _in_ellipse(poly, cx, cy, a, b, angle, k: int, rng: np.random.Generator) -> np.ndarray:
    """`k` points in an ellipse, denser towards the centre, all inside `poly` (0.1 m)."""
    shapely.prepare(poly)
    t = math.radians(angle)
    out = np.empty((0, 2))
    while len(out) < k:
        m = (k - len(out)) + 8
        r = rng.uniform(0, 1, m) ** 0.75  # radial density ~ 1/r^(1/3): peaked, not spiky
        th = rng.uniform(0, 2 * np.pi, m)
        u, v = a * r * np.cos(th), b * r * np.sin(th)
        xy = np.round(np.column_stack([cx + u * math.cos(t) - v * math.sin(t),
                                       cy + u * math.sin(t) + v * math.cos(t)]), 1)
        out = np.vstack([out, xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]])
    return out[:k]


# --------------------------------------------------------------------------- generator
def _check_args(start, weeks, seed, n, n_hotspots) -> tuple[pd.Timestamp, int]:
    try:
        t0 = pd.Timestamp(start).normalize()
    except (TypeError, ValueError):
        raise BadInputError(f"start must be a date like '2022-01-03', got {start!r}") from None
    if not isinstance(weeks, int | np.integer) or weeks < 1:
        raise BadInputError(f"weeks must be a whole number >= 1, got {weeks!r}")
    if not isinstance(seed, int | np.integer):
        raise BadInputError(f"seed must be an integer, got {seed!r}")
    if n is not None and (not isinstance(n, int | np.integer) or n < _MIN_N):
        raise BadInputError(f"n must be a whole number >= {_MIN_N} (or None), got {n!r}")
    if n_hotspots is not None and not (0 <= n_hotspots <= 15):
        raise BadInputError(f"n_hotspots must be between 0 and 15, got {n_hotspots!r}")
    return t0, int(weeks)


def _draw_times(days: pd.DatetimeIndex, day_w: np.ndarray, hours: np.ndarray, k: int,
                rng: np.random.Generator) -> pd.DatetimeIndex:
    d = rng.choice(len(days), size=k, p=day_w / day_w.sum())
    h = rng.choice(24, size=k, p=hours / hours.sum())
    mins = rng.integers(0, 60, size=k)
    return days[d] + pd.to_timedelta(h * 60 + mins, unit="min")


def _windows(k: int, weeks: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Active weeks (first, last; 0-based, inclusive) per hotspot.

    About half the hotspots are episodic (`_plant` gives these windows to the
    biggest). Their windows sit in disjoint slices of
    the period, so in any episodic window one planted hotspot is active on top of
    the persistent ones and its ward clearly leads that window.
    """
    n_epi = min(k // 2, weeks // 2)
    out = [(0, weeks - 1)] * k
    epi = rng.permutation(k)[:n_epi]
    edges = np.round(np.linspace(0, weeks, n_epi + 1)).astype(int)
    for j, i in enumerate(epi):
        lo, span = int(edges[j]), int(edges[j + 1] - edges[j])
        # a burst of 3-8 weeks in a year: short enough that its ward leads its window
        hi = min(span, max(2, weeks // 6))
        length = int(rng.integers(min(hi, max(2, weeks // 16)), hi + 1))
        s = lo + int(rng.integers(0, span - length + 1))
        out[int(i)] = (s, s + length - 1)
    return out


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """`total` split in proportion to `weights` as whole numbers (largest remainder)."""
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out), kind="stable")[: total - out.sum()]] += 1
    return out


def _fit_to_borough(w: gpd.GeoDataFrame) -> tuple[int, tuple[float, float]]:
    """Most default hotspots and the radius range a borough's wards leave room for.

    Harrow-sized boroughs get 8 and 60-150 m. A borough under 12 km² gets one hotspot
    per 1.5 km² (at least 2: the City of London's 2.9 km² get 2), and wards whose
    median inscribed radius is under 300 m shrink the radii in proportion (not below
    25 m; the City's 92 m wards give about 25-46 m), so the ellipses still fit inside
    a ward and stay 200 m apart.
    """
    k_max = max(2, min(_N_HOTSPOTS[1], int(w.geometry.area.sum() / 1e6 // _KM2_PER_HOTSPOT)))
    core = float(np.median(shapely.length(shapely.maximum_inscribed_circle(w.geometry.values))))
    scale = min(1.0, core / _WARD_CORE_M)
    lo, hi = (max(_MIN_RADIUS_M, r * scale) for r in _RADIUS_M)
    return k_max, (lo, max(lo, hi))


def _plant(pieces: gpd.GeoDataFrame, w: gpd.GeoDataFrame, piece_w: np.ndarray,  # noqa: PLR0913 (one caller)
           k: int, n: int, weeks: int, rng: np.random.Generator,
           radius_m: tuple[float, float] = _RADIUS_M, *, strict: bool = True) -> list[dict]:
    """Choose hotspot shapes, centres, sizes and active windows.

    Centres are drawn like background points (a piece with probability `piece_w`,
    uniform inside it), kept when the ellipse fits inside the piece's ward and clear
    of the hotspots already placed: a hotspot lands where the background intensity
    is, so it sharpens the calibrated pattern instead of moving it. When a hotspot
    finds no room, `strict` (an explicit ``n_hotspots``) raises; otherwise the ones
    already placed are kept (at least one).
    """
    radii = np.exp(rng.uniform(np.log(radius_m[0]), np.log(radius_m[1]), k))
    share = rng.uniform(*_PLANTED_SHARE)
    windows = _windows(k, weeks, rng)
    edges = w.geometry.boundary.to_numpy()
    ward_row = pd.Index(w["ward_code"]).get_indexer(pieces["ward_code"])
    p = piece_w / piece_w.sum()
    planted: list[dict] = []
    for i in range(k):
        radius = float(radii[i])
        aspect = rng.uniform(1.0, 1.8)
        a, b = radius * math.sqrt(aspect), radius / math.sqrt(aspect)
        angle = float(rng.uniform(0, 180))
        placed = None
        for _ in range(200):  # a piece by weight, then candidate centres inside it
            j = int(rng.choice(len(pieces), p=p))
            cand = _uniform_in(pieces.geometry.iloc[j], 16, rng)
            wr = ward_row[j]
            ok = shapely.distance(edges[wr], shapely.points(cand)) > a + 10
            for q in planted:  # keep hotspots apart so each is its own area
                gap = np.hypot(cand[:, 0] - q["cx"], cand[:, 1] - q["cy"])
                ok &= gap > q["semi_major_m"] + a + 200
            if ok.any():
                c = int(np.argmax(ok))
                placed = (w.iloc[wr], float(cand[c, 0]), float(cand[c, 1]))
                break
        if placed is None:
            if strict or not planted:
                raise BadInputError(
                    f"{w['borough_name'].iloc[0]} is too small to plant {k} hotspots inside "
                    f"its wards, 200 m apart (only {len(planted)} fitted): ask for fewer "
                    "with n_hotspots, or leave it unset to fit the borough")
            log.info("synthetic: room for %d of %d hotspots", len(planted), k)
            break
        ward, cx, cy = placed
        planted.append({
            "ward_code": ward["ward_code"], "ward_name": ward["ward_name"],
            "radius_m": round(radius, 1), "semi_major_m": round(a, 1),
            "semi_minor_m": round(b, 1), "angle_deg": round(angle, 1),
            "cx": round(cx, 1), "cy": round(cy, 1),
        })
    # sizes: a floor each (so every hotspot stays detectable), the rest in proportion
    # to the calibrated share of its ward, so a hotspot sharpens a busy ward more than
    # a quiet one and the ward ranking keeps following the calibration
    k = len(planted)
    if k:
        ward_share = pd.Series(piece_w).groupby(pieces["ward_code"].to_numpy()).sum()
        ws = ward_share.reindex([q["ward_code"] for q in planted]).to_numpy()
        floor = min(_MIN_HOTSPOT_SHARE, share / (2 * k))
        frac = floor + (share - k * floor) * ws / ws.sum()
        sizes = _split(int(round(share * n)), frac)
        # the episodic windows go to the biggest hotspots, so a burst lifts its ward
        # to the top of its weeks even in a quiet ward
        by_size = np.argsort(-sizes, kind="stable")
        slots = sorted(windows, key=lambda x: x == (0, weeks - 1))
        for r, i in enumerate(by_size):
            s, e = slots[r]
            planted[i].update(n_points=int(sizes[i]), start_week=s, end_week=e,
                              persistent=(s, e) == (0, weeks - 1))
    return planted


def _target_n(spec: _Spec, calib: dict | None, n: int | None, weeks: int) -> tuple[int, str]:
    """How many points to draw and where that number comes from (Defra, a default, given)."""
    if n is not None:
        return n, "given"
    if spec.category == "fly_tip" and calib["total"]:
        n = int(round(calib["total"] * weeks / 52))
        n_source = f"Defra ENV24 {calib['total_year']}: {calib['total']}/year"
    elif spec.category == "fly_tip":
        n, n_source = 5000 * weeks // 52, "default 5000/year (borough not in Defra)"
    else:
        n, n_source = _SS_PER_WEEK * weeks, f"default {_SS_PER_WEEK}/week"
    return max(n, _MIN_N), n_source


def _background(pieces: gpd.GeoDataFrame, piece_w: np.ndarray, n_bg: int,
                days: pd.DatetimeIndex, day_w: np.ndarray, spec: _Spec,
                kinds: tuple[list, np.ndarray], rng: np.random.Generator) -> pd.DataFrame:
    """Background points: pieces drawn by weight, uniform within each piece."""
    sub_names, sub_p = kinds
    counts = np.bincount(rng.choice(len(pieces), size=n_bg, p=piece_w / piece_w.sum()),
                         minlength=len(pieces))
    xy_parts, ward_idx = [], []
    for i in np.flatnonzero(counts):
        xy_parts.append(_uniform_in(pieces.geometry.iloc[i], int(counts[i]), rng))
        ward_idx.append(np.full(counts[i], i))
    bg_xy = np.vstack(xy_parts)
    bg_piece = np.concatenate(ward_idx)
    bg_t = _draw_times(days, day_w, spec.hours, n_bg, rng)
    return pd.DataFrame({
        "x": bg_xy[:, 0], "y": bg_xy[:, 1], "occurred_at": bg_t,
        "subcategory": np.asarray(sub_names, dtype=object)[
            rng.choice(len(sub_names), size=n_bg, p=sub_p)],
        "ward_code": pieces["ward_code"].to_numpy()[bg_piece],
        "ward_name": pieces["ward_name"].to_numpy()[bg_piece], "hotspot_id": -1,
    })


def _hotspot_points(planted: list[dict], days: pd.DatetimeIndex, dow_w: np.ndarray,
                    spec: _Spec, kinds: tuple[list, np.ndarray], bg_density: float,
                    rng: np.random.Generator) -> tuple[list[pd.DataFrame], list[dict]]:
    """Each planted hotspot's points (inside its ellipse, in its active weeks) and truth row."""
    sub_names, sub_p = kinds
    frames, truth_rows = [], []
    for hid, p in enumerate(planted):
        poly = _ellipse(p["cx"], p["cy"], p["semi_major_m"], p["semi_minor_m"], p["angle_deg"])
        xy = _in_ellipse(poly, p["cx"], p["cy"], p["semi_major_m"], p["semi_minor_m"],
                         p["angle_deg"], p["n_points"], rng)
        active = (np.arange(len(days)) // 7 >= p["start_week"]) & (
            np.arange(len(days)) // 7 <= p["end_week"])
        t = _draw_times(days, dow_w * active, spec.hours, p["n_points"], rng)
        main = sub_names[int(rng.choice(len(sub_names), p=sub_p))]
        # 65% of a hotspot's reports share one kind (the bags behind the same shops)
        mixed = np.asarray(sub_names, dtype=object)[
            rng.choice(len(sub_names), size=p["n_points"], p=sub_p)]
        sub = np.where(rng.uniform(size=p["n_points"]) < 0.65, main, mixed)
        frames.append(pd.DataFrame({
            "x": xy[:, 0], "y": xy[:, 1], "occurred_at": t, "subcategory": sub,
            "ward_code": p["ward_code"], "ward_name": p["ward_name"], "hotspot_id": hid,
        }))
        act_weeks = p["end_week"] - p["start_week"] + 1
        dens = p["n_points"] / (poly.area / 1e6) / act_weeks
        truth_rows.append({
            "hotspot_id": hid, "ward_code": p["ward_code"], "ward_name": p["ward_name"],
            "radius_m": p["radius_m"], "semi_major_m": p["semi_major_m"],
            "semi_minor_m": p["semi_minor_m"], "angle_deg": p["angle_deg"],
            "n_points": p["n_points"], "intensity": round(dens / bg_density, 1),
            "main_subcategory": main,
            "start": days[0] + pd.Timedelta(weeks=p["start_week"]),
            "end": days[0] + pd.Timedelta(weeks=p["end_week"] + 1),
            "start_week": p["start_week"], "end_week": p["end_week"],
            "persistent": p["persistent"], "geometry": poly,
        })
    return frames, truth_rows


def _to_incidents(df: pd.DataFrame, spec: _Spec, borough: tuple[str, str],
                  calib: dict | None, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The drawn points as canonical incidents in time order (+ Defra sizes for fly-tips)."""
    borough_name, borough_code = borough
    df = df.sort_values("occurred_at", kind="stable", ignore_index=True)
    inc = gpd.GeoDataFrame({
        "incident_id": [f"syn-{spec.id_prefix}-{borough_code}-{i:06d}"
                        for i in range(1, len(df) + 1)],
        "category": spec.category,
        "subcategory": df["subcategory"].astype(str),
        "occurred_at": df["occurred_at"],
        "month": df["occurred_at"].dt.to_period("M").dt.to_timestamp(),
        "source": "synthetic",
        "location_desc": "synthetic location near " + df["ward_name"].astype(str),
        "ward_code": df["ward_code"].astype(str), "ward_name": df["ward_name"].astype(str),
        "borough_name": borough_name,
        "hotspot_id": df["hotspot_id"].astype(int),
    }, geometry=shapely.points(df["x"].to_numpy(), df["y"].to_numpy()), crs=BNG)
    if calib:
        size_class, size = _sizes(inc["subcategory"].to_numpy(), calib["sizes"], rng)
        inc["size_class"], inc["size"] = size_class, size
    inc["note"] = spec.note
    inc["synthetic"] = True
    return inc[[c for c in inc.columns if c != "geometry"] + ["geometry"]]


def _generate(spec: _Spec, borough: str, *, start, weeks: int, seed: int,  # noqa: PLR0913 (fly_tips' options, passed through)
              n: int | None, year: int, n_hotspots: int | None, return_truth: bool):
    """One synthetic set: size, planted hotspots, background, hotspot points, incidents.

    The phases draw from one generator in a fixed order, so a seed gives the same set.
    """
    t0, weeks = _check_args(start, weeks, seed, n, n_hotspots)
    pieces, w = _pieces(borough, int(year))
    borough_name, borough_code = w["borough_name"].iloc[0], w["borough_code"].iloc[0]
    rng = np.random.default_rng((int(seed), spec.salt))
    calib = defra_calibration(borough_name) if spec.category == "fly_tip" else None
    n, n_source = _target_n(spec, calib, n, weeks)

    # background weight per LSOA x ward piece: the LSOA's smoothed FixMyStreet share
    # (fly-tips) or a flat LSOA (population) prior (StreetSafe), split by area
    piece_w = pieces["fms_share" if spec.use_fms else "area_share"].to_numpy()

    # a small borough gets fewer, smaller hotspots (the City of London: 2, 25-46 m)
    k_max, radius_m = _fit_to_borough(w)
    if n_hotspots is None:
        k = min(int(rng.integers(_N_HOTSPOTS[0], _N_HOTSPOTS[1] + 1)), k_max)
    else:
        k = int(n_hotspots)
    planted = _plant(pieces, w, piece_w, k, n, weeks, rng, radius_m, strict=n_hotspots is not None)
    k = len(planted)
    n_bg = n - sum(p["n_points"] for p in planted)

    days = pd.date_range(t0, periods=7 * weeks, freq="D")
    season = (fms_calibration(borough_code)["months"]["day_weight"].to_numpy()
              if spec.use_fms else np.ones(12))
    dow_w = spec.dow[days.day_of_week]
    sub_w = calib["types"] if calib else STREETSAFE_REASONS
    sub_p = np.array(list(sub_w.values()))
    kinds = (list(sub_w), sub_p / sub_p.sum())

    background = _background(pieces, piece_w, n_bg, days, season[days.month - 1] * dow_w, spec,
                             kinds, rng)
    bg_density = n_bg / (w.geometry.area.sum() / 1e6) / weeks  # per km² per week
    frames, truth_rows = _hotspot_points(planted, days, dow_w, spec, kinds, bg_density, rng)
    inc = _to_incidents(pd.concat([background, *frames], ignore_index=True), spec,
                        (borough_name, borough_code), calib, rng)

    attrs = {"synthetic": True, "category": spec.category, "borough": borough_name,
             "seed": int(seed), "start": str(t0.date()), "weeks": weeks, "n": int(n),
             "n_source": n_source, "n_hotspots": k,
             "planted_share": round(1 - n_bg / n, 4), "ward_year": int(year)}
    if calib:
        fms = fms_calibration(borough_code)
        attrs.update(types_year=calib["types_year"], sizes_year=calib["sizes_year"],
                     fms_reports=fms["reports"], fms_alpha=round(fms["alpha"], 1),
                     fms_month_alpha=round(fms["month_alpha"], 1))
    attrs["note"] = spec.note
    inc.attrs.update(attrs)
    log.info("synthetic %s for %s: n=%d (%s), %d planted hotspots, seed=%d, from %s for "
             "%d weeks", spec.category, borough_name, n, n_source, k, seed, t0.date(), weeks)
    if not return_truth:
        return inc
    truth = gpd.GeoDataFrame(truth_rows, geometry="geometry", crs=BNG) if truth_rows else (
        gpd.GeoDataFrame({"hotspot_id": pd.Series(dtype=int)}, geometry=[], crs=BNG))
    truth.attrs.update(attrs)
    return inc, truth


def _sizes(sub: np.ndarray, weights: dict[str, float], rng: np.random.Generator):
    """Defra size class per incident (restricted to what each waste type can be) and m³."""
    names = list(SIZE_CLASSES)
    base = np.array([weights[c] for c in names])
    cls = np.empty(len(sub), dtype=object)
    for s in sorted(set(sub)):
        idx = np.flatnonzero(sub == s)
        allowed = np.array([c in _SIZES_FOR.get(s, names) for c in names])
        p = base * allowed
        cls[idx] = np.asarray(names, dtype=object)[rng.choice(len(names), size=len(idx),
                                                              p=p / p.sum())]
    vol = np.array([SIZE_CLASSES[c][1] for c in cls])
    jitter = rng.uniform(0.75, 1.25, len(sub))
    return cls.astype(str), np.maximum(np.round(vol * jitter, 2), 0.05)


# --------------------------------------------------------------------------- public API
def fly_tips(borough: str = "Harrow", *, start: str = "2022-01-03", weeks: int = 52,
             seed: int = 0, n: int | None = None, year: int = 2022,
             n_hotspots: int | None = None, return_truth: bool = False):
    """A synthetic, seeded set of fly-tip reports with planted hotspots.

    Parameters
    ----------
    borough : str, default "Harrow"
        One London borough, name or E09 code.
    start : str or Timestamp, default "2022-01-03"
        First day (a Monday keeps weeks aligned with ``W-MON`` counts).
    weeks : int, default 52
        Length of the period in whole weeks.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``; same arguments, same output.
    return_truth : bool, default False
        Also return the planted hotspots (see the module docstring for columns).
    n : int, optional
        Number of reports (>= 100). Default: the borough's latest Defra ENV24 annual
        total pro rata to `weeks` (Harrow: 9,802 a year).
    year : int, default 2022
        Ward boundary year for the geometry and the ``ward_code``/``ward_name`` columns.
    n_hotspots : int, optional
        Number of planted hotspots (0-15); default a seeded draw from 6 to 8, fewer
        in a small borough (the City of London: 2; see the module docstring). They
        hold 15-20% of the points whatever their number. An explicit number that
        does not fit inside the borough's wards raises :class:`BadInputError`.

    Returns
    -------
    geopandas.GeoDataFrame or (GeoDataFrame, GeoDataFrame)
        Canonical incidents (EPSG:27700) with ``category="fly_tip"``,
        ``source="synthetic"``, plus ``ward_code, ward_name, borough_name, hotspot_id``
        (-1 for background), ``size_class``, ``size`` (m³), ``note``
        (:data:`FLY_TIP_NOTE`: calibrated to FixMyStreet report counts, which measure
        reporting, not incidence) and ``synthetic=True``. ``attrs`` holds
        ``synthetic=True``, ``note``, ``planted_share`` (of the points, 0.15-0.20)
        and the calibration (``n_source``, ``fms_reports``, ``fms_alpha``,
        ``fms_month_alpha``, ...). With
        `return_truth`, also the truth frame (same ``attrs``).
    """
    return _generate(_FLY, borough, start=start, weeks=weeks, seed=seed, n=n, year=year,
                     n_hotspots=n_hotspots, return_truth=return_truth)


def streetsafe(borough: str = "Harrow", *, start: str = "2022-01-03", weeks: int = 13,
                 seed: int = 0, n: int | None = None, year: int = 2022,
                 n_hotspots: int | None = None, return_truth: bool = False):
    """A synthetic, seeded set of StreetSafe reports (places people felt unsafe).

    Parameters are as for :func:`fly_tips`, except `n` defaults to 60 reports a week
    (no public StreetSafe counts exist) and `weeks` to 13 (a quarter).

    Returns
    -------
    geopandas.GeoDataFrame or (GeoDataFrame, GeoDataFrame)
        Canonical incidents with ``category="streetsafe"`` and the reason in
        ``subcategory`` ("poor lighting", "abandoned buildings", "vandalism",
        "followed", "verbally abused", "other"), plus ``ward_code, ward_name,
        borough_name, hotspot_id, note, synthetic``; with `return_truth`, also the
        truth frame.
    """
    return _generate(_SS, borough, start=start, weeks=weeks, seed=seed, n=n, year=year,
                     n_hotspots=n_hotspots, return_truth=return_truth)


def _to_table(inc: gpd.GeoDataFrame) -> pd.DataFrame:
    """The incidents as a plain table with ``easting, northing`` (0.1 m) and ``lon, lat``."""
    ll = inc.geometry.to_crs(WGS84)
    out = pd.DataFrame(inc.drop(columns="geometry"))
    out["easting"] = np.round(inc.geometry.x.to_numpy(), 1)
    out["northing"] = np.round(inc.geometry.y.to_numpy(), 1)
    out["lon"] = np.round(ll.x.to_numpy(), 6)
    out["lat"] = np.round(ll.y.to_numpy(), 6)
    return out


def _truth_for_geojson(truth: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The truth frame as written: WGS84 to 1e-7 degrees, dates as text, ``synthetic``."""
    t = truth.copy()
    for c in ("start", "end"):
        t[c] = t[c].dt.strftime("%Y-%m-%d")
    t.insert(len(t.columns) - 1, "synthetic", True)
    return t.set_geometry(shapely.set_precision(t.geometry.to_crs(WGS84).values, 1e-7),
                          crs=WGS84)


def write_sample(out: str | Path = "sample_data", borough: str = "Harrow", seed: int = 0,
                 n_fly_tips: int | None = None, start: str = "2022-01-03",
                 year: int = 2022) -> dict[str, Path]:
    """Write the committed sample: a year of fly-tips and a quarter of StreetSafe + truth.

    Files (for Harrow from 2022-01-03): ``harrow_flytips_2022_synthetic.csv.gz`` (a
    year of fly-tips is ~3 MB as plain CSV; gzip, with no timestamp so regeneration is
    byte-identical, keeps the repository small and pandas reads it directly),
    ``harrow_flytips_2022_synthetic_truth.geojson``,
    ``harrow_streetsafe_2022q1_synthetic.csv``,
    ``harrow_streetsafe_2022q1_synthetic_truth.geojson``. The CSVs carry ``easting,
    northing`` (EPSG:27700) and ``lon, lat`` (WGS84); the truth GeoJSON is WGS84 and
    each feature carries ``synthetic: true`` and ``source`` (the generator's note and
    the calibration sources' licences, :func:`hotspots.datasets.source_text`), also
    given as the collection's top-level ``attribution``. Same arguments give
    byte-identical files.

    Parameters
    ----------
    out : path, default "sample_data"
        Folder to write into (created when missing).
    borough, seed, start, year
        As for :func:`fly_tips`.
    n_fly_tips : int or None, default None
        Fly-tips in the year; None uses the borough's Defra ENV24 annual total
        (Harrow 2021-22: 9,802, about 3 MB of CSV), so counts and rates per 1,000
        residents are on the real scale.

    Returns
    -------
    dict
        ``{"fly_tips": path, "fly_tips_truth": path, "streetsafe": path,
        "streetsafe_truth": path}``.
    """
    out = Path(out)
    t0 = pd.Timestamp(start)
    ft, ft_truth = fly_tips(borough, start=start, weeks=52, seed=seed, n=n_fly_tips,
                            year=year, return_truth=True)
    ss, ss_truth = streetsafe(borough, start=start, weeks=13, seed=seed, year=year,
                              return_truth=True)
    slug = ft.attrs["borough"].lower().replace(" ", "_").replace("&", "and")
    stem_ft = f"{slug}_flytips_{t0.year}_synthetic"
    stem_ss = f"{slug}_streetsafe_{t0.year}q{t0.quarter}_synthetic"
    paths = {
        "fly_tips": out / f"{stem_ft}.csv.gz", "fly_tips_truth": out / f"{stem_ft}_truth.geojson",
        "streetsafe": out / f"{stem_ss}.csv",
        "streetsafe_truth": out / f"{stem_ss}_truth.geojson",
    }
    fmt = "%Y-%m-%d %H:%M:%S"
    # what shaped the points: the wards and LSOAs they fall in (+ Defra for fly-tips)
    geo = (WARD_SETS[int(year)], "lsoa_2011")
    credits = {"fly_tips": datasets.source_text(datasets.SYNTHETIC, *geo, "defra_flytips"),
               "streetsafe": datasets.source_text(datasets.SYNTHETIC_STREETSAFE, *geo)}
    for key, inc, truth in (("fly_tips", ft, ft_truth), ("streetsafe", ss, ss_truth)):
        table = _to_table(inc)
        table["occurred_at"] = table["occurred_at"].dt.strftime(fmt)
        table["month"] = table["month"].dt.strftime("%Y-%m-%d")
        if paths[key].suffix == ".gz":  # no name or time in the header: byte-identical
            text = table.to_csv(index=False, lineterminator="\n").encode("utf-8")
            atomic_write_bytes(paths[key], gzip.compress(text, mtime=0))
        else:
            atomic_write_csv(table, paths[key], lineterminator="\n")
        atomic_write_geojson(_truth_for_geojson(truth), paths[f"{key}_truth"],
                             source=credits[key])
    return paths


#: the committed synthetic fly-tip year for Harrow (``make sample-data`` regenerates it)
SAMPLE_FLY_TIPS = "harrow_flytips_2022_synthetic.csv.gz"


def sample_fly_tips(borough: str = "Harrow", *, year: int = 2022) -> tuple[gpd.GeoDataFrame, str]:
    """Synthetic fly-tips for a borough when the user has no file of their own.

    Harrow gets the committed sample (``sample_data/``, the same rows every time, and
    the rows the demo uses); any other borough gets :func:`fly_tips` with seed 0.

    Parameters
    ----------
    borough : str, default "Harrow"
        One London borough, name or E09 code.
    year : int, default 2022
        Ward-boundary year for a generated set.

    Returns
    -------
    (geopandas.GeoDataFrame, str)
        The incidents (every row labelled synthetic) and a sentence saying which set
        it is, for the user to see.
    """
    from .io import read_incidents

    committed = datasets.PROJECT_ROOT / "sample_data" / SAMPLE_FLY_TIPS
    if borough.strip().lower() in ("harrow", "e09000015") and committed.exists():
        return read_incidents(committed), f"using the SYNTHETIC sample {committed}"
    return (fly_tips(borough=borough, year=year, seed=0),
            f"generating SYNTHETIC fly-tips for {borough} (seed 0)")
