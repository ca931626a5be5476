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


def option_group(
    options: tuple[tuple[str, Any], ...],
    param: str,
    convert: Callable[..., Any],
    annotations: dict[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding a group of typer `options` to a command as one parameter.

    The command takes `param`; it receives ``convert(**given)``, the options given by
    name. The options are defined once, here or in the caller, so every command that
    takes the group shows and parses them the same way. `annotations` gives an option's
    type (default ``Optional[str]``).
    """
    names = tuple(name for name, _ in options)
    types = {name: (annotations or {}).get(name, Optional[str])  # noqa: UP045 (typer)
             for name in names}

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        if param not in sig.parameters:
            raise TypeError(f"{fn.__name__} must take {param} to use these options")
        own = [p for p in sig.parameters.values() if p.name != param]
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                   annotation=types[name]) for name, option in options]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name, None) for name in names}
            return fn(*args, **{param: convert(**given)}, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=own + added)  # type: ignore[attr-defined]
        kept = {k: v for k, v in fn.__annotations__.items() if k != param}
        wrapper.__annotations__ = {**kept, **types}
        return wrapper

    return decorate


def _given_read_kwargs(**given: Any) -> dict[str, Any]:
    """read_kwargs, with --bounds defaulting to london when typer passes None."""
    if given.get("bounds") is None:
        given["bounds"] = "london"
    return read_kwargs(**given)


#: add the reading options to a command, which takes ``read_opts`` (a dict of
#: :func:`hotspots.read_incidents` keywords)
reading_options = option_group(_OPTIONS, "read_opts", _given_read_kwargs)
