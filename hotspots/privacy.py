"""Anonymous reports stay anonymous: the rule every output applies.

Some categories are reports people make anonymously about themselves (StreetSafe: "I
felt unsafe here"), marked ``anonymous`` in ``data/categories.csv``. Their exact
points and free text identify the reporter (a front door, a daily route), so:

- **maps** draw them only as counts per grid cell holding at least
  :data:`MIN_REPORTS` reports (:func:`aggregate_anonymous`), popups give the count and
  the reasons, reason counts under the threshold say "fewer than 5";
- **analysis outputs** (top areas, patrol targets, focus-week areas) are computed from
  :func:`protect`-ed incidents: each anonymous report moved to the centre of its
  :data:`SNAP_M` m cell and its free text (``location_desc``) and source coordinate
  columns blanked, so no area outline, centre, street name or table carries a
  report's own location;
- **briefings** give counts and reasons, never a report's location, and reason counts
  under the threshold as "fewer than 5" (:func:`reason_counts`);
- **grid outputs** (kde, gistar, forecast, change by cell) record how many anonymous
  reports they were built from (:func:`mark_anonymous`), and every writer of them
  blanks (NA) the counts of cells holding 1 to :data:`MIN_REPORTS` - 1 reports
  (:func:`suppress_counts`), so no written file shows a cell of fewer than 5.

Analysis modules call :func:`protect` at their entry; rendering calls
:func:`split_anonymous` / :func:`aggregate_anonymous`. Nothing here imports rendering.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import box

from ._validate import BNG, check_gdf, check_positive

__all__ = [
    "CELL_M",
    "MIN_REPORTS",
    "SNAP_M",
    "aggregate_anonymous",
    "anonymous_categories",
    "is_anonymous",
    "mark_anonymous",
    "note",
    "protect",
    "reason_counts",
    "split_anonymous",
    "suppress_counts",
]

log = logging.getLogger("hotspots")

#: fewest reports a shown group (cell, reason) may hold; smaller counts say "fewer than 5"
MIN_REPORTS = 5
#: cell (m) of the map aggregation: a few minutes' walk across
CELL_M = 250.0
#: cell (m) anonymous reports are moved to the centre of before analysis (hotspot areas
#: are 100s of m across, so the analysis barely changes; no output holds a report's point)
SNAP_M = 50.0

#: columns an anonymous report keeps as they are (the rest of its text and coordinates
#: are blanked by :func:`protect`): what, when (month), which ward, whose data
_KEEP = frozenset({
    "incident_id", "category", "subcategory", "occurred_at", "month", "source", "place_type",
    "ward_code", "ward_name", "borough_name", "ward_reason", "near_ward_edge", "synthetic",
    "note", "hotspot_id", "geometry", "_load", "_scope",
})
#: column names that hold coordinates (blanked for anonymous reports whatever their dtype)
_COORD = re.compile(r"(^|_)(x|y|lon|lng|long|lat|longitude|latitude|easting|northing|"
                    r"coords?|geom|wkt|ward_edge_m)($|_)", re.I)


@lru_cache(maxsize=1)
def anonymous_categories() -> frozenset[str]:
    """Categories marked ``anonymous`` in ``hotspots/data/categories.csv`` (StreetSafe)."""
    from io import StringIO

    text = resources.files("hotspots").joinpath("data/categories.csv").read_text("utf-8")
    table = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    if "anonymous" not in table.columns:  # an old table: StreetSafe is always anonymous
        return frozenset({"streetsafe"})
    flag = table["anonymous"].str.strip().str.lower().isin(["yes", "true", "1"])
    return frozenset(table.loc[flag, "category"].str.strip())


def is_anonymous(category: object) -> bool:
    """Whether reports of `category` are anonymous (never shown as points or text)."""
    return str(category).strip() in anonymous_categories()


def _anonymous_mask(inc: pd.DataFrame) -> np.ndarray:
    """Boolean array: which rows of `inc` are anonymous reports (False without ``category``)."""
    if "category" not in inc.columns or not len(inc):
        return np.zeros(len(inc), dtype=bool)
    # categories are canonical words (io): a plain isin, fast on millions of rows
    return inc["category"].isin(list(anonymous_categories())).to_numpy(dtype=bool)


def protect(inc: gpd.GeoDataFrame, *, snap_m: float = SNAP_M) -> gpd.GeoDataFrame:
    """`inc` with every anonymous report moved off its own point and its free text blanked.

    Parameters
    ----------
    inc : GeoDataFrame
        Canonical incidents (a plain DataFrame: only the text is blanked).
    snap_m : float, default 50
        Anonymous reports move to the centre of their `snap_m` (metres) cell of the
        British National Grid, so area outlines (cluster hulls), centres and map bounds
        built from them never fall on a report's own point.

    Returns
    -------
    GeoDataFrame
        The same frame when it holds no anonymous report, else a copy (EPSG:27700) with
        those rows' ``location_desc`` and any other text or coordinate column outside
        what, when and which ward blanked. ``attrs["anonymised"]`` counts them. Never
        mutates `inc`; idempotent.
    """
    spatial = isinstance(inc, gpd.GeoDataFrame)
    if spatial:
        inc = check_gdf(inc, "incidents")
    snap_m = float(check_positive(snap_m, "snap_m", allow_none=False))
    mask = _anonymous_mask(inc)
    if not mask.any():
        return inc
    out = inc.copy()
    geom = out.geometry if spatial else gpd.GeoSeries([], dtype="geometry")
    pts = (mask & geom.notna().to_numpy() & ~geom.is_empty.to_numpy() if spatial
           else np.zeros(len(out), dtype=bool))
    if pts.any():
        sub = geom[pts]
        x = (np.floor(sub.x.to_numpy() / snap_m) + 0.5) * snap_m
        y = (np.floor(sub.y.to_numpy() / snap_m) + 0.5) * snap_m
        moved = gpd.GeoSeries(gpd.points_from_xy(x, y), index=sub.index, crs=out.crs)
        out[out.geometry.name] = geom.where(~pts, moved)
    for col in out.columns:
        if spatial and col == out.geometry.name or not _blank(col, out[col]):
            continue
        if not (pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col])):
            out[col] = out[col].astype(object)
        out.loc[mask, col] = None
    out.attrs = {**inc.attrs, "anonymised": int(mask.sum()),
                 "anonymous_snap_m": snap_m}
    return out


def _blank(col: str, values: pd.Series) -> bool:
    """Whether protect blanks `col` for anonymous reports: coordinates and free text.

    Numbers and flags that are not coordinates, such as weights, stay.
    """
    if _COORD.search(col) or col == "location_desc":
        return True
    if col in _KEEP:
        return False
    return not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values))


def split_anonymous(inc: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(the incidents that may be drawn as points, the anonymous reports)."""
    mask = _anonymous_mask(inc)
    if not mask.any():  # no copy of a big frame that holds none
        return inc, inc.iloc[:0]
    return inc[~mask], inc[mask]


def _small(n: int, min_reports: int = MIN_REPORTS) -> str:
    """A count as text: ``"fewer than 5"`` when 0 < n < `min_reports`."""
    n = int(n)
    return f"fewer than {min_reports}" if 0 < n < min_reports else f"{n:,}"


def reason_counts(reasons: Iterable[object] | pd.Series, min_reports: int = MIN_REPORTS,
                  top: int | None = None) -> list[tuple[str, str]]:
    """(reason, count text) from the largest down; counts under `min_reports` say so.

    "fewer than 5"; reasons are StreetSafe's ``subcategory``, e.g. "poor lighting".
    """
    s = pd.Series(list(reasons) if not isinstance(reasons, pd.Series) else reasons)
    s = s.dropna().astype(str).str.strip()
    counts = s[s != ""].value_counts()
    if top is not None:
        counts = counts.head(top)
    return [(str(r), _small(c, min_reports)) for r, c in counts.items()]


def aggregate_anonymous(inc: gpd.GeoDataFrame, *, min_reports: int = MIN_REPORTS,
                        cell_size: float = CELL_M,
                        place: str | None = "ward_name") -> gpd.GeoDataFrame:
    """Anonymous reports as counts per grid cell holding at least `min_reports`.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents; only the anonymous categories (:func:`anonymous_categories`) count.
    min_reports : int, default 5
        Fewest reports a cell must hold to be shown; smaller groups are suppressed
        (counted in ``attrs["suppressed"]``, never located).
    cell_size : float, default 250
        Cell side, metres, on the British National Grid from its origin (cells do not
        move with the data, so two maps never offset each other's cells).
    place : str or None, default "ward_name"
        A column naming a larger place (the ward, after ``hs.assign_wards``): reports in
        cells too small to show are counted per place instead, places of at least
        `min_reports` only (``attrs["places"]``), so the map still says where most of
        them are. None: cells only.

    Returns
    -------
    GeoDataFrame
        One square cell (EPSG:27700) per category and cell with at least `min_reports`
        reports: ``category, count, reasons`` (text: "followed 7, poor lighting fewer
        than 5"), ``geometry``. ``attrs``: ``min_reports``, ``cell_size``,
        ``n_reports``, ``shown`` (in the cells), ``places`` ({place: count} of the rest,
        largest first), ``suppressed`` (in neither), ``n_suppressed_cells``.
    """
    inc = check_gdf(inc, "incidents")
    min_reports = int(check_positive(min_reports, "min_reports", allow_none=False))
    cell_size = float(check_positive(cell_size, "cell_size", allow_none=False))
    anon = inc[_anonymous_mask(inc)]
    anon = anon[anon.geometry.notna() & ~anon.geometry.is_empty]
    cols = ["category", "count", "reasons"]
    if not len(anon):
        out = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=BNG)
        out.attrs.update(min_reports=min_reports, cell_size=cell_size, n_reports=0, shown=0,
                         place=place, places={}, suppressed=0, n_suppressed_cells=0)
        return out
    frame = pd.DataFrame({
        "category": anon["category"].astype(str).str.strip().to_numpy(),
        "i": np.floor(anon.geometry.x.to_numpy() / cell_size).astype(np.int64),
        "j": np.floor(anon.geometry.y.to_numpy() / cell_size).astype(np.int64),
        "reason": (anon["subcategory"].to_numpy(dtype=object) if "subcategory" in anon.columns
                   else np.full(len(anon), None, dtype=object)),
        "place": (anon[place].to_numpy(dtype=object) if place and place in anon.columns
                  else np.full(len(anon), None, dtype=object)),
    })
    rows, geoms, small, small_cells = [], [], [], 0
    for (cat, i, j), g in frame.groupby(["category", "i", "j"], sort=True):
        if len(g) < min_reports:
            small.append(g)
            small_cells += 1
            continue
        text = ", ".join(f"{r} {c}" for r, c in reason_counts(g["reason"], min_reports))
        rows.append({"category": cat, "count": len(g), "reasons": text})
        geoms.append(box(i * cell_size, j * cell_size, (i + 1) * cell_size, (j + 1) * cell_size))
    out = gpd.GeoDataFrame(rows or {c: [] for c in cols}, geometry=geoms, crs=BNG)
    rest = pd.concat(small) if small else frame.iloc[:0]
    by_place = rest["place"].dropna().astype(str).value_counts()
    by_place = by_place[by_place >= min_reports]
    n_small = len(rest) - int(by_place.sum())
    out.attrs.update(min_reports=min_reports, cell_size=cell_size, n_reports=len(frame),
                     shown=len(frame) - len(rest),
                     place=place, places={str(k): int(v) for k, v in by_place.items()},
                     suppressed=n_small, n_suppressed_cells=small_cells)
    log.info("anonymous reports: %d in %d cells of %g m with at least %d; %d counted by %s; "
             "%d in smaller groups not shown", len(frame) - len(rest), len(out), cell_size,
             min_reports, int(by_place.sum()), place, n_small)
    return out


def note(agg: gpd.GeoDataFrame) -> str:
    """One sentence for a legend or pack: what the anonymous layer shows and hides."""
    a = agg.attrs
    k, cell = a.get("min_reports", MIN_REPORTS), a.get("cell_size", CELL_M)
    text = (f"Anonymous reports are shown only as counts per {cell:g} m cell holding at "
            f"least {k}")
    places = list(a.get("places", {}).items())
    if places:
        what = {"ward_name": "ward"}.get(a.get("place"), a.get("place"))
        text += (f"; outside those cells, by {what}: "
                 + ", ".join(f"{p} {n:,}" for p, n in places[:8]))
        if len(places) > 8:
            text += (f" and {sum(n for _, n in places[8:]):,} in {len(places) - 8} more "
                     f"{what}s")
    if a.get("suppressed"):
        text += f"; {a['suppressed']:,} in smaller groups are not shown"
    return text + "."


#: count columns of grid outputs (kde, gistar, forecast ``n_history``, change)
COUNT_COLUMNS = ("count", "n_before", "n_after", "n_history", "n_incidents")
#: columns computed from a row's own counts, blanked with them (else they would give them
#: back): the change and, for a change result (it has ``n_before``), its test's p and q
_FROM_COUNTS = ("change", "change_pct")
_FROM_CHANGE = ("p", "q")


def mark_anonymous(out: pd.DataFrame, inc: pd.DataFrame) -> pd.DataFrame:
    """`out` with ``attrs["anonymous_reports"]``: how many anonymous reports `inc` holds.

    Analysis functions whose result counts incidents per cell call it on return, so the
    writers know to apply :func:`suppress_counts`. Sets the attribute in place and
    returns `out`.
    """
    out.attrs["anonymous_reports"] = int(_anonymous_mask(inc).sum())
    return out


def suppress_counts(grid: pd.DataFrame, *, min_reports: int = MIN_REPORTS) -> pd.DataFrame:
    """`grid` with the counts of cells holding 1 to `min_reports` - 1 reports blanked.

    The one rule for written grid outputs built from anonymous reports
    (``attrs["anonymous_reports"]`` > 0, set by :func:`mark_anonymous`): in a row where
    any count column (:data:`COUNT_COLUMNS`) is between 1 and `min_reports` - 1, every
    count column and the columns computed from them (``change``, ``change_pct``, and a
    change result's ``p`` and ``q``: a test of two small counts gives them back) are
    NA (empty in a CSV, null in GeoJSON and GeoPackage), so no file shows a cell of
    fewer than `min_reports` reports, and no total or difference gives one back. Counts
    of incidents of other categories in the same input are blanked with them (the
    count of a cell does not say which category each incident is). Other values (density,
    z, risk) stay.

    Parameters
    ----------
    grid : DataFrame
        A grid or change result (``hs.kde``, ``hs.gistar``, ``hs.forecast``,
        ``hs.hotspot_change``).
    min_reports : int, default 5
        Fewest reports a shown count may be.

    Returns
    -------
    DataFrame
        `grid` itself when it holds no anonymous report or no small count, else a copy
        with integer counts as nullable ``Int64``; ``attrs["suppressed_cells"]`` counts
        the rows blanked and ``attrs["min_reports"]`` is `min_reports`.
    """
    min_reports = int(check_positive(min_reports, "min_reports", allow_none=False))
    cols = [c for c in COUNT_COLUMNS if c in grid.columns]
    if not grid.attrs.get("anonymous_reports") or not cols or not len(grid):
        return grid
    values = grid[cols].apply(pd.to_numeric, errors="coerce")
    small = ((values > 0) & (values < min_reports)).any(axis=1).to_numpy()
    if not small.any():
        return grid
    out = grid.copy()
    derived = [*_FROM_COUNTS, *(_FROM_CHANGE if "n_before" in cols else ())]
    for col in cols + [c for c in derived if c in out.columns]:
        v = pd.to_numeric(out[col], errors="coerce")
        whole = col in cols and v.dropna().eq(v.dropna().round()).all()
        out[col] = v.astype("Int64" if whole else "Float64").mask(small)
    out.attrs = {**grid.attrs, "suppressed_cells": int(small.sum()), "min_reports": min_reports}
    log.info("anonymous reports: counts of %d cells holding fewer than %d reports blanked",
             int(small.sum()), min_reports)
    return out
