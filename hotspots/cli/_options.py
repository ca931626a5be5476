"""The reading options, defined once: every command that reads incidents takes them.

``--lon --lat --x --y --date --time --category --category-column --bounds --sheet
--layer`` name what the reader cannot detect, set a category for a file without one,
and choose the study area. :func:`reading_options` adds them to a command; the command
receives them as one ``read_opts`` dict of :func:`hotspots.read_incidents` keywords.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Optional

import typer

#: (parameter name, option): the order ``--help`` lists them in
_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("lon", typer.Option(None, "--lon", help="Longitude column (WGS84), if not detected.",
                         rich_help_panel="Reading the file")),
    ("lat", typer.Option(None, "--lat", help="Latitude column (WGS84), if not detected.",
                         rich_help_panel="Reading the file")),
    ("x", typer.Option(None, "--x", help="Easting column (British National Grid), if not "
                       "detected.", rich_help_panel="Reading the file")),
    ("y", typer.Option(None, "--y", help="Northing column (British National Grid), if not "
                       "detected.", rich_help_panel="Reading the file")),
    ("date", typer.Option(None, "--date", help="Date or date-time column, if not detected.",
                          rich_help_panel="Reading the file")),
    ("time", typer.Option(None, "--time", help="Time-of-day column added to the date, if "
                          "not detected.", rich_help_panel="Reading the file")),
    ("category", typer.Option(None, "--category", help="One category for every row: a "
                              "lower-case word such as fire, collision, asb (the file's "
                              "own type stays as subcategory).",
                              rich_help_panel="Reading the file")),
    ("category_column", typer.Option(None, "--category-column", help="Column holding each "
                                     "row's type, if not detected.",
                                     rich_help_panel="Reading the file")),
    ("bounds", typer.Option("london", "--bounds", help="Study area: london (Greater London "
                            "+ 100 m; default), none (keep every row: other forces' and "
                            "services' files), or a London borough.",
                            rich_help_panel="Reading the file")),
    ("sheet", typer.Option(None, "--sheet", help="The Excel sheet to read (default: every "
                           "sheet with incidents).", rich_help_panel="Reading the file")),
    ("layer", typer.Option(None, "--layer", help="The GeoPackage layer to read (default: "
                           "every layer with incidents).", rich_help_panel="Reading the file")),
)
NAMES = tuple(name for name, _ in _OPTIONS)


def read_kwargs(**given: Any) -> dict[str, Any]:
    """The options given, as :func:`hotspots.read_incidents` keywords.

    ``--bounds none`` -> ``bounds=None``; options not given are left out, so the reader
    detects.
    """
    out = {k: v for k, v in given.items() if v is not None and k in NAMES}
    bounds = given.get("bounds", "london")
    if isinstance(bounds, str) and bounds.strip().lower() == "none":
        out["bounds"] = None
    return out


def reading_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the reading options to command `fn`, which takes ``read_opts`` (a dict)."""
    sig = inspect.signature(fn)
    if "read_opts" not in sig.parameters:
        raise TypeError(f"{fn.__name__} must take read_opts to use the reading options")
    own = [p for p in sig.parameters.values() if p.name != "read_opts"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                               annotation=Optional[str])  # noqa: UP045 (typer needs a type)
             for name, option in _OPTIONS]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name, None) for name in NAMES}
        if given["bounds"] is None:
            given["bounds"] = "london"
        return fn(*args, read_opts=read_kwargs(**given), **kwargs)

    wrapper.__signature__ = sig.replace(parameters=own + added)  # type: ignore[attr-defined]
    annotations = {k: v for k, v in fn.__annotations__.items() if k != "read_opts"}
    wrapper.__annotations__ = {**annotations, **{name: Optional[str] for name in NAMES}}  # noqa: UP045
    return wrapper
