"""Printable packs: Markdown and HTML for councillor summaries and patrol briefings.

Rendering only: functions here take results computed elsewhere (focus week, patrol
plan) and turn them into text people read on paper or in an email. Nothing here
recomputes analysis.
"""

from __future__ import annotations

import html
from pathlib import Path

from ._atomic import atomic_write_text
from ._escape import md_text

_PRINT_CSS = """
body{font-family:Arial,Helvetica,sans-serif;max-width:52em;margin:2em auto;color:#111;
line-height:1.4}
h1{font-size:1.5em;border-bottom:2px solid #333}h2{font-size:1.2em;margin-top:1.4em}
table{border-collapse:collapse;width:100%;margin:.6em 0}
th,td{border:1px solid #999;padding:.25em .45em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#eee}.small{font-size:.8em;color:#444}
@media print{body{margin:0;max-width:none}a{color:#000}
a[href]:after{content:" (" attr(href) ")";font-size:.85em}
tr,li{break-inside:avoid}h2,h3{break-after:avoid}}
"""


def _fly_tip_calibration() -> str:
    """Said wherever synthetic fly-tips appear: the generator's calibration (synthetic.py)."""
    from .datasets import FLY_TIP_NOTE

    return "Synthetic fly-tip points are " + FLY_TIP_NOTE.removeprefix("synthetic; ") + "."


def esc(value: object) -> str:
    """HTML-escape any value shown to people (data may carry markup)."""
    return html.escape("" if value is None else str(value))


def md_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A Markdown pipe table from a list of dicts (values escaped: :func:`md_text`)."""
    if not rows:
        return "_none_\n"
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(md_text(c) for c in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(md_text(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def html_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """An escaped HTML table from a list of dicts."""
    if not rows:
        return "<p><em>none</em></p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(title: str, body_html: str, footer: str = "") -> str:
    """A self-contained printable HTML page (no external assets)."""
    foot = f'<p class="small">{esc(footer)}</p>' if footer else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{_PRINT_CSS}</style></head>"
        f"<body>{body_html}{foot}</body></html>"
    )


def write_pack(directory: str | Path, stem: str, markdown: str, html_text: str) -> dict[str, Path]:
    """Write `stem`.md and `stem`.html atomically into `directory`; return their paths."""
    directory = Path(directory)
    return {
        "md": atomic_write_text(directory / f"{stem}.md", markdown),
        "html": atomic_write_text(directory / f"{stem}.html", html_text),
    }


# --- focus week: councillor summary, menu and action-plan sheets (owned by the focus work)


def _blocks_md(blocks: list[tuple]) -> str:
    """Markdown from simple blocks: ("h1"|"h2"|"h3"|"p"|"note", text), ("ul", items),
    ("table", rows, columns)."""
    out = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + md_text(b[1]) + "\n")
        elif kind == "p":
            out.append(md_text(b[1]) + "\n")
        elif kind == "note":
            out.append(f"> {md_text(b[1])}\n")
        elif kind == "ul":
            out.append("\n".join(f"- {md_text(i)}" for i in b[1]) + "\n")
        elif kind == "table":
            out.append(md_table(b[1], b[2]))
        elif kind == "link":
            out.append(f"{md_text(b[1])}: {md_text(b[2])}\n")
    return "\n".join(out)


def _blocks_html(blocks: list[tuple]) -> str:
    """The same blocks as escaped HTML (links given as ("link", text, href))."""
    out = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            out.append(f"<{kind}>{esc(b[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{esc(b[1])}</p>")
        elif kind == "note":
            out.append(f"<p><strong>{esc(b[1])}</strong></p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            out.append(html_table(b[1], b[2]))
        elif kind == "link":
            out.append(f'<p><a href="{esc(b[2])}">{esc(b[1])}</a></p>')
        elif kind == "pagebreak":
            out.append('<div style="page-break-after:always"></div>')
    return "\n".join(out)


def _num(v: object, nd: int = 0) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    if f != f:  # NaN
        return ""
    return f"{f:.{nd}f}" if nd or abs(f - round(f)) > 0.05 else f"{f:.0f}"


def _signed(v: float) -> str:
    """'+12', '-3', '0' (one decimal when not whole)."""
    return ("+" if v > 0 else "") + _num(v)


def _issues(row: dict, k: int = 3) -> str:
    """'fly_tip 30, asb 4' from a row's n_<category> counts."""
    skip = {"n_incidents", "n_previous", "n_areas", "n_in_ward"}
    cats = {c[2:]: row[c] for c in row if c.startswith("n_") and c not in skip
            and isinstance(row[c], int | float) and row[c] == row[c] and row[c] > 0}
    return ", ".join(f"{c} {_num(v)}" for c, v in sorted(cats.items(), key=lambda kv: -kv[1])[:k])


def focus_area_rows(areas, incidents=None) -> list[dict]:
    """One printable row per area: rank, where, incidents, main issues, change, lat/lon."""
    from .focus import area_label

    if areas is None or len(areas) == 0:
        return []
    rows = []
    for a in areas.drop(columns="geometry").to_dict("records"):
        inside = None
        if incidents is not None and len(incidents):
            geom = areas.loc[areas["rank"] == a["rank"]].geometry.iloc[0]
            inside = incidents[incidents.within(geom)]
        change = a.get("change_n")
        rows.append({
            "area": f"#{a['rank']}",
            "where": area_label(a, inside),
            "incidents": _num(a.get("n_incidents")),
            **({"in this ward": _num(a["n_in_ward"])} if "n_in_ward" in a else {}),
            "main issues": _issues(a),
            "change": ("" if change is None or change != change
                       else f"{'+' if change > 0 else ''}{_num(change)}"),
            "lat, lon": f"{a['lat']:.5f}, {a['lon']:.5f}" if "lat" in a else "",
        })
    return rows


def _menu_rows(menu) -> list[dict]:
    if menu is None or len(menu) == 0:
        return []
    return [{"#": m["priority"], "action": m["action"], "what to do": m["description"],
             "where": m["locations"], "called for by": m["triggered_by"],
             "record": m["measure"]} for m in menu.to_dict("records")]


def focus_summary(fw, review=None, map_files: dict | None = None,
                  borough: str = "") -> tuple[str, str]:
    """The councillor summary of a focus week as (Markdown, HTML).

    Parameters
    ----------
    fw : hotspots.focus.FocusWeek
        From ``hs.focus_week``.
    review : DataFrame, optional
        Last week's actions (``hotspots.focus.actions_review``).
    map_files : dict, optional
        Ward name -> map file name (relative link from the summary).
    borough : str
        Name for the title.

    Returns
    -------
    (str, str)
        Markdown and a self-contained printable HTML page.
    """
    from .rank import change_label

    title = f"Focus week {fw.iso_week}{' — ' + borough if borough else ''}"
    a = fw.attrs
    # changes only when the data cover the previous window (else "+54" is an artefact)
    with_change = "part_change" in fw.ranking and fw.ranking["part_change"].notna().any()
    b: list[tuple] = [("h1", title)]
    if "synthetic" in str(a.get("sources", "")):
        b.append(("note", "SYNTHETIC DATA: these incidents were generated for practice and "
                          "testing; they are not real reports. " + _fly_tip_calibration()))
    b.append(("p", f"Week starting Monday {fw.week:%d %B %Y}. Wards were scored on the "
                   f"{a['lookback_weeks']} weeks {a['window_start']} to {a['window_end']} "
                   f"({a['n_window']} incidents), compared with the {a['lookback_weeks']} "
                   "weeks before."))
    if not fw.chosen:
        b.append(("note", "No focus ward was chosen this week."))
    r = fw.ranking.set_index("ward_name")
    for w in fw.chosen:
        row = r.loc[w]
        team = row["team"] if isinstance(row["team"], str) and row["team"] else ""
        b.append(("h2", f"{w}" + (f" ({team.title()} team)" if team else "")))
        b.append(("p", f"Why this ward: {row['choice_reason']}."))
        if map_files and w in map_files:
            b.append(("link", f"Map of {w}", map_files[w]))
        b.append(("h3", "Where the problems are"))
        inc_w = fw.incidents[fw.incidents["ward_name"] == w]
        rows = focus_area_rows(fw.areas.get(w), inc_w)
        if not with_change:
            rows = [{k: v for k, v in x.items() if k != "change"} for x in rows]
        if rows:
            b.append(("table", rows, None))
            compared = change_label(fw.areas[w].attrs) if with_change else None
            if compared:
                b.append(("p", f"Change in each area: incidents {compared}."))
        else:
            b.append(("p", "No concentrated hotspot area in this ward; incidents are spread "
                           "out (see the map)."))
        b.append(("h3", "The menu: actions proposed for the week"))
        mr = _menu_rows(fw.menu.get(w))
        b.append(("table", mr, None) if mr else ("p", "No action in the menu matches this "
                                                      "ward's issues."))
    if review is not None:
        b.append(("h2", f"Last week's actions (week of {review.attrs.get('week', '')})"))
        b.append(("table", [{"measure": x["measure"], "value": _num(x["value"]),
                             "wards": x["wards"], "baseline per week": _num(x["baseline"], 1)
                             if x["baseline"] == x["baseline"] else "", "note": x["note"]}
                            for x in review.to_dict("records")], None))
    b.append(("h2", "How the wards compare"))
    cols = ["rank", "ward", "team", "score", "incidents", "change", "hotspot areas", "note"]
    if fw.ranking["team"].isna().all():  # borough-wide: no team column
        cols.remove("team")
    if not with_change:  # the data do not cover the previous window
        cols.remove("change")
    top = [{"rank": x["rank"], "ward": x["ward_name"],
            "team": x["team"].title() if isinstance(x["team"], str) else "",
            "score": f"{x['score']:.2f}", "incidents": _num(x["n_incidents"]),
            "change": _signed(x["n_incidents"] - x.get("n_previous", x["n_incidents"])),
            "hotspot areas": x["n_areas"],
            "note": "chosen" if x["chosen"] else ("" if x["eligible"] else x["reasons"])}
           # the top ten and every chosen ward (rotation may pick one further down)
           for x in fw.ranking[(fw.ranking["rank"] <= 10) | fw.ranking["chosen"]]
           .to_dict("records")]
    b.append(("table", top, cols))
    notes = list(fw.notes) + _review_caveats(review) + [
        f"Score parts and weights: {a['score_weights']} (each part relative to the highest "
        "ward this week). Full table: ranking.csv.",
        f"Rotation: wards chosen in the last {a['exclude_recent']} weeks are not chosen again.",
    ]
    b.append(("h3", "Notes"))
    b.append(("ul", notes))
    foot = ("Prepared with hotspots. Contains National Statistics and OS data © Crown "
            "copyright and database right; Open Government Licence v3.0.")
    return _blocks_md(b) + f"\n{foot}\n", html_page(title, _blocks_html(b), foot)


def _review_caveats(review, limit: int = 10) -> list[str]:
    """Caveats on last week's actions: the log rows rejected (file, row, reason) and
    the measures kept that are not the team's."""
    if review is None:
        return []
    out = []
    rej = review.attrs.get("rejected", [])
    if rej:
        shown = "; ".join(f"{x['file']} row {x['row']}: {x['reason']}" for x in rej[:limit])
        more = f"; and {len(rej) - limit} more" if len(rej) > limit else ""
        out.append(f"Actions log: {len(rej)} row(s) rejected and left out of last week's "
                   f"actions ({shown}{more}). Correct them in the log and re-run.")
    other = review.attrs.get("other_measures", [])
    if other:
        out.append(f"Actions log: measures that are not the team's measures, shown as logged: "
                   f"{', '.join(other)}.")
    return out


def write_focus_pack(fw, directory: str | Path, review=None, map_files: dict | None = None,
                     borough: str = "") -> dict[str, Path]:
    """Write ``councillor-summary.md/.html`` for a focus week into `directory`."""
    md, html_text = focus_summary(fw, review, map_files, borough)
    return write_pack(directory, "councillor-summary", md, html_text)


def action_plan_sheets(areas, plans: dict, title: str = "Top fly-tip areas: action plans",
                       incidents=None, synthetic: bool = False):
    """Action-plan sheets, one per area, with blank owner/date columns to fill in.

    Parameters
    ----------
    areas : GeoDataFrame
        Ranked areas (``hs.top_areas``).
    plans : dict
        Area rank -> its action menu (``hs.action_menu``).
    title : str
        Page title.
    incidents : GeoDataFrame, optional
        To name areas by their incidents' streets when areas have no ``streets``.
    synthetic : bool
        Print the synthetic-data warning.

    Returns
    -------
    (pandas.DataFrame, str, str)
        The long table (one row per area and action, ``owner, start date, review date,
        done`` blank), Markdown and HTML (one page per area when printed).
    """
    import pandas as pd

    from .rank import change_label

    rows_all = []
    md: list[tuple] = [("h1", title)]
    if synthetic:
        md.append(("note", "SYNTHETIC DATA: practice and testing only. " + _fly_tip_calibration()))
    compared = change_label(areas.attrs)
    if compared:
        md.append(("p", f"Change: incidents {compared} (the two periods compared)."))
    labels = {r["area"]: r for r in focus_area_rows(areas, incidents)}
    for a in areas.sort_values("rank").to_dict("records"):
        lab = labels.get(f"#{a['rank']}", {})
        md.append(("h2", f"Area #{a['rank']}: {lab.get('where', '')}"))
        md.append(("p", f"{lab.get('incidents', '')} incidents ({lab.get('main issues', '')});"
                        f" wards: {a.get('wards', '')}; at {lab.get('lat, lon', '')}; change "
                        f"({compared or 'no earlier period'}): {lab.get('change', '') or 'n/a'}."))
        plan = plans.get(a["rank"])
        rows = []
        for m in ([] if plan is None else plan.to_dict("records")):
            row = {"area": a["rank"], "where": lab.get("where", ""),
                   "action": m["action"], "what to do": m["description"],
                   "called for by": m["triggered_by"],
                   "record": m["measure"], "owner": "", "start date": "",
                   "review date": "", "done": ""}
            rows.append(row)
        rows_all += rows
        md.append(("table", [{k: v for k, v in r.items() if k not in ("area", "where")}
                             for r in rows], None))
        md.append(("pagebreak",))
    cols = ["area", "where", "action", "what to do", "called for by", "record", "owner",
            "start date",
            "review date", "done"]
    foot = ("Prepared with hotspots. Contains National Statistics and OS data © Crown "
            "copyright and database right; Open Government Licence v3.0.")
    return (pd.DataFrame(rows_all, columns=cols), _blocks_md(md) + f"\n{foot}\n",
            html_page(title, _blocks_html(md), foot))



# --- patrol: Op Verona briefing (owned by the patrol work)


def patrol_briefing(
    plan,
    title: str = "Op Verona patrol briefing",
    area_name: str = "",
    attribution: str | None = None,
) -> tuple[str, str]:
    """A printable patrol briefing from a :class:`hotspots.patrol.PatrolPlan`.

    Parameters
    ----------
    plan : PatrolPlan
        From ``hs.plan_patrol``.
    title : str
        Heading of the briefing.
    area_name : str
        Where the patrol runs (e.g. "City of London"), shown under the title.
    attribution : str, optional
        Data credits; default police.uk (OGL v3), TfL (OGL v3) and, when the plan is
        on a street network, OpenStreetMap (ODbL).

    Returns
    -------
    (markdown, html) : tuple of str
        The same content twice: Markdown for email/chat, a self-contained HTML page
        for printing. Write them with :func:`write_pack`.
    """
    from .datasets import attribution as credits

    a = plan.attrs
    on_streets = a.get("network", True)
    attribution = attribution or credits(
        "city_of_london_2019", *(["osm_city_of_london"] if on_streets else []), "tfl_stations")
    km = plan.length_m / 1000
    where = a.get("start_street", "")
    if "start_lat" in a:
        where += f" ({a['start_lat']:.5f}, {a['start_lon']:.5f})"
    if a.get("closed") or a.get("finish") == "start":
        finish = "back at the start"
    elif a.get("finish") == "end" or (
            len(plan.route) and plan.route["to_name"].iloc[-1] == "End"):
        finish = "at the end point"
    else:
        finish = "at the last stop"
    est = "" if on_streets else "about "
    summary = (
        f"{len(plan.stops)} stops, {est}{km:.2f} km on foot ({est}{plan.walk_minutes:.0f} min "
        f"walking at "
        f"{a.get('walk_kmh', 4.8):g} km/h) + {plan.dwell_minutes:.0f} min at stops = "
        f"{plan.minutes:.0f} min of a {a.get('max_minutes', 0):.0f} min budget. "
        f"Start {a.get('start_time', '')}{' at ' + where if where else ''}; finish "
        f"{finish}{' about ' + a['end_time'] if a.get('end_time') else ''}."
        + ("" if len(plan.stops) else " No stop fits the time budget: see 'Left out'.")
    )
    ranked = "rank" in plan.stops.columns and plan.stops["rank"].notna().any()
    # what each stop serves (station, night-time economy, shopping area...), when known
    serves = "serves" in plan.stops.columns and plan.stops["serves"].fillna("").ne("").any()
    walked = "walked to here (m)" if on_streets else "walk to here, estimated (m)"
    stop_rows = [
        {"#": r["order"],
         **({"hotspot": f"#{int(r['rank'])}" if r["rank"] == r["rank"] else ""} if ranked else {}),
         "arrive": r["arrival"], "dwell (min)": r["dwell_min"],
         **({"serves": r["serves"]} if serves else {}),
         ("street" if on_streets else "street or ward"): r["street"], "why": r["why"],
         walked: f"{r['walk_m']:.0f}", "lat, lon": f"{r['lat']:.5f}, {r['lon']:.5f}"}
        for _, r in plan.stops.iterrows()
    ]
    dropped_rows = [{"target": r["name"], "reason": r["reason"]}
                    for _, r in plan.dropped.iterrows()]
    order = f"Solver: {a.get('solver', '')}." if a.get("solver") else ""
    sub = f"{area_name}: " if area_name else ""
    # without a street network the plan is an ordering, not a route: say so up front
    lead = [] if on_streets or not plan.notes else [plan.notes[0]]
    caveats = [*plan.notes[len(lead):], *([order] if order else [])]
    md = [f"# {md_text(title)}", "", f"**{md_text(sub + summary)}**", "",
          *[f"**{md_text(n)}**\n" for n in lead],
          "## Stops", "", md_table(stop_rows),
          "## Left out", "", md_table(dropped_rows), "## Caveats", ""]
    md += [f"- {md_text(n)}" for n in caveats]
    md += ["", "---", "", f"_{md_text(attribution)}_", ""]
    body = (
        f"<h1>{esc(title)}</h1><p><strong>{esc(sub + summary)}</strong></p>"
        + "".join(f"<p><strong>{esc(n)}</strong></p>" for n in lead)
        + f"<h2>Stops</h2>{html_table(stop_rows)}<h2>Left out</h2>{html_table(dropped_rows)}"
        "<h2>Caveats</h2><ul>"
        + "".join(f"<li>{esc(n)}</li>" for n in caveats)
        + "</ul>"
    )
    return "\n".join(md), html_page(title, body, footer=attribution)
