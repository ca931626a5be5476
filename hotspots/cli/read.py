"""Commands that read and check files: `datasets`, `read`, `validate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    _LAT,
    _LON,
    _X,
    _Y,
    WARD_TOLERANCE_M,
    _coords,
    _print_json,
    _read_with_report,
    _source_of,
    console,
    friendly,
)


@friendly
def datasets(
    check: bool = typer.Option(False, help="Also verify each file's sha256 against the registry."),
    json_out: bool = typer.Option(False, "--json", help="Print the table as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing; the exit code "
                               "says whether --check passed."),
) -> None:
    """List the dataset registry and where each file was found.

    Exits 1 when --check finds a file whose sha256 differs from the registry's.

    Example: hotspots datasets --check
    """
    from ..datasets import data_dirs, list_datasets

    table = list_datasets(check=check)
    bad = table.loc[table["checksum_ok"].eq(False), "key"].tolist() if check else []
    if json_out or quiet:
        if json_out:
            _print_json({"searched": [str(d) for d in data_dirs()], "datasets": table})
        raise typer.Exit(1 if bad else 0)
    # the source URL and file name are long: shown for missing files only, below
    cols = ["key", "found_at", "licence", "description"] + (["checksum_ok"] * check)
    out = Table(title="hotspots datasets")
    for col in cols:
        out.add_column(col, overflow="fold")
    for row in table[cols].itertuples(index=False):
        out.add_row(*[str(v) for v in row])
    Console().print(out)
    console.print("searched, in order: " + ", ".join(str(d) for d in data_dirs()))
    for row in table[table["found_at"] == "MISSING"].itertuples():
        console.print(f"missing {row.key} ({row.file}): get it from {row.source}", highlight=False)
    if check:
        bad = table.loc[table["checksum_ok"].eq(False), "key"].tolist()
        if bad:
            console.print(f"[bold red]checksum mismatch:[/] {', '.join(bad)}", highlight=False)
            raise typer.Exit(1)
        console.print(f"checksums: {int(table['checksum_ok'].eq(True).sum())} files match")


@friendly
def read(
    files: list[str] = typer.Argument(
        ..., help="Incident file(s), a police.uk folder, a glob or a registry key."
    ),
    rejects: Path = typer.Option(
        Path("out/rejects.csv"), help="Where to write the rejected rows (CSV)."
    ),
    kind: str | None = typer.Option(None, help="Force the layout (police_uk, camden, ...)."),
    year: int | None = typer.Option(None, help="Year for month-number files."),
    no_bounds: bool = typer.Option(False, "--no-bounds", help="Keep points outside London."),
) -> None:
    """Read incidents: counts by category, the rejects summary, and a rejects CSV.

    Example: hotspots read harrow_crime_2022 --rejects out/rejects.csv
    """
    from ..io import read_incidents

    inc, report = read_incidents(
        files if len(files) > 1 else files[0],
        kind=kind,
        year=year,
        bounds=None if no_bounds else "london",
        with_report=True,
    )
    out = Table(title=f"{len(inc):,} incidents by category")
    out.add_column("category")
    out.add_column("n", justify="right")
    for cat, n in inc["category"].value_counts().items():
        out.add_row(str(cat), f"{n:,}")
    stdout = Console()
    stdout.print(out)
    stdout.print(report.summary(), highlight=False)
    report.to_csv(rejects, source=_source_of(files, inc))
    console.print(f"rejects ({report.n_rejected:,} rows) written to {rejects}", highlight=False)


#: dates before this, or after today, are reported by validate as implausible
_FIRST_PLAUSIBLE = "2000-01-01"


def _dates_summary(inc) -> dict[str, Any]:
    """Date range as the reader found it: month-only, day-only or day and time of day;
    how many rows have no date, and how many have an implausible one (with an example)."""
    import pandas as pd

    from .._errors import BadInputError
    from .._time import incident_times, month_only

    try:
        t = incident_times(inc) if len(inc) else pd.Series(dtype="datetime64[ns]")
    except BadInputError:  # neither occurred_at nor month: an undated file
        t = pd.Series(pd.NaT, index=inc.index, dtype="datetime64[ns]")
    dated = t.dropna()
    out: dict[str, Any] = {"first": None, "last": None, "month_only": False,
                           "n_undated": int(len(t) - len(dated)), "n_implausible": 0,
                           "implausible_example": None}
    if dated.empty:
        return out
    monthly = month_only(inc)
    timed = bool((dated != dated.dt.normalize()).any())  # all midnight: days only
    fmt = "%Y-%m" if monthly else "%Y-%m-%d %H:%M" if timed else "%Y-%m-%d"
    today = pd.Timestamp.now().normalize() + pd.Timedelta(days=1)
    odd = dated[(dated < pd.Timestamp(_FIRST_PLAUSIBLE)) | (dated >= today)]
    example = None
    if len(odd):
        ident = inc.loc[odd.index[0], "incident_id"] if "incident_id" in inc.columns else None
        example = f"{odd.iloc[0]:{fmt}}" + (f" (incident {ident})" if ident else "")
    out.update(first=f"{dated.min():{fmt}}", last=f"{dated.max():{fmt}}",
               month_only=bool(monthly), n_implausible=int(len(odd)),
               implausible_example=example)
    return out


def _synthetic_summary(inc) -> dict[str, Any]:
    """How many rows are SYNTHETIC (``source == "synthetic"`` or a true ``synthetic``
    column) and the file's ``note`` about them, if any."""
    import pandas as pd

    flag = pd.Series(False, index=inc.index)
    if "source" in inc.columns:
        flag |= inc["source"].astype(str).str.strip().str.lower().eq("synthetic")
    if "synthetic" in inc.columns:
        flag |= inc["synthetic"].astype(str).str.strip().str.lower().isin(("true", "1", "yes"))
    note = None
    if flag.any() and "note" in inc.columns:
        notes = inc.loc[flag, "note"].dropna().astype(str)
        note = notes.mode().iloc[0] if len(notes) else None
    return {"synthetic": bool(flag.any()), "n_synthetic": int(flag.sum()),
            "synthetic_note": note}


def _read_summary(inc, report, wards, n_rejects: int) -> dict[str, Any]:
    """What the reader made of the input, as plain values (for text and JSON)."""
    from ..categories import unrecognised_categories
    from ..join import assign_wards

    extent = None
    places: dict[str, Any] = {}
    if len(inc):
        extent = {"bng": [round(v) for v in inc.total_bounds],
                  "wgs84": [round(v, 5) for v in inc.to_crs(4326).total_bounds]}
        # the same near-edge rescue as `hotspots counts`, so the two agree
        joined = assign_wards(inc, wards, tolerance=WARD_TOLERANCE_M)
        places = {"wards_touched": int(joined["ward_code"].nunique()),
                  "outside_london_wards": int(joined["ward_code"].isna().sum()),
                  "boroughs": joined["borough_name"].value_counts().to_dict()}
    rejects = report.rejects[["file", "row", "reason", "detail"]]
    return {
        "files": list(report.files), "kind": inc.attrs.get("read_kind"),
        "rows_read": report.n_read, "rows_kept": report.n_kept,
        "rows_rejected": report.n_rejected, "rows_fixed": report.n_fixed,
        "rejected_by_reason": report.reason_counts().to_dict(),
        "fixed_by_fix": report.fixed["fix"].value_counts().to_dict() if report.n_fixed else {},
        "rejects": rejects.head(n_rejects),
        "dates": _dates_summary(inc), **_synthetic_summary(inc),
        "categories": inc["category"].value_counts().to_dict() if len(inc) else {},
        # the source's own wording is kept in `subcategory`; only rows counted as 'other'
        # (a file whose category column is already canonical keeps free text there)
        "unrecognised_categories": (
            unrecognised_categories(inc.loc[inc["category"] == "other", "subcategory"])
            .to_dict() if len(inc) and "subcategory" in inc.columns else {}),
        "extent": extent, **places,
    }


def _print_summary(s: dict[str, Any]) -> None:
    """The validate report as text on stdout."""
    out = Console()
    d = s["dates"]
    lines = [
        f"files: {', '.join(s['files'])}",
        f"kind detected: {s['kind']}",
        f"rows read: {s['rows_read']:,}; kept {s['rows_kept']:,}; rejected "
        f"{s['rows_rejected']:,}; fixed {s['rows_fixed']:,}",
    ]
    lines += [f"  rejected, {r}: {n:,}" for r, n in s["rejected_by_reason"].items()]
    lines += [f"  fixed, {r}: {n:,}" for r, n in s["fixed_by_fix"].items()]
    if s["synthetic"]:
        lines.insert(0, f"SYNTHETIC: {s['n_synthetic']:,} of {s['rows_kept']:,} rows are "
                     "generated, not real reports" + (f" ({s['synthetic_note']})"
                                                      if s["synthetic_note"] else ""))
    if d["first"]:
        lines.append(f"dates: {d['first']} to {d['last']}"
                     + (" (month only: no day or time of day)" if d["month_only"] else "")
                     + (f"; {d['n_undated']:,} undated" if d["n_undated"] else ""))
    else:
        lines.append("dates: none (no date column found, or no row has a readable date)")
    if d["n_implausible"]:
        lines.append(f"  implausible dates (before {_FIRST_PLAUSIBLE[:4]} or after today): "
                     f"{d['n_implausible']:,}, e.g. {d['implausible_example']}")
    if s["extent"]:
        b, g = s["extent"]["bng"], s["extent"]["wgs84"]
        lines.append(f"extent: E {b[0]:,}-{b[2]:,}, N {b[1]:,}-{b[3]:,} (BNG m); "
                     f"lon {g[0]} to {g[2]}, lat {g[1]} to {g[3]}")
        boroughs = ", ".join(f"{k} {v:,}" for k, v in s["boroughs"].items())
        nw = s["wards_touched"]
        lines.append(f"places: {nw} ward{'s' if nw != 1 else ''} (2022) in {boroughs}"
                     + (f"; {s['outside_london_wards']:,} outside every London ward"
                        if s["outside_london_wards"] else ""))
    out.print("\n".join(lines), highlight=False)
    if s["categories"]:
        out.print("categories: " + ", ".join(f"{k} {v:,}" for k, v in s["categories"].items()),
                  highlight=False)
    if s["unrecognised_categories"]:
        out.print("  not in the category table, counted as 'other': " + ", ".join(
            f"{k!r} {v:,}" for k, v in s["unrecognised_categories"].items()), highlight=False)
    rej = s["rejects"]
    if len(rej):
        table = Table(title=f"first {len(rej)} of {s['rows_rejected']:,} rejected rows")
        for col in rej.columns:
            table.add_column(col, overflow="fold", justify="right" if col == "row" else "left")
        for r in rej.itertuples(index=False):
            table.add_row(*[str(v) for v in r])
        out.print(table)


@friendly
def validate_cmd(
    files: list[str] = typer.Argument(
        ..., help="Incident file(s), a police.uk folder, a glob or a registry key."
    ),
    rejects: Path | None = typer.Option(None, help="Also write every rejected row to this CSV."),
    show: int = typer.Option(10, help="How many rejected rows to list (JSON: also)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 2 when any row was rejected."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or report; the exit "
                               "code says whether the file was readable (and, with "
                               "--strict, clean)."),
    lon: str | None = _LON,
    lat: str | None = _LAT,
    x: str | None = _X,
    y: str | None = _Y,
) -> None:
    """Check what the reader makes of a file before trusting an analysis of it.

    It reports:
    - the layout detected, and whether the rows are SYNTHETIC;
    - rows read, kept and rejected, with each rejected row's reason and line number;
    - the date range, and any date before 2000 or after today;
    - the categories, and the extent of the points;
    - the 2022 wards and boroughs the points fall in (25 m tolerance, as hotspots counts).

    Line numbers are the lines of the file as a spreadsheet shows them: the header is line 1.

    Exits 1 if the file is unreadable or no row was kept, 2 with --strict if a row was rejected.

    Example: hotspots validate harrow_crime_2022 --json
    """
    from ..boundaries import wards

    inc, report = _read_with_report(files, quiet, **_coords(lon, lat, x, y))
    summary = _read_summary(inc, report, wards(year=2022), show)
    if rejects is not None:
        report.to_csv(rejects, source=_source_of(files, inc))
    if json_out:
        _print_json(summary)
    elif not quiet:
        _print_summary(summary)
        if rejects is not None:
            console.print(f"rejects ({report.n_rejected:,} rows) written to {rejects}",
                          highlight=False)
    if not report.n_kept:  # nothing to analyse: a script must not carry on with it
        console.print(f"[bold red]error:[/] no rows kept: all {report.n_read:,} rows read "
                      "were rejected (see their reasons)" if report.n_read else
                      "[bold red]error:[/] no rows kept: the file has no data rows",
                      highlight=False)
        raise typer.Exit(1)
    if strict and report.n_rejected:
        raise typer.Exit(2)
