"""Command `synthetic`: write the SYNTHETIC sample files."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import (
    console,
    friendly,
)


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
    from ..synthetic import _MIN_N, write_sample

    if n_fly_tips != 0 and n_fly_tips < _MIN_N:  # the library's message names its argument
        raise typer.BadParameter(f"--n-fly-tips must be a whole number >= {_MIN_N} (or 0 for "
                                 f"the borough's Defra total), got {n_fly_tips}")
    paths = write_sample(out, borough=borough, seed=seed, n_fly_tips=n_fly_tips or None,
                         start=start)
    for p in paths.values():
        console.print(f"wrote {p}")
