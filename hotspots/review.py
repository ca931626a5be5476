"""Last week's actions against the team's measures: the actions log reviewed.

:func:`actions_review` reads a team's actions log (one row per action: week, ward,
measure, count) and sets last week against :data:`TEAM_MEASURES` and the fly-tip FPN
baseline, for the councillor summary (:func:`hotspots.report.focus_summary`). Bad rows
are reported by row number, never dropped silently.
"""

from __future__ import annotations

import difflib
from os import PathLike

import numpy as np
import pandas as pd

from ._errors import BadInputError
from .focus import _did_you_mean, _match_ward, _monday, _parse_weeks, _read_table

__all__ = ["FLYTIP_FPN_BASELINE_PER_MONTH", "TEAM_MEASURES", "actions_review"]

#: The team's weekly measures, in the order the councillor summary shows them.
TEAM_MEASURES = [
    "FPNs evidenced (fly tip)",
    "focus fly tips created",
    "suspected HMOs visited",
    "littering FPNs",
    "duty-of-care visits",
]
#: Harrow's baseline: 21 fly-tip FPNs a month (≈ 4.8 a week).
FLYTIP_FPN_BASELINE_PER_MONTH = 21.0


def actions_review(log_table: pd.DataFrame | str | PathLike, week: str | pd.Timestamp,
                   ward: str | list[str] | None = None,
                   wards: pd.DataFrame | None = None) -> pd.DataFrame:
    """Last week's actions against the team's measures.

    Parameters
    ----------
    log_table : DataFrame or CSV path
        The team's actions log: ``week, ward, measure, value`` (one row per ward,
        week and measure; ``week`` a date in the week or an ISO week).
    week : str or Timestamp
        The focus week being prepared; "last week" is the week before it.
    ward : str or list, optional
        Only these wards (default: every ward in last week's rows).
    wards : DataFrame, optional
        The borough's wards (``ward_code, ward_name``): log rows naming another ward
        are rejected (with close matches) and ward codes are shown as names.

    Returns
    -------
    pandas.DataFrame
        ``measure, value, wards, baseline, note``: every team measure (those not
        recorded show value NaN and "not recorded"), then any other measures logged
        (noted as not a team measure). Fly-tip FPNs carry the baseline of 21 a month,
        shown per week (×12/52). ``attrs["rejected"]`` lists the log rows left out,
        each ``{"file", "row", "reason"}`` (``row`` is the line in the file, header =
        line 1): a week that is not a date, a value that is not a number of 0 or more,
        an unknown ward, a misspelt team measure. ``attrs["other_measures"]`` names
        the measures kept that are not team measures.
    """
    t = _read_table(log_table, "actions log")
    need = {"week", "measure", "value"}
    if not need <= set(t.columns):
        raise BadInputError(f"actions log needs columns {sorted(need)} (+ ward); "
                            f"it has {list(t.columns)}")
    t = t.reset_index(drop=True)
    rejected = _check_actions_log(t, wards)
    source = "actions log" if isinstance(log_table, pd.DataFrame) else str(log_table)
    bad = np.zeros(len(t), dtype=bool)
    bad[[i for i, _ in rejected]] = True
    last = _monday(week) - pd.Timedelta(weeks=1)
    in_week = _parse_weeks(t["week"]).to_numpy() == last
    t = t.assign(value=pd.to_numeric(t["value"], errors="coerce"),
                 key=t["measure"].astype(str).str.strip().str.lower())
    # last week's rejected rows, by measure: their totals are incomplete
    n_rejected = t["key"][bad & in_week].value_counts()
    if wards is not None and "ward" in t:  # codes and any-case names -> the ward's name
        t["ward"] = _match_ward(t["ward"], wards).fillna(t["ward"])
    t = t[~bad & in_week]
    if ward is not None and "ward" in t:
        wanted = {str(w).lower() for w in ([ward] if isinstance(ward, str) else ward)}
        t = t[t["ward"].astype(str).str.lower().isin(wanted)]
    known = {m.lower(): m for m in TEAM_MEASURES}
    rows = []
    logged = t.groupby("key")
    others = sorted(set(t["key"]) - set(known))
    for key in list(known) + others:
        if key in logged.groups:
            g = logged.get_group(key)
            value = float(g["value"].sum())
            wards_txt = ", ".join(sorted(g["ward"].astype(str).unique())) if "ward" in g else ""
            name = known.get(key, g["measure"].iloc[0])
        else:
            value, wards_txt, name = np.nan, "", known[key]
        baseline, note = np.nan, "" if pd.notna(value) else "not recorded"
        if key == "fpns evidenced (fly tip)":
            baseline = round(FLYTIP_FPN_BASELINE_PER_MONTH * 12 / 52, 1)
            if pd.notna(value):
                note = (f"{'above' if value > baseline else 'at or below'} the baseline of "
                        f"{FLYTIP_FPN_BASELINE_PER_MONTH:g} a month (≈{baseline:g} a week)")
        elif key not in known:
            note = "not one of the team's measures (shown as logged)"
        if n_rejected.get(key, 0):
            note = "; ".join(x for x in (note, f"{n_rejected[key]} row(s) rejected and left "
                                         "out (see notes)") if x)
        rows.append({"measure": name, "value": value, "wards": wards_txt, "baseline": baseline,
                     "note": note})
    out = pd.DataFrame(rows, columns=["measure", "value", "wards", "baseline", "note"])
    out.attrs["week"] = last.strftime("%Y-%m-%d")
    out.attrs["rejected"] = [{"file": source, "row": i + 2, "reason": r} for i, r in rejected]
    out.attrs["other_measures"] = [logged.get_group(k)["measure"].iloc[0] for k in others]
    return out


def _check_actions_log(t: pd.DataFrame, wards: pd.DataFrame | None) -> list[tuple[int, str]]:
    """(row index, reason) for every row of an actions log that cannot be used.

    A bad value must not become a 0 a councillor reads as "at or below the baseline",
    and a misspelt ward or measure must not vanish from the totals unseen.
    """
    weeks = _parse_weeks(t["week"])
    value = pd.to_numeric(t["value"], errors="coerce")
    known = {m.lower(): m for m in TEAM_MEASURES}
    names = _match_ward(t["ward"], wards) if wards is not None and "ward" in t else None
    out = []
    for i in range(len(t)):
        why = []
        if pd.isna(weeks.iat[i]):
            why.append(f"week {t.at[i, 'week']!r} is not a date or ISO week")
        raw = t.at[i, "value"]
        if pd.isna(value.iat[i]):
            why.append("value is empty" if pd.isna(raw) or not str(raw).strip() else
                       f"value {raw!r} is not a number")
        elif value.iat[i] < 0:
            why.append(f"value {raw!r} is negative")
        if names is not None and pd.isna(names.iat[i]):
            w = t.at[i, "ward"]
            why.append(f"unknown ward {w!r} ({_did_you_mean(w, wards)})")
        m = str(t.at[i, "measure"]).strip()
        if pd.isna(t.at[i, "measure"]) or not m:
            why.append("no measure")
        elif m.lower() not in known:
            close = difflib.get_close_matches(m.lower(), list(known), n=1, cutoff=0.8)
            if close:  # a misspelt team measure would be missing from its total
                why.append(f"measure {m!r} is not a team measure; did you mean "
                           f"{known[close[0]]!r}?")
        if why:
            out.append((i, "; ".join(why)))
    return out
