"""The incident store's files on disk: manifest checks, generations, the journal, orphans.

:mod:`hotspots.store` decides *what* goes into the store (de-duplication, queries);
this module decides *which files may be renamed, moved or deleted*, in one place, so
the rule that protects committed data can be read in one sitting:

- A data file is deleted only when it is provably not needed: a hidden file named by
  the journal entry of a change that never reached its commit point (and listed by no
  kept manifest generation), or a file the committed manifest says its commit replaced
  (``replaced``: compaction, ``replace_changed``).
- Files neither the manifest nor the journal explain are never deleted: hidden ones
  are moved to ``_orphans/`` with a WARNING; visible ones (an older manifest restored,
  files copied in) make writers refuse until ``recover`` adopts them.
- A malformed manifest or journal entry is a :class:`~hotspots.BadInputError` naming
  the file and the problem, raised before anything is written.

A change goes through :class:`Txn`: journal entry ``intent`` (the files it will
write), the files under hidden names, journal entry ``ready`` (the new manifest with
every file's sha256: the commit point, from which the change is rolled forward and
never back), the renames to visible names, ``_manifest.<generation>.json`` and
``_manifest.json``, then cleanup.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ._atomic import atomic_write_text
from ._errors import BadInputError

log = logging.getLogger("hotspots")

MANIFEST = "_manifest.json"
JOURNAL = "_journal"
ORPHANS = "_orphans"
ADOPTED = "adopted"  # _orphans/adopted/: orphans recover() took back (kept, never deleted)
#: Manifest generations kept as ``_manifest.<generation>.json`` (the newest ones).
KEEP_MANIFESTS = 10
FORMAT = "hotspots-incident-store"
VERSION = 1
KEY = "period"  # directory key: period=YYYY-MM
# test hook: seconds to sleep after writing each data file and after the commit
PAUSE_ENV = "HOTSPOTS_STORE_PAUSE"
_PART = re.compile(rf"^{KEY}=(\d{{4}}-\d{{2}})/part-(\d+)-[0-9A-Za-z]+\.parquet$")
_GEN = re.compile(r"^_manifest\.(\d+)\.json$")
_ENTRY = {"path": str, "month": str, "rows": int, "load": int, "bounds": list,
          "categories": dict}  # fmt: skip
_HELP = ("nothing was changed. The store keeps its last {n} manifests as "
         "_manifest.<generation>.json; `hotspots store check --store {root}` compares the "
         "files with the manifest")


def pause() -> float:
    """Seconds the kill tests ask writers to wait at each step (0: no pause)."""
    return float(os.environ.get(PAUSE_ENV, "0") or 0)


def hidden(p: Path) -> Path:
    """Where a data file lives before its commit (pyarrow, geopandas, DuckDB skip it)."""
    return p.with_name(f".{p.name}.tmp")


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def empty_manifest(crs: str) -> dict:
    return {"format": FORMAT, "version": VERSION, "crs": crs, "generation": 0, "files": [],
            "loads": []}


def generation(m: dict) -> int:
    return int(m.get("generation", 0))


def load_of(rel: str) -> int | None:
    """The load number in a data file's name (``period=M/part-<load>-<token>.parquet``)."""
    hit = _PART.match(rel)
    return int(hit.group(2)) if hit else None


def entry(rel: str, load: int, x: Any, y: Any, category: Any, file: Path,
          loads: list[int] | None = None) -> dict:
    """The manifest entry of data file `file` (written, maybe under its hidden name) for `rel`.

    The one builder for appends, rewrites and compaction: rows, bounds (xmin, ymin,
    xmax, ymax in BNG metres, from the ``_x``/``_y`` columns), rows per category and the
    file's sha256 (what :func:`check` verifies); `loads` for a file holding several.
    """
    import numpy as np
    import pandas as pd

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    cats = pd.Series(np.asarray(category, dtype=object)).value_counts()
    out = {"path": rel, "month": _PART.match(rel).group(1), "rows": len(x), "load": int(load),
           "bounds": [float(x.min()), float(y.min()), float(x.max()), float(y.max())],
           "categories": {str(k): int(v) for k, v in cats.items()},
           "sha256": sha256_file(file)}
    if loads is not None:
        out["loads"] = sorted(int(v) for v in loads)
    return out


# ---------------------------------------------------------------------- manifest checks
def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", type(None): "null",
            bool: "true/false"}.get(type(v), "a number" if isinstance(v, int | float)
                                    else type(v).__name__)


def _is(v: Any, t: type) -> bool:
    return isinstance(v, t) and not (t is int and isinstance(v, bool))


def _entry_problems(i: int, f: Any) -> list[str]:
    if not isinstance(f, dict):
        return [f"files[{i}] is {_kind(f)}, not an object"]
    out = []
    missing = [k for k in _ENTRY if k not in f]
    if missing:
        out.append(f"files[{i}] has no {', '.join(repr(k) for k in missing)}")
    out += [f"files[{i}].{k} is {_kind(f[k])}, not {_kind(t())}" for k, t in _ENTRY.items()
            if k in f and not _is(f[k], t)]
    if out:
        return out
    hit = _PART.match(f["path"])
    if not hit or ".." in f["path"]:
        out.append(f"files[{i}].path {f['path'][:80]!r} is not period=YYYY-MM/part-*.parquet")
    elif hit.group(1) != f["month"]:
        out.append(f"files[{i}] is in folder {hit.group(1)} but says month {f['month']!r}")
    if f["rows"] < 0:
        out.append(f"files[{i}].rows is negative")
    if len(f["bounds"]) != 4 or not all(_is(v, int) or _is(v, float) for v in f["bounds"]):
        out.append(f"files[{i}].bounds is not 4 numbers")
    if not all(_is(v, int) for v in f["categories"].values()):
        out.append(f"files[{i}].categories holds a count that is not a whole number")
    sha = f.get("sha256")
    if sha is not None and not (_is(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        out.append(f"files[{i}].sha256 is not 64 hex digits")
    if "loads" in f and not (_is(f["loads"], list) and all(_is(v, int) for v in f["loads"])):
        out.append(f"files[{i}].loads is not a list of load numbers")
    return out


def _problems(m: Any) -> list[str]:
    """What is wrong with a manifest, in words (empty: nothing)."""
    if not isinstance(m, dict):
        return [f"it holds {_kind(m)}, not a JSON object"]
    if m.get("format") != FORMAT:
        return [f"'format' is {m.get('format')!r}, not {FORMAT!r}: not an incident store "
                "manifest"]
    out = []
    v = m.get("version")
    if not _is(v, int) or not 1 <= v <= VERSION:
        out.append(f"'version' is {v!r}; this hotspots reads version {VERSION}")
    g = m.get("generation", 0)
    if not _is(g, int) or g < 0:
        out.append(f"'generation' is {g!r}, not a whole number >= 0")
    files = m.get("files")
    if not isinstance(files, list):
        out.append(f"'files' is {_kind(files)}, not a list")
    else:
        for i, f in enumerate(files):
            out += _entry_problems(i, f)
        paths = [f["path"] for f in files if isinstance(f, dict) and _is(f.get("path"), str)]
        if len(set(paths)) < len(paths):
            out.append("'files' lists a path twice")
    loads = m.get("loads")
    if not isinstance(loads, list):
        out.append(f"'loads' is {_kind(loads)}, not a list")
    else:
        bad = [i for i, ld in enumerate(loads)
               if not isinstance(ld, dict) or not _is(ld.get("load"), int)]
        if bad:
            out.append(f"loads[{bad[0]}] is not a load record with a 'load' number")
    rep = m.get("replaced", [])
    if not isinstance(rep, list) or not all(_is(r, str) and _PART.match(r) for r in rep):
        out.append("'replaced' is not a list of data file paths")
    return out


def validate(m: Any, where: Path, what: str = "store manifest") -> dict:
    """`m` if it is a well-formed manifest, else a BadInputError naming `where` and why."""
    problems = _problems(m)
    if problems:
        more = f" (and {len(problems) - 4} more)" if len(problems) > 4 else ""
        raise BadInputError(f"the {what} {where} is damaged: {'; '.join(problems[:4])}{more}; "
                            + _HELP.format(n=KEEP_MANIFESTS, root=_root_of(where)))
    return m


def _root_of(p: Path) -> Path:
    return p.parent.parent if p.parent.name in (JOURNAL, ORPHANS) else p.parent


def _read_json(p: Path, what: str) -> Any:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadInputError(f"the {what} {p} is damaged: not readable JSON ({exc}); "
                            + _HELP.format(n=KEEP_MANIFESTS, root=_root_of(p))) from None


def read_manifest(root: Path, crs: str) -> dict:
    """The committed manifest, checked (a clear error before any write when malformed)."""
    p = root / MANIFEST
    if not p.exists():
        return empty_manifest(crs)
    return validate(_read_json(p, "store manifest"), p)


def view(root: Path, crs: str) -> dict:
    """What readers take as committed: the manifest, or the new manifest of a change
    past its commit point whose ``_manifest.json`` was not written yet (so
    :class:`~hotspots.IncidentStore` and plain GeoParquet readers agree)."""
    m = read_manifest(root, crs)
    for _, j in journal(root):
        if j["state"] == "ready" and j["base_generation"] == generation(m):
            return j["manifest"]
    if not (root / MANIFEST).exists() and root.exists() and any(
            root.glob(f"{KEY}=*/part-*.parquet")):
        raise BadInputError(f"{root} has data files but no {MANIFEST}: not an incident "
                            "store, or one damaged by hand; `hotspots store check` lists them")
    return m


def kept_generations(root: Path) -> dict[int, Path]:
    """The manifest copies ``_manifest.<generation>.json``, by generation."""
    out = {}
    for p in root.glob("_manifest.*.json"):
        hit = _GEN.match(p.name)
        if hit:
            out[int(hit.group(1))] = p
    return dict(sorted(out.items()))


def _kept_manifests(root: Path) -> dict[int, dict]:
    """Readable kept generations (a damaged copy is skipped: it protects nothing)."""
    out = {}
    for g, p in kept_generations(root).items():
        try:
            out[g] = validate(_read_json(p, "manifest copy"), p)
        except BadInputError as exc:
            log.warning("store: %s", exc)
    return out


# ---------------------------------------------------------------------- the journal
def journal(root: Path) -> list[tuple[Path, dict]]:
    """Journal entries of changes in flight (killed writers leave them), checked."""
    d = root / JOURNAL
    if not d.is_dir():
        return []
    out = []
    for p in sorted(d.glob("*.json")):
        if p.name.startswith("."):  # an atomic write's temporary file
            continue
        try:
            j = _read_json(p, "store journal entry")
        except BadInputError:
            if not p.exists():  # finished by a writer meanwhile (readers do not lock)
                continue
            raise
        ok = (isinstance(j, dict) and j.get("state") in ("intent", "ready")
              and _is(j.get("load"), int) and _is(j.get("base_generation"), int)
              and isinstance(j.get("files"), list)
              and all(_is(r, str) and _PART.match(r) for r in j["files"]))
        if not ok:
            raise BadInputError(f"the store journal entry {p} is damaged: not an entry with "
                                "state, load, base_generation and files; "
                                + _HELP.format(n=KEEP_MANIFESTS, root=root))
        if j["state"] == "ready":
            validate(j.get("manifest"), p, "manifest in the store journal entry")
        out.append((p, j))
    return out


class Txn:
    """One journaled change: :meth:`begin` (intent), write the files under
    ``hidden(root / rel)``, :meth:`commit`; :meth:`abort` on an error before commit."""

    def __init__(self, root: Path, op: str, load: int, base: dict) -> None:
        self.root, self.base = root, base
        self.token = secrets.token_hex(4)
        self.path = root / JOURNAL / f"{op}-{self.token}.json"
        self.record: dict[str, Any] = {"op": op, "token": self.token, "load": int(load),
                                       "base_generation": generation(base), "state": "intent",
                                       "files": []}
        self.ready = False

    def begin(self, files: list[str]) -> None:
        """Write the intent (before any data file): what the next writer may roll back."""
        self.record["files"] = sorted(files)
        self.path.parent.mkdir(exist_ok=True)
        atomic_write_text(self.path, json.dumps(self.record, indent=1))

    def commit(self, new: dict) -> dict:
        """Record the new manifest (the commit point), make it visible and committed."""
        new = {**new, "generation": next_generation(self.root, self.base),
               "replaced": sorted(new.get("replaced", []))}
        self.record.update(state="ready", manifest=new)
        atomic_write_text(self.path, json.dumps(self.record, indent=1))  # the commit point
        self.ready = True
        finish(self.root, self.path, self.record)
        return new

    def abort(self) -> None:
        """Undo a change that failed before its commit point (its hidden files only)."""
        if self.ready:  # past the commit point: the next writer rolls it forward
            return
        for rel in self.record["files"]:
            hidden(self.root / rel).unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


def next_generation(root: Path, base: dict) -> int:
    gens = [generation(base), *kept_generations(root)]
    return 1 + max(gens)


def finish(root: Path, jpath: Path, rec: dict) -> None:
    """Roll a change past its commit point forward: visible names, then the manifest."""
    new = rec["manifest"]
    for f in new["files"]:  # files get their final names before the manifest names them
        p = root / f["path"]
        if not p.exists() and hidden(p).exists():
            os.replace(hidden(p), p)
    text = json.dumps(new, indent=1)
    gen = generation(new)
    atomic_write_text(root / f"_manifest.{gen}.json", text)
    atomic_write_text(root / MANIFEST, text)  # the manifest commit
    if pause():  # the kill test stops a writer here, just past its commit
        time.sleep(pause())
    listed = {f["path"] for f in new["files"]}
    for rel in new.get("replaced", []):  # superseded by this commit: provably not needed
        if rel not in listed:
            (root / rel).unlink(missing_ok=True)
            hidden(root / rel).unlink(missing_ok=True)
    jpath.unlink(missing_ok=True)
    for p in list(kept_generations(root).values())[:-KEEP_MANIFESTS]:
        p.unlink(missing_ok=True)  # a copy of a manifest, never a data file


# ---------------------------------------------------------------------- recovery
@dataclass
class Plan:
    """What a writer must do before its own change: the store's files classified."""

    forward: list[tuple[Path, dict]] = field(default_factory=list)  # roll forward
    back: list[tuple[Path, dict]] = field(default_factory=list)  # intent only: roll back
    stray: list[tuple[Path, dict]] = field(default_factory=list)  # ready, other generation
    renames: list[Path] = field(default_factory=list)  # listed files still hidden
    superseded: list[Path] = field(default_factory=list)  # the manifest's `replaced`
    hidden_orphans: list[Path] = field(default_factory=list)  # hidden, unexplained
    stale: list[Path] = field(default_factory=list)  # visible, unexplained
    missing: list[str] = field(default_factory=list)  # listed, not on disk


def _verified(root: Path, j: dict) -> bool:
    """Every file the change wrote is on disk with the sha256 its manifest records."""
    want = {f["path"]: f.get("sha256") for f in j["manifest"]["files"]}
    for rel in j["files"]:
        if rel not in want:
            continue  # written, then found empty (a rewrite that kept no row)
        p = root / rel
        p = p if p.exists() else hidden(p)
        if not p.exists() or (want[rel] and sha256_file(p) != want[rel]):
            return False
    return True


def plan(root: Path, m: dict) -> Plan:
    """Classify every data file against manifest `m` and the journal (reads only)."""
    out = Plan()
    gen, listed = generation(m), {f["path"] for f in m["files"]}
    explained, to_roll_back = set(listed), set()
    for jp, j in journal(root):
        if j["state"] == "intent":
            out.back.append((jp, j))
            to_roll_back |= set(j["files"])
        elif j["base_generation"] == gen and _verified(root, j):
            out.forward.append((jp, j))
            explained |= {f["path"] for f in j["manifest"]["files"]}
        elif generation(j["manifest"]) == gen:  # committed; cleanup was cut short
            out.forward.append((jp, j))
        else:
            out.stray.append((jp, j))
    replaced = set(m.get("replaced", []))
    for p in sorted(root.glob(f"{KEY}=*/*")):
        name = p.name
        if name.startswith(".part-") and name.endswith(".tmp"):
            rel = f"{p.parent.name}/{name[1:-4]}"
            if rel in listed and not (root / rel).exists():
                out.renames.append(p)
            elif rel in replaced and rel not in listed:
                out.superseded.append(p)
            elif rel not in explained and rel not in to_roll_back:
                out.hidden_orphans.append(p)
        elif _PART.match(rel := f"{p.parent.name}/{name}"):
            if rel in replaced and rel not in listed:
                out.superseded.append(p)
            elif rel not in explained:
                out.stale.append(p)
    out.missing = [rel for rel in sorted(listed)
                   if not (root / rel).exists() and not hidden(root / rel).exists()]
    return out


def stale_message(root: Path, m: dict, p: Plan) -> str:
    """Why a writer refuses: data files the manifest does not list (out of date)."""
    gen = generation(m)
    newer = [g for g in kept_generations(root) if g > gen]
    why = (f"an older manifest was restored (generation {gen}; generation {newer[-1]} is "
           f"kept as _manifest.{newer[-1]}.json)" if newer else
           "an older _manifest.json was restored, or files were copied in")
    eg = ", ".join(f"{q.parent.name}/{q.name}" for q in p.stale[:3])
    return (f"the store {root} holds {len(p.stale)} data files its {MANIFEST} does not list "
            f"(e.g. {eg}): {why}. Nothing was changed, so no data is lost; "
            f"`hotspots store check --store {root}` shows what they hold and "
            f"`hotspots store recover --store {root} --yes` adopts them")


def missing_message(root: Path, p: Plan) -> str:
    return (f"the store {root} lists {len(p.missing)} data files that are not on disk "
            f"(e.g. {', '.join(p.missing[:3])}); nothing was changed. "
            f"`hotspots store check --store {root}` lists them; restore them from a backup, "
            f"or `hotspots store recover --store {root} --yes` forgets them")


def to_orphans(root: Path, p: Path) -> Path:
    """Move a data file (or journal entry) under ``_orphans/``, same relative path."""
    rel = p.relative_to(root)
    dest = root / ORPHANS / rel
    n = 1
    while dest.exists():  # never overwrite an earlier orphan
        dest = dest.with_name(f"{rel.name}.{n}")
        n += 1
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(p, dest)
    return dest


def recover(root: Path, m: dict, stale: str = "refuse") -> dict:
    """Finish or undo what killed writers left, before a writer's own change.

    Checks first (a refusal changes nothing): visible data files neither the manifest
    nor the journal explain refuse (``stale="refuse"``, writers) or are moved to
    ``_orphans/`` (``"orphan"``, :meth:`IncidentStore.recover`); listed files that are
    missing refuse in writers. Then: intent-only changes are rolled back (their hidden
    files deleted, unless some kept manifest lists them), changes past their commit
    point rolled forward, listed hidden files renamed, files the manifest says it
    replaced deleted, unexplained hidden files moved to ``_orphans/`` (WARNING).
    Returns the manifest after.
    """
    p = plan(root, m)
    if p.stale and stale == "refuse":
        raise BadInputError(stale_message(root, m, p))
    if p.missing and stale == "refuse":
        raise BadInputError(missing_message(root, p))
    protected = None
    for jp, j in p.back:
        for rel in j["files"]:
            h = hidden(root / rel)
            if not h.exists():
                continue
            if protected is None:
                protected = {f["path"] for km in _kept_manifests(root).values()
                             for f in km["files"]} | {f["path"] for f in m["files"]}
            if rel in protected:
                log.warning("store: moved %s to %s/ (a manifest lists it)", h,
                            to_orphans(root, h).parent)
            else:
                h.unlink()
        jp.unlink(missing_ok=True)
        log.info("store: rolled back %s #%d, killed before its commit", j.get("op"), j["load"])
    for jp, j in p.forward:
        finish(root, jp, j)
        log.info("store: rolled forward %s #%d, killed after its commit point",
                 j.get("op"), j["load"])
    for h in p.renames:
        os.replace(h, h.with_name(h.name[1:-4]))
    for q in p.superseded:
        q.unlink(missing_ok=True)
        log.info("store: removed %s, replaced by a committed change", q)
    for q in p.hidden_orphans + p.stale:  # recover() asked for the visible ones: INFO
        log.log(logging.INFO if q in p.stale else logging.WARNING,
                "store: moved %s to %s: no manifest or journal entry explains it "
                "(`hotspots store check` shows it)", q, to_orphans(root, q))
    for jp, _ in p.stray:
        log.warning("store: journal entry %s is for another manifest generation; moved to "
                    "%s/", jp, to_orphans(root, jp).parent)
    return read_manifest(root, m.get("crs", ""))


# ---------------------------------------------------------------------- check
@dataclass
class FileProblem:
    """A listed file that does not match the manifest."""

    path: str
    problem: str  # "missing", "rows", "checksum", "unreadable"
    detail: str


@dataclass
class Orphan:
    """A data file no manifest entry explains, and what it holds."""

    path: str  # relative to the store folder
    where: str  # "data folder" (visible to plain readers), "hidden", "_orphans"
    rows: int | None = None
    months: list[str] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)
    loads: list[int] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)  # load -> source, when known
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"{self.path} ({self.where}): unreadable ({self.error})"
        months = (self.months[0] if len(self.months) == 1
                  else f"{self.months[0]}..{self.months[-1]}" if self.months else "-")
        loads = ", ".join(f"#{n}" + (f" ({self.sources[n]})" if n in self.sources else "")
                          for n in self.loads)
        cats = ", ".join(f"{c} {n:,}" for c, n in
                         sorted(self.categories.items(), key=lambda kv: -kv[1])[:5])
        return (f"{self.path} ({self.where}): {self.rows:,} rows, {months}, load {loads}; "
                f"{cats}")


def describe(root: Path, p: Path, where: str, sources: dict[int, str]) -> Orphan:
    """What an orphan holds (rows, months, categories, loads), read from the file."""
    rel = str(p.relative_to(root))
    try:
        t = pq.read_table(p, columns=["month", "category", "_load"])
    except Exception as exc:  # noqa: BLE001 - any damage: the report says it
        return Orphan(rel, where, error=str(exc).splitlines()[0][:200])
    months = sorted({str(v)[:7] for v in t.column("month").to_pylist() if v is not None})
    cats = t.column("category").to_pandas().value_counts()
    loads = sorted({int(v) for v in t.column("_load").to_pylist() if v is not None})
    return Orphan(rel, where, t.num_rows, months, {str(k): int(v) for k, v in cats.items()},
                  loads, {n: sources[n] for n in loads if n in sources})


def known_sources(root: Path, m: dict) -> dict[int, str]:
    """load -> source from every manifest and journal entry around (to name orphans)."""
    out: dict[int, str] = {}
    mans = [*_kept_manifests(root).values()]
    for d in (root / JOURNAL, root / ORPHANS / JOURNAL):
        for jp in sorted(d.glob("*.json")) if d.is_dir() else []:
            try:
                j = json.loads(jp.read_text(encoding="utf-8"))
                mans.append(j["manifest"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
    for mm in [*mans, m]:
        for ld in mm.get("loads", []):
            if isinstance(ld, dict) and _is(ld.get("load"), int):
                out[ld["load"]] = str(ld.get("source") or ld.get("file") or "")
    return out


def orphan_files(root: Path) -> list[Path]:
    """Data files in ``_orphans/`` not yet adopted."""
    d = root / ORPHANS
    if not d.is_dir():
        return []
    return sorted(p for p in d.glob(f"{KEY}=*/*") if p.is_file())


@dataclass
class StoreCheck:
    """What :meth:`IncidentStore.check` found: every file against the manifest.

    ``ok`` is true when every listed file is on disk with the rows and sha256 the
    manifest records, no orphan waits and the manifest is not out of date.
    """

    path: str
    generation: int
    n_files: int  # listed in the manifest
    n_rows_manifest: int  # rows the manifest records
    n_rows_checked: int  # rows counted in the files found
    n_no_checksum: int  # entries written before checksums (rows checked only)
    problems: list[FileProblem] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    newer_generations: list[int] = field(default_factory=list)
    out_of_date: bool = False
    pending: list[str] = field(default_factory=list)  # killed changes the next writer ends

    @property
    def ok(self) -> bool:
        return not (self.problems or self.orphans or self.out_of_date)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def summary(self) -> str:
        lines = [f"store {self.path}: manifest generation {self.generation}, {self.n_files} "
                 f"files, {self.n_rows_manifest:,} rows recorded, {self.n_rows_checked:,} "
                 "rows counted in the files (rows and sha256 of every file checked)"]
        if self.n_no_checksum:
            lines.append(f"  {self.n_no_checksum} files were written before checksums: "
                         "rows checked only")
        lines += [f"  {q.problem.upper()}: {q.path}: {q.detail}" for q in self.problems]
        if self.out_of_date:
            newer = (f"; newer generations kept: {', '.join(map(str, self.newer_generations))}"
                     if self.newer_generations else "")
            lines.append("  OUT OF DATE: data files here are not in the manifest (an older "
                         f"manifest restored, or files copied in){newer}")
        lines += [f"  ORPHAN: {o.line()}" for o in self.orphans]
        lines += [f"  pending: {p}" for p in self.pending]
        if self.orphans:
            lines.append(f"  `hotspots store recover --store {self.path}` shows them and, with "
                         "--yes, adopts them (incidents already stored are skipped)")
        lines.append("OK: every file matches the manifest" if self.ok else
                     "NOT OK: see above; nothing was changed")
        return "\n".join(lines)


def check(root: Path, m: dict) -> StoreCheck:
    """Verify every listed file (rows, sha256) and list orphans; reads only."""
    p = plan(root, m)
    rows_checked, no_sum, problems = 0, 0, []
    for f in m["files"]:
        path = root / f["path"]
        path = path if path.exists() else hidden(path)
        if not path.exists():
            problems.append(FileProblem(f["path"], "missing",
                                        f"listed with {f['rows']:,} rows, not on disk"))
            continue
        try:
            n = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # noqa: BLE001 - any damage: the report says it
            problems.append(FileProblem(f["path"], "unreadable", str(exc)[:200]))
            continue
        rows_checked += n
        if n != f["rows"]:
            problems.append(FileProblem(f["path"], "rows", f"the manifest says {f['rows']:,}, "
                                        f"the file holds {n:,}"))
        if not f.get("sha256"):
            no_sum += 1
        elif sha256_file(path) != f["sha256"]:
            problems.append(FileProblem(f["path"], "checksum", "sha256 differs from the "
                                        "manifest's: the file changed after it was written"))
    sources = known_sources(root, m)
    orphans = ([describe(root, q, "data folder", sources) for q in p.stale]
               + [describe(root, q, "hidden", sources) for q in p.hidden_orphans]
               + [describe(root, q, "_orphans", sources) for q in orphan_files(root)])
    gen = generation(m)
    newer = [g for g in kept_generations(root) if g > gen]
    pending = ([f"{j.get('op')} #{j['load']} killed before its commit point: rolled back "
                "by the next write" for _, j in p.back]
               + [f"{j.get('op')} #{j['load']} killed after its commit point: finished by "
                  "the next write" for _, j in p.forward]
               + [f"{q.parent.name}/{q.name}: replaced by the last commit, deleted by the "
                  "next write" for q in p.superseded])
    return StoreCheck(str(root), gen, len(m["files"]), sum(f["rows"] for f in m["files"]),
                      rows_checked, no_sum, problems, orphans, newer,
                      bool(newer or p.stale), pending)


@dataclass
class RecoverReport:
    """What :meth:`IncidentStore.recover` found and did."""

    path: str
    orphans: list[Orphan] = field(default_factory=list)  # what they held
    adopted: list[dict] = field(default_factory=list)  # the new load records
    forgotten: list[str] = field(default_factory=list)  # listed files that were missing
    dry_run: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        readable = [o for o in self.orphans if not o.error]
        rows = sum(o.rows or 0 for o in readable)
        lines = [f"store {self.path}: {len(self.orphans)} orphaned data files"
                 + (f", {rows:,} rows" if readable else "")]
        lines += [f"  ORPHAN: {o.line()}" for o in self.orphans]
        lines += [f"  MISSING: {rel}: listed, not on disk" for rel in self.forgotten]
        if self.dry_run:
            if self.orphans or self.forgotten:
                lines.append("dry run: nothing changed. Adopt them with `hotspots store "
                             f"recover --store {self.path} --yes` (recover(dry_run=False)): "
                             "incidents already stored are skipped"
                             + ("; missing files are forgotten" if self.forgotten else ""))
            else:
                lines.append("nothing to recover")
            return "\n".join(lines)
        lines += [f"  adopted as load #{a['load']}: {a['source']}: {a['n_read']:,} rows, new "
                  f"{a['n_new']:,}, already stored {a['n_duplicate']:,}" for a in self.adopted]
        if self.forgotten:
            lines.append(f"  forgot {len(self.forgotten)} missing files (their rows are gone "
                         "unless a backup holds them)")
        if self.adopted:
            lines.append(f"  adopted files kept in {ORPHANS}/{ADOPTED}/ (delete that folder "
                         "once satisfied)")
        if not (self.adopted or self.forgotten):
            lines.append("nothing to recover")
        return "\n".join(lines)


_LOAD_IN_NAME = re.compile(r"part-(\d+)-")


def load_numbers(root: Path, m: dict) -> list[int]:
    """Every load number the manifest, the journal or a data file name (orphans and
    hidden files included) uses: a new load takes the next, never one used before."""
    out = [ld["load"] for ld in m["loads"]]
    names = [p.name for p in root.glob(f"{KEY}=*/*")]
    if (root / ORPHANS).is_dir():
        names += [p.name for p in (root / ORPHANS).rglob("*part-*")]
    out += [int(h.group(1)) for n in names if (h := _LOAD_IN_NAME.search(n))]
    out += [j["load"] for _, j in journal(root)]
    return out
