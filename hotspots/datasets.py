"""The dataset registry: where each public dataset comes from and where it is found.

Resolution order for a dataset's file (``path`` in the registry, relative to a data
directory):

1. ``$HOTSPOTS_DATA`` when set;
2. ``../shared/data`` beside the project root (or beside the current directory);
3. the user cache (``platformdirs.user_cache_dir("hotspots")``);
4. a download from the registry's source URL into the cache, checked against its
   sha256, when the machine is online.

Offline and missing gives one :class:`DataNotFoundError` naming the file, every place
looked in, and where to get it.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from ._atomic import atomic_write_bytes
from ._errors import DataNotFoundError, HotspotsError

__all__ = [
    "FLY_TIP_NOTE",
    "PROJECT_ROOT",
    "STREETSAFE_NOTE",
    "SYNTHETIC",
    "SYNTHETIC_STREETSAFE",
    "attribution",
    "cache_dir",
    "data_dirs",
    "Dataset",
    "get",
    "key_of",
    "licence_url",
    "list_datasets",
    "locate",
    "path",
    "registry",
    "sha256_of",
    "source_text",
    "verify",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Dataset:
    """One registry entry."""

    key: str
    path: str
    url: str
    sha256: str
    licence: str
    attribution: str
    description: str = ""
    crs: str | None = None
    layer: str | None = None
    member: str | None = None
    code: str | None = None
    name: str | None = None
    borough_code: str | None = None
    borough_name: str | None = None


@lru_cache(maxsize=1)
def registry() -> dict[str, Dataset]:
    """Return every known dataset, keyed by its registry key."""
    text = resources.files("hotspots").joinpath("data/registry.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    licences = raw["licences"]
    out = {}
    for key, entry in raw["datasets"].items():
        out[key] = Dataset(key=key, attribution=licences[entry["licence"]], **entry)
    return out


def get(key: str) -> Dataset:
    """Return the registry entry for `key`, with a helpful error for unknown keys."""
    reg = registry()
    if key not in reg:
        import difflib

        close = difflib.get_close_matches(key, reg, n=5)
        known = close or list(reg)
        raise HotspotsError(f"no dataset called {key!r} in the registry; close: {known}")
    return reg[key]


def data_dirs() -> list[Path]:
    """The data directories searched, in order (existing or not), each once.

    Two ways to name the same folder (HOTSPOTS_DATA set to the shared one, a symlink)
    count once.
    """
    env = os.environ.get("HOTSPOTS_DATA")
    cands = [Path(env).expanduser()] if env else []
    cands += [PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data",
              cache_dir()]
    dirs: list[Path] = []
    seen: set[Path] = set()
    for d in cands:
        if d.resolve() not in seen:
            seen.add(d.resolve())
            dirs.append(d)
    return dirs


def cache_dir() -> Path:
    """The user cache directory that downloads go to."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hotspots"))


def locate(key: str) -> Path | None:
    """Return where dataset `key` is on disk, or None when it is nowhere local."""
    ds = get(key)
    for d in data_dirs():
        p = d / ds.path
        if p.is_file():
            return p
    return None


def path(key: str, *, download: bool = True) -> Path:
    """Return the local path of dataset `key`, downloading it into the cache if allowed.

    Parameters
    ----------
    key : str
        Registry key, e.g. ``"wards_2022"``; see :func:`list_datasets`.
    download : bool, default True
        Try the source URL when the file is not found locally.

    Raises
    ------
    DataNotFoundError
        The file is in none of the data directories and could not be downloaded.
    """
    found = locate(key)
    if found is not None:
        return found
    ds = get(key)
    target = cache_dir() / ds.path
    err = "downloads disabled"
    if download and ds.url.lower().endswith(tuple(_DOWNLOADABLE)):
        try:
            return _download(ds, target)
        except (OSError, HotspotsError) as exc:  # offline, 404, checksum mismatch
            err = str(exc)
    elif download:
        err = "the source is a web page, not a direct file link"
    looked = "\n  ".join(str(d / ds.path) for d in data_dirs())
    raise DataNotFoundError(
        f"dataset {key!r} ({ds.description}) was not found. Looked in:\n  {looked}\n"
        f"Download failed: {err}.\nGet it from {ds.url} and put it at one of those paths, "
        "or set HOTSPOTS_DATA to the folder holding it."
    )


_DOWNLOADABLE = (".csv", ".gz", ".zip", ".gpkg", ".geojson", ".parquet", ".osm", ".graphml")


def _download(ds: Dataset, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(ds.url, timeout=30) as resp:  # noqa: S310 (registry URLs)
        data = resp.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != ds.sha256:
        raise HotspotsError(f"checksum mismatch for {ds.url}: got {digest}, expected {ds.sha256}")
    atomic_write_bytes(target, data)
    return target


def sha256_of(p: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(key: str) -> bool:
    """True when the local copy of `key` matches the registry's checksum."""
    return sha256_of(path(key, download=False)) == get(key).sha256


def list_datasets(*, check: bool = False) -> pd.DataFrame:
    """Return the registry as a table with where each file was found.

    Parameters
    ----------
    check : bool, default False
        Also compute each found file's sha256 and compare it with the registry.
    """
    rows = []
    for key, ds in registry().items():
        where = locate(key)
        row = {
            "key": key,
            "file": Path(ds.path).name,
            "found_at": str(where) if where else "MISSING",
            "licence": ds.licence,
            "source": ds.url,
            "description": ds.description,
        }
        if check:
            row["checksum_ok"] = (sha256_of(where) == ds.sha256) if where else None
        rows.append(row)
    return pd.DataFrame(rows)


def attribution(*keys: str) -> str:
    """The attribution lines the outputs built from `keys` must carry (deduplicated)."""
    seen: list[str] = []
    for key in keys:
        text = get(key).attribution
        if text not in seen:
            seen.append(text)
    return " ".join(seen)


#: pseudo-keys for :func:`source_text`: the project's seeded synthetic points
SYNTHETIC = "SYNTHETIC"  # fly-tips, calibrated to FixMyStreet report counts
SYNTHETIC_STREETSAFE = "SYNTHETIC_STREETSAFE"
#: the ``note`` on every synthetic fly-tip (beside the registry: attributions use it)
FLY_TIP_NOTE = ("synthetic; calibrated to FixMyStreet report counts, which measure "
                "reporting, not incidence")
#: the ``note`` on every synthetic StreetSafe report
STREETSAFE_NOTE = "synthetic; no public StreetSafe counts exist, shares are placeholders"

_LICENCE_URLS = {  # the licence a text names -> where it is published
    "ODbL": "https://opendatacommons.org/licenses/odbl/1-0/",
    "Open Data Commons Attribution": "https://opendatacommons.org/licenses/by/1-0/",
    "Open Government Licence": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}


def source_text(*keys: str) -> str:
    """What an output built from `keys` says about its data: one line for every file.

    Registry keys give their attribution (:func:`attribution`, naming the licence);
    :data:`SYNTHETIC` says the fly-tip points are synthetic and calibrated to FixMyStreet
    report counts (reporting, not incidence) and credits FixMyStreet (ODC-By 1.0);
    :data:`SYNTHETIC_STREETSAFE` says the StreetSafe reports are synthetic placeholders.

    Examples
    --------
    >>> print(source_text("SYNTHETIC", "wards_2022"))  # doctest: +ELLIPSIS
    SYNTHETIC fly-tip points ... not incidence. FixMyStreet data © mySociety, ...
    """
    notes, real = [], []
    for key in dict.fromkeys(keys):
        if key == SYNTHETIC:
            notes.append("SYNTHETIC fly-tip points from the project's seeded generator, "
                         + FLY_TIP_NOTE.removeprefix("synthetic; ") + ".")
            real.append("fixmystreet_flytips")
        elif key == SYNTHETIC_STREETSAFE:
            notes.append("SYNTHETIC StreetSafe reports from the project's seeded generator, "
                         + STREETSAFE_NOTE.removeprefix("synthetic; ") + ".")
        else:
            real.append(key)
    return " ".join(notes + ([attribution(*real)] if real else []))


def key_of(source: object) -> str | None:
    """The registry key of `source` (a key, or the path of a registry file), else None."""
    if isinstance(source, str) and source in registry():
        return source
    try:
        p = Path(source).resolve()  # type: ignore[arg-type]
    except TypeError:
        return None
    for key in registry():
        found = locate(key)
        if found is not None and found.resolve() == p:
            return key
    return None


def licence_url(text: str) -> str | None:
    """The URL of the most demanding licence `text` names (ODbL before ODC-By before OGL)."""
    return next((url for name, url in _LICENCE_URLS.items() if name in text), None)


# --- crediting outputs: the source text of a table made from an input ------------------


def wards_key(year: int) -> tuple[str, ...]:
    """The registry key of the `year` ward boundaries, for crediting them."""
    return tuple(k for k in (f"wards_{year}",) if k in registry())


def network_key(network: str | None) -> tuple[str, ...]:
    """The registry key crediting a street network.

    Every OSM extract carries the same OpenStreetMap (ODbL) line, so a file of the
    user's credits as the shipped one.
    """
    if not network:
        return ()
    return (key_of(network) or "osm_city_of_london",)


def source_of(source: object, inc: pd.DataFrame | None = None, *keys: str) -> str:
    """The ``source`` text of an output made from `source` (key or file) plus `keys`.

    A registry file credits its dataset and licence; the project's synthetic points
    say SYNTHETIC (fly-tips: calibrated to FixMyStreet report counts); any other file
    is named, with its publisher's licence left to the user.
    """
    files = source if isinstance(source, list | tuple) else [source]
    found = [key_of(f) for f in files]
    own = [k for k in found if k]
    if inc is not None and "source" in getattr(inc, "columns", ()) and not own:
        synthetic = inc["source"].astype(str).eq("synthetic").to_numpy()
        cats = set(inc.loc[synthetic, "category"]) if synthetic.any() else set()
        own += [SYNTHETIC] * ("fly_tip" in cats)
        own += [SYNTHETIC_STREETSAFE] * ("streetsafe" in cats)
    text = source_text(*own, *keys)
    others = [Path(str(f)).name for f, k in zip(files, found, strict=True) if not k]
    if others and len(own) == len([k for k in found if k]):  # not recognised as synthetic
        text = (f"Incidents: {', '.join(others)} (your file: its publisher's licence "
                f"applies). " + text).strip()
    return text
