"""Command `counts`: incidents per ward (and period, category) with rates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._common import (
    _incidents_in_wards,
    _print_json,
    _source_of,
    _steps,
    _wards_key,
    console,
    friendly,
)
from ._options import reading_options


@friendly
@reading_options
def counts_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    borough: str = typer.Option(None, help="Borough (name or E09 code): all its wards, even "
                                "with no incidents; incidents elsewhere are left out."),
    year: int = typer.Option(2022, help="Ward boundary year."),
    freq: str = typer.Option("total", help="'total' (one row per ward), or MS months, "
                             "W-MON weeks, QS quarters, YS years."),
    by_category: bool = typer.Option(False, "--by-category", help="A row per category too."),
    tolerance: float | None = typer.Option(
        None, help="Metres: points this close outside a ward's generalised edge go to the "
        "nearest ward (default: the library's, hs.WARD_TOLERANCE_M = 25)."),
    out: Path | None = typer.Option(None, help="Write the whole table to this CSV."),
    top: int = typer.Option(20, help="Rows to print (busiest first)."),
    json_out: bool = typer.Option(False, "--json", help="Print the table as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or table."),
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Counts per ward (and period, category) with rates per 1,000 residents.

    Rates use the GLA ward populations (hs.ward_population; area-weighted estimates on
    2022 wards). A month-only source (police.uk) asked for weeks falls back to months.

    Example: hotspots counts harrow_crime_2022 --borough Harrow --out out/ward_counts.csv
    """
    import warnings

    from .._atomic import atomic_write_csv
    from .._errors import BadInputError
    from .._validate import check_suffix
    from ..categories import describe
    from ..join import ward_counts

    if out is not None:
        check_suffix(out, {".csv": "CSV"}, "--out")

    f = None if freq.strip().lower() in ("total", "none", "") else freq
    with _steps(quiet) as step:
        inc, w = _incidents_in_wards(source, borough, year, tolerance, step, quiet,
                                     read_opts)
        with step("counting"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            table = ward_counts(inc, freq=f, by="category" if by_category else None, wards=w)
    if not len(table) or not table["count"].sum():  # an empty table is not an answer
        where = f"the wards of {borough}" if borough else "any London ward"
        raise BadInputError(f"no incidents counted in {where}"
                            + (f" per {f} period" if f else "") + f". {describe(inc)}")
    for msg in caught:
        if not quiet:
            console.print(f"[yellow]note:[/] {escape(str(msg.message))}", highlight=False,
                          markup=True)
    if out is not None:
        pop = ("ward_population",) if "rate_per_1000" in table.columns else ()
        atomic_write_csv(table, out, source=_source_of(source, inc, *_wards_key(year), *pop))
    busiest = table.sort_values("count", ascending=False, kind="stable")
    if json_out:
        kept = table.attrs.get("freq")  # ward_counts keeps str(None) for totals
        _print_json({"source": source, "borough": borough,
                     "freq": None if kept in (None, "None") else kept,
                     "n_counted": table.attrs.get("n_counted"),
                     "n_no_ward": table.attrs.get("n_no_ward"),
                     "n_outside_borough": inc.attrs.get("n_outside_borough", 0),
                     "population": table.attrs.get("population"), "rows": busiest})
    elif not quiet:
        show = busiest.head(top)
        t = Table(title=f"{source}: {table.attrs.get('n_counted', len(inc)):,} incidents, "
                  f"busiest {len(show)} of {len(table):,} rows")
        for col in show.columns:
            t.add_column(col, justify="right" if col in ("count", "n_near_edge", "rate_per_1000")
                         else "left")
        for r in show.itertuples(index=False):
            t.add_row(*[f"{v:.2f}" if isinstance(v, float) else
                        f"{v:%Y-%m-%d}" if hasattr(v, "strftime") else str(v) for v in r])
        Console(markup=False).print(t)
        if out is not None:
            console.print(f"wrote {out}", highlight=False)
