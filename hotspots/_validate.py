"""Shared checks that public functions call once on their inputs."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ._errors import BadInputError

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"


def check_gdf(obj: object, name: str = "input", required: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """Check `obj` is a GeoDataFrame with the given columns and return it projected to BNG.

    Parameters
    ----------
    obj : object
        What the caller passed.
    name : str
        How to call it in an error message ("incidents", "wards").
    required : iterable of str
        Columns that must be present.

    Returns
    -------
    geopandas.GeoDataFrame
        The same frame if already in EPSG:27700, else a reprojected copy.
    """
    if not isinstance(obj, gpd.GeoDataFrame):
        raise BadInputError(
            f"{name} must be a GeoDataFrame (got {type(obj).__name__}); "
            "read files with hs.read_incidents or hs.wards"
        )
    missing = [c for c in required if c not in obj.columns]
    if missing:
        raise BadInputError(f"{name} lacks column(s) {missing}; it has {list(obj.columns)[:20]}")
    return to_bng(obj, name)


def to_bng(gdf: gpd.GeoDataFrame, name: str = "input") -> gpd.GeoDataFrame:
    """Return `gdf` in British National Grid (metres), reprojecting when needed."""
    if gdf.crs is None:
        raise BadInputError(f"{name} has no CRS; set one (e.g. gdf.set_crs(27700))")
    if gdf.crs.to_epsg() == 27700:
        return gdf
    return gdf.to_crs(BNG)


def check_positive(value: float | None, name: str, *, allow_none: bool = True) -> float | None:
    """Check a length or count parameter is a positive number (metres, cells...)."""
    if value is None and allow_none:
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadInputError(f"{name} must be a number, got {value!r}") from None
    if not v > 0:
        raise BadInputError(f"{name} must be greater than 0, got {value!r}")
    if not math.isfinite(v):  # "inf minutes", an infinite cell: nothing sensible follows
        raise BadInputError(f"{name} must be a finite number, got {value!r}")
    return v


#: characters that print as nothing (zero-width spaces and joiners, BOM, soft hyphen)
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200d\u2060\ufeff]")


def norm_name(value: object) -> str:
    """A place name as compared: Unicode NFKC (a non-breaking or thin space becomes a
    space), invisible characters removed, runs of any whitespace as one space, trimmed,
    case-folded. ``norm_name("Harrow\u00a0on the  Hill ") == "harrow on the hill"``."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", "" if value is None else str(value)))
    return " ".join(text.split()).casefold()


def check_suffix(path: str | Path, formats: Mapping[str, str], name: str = "output") -> str:
    """The format written for `path`, from its suffix (``formats``: ".gpkg" -> "GeoPackage").

    A suffix that names no format it can write is refused (a GeoPackage written as
    ``x.xyz`` would not open as what its name says). Returns the format's name.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        allowed = ", ".join(f"{s} ({f})" for s, f in formats.items())
        raise BadInputError(f"{name} {str(path)!r}: the file name must end in one of {allowed}"
                            f"; got {suffix or 'no extension'!r}")
    return formats[suffix]


def check_nonempty(df: pd.DataFrame, name: str = "input") -> pd.DataFrame:
    """Raise a clear error when a frame has no rows."""
    if len(df) == 0:
        raise BadInputError(f"{name} is empty: there is nothing to analyse")
    return df


def weights_array(df: pd.DataFrame, weights: str | None, name: str = "incidents"):
    """Per-row weights as a float numpy array (ones when `weights` is None)."""
    import numpy as np

    if weights is None:
        return np.ones(len(df), dtype=float)
    if weights not in df.columns:
        raise BadInputError(f"weights column {weights!r} is not in {name}")
    w = pd.to_numeric(df[weights], errors="coerce").to_numpy(dtype=float)
    if np.isnan(w).any() or (w < 0).any():
        raise BadInputError(f"weights column {weights!r} must hold non-negative numbers")
    return w


#: time-of-day windows: what :func:`hours` accepts, for messages
_HOURS_EXAMPLE = {True: "--hours 14-24 (or 22-6 across midnight, or all)",
                  False: "(14, 24), '14-24' or ('22:00', '06:00') across midnight"}


def hour_of_day(value: object, name: str = "hours") -> float:
    """14, 14.5 or "14:30" as hours after midnight (0-24)."""
    try:
        if isinstance(value, str) and ":" in value:
            hh, mm = value.split(":", 1)
            h = int(hh) + int(mm) / 60
        else:
            h = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        h = float("nan")
    if not 0 <= h <= 24:
        raise BadInputError(f"{name} must be times of day 0-24 such as 14 or '14:00', "
                            f"e.g. {_HOURS_EXAMPLE[name.startswith('--')]}; got {value!r}")
    return h


def hours(value: object, name: str = "hours") -> tuple[float, float] | None:
    """The one parser of time-of-day windows (top areas, patrols, the command line).

    Parameters
    ----------
    value : None, str or (start, end)
        None, "" or "all": no window. "14-24" or "22:00-06:00" (the command line's
        form), or a pair such as ``(14, 24)``, ``("22:00", "06:00")``: hours after
        midnight 0-24, numbers or "HH:MM"; start inclusive, end exclusive, wrapping
        past midnight when start > end.
    name : str
        How to call it in a message ("hours", "--hours").

    Returns
    -------
    (float, float) or None
        ``(start, end)`` in hours, or None for no window.
    """
    cli = name.startswith("--")
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "all"):
            return None
        parts = text.split("-")
        if len(parts) != 2:
            raise BadInputError(f"{name} must be start-end, e.g. {_HOURS_EXAMPLE[cli]}; "
                                f"got {value!r}")
        pair: object = tuple(p.strip() for p in parts)
    else:
        pair = value
    if not hasattr(pair, "__len__") or len(pair) != 2:  # type: ignore[arg-type]
        raise BadInputError(f"{name} must be (start, end), e.g. {_HOURS_EXAMPLE[cli]}; "
                            f"got {value!r}")
    try:
        lo, hi = (hour_of_day(v, name) for v in pair)  # type: ignore[union-attr]
    except BadInputError:  # name the whole window, not one end of it
        raise BadInputError(f"{name} must be times of day 0-24 such as 14 or '14:00', "
                            f"e.g. {_HOURS_EXAMPLE[cli]}; got {value!r}") from None
    if lo == hi:
        raise BadInputError(f"{name} {value!r} is an empty window: start and end are the "
                            f"same (e.g. {_HOURS_EXAMPLE[cli]})")
    return lo, hi


def in_hours(hour: object, window: tuple[float, float]):
    """Boolean mask: `hour` (hours after midnight, array-like) in [start, end) of
    `window` from :func:`hours`, wrapping past midnight when start > end."""
    import numpy as np

    h = np.asarray(hour, dtype=float)
    lo, hi = window
    return (h >= lo) & (h < hi) if lo <= hi else (h >= lo) | (h < hi)


def hours_label(window: tuple[float, float] | None) -> str:
    """``"14:00-24:00"`` for a window from :func:`hours` ("" for None)."""
    if window is None:
        return ""

    def clock(h: float) -> str:
        m = round(h * 60)
        return f"{m // 60:02d}:{m % 60:02d}"

    return f"{clock(window[0])}-{clock(window[1])}"
