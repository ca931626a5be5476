"""The `hotspots` command line: thin wiring over the library, nothing computed here.

Each command is one library call chain. Errors the user can fix (HotspotsError) are
printed as one clear message, never a traceback.
"""

from __future__ import annotations

import functools
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
    """Turn a HotspotsError into a one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HotspotsError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(1)

    return wrapper


@app.command()
@friendly
def datasets(
    check: bool = typer.Option(False, help="Also verify each file's sha256 against the registry."),
) -> None:
    """List the dataset registry and where each file was found."""
    from .datasets import data_dirs, list_datasets

    table = list_datasets(check=check)
    out = Table(title="hotspots datasets")
    for col in table.columns:
        out.add_column(col, overflow="fold")
    for row in table.itertuples(index=False):
        out.add_row(*[str(v) for v in row])
    Console().print(out)
    console.print("searched: " + ", ".join(str(d) for d in data_dirs()))


# --- commands: io (section owned by the io work; add commands above this line)


# --- commands: synthetic (section owned by the synthetic work; add commands above this line)


# --- commands: engine (section owned by the engine work; add commands above this line)


# --- commands: backtest (section owned by the backtest work; add commands above this line)


# --- commands: maps (section owned by the maps work; add commands above this line)


# --- commands: focus (section owned by the focus work; add commands above this line)


# --- commands: patrol (section owned by the patrol work; add commands above this line)


# --- commands: change (section owned by the change work; add commands above this line)


# --- commands: demo (section owned by the demo work; add commands above this line)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()

__all__ = ["app", "friendly", "Path"]
