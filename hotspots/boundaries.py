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
from ._validate import BNG, norm_name

__all__ = [
    "MAP_ONLY_WARD_YEARS",
    "WARD_COLUMNS",
    "WARD_SETS",
    "area_teams",
    "boroughs",
    "describe_location",
    "find_ward",
    "named_streets",
    "read_layer",
    "say_distance",
    "station_entries",
    "station_name",
    "stations",
    "street_text",
    "ward_population",
    "wards",
]

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

#: ward sets generalised to 200 m (ONS BSC): right for small maps, wrong for point joins
MAP_ONLY_WARD_YEARS = frozenset({2019, 2023})


def read_layer(key: str) -> gpd.GeoDataFrame:
    """A registry vector dataset (boundaries, LSOAs) as read from disk, in BNG (EPSG:27700).

    Parameters
    ----------
    key : str
        Registry key, e.g. ``"lsoa_2011"``; a shapefile zip member, a GeoPackage layer
        and a missing CRS are taken from the registry entry.
    """
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
    b = read_layer("boroughs_2022")
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
    raw = read_layer(key)
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
    # names compared loosely ("Kensington & Chelsea" = "kensington and chelsea")
    names = pd.Series(table["borough_name"].to_numpy(), index=_norm_name(table["borough_name"]))
    by_key = dict(zip(table["borough_code"].str.lower(), table["borough_code"], strict=True))
    by_key |= dict(zip(names.index, table["borough_code"], strict=True))
    codes = []
    for w in wanted:
        key = _norm_name(pd.Series([w])).iloc[0]
        code = by_key.get(key)
        if code is None:
            close = difflib.get_close_matches(key, list(names.index), n=5, cutoff=0.5)
            close = [names[c] for c in close]
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
        out = table.copy()
    else:
        codes = _match_boroughs(borough, _boroughs_table())
        out = table[table["borough_code"].isin(codes)].reset_index(drop=True)
    # read by hs.assign_wards, which warns before joining points to map-only edges
    out.attrs["generalisation"] = "200 m" if year in MAP_ONLY_WARD_YEARS else "20 m or finer"
    return out


def find_ward(name: str, wards_gdf: gpd.GeoDataFrame) -> pd.Series:
    """Return the row of `wards_gdf` whose name or code matches `name` (any case)."""
    # names compared after Unicode whitespace normalisation ("Pinner\u00a0" is Pinner)
    key = norm_name(name)
    hit = wards_gdf[
        (wards_gdf["ward_name"].map(norm_name) == key)
        | (wards_gdf["ward_code"].map(norm_name) == key)
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


# --- area teams -------------------------------------------------------------------------

#: the ward pattern in force for Harrow's area teams (the council's 2021 model)
_TEAMS_FILE = "harrow_area_teams_2018.csv"
_TEAMS_YEAR = 2018


def _norm_name(s: pd.Series) -> pd.Series:
    """Ward names compared loosely: lower case, '&' as 'and', no punctuation or extra spaces."""
    return (
        s.map(norm_name)
        .str.replace("&", " and ", regex=False)
        .str.replace(r"[^a-z0-9 ]+", "", regex=True)
        .str.split()
        .str.join(" ")
    )


def _teams_on_names(year: int) -> pd.DataFrame | None:
    """Teams on `year`'s Harrow wards matched by name, or None when the names differ."""
    teams = _package_csv(_TEAMS_FILE)
    w = wards("Harrow", year)
    by_name = dict(zip(_norm_name(w["ward_name"]), w["ward_code"], strict=True))
    codes = _norm_name(teams["ward_name"]).map(by_name)
    if codes.isna().any():
        return None
    out = pd.DataFrame({"ward_code": codes, "team": teams["team"]})
    out = w[["ward_code", "ward_name"]].merge(out, on="ward_code", how="left")
    return out if out["team"].notna().all() else None


def area_teams(year: int = 2018) -> pd.DataFrame:
    """Harrow's area-based enforcement teams (CENTRAL, EAST, WEST) on a ward pattern.

    The teams were drawn on the pre-2022 wards; the project ships them as
    ``hotspots/data/harrow_area_teams_2018.csv`` (ward name → team). For a year whose
    wards are those same wards (2014, 2018, 2019) the names are matched to codes.
    For the 2022 pattern (2022, 2023) each new ward takes the team of the 2018 ward
    it overlaps most by area (computed from the boundaries, not typed).

    Parameters
    ----------
    year : int, default 2018
        Ward pattern year (see :func:`wards`).

    Returns
    -------
    pandas.DataFrame
        ``ward_code, ward_name, team``, one row per Harrow ward of that year, sorted by
        code. When teams are carried over by overlap, also ``ward_2018`` (the 2018 ward
        it overlaps most) and ``overlap_share`` (that overlap as a share of the ward's
        area, 0-1).
    """
    base = _teams_on_names(_TEAMS_YEAR)
    if base is None:  # the shipped file must name every 2018 ward exactly once
        teams = _package_csv(_TEAMS_FILE)
        w = wards("Harrow", _TEAMS_YEAR)
        known = set(_norm_name(w["ward_name"]))
        bad = sorted(set(teams["ward_name"][~_norm_name(teams["ward_name"]).isin(known)]))
        missing = sorted(set(w["ward_name"][~_norm_name(w["ward_name"]).isin(
            set(_norm_name(teams["ward_name"])))]))
        raise UnknownPlaceError(
            f"{_TEAMS_FILE}: names not among Harrow's {_TEAMS_YEAR} wards: {bad or 'none'}; "
            f"wards without a team: {missing or 'none'}"
        )
    direct = base if int(year) == _TEAMS_YEAR else _teams_on_names(int(year))
    if direct is not None:
        return direct.sort_values("ward_code", ignore_index=True)

    new = wards("Harrow", year)[["ward_code", "ward_name", "geometry"]]
    old = wards("Harrow", _TEAMS_YEAR)[["ward_code", "ward_name", "geometry"]].merge(
        base[["ward_code", "team"]], on="ward_code"
    )
    pieces = gpd.overlay(
        new.rename(columns={"ward_code": "code", "ward_name": "name"}),
        old.rename(columns={"ward_code": "code_2018", "ward_name": "ward_2018"}),
        how="intersection",
        keep_geom_type=True,
    )
    pieces["overlap"] = pieces.area
    # largest overlap per new ward; ties broken by the 2018 code so the result is stable
    best = pieces.sort_values(["code", "overlap", "code_2018"], ascending=[True, False, True])
    best = best.drop_duplicates("code")
    area = dict(zip(new["ward_code"], new.area, strict=True))
    out = pd.DataFrame(
        {
            "ward_code": best["code"].to_numpy(),
            "ward_name": best["name"].to_numpy(),
            "team": best["team"].to_numpy(),
            "ward_2018": best["ward_2018"].to_numpy(),
            "overlap_share": (best["overlap"] / best["code"].map(area)).to_numpy(),
        }
    )
    missing = sorted(set(new["ward_name"]) - set(out["ward_name"]))
    if missing:
        raise BadInputError(f"Harrow {year} wards overlapping no 2018 ward: {missing}")
    return out.sort_values("ward_code", ignore_index=True)


# --- ward populations -------------------------------------------------------------------

#: The GLA file counts people on the 2011 census wards (624 codes, City of London absent).
#: Their outlines: the 2014 full-resolution set where a borough kept its 2011 wards,
#: else the 2013 set (which still holds every 2011 code).
_POP_GEOMETRY_YEARS = (2014, 2013)
#: an overlap smaller than this share of a 2011 ward's area is a boundary-generalisation
#: sliver, not a real piece of the ward (real pieces in London are far larger)
_SLIVER_SHARE = 0.02


@lru_cache(maxsize=1)
def _population_table() -> pd.DataFrame:
    ds = datasets.get("ward_population")
    p = pd.read_csv(datasets.path("ward_population"))
    p = p.rename(columns={ds.code: "code", ds.name: "name"})
    return p[["code", "name", "Borough", "Year", "Population"]]


def _default_ward_year(year: int) -> int:
    """The ward pattern in force in `year` (London's reviews landed in 2014, 2018, 2022)."""
    return 2022 if year >= 2022 else 2018 if year >= 2018 else 2014


def _pop_2011_geometry(borough_code: str, codes: set[str]) -> gpd.GeoDataFrame | None:
    for y in _POP_GEOMETRY_YEARS:
        w = wards(year=y)
        w = w[w["borough_code"] == borough_code]
        if len(w) and set(w["ward_code"]) == codes:
            return w[["ward_code", "geometry"]]
    w = wards(year=_POP_GEOMETRY_YEARS[-1])
    w = w[w["ward_code"].isin(codes)]
    return w[["ward_code", "geometry"]] if len(w) else None


@lru_cache(maxsize=1)
def _lookup_pairs() -> frozenset[tuple[str, str]]:
    """(2011 ward, 2022 ward) pairs of the ONS best-fit lookup."""
    lk = pd.read_csv(datasets.path("ward11_to_ward22"), encoding="utf-8-sig")
    return frozenset(zip(lk["WD11CD"], lk["WD22CD"], strict=True))


def _apportion(
    src: gpd.GeoDataFrame,
    pop: pd.Series,
    target: gpd.GeoDataFrame,
    pairs: frozenset[tuple[str, str]] | None = None,
) -> pd.Series:
    """Share each source ward's population among target wards by area of overlap.

    Assumes people are spread evenly within a 2011 ward. Slivers below
    `_SLIVER_SHARE` of the source area are dropped. With `pairs` (the ONS lookup,
    built from where people live), a piece whose pair ONS does not list is dropped
    too, unless that would drop the whole source ward: e.g. the part of the old
    Headstone North inside the 2022 Headstone ward, which ONS gives no one. The
    remaining shares are rescaled to 1, so the borough total is kept exactly.
    """
    pieces = gpd.overlay(
        src.rename(columns={"ward_code": "src"}),
        target[["ward_code", "geometry"]],
        how="intersection",
        keep_geom_type=True,
    )
    src_area = dict(zip(src["ward_code"], src.area, strict=True))
    pieces["share"] = pieces.area / pieces["src"].map(src_area)
    pieces = pieces[pieces["share"] >= _SLIVER_SHARE].copy()
    if pairs is not None:
        listed = pd.Series(
            [(a, b) in pairs for a, b in zip(pieces["src"], pieces["ward_code"], strict=True)],
            index=pieces.index,
        )
        pieces = pieces[listed | ~listed.groupby(pieces["src"]).transform("any")].copy()
    pieces["share"] /= pieces.groupby("src")["share"].transform("sum")
    pieces["people"] = pieces["share"] * pieces["src"].map(pop)
    return pieces.groupby("ward_code")["people"].sum()


def ward_population(
    year: int = 2022,
    *,
    ward_year: int | None = None,
    borough: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Resident population per ward, for turning counts into rates per 1,000 residents.

    Source: the GLA's ward population figures (registry key ``ward_population``:
    2011 census base, GLA projections for later years), published on the 2011
    census wards. For a ward pattern whose codes are those wards (Harrow's 2014 and
    2018 wards, for instance) the figures are used as they are. Otherwise (all of
    London's 2022 wards) each 2011 ward's population is shared among the wards it
    overlaps **in proportion to area**, within its borough: approximate, because it
    assumes people are spread evenly across a 2011 ward (parks and industrial land
    are not). For the 2022 pattern only the pieces the ONS ward 2011 → 2022 lookup
    lists are used (that lookup is built from where people live, so it rules out
    unpeopled overlaps). Borough totals are kept exactly. The method used is in
    ``attrs["method"]`` ("direct", "area-weighted" or "mixed").

    Parameters
    ----------
    year : int, default 2022
        Population year, 2011-2050 (figures after the latest GLA base are projections).
    ward_year : int, optional
        Ward pattern to report on (see :func:`wards`); by default the pattern in force
        in `year` (2014 before 2018, 2018 until 2022, 2022 after).
    borough : str or list of str, optional
        Limit to these boroughs (names or E09 codes); all of London when None.

    Returns
    -------
    pandas.DataFrame
        ``ward_code, ward_name, population`` (persons, float when apportioned). Wards
        with no figure (the City of London's) have NaN and are logged.
    """
    import logging

    table = _population_table()
    years = sorted(table["Year"].unique())
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise BadInputError(f"year must be a number between {years[0]} and {years[-1]}") from None
    if year not in years:
        raise BadInputError(
            f"no ward populations for {year}; years available: {years[0]}-{years[-1]}"
        )
    wy = _default_ward_year(year) if ward_year is None else int(ward_year)
    target = wards(borough, wy)
    pop = table[table["Year"] == year].set_index("code")["Population"].astype(float)

    parts, methods = [], set()
    for bcode, tw in target.groupby("borough_code", sort=True):
        if tw["ward_code"].isin(pop.index).all():
            parts.append(pop.reindex(tw["ward_code"]))
            methods.add("direct")
            continue
        bname = tw["borough_name"].iloc[0]
        src_codes = set(table.loc[table["Borough"].str.lower() == bname.lower(), "code"])
        src = _pop_2011_geometry(bcode, src_codes) if src_codes else None
        if src is None:
            continue  # no figures for this borough (City of London)
        pairs = _lookup_pairs() if wy in (2022, 2023) else None  # same codes both years
        parts.append(_apportion(src, pop, tw, pairs))
        methods.add("area-weighted")
    people = pd.concat(parts) if parts else pd.Series(dtype=float)
    out = target[["ward_code", "ward_name"]].copy()
    out["population"] = out["ward_code"].map(people).astype(float)
    out = pd.DataFrame(out).reset_index(drop=True)
    method = methods.pop() if len(methods) == 1 else "mixed" if methods else "none"
    out.attrs.update(population_year=year, ward_year=wy, method=method)
    n_missing = int(out["population"].isna().sum())
    log = logging.getLogger("hotspots")
    log.info(
        "ward_population: GLA %d figures on %d wards (%d pattern), method %s%s",
        year, len(out), wy, method,
        f"; {n_missing} wards without a figure" if n_missing else "",
    )
    return out


@lru_cache(maxsize=1)
def _stations_table() -> gpd.GeoDataFrame:
    st = pd.read_csv(datasets.path("tfl_stations"))
    return gpd.GeoDataFrame(
        {"name": st["NAME"].astype(str).str.strip(), "network": st["NETWORK"].astype(str),
         "lines": st["LINES"].fillna("").astype(str)},
        geometry=gpd.points_from_xy(st["EASTING"], st["NORTHING"]), crs=BNG,
    )


def stations() -> gpd.GeoDataFrame:
    """TfL stations (Underground, Overground, DLR, Elizabeth line, ...), EPSG:27700.

    Landmarks people know: used to say where an area is ("300 m north-east of Harrow &
    Wealdstone station") and as patrol points of interest.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name, network, lines, geometry``; source TfL open data (OGL v3).
    """
    return _stations_table().copy()


def _station_key(name: pd.Series) -> pd.Series:
    """Station names comparable across TfL files ("Hayes & Harlington" = "Hayes and ...")."""
    return (name.astype(str).str.lower().str.replace("&", "and", regex=False)
            .str.replace(r"[^a-z0-9]", "", regex=True))


def station_entries(year: int = 2019) -> gpd.GeoDataFrame:
    """TfL stations as weighted points: yearly entries + exits, EPSG:27700.

    The footfall layer for rates such as StreetSafe reports relative to people
    passing through (``hs.dual_kde(reports, hs.station_entries(), weights_b="entries_exits")``).

    Parameters
    ----------
    year : int, default 2019
        2007-2021. Default 2019, the last year before the pandemic (2020 and 2021
        entries are 40-70% lower and would overstate risk near stations).

    Returns
    -------
    geopandas.GeoDataFrame
        ``nlc, name, network, lines, entries_exits, geometry``: one row per station
        with a figure for `year` (registry ``tfl_entries`` joined to ``tfl_stations`` on
        NLC, the TfL station code; where the two files disagree on a code, e.g.
        Headstone Lane, the station name decides). ``attrs``: ``year``, ``n_unplaced``
        (stations with a figure but no location, left out and logged).
    """
    import logging

    st = pd.read_csv(datasets.path("tfl_stations"))
    en = pd.read_csv(datasets.path("tfl_entries"))
    col = f"En/Ex {year}"
    if col not in en.columns:
        years = sorted(int(c[-4:]) for c in en.columns if c.startswith("En/Ex "))
        raise BadInputError(
            f"no TfL entry/exit figures for {year}: years {years[0]}-{years[-1]} are available"
        )
    en = en[en[col] > 0].drop_duplicates(["NLC", "Station", col])  # H&H is listed twice
    en = pd.DataFrame({"nlc": en["NLC"].astype(int), "key": _station_key(en["Station"]),
                       "entries_exits": en[col].astype(float)})
    st = pd.DataFrame({"nlc": st["NLC"].astype(int), "key": _station_key(st["NAME"]),
                       "name": st["NAME"].astype(str).str.strip(),
                       "network": st["NETWORK"].astype(str), "lines": st["LINES"].fillna(""),
                       "x": st["EASTING"], "y": st["NORTHING"]})
    # a code shared by two stations (Headstone Lane carries Hayes' 3186): the name decides
    shared = st["nlc"].duplicated(keep=False)
    by_code = en.merge(st[~shared].drop(columns="key"), on="nlc", how="inner")
    rest = en[~en["nlc"].isin(by_code["nlc"])]
    by_name = rest.merge(  # the entries file's code is the right one there
        st.drop_duplicates("key", keep=False).drop(columns="nlc"), on="key", how="inner")
    both = pd.concat([by_code, by_name], ignore_index=True)
    n_unplaced = len(en) - len(both)
    out = gpd.GeoDataFrame(
        both[["nlc", "name", "network", "lines", "entries_exits"]].astype({"nlc": int}),
        geometry=gpd.points_from_xy(both["x"], both["y"]), crs=BNG,
    ).sort_values("nlc").reset_index(drop=True)
    out.attrs.update(year=int(year), n_unplaced=int(n_unplaced))
    logging.getLogger("hotspots").info(
        "station_entries: %d TfL stations with %d entries+exits%s", len(out), year,
        f"; {n_unplaced} with a figure but no location left out" if n_unplaced else "",
    )
    return out


_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
            "north-west")

#: network suffixes in TfL's station names ("London Bridge LU"): people say "London Bridge"
_STATION_SUFFIX = r"\s+(?:LU|NR|DLR|LO|TfL|EL|\(Tramlink\))$"


def station_name(name: str) -> str:
    """A station as people say it: "London Bridge LU" -> "London Bridge"."""
    import re

    return re.sub(_STATION_SUFFIX, "", str(name).strip())


def say_distance(metres: float) -> str:
    """A walking distance as people say it.

    "80 m", "350 m" (nearest 50 m from 100 m), "1.2 km" (one decimal from 1 km).
    """
    d = float(metres)
    if d < 100:
        return f"{max(10, round(d, -1)):.0f} m"
    if d < 950:
        return f"{round(d / 50) * 50:.0f} m"
    return f"{d / 1000:.1f} km".replace(".0 km", " km")


def street_text(desc: pd.Series, n: int = 2) -> str:
    """The commonest street(s) in police.uk location texts, without the prefix.

    "On or near Bishopsgate" gives "Bishopsgate / Liverpool Street". Generated text
    ("synthetic location near ...") names no street and is skipped.
    """
    if desc is None or len(desc) == 0:
        return ""
    s = (pd.Series(desc).dropna().astype(str)
         .str.replace(r"^\s*on or near\s+", "", case=False, regex=True).str.strip())
    s = s[(s != "") & ~s.str.lower().str.startswith("synthetic")]
    return " / ".join(s.value_counts().index[:n]) if len(s) else ""


def describe_location(points: gpd.GeoSeries, max_distance: float = 2000.0,
                      wards: gpd.GeoDataFrame | None = None,
                      network: object = None, street_distance: float = 60.0) -> list[str]:
    """Say where each point is in words people use: street, ward, nearest station.

    Parameters
    ----------
    points : GeoSeries
        Points (any CRS; measured in EPSG:27700).
    max_distance : float, default 2000
        Metres; a station farther than this is not mentioned.
    wards : GeoDataFrame, optional
        Ward boundaries (``ward_name``): the ward each point is in leads the phrase.
    network : networkx graph, optional
        Street network (osmnx): the nearest named street within `street_distance`
        leads the phrase (and replaces the station).
    street_distance : float, default 60
        Metres from a point to a street for the street to name it.

    Returns
    -------
    list of str
        e.g. "300 m north-east of Kenton station", with `wards` "Kenton West ward,
        300 m north-east of Kenton station" or "at Kenton station, Greenhill ward", with
        `network` "Bishopsgate, Bishopsgate ward"; "" when nothing is known
        (no ward given, no street near, no station within `max_distance`). Distances
        are rounded as people say them (:func:`say_distance`); station names lose
        TfL's network suffix ("London Bridge", not "London Bridge LU").
    """
    import numpy as np
    import shapely

    pts = points.to_crs(BNG) if points.crs is not None else points
    if len(pts) == 0:
        return []
    st = _stations_table()
    tree = shapely.STRtree(st.geometry.array)
    idx, dist = tree.query_nearest(pts.array, return_distance=True, all_matches=False)
    station = [""] * len(pts)
    for (pi, si), d in zip(idx.T, dist, strict=True):
        if d > max_distance:
            continue
        name = station_name(st["name"].iat[si])
        if d < 75:
            station[pi] = f"at {name} station"
            continue
        dx = pts.array[pi].x - st.geometry.array[si].x
        dy = pts.array[pi].y - st.geometry.array[si].y
        bearing = (np.degrees(np.arctan2(dx, dy)) + 360) % 360
        where = _COMPASS[int((bearing + 22.5) // 45) % 8]
        station[pi] = f"{say_distance(d)} {where} of {name} station"
    ward = _ward_at(pts, wards) if wards is not None else [""] * len(pts)
    street = (_street_near(pts, network, street_distance) if network is not None
              else [""] * len(pts))
    out = []
    for s, w, t in zip(street, ward, station, strict=True):
        w = f"{w} ward" if w else ""
        parts = (s, w) if s else (t, w) if t.startswith("at ") else (w, t)
        out.append(", ".join(p for p in parts if p))
    return out


def _ward_at(pts: gpd.GeoSeries, wards: gpd.GeoDataFrame) -> list[str]:
    """The name of the ward each point is in (the nearest within 100 m when in none)."""
    w = wards.to_crs(BNG) if wards.crs is not None else wards
    j = gpd.sjoin_nearest(gpd.GeoDataFrame(geometry=pts.reset_index(drop=True)),
                          w[["ward_name", "geometry"]], how="left", max_distance=100)
    j = j[~j.index.duplicated()]
    return [str(n) if isinstance(n, str) else "" for n in j["ward_name"]]


def named_streets(network: object) -> gpd.GeoDataFrame:
    """The named edges of a street network (osmnx graph) as ``name, geometry`` in BNG.

    One row per name (OSM edges can carry a list of names).
    """
    import osmnx as ox

    edges = ox.graph_to_gdfs(network, nodes=False, fill_edge_geometry=True)
    edges = edges.to_crs(BNG) if edges.crs is None or edges.crs.to_epsg() != 27700 else edges
    if "name" not in edges.columns or not len(edges):
        return gpd.GeoDataFrame({"name": []}, geometry=[], crs=BNG)
    edges = edges[["name", "geometry"]].explode("name", ignore_index=True)
    return edges[edges["name"].notna() & (edges["name"].astype(str) != "")].reset_index(
        drop=True)


def _street_near(pts: gpd.GeoSeries, network: object, max_m: float) -> list[str]:
    """The name of the nearest named street within `max_m` of each point."""
    import shapely

    edges = named_streets(network)
    if not len(edges):
        return [""] * len(pts)
    tree = shapely.STRtree(edges.geometry.array)
    idx, _ = tree.query_nearest(pts.array, return_distance=True, all_matches=False,
                                max_distance=max_m)
    out = [""] * len(pts)
    for pi, ei in idx.T:
        out[pi] = str(edges["name"].iat[ei])
    return out
