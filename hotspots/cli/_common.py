"""Shared CLI wiring.

Error handling, progress, JSON output, common options and the helpers every command group uses to
read sources and credit data.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from .._errors import BadInputError, HotspotsError
from ._options import option_group

#: messages on stderr. Markup is off: file names, data values and arguments are printed
#: as they are ("[/]" in a category neither crashes nor vanishes); the few styled
#: labels pass markup=True with every interpolated value through `escape`.
console = Console(stderr=True, markup=False)


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
            console.print(f"[bold red]error:[/] {escape(_cli_advice(str(exc), has_coords))}",
                          highlight=False, markup=True)
            sys.exit(1)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own usage errors and exits keep their codes
        except Exception as exc:
            if os.environ.get("HOTSPOTS_DEBUG"):
                raise
            console.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                          "(set HOTSPOTS_DEBUG=1 to see the traceback)", highlight=False,
                          markup=True)
            sys.exit(1)

    return wrapper


@contextlib.contextmanager
def _hushed(quiet: bool):
    """With --quiet: no messages on stderr while the command runs.

    No library log below errors either; errors are still printed, after it.
    """
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
    import re

    message = message.replace("or save the map with offline=False to load them from the "
                              "internet.", "or pass --online to load them from the internet.")
    message = message.replace("bounds must be 'london'", "--bounds must be 'london'")
    # the reader names both forms ("... to name them (--lon/--lat or --x/--y)."): one here
    return re.sub(
        r"Pass lon=/lat= or x=/y= to name them(?: \(--lon/--lat or --x/--y\))?\.",
        "Name them with --lon/--lat or --x/--y." if has_coords else
        "Rename them to longitude/latitude or easting/northing (or check the file with "
        "`hotspots validate FILE --lon COL --lat COL`).", message)


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

    # the step label holds file names: text, not markup
    with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                  TimeElapsedColumn(), console=console, transient=True) as bar:

        @contextlib.contextmanager
        def step(label: str):
            task = bar.add_task(label, total=1)
            yield
            bar.update(task, completed=1)

        yield step


def _print_json(obj: Any) -> None:
    """Write `obj` as JSON on stdout (progress and messages go to stderr)."""
    import json

    from .._json import plain

    typer.echo(json.dumps(plain(obj), indent=2, ensure_ascii=False))


#: every map-writing command: offline (Leaflet inlined from `make assets`) unless told
#: --online, so a map opens on a machine without internet
_OFFLINE_OPTION = typer.Option(
    None, "--offline/--online", " /--no-offline",
    help="Inline Leaflet from `make assets` so the page needs no internet (default when "
    "installed), or --online: load Leaflet from the internet. Tiles: see --tiles.")


#: base tiles on every map (OpenStreetMap unless told), or none with --no-tiles
_TILES_OPTION = typer.Option(
    None, "--tiles", metavar="URL",
    help="Base map tiles: any XYZ URL, e.g. https://tiles.example.gov.uk/{z}/{x}/{y}.png "
    "(default OpenStreetMap). Without a network the map says so and shows its offline "
    "base layer (wards, stations, streets).")


_NO_TILES_OPTION = typer.Option(
    False, "--no-tiles", help="No base tiles: the offline base layer only (the map never "
    "asks the internet for anything).")


def _map_options(offline: bool | None, tiles: str | None, no_tiles: bool) -> dict:
    """The map functions' ``offline`` and ``tiles`` from the CLI's flags."""
    from .._leaflet import tile_url
    from ..maps import DEFAULT_TILES

    if tiles and no_tiles:
        raise typer.BadParameter("--tiles and --no-tiles contradict each other: give one")
    if tiles:
        try:  # a bad URL fails now, not after the slow steps
            tile_url(tiles)
        except BadInputError as exc:
            raise BadInputError(str(exc).replace("or None for no tiles",
                                                 "or --no-tiles for none")) from None
    return {"offline": _offline_default(offline),
            "tiles": None if no_tiles else (tiles or DEFAULT_TILES)}


#: add --offline/--online, --tiles and --no-tiles to a map-writing command, which takes
#: ``map_opts``: the map functions' ``offline`` and ``tiles`` keywords
map_options = option_group(
    (("offline", _OFFLINE_OPTION), ("tiles", _TILES_OPTION), ("no_tiles", _NO_TILES_OPTION)),
    "map_opts",
    lambda offline, tiles, no_tiles: _map_options(offline, tiles, bool(no_tiles)),
    annotations={"offline": Optional[bool], "no_tiles": bool},  # noqa: UP045 (typer)
)


#: --categories for the commands that map or grid incidents (rank has its own)
_CATEGORIES_OPTION = typer.Option(None, "--categories", help="Only these categories, "
                                  "comma-separated (e.g. robbery,violence_sexual).")


def _category_set(categories: str | None) -> set[str] | None:
    """The --categories given, checked against the vocabulary; None without the option.

    Checked before any file is read: a typo is an error, not an empty map.
    """
    from ..categories import check_categories

    if not categories:
        return None
    return check_categories([c.strip() for c in categories.split(",") if c.strip()])


def _only_categories(inc, cats: set[str] | None):
    """The incidents of the categories `cats` (from :func:`_category_set`).

    All of them when None. Raises when none is left, or a word no incident has is asked for,
    saying what the incidents hold.
    """
    from ..categories import check_categories

    if cats is None:
        return inc
    check_categories(cats, present=inc["category"])
    kept = inc[inc["category"].astype(str).isin(cats)]
    kept.attrs.update(inc.attrs)
    return kept


def _incidents_in_wards(source: str, borough: str | None, year: int,
                        tolerance: float | None, step, quiet: bool = False,
                        read_opts: dict | None = None):
    """Incidents joined to wards.

    The borough's (:func:`hotspots.borough_incidents`), or every London ward they touch; says
    how many were left out. `tolerance` None: the library's (:data:`hotspots.WARD_TOLERANCE_M`).
    """
    from ..boundaries import wards as load_wards
    from ..join import assign_wards, borough_incidents

    tol = {} if tolerance is None else {"tolerance": tolerance}
    with step(f"reading {source}"):
        inc = _read_source(source, quiet, **(read_opts or {}))
    with step("joining to wards"):
        if not borough:
            return assign_wards(inc, load_wards(None, year), **tol), None
        inc = borough_incidents(inc, borough, year, **tol)
    n_out, n_read = inc.attrs["n_outside_borough"], inc.attrs["n_read"]
    if n_out and not quiet:
        console.print(f"note: {n_out:,} of {n_read:,} incidents are outside "
                      f"{inc.attrs['borough']} and left out", highlight=False)
    return inc, load_wards(borough, year)


_AREA_COLUMNS = ("rank", "score", "n_incidents", "area_m2", "wards", "lat", "lon", "change_n",
                 "change_pct", "landmark", "streets")


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _offline_default(offline: bool | None) -> bool:
    """Maps inline Leaflet when `make assets` has installed it, unless told otherwise."""
    from ..maps import node_modules_dir

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

    from .. import datasets
    from ..network import street_network

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

    `opts` go to read_incidents (the reading options). Rejected rows are summed up in
    one note pointing to `hotspots validate` (the library's own hint is for Python); a
    read that keeps nothing is an error saying why (and naming --bounds none when the
    rows are outside London).
    """
    from .. import datasets
    from .._errors import BadInputError
    from ..io import nothing_kept, outside_hint, read_incidents

    src = datasets.path(source) if source in datasets.registry() else source
    inc, report = read_incidents(src, with_report=True,
                                 **{k: v for k, v in opts.items() if v is not None or
                                    k == "bounds"})
    if not report.n_kept:
        raise BadInputError(f"{source}: {nothing_kept(report)}")
    if report.n_rejected and not quiet:
        reasons = ", ".join(f"{n:,} {r}" for r, n in report.reason_counts().items())
        console.print(f"note: kept {report.n_kept:,} of {report.n_read:,} rows; rejected "
                      f"{report.n_rejected:,} ({reasons}){outside_hint(report)}; to see them: "
                      f"hotspots validate {source} --rejects rejects.csv", highlight=False)
    if not quiet:
        for w in report.warnings:
            console.print(f"note: {w}", highlight=False)
    return inc


def _wards_key(year: int) -> tuple[str, ...]:
    """:func:`hotspots.datasets.wards_key` (lazily: the CLI starts without pandas)."""
    from .. import datasets

    return datasets.wards_key(year)


def _network_key(network: str | None) -> tuple[str, ...]:
    """:func:`hotspots.datasets.network_key`."""
    from .. import datasets

    return datasets.network_key(network)


def _source_of(source: Any, inc: Any = None, *keys: str) -> str:
    """:func:`hotspots.datasets.source_of`: the ``source`` text of an output."""
    from .. import datasets

    return datasets.source_of(source, inc, *keys)
