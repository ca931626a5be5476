"""Command `demo`: the main job end to end, Harrow first."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ._common import (
    _read_source,
    console,
    friendly,
)


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
    import contextlib

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..demo import run_demo

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:

        @contextlib.contextmanager
        def step(label: str):
            task = progress.add_task(label, total=1)
            yield
            progress.update(task, completed=1)

        # read through the CLI: rejected rows are noted in command-line terms
        written = run_demo(out, offline=offline, read=_read_source, progress=step,
                           say=lambda text: console.print(text, highlight=False))
    console.print(f"[bold green]demo done:[/] {len(written)} outputs in {escape(str(out))}/ "
                  f"(see {escape(str(out / 'README.md'))})", highlight=False, markup=True)
