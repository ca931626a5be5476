"""Ward and borough boundaries, Harrow's area teams, and ward populations.

Every frame comes back in EPSG:27700 with standard columns, whatever the source file
calls them: ``ward_code, ward_name, borough_code, borough_name, year, geometry``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import geopandas as gpd
import pandas as pd

from . import datasets
from ._errors import BadInputError, UnknownPlaceError
from ._validate import BNG

#: ward boundary sets by year -> registry key. 2022 is the 20 m generalised set (BGC),
#: right for point joins; 2014 and 2018 are the GLA's full-resolution files.
WARD_SETS: dict[int, str] = {
    2013: "wards_2013",
    2014: "wards_2014",
    2018: "wards_2018",
    2019: "wards_2019",
    2022: "wards_2022",
    2023: "wards_2023",
}

WARD_COLUMNS = ["ward_code", "ward_name", "borough_code", "borough_name", "year", "geometry"]


def _read(key: str) -> gpd.GeoDataFrame:
    ds = datasets.get(key)
    p = datasets.path(key)
    if ds.member:  # a shapefile inside a zip
        gdf = gpd.read_file(f"zip://{p}!{ds.member}")
    elif ds.layer:
        gdf = gpd.read_file(p, layer=ds.layer)
    else:
        gdf = gpd.read_file(p)
    if gdf.crs is None and ds.crs:
        gdf = gdf.set_crs(ds.crs)
    return gdf.to_crs(BNG)


@lru_cache(maxsize=8)
def _boroughs_table() -> gpd.GeoDataFrame:
    b = _read("boroughs_2022")
    ds = datasets.get("boroughs_2022")
    out = gpd.GeoDataFrame(
        {"borough_code": b[ds.code].astype(str), "borough_name": b[ds.name].astype(str)},
        geometry=b.geometry.values,
        crs=BNG,
    )
    return out.sort_values("borough_code", ignore_index=True)


@lru_cache(maxsize=8)
def _wards_table(year: int) -> gpd.GeoDataFrame:
    key = WARD_SETS[year]
    ds = datasets.get(key)
    raw = _read(key)
    out = gpd.GeoDataFrame(
        {
            "ward_code": raw[ds.code].astype(str),
            "ward_name": raw[ds.name].astype(str).str.strip(),
            "borough_code": raw[ds.borough_code].astype(str),
        },
        geometry=raw.geometry.values,
        crs=BNG,
    )
    names = dict(zip(*_boroughs_table()[["borough_code", "borough_name"]].T.values, strict=True))
    if ds.borough_name:
        out["borough_name"] = raw[ds.borough_name].astype(str).str.strip()
    else:
        out["borough_name"] = out["borough_code"].map(names)
    # One naming per borough code across years (the GLA files say "City of London"
    # in some and "City and County of the City of London" in none; ONS is the reference).
    out["borough_name"] = out["borough_code"].map(names).fillna(out["borough_name"])
    out["year"] = year
    out["geometry"] = out.geometry.make_valid()
    return out[WARD_COLUMNS].sort_values(["borough_code", "ward_code"], ignore_index=True)


def _match_boroughs(borough: str | Iterable[str], table: pd.DataFrame) -> list[str]:
    """Resolve names or codes (any case) to borough codes; unknowns raise with suggestions."""
    wanted = [borough] if isinstance(borough, str) else list(borough)
    by_key = {}
    for code, name in zip(table["borough_code"], table["borough_name"], strict=True):
        by_key[code.lower()] = code
        by_key[name.lower()] = code
    codes = []
    for w in wanted:
        code = by_key.get(str(w).strip().lower())
        if code is None:
            close = difflib.get_close_matches(str(w).lower(), list(by_key), n=5, cutoff=0.5)
            raise UnknownPlaceError(
                f"unknown borough {w!r}; close matches: {close or 'none'} "
                "(use a London borough name or its E09 code)"
            )
        codes.append(code)
    return codes


def boroughs(borough: str | Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """The London boroughs (ONS 2022, 20 m generalised), EPSG:27700.

    Parameters
    ----------
    borough : str or list of str, optional
        Names or E09 codes, any case; all 33 when None.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``borough_code, borough_name, geometry``.
    """
    table = _boroughs_table()
    if borough is None:
        return table.copy()
    codes = _match_boroughs(borough, table)
    return table[table["borough_code"].isin(codes)].reset_index(drop=True)


def wards(borough: str | Iterable[str] | None = None, year: int = 2022) -> gpd.GeoDataFrame:
    """London ward boundaries for a year, optionally for some boroughs, in EPSG:27700.

    Parameters
    ----------
    borough : str or list of str, optional
        Borough names or E09 codes, matched case-insensitively ("harrow",
        "E09000015"). All of London when None.
    year : int, default 2022
        One of 2013, 2014, 2018, 2019, 2022, 2023. 2022 is the 20 m generalised
        ONS set (the pattern after the 2022 reviews, right for joins); 2014 and
        2018 are full resolution; 2019 and 2023 are 200 m generalised (maps only).

    Returns
    -------
    geopandas.GeoDataFrame
        ``ward_code, ward_name, borough_code, borough_name, year, geometry``.
    """
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise BadInputError(f"year must be one of {sorted(WARD_SETS)}, got {year!r}") from None
    if year not in WARD_SETS:
        raise BadInputError(f"no ward boundaries for {year}; years available: {sorted(WARD_SETS)}")
    table = _wards_table(year)
    if borough is None:
        return table.copy()
    codes = _match_boroughs(borough, _boroughs_table())
    return table[table["borough_code"].isin(codes)].reset_index(drop=True)


def find_ward(name: str, wards_gdf: gpd.GeoDataFrame) -> pd.Series:
    """Return the row of `wards_gdf` whose name or code matches `name` (any case)."""
    key = str(name).strip().lower()
    hit = wards_gdf[
        (wards_gdf["ward_name"].str.lower() == key) | (wards_gdf["ward_code"].str.lower() == key)
    ]
    if len(hit) == 0:
        close = difflib.get_close_matches(
            str(name), wards_gdf["ward_name"].tolist(), n=5, cutoff=0.5
        )
        raise UnknownPlaceError(f"unknown ward {name!r}; close matches: {close or 'none'}")
    return hit.iloc[0]


def _package_csv(name: str) -> pd.DataFrame:
    with resources.files("hotspots").joinpath(f"data/{name}").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)
