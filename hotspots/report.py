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

__all__ = [
    "VIEWPORT",
    "action_plan_sheets",
    "focus_summary",
    "html_page",
    "patrol_briefing",
    "patrol_summary",
    "say_categories",
    "say_category",
    "say_period",
    "say_team",
    "why_ward",
    "write_change",
    "write_flytip_pack",
    "write_focus_pack",
    "write_focus_week",
    "write_pack",
    "write_patrol_pack",
]

_PRINT_CSS = """
@page{size:A4;margin:12mm 12mm 13mm}
body{font-family:Arial,Helvetica,sans-serif;max-width:52em;margin:1.5em auto;padding:0 .8em;
color:#111;line-height:1.35}
h1{font-size:1.45em;border-bottom:2px solid #333;margin:.2em 0 .4em}
h2{font-size:1.15em;margin:1em 0 .3em}h3{font-size:1em;margin:.8em 0 .2em}p{margin:.35em 0}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{border:1px solid #999;padding:.2em .4em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#eee}.small{font-size:.8em;color:#444}.scroll{overflow-x:auto}
ul{margin:.3em 0;padding-left:1.3em}
img.map{display:block;max-width:100%;height:auto;margin:.4em auto;border:1px solid #ccc}
.synthetic{border:2px solid #b30000;color:#b30000;font-weight:bold;padding:.2em .5em;
margin:.3em 0;font-size:.9em}
@media (max-width:600px){body{margin:.5em auto}th,td{font-size:.8em}h1{font-size:1.25em}}
@media print{body{margin:0;max-width:none;padding:0;font-size:9pt}a{color:#000}
a[href]:after{content:" (" attr(href) ")";font-size:.85em}
tr,li,img{break-inside:avoid}h2,h3{break-after:avoid}.scroll{overflow:visible}
.sheet{break-after:page}.sheet:last-of-type{break-after:auto}
.pagebreak{break-after:page}img.map{max-height:86mm;width:auto}
.sheet img.map{max-height:72mm}}
"""

#: the viewport line every pack carries, so phones render it at their own width
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'

def _fly_tip_calibration() -> str:
    """Said wherever synthetic fly-tips appear: the generator's calibration (synthetic.py)."""
    from .datasets import FLY_TIP_NOTE

    return "Synthetic fly-tip points are " + FLY_TIP_NOTE.removeprefix("synthetic; ") + "."


def _esc(value: object) -> str:
    """HTML-escape any value shown to people (data may carry markup)."""
    return html.escape("" if value is None else str(value))


def _md_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A Markdown pipe table from a list of dicts (values escaped: :func:`md_text`)."""
    if not rows:
        return "_none_\n"
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(md_text(c) for c in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(md_text(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _html_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """An escaped HTML table from a list of dicts (scrolls sideways on a phone)."""
    if not rows:
        return "<p><em>none</em></p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def html_page(title: str, body_html: str, footer: str = "") -> str:
    """A self-contained printable HTML page (no external assets).

    A viewport line for phones and print CSS for A4 (``.sheet`` sections print one per page).
    """
    foot = f'<p class="small">{_esc(footer)}</p>' if footer else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{VIEWPORT}"
        f"<title>{_esc(title)}</title><style>{_PRINT_CSS}</style></head>"
        f"<body>{body_html}{foot}</body></html>"
    )


def write_pack(directory: str | Path, stem: str, markdown: str, html_text: str,
               files: dict[str, bytes] | None = None) -> dict[str, Path]:
    """Write `stem`.md and `stem`.html atomically into `directory`; return their paths.

    The pictures the Markdown links to (``![...](name.png)``) are written beside it,
    taken from the HTML's embedded copies (the HTML travels as one file); `files`
    (name -> bytes) adds others.
    """
    from ._atomic import atomic_write_bytes

    directory = Path(directory)
    files = {**_pack_pictures(markdown, html_text), **(files or {})}
    out = {
        "md": atomic_write_text(directory / f"{stem}.md", markdown),
        "html": atomic_write_text(directory / f"{stem}.html", html_text),
    }
    for name, data in (files or {}).items():
        out[name] = atomic_write_bytes(directory / name, data)
    return out


# --- blocks: one description, rendered as Markdown and as HTML


def _blocks_md(blocks: list[tuple]) -> str:
    """Markdown from simple blocks.

    ("h1"|"h2"|"h3"|"p"|"note"|"banner", text), ("ul", items), ("table", rows, columns),
    ("link", text, href), ("links", text, [(text, href), ...]), ("img", png, alt, file name),
    ("sheet", blocks) and ("pagebreak",).
    """
    out = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + md_text(b[1]) + "\n")
        elif kind == "p":
            out.append(md_text(b[1]) + "\n")
        elif kind in ("note", "banner"):
            out.append(f"> {md_text(b[1])}\n")
        elif kind == "ul":
            out.append("\n".join(f"- {md_text(i)}" for i in b[1]) + "\n")
        elif kind == "table":
            out.append(_md_table(b[1], b[2]))
        elif kind == "link":
            out.append(f"{md_text(b[1])}: {md_text(b[2])}\n")
        elif kind == "links":
            out.append(f"{md_text(b[1])}: "
                       + ", ".join(f"{md_text(t)} ({md_text(h)})" for t, h in b[2]) + "\n")
        elif kind == "img":  # alt text escaped; the file name is ours
            out.append(f"![{md_text(b[2])}]({b[3]})\n")
        elif kind == "sheet":
            out.append(_blocks_md(b[1]) + "\n---\n")
    return "\n".join(out)


def _blocks_html(blocks: list[tuple]) -> str:
    """The same blocks as escaped HTML; pictures embedded as data URLs."""
    import base64

    out = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            out.append(f"<{kind}>{_esc(b[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{_esc(b[1])}</p>")
        elif kind == "note":
            out.append(f"<p><strong>{_esc(b[1])}</strong></p>")
        elif kind == "banner":
            out.append(f"<p class='synthetic'>{_esc(b[1])}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_esc(i)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            out.append(_html_table(b[1], b[2]))
        elif kind == "link":
            out.append(f'<p><a href="{_esc(b[2])}">{_esc(b[1])}</a></p>')
        elif kind == "links":
            out.append(f"<p>{_esc(b[1])}: " + ", ".join(
                f'<a href="{_esc(h)}">{_esc(t)}</a>' for t, h in b[2]) + "</p>")
        elif kind == "img":
            data = base64.b64encode(b[1]).decode("ascii")
            out.append(f"<img class='map' src='data:image/png;base64,{data}' alt='{_esc(b[2])}'>")
        elif kind == "sheet":
            out.append(f"<section class='sheet'>{_blocks_html(b[1])}</section>")
        elif kind == "pagebreak":
            out.append("<div class='pagebreak'></div>")
    return "\n".join(out)


# --- words and numbers as people read them


def _num(v: object, nd: int = 0) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    if f != f:  # NaN
        return ""
    return f"{f:,.{nd}f}" if nd or abs(f - round(f)) > 0.05 else f"{f:,.0f}"


def _signed(v: float) -> str:
    """'+12', '-3', '0' (one decimal when not whole)."""
    return ("+" if v > 0 else "") + _num(v)


def _ordinal(n: int) -> str:
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def say_category(code: str) -> str:
    """A category as people say it ("fly_tip" -> "Fly-tipping")."""
    from ._style import category_label

    return category_label(str(code))


def say_categories(text: str) -> str:
    """Category codes inside a text as people say them.

    "fly_tip 29, asb 4" -> "Fly-tipping 29, Anti-social behaviour 4".
    """
    import re

    from ._style import CATEGORY_STYLE

    # only codes that are not plain words ("robbery" reads as itself mid-sentence)
    codes = sorted((c for c in CATEGORY_STYLE if "_" in c or c == "asb"), key=len,
                   reverse=True)
    return re.sub(r"\b(" + "|".join(map(re.escape, codes)) + r")\b",
                  lambda m: CATEGORY_STYLE[m.group(1)][0], str(text))


def say_team(team: object) -> str:
    """A team name written one way: "EAST", "east" -> "East"."""
    return str(team).strip().title() if isinstance(team, str) and team.strip() else ""


def _say_date(value: object) -> str:
    """'2022-02-06' -> '6 Feb 2022'."""
    import pandas as pd

    t = pd.Timestamp(str(value))
    return f"{t.day} {t:%b %Y}"


def say_period(interval: object) -> str:
    """An ISO interval ('2022-01-03/2022-07-03', '2022-01/2022-06') as people say it.

    '3 Jan 2022 to 3 Jul 2022', 'Jan to Jun 2022'.
    """
    import pandas as pd

    if not isinstance(interval, str) or "/" not in interval:
        return ""
    a, b = interval.split("/", 1)
    if len(a) == 7 and len(b) == 7:  # months
        ta, tb = pd.Timestamp(a), pd.Timestamp(b)
        return (f"{ta:%b} to {tb:%b %Y}" if ta.year == tb.year else f"{ta:%b %Y} to {tb:%b %Y}")
    return f"{_say_date(a)} to {_say_date(b)}"


def _change_words(n: object, attrs: dict) -> str:
    """'482 fewer than in 3 Jan 2022 to 3 Jul 2022' from an area's change_n."""
    try:
        v = float(n)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if v != v:
        return ""
    before, after = say_period(attrs.get("change_from")), say_period(attrs.get("change_to"))
    when = (f" in {after} than in {before}" if before and after
            else " than in the period before")
    if v == 0:
        return "as many" + when.replace(" than", " as")
    return f"{_num(abs(v))} {'more' if v > 0 else 'fewer'}{when}"


def _issues(row: dict, k: int = 3) -> str:
    """'Fly-tipping 30, Anti-social behaviour 4' from a row's n_<category> counts."""
    from ._style import CATEGORY_STYLE

    cats = {c[2:]: row[c] for c in row if c.startswith("n_") and c[2:] in CATEGORY_STYLE
            and isinstance(row[c], int | float) and row[c] == row[c] and row[c] > 0}
    return ", ".join(f"{say_category(c)} {_num(v)}"
                     for c, v in sorted(cats.items(), key=lambda kv: -kv[1])[:k])


def _png(fig) -> bytes:
    from .plots import figure_png

    return figure_png(fig, dpi=130)


# --- focus week: councillor summary, menu and action-plan sheets (owned by the focus work)


def _focus_area_rows(areas, incidents=None) -> list[dict]:
    """One printable row per area.

    Area number, where (in words), incidents, issues, change. No lat/lon: those are in areas.csv
    for GIS, not for people.
    """
    from .focus import area_places

    if areas is None or len(areas) == 0:
        return []
    rows = []
    places = area_places(areas, incidents)
    for a, where in zip(areas.drop(columns="geometry").to_dict("records"), places, strict=True):
        change = a.get("change_n")
        rows.append({
            "area": f"{a['rank']}",
            "where": where,
            "incidents": _num(a.get("n_incidents")),
            **({"in this ward": _num(a["n_in_ward"])} if "n_in_ward" in a else {}),
            "main issues": _issues(a),
            "change": ("" if change is None or change != change else _signed(change)),
        })
    return rows


def why_ward(fw, ward: str) -> str:
    """Why a ward was chosen, as a sentence a councillor reads (no bare score).

    From the ranking: incidents and main issues in the window, the rate per 1,000
    residents, the borough's hotspot areas in it, its place among the wards, and which
    wards ranked higher but could not be chosen (and why).
    """
    r = fw.ranking.set_index("ward_name")
    row = r.loc[ward]
    a = fw.attrs
    if bool(row.get("forced", False)):
        return str(row["choice_reason"]).capitalize() + "."
    n_wards = len(r)
    team = say_team(row.get("team"))
    issues = _issues(row.to_dict())
    rate = row.get("rate_per_1000")
    parts = [f"{_num(row['n_incidents'])} incidents in the {a['lookback_weeks']} weeks to "
             f"{_say_date(a['window_end'])}" + (f" ({issues})" if issues else "")]
    if isinstance(rate, int | float) and rate == rate:
        parts.append(f"{_num(rate, 1)} per 1,000 residents")
    n_areas = int(row.get("n_areas", 0) or 0)
    if n_areas:
        parts.append(f"{n_areas} of the borough's top hotspot areas")
    where = f"of the {team} team's wards" if team else "in the borough"
    sentence = (f"{'; '.join(parts)}. It ranks {_ordinal(row['rank'])} of {n_wards} wards "
                f"on the combined score and is the highest eligible {where}.")
    members = fw.ranking if not team else fw.ranking[
        fw.ranking["team"].map(say_team) == team]
    higher = members[(members["rank"] < row["rank"]) & ~members["eligible"].astype(bool)]
    if len(higher):
        shown = higher.head(3).to_dict("records")
        more = f"; and {len(higher) - 3} more (ranking.csv)" if len(higher) > 3 else ""
        sentence += " Ranked higher but not chosen: " + "; ".join(
            f"{x['ward_name']}, {x['reasons']}" for x in shown) + more + "."
    return sentence


def _score_note(a: dict) -> str:
    """The score explained in words (weights as shares of the score)."""
    names = {"count": "incidents", "rate": "incidents per 1,000 residents",
             "areas": "hotspot areas", "change": "change on the weeks before"}
    parts = []
    for item in str(a.get("score_weights", "")).split(","):
        bits = item.strip().rsplit(" ", 1)
        if len(bits) == 2:
            parts.append(f"{names.get(bits[0], bits[0])} (weight {bits[1]})")
    return ("Combined score: " + ", ".join(parts) + ", each measured against the highest "
            "ward this week; shown with the top ward = 100. Full table: ranking.csv."
            if parts else "Full table: ranking.csv.")


def _focus_map(fw, wards, borough: str, network=None) -> tuple | None:
    """The static map block of the chosen wards and their areas (None when nothing to draw)."""
    import pandas as pd

    from .plots import plot_place

    areas = [a for a in fw.areas.values() if a is not None and len(a)]
    shown = (pd.concat(areas).drop_duplicates("rank") if areas else None)
    if wards is None and shown is None:
        return None
    title = (f"Focus wards, week of {fw.week.day} {fw.week:%b %Y}"
             + (f" — {borough}" if borough else ""))
    fig = plot_place(wards=wards, highlight=list(fw.chosen), areas=shown, title=title,
                     network=network,
                     figsize=(7.2, 4.6))
    return ("img", _png(fig), f"Map of the focus wards: {', '.join(fw.chosen)}",
            "councillor-summary-map.png")


def _ward_blocks(fw, w: str, *, with_change: bool) -> list[tuple]:
    """One chosen ward: why, where (areas), and the week's actions in short."""
    from .focus import area_places

    row = fw.ranking.set_index("ward_name").loc[w]
    team = say_team(row.get("team"))
    b: list[tuple] = [("h2", f"{w}" + (f" ({team} team)" if team else ""))]
    b.append(("p", f"Why this ward: {why_ward(fw, w)}"))
    areas = fw.areas.get(w)
    inc_w = fw.incidents[fw.incidents["ward_name"] == w]
    if areas is not None and len(areas):
        where = []
        n_all = len(areas)
        areas = areas.sort_values("rank").head(3)  # the summary stays on its page
        for a, place in zip(areas.drop(columns="geometry").to_dict("records"),
                            area_places(areas, inc_w), strict=True):
            n_here = a.get("n_in_ward", a.get("n_incidents"))
            change = (f", {_signed(a['change_n'])} on the weeks before"
                      if with_change and a.get("change_n") == a.get("change_n")
                      and a.get("change_n") is not None else "")
            where.append(f"Area {a['rank']}: {place} "
                         f"({_num(n_here)} incidents in this ward{change})")
        more = (f" And {n_all - 3} smaller area{'s' if n_all > 4 else ''}: areas.csv and "
                "the ward's map." if n_all > 3 else "")
        b.append(("p", "Where: " + "; ".join(where) + "." + more))
    else:
        b.append(("p", "Where: no concentrated hotspot area; incidents are spread out."))
    menu = fw.menu.get(w)
    if menu is not None and len(menu):
        b.append(("p", "Actions this week, most pressing first: "
                       + "; ".join(map(str, menu["action"])) + " (what each involves and "
                       "where: menu.csv)."))
    else:
        b.append(("p", "No action in the menu matches this ward's issues."))
    return b


def focus_summary(fw, review=None, map_files: dict | None = None,
                  borough: str = "", wards=None, network=None) -> tuple[str, str]:
    """The councillor summary of a focus week as (Markdown, HTML): one or two A4 pages.

    Page 1: what was compared, a static map of the chosen wards (shaded) and their
    hotspot areas, and per ward why it was chosen (in words), where its problems are
    and the week's top actions. Page 2: last week's actions, how the wards compare
    (top ten; score shown with the top ward = 100) and notes. The full menu is in
    menu.csv, the full ranking in ranking.csv.

    Parameters
    ----------
    fw : hotspots.focus.FocusWeek
        From ``hs.focus_week``.
    review : DataFrame, optional
        Last week's actions (``hotspots.review.actions_review``).
    map_files : dict, optional
        Ward name -> interactive map file name (relative link from the summary).
    borough : str
        Name for the title.
    wards : GeoDataFrame, optional
        The borough's wards, for the static map (ward names and edges).
    network : networkx graph, optional
        Street network: streets and their names on the static map.

    Returns
    -------
    (str, str)
        Markdown (linking ``councillor-summary-map.png``: write it with
        :func:`write_focus_pack`) and a self-contained printable HTML page.
    """
    a = fw.attrs
    title = f"Focus week {fw.iso_week}{' — ' + borough if borough else ''}"
    # changes only when the data cover the previous window (else "+54" is an artefact)
    with_change = "part_change" in fw.ranking and fw.ranking["part_change"].notna().any()
    b: list[tuple] = [("h1", title)]
    if "synthetic" in str(a.get("sources", "")):
        b.append(("banner", "SYNTHETIC DATA: these incidents were generated for practice and "
                            "testing; they are not real reports. " + _fly_tip_calibration()))
    b.append(("p", f"Week starting Monday {fw.week.day} {fw.week:%B %Y}. Wards were compared "
                   f"on the {a['lookback_weeks']} weeks {_say_date(a['window_start'])} to "
                   f"{_say_date(a['window_end'])} ({_num(a['n_window'])} incidents)."
                   + _changes_compared(fw, with_change=with_change)))
    if not fw.chosen:
        b.append(("note", "No focus ward was chosen this week."))
    fig = _focus_map(fw, wards, borough, network) if fw.chosen else None
    if fig:
        b.append(fig)
    for w in fw.chosen:
        b += _ward_blocks(fw, w, with_change=with_change)
    if map_files:
        b.append(("links", "Interactive maps (files beside this summary)",
                  [(f"{w}", f) for w, f in map_files.items()]))
    b.append(("pagebreak",))
    if review is not None:
        b.append(("h2", f"Last week's actions (week of {_say_date(review.attrs['week'])})"
                  if review.attrs.get("week") else "Last week's actions"))
        b.append(("table", [{"measure": x["measure"], "value": _num(x["value"]),
                             "wards": x["wards"], "usual per week": _num(x["baseline"], 1)
                             if x["baseline"] == x["baseline"] else "", "note": x["note"]}
                            for x in review.to_dict("records")], None))
    b.append(("h2", "How the wards compare"))
    b.append(("table", *_compare_rows(fw, with_change=with_change)))
    notes = list(fw.notes) + _review_caveats(review) + [
        _score_note(a),
        f"Rotation: wards chosen in the last {a['exclude_recent']} weeks are not chosen again.",
        "Full action menu for each ward: menu.csv.",
    ]
    b.append(("h3", "Notes"))
    b.append(("ul", notes))
    foot = ("Prepared with hotspots. Contains National Statistics and OS data © Crown "
            "copyright and database right; Open Government Licence v3.0. Stations: TfL "
            "(Open Government Licence v3.0).")
    return _blocks_md(b) + f"\n{foot}\n", html_page(title, _blocks_html(b), foot)


def _changes_compared(fw, *, with_change: bool) -> str:
    """' Changes in each area compare <period> with <period>.' (once, for all wards)."""
    for areas in fw.areas.values():
        before = say_period(areas.attrs.get("change_from"))
        after = say_period(areas.attrs.get("change_to"))
        if with_change and before and after:
            return f" Changes in each area compare {after} with {before}."
    return ""


def _compare_rows(fw, *, with_change: bool) -> tuple[list[dict], list[str]]:
    """The top ten wards and every chosen one: rank, score (top = 100), counts, note."""
    cols = ["rank", "ward", "team", "score (top = 100)", "incidents", "change",
            "hotspot areas", "note"]
    if fw.ranking["team"].isna().all():  # borough-wide: no team column
        cols.remove("team")
    if not with_change:  # the data do not cover the previous window
        cols.remove("change")
    top_score = float(fw.ranking["score"].max()) or 1.0
    rows = [{"rank": x["rank"], "ward": x["ward_name"], "team": say_team(x["team"]),
             "score (top = 100)": _num(100 * x["score"] / top_score),
             "incidents": _num(x["n_incidents"]),
             "change": _signed(x["n_incidents"] - x.get("n_previous", x["n_incidents"])),
             "hotspot areas": x["n_areas"],
             "note": "focus ward this week" if x["chosen"] else (
                 "" if x["eligible"] else x["reasons"])}
            # the top ten and every chosen ward (rotation may pick one further down)
            for x in fw.ranking[(fw.ranking["rank"] <= 10) | fw.ranking["chosen"]]
            .to_dict("records")]
    return rows, cols


def _review_caveats(review, limit: int = 10) -> list[str]:
    """Caveats on last week's actions.

    The log rows rejected (file, row, reason) and the measures kept that are not the team's.
    """
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
                     borough: str = "", wards=None, network=None) -> dict[str, Path]:
    """Write ``councillor-summary.md/.html`` (and the map PNG the Markdown links to)."""
    md, html_text = focus_summary(fw, review, map_files, borough, wards=wards,
                                  network=network)
    return write_pack(directory, "councillor-summary", md, html_text)


def _pack_pictures(md: str, html_text: str) -> dict[str, bytes]:
    """The PNG files a Markdown pack links to, taken back from the HTML's data URLs.

    Same order, so both carry the same pictures without drawing them twice.
    """
    import base64
    import re

    names = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", md)
    data = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html_text)
    return {n: base64.b64decode(d) for n, d in zip(names, data, strict=False)}


def action_plan_sheets(areas, plans: dict, *, title: str = "Top fly-tip areas: action plans",
                       incidents=None, synthetic: bool = False, wards=None,
                       network=None):
    """Action-plan sheets, one printed page per area, with blank owner/date columns.

    Each sheet: the area's number and where it is in words, its incidents and change,
    a small map of the area (ward edges and names, stations, the area outlined, the
    incidents around it), and its actions; the SYNTHETIC warning on every sheet when
    `synthetic`.

    Parameters
    ----------
    areas : GeoDataFrame
        Ranked areas (``hs.top_areas``).
    plans : dict
        Area rank -> its action menu (``hs.action_menu``).
    title : str
        Page title.
    incidents : GeoDataFrame, optional
        To name areas by their incidents' streets when areas have no ``streets``, and
        to draw around each area on its map.
    synthetic : bool
        Print the synthetic-data warning (on every sheet).
    wards : GeoDataFrame, optional
        Ward boundaries for the maps.
    network : networkx graph, optional
        Street network: streets and their names on the maps.

    Returns
    -------
    (pandas.DataFrame, str, str)
        The long table (one row per area and action, ``owner, start date, review date,
        done`` blank), Markdown and HTML (one page per area when printed). The
        Markdown links ``area-<rank>.png`` (:func:`write_pack` writes them).
    """
    import pandas as pd

    rows_all = []
    sheets: list[tuple] = []
    labels = {r["area"]: r for r in _focus_area_rows(areas, incidents)}
    for i, a in enumerate(areas.sort_values("rank").to_dict("records")):
        lab = labels.get(f"{a['rank']}", {})
        b: list[tuple] = []
        if i == 0:
            b.append(("h1", title))
        if synthetic:
            b.append(("banner", "SYNTHETIC DATA: practice and testing only. "
                                + _fly_tip_calibration()))
        b += _area_sheet(a, lab, areas, incidents, wards, network)
        plan = plans.get(a["rank"])
        rows = [{"area": a["rank"], "where": lab.get("where", ""), "action": m["action"],
                 "what to do": m["description"],
                 "called for by": say_categories(m["triggered_by"]), "record": m["measure"],
                 "owner": "", "start date": "", "review date": "", "done": ""}
                for m in ([] if plan is None else plan.to_dict("records"))]
        rows_all += rows
        b.append(("table", rows, ["action", "what to do", "record", "owner", "start date",
                                  "review date", "done"]) if rows else
                  ("p", "No action in the menu matches this area's incidents."))
        sheets.append(("sheet", b))
    if not sheets:
        sheets = [("sheet", [("h1", title), ("p", "No areas found.")])]
    cols = ["area", "where", "action", "what to do", "called for by", "record", "owner",
            "start date", "review date", "done"]
    foot = ("Prepared with hotspots. Contains National Statistics and OS data © Crown "
            "copyright and database right; Open Government Licence v3.0. Stations: TfL "
            "(Open Government Licence v3.0).")
    return (pd.DataFrame(rows_all, columns=cols), _blocks_md(sheets) + f"\n{foot}\n",
            html_page(title, _blocks_html(sheets), foot))


def _area_sheet(a: dict, lab: dict, areas, incidents, wards, network=None) -> list[tuple]:
    """Heading, facts and small map of one area's action-plan sheet."""
    from .plots import plot_place

    b: list[tuple] = [("h2", f"Area {a['rank']}: {lab.get('where', '')}")]
    facts = [f"{lab.get('incidents', '')} incidents ({lab.get('main issues', '')})"]
    if a.get("wards"):
        facts.append(f"ward{'s' if ',' in str(a['wards']) else ''}: {a['wards']}")
    change = _change_words(a.get("change_n"), areas.attrs)
    if change:
        facts.append(change)
    b.append(("p", "; ".join(facts) + "."))
    geom = areas.loc[areas["rank"] == a["rank"]].geometry.iloc[0]
    focus = geom.buffer(max(250.0, (geom.area ** 0.5)))
    near = None
    if incidents is not None and len(incidents):
        pts = incidents.to_crs(areas.crs)
        near = pts[pts.within(focus.buffer(200))]
    others = areas[areas.intersects(focus)]
    fig = plot_place(wards=wards, areas=others, inc=near, focus=focus, network=network,
                     title=f"Area {a['rank']}", figsize=(7.0, 3.3))
    b.append(("img", _png(fig), f"Map of area {a['rank']}", f"area-{a['rank']}.png"))
    return b


# --- patrol: Op Verona briefing (owned by the patrol work)


def _solver_words(solver: str) -> str:
    """How the stop order was found, in words (no algorithm names)."""
    if not solver:
        return ""
    if solver.startswith("exact"):
        return "Stop order: the shortest of all possible orders (every order checked)."
    return "Stop order: a short order found step by step (not every order checked)."


def patrol_briefing(
    plan,
    title: str = "Op Verona patrol briefing",
    area_name: str = "",
    attribution: str | None = None,
    network=None,
    areas=None,
    wards=None,
) -> tuple[str, str]:
    """A printable patrol briefing from a :class:`hotspots.route.PatrolPlan`.

    Page 1 carries the summary and the route map (stops numbered in walking order,
    the start, stations, streets and their names when a network is given).

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
    network : networkx graph, optional
        The street network the plan used: streets and names on the map.
    areas : GeoDataFrame, optional
        Hotspot areas to outline on the map.
    wards : GeoDataFrame, optional
        Ward edges and names on the map.

    Returns
    -------
    (markdown, html) : tuple of str
        The same content twice: Markdown for email/chat (linking ``route-map.png``),
        a self-contained HTML page for printing. Write them (and the PNG) with
        :func:`write_pack`.
    """
    from .datasets import attribution as credits

    a = plan.attrs
    on_streets = a.get("network", True)
    attribution = attribution or credits(
        "city_of_london_2019", *(["osm_city_of_london"] if on_streets else []), "tfl_stations")
    sub = f"{area_name}: " if area_name else ""
    summary = patrol_summary(plan)
    ranked = "rank" in plan.stops.columns and plan.stops["rank"].notna().any()
    # what each stop serves (station, night-time economy, shopping area...), when known
    serves = "serves" in plan.stops.columns and plan.stops["serves"].fillna("").ne("").any()
    walked = "walked to here (m)" if on_streets else "walk to here, estimated (m)"
    stop_rows = [
        {"stop": r["order"],
         **({"hotspot rank": int(r["rank"]) if r["rank"] == r["rank"] else ""}
            if ranked else {}),
         "arrive": r["arrival"], "stay (min)": _num(r["dwell_min"]),
         **({"serves": r["serves"]} if serves else {}),
         ("street" if on_streets else "street or ward"): r["street"],
         "why": say_categories(r["why"]), walked: _num(r["walk_m"])}
        for _, r in plan.stops.iterrows()
    ]
    dropped_rows = [{"target": r["name"], "reason": r["reason"]}
                    for _, r in plan.dropped.iterrows()]
    order = _solver_words(str(a.get("solver", "")))
    # without a street network the plan is an ordering, not a route: say so up front
    lead = [] if on_streets or not plan.notes else [plan.notes[0]]
    caveats = [say_categories(n) for n in plan.notes[len(lead):]] + ([order] if order else [])
    b: list[tuple] = [("h1", title), ("note", sub + summary), *[("note", n) for n in lead]]
    b.append(_route_map(plan, network, areas, wards, area_name))
    b += [("h2", "Stops"), ("table", stop_rows, None) if stop_rows else ("p", "No stops."),
          ("h2", "Left out"), ("table", dropped_rows, None) if dropped_rows else
          ("p", "Nothing left out."), ("h2", "Caveats"), ("ul", caveats)]
    return (_blocks_md(b) + f"\n---\n\n_{md_text(attribution)}_\n",
            html_page(title, _blocks_html(b), footer=attribution))


def patrol_summary(plan) -> str:
    """The one-paragraph summary: stops, distance, time, start and finish (no lat/lon)."""
    a = plan.attrs
    on_streets = a.get("network", True)
    km = plan.length_m / 1000
    where = a.get("start_street", "")
    if a.get("closed") or a.get("finish") == "start":
        finish = "back at the start"
    elif a.get("finish") == "end" or (
            len(plan.route) and plan.route["to_name"].iloc[-1] == "End"):
        finish = "at the end point"
    else:
        finish = "at the last stop"
    est = "" if on_streets else "about "
    return (
        f"{len(plan.stops)} stops, {est}{km:.1f} km on foot ({est}{plan.walk_minutes:.0f} min "
        f"walking at {a.get('walk_kmh', 4.8):g} km/h) + {plan.dwell_minutes:.0f} min at stops "
        f"= {plan.minutes:.0f} min of a {a.get('max_minutes', 0):.0f} min budget. "
        f"Start {a.get('start_time', '')}{' at ' + where if where else ''} (green square on "
        f"the map); finish {finish}{' about ' + a['end_time'] if a.get('end_time') else ''}."
        + ("" if len(plan.stops) else " No stop fits the time budget: see 'Left out'.")
    )


def _route_map(plan, network, areas, wards, area_name: str) -> tuple:
    """The route map block: stops numbered in walking order, the start, the ground."""
    from .plots import plot_place

    route = plan.route if len(plan.route) and plan.attrs.get("network", True) else None
    stops = plan.stops if len(plan.stops) else None
    # one numbering on the route map: the stops; areas outlined without their ranks
    fig = plot_place(wards=wards, areas=areas, route=route, stops=stops, start=plan.start,
                     network=network, area_labels=False, figsize=(7.2, 4.8),
                     title=f"Route{': ' + area_name if area_name else ''}")
    return ("img", _png(fig), "Route map: stops numbered in walking order", "route-map.png")


# --- writers: whole outputs of a decision, as the CLI and the demo write them ----------


def _slug(text: str) -> str:
    """A file-name-safe lower-case form of a ward name.

    "Harrow on the Hill" -> "harrow-on-the-hill".
    """
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def write_grid(grid, target: str | Path, *, source: str | None = None) -> Path:
    """Write a grid result (``hs.kde``, ``hs.gistar``, ``hs.forecast``) to `target`.

    GeoPackage, GeoJSON or CSV by suffix, atomically, with a ``source`` column
    (:func:`hotspots._atomic.atomic_write_grid`: a CSV gives cell centres). Counts of
    cells holding 1 to 4 anonymous reports (StreetSafe) are blanked first
    (:func:`hotspots.privacy.suppress_counts`). Returns the path written.
    """
    from ._atomic import atomic_write_grid
    from .privacy import suppress_counts

    return atomic_write_grid(suppress_counts(grid), target, source=source)


def write_change(result, directory: str | Path, name: str, title: str, *,
                 source: str | None = None, offline: bool = True) -> dict[str, Path]:
    """Write a change result (``hs.hotspot_change`` / ``hs.classify_hotspots``).

    `name`.geojson (WGS84), `name`.csv (no geometry), `name`.png (static map) and
    `name`.html (interactive map) in `directory`; the tables carry `source` (data and
    licences). Returns the paths by suffix (``geojson, csv, png, html``). Counts of
    cells holding 1 to 4 anonymous reports (StreetSafe) are blanked in every file
    (:func:`hotspots.privacy.suppress_counts`).
    """
    from .privacy import suppress_counts

    result = suppress_counts(result)
    from ._atomic import atomic_write_csv, atomic_write_geojson
    from .maps import hotspot_map, save_map
    from .plots import plot_change, save_figure

    d = Path(directory)
    paths = {"geojson": atomic_write_geojson(result, d / f"{name}.geojson", source=source),
             "csv": atomic_write_csv(result.drop(columns="geometry"), d / f"{name}.csv",
                                     source=source),
             "png": save_figure(plot_change(result, title=title), d / f"{name}.png")}
    paths["html"] = save_map(hotspot_map(change=result, title=title, offline=offline),
                             d / f"{name}.html", offline=offline)
    return paths


def write_focus_week(fw, directory: str | Path, wards, *, review=None,  # noqa: PLR0913
                     borough: str = "",  # (a pack's parts)
                     source: str | None = None, offline: bool = True, network=None,
                     tiles: str | None = "OpenStreetMap") -> dict:
    """Write a focus week's pack into `directory`.

    ``ranking.csv``, ``menu.csv`` (every chosen ward's actions), ``areas.csv`` (when
    the chosen wards have areas), a ``map-<ward>.html`` per chosen ward and the
    councillor summary (``councillor-summary.md/.html``, :func:`write_focus_pack`).

    Parameters
    ----------
    fw : hotspots.FocusWeek
        From :func:`hotspots.focus_week`.
    directory : str or path
        The folder (made when missing).
    wards : geopandas.GeoDataFrame
        The borough's wards, for the maps.
    review : DataFrame, optional
        Last week's actions (:func:`hotspots.actions_review`), for the summary.
    borough : str
        For the summary's title.
    source : str, optional
        Data and licences, in each table's ``source`` column.
    offline : bool, default True
        Inline Leaflet in the maps.
    network : networkx graph, optional
        Street network: the summary's static map draws the streets.
    tiles : str or None, default "OpenStreetMap"
        The maps' base tiles (any XYZ URL; None: the offline base layer only).

    Returns
    -------
    dict
        ``md, html, ranking, menu`` (and ``areas``) paths, and ``maps``: ward -> path.
    """
    import pandas as pd

    from ._atomic import atomic_write_csv
    from .maps import focus_ward_map, save_map

    d = Path(directory)
    ranking = atomic_write_csv(fw.ranking, d / "ranking.csv", source=source)
    menus = [m.assign(ward=w) for w, m in fw.menu.items()]
    menu = atomic_write_csv(pd.concat(menus, ignore_index=True) if menus else
                            pd.DataFrame(columns=["ward", "priority", "action"]),
                            d / "menu.csv", source=source)
    areas = [a.drop(columns="geometry").assign(focus_ward=w) for w, a in fw.areas.items()]
    extra = {}
    if areas:
        extra["areas"] = atomic_write_csv(pd.concat(areas, ignore_index=True),
                                          d / "areas.csv", source=source)
    maps = {}
    for w in fw.chosen:
        m = focus_ward_map(fw.incidents, wards, w, areas=fw.areas.get(w),
                           title=f"Focus week {fw.iso_week}: {w}", offline=offline,
                           tiles=tiles)
        maps[w] = save_map(m, d / f"map-{_slug(w)}.html")
    paths = write_focus_pack(fw, d, review=review, borough=borough, wards=wards,
                             network=network, map_files={w: p.name for w, p in maps.items()})
    return {**paths, "ranking": ranking, "menu": menu, **extra, "maps": maps}


def write_flytip_pack(plans, directory: str | Path, wards, *, borough: str = "",
                      source: str | None = None, offline: bool = True, network=None,
                      tiles: str | None = "OpenStreetMap") -> dict:
    """Write the top fly-tip areas' pack (:func:`hotspots.area_plans.flytip_top20`).

    ``areas.csv``, ``action-plans.csv`` (one row per area and action, with blank
    owner and date columns), ``action-plans.md/.html`` (a page per area) and
    ``map.html`` in `directory`; with a street `network` the sheets' maps draw the
    streets.

    Returns
    -------
    dict
        Paths ``areas, action_plans, md, html, map`` and ``n_action_rows``.
    """
    from ._atomic import atomic_write_csv
    from .maps import hotspot_map, save_map

    d = Path(directory)
    areas = plans.areas
    out: dict = {"areas": atomic_write_csv(areas.drop(columns="geometry"), d / "areas.csv",
                                           source=source)}
    table, md, html_text = action_plan_sheets(
        areas, plans.menus,
        title=f"{borough}: top {len(areas)} fly-tip areas, {plans.period} — action plans",
        incidents=plans.incidents, synthetic=plans.synthetic, wards=wards, network=network)
    out["action_plans"] = atomic_write_csv(table, d / "action-plans.csv", source=source)
    out.update(write_pack(d, "action-plans", md, html_text))
    m = hotspot_map(plans.incidents, areas=areas, wards=wards,
                    title=f"{borough}: top fly-tip areas", offline=offline, tiles=tiles)
    out["map"] = save_map(m, d / "map.html")
    out["n_action_rows"] = len(table)
    return out


def write_patrol_pack(plan, directory: str | Path, *, areas=None, network=None,  # noqa: PLR0913
                      area_name: str = "", source: str | None = None,  # (a pack's parts)
                      offline: bool = True, wards=None,
                      tiles: str | None = "OpenStreetMap") -> dict[str, Path]:
    """Write an Op Verona patrol pack (:func:`hotspots.plan_patrol`) into `directory`.

    ``route.geojson`` and ``route.gpx`` (the stops and, with a network, the walking
    route), ``briefing.md/.html`` (:func:`patrol_briefing`) and ``map.html``.

    Parameters
    ----------
    plan : hotspots.PatrolPlan
        The plan.
    directory : str or path
        The folder (made when missing).
    areas : GeoDataFrame, optional
        The hotspot areas drawn on the map (:func:`hotspots.patrol_areas`).
    network : networkx graph, optional
        The street network the plan walked (drawn on the map; None: stop order only).
    area_name : str
        For the briefing's heading.
    source : str, optional
        Data and licences (GeoJSON ``attribution``, GPX copyright, the briefing).
    offline : bool, default True
        Inline Leaflet in the map.
    wards : GeoDataFrame, optional
        Ward edges and names under the briefing's route map (e.g. every London ward).
    tiles : str or None, default "OpenStreetMap"
        The map's base tiles (any XYZ URL; None: the offline base layer only).

    Returns
    -------
    dict
        Paths ``route_geojson, route_gpx, md, html, map``.
    """
    from .maps import patrol_map, save_map

    d = Path(directory)
    paths = {"route_geojson": plan.to_geojson(d / "route.geojson", source=source),
             "route_gpx": plan.to_gpx(d / "route.gpx", source=source)}
    paths.update(write_pack(d, "briefing", *patrol_briefing(
        plan, area_name=area_name, attribution=source, network=network, areas=areas,
        wards=wards)))
    m = patrol_map(plan, areas=areas, network=network, offline=offline, tiles=tiles,
                   title="Op Verona patrol" + ("" if network is not None else
                                               " (no street network: stop order only)"))
    paths["map"] = save_map(m, d / "map.html")
    return paths
