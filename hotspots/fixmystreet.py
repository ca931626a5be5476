"""Real FixMyStreet fly-tip report counts per LSOA and ward (mySociety, 2007-2020).

The finest public fly-tip data for London: FixMyStreet's monthly counts of
"Fly-tipping" and "Dumped Rubbish" reports per 2011 LSOA, March 2007 to December
2020 (registry key ``fixmystreet_flytips``; only LSOA-months with a report are in
the file, so an absent LSOA-month is a zero). They count **reports made through
FixMyStreet**, which measures reporting, not incidence: boroughs that run
FixMyStreet as their own reporting site dominate London (Lewisham 50,370 reports,
Harrow 856), so compare places within a borough, never boroughs with each other.

:func:`fixmystreet_counts` gives a borough's real counts per LSOA or per ward, so
the real ward ranking can sit beside an analysis of the synthetic points that
:mod:`hotspots.synthetic` calibrates to these counts.

LSOA -> ward: each 2011 LSOA is given to the ward (of `ward_year`) that holds its
point-on-surface (a point guaranteed inside the LSOA, near its middle). LSOAs and
2022 wards do not nest, so an LSOA astride a ward edge counts wholly in one ward.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import geopandas as gpd
import pandas as pd

from . import datasets
from ._errors import BadInputError
from .boundaries import read_layer, wards

__all__ = [
    "CATEGORIES",
    "KEY",
    "NOTE",
    "borough_lsoas",
    "fixmystreet_counts",
    "lsoa_reports",
    "month_reports",
    "table",
]

log = logging.getLogger("hotspots")

KEY = "fixmystreet_flytips"
#: FixMyStreet categories in the file -> our column names
CATEGORIES = {"Fly-tipping": "fly_tipping", "Dumped Rubbish": "dumped_rubbish"}
FIRST_YEAR, LAST_YEAR = 2007, 2020
NOTE = ("FixMyStreet report counts (mySociety, ODC-By 1.0) measure reporting through "
        "FixMyStreet, not incidence")


@lru_cache(maxsize=1)
def table() -> pd.DataFrame:
    """The FixMyStreet LSOA-month file as read, plus integer ``year`` and ``month`` (1-12).

    Cached: treat the result as read-only.
    """
    f = pd.read_csv(datasets.path(KEY), dtype={"month_start": str})
    return f.assign(year=f["month_start"].str[:4].astype(int),
                    month=f["month_start"].str[5:7].astype(int))


def _check_year(year: int | None) -> None:
    if year is not None and (isinstance(year, bool) or not float(year).is_integer()):
        raise BadInputError(f"year must be a whole calendar year, got year={year!r}")
    if year is not None and not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise BadInputError(f"FixMyStreet counts cover {FIRST_YEAR}-{LAST_YEAR} "
                            f"(from March 2007); got year={year!r}")


def lsoa_reports(borough_code: str, year: int | None = None) -> pd.DataFrame:
    """Reports per 2011 LSOA of one borough (only LSOAs with a report).

    Returns a frame indexed by ``LSOA11CD`` with ``fly_tipping, dumped_rubbish,
    reports`` (their sum), for `year` or all of 2007-2020 when None.
    """
    _check_year(year)
    f = table()
    f = f[f["LAD19CD"] == borough_code]
    if year is not None:
        f = f[f["year"] == int(year)]
    out = (f.pivot_table(index="LSOA11CD", columns="category", values="reports",
                         aggfunc="sum", fill_value=0)
           .reindex(columns=list(CATEGORIES), fill_value=0).rename(columns=CATEGORIES))
    out.columns.name = None
    return out.assign(reports=out.sum(axis=1)).astype(int)


def month_reports(borough_code: str | None = None, years: tuple[int, int] = (2008, 2020)
                  ) -> pd.DataFrame:
    """Reports per year (rows) and month of year (columns 1-12), for a borough or London.

    `years` is inclusive; the default keeps the full years (the file starts in March 2007).
    """
    f = table()
    if borough_code is not None:
        f = f[f["LAD19CD"] == borough_code]
    f = f[f["year"].between(*years)]
    return (f.pivot_table(index="year", columns="month", values="reports", aggfunc="sum",
                          fill_value=0)
            .reindex(index=range(years[0], years[1] + 1), columns=range(1, 13), fill_value=0))


@lru_cache(maxsize=1)
def _london_lsoas() -> gpd.GeoDataFrame:
    """All of London's 2011 LSOAs, read once (callers select, never modify)."""
    return read_layer("lsoa_2011")


@lru_cache(maxsize=8)
def borough_lsoas(borough_code: str) -> gpd.GeoDataFrame:
    """A borough's 2011 LSOAs (``LSOA11CD, LSOA11NM, geometry``, made valid), EPSG:27700."""
    lsoa = _london_lsoas()
    lsoa = lsoa.loc[lsoa["LAD_CD"] == borough_code, ["LSOA11CD", "LSOA11NM", "geometry"]]
    lsoa = lsoa.assign(geometry=lsoa.geometry.make_valid())
    return lsoa.sort_values("LSOA11CD", ignore_index=True)


def _lsoa_to_ward(lsoa: gpd.GeoDataFrame, w: gpd.GeoDataFrame) -> pd.DataFrame:
    """``ward_code, ward_name`` per LSOA (aligned to `lsoa`), by point-on-surface."""
    pts = gpd.GeoDataFrame(geometry=lsoa.geometry.representative_point(), crs=lsoa.crs)
    cols = ["ward_code", "ward_name", "geometry"]
    j = gpd.sjoin(pts, w[cols], how="left", predicate="within")
    j = j[~j.index.duplicated()]
    miss = j["ward_code"].isna()
    if miss.any():  # a point in a boundary gap between the two files: nearest ward
        near = gpd.sjoin_nearest(pts[miss.to_numpy()], w[cols], how="left")
        near = near[~near.index.duplicated()]
        j.loc[miss, ["ward_code", "ward_name"]] = near[["ward_code", "ward_name"]]
    return j[["ward_code", "ward_name"]]


def fixmystreet_counts(borough: str, year: int | None = None, *, by: str = "lsoa",
                       ward_year: int = 2022) -> gpd.GeoDataFrame:
    """Real FixMyStreet fly-tip + dumped-rubbish report counts per LSOA or ward.

    Parameters
    ----------
    borough : str
        One London borough, name or E09 code ("Harrow").
    year : int, optional
        A calendar year 2007-2020; all of March 2007 - December 2020 when None.
    by : {"lsoa", "ward"}, default "lsoa"
        One row per 2011 LSOA (all of the borough's, zeros included) or per ward of
        `ward_year` (LSOAs assigned by point-on-surface, see the module docstring).
    ward_year : int, default 2022
        Ward boundaries to assign LSOAs to.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700, ranked by reports (1 = most; ties share the lower rank).
        ``by="lsoa"``: ``lsoa_code, lsoa_name, ward_code, ward_name, borough_name,
        fly_tipping, dumped_rubbish, reports, share, rank, geometry`` (the LSOA).
        ``by="ward"``: ``ward_code, ward_name, borough_name, n_lsoas, fly_tipping,
        dumped_rubbish, reports, share, rank, geometry`` (the ward). ``share`` is of
        the borough's reports. ``attrs`` carries ``source``, ``note`` (reporting, not
        incidence), ``years``, ``by`` and ``ward_year``.
    """
    if by not in ("lsoa", "ward"):
        raise BadInputError(f"by must be 'lsoa' or 'ward', got {by!r}")
    _check_year(year)
    w = wards(borough, ward_year)
    if w.empty:
        raise BadInputError(f"no wards found for {borough!r} in {ward_year}")
    if w["borough_code"].nunique() != 1:
        raise BadInputError("fixmystreet_counts takes one borough at a time")
    code, name = w["borough_code"].iloc[0], w["borough_name"].iloc[0]
    lsoa = borough_lsoas(code)
    counts = lsoa_reports(code, year).reindex(lsoa["LSOA11CD"], fill_value=0)
    out = gpd.GeoDataFrame({
        "lsoa_code": lsoa["LSOA11CD"].to_numpy(), "lsoa_name": lsoa["LSOA11NM"].to_numpy(),
        **_lsoa_to_ward(lsoa, w).reset_index(drop=True).to_dict("series"),
        "borough_name": name,
        **{c: counts[c].to_numpy() for c in (*CATEGORIES.values(), "reports")},
    }, geometry=lsoa.geometry.to_numpy(), crs=lsoa.crs)
    if by == "ward":
        num = [*CATEGORIES.values(), "reports"]
        agg = out.groupby("ward_code")[num].sum()
        n = out.groupby("ward_code").size().rename("n_lsoas")
        wa = w[["ward_code", "ward_name", "geometry"]].set_index("ward_code")
        out = gpd.GeoDataFrame(
            wa.drop(columns="geometry").join(n).join(agg).fillna(0).reset_index()
            .assign(borough_name=name), geometry=wa.geometry.to_numpy(), crs=w.crs)
        out[["n_lsoas", *num]] = out[["n_lsoas", *num]].astype(int)
        out = out[["ward_code", "ward_name", "borough_name", "n_lsoas", *num, "geometry"]]
    total = int(out["reports"].sum())
    out.insert(out.columns.get_loc("geometry"), "share",
               out["reports"] / total if total else 0.0)
    out.insert(out.columns.get_loc("geometry"), "rank",
               out["reports"].rank(ascending=False, method="min").astype(int))
    out = out.sort_values(["rank", out.columns[0]], ignore_index=True)
    years = f"{FIRST_YEAR}-{LAST_YEAR}" if year is None else str(int(year))
    out.attrs.update(source=f"FixMyStreet fly-tipping + dumped rubbish reports, {years}",
                     note=NOTE, years=years, by=by, ward_year=int(ward_year),
                     borough=name, total=total)
    log.info("FixMyStreet %s, %s: %d reports over %d %ss (%s)", name, years, total,
             len(out), by, NOTE)
    return out
