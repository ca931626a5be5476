"""Printable packs: Markdown and HTML for councillor summaries and patrol briefings.

Rendering only: functions here take results computed elsewhere (focus week, patrol
plan) and turn them into text people read on paper or in an email. Nothing here
recomputes analysis.
"""

from __future__ import annotations

import html
from pathlib import Path

from ._atomic import atomic_write_text

_PRINT_CSS = """
body{font-family:Arial,Helvetica,sans-serif;max-width:52em;margin:2em auto;color:#111;
line-height:1.4}
h1{font-size:1.5em;border-bottom:2px solid #333}h2{font-size:1.2em;margin-top:1.4em}
table{border-collapse:collapse;width:100%;margin:.6em 0}
th,td{border:1px solid #999;padding:.25em .45em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#eee}.small{font-size:.8em;color:#444}
@media print{body{margin:0;max-width:none}a{color:#000}}
"""


def esc(value: object) -> str:
    """HTML-escape any value shown to people (data may carry markup)."""
    return html.escape("" if value is None else str(value))


def md_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A Markdown pipe table from a list of dicts (pipes in values are escaped)."""
    if not rows:
        return "_none_\n"
    columns = columns or list(rows[0])
    def cell(v: object) -> str:
        return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
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
        Data credits; default police.uk (OGL v3), OpenStreetMap (ODbL) and TfL (OGL v3).

    Returns
    -------
    (markdown, html) : tuple of str
        The same content twice: Markdown for email/chat, a self-contained HTML page
        for printing. Write them with :func:`write_pack`.
    """
    from .datasets import attribution as credits

    attribution = attribution or credits("city_of_london_2019", "osm_city_of_london",
                                         "tfl_stations")
    a = plan.attrs
    km = plan.length_m / 1000
    summary = (
        f"{len(plan.stops)} stops, {km:.2f} km on foot ({plan.walk_minutes:.0f} min walking at "
        f"{a.get('walk_kmh', 4.8):g} km/h) + {plan.dwell_minutes:.0f} min at stops = "
        f"{plan.minutes:.0f} min of a {a.get('max_minutes', 0):.0f} min budget. "
        f"Start {a.get('start_time', '')}; "
        + ("returns to the start." if a.get("closed") else "finishes at the last stop.")
    )
    stop_rows = [
        {"#": r["order"], "arrive": r["arrival"], "dwell (min)": r["dwell_min"],
         "street": r["street"], "why": r["why"],
         "walk in (m)": f"{r['walk_m']:.0f}", "lat, lon": f"{r['lat']:.5f}, {r['lon']:.5f}"}
        for _, r in plan.stops.iterrows()
    ]
    dropped_rows = [{"target": r["name"], "reason": r["reason"]}
                    for _, r in plan.dropped.iterrows()]
    order = f"Solver: {a.get('solver', '')}." if a.get("solver") else ""
    sub = f"{area_name}: " if area_name else ""
    md = [f"# {title}", "", f"**{sub}{summary}**", "", "## Stops", "", md_table(stop_rows),
          "## Left out", "", md_table(dropped_rows), "## Caveats", ""]
    md += [f"- {n}" for n in plan.notes] + ([f"- {order}"] if order else [])
    md += ["", "---", "", f"_{attribution}_", ""]
    body = (
        f"<h1>{esc(title)}</h1><p><strong>{esc(sub + summary)}</strong></p>"
        f"<h2>Stops</h2>{html_table(stop_rows)}<h2>Left out</h2>{html_table(dropped_rows)}"
        "<h2>Caveats</h2><ul>"
        + "".join(f"<li>{esc(n)}</li>" for n in [*plan.notes, *([order] if order else [])])
        + "</ul>"
    )
    return "\n".join(md), html_page(title, body, footer=attribution)
