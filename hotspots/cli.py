"""The `hotspots` command line: thin wiring over the library, nothing computed here.

Each command is one library call chain. Errors the user can fix (HotspotsError) are
printed as one clear message, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ._errors import HotspotsError

app = typer.Typer(
    help="Find hotspots in London incident data; plan focus weeks and patrols.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """hotspots: hotspot analysis for London community-safety teams."""


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn an error into a one-line message and exit code 1, never a traceback.

    A HotspotsError is printed as it is (written for the user). Anything else (a file
    pandas cannot parse, a permission error) is printed with its type and a hint;
    ``HOTSPOTS_DEBUG=1`` re-raises it to show the traceback.
    """

    import inspect

    has_coords = "lon" in inspect.signature(fn).parameters

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with _hushed(bool(kwargs.get("quiet"))):
                return fn(*args, **kwargs)
        except HotspotsError as exc:
            console.print(f"[bold red]error:[/] {_cli_advice(str(exc), has_coords)}",
                          highlight=False)
            sys.exit(1)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own usage errors and exits keep their codes
        except Exception as exc:
            if os.environ.get("HOTSPOTS_DEBUG"):
                raise
            console.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}\n"
                          "(set HOTSPOTS_DEBUG=1 to see the traceback)", highlight=False)
            sys.exit(1)

    return wrapper


@contextlib.contextmanager
def _hushed(quiet: bool):
    """With --quiet: no messages on stderr and no library log below errors, for the
    duration of the command (errors are still printed, after it)."""
    import logging

    if not quiet:
        yield
        return
    log = logging.getLogger("hotspots")
    level, was = log.level, console.quiet
    log.setLevel(logging.ERROR)
    console.quiet = True
    try:
        yield
    finally:
        console.quiet = was
        log.setLevel(level)


#: --json and --quiet for commands that write files: what a script needs to know
_JSON_OPTION = typer.Option(False, "--json", help="Print what was chosen and written as JSON "
                            "on stdout (messages stay on stderr).")
_QUIET_OPTION = typer.Option(False, "--quiet", "-q", help="No progress or messages; the exit "
                             "code says whether it worked.")


def _cli_advice(message: str, has_coords: bool) -> str:
    """A library message's Python advice (keyword arguments) in command-line terms."""
    message = message.replace("or save the map with offline=False to load them from the "
                              "internet.", "or pass --online to load them from the internet.")
    return message.replace(
        "Pass lon=/lat= or x=/y= to name them.",
        "Name them with --lon/--lat or --x/--y." if has_coords else
        "Rename them to longitude/latitude or easting/northing (or check the file with "
        "`hotspots validate FILE --lon COL --lat COL`).")


@contextlib.contextmanager
def _steps(quiet: bool = False):
    """Spinner and elapsed time on stderr for each slow step; silent with --quiet.

    Use as ``with _steps(quiet) as step: with step("reading"): ...``. With `quiet` the
    library's log messages below errors are held back too (for the duration only).
    """
    import logging

    if quiet or not console.is_terminal:  # a log file gets no spinner frames
        log = logging.getLogger("hotspots")
        level = log.level
        if quiet:
            log.setLevel(logging.ERROR)
        try:
            yield lambda label: contextlib.nullcontext()
        finally:
            log.setLevel(level)
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:

        @contextlib.contextmanager
        def step(label: str):
            task = bar.add_task(label, total=1)
            yield
            bar.update(task, completed=1)

        yield step


def _plain(obj: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, NaN/NaT to None, timestamps to ISO."""
    import math

    import numpy as np
    import pandas as pd

    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return _plain(obj.to_dict(orient="records"))
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or obj is pd.NaT or (isinstance(obj, float) and math.isnan(obj)):
        return None
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(obj).isoformat()
    if isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def _print_json(obj: Any) -> None:
    """Write `obj` as JSON on stdout (progress and messages go to stderr)."""
    import json

    typer.echo(json.dumps(_plain(obj), indent=2, ensure_ascii=False))


#: every map-writing command: offline (Leaflet inlined from `make assets`) unless told
#: --online, so a map opens on a machine without internet
_OFFLINE_OPTION = typer.Option(
    None, "--offline/--online", " /--no-offline",
    help="Inline Leaflet from `make assets` so the map opens without internet (default "
    "when installed), or --online: load it and base tiles from the internet.")


@app.command()
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
    from .datasets import data_dirs, list_datasets

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


@app.command("read")
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
    from .io import read_incidents

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


# --- commands: io (section owned by the io work; add commands above this line)


#: the reader's coordinate columns, for files whose names it does not recognise
_LON = typer.Option(None, "--lon", help="Longitude column (WGS84), if not detected.")
_LAT = typer.Option(None, "--lat", help="Latitude column (WGS84), if not detected.")
_X = typer.Option(None, "--x", help="Easting column (British National Grid), if not detected.")
_Y = typer.Option(None, "--y", help="Northing column (British National Grid), if not detected.")


def _coords(lon: str | None, lat: str | None, x: str | None, y: str | None) -> dict:
    """The --lon/--lat/--x/--y options given, as read_incidents keywords."""
    return {k: v for k, v in dict(lon=lon, lat=lat, x=x, y=y).items() if v is not None}


#: --categories for the commands that map or grid incidents (rank has its own)
_CATEGORIES_OPTION = typer.Option(None, "--categories", help="Only these categories, "
                                  "comma-separated (e.g. robbery,violence_sexual).")


def _category_set(categories: str | None) -> set[str] | None:
    """The --categories given, checked against the vocabulary before any file is read (a
    typo is an error, not an empty map); None without the option."""
    from .categories import check_categories

    if not categories:
        return None
    return check_categories([c.strip() for c in categories.split(",") if c.strip()])


def _only_categories(inc, cats: set[str] | None):
    """The incidents of the categories `cats` (from :func:`_category_set`); all of them
    when None. Raises when none is left."""
    from ._errors import BadInputError

    if cats is None:
        return inc
    kept = inc[inc["category"].astype(str).isin(cats)]
    if kept.empty:
        raise BadInputError(f"no incidents in --categories {','.join(sorted(cats))} "
                            f"({len(inc):,} read; `hotspots validate FILE` lists the "
                            "categories found)")
    kept.attrs.update(inc.attrs)
    return kept


def _read_with_report(files: list[str], quiet: bool, **opts: Any):
    """Read incident file(s) or a registry key, with the reader's report."""
    from .io import read_incidents

    with _steps(quiet) as step, step(f"reading {', '.join(files)}"):
        return read_incidents(files if len(files) > 1 else files[0], with_report=True, **opts)


#: metres: points this close outside a ward's generalised edge go to the nearest ward
#: (counts, rank --borough and validate all use it; docs/methods.md)
WARD_TOLERANCE_M = 25.0
#: dates before this, or after today, are reported by validate as implausible
_FIRST_PLAUSIBLE = "2000-01-01"


def _dates_summary(inc) -> dict[str, Any]:
    """Date range as the reader found it: month-only, day-only or day and time of day;
    how many rows have no date, and how many have an implausible one (with an example)."""
    import pandas as pd

    from ._errors import BadInputError
    from ._time import incident_times, month_only

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
    from .categories import unrecognised_categories
    from .join import assign_wards

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


@app.command("validate")
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
    from .boundaries import wards

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


def _incidents_in_wards(source: str, borough: str | None, year: int, tolerance: float,
                        step, quiet: bool = False, read_opts: dict | None = None):
    """Incidents joined to wards (the borough's, or every London ward they touch).

    Points are joined to every London ward of `year` (as `validate` does), then a
    borough keeps its own: a point inside a neighbour's ward is the neighbour's even
    when it is within `tolerance` of the borough's edge. Says how many were left out,
    and raises when none is left.
    """
    from ._errors import BadInputError
    from .boundaries import wards as load_wards
    from .join import assign_wards

    with step(f"reading {source}"):
        inc = _read_source(source, quiet, **(read_opts or {}))
    with step("joining to wards"):
        w = load_wards(borough, year) if borough else None
        inc = assign_wards(inc, load_wards(None, year), tolerance=tolerance)
    if w is None:
        return inc, None
    name = w["borough_name"].iloc[0] if len(w) else borough
    n_read = len(inc)
    inc = inc[inc["ward_code"].isin(w["ward_code"])]
    inc.attrs["n_outside_borough"] = n_read - len(inc)
    if len(inc) == 0:
        raise BadInputError(f"no incidents in {name} ({n_read:,} read, all outside it): "
                            "check --borough, or leave it out to use every ward")
    if n_read > len(inc) and not quiet:
        console.print(f"note: {n_read - len(inc):,} of {n_read:,} incidents are outside "
                      f"{name} and left out", highlight=False)
    return inc, w


@app.command("counts")
@friendly
def counts_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    borough: str = typer.Option(None, help="Borough (name or E09 code): all its wards, even "
                                "with no incidents; incidents elsewhere are left out."),
    year: int = typer.Option(2022, help="Ward boundary year."),
    freq: str = typer.Option("total", help="'total' (one row per ward), or MS months, "
                             "W-MON weeks, QS quarters, YS years."),
    by_category: bool = typer.Option(False, "--by-category", help="A row per category too."),
    tolerance: float = typer.Option(WARD_TOLERANCE_M, help="Metres: points this close "
                                    "outside a ward's "
                                    "generalised edge go to the nearest ward."),
    out: Path | None = typer.Option(None, help="Write the whole table to this CSV."),
    top: int = typer.Option(20, help="Rows to print (busiest first)."),
    json_out: bool = typer.Option(False, "--json", help="Print the table as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or table."),
    lon: str | None = _LON,
    lat: str | None = _LAT,
    x: str | None = _X,
    y: str | None = _Y,
) -> None:
    """Counts per ward (and period, category) with rates per 1,000 residents.

    Rates use the GLA ward populations (hs.ward_population; area-weighted estimates on
    2022 wards). A month-only source (police.uk) asked for weeks falls back to months.

    Example: hotspots counts harrow_crime_2022 --borough Harrow --out out/ward_counts.csv
    """
    import warnings

    from ._atomic import atomic_write_csv
    from .join import ward_counts

    f = None if freq.strip().lower() in ("total", "none", "") else freq
    with _steps(quiet) as step:
        inc, w = _incidents_in_wards(source, borough, year, tolerance, step, quiet,
                                     _coords(lon, lat, x, y))
        with step("counting"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            table = ward_counts(inc, freq=f, by="category" if by_category else None, wards=w)
    for msg in caught:
        if not quiet:
            console.print(f"[yellow]note:[/] {msg.message}", highlight=False)
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
        Console().print(t)
        if out is not None:
            console.print(f"wrote {out}", highlight=False)


_AREA_COLUMNS = ("rank", "score", "n_incidents", "area_m2", "wards", "lat", "lon", "change_n",
                 "change_pct", "landmark", "streets")


def _few_areas_note(areas, n: int) -> str | None:
    """Why top_areas found fewer than the `n` areas asked for (None when it found them)."""
    if len(areas) >= n:
        return None
    a = areas.attrs
    rule = (f" (an area needs at least {a['min_samples']} incidents within {a['eps']:g} m of "
            "each other)" if "min_samples" in a and "eps" in a else "")
    return (f"{'no' if len(areas) == 0 else f'only {len(areas)} of {n}'} areas: "
            f"{a.get('n_input', 0):,} incidents are too few or too scattered for "
            f"{'any area' if len(areas) == 0 else 'more'}{rule}")


@app.command("rank")
@friendly
def rank_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    borough: str = typer.Option(None, help="Borough: only incidents in its wards; areas named "
                                "by its wards."),
    year: int = typer.Option(2022, help="Ward boundary year."),
    n: int = typer.Option(20, "--n", "-n", help="How many areas."),
    method: str = typer.Option("dbscan", help="dbscan, hdbscan or kde."),
    categories: str = typer.Option(None, help="Only these categories, comma-separated "
                                   "(e.g. robbery,asb)."),
    harm: bool = typer.Option(False, "--harm", help="Weight categories by harm "
                              "(hotspots/data/harm_weights.csv)."),
    network: str | None = typer.Option(None, help="Street network (path or registry key, e.g. "
                                       "osm_city_of_london): areas named by their streets."),
    out: Path = typer.Option(Path("out/top_areas"), help="Writes OUT.csv and OUT.geojson "
                             "(WGS84)."),
    json_out: bool = typer.Option(False, "--json", help="Print the areas as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or table."),
    lon: str | None = _LON,
    lat: str | None = _LAT,
    x: str | None = _X,
    y: str | None = _Y,
) -> None:
    """The top twenty hotspot areas, ranked, to CSV and GeoJSON.

    Areas are clusters (at most 20 ha), scored by recency-weighted count boosted for
    density; see docs/methods.md.

    Example: hotspots rank harrow_crime_2022 --borough Harrow --out out/harrow_top20
    """
    from ._atomic import atomic_write_csv, atomic_write_geojson
    from .rank import top_areas

    cats = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    with _steps(quiet) as step:
        inc, w = _incidents_in_wards(source, borough, year, WARD_TOLERANCE_M, step, quiet,
                                     _coords(lon, lat, x, y))
        G = None
        if network:
            with step(f"loading street network {network}"):
                G = _street_network(network)
        with step(f"finding the top {n} areas ({method})"):
            areas = top_areas(inc, n=n, method=method, categories=cats, harm=harm or None,
                              wards=w, network=G, quiet=quiet)
    stem = out.with_suffix("") if out.suffix.lower() in (".csv", ".geojson") else out
    csv, geojson = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".geojson")
    credit = _source_of(source, inc, *(_wards_key(year) if borough else ()),
                        *_network_key(network))
    atomic_write_csv(areas.drop(columns="geometry"), csv, source=credit)
    atomic_write_geojson(areas, geojson, source=credit)
    cols = [c for c in _AREA_COLUMNS if c in areas.columns]
    note = _few_areas_note(areas, n)
    if note and not quiet:
        console.print(f"note: {note}", highlight=False)
    if json_out:
        _print_json({"source": source, "method": method, "csv": str(csv),
                     "geojson": str(geojson), "n_requested": n, "note": note,
                     "areas": areas[cols]})
    elif not quiet:
        where = "streets" if "streets" in areas.columns else "landmark"
        t = Table(title=f"top {len(areas)} areas: {source}")
        for col in ("rank", "score", "incidents", "ha", "wards", where, "change"):
            t.add_column(col, overflow="fold",
                         justify="left" if col in ("wards", where) else "right")
        for a in areas.itertuples(index=False):
            t.add_row(str(a.rank), f"{a.score:,.0f}", f"{a.n_incidents:,}",
                      f"{a.area_m2 / 1e4:.1f}", str(a.wards), str(getattr(a, where)),
                      "" if a.change_n != a.change_n else f"{a.change_n:+,.0f}")
        Console().print(t)
        console.print(f"wrote {csv} and {geojson}", highlight=False)


# --- commands: cli (validate, counts, rank: the cli/docs work; add commands above this line)


@app.command("synthetic")
@friendly
def synthetic_cmd(
    borough: str = typer.Option("Harrow", help="London borough (name or E09 code)."),
    out: Path = typer.Option(Path("sample_data"), help="Folder to write the files into."),
    seed: int = typer.Option(0, help="Random seed: same seed, byte-identical files."),
    n_fly_tips: int = typer.Option(
        0, help="Fly-tips in the year (0 = the borough's Defra ENV24 annual total)."
    ),
    start: str = typer.Option("2022-01-03", help="First day of the year / quarter."),
) -> None:
    """Write SYNTHETIC fly-tips (a year) and StreetSafe reports (a quarter) with truth.

    Example: hotspots synthetic --borough Harrow --seed 0 --out sample_data
    """
    from .synthetic import _MIN_N, write_sample

    if n_fly_tips != 0 and n_fly_tips < _MIN_N:  # the library's message names its argument
        raise typer.BadParameter(f"--n-fly-tips must be a whole number >= {_MIN_N} (or 0 for "
                                 f"the borough's Defra total), got {n_fly_tips}")
    paths = write_sample(out, borough=borough, seed=seed, n_fly_tips=n_fly_tips or None,
                         start=start)
    for p in paths.values():
        console.print(f"wrote {p}")


# --- commands: synthetic (section owned by the synthetic work; add commands above this line)


def _write_grid(grid, out: Path, source: str) -> None:
    """Write a grid GeoDataFrame (GeoPackage/GeoJSON/CSV by suffix) atomically, with a
    ``source`` column (GeoJSON: property and ``attribution``) naming data and licence.

    A CSV has no geometry, so each cell's centre is given instead: ``x``, ``y`` (British
    National Grid, metres) and ``lon``, ``lat`` (WGS84)."""
    from ._atomic import atomic_path, atomic_write_csv, atomic_write_geojson, with_source

    if out.suffix.lower() == ".csv":
        centre = grid.geometry.centroid
        wgs = centre.to_crs(4326)
        table = grid.drop(columns="geometry").assign(
            x=centre.x.round(1), y=centre.y.round(1), lon=wgs.x.round(6), lat=wgs.y.round(6))
        atomic_write_csv(table, out, source=source)
    elif out.suffix.lower() == ".geojson":
        atomic_write_geojson(grid, out, source=source)
    else:
        with atomic_path(out) as tmp:  # name the layer: the temp file's name is not valid
            with_source(grid, source).to_file(tmp, driver="GPKG",
                                              layer=out.stem.replace(" ", "_") or "grid")


def _grid_json(source: str, out: Path, grid, cats: set[str] | None, **extra: Any) -> None:
    """What kde / gistar chose and wrote, as JSON on stdout."""
    settings = {k: v for k, v in grid.attrs.items() if not k.startswith("grid_")}
    _print_json({"source": source, "out": str(out), "categories": sorted(cats) if cats else None,
                 "n_cells": len(grid), **settings, **extra})


def _grid_incidents(source: str, categories: str | None, quiet: bool):
    """(categories asked, incidents read and filtered) for the grid commands, with the
    library's choices (cell size, bandwidth) logged to the terminal."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cats = _category_set(categories)
    return cats, _only_categories(_read_source(source, quiet), cats)


@app.command("kde")
@friendly
def kde_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    out: Path = typer.Option(Path("out/kde.gpkg"), help="Grid file (.gpkg, .geojson, .csv)."),
    cell_size: float = typer.Option(None, help="Cell side, metres (default: chosen)."),
    bandwidth: float = typer.Option(None, help="Kernel radius, metres (default: chosen)."),
    kernel: str = typer.Option("quartic", help="quartic, gaussian, uniform or epanechnikov."),
    categories: str = _CATEGORIES_OPTION,
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
) -> None:
    """Kernel density (incidents per km²) on a regular grid.

    A CSV gives each cell's centre as x, y (British National Grid) and lon, lat.

    Example: hotspots kde harrow_crime_2022 --out out/harrow_kde.gpkg
    """
    from .density import kde

    cats, inc = _grid_incidents(source, categories, quiet)
    grid = kde(inc, cell_size=cell_size, bandwidth=bandwidth, kernel=kernel)
    _write_grid(grid, out, _source_of(source, inc))
    if json_out:
        _grid_json(source, out, grid, cats)
    else:
        console.print(f"wrote {out} ({len(grid):,} cells)")


@app.command("gistar")
@friendly
def gistar_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    out: Path = typer.Option(Path("out/gistar.gpkg"), help="Grid file (.gpkg, .geojson, .csv)."),
    cell_size: float = typer.Option(None, help="Cell side, metres (default: chosen)."),
    distance: float = typer.Option(None, help="Neighbourhood radius, metres (default: cell "
                                   "size x √2, the cell and its 8 neighbours)."),
    permutations: int = typer.Option(0, help="Permutations for pseudo p-values (0: normal)."),
    categories: str = _CATEGORIES_OPTION,
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
) -> None:
    """Getis-Ord Gi* hot and cold spots (FDR-corrected) on a regular grid.

    A CSV gives each cell's centre as x, y (British National Grid) and lon, lat.

    Example: hotspots gistar harrow_crime_2022 --out out/harrow_gistar.gpkg
    """
    from .stats import gistar

    cats, inc = _grid_incidents(source, categories, quiet)
    grid = gistar(inc, cell_size=cell_size, distance=distance,
                  permutations=permutations)
    _write_grid(grid, out, _source_of(source, inc))
    labels = grid["label"].value_counts()
    if json_out:
        _grid_json(source, out, grid, cats, n_incidents=len(inc), labels=labels.to_dict())
    else:
        console.print(f"wrote {out} ({len(grid):,} cells)")
        console.print(labels.to_string())


# --- commands: engine (section owned by the engine work; add commands above this line)


@app.command()
@friendly
def backtest(
    incidents: str = typer.Option(
        "barnet_burglary", help="Incident file or dataset key (default: Barnet burglary 2010-23)."
    ),
    months: int = typer.Option(None, min=1, help="Only the last N month pairs (default: "
                               "all)."),
    area_share: float = typer.Option(0.05, min=0.001, max=1.0,
                                     help="Share of the study area each method flags."),
    out: Path = typer.Option(None, help="Also write the per-month table to this CSV."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or table."),
) -> None:
    """Fit hotspots on month t, score on t+1; print mean PAI per method.

    Example: hotspots backtest --months 12 --json
    """
    from rich.progress import Progress

    from ._atomic import atomic_write_csv
    from .evaluate import backtest as run_backtest

    with _steps(quiet) as step, step(f"reading {incidents}"):
        inc = _read_source(incidents, quiet)
    with Progress(console=console, transient=True, disable=quiet) as bar:
        task = bar.add_task("backtest", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        res = run_backtest(inc, months=months, area_share=area_share, progress=tick)
    s = res.summary
    if out is not None:
        atomic_write_csv(res.table, out, source=_source_of(incidents, inc))
    if json_out or quiet:
        if json_out:
            _print_json({"incidents": incidents, "area_share": area_share,
                         **{k: v for k, v in s.attrs.items() if isinstance(v, (int, float, str))},
                         "methods": s})
        return
    title = (
        f"mean PAI, top {area_share:.0%} of the study area "
        f"({s.attrs.get('study_area_km2')} km², {s.attrs.get('cell_size'):g} m cells)"
    )
    table = Table(title=title)
    for col in ("method", "mean_pai", "median_pai", "mean_rri", "mean_area_share", "months"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in s.itertuples(index=False):
        table.add_row(r.method, f"{r.mean_pai:.2f}", f"{r.median_pai:.2f}", f"{r.mean_rri:.2f}",
                      f"{r.mean_area_share:.3f}", str(r.months))
    Console().print(table)
    if out is not None:
        console.print(f"wrote {out}")


# --- commands: backtest (section owned by the backtest work; add commands above this line)


@app.command("map")
@friendly
def map_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    borough: str = typer.Option(None, help="Borough: its wards are drawn; incidents outside "
                                "them are left out."),
    year: int = typer.Option(2022, help="Ward boundary year (2013/2014/2018/2019/2022/2023)."),
    ward: str = typer.Option(None, help="Draw a focus-ward map of this ward (needs --borough)."),
    n: int = typer.Option(20, help="How many top areas to number."),
    title: str = typer.Option(None, help="Map title (default: the borough or file name)."),
    out: Path = typer.Option(Path("out/map.html"), help="HTML file to write."),
    png: Path = typer.Option(None, help="Also write a static PNG of the same content."),
    categories: str = _CATEGORIES_OPTION,
    offline: bool = _OFFLINE_OPTION,
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
    lon: str | None = _LON,
    lat: str | None = _LAT,
    x: str | None = _X,
    y: str | None = _Y,
) -> None:
    """Write an interactive hotspot map (wards, density, top areas, incidents).

    Example: hotspots map harrow_crime_2022 --borough Harrow --out out/harrow.html
    """
    from . import maps
    from .density import kde
    from .plots import plot_hotspots
    from .rank import top_areas

    offline = _offline_default(offline)
    if ward and not borough:
        raise typer.BadParameter("--ward needs --borough (to load its wards)")
    cats = _category_set(categories)
    with _steps(quiet) as step:
        inc, w = _incidents_in_wards(source, borough, year, WARD_TOLERANCE_M, step, quiet,
                                     _coords(lon, lat, x, y))
        inc = _only_categories(inc, cats)
        with step(f"top {n} areas and density"):
            areas = top_areas(inc, n=n, wards=w)
            grid = kde(inc, clip=w)
    name = title or (f"{borough} hotspots" if borough else f"Hotspots: {Path(source).name}")
    if ward:
        m = maps.focus_ward_map(inc, w, ward, areas=areas, title=title, offline=offline)
    else:
        m = maps.hotspot_map(inc, areas=areas, wards=w, grid=grid, title=name, offline=offline)
    html = maps.save_map(m, out)
    if png:
        from ._atomic import atomic_path

        fig = plot_hotspots(inc, areas=areas, wards=w, grid=grid, title=name)
        with atomic_path(png) as tmp:
            fig.savefig(tmp, dpi=150, format="png")
    if json_out:
        _print_json({"source": source, "borough": borough, "ward": ward,
                     "categories": sorted(cats) if cats else None,
                     "html": str(html),
                     "png": str(png) if png else None, "offline": offline,
                     "n_incidents": len(inc),
                     "n_outside_borough": inc.attrs.get("n_outside_borough", 0),
                     "areas": areas[[c for c in _AREA_COLUMNS if c in areas.columns]]})
    elif not quiet:
        console.print(f"wrote {html}" + (f" and {png}" if png else ""), highlight=False)


# --- commands: maps (section owned by the maps work; add commands above this line)


def _focus_inputs(borough: str, incidents: str | None, year: int):
    """Wards and incidents for the focus commands; the synthetic sample when no file."""
    import hotspots as hs


    wards = hs.wards(borough=borough, year=year)
    if incidents:
        return wards, _read_source(incidents), False
    sample = [Path("sample_data"), Path(__file__).resolve().parents[1] / "sample_data"]
    hit = [p / "harrow_flytips_2022_synthetic.csv.gz" for p in sample]
    hit = [p for p in hit if p.exists()]
    if borough.strip().lower() in ("harrow", "e09000015") and hit:
        console.print(f"[bold yellow]no --incidents: using the SYNTHETIC sample {hit[0]}[/]")
        return wards, hs.read_incidents(hit[0]), True
    console.print(f"[bold yellow]no --incidents: generating SYNTHETIC fly-tips for {borough}[/]")
    return wards, hs.synthetic.fly_tips(borough=borough, year=year, seed=0), True


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for v in values or []:
        ward, _, reason = v.partition("=")
        if not ward.strip():
            raise HotspotsError(f"--{what} needs 'Ward name=reason', got {v!r}")
        out[ward.strip()] = reason.strip()
    return out


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@app.command("focus-week")
@friendly
def focus_week_cmd(
    borough: str = typer.Option("Harrow", help="London borough (name or E09 code)."),
    week: str = typer.Option("2022-02-07", help="Monday the focus week starts (or 2022-W06); "
                             "another day means its week's Monday (noted)."),
    incidents: str | None = typer.Option(None, help="Incident file or registry key; default "
                                         "the SYNTHETIC Harrow sample."),
    year: int = typer.Option(2022, help="Ward boundary year."),
    teams: bool = typer.Option(False, "--teams", help="One focus ward per area team "
                               "(Harrow's East/West/Central, hs.area_teams; other "
                               "boroughs: --teams-csv)."),
    teams_csv: Path | None = typer.Option(None, help="Your own ward -> team CSV "
                                          "(ward_name or ward_code, team); unknown wards "
                                          "and wards without a team are noted."),
    history: Path | None = typer.Option(None, help="Focus-ward history CSV (week, ward, team, "
                                        "reason): read for the rotation, then this week's "
                                        "rows added (a re-run week's rows replaced)."),
    record: bool = typer.Option(True, help="Append this week's choice to --history."),
    actions: Path | None = typer.Option(None, help="Actions log CSV (week, ward, measure, "
                                        "value) for last week's results."),
    menu: Path | None = typer.Option(None, help="Your own actions menu CSV (default: the "
                                     "shipped data/actions.csv)."),
    lookback_weeks: int = typer.Option(4, help="Weeks scored before the focus week."),
    exclude_recent: int = typer.Option(4, help="Weeks before a ward can be chosen again."),
    force: list[str] | None = typer.Option(None, help='Choose by hand: "Ward=reason" '
                                           "(repeatable)."),
    exclude: list[str] | None = typer.Option(None, help='Exclude by hand: "Ward=reason" '
                                             "(repeatable)."),
    network: str | None = typer.Option(None, help="Street network (OSM XML/GraphML path or "
                                       "registry key, e.g. osm_city_of_london): areas "
                                       "are named by their streets."),
    offline: bool = _OFFLINE_OPTION,
    out: Path = typer.Option(Path("out"), help="Output folder; a focus-week-YYYY-Www "
                             "folder is made inside."),
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
) -> None:
    """Prepare the weekly tasking meeting: ranking, focus ward(s), menu, maps, summary.

    Example: hotspots focus-week --borough Harrow --week 2022-02-07 --teams --out out
    """
    import warnings

    import pandas as pd

    import hotspots as hs

    from ._atomic import atomic_write_csv
    from .focus import actions_review
    from .report import write_focus_pack

    offline = _offline_default(offline)
    with _steps() as step, step("reading incidents and wards"):
        wards, inc, synthetic = _focus_inputs(borough, incidents, year)
        G = _street_network(network) if network else None
    with _steps() as step, step(f"scoring wards for {week}"), \
            warnings.catch_warnings(record=True) as caught:  # e.g. unknown wards in --history
        warnings.simplefilter("always", UserWarning)
        fw = hs.focus_week(inc, wards, week=week,
                           teams=teams_csv if teams_csv else (teams or None),
                           history=history, lookback_weeks=lookback_weeks,
                           exclude_recent=exclude_recent, force=_pairs(force, "force"),
                           exclude=_pairs(exclude, "exclude"), actions=menu, network=G)
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}", highlight=False)
    d = out / f"focus-week-{fw.iso_week}"
    credit = _source_of(incidents or [], inc, *_wards_key(year), *_network_key(network))
    atomic_write_csv(fw.ranking, d / "ranking.csv", source=credit)
    menus = [m.assign(ward=w) for w, m in fw.menu.items()]
    atomic_write_csv(pd.concat(menus, ignore_index=True) if menus else
                     pd.DataFrame(columns=["ward", "priority", "action"]), d / "menu.csv",
                     source=credit)
    areas = [a.drop(columns="geometry").assign(focus_ward=w) for w, a in fw.areas.items()]
    if areas:
        atomic_write_csv(pd.concat(areas, ignore_index=True), d / "areas.csv", source=credit)
    maps = {}
    for w in fw.chosen:
        m = hs.focus_ward_map(fw.incidents, wards, w, areas=fw.areas.get(w),
                              title=f"Focus week {fw.iso_week}: {w}", offline=offline)
        maps[w] = hs.save_map(m, d / f"map-{_slug(w)}.html").name
    review = None
    if actions is not None:
        review = actions_review(actions, fw.week, ward=None, wards=wards)
        rej = review.attrs["rejected"]
        if rej:  # left out of last week's totals: say which rows and why
            console.print(f"note: {len(rej)} row(s) of the actions log {actions} rejected and "
                          "left out (listed in the summary's notes):", highlight=False)
            for x in rej[:10]:
                console.print(f"  row {x['row']}: {x['reason']}", highlight=False)
            if len(rej) > 10:
                console.print(f"  ... and {len(rej) - 10} more", highlight=False)
        if review.attrs["other_measures"]:
            console.print("note: actions log measures that are not the team's measures (shown "
                          f"as logged): {', '.join(review.attrs['other_measures'])}",
                          highlight=False)
    paths = write_focus_pack(fw, d, review=review, map_files=maps, borough=borough)
    if history is not None and record and fw.chosen:
        fw.append_history(history, source=credit)
        n_old = fw.attrs.get("history_replaced", 0)
        console.print(f"history: replaced {n_old} row(s) of week {fw.iso_week} with "
                      f"{len(fw.chosen)} in {history}" if n_old else
                      f"history: appended {len(fw.chosen)} row(s) to {history}", highlight=False)
    for n in fw.notes:
        console.print(f"note: {n}", highlight=False)
    for w in fw.chosen:
        console.print(f"[bold]{w}[/]: {fw.ranking.set_index('ward_name').at[w, 'choice_reason']}",
                      highlight=False)
    console.print(f"written to {d}/ (summary: {paths['html'].name}, {paths['md'].name})",
                  highlight=False)
    if json_out:
        chosen = fw.ranking[fw.ranking["ward_name"].isin(fw.chosen)]
        _print_json({
            "borough": borough, "week": fw.iso_week, "synthetic": synthetic,
            "n_incidents": len(inc), "folder": str(d),
            "chosen": chosen[["ward_name", "ward_code", "team", "score", "n_incidents",
                              "choice_reason"]],
            "maps": {w: str(d / f) for w, f in maps.items()},
            "files": {k: str(v) for k, v in paths.items()} | {
                "ranking": str(d / "ranking.csv"), "menu": str(d / "menu.csv")},
            "history": str(history) if history is not None else None,
            "notes": list(fw.notes)})


@app.command("flytip-top20")
@friendly
def flytip_top20_cmd(
    borough: str = typer.Option("Harrow", help="London borough (name or E09 code)."),
    incidents: str | None = typer.Option(None, help="Incident file or registry key; default "
                                         "the SYNTHETIC Harrow sample."),
    year: int = typer.Option(2022, help="Ward boundary year."),
    start: str | None = typer.Option(None, help="First day of the period (default: all)."),
    end: str | None = typer.Option(None, help="Last day of the period (inclusive)."),
    n: int = typer.Option(20, help="How many areas."),
    menu: Path | None = typer.Option(None, help="Your own actions menu CSV."),
    network: str | None = typer.Option(None, help="Street network (OSM XML/GraphML path or "
                                       "registry key, e.g. osm_city_of_london): areas "
                                       "are named by their streets."),
    offline: bool = _OFFLINE_OPTION,
    out: Path = typer.Option(Path("out"), help="Output folder; flytip-top20/ is made inside."),
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
) -> None:
    """The borough's top fly-tip areas, an action-plan sheet for each, and the map.

    Example: hotspots flytip-top20 --borough Harrow --out out
    """
    import pandas as pd

    import hotspots as hs

    from ._atomic import atomic_write_csv
    from ._time import incident_times
    from .focus import load_actions
    from .report import action_plan_sheets, write_pack

    offline = _offline_default(offline)
    wards, inc, synthetic = _focus_inputs(borough, incidents, year)
    ft = inc[inc["category"] == "fly_tip"]
    if len(ft) == 0:
        raise HotspotsError("no fly-tips (category fly_tip) in the incidents")
    period = (start, end or start) if start else None
    with _steps() as step, step(f"top {n} fly-tip areas"):
        G = _street_network(network) if network else None
        areas = hs.top_areas(ft, n=n, categories="fly_tip", period=period, wards=wards,
                             network=G)
    acts = load_actions(menu)
    pts = ft[["category", "subcategory", "location_desc", "geometry"]] if {
        "subcategory", "location_desc"} <= set(ft.columns) else ft
    plans = {}
    for a in areas.itertuples():
        plans[a.rank] = hs.action_menu(pts[pts.within(a.geometry)], acts)
    d = out / "flytip-top20"
    credit = _source_of(incidents or [], ft, *_wards_key(year), *_network_key(network))
    atomic_write_csv(areas.drop(columns="geometry"), d / "areas.csv", source=credit)
    t = incident_times(ft)
    span = (f"{pd.Timestamp(start):%d %b %Y} to {pd.Timestamp(end or start):%d %b %Y}"
            if start else f"{t.min():%d %b %Y} to {t.max():%d %b %Y}")
    table, md, html_text = action_plan_sheets(
        areas, plans, title=f"{borough}: top {len(areas)} fly-tip areas, {span} — action plans",
        incidents=ft, synthetic=synthetic or "synthetic" in set(ft.get("source", [])))
    atomic_write_csv(table, d / "action-plans.csv", source=credit)
    write_pack(d, "action-plans", md, html_text)
    m = hs.hotspot_map(ft, areas=areas, wards=wards, title=f"{borough}: top fly-tip areas",
                       offline=offline)
    hs.save_map(m, d / "map.html")
    console.print(f"{len(areas)} areas, {len(table)} action rows; written to {d}/",
                  highlight=False)
    if json_out:
        _print_json({
            "borough": borough, "synthetic": synthetic, "n_fly_tips": len(ft),
            "period": span, "n_requested": n, "folder": str(d),
            "files": {"areas": str(d / "areas.csv"), "action_plans": str(d / "action-plans.csv"),
                      "map": str(d / "map.html")},
            "n_action_rows": len(table),
            "areas": areas[[c for c in _AREA_COLUMNS if c in areas.columns]]})


# --- commands: focus (section owned by the focus work; add commands above this line)


@app.command()
@friendly
def patrol(
    network: str = typer.Option(None, help="OSM XML/GraphML path or registry key, e.g. "
                                "osm_city_of_london. Without one (none is shipped for "
                                "Harrow) stops are ordered on straight lines, no route."),
    incidents: str = typer.Option(..., help="Incident file or registry key "
                                  "(e.g. city_of_london_2019, harrow_crime_2022)."),
    start: str = typer.Option(None, help='Start point "lat,lon", e.g. "51.5155,-0.0922"; '
                              "default: the top hotspot."),
    end: str = typer.Option(None, help='End point "lat,lon", or "start" for a loop; '
                            "default: finish at the last stop."),
    minutes: float = typer.Option(120, help="Time budget: walking + dwell, minutes."),
    k: int = typer.Option(8, help="How many hotspot areas to consider."),
    categories: str = typer.Option(
        "robbery,violence_sexual,asb,streetsafe",
        help="Incident categories, comma-separated (Op Verona's concerns by default)."),
    hours: str = typer.Option(
        "14-24", help='Hour window "start-end" where the data have times, or "all".'),
    walk_kmh: float = typer.Option(4.8, help="Walking speed, km/h."),
    start_time: str = typer.Option("14:00", help="Clock time at the start."),
    area_name: str = typer.Option("", help="Area name for the briefing heading."),
    offline: bool = _OFFLINE_OPTION,
    out: Path = typer.Option(Path("out/patrol"), help="Output folder."),
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
) -> None:
    """Plan an Op Verona foot patrol: route.geojson, route.gpx, briefing.md/html, map.html.

    Example: hotspots patrol --network osm_city_of_london --incidents city_of_london_2019
    --start "51.5155,-0.0922" --minutes 120
    """
    import hotspots as hs

    from .report import patrol_briefing, write_pack

    offline = _offline_default(offline)
    window = _hour_window(hours)  # before the slow reading: a typo fails at once
    if not network:
        console.print("note: no street network given (none is shipped for Harrow): stops are "
                      "ordered on straight lines and no walking route is drawn", highlight=False)
    with _steps() as step, step(f"loading {network or 'no network'} and {incidents}"):
        G = _street_network(network) if network else None
        inc = _read_source(incidents)
    cats = tuple(c.strip() for c in categories.split(",") if c.strip())
    with _steps() as step, step("hotspot areas and route"):
        areas = hs.patrol_areas(inc, categories=cats, hours=window, k=k)
        targets = hs.patrol_targets(inc, categories=cats, hours=window, k=k, network=G,
                                    areas=areas)
        plan = hs.plan_patrol(G, targets, start=start, end=end, max_minutes=minutes,
                              walk_kmh=walk_kmh, start_time=start_time)
    # credit the data actually used: the incidents' source, OSM only with a network
    credit = _source_of(incidents, inc, "tfl_stations", *_network_key(network if G else None))
    plan.to_geojson(out / "route.geojson", source=credit)
    plan.to_gpx(out / "route.gpx", source=credit)
    write_pack(out, "briefing", *patrol_briefing(plan, area_name=area_name, attribution=credit))
    try:
        from .maps import patrol_map, save_map
    except ImportError:
        console.print("note: maps are not available yet; map.html skipped")
    else:
        m = patrol_map(plan, areas=areas, network=G, offline=offline,
                       title="Op Verona patrol" + ("" if G is not None else
                                                   " (no street network: stop order only)"))
        save_map(m, out / "map.html")
    console.print(f"{plan!r}; written to {out}/", highlight=False)
    if json_out:
        stops = [c for c in ("order", "name", "street", "arrival", "depart", "dwell_min",
                             "walk_m", "why", "lat", "lon") if c in plan.stops.columns]
        _print_json({
            "incidents": incidents, "network": network, "folder": str(out),
            "files": {"route_geojson": str(out / "route.geojson"),
                      "route_gpx": str(out / "route.gpx"),
                      "briefing": str(out / "briefing.md"), "map": str(out / "map.html")},
            "n_stops": len(plan.stops), "length_m": plan.length_m, "minutes": plan.minutes,
            "n_dropped": len(plan.dropped), "notes": list(plan.notes),
            "stops": plan.stops[stops]})


# --- commands: patrol (section owned by the patrol work; add commands above this line)


def _hour_window(hours: str) -> tuple[int, int] | None:
    """--hours "start-end" as (start, end); None for "all"."""
    if hours.strip().lower() in ("all", ""):
        return None
    try:
        lo, hi = (int(h) for h in hours.split("-"))
    except ValueError:
        raise typer.BadParameter(
            f'--hours must look like "14-24" or "all", got {hours!r}') from None
    if not (0 <= lo <= 24 and 0 <= hi <= 24) or lo == hi:
        raise typer.BadParameter(f"--hours must be two different hours 0-24, e.g. --hours "
                                 f"14-24 (or 22-6 across midnight); got {hours!r}")
    return lo, hi


def _offline_default(offline: bool | None) -> bool:
    """Maps inline Leaflet when `make assets` has installed it, unless told otherwise."""
    from .maps import node_modules_dir

    if offline is not None:
        return offline
    try:
        node_modules_dir()
        return True
    except HotspotsError:
        console.print("Leaflet assets not installed (`make assets`): map loads them online")
        return False


def _street_network(network: str):
    """hs.street_network, with a failure told in CLI terms: the registry's networks."""
    import difflib

    from . import datasets
    from .patrol import street_network

    try:
        return street_network(network)
    except HotspotsError:
        if network in datasets.registry() or Path(network).is_file():
            raise  # a real file that failed to read: its own message says why
        known = sorted(k for k in datasets.registry() if k.startswith("osm_"))
        close = difflib.get_close_matches(network, known, n=1)
        raise HotspotsError(
            f"--network {network!r} is not a registry network or a file"
            + (f" (did you mean {close[0]}?)" if close else "")
            + f"; registry networks: {', '.join(known)} (see `hotspots datasets`), or give "
            "an OSM XML/GraphML path. A place name is fetched from OpenStreetMap, which "
            "failed (no internet?)") from None


def _read_source(source: str, quiet: bool = False, **opts: Any):
    """Incidents from a file/folder/glob or a dataset registry key.

    `opts` go to read_incidents (lon/lat/x/y columns). Rejected rows are summed up in
    one note pointing to `hotspots validate` (the library's own hint is for Python).
    """
    from . import datasets
    from .io import read_incidents

    src = datasets.path(source) if source in datasets.registry() else source
    inc, report = read_incidents(src, with_report=True,
                                 **{k: v for k, v in opts.items() if v is not None})
    if report.n_rejected and not quiet:
        reasons = ", ".join(f"{n:,} {r}" for r, n in report.reason_counts().items())
        console.print(f"note: kept {report.n_kept:,} of {report.n_read:,} rows; rejected "
                      f"{report.n_rejected:,} ({reasons}); to see them: hotspots validate "
                      f"{source} --rejects rejects.csv", highlight=False)
    return inc


def _wards_key(year: int) -> tuple[str, ...]:
    """The registry key of the `year` ward boundaries, for crediting them."""
    from . import datasets

    return tuple(k for k in (f"wards_{year}",) if k in datasets.registry())


def _network_key(network: str | None) -> tuple[str, ...]:
    """The registry key crediting a street network: every OSM extract carries the same
    OpenStreetMap (ODbL) line, so a file of the user's credits as the shipped one."""
    from . import datasets

    if not network:
        return ()
    return (datasets.key_of(network) or "osm_city_of_london",)


def _source_of(source: Any, inc: Any = None, *keys: str) -> str:
    """The ``source`` text of an output made from `source` (key or file) plus `keys`.

    A registry file credits its dataset and licence; the project's synthetic points
    say SYNTHETIC (fly-tips: calibrated to FixMyStreet report counts); any other file
    is named, with its publisher's licence left to the user.
    """
    from . import datasets

    files = source if isinstance(source, list | tuple) else [source]
    found = [datasets.key_of(f) for f in files]
    own = [k for k in found if k]
    if inc is not None and "source" in getattr(inc, "columns", ()) and not own:
        synthetic = inc["source"].astype(str).eq("synthetic").to_numpy()
        cats = set(inc.loc[synthetic, "category"]) if synthetic.any() else set()
        own += [datasets.SYNTHETIC] * ("fly_tip" in cats)
        own += [datasets.SYNTHETIC_STREETSAFE] * ("streetsafe" in cats)
    text = datasets.source_text(*own, *keys)
    others = [Path(str(f)).name for f, k in zip(files, found, strict=True) if not k]
    if others and len(own) == len([k for k in found if k]):  # not recognised as synthetic
        text = (f"Incidents: {', '.join(others)} (your file: its publisher's licence "
                f"applies). " + text).strip()
    return text


def _write_layer(gdf, out: Path, name: str, title: str, source: str) -> None:
    """`name`.geojson (WGS84), `name`.csv (no geometry), `name`.png and `name`.html (map);
    the tables carry `source` (data and licences)."""
    import matplotlib

    matplotlib.use("Agg")
    from ._atomic import atomic_path, atomic_write_csv, atomic_write_geojson
    from .maps import hotspot_map, save_map
    from .plots import plot_change

    atomic_write_geojson(gdf, out / f"{name}.geojson", source=source)
    atomic_write_csv(gdf.drop(columns="geometry"), out / f"{name}.csv", source=source)
    fig = plot_change(gdf, title=title)
    with atomic_path(out / f"{name}.png") as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    offline = _offline_default(None)
    save_map(hotspot_map(change=gdf, title=title, offline=offline), out / f"{name}.html",
             offline=offline)
    counts = gdf["label"].value_counts()
    table = Table(title=title)
    table.add_column("label")
    table.add_column("n", justify="right")
    for lab, n in counts.items():
        table.add_row(str(lab), f"{n:,}")
    Console().print(table)
    console.print(f"wrote {out}/{name}.geojson, .csv, .png, .html", highlight=False)


@app.command("change")
@friendly
def change_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    split: str = typer.Option(None, help="First day of the 'after' period (default: midpoint)."),
    by: str = typer.Option("cell", help="'cell' or 'ward'."),
    borough: str = typer.Option(None, help="With --by ward: this borough's 2022 wards only "
                                "(default: every ward the data touch)."),
    cell_size: float = typer.Option(None, help="Cell side in metres (default: automatic)."),
    out: Path = typer.Option(Path("out/change"), help="Output folder."),
) -> None:
    """Counts before/after a date per cell or ward, with a Poisson test of each change.

    Example: hotspots change harrow_crime_2022 --by ward --borough Harrow --split 2022-07-01
    """
    from .boundaries import wards
    from .change import hotspot_change

    units = wards(borough) if (borough and by == "ward") else by
    with _steps() as step, step(f"counting change in {source}"):
        inc = _read_source(source)
        res = hotspot_change(inc, split=split, cell_size=cell_size, by=units)
    credit = _source_of(source, inc, *(_wards_key(2022) if by == "ward" else ()))
    _write_layer(res, out, "change", f"Change from {res.attrs['split']}", credit)


@app.command("classify")
@friendly
def classify_cmd(
    source: str = typer.Argument(..., help="Incident file, folder, glob or registry key."),
    period: str = typer.Option("MS", help="MS months, QS quarters, W weeks (needs dates)."),
    scheme: str = typer.Option("sfhotspot", help="'sfhotspot' (default) or 'esri'."),
    cell_size: float = typer.Option(None, help="Cell side in metres (default: automatic)."),
    since: str = typer.Option(None, help="Only incidents from this date (e.g. 2021-01-01)."),
    out: Path = typer.Option(Path("out/classify"), help="Output folder."),
) -> None:
    """Emerging / persistent / former hot spots: Gi* per period on one grid, one label per cell.

    Example: hotspots classify barnet_burglary --since 2020-01-01
    """

    from ._time import incident_times, parse_time
    from .change import classify_hotspots

    inc = _read_source(source)
    if since:
        inc = inc[(incident_times(inc) >= parse_time(since, "--since")).to_numpy()]
    with _steps() as step, step("Gi* per period and labels"):
        res = classify_hotspots(inc, period=period, cell_size=cell_size, scheme=scheme)
    _write_layer(res, out, "classify", f"Hot spot patterns ({scheme}, {res.attrs['n_periods']} "
                 f"periods from {res.attrs['first_period']})", _source_of(source, inc))


# --- commands: change (section owned by the change work; add commands above this line)


@app.command()
@friendly
def demo(
    out: Path = typer.Option(Path("out"), help="Output folder."),
    offline: bool = typer.Option(True, help="Inline map scripts so maps open without internet."),
) -> None:
    """The main job end to end: Harrow's real 2022 crime and synthetic fly-tips.

    Writes Harrow's ward counts and rates, the top twenty areas for robbery + violence
    and for fly-tips, maps, a focus week pack and Op Verona patrol briefings into OUT,
    with a README listing every file, its data and their licences.

    Example: hotspots demo --out out   (or: make demo)
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    steps = _demo_steps(out, offline)
    written: list[tuple[str, Path, tuple[str, ...]]] = []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        for label, step in steps:
            task = progress.add_task(label, total=1)
            written += step()
            progress.update(task, completed=1)
    _write_demo_index(out, written)
    console.print(f"[bold green]demo done:[/] {len(written)} outputs in {out}/ "
                  f"(see {out / 'README.md'})", highlight=False)


#: Data behind each kind of demo output (registry keys; "SYNTHETIC" for generated points).
_CRIME = ("harrow_crime_2022", "wards_2022")
_TIPS = ("SYNTHETIC", "fixmystreet_flytips", "wards_2022")


def _demo_steps(out: Path, offline: bool) -> list[tuple[str, Callable[[], list]]]:
    """The demo as named steps; each returns [(description, path, data keys), ...] it wrote."""
    import pandas as pd

    import hotspots as hs

    from . import datasets
    from ._atomic import atomic_path, atomic_write_csv, atomic_write_geojson

    harrow = out / "harrow"
    state: dict[str, Any] = {}

    def read_crime() -> list:
        inc, report = hs.read_incidents("harrow_crime_2022", with_report=True)
        wards = hs.wards("Harrow", 2022)
        state["wards"] = wards
        state["crime"] = hs.assign_wards(inc, wards, tolerance=25)
        report.to_csv(harrow / "crime_rejects.csv", source=datasets.source_text(_CRIME[0]))
        counts = hs.ward_counts(state["crime"], freq="MS", wards=wards)
        atomic_write_csv(counts, harrow / "crime_ward_counts_monthly.csv",
                         source=datasets.source_text(*_CRIME, "ward_population"))
        return [
            ("police.uk 2022 rows rejected on reading, with reasons", harrow / "crime_rejects.csv",
             ("harrow_crime_2022",)),
            ("monthly crime counts per ward and category, rates per 1,000",
             harrow / "crime_ward_counts_monthly.csv", (*_CRIME, "ward_population")),
        ]

    def flytips_step() -> list:
        tips = hs.read_incidents(_sample("harrow_flytips_2022_synthetic.csv.gz"))
        tips = hs.assign_wards(tips, state["wards"], tolerance=25)
        state["flytips"] = tips
        counts = hs.ward_counts(tips, freq="W-MON", wards=state["wards"])
        atomic_write_csv(counts, harrow / "flytips_ward_counts_weekly_SYNTHETIC.csv",
                         source=datasets.source_text(*_TIPS, "ward_population"))
        return [("weekly SYNTHETIC fly-tip counts per ward",
                 harrow / "flytips_ward_counts_weekly_SYNTHETIC.csv", (*_TIPS, "ward_population"))]

    def rates_step() -> list:
        table = _demo_rates(state["crime"], state["flytips"], state["wards"])
        path = harrow / "ward_counts_rates_2022.csv"
        atomic_write_csv(table, path)
        return [("Harrow 2022 per ward: robbery, violence, burglary, fly-tips (SYNTHETIC); "
                 "counts and rates per 1,000 residents", path,
                 (*_CRIME, *_TIPS, "ward_population"))]

    def hotspots_step() -> list:
        crime, wards = state["crime"], state["wards"]
        rv = crime[crime["category"].isin(["robbery", "violence_sexual"])]
        grid = hs.kde(rv, clip=wards)
        areas = hs.top_areas(rv, n=20, wards=wards)
        gi = hs.gistar(rv)
        credit = datasets.source_text(*_CRIME, "tfl_stations")
        stem = harrow / "robbery_violence_top20_areas"
        atomic_write_csv(areas.drop(columns="geometry"), stem.with_suffix(".csv"), source=credit)
        atomic_write_geojson(areas, stem.with_suffix(".geojson"), source=credit)
        title = "Harrow robbery and violence 2022: top twenty areas"
        m = hs.hotspot_map(rv, areas=areas, wards=wards, grid=grid, gistar=gi, title=title,
                           offline=offline)
        hs.save_map(m, harrow / "robbery_violence_hotspots_map.html")
        fig = hs.plot_hotspots(inc=rv, areas=areas, wards=wards, grid=grid, title=title)
        with atomic_path(harrow / "robbery_violence_hotspots.png") as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight")
        keys = (*_CRIME, "tfl_stations")
        return [
            ("top twenty robbery + violence areas (table)", stem.with_suffix(".csv"), keys),
            ("top twenty robbery + violence areas (GeoJSON, WGS84)",
             stem.with_suffix(".geojson"), keys),
            ("Harrow hotspot map, robbery + violence: wards, density, areas, Gi*, incidents",
             harrow / "robbery_violence_hotspots_map.html", keys),
            ("static hotspot map for reports", harrow / "robbery_violence_hotspots.png", keys),
        ]

    def fixmystreet_step() -> list:
        real = hs.fixmystreet_counts("Harrow", by="ward")
        tips = state["flytips"]["ward_code"].value_counts()
        table = pd.DataFrame(real.drop(columns="geometry"))
        table["synthetic_2022"] = table["ward_code"].map(tips).fillna(0).astype(int)
        table["synthetic_share"] = table["synthetic_2022"] / max(int(tips.sum()), 1)
        table["synthetic_rank"] = table["synthetic_2022"].rank(ascending=False, method="min")
        # the planted hotspots (15-20% of points, placed by the same shares) add their
        # own concentrations: the background points (hotspot_id == -1) show the
        # calibration itself
        flytips = state["flytips"]
        planted = pd.to_numeric(flytips.get("hotspot_id", -1), errors="coerce").fillna(-1)
        background = flytips.loc[planted.to_numpy() < 0, "ward_code"].value_counts()
        table["synthetic_background_2022"] = (table["ward_code"].map(background)
                                              .fillna(0).astype(int))
        table["synthetic_background_rank"] = table["synthetic_background_2022"].rank(
            ascending=False, method="min")
        table["source"] = (f"reports: {real.attrs.get('source', 'FixMyStreet')} "
                           f"({real.attrs.get('note', 'reporting, not incidence')}); "
                           f"synthetic_*: {datasets.source_text(datasets.SYNTHETIC)}")
        path = harrow / "flytips_fixmystreet_ward_reports.csv"
        atomic_write_csv(table, path)
        return [("real FixMyStreet fly-tip reports per ward (2007-2020) beside the SYNTHETIC "
                 "2022 points", path, ("fixmystreet_flytips", "SYNTHETIC", "wards_2022"))]

    def run_command(folder: Path, what: str, keys: tuple[str, ...], *args: str) -> list:
        """Run another hotspots command in-process, the same code a user runs."""
        app(list(args), standalone_mode=False)
        return [(f"{what}: {p.name}", p, keys) for p in sorted(folder.rglob("*")) if p.is_file()]

    def barnet_trend() -> list:
        # the CLI's note on rejected rows (pointing to `hotspots validate`), not the
        # library's advice for Python callers
        burglary = _read_source("barnet_burglary")
        burglary = burglary[burglary["month"] >= "2021-01-01"]
        burglary = hs.assign_wards(burglary, hs.wards("Barnet", 2022), tolerance=25)
        table = hs.trend_table(burglary, by="ward", freq="MS", population=True)
        path = out / "change" / "barnet_burglary_ward_trends_2021-2023.csv"
        atomic_write_csv(table, path, source=datasets.source_text(
            "barnet_burglary", "wards_2022", "ward_population"))
        return [("Barnet burglary per ward and month: change on last month and last year, "
                 "per 1,000", path, ("barnet_burglary", "wards_2022", "ward_population"))]

    off = ["--offline"] if offline else []
    focus_dir = out / "focus-week-2022-W06"

    def focus_step() -> list:
        # the sample history (weeks W03-W05) is copied, since the command appends to it
        history = out / "focus_history.csv"
        past = pd.read_csv(_sample("harrow_focus_history_2022_synthetic.csv"), dtype=str,
                           keep_default_na=False)
        atomic_write_csv(past, history, source=datasets.source_text(*_TIPS))
        return run_command(focus_dir, "focus week pack", (*_TIPS, "ward_population"),
                           "focus-week", "--borough", "Harrow",
                           "--week", "2022-02-07", "--teams", "--history", str(history),
                           "--actions", str(_sample("harrow_focus_actions_log_2022_synthetic.csv")),
                           "--out", str(out), *off) + [
            ("focus-ward history (SYNTHETIC weeks W03-W05, then this week appended)", history,
             ("SYNTHETIC",))]

    patrol = ["patrol", "--minutes", "120", *off]
    return [
        ("Harrow 2022 police.uk crime: read, validate, join to wards, count", read_crime),
        ("SYNTHETIC fly-tips: weekly ward counts", flytips_step),
        ("Ward counts and rates per 1,000: robbery, violence, burglary, fly-tips", rates_step),
        ("Robbery + violence: KDE, Gi*, top twenty areas, maps", hotspots_step),
        ("Real FixMyStreet fly-tip reports per ward beside the SYNTHETIC points",
         fixmystreet_step),
        ("Focus week 2022-W06, one ward per area team (SYNTHETIC fly-tips)", focus_step),
        ("Top twenty fly-tip areas with action-plan sheets (SYNTHETIC)",
         lambda: run_command(out / "flytip-top20", "fly-tip top twenty", _TIPS, "flytip-top20",
                             "--borough", "Harrow", "--out", str(out), *off)),
        ("Op Verona patrol targets, Harrow 2022 (no street network shipped)",
         lambda: run_command(out / "patrol-harrow", "Harrow patrol briefing (no street network)",
                             ("harrow_crime_2022", "tfl_stations"), *patrol,
                             "--incidents", "harrow_crime_2022", "--hours", "all",
                             "--categories", "robbery,violence_sexual",
                             "--area-name", "Harrow", "--out", str(out / "patrol-harrow"))),
        ("Op Verona patrol, City of London 2019 on the OSM street network",
         lambda: run_command(out / "patrol", "City of London patrol briefing",
                             ("city_of_london_2019", "osm_city_of_london", "tfl_stations"),
                             *patrol, "--network", "osm_city_of_london",
                             "--incidents", "city_of_london_2019", "--start", "51.5155,-0.0922",
                             "--area-name", "City of London", "--out", str(out / "patrol"))),
        ("Change over time: Harrow wards, first vs second half of 2022",
         lambda: run_command(out / "change" / "harrow_2022_by_ward", "Harrow ward change",
                             _CRIME, "change", "harrow_crime_2022", "--by", "ward", "--borough",
                             "Harrow", "--out", str(out / "change" / "harrow_2022_by_ward"))),
        ("Emerging and persistent burglary hotspots, Barnet 2020-2023",
         lambda: run_command(out / "change" / "barnet_burglary_patterns",
                             "Barnet burglary hot spot patterns", ("barnet_burglary",),
                             "classify", "barnet_burglary", "--since", "2020-01-01", "--out",
                             str(out / "change" / "barnet_burglary_patterns"))),
        ("Committee trend table: Barnet burglary by ward", barnet_trend),
    ]


def _demo_rates(crime: Any, tips: Any, wards: Any) -> Any:
    """One table: per Harrow 2022 ward and measure, the count, residents and rate per 1,000."""
    import pandas as pd

    import hotspots as hs

    from . import datasets

    pop = hs.ward_population(2022, wards_year=2022, borough="Harrow")
    police = datasets.attribution("harrow_crime_2022")
    measures = [("robbery", crime[crime["category"] == "robbery"], police),
                ("violence and sexual offences", crime[crime["category"] == "violence_sexual"],
                 police),
                ("burglary", crime[crime["category"] == "burglary"], police),
                ("fly-tips (SYNTHETIC)", tips, datasets.source_text(datasets.SYNTHETIC))]
    frames = []
    for measure, sub, source in measures:
        c = hs.ward_counts(sub, freq=None, by=None, wards=wards, population=pop)
        c.insert(2, "measure", measure)
        c["source"] = source
        frames.append(c)
    table = pd.concat(frames, ignore_index=True)
    table = table.merge(pop[["ward_code", "population"]], on="ward_code", how="left")
    table["population"] = table["population"].round(1)
    table["population_source"] = (
        f"GLA ward population {pop.attrs.get('population_year', 2022)} on the 2022 wards "
        f"({pop.attrs.get('method', '')}; approximate). " + datasets.attribution("ward_population"))
    # n_near_edge: of `count`, how many lie within 20 m of the ward edge (could be next door)
    return table[["ward_code", "ward_name", "measure", "count", "n_near_edge", "population",
                  "rate_per_1000", "source", "population_source"]]


def _sample(name: str) -> Path:
    """A committed sample_data file (synthetic)."""
    from .datasets import PROJECT_ROOT

    return PROJECT_ROOT / "sample_data" / name


def _data_label(keys: tuple[str, ...]) -> str:
    """Short "data (licence)" text for the demo index: one entry per dataset."""
    from . import datasets

    short = {"ogl": "OGL v3.0", "odbl": "ODbL 1.0", "odc": "ODC-By 1.0"}
    parts = []
    for key in dict.fromkeys(keys):
        if key == "SYNTHETIC":
            parts.append("SYNTHETIC fly-tips (calibrated to FixMyStreet report counts)")
            continue
        ds = datasets.get(key)
        what = ds.description.split(":")[0].strip() or key
        parts.append(f"{what} ({short.get(ds.licence.split('_')[0], ds.licence)})")
    return "; ".join(parts)


def _write_demo_index(out: Path, written: list[tuple[str, Path, tuple[str, ...]]]) -> None:
    from . import datasets
    from ._atomic import atomic_write_text

    keys = list(dict.fromkeys(k for *_, ks in written for k in ks if k != "SYNTHETIC"))
    lines = ["# hotspots demo outputs", "",
             "Made by `make demo` (`hotspots demo`): Harrow first. Crime is real (police.uk, "
             "2022); files marked SYNTHETIC come from the project's seeded generator, not from "
             "real reports. Fly-tip points are synthetic, calibrated to FixMyStreet report "
             "counts, which measure reporting, not incidence.", "",
             "| output | file | data (licence) |", "|---|---|---|"]
    lines += [f"| {what} | `{p.relative_to(out)}` | {_data_label(ks)} |" for what, p, ks in written]
    lines += ["", "## Attribution", "", datasets.attribution(*keys), ""]
    atomic_write_text(out / "README.md", "\n".join(lines))


# --- commands: demo (section owned by the demo work; add commands above this line)

store_app = typer.Typer(help="The incident store: GeoParquet by month, appended safely.",
                        no_args_is_help=True)
app.add_typer(store_app, name="store")
_STORE_OPTION = typer.Option(Path("store"), "--store", help="The store folder.")


@store_app.command("add")
@friendly
def store_add(
    files: list[str] = typer.Argument(
        ..., help="Incident file(s), police.uk folders, globs or registry keys; one load each."
    ),
    store: Path = _STORE_OPTION,
    rejects: Path | None = typer.Option(
        None, help="Also write each file's rejected rows to this folder (CSV per file)."
    ),
    bounds: str = typer.Option(
        "london", help="Study area: 'london' rejects points outside Greater London; "
        "'none' keeps every placeable point (other forces' files)."
    ),
    no_bounds: bool = typer.Option(False, "--no-bounds", help="Same as --bounds none."),
    year: int | None = typer.Option(
        None, help="Year for files that give months as numbers 1-12 (default: from the name)."
    ),
    id_scope: str | None = typer.Option(
        None, help="Where these files' own ids are unique (e.g. one council system's "
        "weekly exports); default each file's source. police.uk ids are always global."
    ),
    replace_changed: bool = typer.Option(
        False, "--replace-changed", help="An incident already stored whose record changed "
        "(same id and scope, other category, month, time, place or location text) takes "
        "this file's version; default: the stored version is kept and counted."
    ),
) -> None:
    """Add incident files to the store, skipping incidents it already holds.

    Folders and globs are expanded: each file is one load in the store's log (file,
    sha256, rows read/kept/rejected/new), so a second copy of an export is "already
    stored". Loading the same export again adds nothing.

    Example: hotspots store add harrow_crime_2022 'weekly/*.csv' --store out/store
    """
    from ._errors import BadInputError
    from .formats import _resolve
    from .store import IncidentStore

    area = bounds.strip().lower()
    if area not in ("london", "none"):
        raise BadInputError(f"--bounds must be 'london' or 'none', got {bounds!r}")
    read_kwargs: dict = {"bounds": None if no_bounds or area == "none" else "london",
                         "year": year}
    st = IncidentStore(store)
    stdout = Console()
    paths = [p for f in files for p in _resolve(f)]  # one load per file, in order
    for path in dict.fromkeys(map(str, paths)):
        f = Path(path).name if len(paths) > 1 else files[0]
        with _steps() as step, step(f"adding {f}"):
            rec = st.append(path, id_scope=id_scope, replace_changed=replace_changed,
                            **read_kwargs)
        changed = ""
        if rec.n_changed:  # edited records: say which version the store now holds
            changed = (f", of which {rec.n_changed:,} changed since stored: " + (
                "replaced by the new version" if rec.n_replaced else
                "kept the stored version; use --replace-changed to take the new one"))
        stdout.print(f"{f}: read {rec.n_read:,}, kept {rec.n_kept:,}, rejected "
                     f"{rec.n_rejected:,}, new {rec.n_new:,}, already stored "
                     f"{rec.n_duplicate:,}{changed}", highlight=False)
        report = st.last_report
        if report is not None and report.n_rejected:
            for reason, n in report.reason_counts().items():
                stdout.print(f"  rejected, {reason}: {n:,}", highlight=False)
                if reason.startswith("outside London") and read_kwargs["bounds"]:
                    stdout.print("  (outside London: add --bounds none to keep other "
                                 "areas' incidents)", highlight=False)
            if rejects is not None:
                out = report.to_csv(rejects / f"{_slug(Path(f).stem)}-rejects.csv",
                                    source=_source_of(path))
                console.print(f"  rejects written to {out}", highlight=False)
    stdout.print(f"store {store}: {len(st):,} incidents", highlight=False)


@store_app.command("compact")
@friendly
def store_compact(store: Path = _STORE_OPTION) -> None:
    """Rewrite each month's many small files (one per load) into one; nothing else changes.

    Safe to interrupt: the store stays as it was until the new files are committed.

    Example: hotspots store compact --store out/store
    """
    st = _existing_store(store)
    with _steps() as step, step("compacting"):
        out = st.compact()
    Console().print(f"store {store}: {out['months']} months rewritten, {out['files_before']} "
                    f"files -> {out['files_after']}, {len(st):,} incidents", highlight=False)


def _existing_store(store: Path) -> Any:
    """The store at `store`, or a clear error when there is none."""
    from ._errors import BadInputError
    from .store import MANIFEST, IncidentStore

    if not (store / MANIFEST).exists():
        raise BadInputError(f"no incident store at {store} (no {MANIFEST}); "
                            "create one with `hotspots store add FILE --store PATH`")
    return IncidentStore(store)


@store_app.command("info")
@friendly
def store_info(store: Path = _STORE_OPTION, json_out: bool = typer.Option(
        False, "--json", help="Print the same as JSON on stdout.")) -> None:
    """What the store holds: months, rows, categories and the load log.

    Example: hotspots store info --store out/store
    """
    import pandas as pd
    from rich import box

    info = _existing_store(store).info()
    if json_out:
        _print_json({k: v.to_dict() if isinstance(v, pd.Series) else v
                     for k, v in info.items()})
        return
    stdout = Console()
    stdout.print(f"store {info['path']}: {info['n_rows']:,} incidents in {info['n_files']} "
                 f"files, {len(info['months'])} months", highlight=False)
    loads = info["loads"]
    # fits 80 columns: rows read = new + already stored + rejected, so 'read' is left out;
    # the hash is a prefix (the full one is in _loads.csv); the time never wraps
    loads = pd.DataFrame({
        "#": loads["load"], "file": loads["file"], "sha256": loads["sha256"].str[:8],
        "new": loads["n_new"], "stored": loads["n_duplicate"], "rej": loads["n_rejected"],
        "started": loads["started"].str.replace("T", " ").str[:16], "s": loads["seconds"],
    })  # fmt: skip
    tables = [("months", info["months"]),
              ("categories", info["categories"].rename_axis("category").reset_index()),
              ("loads (new, already stored, rejected rows; seconds)", loads)]
    for title, df in tables:
        # the loads table without borders: the file name gets the room
        narrow = title.startswith("loads")
        out = Table(title=title, box=None if narrow else box.HEAVY_HEAD, pad_edge=not narrow,
                    header_style="bold underline" if narrow else "table.header")
        for col in df.columns:
            wide = col in ("file", "category")
            right = pd.api.types.is_numeric_dtype(df[col])
            out.add_column(str(col), overflow="fold", no_wrap=not wide,
                           min_width=16 if col == "file" else None,
                           justify="right" if right else "left")
        for row in df.astype(object).itertuples(index=False):
            out.add_row(*[f"{v:,}" if isinstance(v, int) else
                          f"{v:.1f}" if isinstance(v, float) else str(v) for v in row])
        stdout.print(out)


# --- commands: store (section owned by the store work; add commands above this line)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()

__all__ = ["app", "friendly", "Path"]
