"""Commands of the incident store: `store add`, `compact`, `info`, `check`, `recover`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    _print_json,
    _slug,
    _source_of,
    _steps,
    console,
    friendly,
)
from ._options import reading_options

_STORE_OPTION = typer.Option(Path("store"), "--store", help="The store folder.")


@friendly
@reading_options
def store_add(
    files: list[str] = typer.Argument(
        ..., help="Incident file(s), police.uk folders, globs or registry keys; one load each."
    ),
    store: Path = _STORE_OPTION,
    rejects: Path | None = typer.Option(
        None, help="Also write each file's rejected rows to this folder (CSV per file)."
    ),
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
    read_opts: dict[str, Any] | None = None,
) -> None:
    """Add incident files to the store, skipping incidents it already holds.

    Folders and globs are expanded: each file is one load in the store's log (file,
    sha256, rows read/kept/rejected/new), so a second copy of an export is "already
    stored". Loading the same export again adds nothing.

    Example: hotspots store add harrow_crime_2022 'weekly/*.csv' --store out/store
    """
    from ..formats import _resolve
    from ..store import IncidentStore

    read_kwargs: dict = {**(read_opts or {}), "year": year}
    read_kwargs.setdefault("bounds", "london")
    st = IncidentStore(store)
    stdout = Console(markup=False)
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
                if reason.startswith("outside") and read_kwargs["bounds"]:
                    stdout.print("  (outside London: add --bounds none to keep other "
                                 "areas' incidents)", highlight=False)
            if rejects is not None:
                out = report.to_csv(rejects / f"{_slug(Path(f).stem)}-rejects.csv",
                                    source=_source_of(path))
                console.print(f"  rejects written to {out}", highlight=False)
    stdout.print(f"store {store}: {len(st):,} incidents", highlight=False)


@friendly
def store_compact(store: Path = _STORE_OPTION) -> None:
    """Rewrite each month's many small files (one per load) into one; nothing else changes.

    Safe to interrupt: the store stays as it was until the new files are committed.

    Example: hotspots store compact --store out/store
    """
    st = _existing_store(store)
    with _steps() as step, step("compacting"):
        out = st.compact()
    Console(markup=False).print(
        f"store {store}: {out['months']} months rewritten, {out['files_before']} "
        f"files -> {out['files_after']}, {len(st):,} incidents", highlight=False)


def _existing_store(store: Path) -> Any:
    """The store at `store`, or a clear error when there is none."""
    from .._errors import BadInputError
    from ..store import MANIFEST, IncidentStore

    if not (store / MANIFEST).exists():
        raise BadInputError(f"no incident store at {store} (no {MANIFEST}); "
                            "create one with `hotspots store add FILE --store PATH`")
    return IncidentStore(store)


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
    stdout = Console(markup=False)
    stdout.print(f"store {info['path']}: {info['n_rows']:,} incidents in {info['n_files']} "
                 f"files, {len(info['months'])} months", highlight=False)
    stdout.print("(counts as the manifest records them; `hotspots store check` verifies "
                 "the files)", highlight=False)
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


_JSON_OPTION = typer.Option(False, "--json", help="Print the report as JSON on stdout.")


@friendly
def store_check(store: Path = _STORE_OPTION, json_out: bool = _JSON_OPTION) -> None:
    """Verify every data file against the manifest (rows, sha256); list orphans.

    Reads only. Reports missing or changed files, data files the manifest does not
    list (what they hold: rows, months, categories, loads) and an out-of-date
    manifest (an older one restored). Exit code 1 when anything is wrong.

    Example: hotspots store check --store out/store
    """
    with _steps() as step, step("checking"):
        report = _existing_store(store).check()
    if json_out:
        _print_json(report.to_dict())
    else:
        Console(markup=False).print(report.summary(), highlight=False, markup=False)
    if not report.ok:
        raise typer.Exit(1)


@friendly
def store_recover(store: Path = _STORE_OPTION, yes: bool = typer.Option(
        False, "--yes", help="Adopt the orphans (default: only show what they hold)."),
        json_out: bool = _JSON_OPTION) -> None:
    """Show what orphaned data files hold; with --yes, adopt them back into the store.

    Without --yes nothing changes. With it, each orphaned load is added back like
    `store add` (incidents already stored are skipped) as a new load in the log,
    listed files that are missing are forgotten, and the adopted files are kept in
    _orphans/adopted/.

    Example: hotspots store recover --store out/store --yes
    """
    st = _existing_store(store)
    with _steps() as step, step("recovering" if yes else "reading the orphans"):
        report = st.recover(dry_run=not yes)
    if json_out:
        _print_json(report.to_dict())
    else:
        Console(markup=False).print(report.summary(), highlight=False, markup=False)
