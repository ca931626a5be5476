"""The weekly focus ward: score every ward, rotate, and build the menu of actions.

Harrow's Priority Enforcement Team moves around the borough one ward a week (per
area team). This module prepares the weekly tasking meeting:

* :func:`focus_week` scores every ward on the lookback window before the focus week,
  applies the rotation (no ward twice within ``exclude_recent`` weeks), hand-made
  choices, and picks one focus ward per team (or one for the borough);
* :func:`action_menu` turns a ward's issue mix into the menu of actions from the
  shipped, editable ``data/actions.csv``, most pressing first, with where each applies;
* :func:`actions_review` reads the team's actions log for last week's measures.

Decisions only: nothing here draws maps or writes reports (see ``report.py``).
"""

from __future__ import annotations

import difflib
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._atomic import atomic_write_csv, with_source
from ._errors import BadInputError, HotspotsError
from ._time import covered_days, incident_times, month_only, month_range, month_start, parse_days
from ._validate import check_gdf, norm_name
from .boundaries import street_text
from .privacy import protect

__all__ = [
    "DEFAULT_SCORE_WEIGHTS",
    "DEFAULT_WEIGHTS",
    "HISTORY_COLUMNS",
    "action_menu",
    "area_places",
    "focus_week",
    "FocusWeek",
    "load_actions",
]

log = logging.getLogger("hotspots")

#: Default category weights: the enforcement team's priority issues count fully,
#: related street problems half, other crime a little (police matters, but a busy
#: crime ward still gains from a visible presence). Override with ``weights=``.
DEFAULT_WEIGHTS: dict[str, float] = {
    "fly_tip": 1.0,
    "asb": 1.0,
    "streetsafe": 1.0,
    "criminal_damage": 0.5,
    "drugs": 0.5,
    "public_order": 0.5,
    "robbery": 0.25,
    "violence_sexual": 0.25,
    "burglary": 0.25,
    "vehicle": 0.25,
    "theft": 0.25,
    "theft_person": 0.25,
    "shoplifting": 0.25,
    "bicycle_theft": 0.25,
    "weapons": 0.25,
    "other": 0.25,
}

#: Weights of the normalised parts in the ward score (see :func:`focus_week`).
DEFAULT_SCORE_WEIGHTS: dict[str, float] = {"count": 0.4, "rate": 0.2, "change": 0.2, "areas": 0.2}

HISTORY_COLUMNS = ["week", "iso_week", "ward", "ward_code", "team", "reason"]


# ---------------------------------------------------------------- result object
@dataclass
class FocusWeek:
    """The focus-week decision and everything needed to explain it.

    Attributes
    ----------
    ranking : pandas.DataFrame
        One row per ward: ``rank, ward_code, ward_name, team, score``, the score's
        parts (``part_count, part_rate, part_change, part_areas``, each 0..1), the raw
        figures (``n_incidents, n_previous`` (incidents in the window and the one
        before), ``weighted, weighted_previous, change, change_pct`` (weighted),
        ``population, rate_per_1000, n_areas, n_<category>...``), ``last_focus``,
        ``eligible``, ``forced``, ``chosen``, ``choice_reason``, ``reasons``.
    chosen : list of str
        Ward names chosen: one per team, or one for the borough.
    areas : dict
        Ward name -> its top areas (from ``hs.top_areas`` on the window), clipped to
        the ward, with ``area_in_ward_m2`` and ``n_in_ward`` (the ward's window
        incidents inside the clipped area; areas with none are left out).
        ``n_incidents`` and ``n_<category>`` stay those of the whole area. Areas are
        placed by ``streets`` (with ``network=``) or ``landmark`` (nearest station).
    menu : dict
        Ward name -> its action menu (:func:`action_menu`).
    week : pandas.Timestamp
        The Monday the focus week starts.
    iso_week : str
        e.g. ``"2022-W06"``.
    incidents : geopandas.GeoDataFrame
        The window's incidents with ward columns and ``window_weight`` (1, or the
        share of a month-only record's month that falls inside the window).
    weights : dict
        Category weights used.
    attrs : dict
        Parameters chosen (small scalars).
    notes : list of str
        Plain-language notes (month-only data, empty window, teams without a ward...).
    """

    ranking: pd.DataFrame
    chosen: list[str]
    areas: dict[str, gpd.GeoDataFrame]
    menu: dict[str, pd.DataFrame]
    week: pd.Timestamp
    iso_week: str
    incidents: gpd.GeoDataFrame
    weights: dict[str, float]
    attrs: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def chosen_table(self) -> pd.DataFrame:
        """The chosen wards as history rows: ``week, iso_week, ward, ward_code, team, reason``."""
        r = self.ranking.set_index("ward_name")
        rows = [
            {
                "week": self.week.strftime("%Y-%m-%d"),
                "iso_week": self.iso_week,
                "ward": w,
                "ward_code": r.at[w, "ward_code"],
                "team": "" if pd.isna(r.at[w, "team"]) else r.at[w, "team"],
                "reason": r.at[w, "choice_reason"],
            }
            for w in self.chosen
        ]
        return pd.DataFrame(rows, columns=HISTORY_COLUMNS)

    def append_history(self, path: str | PathLike, source: str | None = None) -> Path:
        """Append the chosen wards to a history CSV, atomically.

        Rows already recorded for this same week are replaced, so re-running a week
        does not duplicate it; how many were replaced is kept in
        ``attrs["history_replaced"]``. Other rows and columns are kept as they are.
        `source` (the incidents' dataset and licence) goes in the new rows' ``source``
        column.
        """
        path = Path(path)
        new = with_source(self.chosen_table(), source)
        self.attrs["history_replaced"] = 0
        if path.exists() and path.stat().st_size > 0:
            old = pd.read_csv(path, dtype=str, keep_default_na=False)
            if "week" in old.columns:
                same = (_parse_weeks(old["week"]) == self.week).to_numpy()
                self.attrs["history_replaced"] = int(same.sum())
                old = old[~same]
            out = pd.concat([old, new.astype(str)], ignore_index=True)
        else:
            out = new
        atomic_write_csv(out, path)
        return path


# ---------------------------------------------------------------- small helpers
def _monday(week: object) -> pd.Timestamp:
    """The Monday of the week holding `week` (a date, Timestamp or ISO week string)."""
    try:
        text = week if isinstance(week, str) else str(pd.Timestamp(week).date())
    except (TypeError, ValueError):
        text = "?"
    monday = _parse_weeks(pd.Series([text])).iloc[0]
    if pd.isna(monday):
        raise BadInputError(f"week must be a date like '2022-02-07' or an ISO week like "
                            f"'2022-W06', got {week!r}")
    return pd.Timestamp(monday)


def _parse_weeks(values: pd.Series) -> pd.Series:
    """Dates ('2022-02-07') or ISO weeks ('2022-W06') -> the Monday, NaT if unreadable."""
    s = values.astype(str).str.strip()
    iso = s.str.fullmatch(r"\d{4}-?W\d{1,2}")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if iso.any():
        norm = s[iso].str.replace(r"(\d{4})-?W(\d{1,2})", r"\1-W\2-1", regex=True)
        out[iso] = pd.to_datetime(norm.str.replace(r"-W(\d)-", r"-W0\1-", regex=True),
                                  format="%G-W%V-%u", errors="coerce")
    if (~iso).any():  # day-first like the file reader: 07/02/2022 is 7 February
        d = pd.to_datetime(parse_days(s[~iso]), errors="coerce", utc=False)
        out[~iso] = d
    out = out.dt.normalize()
    return out - pd.to_timedelta(out.dt.day_of_week, unit="D")


def _given_day(week: object) -> pd.Timestamp | None:
    """The day `week` names (midnight), or None for an ISO week or an unreadable value."""
    if isinstance(week, str) and "W" in week.upper():
        return None
    try:
        day = parse_days(pd.Series([week])).iloc[0] if isinstance(week, str) else pd.Timestamp(week)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(day) else pd.Timestamp(day).normalize()


def _iso_week(ts: pd.Timestamp) -> str:
    y, w, _ = ts.isocalendar()
    return f"{y}-W{w:02d}"


def _read_table(obj: object, name: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj.copy()
    p = Path(obj)  # type: ignore[arg-type]
    if not p.exists():
        raise BadInputError(f"{name} file not found: {p}")
    try:
        return pd.read_csv(p)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise BadInputError(f"{name} file {p} is not a readable CSV: {exc}") from None


def _category_weights(weights: Mapping[str, float] | str | PathLike | pd.DataFrame | None = None
                     ) -> dict[str, float]:
    """Category weights.

    The defaults updated with `weights` (dict, or CSV with columns ``category, weight``).
    Categories not listed weigh 0.
    """
    out = dict(DEFAULT_WEIGHTS)
    if weights is None:
        return out
    if isinstance(weights, Mapping):
        extra = dict(weights)
    else:
        t = _read_table(weights, "weights")
        if not {"category", "weight"} <= set(t.columns):
            raise BadInputError("weights CSV needs columns 'category, weight'")
        extra = dict(zip(t["category"].astype(str), t["weight"], strict=True))
    for k, v in extra.items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise BadInputError(f"weight for {k!r} must be a number, got {v!r}") from None
        if v < 0 or np.isnan(v):
            raise BadInputError(f"weight for {k!r} must be 0 or more, got {v!r}")
        out[str(k)] = v
    return out


def _window_weight(inc: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """1 for dated incidents in [start, end).

    For month-only records, the share of their month inside the window (an even spread over the
    month).
    """
    w = np.zeros(len(inc))
    occ = incident_times(inc, dated_only=True)
    dated = occ.notna().to_numpy()
    if dated.any():
        o = occ[dated]
        w[dated] = ((o >= start) & (o < end)).to_numpy(dtype=float)
    if (~dated).any() and "month" in inc:
        month = pd.to_datetime(inc["month"][~dated])
        m0, m1 = month_start(month), month_start(month, 1)
        lo = np.maximum(m0.to_numpy(), np.datetime64(start, "ns"))
        hi = np.minimum(m1.to_numpy(), np.datetime64(end, "ns"))
        days = (hi - lo) / np.timedelta64(1, "D")
        span = (m1 - m0).dt.days.to_numpy()
        share = np.clip(np.nan_to_num(days / span), 0, 1)
        w[~dated] = share
    return w


def _match_ward(names: pd.Series, wards: pd.DataFrame) -> pd.Series:
    """Ward names or codes (any case) -> ward_name of `wards`, NaN when unknown."""
    key = {norm_name(n): n for n in wards["ward_name"]}
    key.update({norm_name(c): n for c, n in zip(wards["ward_code"], wards["ward_name"],
                                                strict=True)})
    return names.map(norm_name).map(key)


def _did_you_mean(name: object, wards: pd.DataFrame) -> str:
    """'did you mean 'Greenhill'?' (closest ward names), or 'no close match'."""
    close = difflib.get_close_matches(str(name), wards["ward_name"].tolist(), n=3, cutoff=0.5)
    return f"did you mean {', '.join(map(repr, close))}?" if close else "no close match"


def _resolve_ward(name: str, wards: pd.DataFrame, what: str) -> str:
    from .boundaries import find_ward

    try:
        return str(find_ward(name, wards)["ward_name"])
    except KeyError as exc:  # UnknownPlaceError: say where the name came from
        raise type(exc)(f"{what}: {exc}") from None


def _load_history(history: object, wards: pd.DataFrame) -> pd.DataFrame:
    cols = ["week", "ward_name", "team", "reason"]
    if history is None:
        return pd.DataFrame(columns=cols)
    if not isinstance(history, pd.DataFrame) and not Path(history).exists():  # type: ignore[arg-type]
        log.info("focus week: history file %s does not exist yet; starting a new one", history)
        return pd.DataFrame(columns=cols)
    h = _read_table(history, "history")
    if len(h) == 0:
        return pd.DataFrame(columns=cols)
    if not {"week", "ward"} <= set(h.columns):
        raise BadInputError(f"history needs columns 'week, ward' (it has {list(h.columns)})")
    h = h.reset_index(drop=True)
    weeks = _parse_weeks(h["week"])
    names = _match_ward(h["ward"], wards)
    for i in np.flatnonzero(weeks.isna().to_numpy()):
        warnings.warn(f"history row {i + 2}: week {h.at[i, 'week']!r} is not a date or ISO "
                      "week; row ignored", UserWarning, stacklevel=3)
    for i in np.flatnonzero((names.isna() & weeks.notna()).to_numpy()):
        warnings.warn(f"history row {i + 2}: ward {h.at[i, 'ward']!r} (week {h.at[i, 'week']}) "
                      "is not one of this borough's wards; row ignored", UserWarning,
                      stacklevel=3)
    out = pd.DataFrame({
        "week": weeks,
        "ward_name": names,
        "team": h.get("team", np.nan),
        "reason": h.get("reason", np.nan),
    })
    return out.dropna(subset=["week", "ward_name"]).reset_index(drop=True)


def _resolve_teams(teams: object, wards: gpd.GeoDataFrame, notes: list[str] | None = None
                   ) -> pd.Series | None:
    """ward_name -> team (NaN for a ward no team covers), or None for borough-wide.

    Table rows naming no ward of `wards`, and wards left without a team, are told in
    `notes` (close matches for the names): either way a ward silently drops out of
    the rotation.
    """
    if teams is None or teams is False:
        return None
    if teams is True:
        from .boundaries import area_teams

        other = (sorted(set(wards["borough_name"].astype(str)) - {"Harrow"})
                 if "borough_name" in wards else [])
        if other:  # the shipped table is Harrow's: no ward year will make it fit
            raise BadInputError(
                f"teams: the shipped area teams table (hs.area_teams) covers Harrow only, and "
                f"these wards are in {', '.join(other)}. Pass your own ward -> team table: "
                "teams='teams.csv' or a DataFrame with a 'team' column and 'ward_name' or "
                "'ward_code' (command line: --teams-csv teams.csv)")
        year = int(wards["year"].iloc[0]) if "year" in wards and len(wards) else 2022
        teams = area_teams(year=year)
    t = _read_table(teams, "teams")
    if "team" not in t.columns or not ({"ward_code", "ward_name"} & set(t.columns)):
        raise BadInputError("teams needs a 'team' column and 'ward_code' or 'ward_name'")
    t = t.reset_index(drop=True)
    hit = pd.Series(np.nan, index=wards.index, dtype=object)
    known = pd.Series(data=False, index=t.index)
    if "ward_code" in t:
        hit = wards["ward_code"].map(norm_name).map(dict(zip(t["ward_code"].map(norm_name),
                                                             t["team"], strict=True)))
        known |= t["ward_code"].map(norm_name).isin(wards["ward_code"].map(norm_name))
    if "ward_name" in t:
        key = t["ward_name"].map(norm_name)
        known |= key.isin(wards["ward_name"].map(norm_name))
        if hit.isna().any():
            by_name = dict(zip(key, t["team"], strict=True))
            hit = hit.fillna(wards["ward_name"].map(norm_name).map(by_name))
    unknown = []
    for i in np.flatnonzero(~known.to_numpy()):
        name = t.at[i, "ward_name"] if "ward_name" in t else t.at[i, "ward_code"]
        unknown.append(f"{name!r} (row {i + 2}; {_did_you_mean(name, wards)})")
    if hit.notna().sum() == 0:
        raise BadInputError(
            "teams: none of the wards matches the teams table by code or name; are they the "
            "same ward year? (hs.area_teams(year=...) maps teams onto a ward year)"
            + (f" Names not among these wards: {', '.join(unknown[:10])}" if unknown else ""))
    if notes is not None and unknown:
        notes.append(f"Teams table: {len(unknown)} row(s) name no ward of this borough and are "
                     f"ignored: {', '.join(unknown)}.")
    if notes is not None and hit.isna().any():
        missing = wards["ward_name"][hit.isna()].tolist()
        notes.append(f"{len(missing)} of {len(wards)} wards have no team in the teams table and "
                     f"cannot be a focus ward: {', '.join(missing)}.")
    return pd.Series(hit.to_numpy(), index=wards["ward_name"].to_numpy())


def _population(population: object, wards: gpd.GeoDataFrame) -> tuple[pd.Series | None, str]:
    """ward_name -> residents, and where the figures came from."""
    if population is False:
        return None, "not used"
    if population is None:
        try:
            from .boundaries import ward_population

            year = int(wards["year"].iloc[0]) if "year" in wards and len(wards) else 2022
            # only the wards' boroughs: apportioning all of London costs seconds, and
            # each borough's figures are computed within that borough anyway
            boroughs = (sorted(wards["borough_code"].dropna().unique())
                        if "borough_code" in wards else [])
            population = ward_population(year, borough=boroughs or None)
            source = f"hs.ward_population({year})"
        except (ImportError, AttributeError, HotspotsError, KeyError) as exc:
            log.info("focus week: no ward population (%s); rate part left out", exc)
            return None, "unavailable"
    else:
        source = "given"
    p = _read_table(population, "population")
    if "population" not in p.columns:
        raise BadInputError("population needs columns 'ward_code' or 'ward_name', 'population'")
    out = pd.Series(np.nan, index=wards.index)
    if "ward_code" in p:
        out = wards["ward_code"].map(dict(zip(p["ward_code"].astype(str), p["population"],
                                              strict=False)))
    if "ward_name" in p and out.isna().any():
        by = dict(zip(p["ward_name"].astype(str).str.lower(), p["population"], strict=False))
        out = out.fillna(wards["ward_name"].str.lower().map(by))
    out = pd.to_numeric(out, errors="coerce")
    if out.notna().sum() == 0:
        return None, "no match"
    return pd.Series(out.to_numpy(), index=wards["ward_name"].to_numpy()), source


def _top_areas(inc: gpd.GeoDataFrame, n: int, network: object, period: tuple,
               wards: gpd.GeoDataFrame, cw: Mapping[str, float]) -> gpd.GeoDataFrame | None:
    """The window's hs.top_areas, or None when it has too few incidents to make any area.

    Change is against the previous window; areas are scored with the category weights
    `cw` (categories weighted 0 left out).
    """
    from .rank import top_areas

    inc = inc[inc["category"].astype(str).map(cw).fillna(0.0).to_numpy() > 0]
    if len(inc) == 0:
        return None
    # ranked by the forecast of next week (next month for month-only data) from the
    # window and the one before it: the focus week follows what is happening now
    start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
    t = incident_times(inc)
    inc = inc[(t >= start - (end - start) - pd.Timedelta(days=1)).to_numpy()]
    try:
        areas = top_areas(inc, n=n, period=period, network=network, wards=wards, quiet=True,
                          harm=dict(cw), rank_by="forecast",
                          forecast_freq="MS" if month_only(inc) else "W-MON")
    except HotspotsError as exc:
        log.info("focus week: no top areas in the window (%s)", exc)
        return None
    return areas if len(areas) else None


def _areas_in_wards(areas: gpd.GeoDataFrame | None, wards: gpd.GeoDataFrame
                    ) -> tuple[pd.Series, pd.Series]:
    """Per ward: how many areas it holds, and the sum of their ``score``.

    An area belongs to the ward holding its representative point (each area counted once).
    """
    idx = wards["ward_name"].to_numpy()
    if areas is None:
        return pd.Series(0, index=idx), pd.Series(0.0, index=idx)
    pts = gpd.GeoDataFrame({"score": areas["score"].to_numpy(dtype=float)},
                           geometry=areas.geometry.representative_point().values, crs=areas.crs)
    j = gpd.sjoin(pts, wards[["ward_name", "geometry"]], predicate="within", how="inner")
    j = j[~j.index.duplicated()]
    n = j["ward_name"].value_counts().reindex(idx, fill_value=0).astype(int)
    s = j.groupby("ward_name")["score"].sum().reindex(idx, fill_value=0.0)
    return n, s


def _clip_areas(areas: gpd.GeoDataFrame | None, ward_geom) -> gpd.GeoDataFrame | None:
    """The areas touching a ward, their geometry cut to it, ``area_in_ward_m2`` added."""
    if areas is None:
        return None
    hit = areas[areas.intersects(ward_geom)].copy()
    if len(hit) == 0:
        return hit
    hit["geometry"] = hit.geometry.intersection(ward_geom)
    hit = hit[~hit.geometry.is_empty & (hit.geometry.area > 0)]
    hit["area_in_ward_m2"] = hit.geometry.area.round(0)
    return hit.sort_values("rank").reset_index(drop=True)


def _with_ward_counts(areas: gpd.GeoDataFrame | None, inc: gpd.GeoDataFrame
                      ) -> gpd.GeoDataFrame | None:
    """Add ``n_in_ward`` (the ward's window incidents in each clipped area), drop the empty.

    A corner of a neighbour's hotspot holding none of the ward's incidents is not a
    problem here.
    """
    if areas is None or len(areas) == 0:
        return areas
    of = _area_of(inc, areas)
    tally = pd.Series(inc["window_weight"].to_numpy(dtype=float), index=of).groupby(
        level=0).sum()
    areas = areas.assign(n_in_ward=areas["rank"].map(tally).fillna(0.0).round(2))
    return areas[areas["n_in_ward"] > 0].reset_index(drop=True)


def _norm(x: pd.Series) -> pd.Series:
    m = float(x.max()) if len(x) else 0.0
    return x / m if m > 0 else x * 0.0


# ---------------------------------------------------------------- focus_week
def focus_week(  # noqa: PLR0913 (the borough's data plus the documented weekly options)
    inc: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    week: str | pd.Timestamp = "2022-02-07",
    teams: pd.DataFrame | str | PathLike | bool | None = None,
    history: pd.DataFrame | str | PathLike | None = None,
    lookback_weeks: int = 4,
    exclude_recent: int = 4,
    weights: Mapping[str, float] | str | PathLike | None = None,
    population: pd.DataFrame | str | PathLike | bool | None = None,
    force: Mapping[str, str] | None = None,
    exclude: Mapping[str, str] | None = None,
    n_areas: int = 20,
    score_weights: Mapping[str, float] | None = None,
    network: object = None,
    actions: pd.DataFrame | str | PathLike | None = None,
) -> FocusWeek:
    """Choose the week's focus ward(s) from the incidents of the weeks before.

    Every ward is scored on the lookback window, ``[week - lookback_weeks, week)``,
    against the previous window of equal length::

        W      = sum of category weights of the ward's incidents in the window
        rate   = W per 1,000 residents
        change = W - W_previous
        areas  = summed ``score`` of the window's top ``n_areas`` areas (hs.top_areas,
                 incidents weighted by category, ranked by the forecast of the week:
                 expected weight next week from the window and the one before)
                 whose centre is in the ward (their number is reported as n_areas)
        score  = (0.4·W/max W + 0.2·rate/max rate + 0.2·max(change, 0)/max W
                  + 0.2·areas/max areas) / (sum of the part weights used)

    where "max" is over the borough's wards that week, so the score runs 0..1. A rise
    is scaled by the busiest ward's count (not the biggest rise) so a noisy jump in a
    quiet ward cannot outweigh a large, steady problem. The part weights are
    ``score_weights`` (default
    ``{"count": 0.4, "rate": 0.2, "change": 0.2, "areas": 0.2}``); without population
    the rate part is left out and the others rescaled.

    Rotation: a ward that was a focus ward in the ``exclude_recent`` weeks before
    `week` (from `history`) is not eligible; ``exclude`` removes wards by hand and
    ``force`` chooses them by hand (reasons recorded). With `teams`, the best
    eligible ward of each team is chosen; otherwise the best in the borough. A team
    whose wards have no incidents in the window gets no focus ward (see ``notes``).

    Parameters
    ----------
    inc : geopandas.GeoDataFrame
        Canonical incidents. Ward columns are used when their codes match `wards`,
        otherwise the incidents are joined with ``hs.assign_wards``. Month-only
        records (police.uk: ``occurred_at`` empty) count by the share of their month
        inside each window, i.e. spread evenly over the month (noted in ``notes``).
    wards : geopandas.GeoDataFrame
        The borough's wards (``hs.wards``).
    week : str or Timestamp, default "2022-02-07"
        The Monday the focus week starts (another day means its week's Monday;
        ISO weeks like "2022-W06" work too).
    teams : DataFrame, CSV path, True or None
        ``ward_code`` or ``ward_name`` -> ``team``; True means
        ``hs.area_teams(year)`` for the wards' year. None: one ward for the borough.
    history : DataFrame, CSV path or None
        Past focus wards, columns ``week, ward`` (+ ``team, reason``). A missing file
        is an empty history; unknown ward names are warned about and ignored.
    lookback_weeks : int, default 4
        Length of the scoring window, in weeks.
    exclude_recent : int, default 4
        A ward chosen in this many weeks before `week` is not chosen again.
    weights : dict or CSV path, optional
        Category weights (``category, weight``) updating :data:`DEFAULT_WEIGHTS`
        (fly_tip, asb, streetsafe 1.0; criminal_damage, drugs, public_order 0.5;
        other crime 0.25).
    population : DataFrame, CSV path, False or None
        ``ward_code``/``ward_name`` -> ``population``. None looks up
        ``hs.ward_population``; False leaves the rate part out.
    force, exclude : dict, optional
        ``{"ward name or code": "reason"}`` chosen / excluded by hand.
    n_areas : int, default 20
        How many top areas ``hs.top_areas`` finds in the window.
    score_weights : dict, optional
        Weights of the score parts ``count, rate, change, areas``.
    network : optional
        A street network passed to ``hs.top_areas`` so areas carry street names.
    actions : DataFrame or CSV path, optional
        The actions menu table (default: the shipped ``data/actions.csv``).

    Returns
    -------
    FocusWeek
        ``.ranking``, ``.chosen``, ``.areas``, ``.menu``, ``.week``, ``.iso_week``,
        ``.notes``, ``.attrs`` and ``.append_history(path)``.
    """
    wards = check_gdf(wards, "wards", ["ward_code", "ward_name", "geometry"])
    inc = protect(check_gdf(inc, "incidents", ["category", "geometry"]))  # privacy.py
    if len(wards) == 0:
        raise BadInputError("wards is empty: pass the borough's wards (hs.wards(borough=...))")
    opt = _options(week, lookback_weeks, exclude_recent, weights, score_weights)
    wards = wards.reset_index(drop=True)
    notes = list(opt.notes)
    win = _windows(inc, wards, opt, notes)
    tal = _tallies(win, opt, wards)
    areas_all = (_top_areas(win.joined, n_areas, network, (opt.start, opt.window_end),
                            wards, opt.cw) if len(win.incidents) else None)
    if areas_all is not None and win.n_month_only:
        m0, m1 = opt.start.to_period("M"), opt.window_end.to_period("M")
        notes.append(f"Hotspot areas use whole months ({month_range(m0, m1, ' to ')}) "
                     "because the data give months only; their incident counts cover those "
                     "months, not just the window.")
    n_in, area_score = _areas_in_wards(areas_all, wards)
    sc = _score(tal, area_score, population, wards, win, opt, notes)
    team_of = _resolve_teams(teams, wards, notes)
    r = _ranking(tal, sc, n_in, wards, team_of)
    r, why_not, forced = _eligibility(r, wards, history, exclude, force, team_of, opt)
    groups = [None] if team_of is None else sorted(r["team"].dropna().unique().tolist())
    chosen, choice_reason = _choice(r, groups, forced, why_not, opt,
                                    change_ok=sc.parts["change"] is not None, notes=notes)
    r["chosen"] = r["ward_name"].isin(chosen)
    r["choice_reason"] = [choice_reason.get(w, "") for w in r["ward_name"]]
    r["reasons"] = [
        "; ".join(why_not[w]) if why_not[w]
        else _describe(row, opt.lookback, with_change=sc.parts["change"] is not None)
        for w, row in zip(r["ward_name"], r.to_dict("records"), strict=True)
    ]

    geom = dict(zip(wards["ward_name"], wards.geometry, strict=True))
    window_inc = win.incidents
    areas = {w: _with_ward_counts(_clip_areas(areas_all, geom[w]),
                                  window_inc[window_inc["ward_name"] == w]) for w in chosen}
    areas = {w: a for w, a in areas.items() if a is not None}
    attrs = {
        "week": opt.monday.strftime("%Y-%m-%d"),
        "lookback_weeks": opt.lookback,
        "exclude_recent": opt.exclude_recent,
        "window_start": opt.start.strftime("%Y-%m-%d"),
        "window_end": opt.window_end.strftime("%Y-%m-%d"),
        "previous_start": opt.prev_start.strftime("%Y-%m-%d"),
        "time_basis": win.time_basis,
        "n_window": _fmt(float(win.w_now.sum())),  # month-only records pro-rated
        "score_weights": ", ".join(f"{k} {v:g}" for k, v in sc.used.items()),
        "population": sc.pop_source,
        "teams": "borough-wide" if team_of is None else ", ".join(map(str, groups)),
        "n_areas": int(n_areas),
        "n_areas_found": 0 if areas_all is None else len(areas_all),
        "sources": ", ".join(sorted(win.joined["source"].astype(str).unique()))
        if "source" in win.joined else "",
    }
    log.info("focus week %s: window %s..%s (%s), score weights %s, population %s; chosen %s",
             _iso_week(opt.monday), attrs["window_start"], attrs["window_end"], win.time_basis,
             attrs["score_weights"], sc.pop_source, chosen or "none")
    fw = FocusWeek(ranking=r, chosen=chosen, areas=areas, menu={}, week=opt.monday,
                   iso_week=_iso_week(opt.monday), incidents=window_inc, weights=opt.cw,
                   attrs=attrs, notes=notes)
    acts = load_actions(actions)
    fw.menu = {w: action_menu(fw, acts, ward=w) for w in chosen}
    return fw


# --------------------------------------------------------------------------- phases
@dataclass
class _Options:
    """focus_week's options, checked, and the weeks they give."""

    monday: pd.Timestamp  # the focus week
    start: pd.Timestamp  # the scoring window: [start, monday)
    prev_start: pd.Timestamp  # the previous window: [prev_start, start)
    lookback: int
    exclude_recent: int
    sw: dict[str, float]  # score part weights
    cw: dict[str, float]  # category weights
    notes: list[str]

    @property
    def window_end(self) -> pd.Timestamp:
        """The window's last day."""
        return self.monday - pd.Timedelta(days=1)


def _options(week: object, lookback_weeks: int, exclude_recent: int, weights: object,
             score_weights: Mapping[str, float] | None) -> _Options:
    """Options checked (clear errors), the focus week's Monday and the two windows."""
    for name, v in (("lookback_weeks", lookback_weeks), ("exclude_recent", exclude_recent)):
        if int(v) != v or v < (1 if name == "lookback_weeks" else 0):
            raise BadInputError(f"{name} must be a whole number of weeks, got {v!r}")
    sw = dict(DEFAULT_SCORE_WEIGHTS)
    if score_weights:
        unknown = set(score_weights) - set(sw)
        if unknown:
            raise BadInputError(f"score_weights: unknown part(s) {sorted(unknown)}; "
                                f"use {sorted(sw)}")
        sw.update({k: float(v) for k, v in score_weights.items()})
    cw = _category_weights(weights)
    notes = []
    monday = _monday(week)
    day = _given_day(week)
    if day is not None and day != monday:  # say so: the user may have meant another week
        notes.append(f"{week} is a {day:%A}: the focus week is the week starting Monday "
                     f"{monday:%Y-%m-%d} ({_iso_week(monday)}).")
    start = monday - pd.Timedelta(weeks=int(lookback_weeks))
    prev_start = start - pd.Timedelta(weeks=int(lookback_weeks))
    return _Options(monday=monday, start=start, prev_start=prev_start,
                    lookback=int(lookback_weeks), exclude_recent=int(exclude_recent),
                    sw=sw, cw=cw, notes=notes)


@dataclass
class _Windows:
    """The incidents on the borough's wards and their weight in each window."""

    joined: gpd.GeoDataFrame  # incidents in the wards, with ward columns
    ward_of: pd.Series  # ward name per incident
    w_now: np.ndarray  # share of each incident inside the window (month-only: pro-rated)
    w_prev: np.ndarray  # the same for the previous window
    incidents: gpd.GeoDataFrame  # the window's incidents (+ ward_name, window_weight)
    time_basis: str  # "date", "month" or "mixed"
    n_month_only: int


def _windows(inc: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, opt: _Options,
             notes: list[str]) -> _Windows:
    """Incidents joined to the wards and weighed into the window and the one before."""
    # wards on the incidents: reuse when they are these wards, else join
    if "ward_code" in inc and inc["ward_code"].isin(wards["ward_code"]).any():
        joined = inc
    else:
        from .join import within_wards

        joined = within_wards(inc, wards)  # the library's one ward-join policy
    joined = joined[joined["ward_code"].isin(wards["ward_code"])]
    names = dict(zip(wards["ward_code"], wards["ward_name"], strict=True))
    ward_of = joined["ward_code"].map(names)

    w_now = _window_weight(joined, opt.start, opt.monday)
    w_prev = _window_weight(joined, opt.prev_start, opt.start)
    n_month_only = int((incident_times(joined, dated_only=True).isna() & (w_now > 0)).sum())
    time_basis = "date"
    if n_month_only:
        time_basis = "month" if n_month_only == int((w_now > 0).sum()) else "mixed"
        notes.append(
            f"{n_month_only} incidents have a month but no date (e.g. police.uk); each counts "
            "by the share of its month inside the window, as if spread evenly over the month."
        )
    in_win = w_now > 0
    window_inc = joined[in_win].copy()
    window_inc["ward_name"] = ward_of[in_win].to_numpy()
    window_inc["window_weight"] = w_now[in_win]
    return _Windows(joined=joined, ward_of=ward_of, w_now=w_now, w_prev=w_prev,
                    incidents=window_inc, time_basis=time_basis, n_month_only=n_month_only)


@dataclass
class _Tallies:
    """Per ward (in the wards' order): counts and category-weighted counts."""

    weighted: pd.Series
    weighted_prev: pd.Series
    n_now: pd.Series
    n_prev: pd.Series
    per_cat: pd.DataFrame  # ward x category counts in the window


def _tallies(win: _Windows, opt: _Options, wards: gpd.GeoDataFrame) -> _Tallies:
    """Counts per ward in both windows, plain and weighted by category."""
    order = wards["ward_name"].to_numpy()
    cat_w = win.joined["category"].astype(str).map(opt.cw).fillna(0.0).to_numpy()
    frame = pd.DataFrame({"ward": win.ward_of.to_numpy(),
                          "cat": win.joined["category"].astype(str),
                          "now": win.w_now, "prev": win.w_prev, "wnow": win.w_now * cat_w,
                          "wprev": win.w_prev * cat_w})
    by = frame.groupby("ward")
    per_cat = frame[frame["now"] > 0].pivot_table(index="ward", columns="cat", values="now",
                                                  aggfunc="sum").reindex(order).fillna(0.0)
    return _Tallies(weighted=by["wnow"].sum().reindex(order, fill_value=0.0),
                    weighted_prev=by["wprev"].sum().reindex(order, fill_value=0.0),
                    n_now=by["now"].sum().reindex(order, fill_value=0.0),
                    n_prev=by["prev"].sum().reindex(order, fill_value=0.0),
                    per_cat=per_cat)


@dataclass
class _Score:
    """The score of every ward and the parts it is made of."""

    parts: dict[str, pd.Series | None]  # count, rate, change, areas (None: left out)
    score: pd.Series
    used: dict[str, float]  # the part weights used
    rate: pd.Series | None
    pop: pd.Series | None
    pop_source: str
    change: pd.Series


def _score(tal: _Tallies, area_score: pd.Series, population: object,
           wards: gpd.GeoDataFrame, win: _Windows, opt: _Options,
           notes: list[str]) -> _Score:
    """Each ward's score: weighted parts count, rate, change and areas, each 0..1."""
    order = wards["ward_name"].to_numpy()
    weighted = tal.weighted
    pop, pop_source = _population(population, wards)
    rate = weighted / pop.reindex(order) * 1000.0 if pop is not None else None
    change = weighted - tal.weighted_prev
    parts = {
        "count": _norm(weighted),
        "rate": _norm(rate.fillna(0.0)) if rate is not None else None,
        # a rise is measured against the busiest ward's count, not the biggest rise:
        # otherwise a noisy +3 in a quiet ward could outweigh a large, steady problem
        "change": change.clip(lower=0) / weighted.max() if weighted.max() > 0 else change * 0.0,
        # areas weighted by their own score: one big hotspot counts as much as
        # several small ones (a plain count rewards DBSCAN splitting a problem up)
        "areas": _norm(area_score),
    }
    first, last_day = covered_days(win.joined)
    if first is not None and first > opt.prev_start:
        parts["change"] = None  # a window the data do not cover would look like a rise
        notes.append(f"The data start on {first:%d %b %Y}, after the previous window begins "
                     f"({opt.prev_start:%d %b %Y}): the change part is left out of the score.")
    if first is not None and (first >= opt.monday or last_day < opt.start):
        notes.append(f"The data cover {first:%d %b %Y} to {last_day:%d %b %Y}: nothing falls "
                     f"in the window {opt.start:%d %b %Y} to {opt.window_end:%d %b %Y}.")
    elif last_day is not None and last_day < opt.monday - pd.Timedelta(days=7):
        notes.append(f"The data end on {last_day:%d %b %Y}, more than a week before the focus "
                     "week: the latest weeks are missing from the scores.")
    used = {k: opt.sw[k] for k, v in parts.items() if v is not None and opt.sw[k] > 0}
    if not used:
        raise BadInputError("score_weights leave no part of the score with a weight above 0")
    total = sum(used.values())
    score = sum(parts[k] * v for k, v in used.items()) / total
    if pop is None:
        notes.append("No ward population available: the rate per 1,000 residents is left out "
                     "of the score.")
    return _Score(parts=parts, score=score, used=used, rate=rate, pop=pop,
                  pop_source=pop_source, change=change)


def _ranking(tal: _Tallies, sc: _Score, n_in: pd.Series, wards: gpd.GeoDataFrame,
             team_of: pd.Series | None) -> pd.DataFrame:
    """The ranking table's numbers, one row per ward (indexed by ward name)."""
    order = wards["ward_name"].to_numpy()
    r = pd.DataFrame(index=pd.Index(order, name="ward_name"))
    r["ward_code"] = wards["ward_code"].to_numpy()
    r["team"] = team_of.reindex(order).to_numpy() if team_of is not None else np.nan
    r["score"] = sc.score.round(4)
    for k in ("count", "rate", "change", "areas"):
        r[f"part_{k}"] = sc.parts[k].round(4) if sc.parts[k] is not None else np.nan
    r["n_incidents"] = tal.n_now.round(2)
    r["n_previous"] = tal.n_prev.round(2)
    r["weighted"] = tal.weighted.round(2)
    r["weighted_previous"] = tal.weighted_prev.round(2)
    r["change"] = sc.change.round(2)
    prev = tal.weighted_prev
    r["change_pct"] = np.where(prev > 0, (sc.change / prev.where(prev > 0) * 100).round(1),
                               np.nan)
    r["population"] = sc.pop.reindex(order).to_numpy() if sc.pop is not None else np.nan
    r["rate_per_1000"] = sc.rate.round(3) if sc.rate is not None else np.nan
    r["n_areas"] = n_in.astype(int)
    for c in tal.per_cat.columns:
        r[f"n_{c}"] = tal.per_cat[c].round(2)
    return r


def _eligibility(r: pd.DataFrame, wards: gpd.GeoDataFrame, history: object,
                 exclude: Mapping[str, str] | None, force: Mapping[str, str] | None,
                 team_of: pd.Series | None, opt: _Options,
                 ) -> tuple[pd.DataFrame, dict[str, list[str]], dict[str, str]]:
    """Rotation, hand choices and teams: why each ward may not be chosen; ranked table."""
    order = list(r.index)
    hist = _load_history(history, wards)
    monday = opt.monday
    recent = hist[(hist["week"] < monday) &
                  (hist["week"] >= monday - pd.Timedelta(weeks=opt.exclude_recent))]
    last = hist[hist["week"] < monday].groupby("ward_name")["week"].max()
    r["last_focus"] = [last[w].strftime("%Y-%m-%d") if w in last.index else "" for w in order]
    why_not: dict[str, list[str]] = {w: [] for w in order}
    for w, wk in recent.groupby("ward_name")["week"].max().items():
        why_not[w].append(f"focus ward in week of {wk:%d %b %Y} (within last "
                          f"{opt.exclude_recent} weeks)")
    for name, reason in (exclude or {}).items():
        w = _resolve_ward(name, wards, "exclude")
        why_not[w].append(f"excluded by hand: {reason}" if reason else "excluded by hand")
    if team_of is not None:
        for w in order:
            if pd.isna(r.at[w, "team"]):
                why_not[w].append("no area team covers this ward")
    forced = {_resolve_ward(k, wards, "force"): v for k, v in (force or {}).items()}
    r["eligible"] = [not why_not[w] for w in order]
    r["forced"] = [w in forced for w in order]

    r = r.reset_index()
    r = r.sort_values(["score", "weighted", "ward_name"], ascending=[False, False, True])
    r.insert(0, "rank", np.arange(1, len(r) + 1))
    return r.reset_index(drop=True), why_not, forced


def _by_hand(reason: str) -> str:
    return f"chosen by hand: {reason}" if reason else "chosen by hand"


def _choice(r: pd.DataFrame, groups: list, forced: dict[str, str],
            why_not: dict[str, list[str]], opt: _Options, *, change_ok: bool,
            notes: list[str]) -> tuple[list[str], dict[str, str]]:
    """The focus ward of the borough or of each team, and why it was chosen."""
    chosen: list[str] = []
    choice_reason: dict[str, str] = {}
    for g in groups:
        members = r if g is None else r[r["team"] == g]
        where = "the borough" if g is None else f"the {str(g).title()} team"
        f = [w for w in members["ward_name"] if w in forced]
        for w in f:
            choice_reason[w] = _by_hand(forced[w])
        if f:
            chosen += f
            continue
        cand = members[members["eligible"] & (members["score"] > 0)]
        if len(cand) == 0:
            notes.append(f"No focus ward for {where}: no eligible ward has any incidents in "
                         f"the {opt.lookback} weeks before {opt.monday:%d %b %Y}. Choose one by "
                         "hand (force=) if the team should still go out.")
            continue
        top = cand.iloc[0]
        chosen.append(top["ward_name"])
        # wards ranked above it that rotation or a hand choice ruled out
        names = list(members["ward_name"])
        passed = [w for w in names[:names.index(top["ward_name"])] if why_not[w]]
        choice_reason[top["ward_name"]] = (
            f"highest score {'among the eligible wards of' if passed else 'in'} {where} "
            f"({top['score']:.2f}): {_describe(top, opt.lookback, with_change=change_ok)}"
            + (f" (ranked higher but not eligible: {', '.join(passed)})" if passed else ""))
    if groups != [None]:  # forced wards outside any team
        for w in forced:
            if w not in chosen:
                chosen.append(w)
                choice_reason[w] = _by_hand(forced[w])
    return chosen, choice_reason


def _describe(row: Mapping, lookback_weeks: int, *, with_change: bool = True) -> str:
    """'34 incidents (fly_tip 30, asb 4), up 12 on the previous 4 weeks, 3 top areas'.

    The change is in incidents (not weighted), left out when the data do not cover
    the previous window.
    """
    cats = {k[2:]: v for k, v in row.items() if k.startswith("n_") and k not in
            ("n_incidents", "n_previous", "n_areas") and isinstance(v, int | float) and v > 0}
    top = sorted(cats.items(), key=lambda kv: -kv[1])[:3]
    mix = ", ".join(f"{k} {_fmt(v)}" for k, v in top)
    n = row.get("n_incidents", 0) or 0
    txt = f"{_fmt(n)} incidents" + (f" ({mix})" if mix else "")
    ch = n - (row.get("n_previous", 0) or 0) if with_change else 0
    if abs(ch) >= 0.05:
        txt += (f", {'up' if ch > 0 else 'down'} {_fmt(abs(ch))} on the previous "
                f"{lookback_weeks} weeks")
    na = int(row.get("n_areas", 0) or 0)
    if na:
        txt += f", {na} of the borough's top areas"
    return txt


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


# ---------------------------------------------------------------- the menu
def load_actions(actions: pd.DataFrame | str | PathLike | None = None) -> pd.DataFrame:
    """The actions menu: the shipped ``data/actions.csv`` or your own table.

    Columns: ``action, issue_categories, description, measure, team_measure`` and
    optional ``min_count`` (incidents needed to call for the action, default 1).
    ``issue_categories`` lists triggers separated by ``;``: a category (``fly_tip``)
    or ``category:text`` to match only incidents whose subcategory contains the text
    (``fly_tip:commercial``).
    """
    if actions is None:
        with resources.files("hotspots").joinpath("data/actions.csv").open(
                "r", encoding="utf-8") as fh:
            t = pd.read_csv(fh, keep_default_na=False)
    else:
        t = _read_table(actions, "actions").fillna("")
    need = {"action", "issue_categories", "description"}
    if not need <= set(t.columns):
        raise BadInputError(f"actions table needs columns {sorted(need)}; it has {list(t.columns)}")
    for c in ("measure", "team_measure"):
        if c not in t:
            t[c] = ""
    t["min_count"] = pd.to_numeric(t["min_count"], errors="coerce").fillna(1) if (
        "min_count" in t) else 1
    return t.reset_index(drop=True)


def _triggers(spec: str) -> list[tuple[str, str | None]]:
    out = []
    for tok in str(spec).split(";"):
        tok = tok.strip()
        if not tok:
            continue
        cat, _, sub = tok.partition(":")
        out.append((cat.strip(), sub.strip().lower() or None))
    return out


def _matches(inc: pd.DataFrame, spec: str) -> np.ndarray:
    cat = inc["category"].astype(str).to_numpy()
    sub = (inc["subcategory"].astype(str).str.lower() if "subcategory" in inc
           else pd.Series("", index=inc.index))
    hit = np.zeros(len(inc), dtype=bool)
    for c, s in _triggers(spec):
        m = cat == c
        if s is not None:
            m &= sub.str.contains(s, regex=False).to_numpy()
        hit |= m
    return hit


def _area_label(area: Mapping, incidents: pd.DataFrame | None = None) -> str:
    """How a person finds an area, never by lat/lon.

    Its streets (``streets``, from a network), else the commonest police.uk street text of its
    incidents ("On or near ..."), else its main ward and the nearest station ("Edgware ward, 600
    m north-east of Queensbury station", from ``wards`` and ``landmark``), else "area <rank>".
    """
    streets = area.get("streets")
    if isinstance(streets, list | tuple):
        streets = " / ".join(map(str, streets))
    if streets and not (isinstance(streets, float) and np.isnan(streets)):
        return str(streets)
    if incidents is not None and "location_desc" in incidents and len(incidents):
        # an anonymous report's own words never name an area (privacy.py)
        s = street_text(protect(incidents)["location_desc"])
        if s:
            return s
    wards, landmark = area.get("wards"), area.get("landmark")
    ward = wards.split(",")[0].strip() if isinstance(wards, str) else ""
    parts = [f"{ward} ward" if ward else "", landmark if isinstance(landmark, str) else ""]
    return ", ".join(p for p in parts if p) or f"area {area.get('rank', '?')}"


def area_places(areas: gpd.GeoDataFrame, incidents: pd.DataFrame | None = None) -> list[str]:
    """:func:`_area_label` for every area, in the order of `areas`' rows.

    Each with the incidents inside it (for police.uk's "On or near" street text, when
    they carry it).
    """
    out = []
    pts = None
    if isinstance(incidents, gpd.GeoDataFrame) and "location_desc" in incidents and len(
            incidents):
        pts = incidents.to_crs(areas.crs) if incidents.crs != areas.crs else incidents
    for a, geom in zip(areas.drop(columns="geometry").to_dict("records"), areas.geometry,
                       strict=True):
        out.append(_area_label(a, None if pts is None else pts[pts.within(geom)]))
    return out


def action_menu(
    ward_result: object,
    actions: pd.DataFrame | str | PathLike | None = None,
    *,
    ward: str | None = None,
    areas: gpd.GeoDataFrame | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The actions a ward's (or an area's) issue mix calls for, most pressing first.

    Parameters
    ----------
    ward_result : FocusWeek, incidents frame, or counts
        A :class:`FocusWeek` (with ``ward=``, default its first chosen ward: uses
        that ward's window incidents and areas); or incidents (``category``,
        optional ``subcategory``, ``location_desc``, geometry); or a mapping/Series
        of counts by category (``fly_tip`` or ``n_fly_tip`` keys; a ranking or
        areas row works), where subcategory triggers cannot be checked.
    actions : DataFrame or CSV path, optional
        The menu table (:func:`load_actions`); default the shipped one.
    ward : str, optional
        Which chosen ward of a FocusWeek.
    areas : GeoDataFrame, optional
        Areas (``rank``, geometry) to say where each action applies.
    weights : dict, optional
        Category weights for ``pressure`` (default the FocusWeek's or the defaults).

    Returns
    -------
    pandas.DataFrame
        ``priority, action, n_incidents, pressure, triggered_by, locations,
        description, measure, team_measure``; ``pressure`` is the weighted count of
        the incidents that call for the action (the sort key).
    """
    acts = actions if isinstance(actions, pd.DataFrame) and "min_count" in actions else (
        load_actions(actions))
    cols = ["priority", "action", "n_incidents", "pressure", "triggered_by", "locations",
            "description", "measure", "team_measure"]
    if isinstance(ward_result, FocusWeek):
        fw = ward_result
        if ward is None:
            if not fw.chosen:
                raise BadInputError("this focus week chose no ward; pass ward=...")
            ward = fw.chosen[0]
        ward = _resolve_ward(ward, fw.ranking[["ward_code", "ward_name"]], "action_menu")
        inc = fw.incidents[fw.incidents["ward_name"] == ward]
        areas = fw.areas.get(ward) if areas is None else areas
        weights = fw.weights if weights is None else weights
    elif isinstance(ward_result, pd.DataFrame) and "category" in ward_result:
        inc = protect(ward_result)  # no anonymous report's text in `locations`
    elif isinstance(ward_result, Mapping | pd.Series):
        counts = {}
        for k, v in dict(ward_result).items():
            k = str(k)
            key = k[2:] if k.startswith("n_") else k
            if key in DEFAULT_WEIGHTS or key in (weights or {}):
                counts[key] = float(v) if pd.notna(v) else 0.0
        inc = pd.DataFrame({"category": list(counts), "window_weight": list(counts.values())})
        areas = None
    else:
        raise BadInputError("action_menu needs a FocusWeek, an incidents frame or counts by "
                            f"category (got {type(ward_result).__name__})")
    cw = _category_weights(weights)
    mult = (inc["window_weight"].to_numpy(dtype=float) if "window_weight" in inc
            else np.ones(len(inc)))
    catw = inc["category"].astype(str).map(cw).fillna(0.0).to_numpy()
    area_of = _area_of(inc, areas)

    rows = []
    for i, a in acts.iterrows():
        hit = _matches(inc, a["issue_categories"])
        n = float(mult[hit].sum())
        if n < float(a["min_count"]) or n == 0:
            continue
        by_cat = pd.Series(mult[hit], index=inc["category"].astype(str)[hit]).groupby(
            level=0).sum().sort_values(ascending=False)
        rows.append({
            "order": i,
            "action": a["action"],
            "n_incidents": round(n, 1),
            "pressure": round(float((mult * catw)[hit].sum()), 2),
            "triggered_by": ", ".join(f"{k} {_fmt(v)}" for k, v in by_cat.items()),
            "locations": _locations(inc[hit], area_of[hit], mult[hit], areas),
            "description": a["description"],
            "measure": a["measure"],
            "team_measure": a["team_measure"],
        })
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows).sort_values(["pressure", "n_incidents", "order"],
                                         ascending=[False, False, True])
    out.insert(0, "priority", np.arange(1, len(out) + 1))
    return out[cols].reset_index(drop=True)


def _area_of(inc: pd.DataFrame, areas: gpd.GeoDataFrame | None) -> np.ndarray:
    """The rank of the area each incident falls in (-1 outside every area)."""
    out = np.full(len(inc), -1)
    if areas is None or len(areas) == 0 or not isinstance(inc, gpd.GeoDataFrame) or not len(inc):
        return out
    pts = gpd.GeoDataFrame({"_i": np.arange(len(inc))}, geometry=inc.geometry.values,
                           crs=inc.crs).to_crs(areas.crs)
    j = gpd.sjoin(pts, areas[["rank", "geometry"]], predicate="within", how="inner")
    j = j.sort_values("rank").drop_duplicates("_i")
    out[j["_i"].to_numpy()] = j["rank"].to_numpy()
    return out


def _locations(inc: pd.DataFrame, area_of: np.ndarray, mult: np.ndarray,
               areas: gpd.GeoDataFrame | None) -> str:
    parts = []
    if areas is not None and len(areas):
        by_rank = areas.set_index("rank")
        tally = pd.Series(mult, index=area_of).groupby(level=0).sum()
        for rank, n in tally.drop(-1, errors="ignore").sort_values(ascending=False).items():
            label = _area_label(by_rank.loc[rank].to_dict() | {"rank": rank},
                               inc[area_of == rank])
            parts.append(f"area #{rank} {label} ({_fmt(n)})")
        rest = float(tally.get(-1, 0.0))
        if rest and parts:
            parts.append(f"elsewhere in the ward ({_fmt(rest)})")
    if not parts and "location_desc" in inc:
        s = street_text(inc["location_desc"], n=3)
        if s:
            parts.append(f"mostly {s}")
    if not parts and len(inc) and areas is not None:
        outside = ", outside its hotspot areas" if len(areas) else ""
        parts.append(f"spread across the ward{outside} ({_fmt(mult.sum())})")
    return "; ".join(parts)
