"""Colours, labels and classes shared by the web maps (``maps``) and the figures (``plots``).

One module both import, so a category, a density class or a Gi* bin looks the same on
screen and on paper, and ``maps`` and ``plots`` need not import each other.

One colour family per meaning, each checked for deuteranopia (``tests/test_maps.py``
simulates it and measures the distance between classes):

* density: viridis, light (low) to dark (high), perceptually even and readable without
  red-green vision;
* Getis-Ord Gi*: diverging red (hot) to blue (cold), as ArcGIS users expect;
* hotspot areas: near-black outlines on a white halo, numbered in the same near-black,
  so they read on any base map and never compete with a colour scale;
* incidents: neutral grey dots, coloured by category only when asked;
* base layer (wards, borough, stations, streets): greys.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._validate import check_gdf
from .categories import category_label as word_label

#: category -> (label for people, colour). Colours are distinct on a light base map
#: and in print; unknown categories fall back to grey.
CATEGORY_STYLE: dict[str, tuple[str, str]] = {
    "fly_tip": ("Fly-tipping", "#8c510a"),
    "asb": ("Anti-social behaviour", "#e6550d"),
    "streetsafe": ("StreetSafe report", "#d6616b"),
    "robbery": ("Robbery", "#a50f15"),
    "violence_sexual": ("Violence and sexual offences", "#de2d26"),
    "burglary": ("Burglary", "#6a51a3"),
    "vehicle": ("Vehicle crime", "#3182bd"),
    "theft": ("Other theft", "#31a354"),
    "theft_person": ("Theft from the person", "#74c476"),
    "shoplifting": ("Shoplifting", "#fd8d3c"),
    "bicycle_theft": ("Bicycle theft", "#17becf"),
    "drugs": ("Drugs", "#e377c2"),
    "public_order": ("Public order", "#bcbd22"),
    "weapons": ("Possession of weapons", "#393b79"),
    "criminal_damage": ("Criminal damage and arson", "#7f7f7f"),
    "other": ("Other crime", "#9e9ac8"),
}
FALLBACK_COLOUR = "#636363"

#: incidents when not coloured by category: one neutral dot
INCIDENT_COLOUR = "#4d4d4d"

#: density classes, lowest first: viridis sampled light to dark (matplotlib's values)
DENSITY_COLOURS = ("#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154")
#: class breaks: these upper quantiles of the non-zero density
DENSITY_QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.98, 0.995)

#: Gi* bin (−3..3, 99/95/90 % cold .. hot) -> colour: ColorBrewer RdBu
GI_COLOURS = {3: "#b2182b", 2: "#d6604d", 1: "#f4a582",
              -1: "#92c5de", -2: "#4393c3", -3: "#2166ac"}
GI_CONFIDENCE = {1: "90%", 2: "95%", 3: "99%"}

#: hotspot areas: outline, the halo under it, and the rank badges
AREA_COLOUR = "#1a1a1a"
AREA_HALO = "#ffffff"

#: patrol plans: stops and route in one blue, the start in green (and another shape)
STOP_COLOUR = "#08519c"
START_COLOUR = "#1b7837"

#: the offline base layer (wards, borough outline, stations, streets)
WARD_COLOUR = "#6b6b6b"
BOROUGH_COLOUR = "#333333"
STATION_COLOUR = "#1f1f1f"
STREET_COLOUR = "#b8b8b8"


def category_label(category: str) -> str:
    """The label a person reads for a category code; a category of the open vocabulary
    is labelled from its word (``"animal_rescue"`` -> "Animal rescue")."""
    style = CATEGORY_STYLE.get(category)
    return style[0] if style is not None else word_label(category)


def category_colour(category: str) -> str:
    """The hex colour used for a category on maps and figures."""
    return CATEGORY_STYLE.get(category, ("", FALLBACK_COLOUR))[1]


def area_categories(areas) -> list[str]:
    """The category codes that have an ``n_<category>`` count column in `areas`."""
    return [c[2:] for c in areas.columns if c.startswith("n_") and c != "n_incidents"]


def density_label(value: float) -> str:
    """A density (per km²) for a legend: whole numbers from 10 up, two significant figures
    below."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def density_range(lo: float, hi: float | None = None) -> str:
    """A density class for a legend: '1.2–3.4', or '≥ 12' for the top class (`hi` None or NaN).

    Shared by the web map and the figure so both word the classes alike.
    """
    if hi is None or np.isnan(hi):
        return f"≥ {density_label(lo)}"
    return f"{density_label(lo)}–{density_label(hi)}"


def _density_breaks(values: np.ndarray) -> list[float]:
    """Class breaks (per km²) at upper quantiles of the non-zero density, rounded."""
    pos = values[np.isfinite(values) & (values > 0)]
    if pos.size == 0:
        return []
    qs = np.quantile(pos, DENSITY_QUANTILES)
    out: list[float] = []
    for q in qs:
        r = float(f"{q:.2g}")
        if r > 0 and (not out or r > out[-1]):
            out.append(r)
    return out


def density_classes(grid: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The density surface a map or figure draws: grid cells dissolved into classes.

    Parameters
    ----------
    grid : GeoDataFrame
        Cells with ``density`` in incidents per km² (``hs.kde``).

    Returns
    -------
    GeoDataFrame
        One (multi)polygon per class, lowest first: ``cls`` (0..k-1), ``lo``, ``hi``
        (class bounds per km²; ``hi`` NaN for the top class) and ``colour`` (viridis,
        light to dark). Breaks are the upper quantiles 50, 75, 90, 95, 98 and 99.5 % of
        the non-zero densities rounded to two significant figures; cells below the first
        break are left out (they would wash the whole borough in colour). Empty when all
        densities are 0.
    """
    grid = check_gdf(grid, "grid", ["density"])
    dens = pd.to_numeric(grid["density"], errors="coerce").to_numpy(dtype=float)
    breaks = _density_breaks(dens)
    cols = {"cls": [], "lo": [], "hi": [], "colour": []}
    if not breaks:
        return gpd.GeoDataFrame(cols, geometry=[], crs=grid.crs)
    cls = np.searchsorted(breaks, dens, side="right") - 1  # -1 = below the first break
    keep = cls >= 0
    # fewer classes than colours: keep the ends of the scale (lightest and darkest)
    colours = density_colours(len(breaks))
    geoms = np.asarray(grid.geometry.array)[keep]
    kept = cls[keep]
    classes = np.unique(kept)
    # grid cells meet edge to edge: a coverage union, many times faster than a dissolve
    out = gpd.GeoDataFrame({"cls": classes}, geometry=[
        shapely.coverage_union_all(geoms[kept == c]) for c in classes], crs=grid.crs)
    out["lo"] = [breaks[c] for c in out["cls"]]
    out["hi"] = [breaks[c + 1] if c + 1 < len(breaks) else np.nan for c in out["cls"]]
    out["colour"] = [colours[c] for c in out["cls"]]
    out.attrs["breaks"] = tuple(breaks)
    return out


def density_colours(k: int) -> list[str]:
    """`k` density colours from light to dark, spread over the whole scale."""
    if k <= 0:
        return []
    idx = np.round(np.linspace(0, len(DENSITY_COLOURS) - 1, k)).astype(int) if k > 1 else [
        len(DENSITY_COLOURS) - 1]
    return [DENSITY_COLOURS[i] for i in idx]


#: change-over-time labels that mean "nothing to see": left off maps and figures
QUIET_LABELS = frozenset({"no pattern", "no pattern detected", "no significant change",
                          "as expected", "no reference"})

# one colour per meaning: worse = bright red, staying bad = dark red, recovering =
# pale, on-and-off = amber; cold spots and decreases the same in blues
_HOT_STYLE = {"emerging": "#e31a1c", "new": "#e31a1c", "consecutive": "#fc4e2a",
              "intensifying": "#bd0026", "persistent": "#800026", "increase": "#e31a1c",
              "higher": "#e31a1c", "former": "#fcbba1", "historical": "#fcbba1",
              "diminishing": "#fc9272", "intermittent": "#feb24c", "sporadic": "#feb24c",
              "oscillating": "#fd8d3c", "mixed": "#9e9ac8"}
_COLD_STYLE = {"emerging": "#2171b5", "new": "#2171b5", "consecutive": "#4292c6",
               "intensifying": "#08519c", "persistent": "#08306b", "decrease": "#2171b5",
               "lower": "#2171b5", "former": "#c6dbef", "historical": "#c6dbef",
               "diminishing": "#9ecae1", "intermittent": "#6baed6", "sporadic": "#6baed6",
               "oscillating": "#4292c6"}

#: the zones of hs.operation_effect: the operation in red, where crime could move to in
#: amber, what it is compared with in grey-blue
_ZONE_STYLE = {"operation area": "#e31a1c", "buffer": "#feb24c", "comparison area": "#9ecae1"}


def label_colours(labels) -> dict[str, str]:
    """Colour for each change-over-time label (shared by figures and web maps)."""
    colour = {}
    for lab in labels:
        zone = next((c for k, c in _ZONE_STYLE.items() if lab.endswith(k)), None)
        if zone:
            colour[lab] = zone
            continue
        style = _COLD_STYLE if any(w in lab for w in ("cold", "decrease", "lower")) else _HOT_STYLE
        colour[lab] = next((c for k, c in style.items() if k in lab), "#969696")
    return colour


def default_attribution(*, synthetic: bool = False, police: bool = False,
                        notes: tuple[str, ...] = (), osm: bool = True) -> str:
    """The attribution every map and figure carries (OS/ONS OGL v3, OpenStreetMap ODbL).

    A compact form of the registry's licence texts (``hs.attribution``), short enough
    for a map corner.

    Parameters
    ----------
    synthetic : bool, default False
        Add a note that the incidents are synthetic (generated, not real reports).
    police : bool, default False
        Add the police.uk line.
    notes : tuple of str, default ()
        Data notes to add, e.g. the synthetic generator's calibration
        ("calibrated to FixMyStreet report counts, which measure reporting, not incidence").
    osm : bool, default True
        Add the OpenStreetMap (ODbL) line: only where OSM data are drawn (the web maps'
        tiles, a street network), not on the static figures.
    """
    parts = [
        "Contains OS data © Crown copyright and database right 2024; contains ONS data "
        "(Open Government Licence v3.0)",
    ] + ["© OpenStreetMap contributors (ODbL 1.0)"] * osm
    if police:
        parts.append("Crime data: police.uk (OGL v3.0), locations approximate")
    if synthetic:
        parts.append("SYNTHETIC data: generated for testing, not real reports")
    parts += [n.removeprefix("synthetic; ") for n in notes]
    return ". ".join(parts) + "."


def incident_attribution(inc=None, *, osm: bool = True) -> str:
    """:func:`default_attribution` for these incidents: the police.uk line when their
    ``source`` mentions police, the synthetic note when any are synthetic, plus the
    generator's ``note`` (how the synthetic points were calibrated); the OSM line when
    `osm`."""
    if inc is None or "source" not in inc.columns:
        return default_attribution(osm=osm)
    src = inc["source"].astype(str)
    kinds = pd.Series(pd.unique(src), dtype=object)  # a few sources, not a row each
    is_synthetic = bool((kinds == "synthetic").any())
    notes = ()
    if "note" in inc.columns and is_synthetic:
        synthetic = (src == "synthetic").to_numpy()
        notes = tuple(sorted(inc.loc[synthetic, "note"].dropna().astype(str).unique()))
    return default_attribution(synthetic=is_synthetic, notes=notes, osm=osm,
                               police=bool(kinds.str.contains("police", case=False).any()))
