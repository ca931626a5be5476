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
