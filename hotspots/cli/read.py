"""Commands that read and check files: `datasets`, `read`, `validate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._common import (
    _print_json,
    _source_of,
    _steps,
    console,
    friendly,
)
from ._options import reading_options


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
    Console(markup=False).print(out)
    console.print("searched, in order: " + ", ".join(str(d) for d in data_dirs()))
    for row in table[table["found_at"] == "MISSING"].itertuples():
        console.print(f"missing {row.key} ({row.file}): get it from {row.source}", highlight=False)
    if check:
        bad = table.loc[table["checksum_ok"].eq(False), "key"].tolist()
        if bad:
            console.print(f"[bold red]checksum mismatch:[/] {escape(', '.join(bad))}",
                          highlight=False, markup=True)
            raise typer.Exit(1)
        console.print(f"checksums: {int(table['checksum_ok'].eq(True).sum())} files match")


@friendly
@reading_options
def read(
    files: list[str] = typer.Argument(
        ..., help="Incident file(s), a police.uk folder, a glob or a registry key."
    ),
    rejects: Path = typer.Option(
        Path("out/rejects.csv"), help="Where to write the rejected rows (CSV)."
    ),
    kind: str | None = typer.Option(None, help="Force the layout (police_uk, camden, ...)."),
    year: int | None = typer.Option(None, help="Year for month-number files."),
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Read incidents: counts by category, the rejects summary, and a rejects CSV.

    Example: hotspots read harrow_crime_2022 --rejects out/rejects.csv
    """
    from ..io import read_incidents

    inc, report = read_incidents(files if len(files) > 1 else files[0], kind=kind, year=year,
                                 with_report=True, **(read_opts or {}))
    out = Table(title=f"{len(inc):,} incidents by category")
    out.add_column("category")
    out.add_column("n", justify="right")
    for cat, n in inc["category"].value_counts().items():
        out.add_row(str(cat), f"{n:,}")
    stdout = Console(markup=False)
    stdout.print(out)
    stdout.print(report.summary(), highlight=False)
    report.to_csv(rejects, source=_source_of(files, inc))
    console.print(f"rejects ({report.n_rejected:,} rows) written to {rejects}", highlight=False)


def _print_report(rep) -> None:
    """The validate report as text on stdout, its first rejected rows as a table."""
    out = Console(markup=False)
    out.print(rep.summary(rejects=False), highlight=False)
    rej = rep.rejects
    if len(rej):
        table = Table(title=f"first {len(rej)} of {rep.rows_rejected:,} rejected rows")
        for col in rej.columns:
            table.add_column(col, overflow="fold", justify="right" if col == "row" else "left")
        for r in rej.itertuples(index=False):
            table.add_row(*[str(v) for v in r])
        out.print(table)


@friendly
@reading_options
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
    read_opts: dict[str, Any] | None = None,
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
    from ..io import nothing_kept
    from ..validation import validate

    with _steps(quiet) as step, step(f"reading {', '.join(files)}"):
        rep = validate(files if len(files) > 1 else files[0], n_rejects=show,
                       **(read_opts or {}))
    report = rep.read_report
    if rejects is not None:
        report.to_csv(rejects, source=_source_of(files, rep.incidents))
    if json_out:
        _print_json(rep.to_dict())
    elif not quiet:
        _print_report(rep)
        if rejects is not None:
            console.print(f"rejects ({report.n_rejected:,} rows) written to {rejects}",
                          highlight=False)
    if not report.n_kept:  # nothing to analyse: a script must not carry on with it
        console.print("[bold red]error:[/] " + escape(nothing_kept(report)), highlight=False,
                      markup=True)
        raise typer.Exit(1)
    if strict and report.n_rejected:
        raise typer.Exit(2)
