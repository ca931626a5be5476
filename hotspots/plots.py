"""Static matplotlib figures of the same content as the folium maps, for reports and print.

The category colours, labels and density classes come from ``_style``, shared with the
web maps, so a category looks the same everywhere (matplotlib itself is imported only
when a figure is drawn).
"""

from __future__ import annotations

import logging
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from ._escape import plain_text
from ._style import (  # noqa: F401 (re-exported: hotspots.plots.CATEGORY_STYLE etc.)
    AREA_COLOUR,
    AREA_HALO,
    CATEGORY_STYLE,
    INCIDENT_COLOUR,
    QUIET_LABELS,
    START_COLOUR,
    STATION_COLOUR,
    STOP_COLOUR,
    STREET_COLOUR,
    WARD_COLOUR,
    area_categories,
    category_colour,
    category_label,
    default_attribution,
    density_classes,
    density_label,
    density_range,
    incident_attribution,
    label_colours,
)
from ._style import FALLBACK_COLOUR as _FALLBACK_COLOUR
from ._validate import check_gdf

__all__ = [
    "figure_png",
    "plot_change",
    "plot_hotspots",
    "plot_place",
    "save_figure",
]

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

log = logging.getLogger("hotspots")


def plot_hotspots(
    inc: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    wards: gpd.GeoDataFrame | None = None,
    grid: gpd.GeoDataFrame | None = None,
    title: str = "Hotspots",
    attribution: str | None = None,
    figsize: tuple[float, float] = (10.0, 8.0),
    max_ward_labels: int = 60,
) -> Figure:
    """Draw a static hotspot map: wards, density, incidents and numbered top areas.

    Parameters
    ----------
    inc : GeoDataFrame, optional
        Incidents (any CRS; drawn in British National Grid), coloured by ``category``.
    areas : GeoDataFrame, optional
        Ranked areas (``rank`` column); outlined in red and numbered by rank.
    wards : GeoDataFrame, optional
        Ward boundaries with ``ward_name``; outlined and labelled.
    grid : GeoDataFrame, optional
        Grid cells with a ``density`` column (incidents per km²), drawn in the same
        classes and colours as the web map (:func:`hotspots.maps.density_classes`),
        with their ranges in the legend.
    title : str, default "Hotspots"
    attribution : str, optional
        Footer text; by default the OS/ONS (OGL v3) line (no OpenStreetMap data are
        drawn, so no ODbL line), plus the police.uk line when ``inc["source"]`` says
        police.uk and a "synthetic data" note when the incidents are synthetic
        (:func:`incident_attribution`).
    figsize : (float, float), default (10, 8)
        Inches; the legend sits to the right of the map.
    max_ward_labels : int, default 60
        Ward names are written only up to this many wards (beyond, they are unreadable).

    Returns
    -------
    matplotlib.figure.Figure
        Built with the Agg canvas (no display needed): ``fig.savefig("map.png")``.
    """
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    layers = {"incidents": inc, "areas": areas, "wards": wards, "grid": grid}
    layers = {k: check_gdf(v, k) for k, v in layers.items() if v is not None}
    if not layers:
        raise _bad("plot_hotspots needs at least one of inc, areas, wards or grid")

    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(plain_text(title), fontsize=13)

    handles = []
    if "grid" in layers and "density" in layers["grid"].columns:
        classes = density_classes(layers["grid"])
        if len(classes):
            classes.plot(ax=ax, color=list(classes["colour"]), alpha=0.6, linewidth=0, zorder=1)
            handles.append(Patch(visible=False, label="Density, incidents per km²:"))
            for lo, hi, colour in classes[["lo", "hi", "colour"]].itertuples(index=False):
                handles.append(Patch(color=colour, alpha=0.6, label=density_range(lo, hi)))
    if "wards" in layers:
        w = layers["wards"]
        w.boundary.plot(ax=ax, color="#555555", linewidth=0.7, zorder=2)
        if "ward_name" in w.columns and len(w) <= max_ward_labels:
            for name, pt in zip(w["ward_name"], w.geometry.representative_point(), strict=True):
                ax.annotate(
                    plain_text(name), (pt.x, pt.y), ha="center", va="center", fontsize=6,
                    color="#333333", zorder=5, gid="ward-label",
                    path_effects=[patheffects.withStroke(linewidth=2, foreground="white")],
                )
    if "incidents" in layers:
        from .privacy import split_anonymous

        # anonymous reports (StreetSafe) are never drawn as points (privacy.py)
        i, anon = split_anonymous(layers["incidents"])
        if len(anon):
            handles.append(Patch(visible=False, label=f"{len(anon)} anonymous reports: not "
                                                      "drawn as points"))
        cats = i["category"].astype(str) if "category" in i.columns else None
        if cats is None:
            i.plot(ax=ax, markersize=2, color=_FALLBACK_COLOUR, zorder=3)
        else:
            handles.append(Patch(visible=False, label="Incidents:"))
            for cat, sub in i.groupby(cats, sort=True):
                sub.plot(ax=ax, markersize=2, color=category_colour(cat), alpha=0.7, zorder=3)
                handles.append(
                    Patch(color=category_colour(cat), label=f"{category_label(cat)} ({len(sub)})")
                )
    if "areas" in layers:
        a = layers["areas"]
        _draw_areas(ax, a)
        handles.append(Patch(fc="none", ec=AREA_COLOUR, lw=1.6,
                             label="top areas (numbered by rank)"))

    _fit(ax, layers)
    _scale_bar(ax)
    _north_arrow(ax)
    if handles:
        # beside the map, not over it
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                  frameon=False)
    fig.text(
        0.01, 0.01, attribution or incident_attribution(layers.get("incidents"), osm=False),
        fontsize=5.5,
        color="#444444", wrap=True, va="bottom", gid="attribution",
    )
    # leave the legend its column: tight_layout ignores a legend outside the axes
    fig.subplots_adjust(left=0.02, right=0.74 if handles else 0.98, top=0.93, bottom=0.06)
    if "areas" in layers:  # placed last: spreading them needs the final axes size
        _area_labels(ax, layers["areas"])
    return _drawable(fig)


#: diameter of a two-digit area label (fontsize 8 bold, circle pad 0.2), points
_LABEL_PT = 14.7


def _spread_labels(anchors: np.ndarray, size: float = _LABEL_PT,
                  box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Offsets that keep round labels from overlapping (greedy, in the given order).

    Each label is tried at its anchor, then along an Archimedean spiral around it
    (radius growing by about one label per turn), and takes the first spot at least
    `size` × 1.1 from every label already placed, inside `box`, and (when moved) not
    covering another label's anchor. Deterministic: the same input gives the same
    layout, earlier labels (higher ranks) keep their anchors first.

    Parameters
    ----------
    anchors : (n, 2) array
        Where each label belongs, in display units (points).
    size : float, default 14.7
        Label diameter, same units.
    box : (x0, y0, x1, y1), optional
        Keep label centres this far inside (half a label from the edge).

    Returns
    -------
    (n, 2) array
        Offset of each label's centre from its anchor (0 where the anchor is free; the
        anchor too when no free spot is found within 20 turns).
    """
    anchors = np.asarray(anchors, dtype=float).reshape(-1, 2)
    gap, half = 1.1 * size, size / 2
    k = np.arange(1, 800)
    theta = 0.5 * k
    rho = size * (0.9 + theta / (2 * np.pi))
    spiral = np.column_stack([rho * np.cos(theta), rho * np.sin(theta)])
    cand = np.vstack([[0.0, 0.0], spiral])
    out = np.zeros_like(anchors)
    placed = np.empty((0, 2))
    for i, p in enumerate(anchors):
        c = p + cand
        ok = np.ones(len(c), bool)
        if len(placed):
            ok &= (np.linalg.norm(c[:, None] - placed[None], axis=2) >= gap).all(axis=1)
        if box is not None:
            x0, y0, x1, y1 = box
            ok &= ((c[:, 0] >= x0 + half) & (c[:, 0] <= x1 - half)
                   & (c[:, 1] >= y0 + half) & (c[:, 1] <= y1 - half))
        others = np.delete(anchors, i, axis=0)
        if len(others):  # a moved label must not hide another area's point
            ok[1:] &= (np.linalg.norm(c[1:, None] - others[None], axis=2) >= half).all(axis=1)
        j = int(np.argmax(ok)) if ok.any() else 0
        out[i] = cand[j]
        placed = np.vstack([placed, p + cand[j]])
    return out


def _area_labels(ax, a) -> None:
    """Rank numbers at each area's representative point.

    Where they would overlap, moved aside (``_spread_labels``) with a thin leader line back to
    the area.
    """
    ranks = a["rank"].to_numpy() if "rank" in a.columns else np.arange(1, len(a) + 1)
    pts = a.geometry.representative_point()
    xy = np.column_stack([pts.x, pts.y]) if len(a) else np.empty((0, 2))
    order = np.argsort(ranks, kind="stable")  # rank 1 keeps its spot first
    ax.apply_aspect()  # the equal-aspect box, so data -> points is final
    to_pt = 72.0 / ax.figure.dpi
    disp = ax.transData.transform(xy) * to_pt if len(a) else xy
    b = ax.bbox
    offsets = np.zeros_like(disp)
    offsets[order] = _spread_labels(
        disp[order], box=(b.x0 * to_pt, b.y0 * to_pt, b.x1 * to_pt, b.y1 * to_pt))
    for r, (x, y), (dx, dy) in zip(ranks, xy, offsets, strict=True):
        moved = bool(dx or dy)
        ax.annotate(
            str(int(r)), (x, y), xytext=(dx, dy), textcoords="offset points", ha="center",
            va="center", fontsize=8, fontweight="bold", color="white", zorder=6,
            gid="area-label",
            bbox={"boxstyle": "circle,pad=0.2", "fc": AREA_COLOUR, "ec": "white", "lw": 0.8},
            arrowprops={"arrowstyle": "-", "color": "#333333", "lw": 0.6, "shrinkA": 0,
                        "shrinkB": 0} if moved else None,
        )


def _draw_areas(ax, a, lw: float = 1.6) -> None:
    """Area outlines as on the web map: near-black on a white halo (reads on any colour)."""
    a.boundary.plot(ax=ax, color=AREA_HALO, linewidth=lw + 2.2, zorder=4)
    a.boundary.plot(ax=ax, color=AREA_COLOUR, linewidth=lw, zorder=4.1)


def _bad(msg: str):
    from ._errors import BadInputError

    return BadInputError(msg)


def _fit(ax, layers: dict) -> None:
    """Zoom to the study area.

    The wards when drawn, else all the data drawn (not just the areas, which would crop a
    London-wide map to a strip around the top twenty).
    """
    drawn = [layers[k] for k in ("wards",) if k in layers and len(layers[k])] or [
        layers[k] for k in ("incidents", "grid", "areas") if k in layers and len(layers[k])]
    if not drawn:
        return
    b = np.array([g.total_bounds for g in drawn])
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    pad = max(x1 - x0, y1 - y0, 200.0) * 0.04
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)


def _nice_length(span_m: float) -> float:
    """A round scale-bar length about a fifth of the map width (metres)."""
    target = span_m / 5
    exp = 10 ** np.floor(np.log10(target))
    for m in (5, 2, 1):
        if m * exp <= target:
            return float(m * exp)
    return float(exp)


def _scale_bar(ax) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=3, solid_capstyle="butt",
            zorder=7)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.annotate(label, (bx + length / 2, by), xytext=(0, 4), textcoords="offset points",
                ha="center", va="bottom", fontsize=7, zorder=7, gid="scale-bar")


def _north_arrow(ax) -> None:
    ax.annotate(
        "N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
        ha="center", va="center", fontsize=10, fontweight="bold", gid="north-arrow",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9, "headlength": 8},
    )


def plot_change(
    result: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame | None = None,
    title: str = "Change over time",
    attribution: str | None = None,
    figsize: tuple[float, float] = (8.0, 8.0),
) -> Figure:
    """Map a change-over-time result by its ``label`` column (cells, wards or areas).

    Works for :func:`hotspots.hotspot_change`, :func:`hotspots.classify_hotspots`,
    :func:`hotspots.dual_kde` and the ``zones`` of :func:`hotspots.operation_effect`:
    increases, hot spots and "higher" in reds, decreases, cold spots and "lower" in
    blues, "no pattern"/"no significant change" left out; operation area red, buffer
    amber, comparison area pale blue.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    res = check_gdf(result, "result", required=["label"])
    shown = res[~res["label"].isin(QUIET_LABELS)]
    labels = sorted(shown["label"].unique())
    colour = label_colours(labels)
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_axis_off()
    ax.set_title(plain_text(title))
    layers = {"grid": res}
    if wards is not None:
        w = check_gdf(wards, "wards")
        w.boundary.plot(ax=ax, color="#555555", linewidth=0.6, zorder=2)
        layers = {"wards": w, "grid": res}
    res.boundary.plot(ax=ax, color="#dddddd", linewidth=0.2, zorder=1)
    for lab in labels:
        shown[shown["label"] == lab].plot(ax=ax, color=colour[lab], alpha=0.85, zorder=3)
    _fit(ax, layers)
    _scale_bar(ax)
    _north_arrow(ax)
    handles = [Patch(fc=colour[lab], label=plain_text(lab)) for lab in labels]
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize=6, framealpha=0.85)
    fig.text(0.01, 0.01, attribution or default_attribution(police=True, osm=False), fontsize=5.5,
             color="#444444", wrap=True, va="bottom", gid="attribution")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _drawable(fig)


# --- maps of a place for printed packs (councillor summary, action plans, briefings) ----


def plot_place(  # noqa: PLR0913 (a printed map's layers, each optional, and its frame)
    wards: gpd.GeoDataFrame | None = None,
    *,
    highlight: list[str] | tuple[str, ...] = (),
    areas: gpd.GeoDataFrame | None = None,
    inc: gpd.GeoDataFrame | None = None,
    route: gpd.GeoDataFrame | None = None,
    stops: gpd.GeoDataFrame | None = None,
    start=None,
    network=None,
    stations: bool = True,
    focus=None,
    title: str = "",
    attribution: str | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
    max_street_labels: int = 10,
    area_labels: bool = True,
) -> Figure:
    """A static map of a place for a printed pack: the ground people know under the data.

    Ward boundaries and names, TfL stations and their names, streets and their names
    (when a street network is given), then the data: incidents as neutral dots,
    hotspot areas as near-black outlines on a white halo with their rank, a patrol's
    route, numbered stops and start. Colours are the web map's (``hotspots._style``);
    a scale bar and a north arrow are always drawn.

    Parameters
    ----------
    wards : GeoDataFrame, optional
        Ward boundaries (``ward_name``); names are written for wards in view.
    highlight : sequence of str
        Ward names to shade and name in bold (e.g. the week's focus wards).
    areas : GeoDataFrame, optional
        Hotspot areas with ``rank``: outlined and numbered.
    inc : GeoDataFrame, optional
        Incidents, drawn as small neutral dots.
    route : GeoDataFrame, optional
        Route legs (lines), drawn in the stops' blue.
    stops : GeoDataFrame, optional
        Stops (points) with ``order``: numbered circles.
    start : shapely Point, optional
        Start of a patrol (BNG): a green square drawn on top of everything.
    network : networkx graph, optional
        Street network (osmnx): streets in light grey and the names of the longest
        streets in view.
    stations : bool, default True
        Draw TfL stations in view with their names.
    focus : geometry, GeoSeries or GeoDataFrame, optional
        What the map is centred on (BNG); default the highlighted wards, else the
        areas, route and stops, else the wards.
    title : str
    attribution : str, optional
        Footer; default the OS/ONS line, TfL when stations are drawn, OpenStreetMap
        when a network is drawn.
    figsize : (float, float), default (7, 5)
        Inches.
    max_street_labels : int, default 10
    area_labels : bool, default True
        Number the areas by rank; False on a route map, where the stops carry the
        only numbers.

    Returns
    -------
    matplotlib.figure.Figure
        Agg canvas; ``fig.savefig(...)`` or :func:`figure_png`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w = check_gdf(wards, "wards").to_crs(27700) if wards is not None else None
    layers = {k: check_gdf(v, k).to_crs(27700) for k, v in
              (("areas", areas), ("inc", inc), ("route", route), ("stops", stops))
              if v is not None and len(v)}
    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.07, 0.98, 0.86 if title else 0.92))
    ax.set_axis_off()
    ax.set_aspect("equal")
    if title:
        fig.text(0.5, 0.97, plain_text(title), ha="center", va="top", fontsize=11,
                 fontweight="bold")
    view = _place_view(ax, w, highlight, layers, focus, start)
    edges = _street_edges(network, view) if network is not None else None
    _draw_ground(ax, w, highlight, edges, view, max_street_labels)
    if "inc" in layers:
        from .privacy import split_anonymous

        # anonymous reports (StreetSafe) are never drawn as points (privacy.py)
        layers["inc"].pipe(lambda i: split_anonymous(i)[0]).plot(
            ax=ax, markersize=3, color=INCIDENT_COLOUR, alpha=0.55, zorder=3)
    if "areas" in layers:
        _draw_areas(ax, layers["areas"])
    if "route" in layers:
        layers["route"].plot(ax=ax, color=AREA_HALO, linewidth=4.5, zorder=5)
        layers["route"].plot(ax=ax, color=STOP_COLOUR, linewidth=2.4, zorder=5.1)
    station_names = _draw_stations(ax, view) if stations else []
    ax.set_xlim(view[0], view[2])  # geopandas' plot() rescales to the data: the view again
    ax.set_ylim(view[1], view[3])
    ax.set_autoscale_on(False)  # and nothing drawn after (labels, scale bar) moves it
    if w is not None:
        _ward_names(ax, w, highlight, view, station_names)
    if "areas" in layers and area_labels:
        _area_labels(ax, layers["areas"])
    if "stops" in layers:
        _stop_labels(ax, layers["stops"])
    if start is not None:  # under stop 1 when they coincide: a green frame round its number
        ax.plot([start.x], [start.y], marker="s", markersize=15, color=START_COLOUR,
                markeredgecolor="white", markeredgewidth=1.5, zorder=8.4, gid="start")
    _scale_bar(ax)
    _north_arrow(ax)
    _place_legend(ax, layers, start, highlight, stations=bool(station_names),
                  numbered=area_labels)
    credit = attribution or default_attribution(osm=network is not None) + (
        " Stations: TfL (Open Government Licence v3.0)." if station_names else "")
    fig.text(0.01, 0.01, credit, fontsize=5.5, color="#444444", wrap=True, va="bottom",
             gid="attribution")
    return _drawable(fig)


def _drawable(fig: Figure) -> Figure:
    """`fig` with control characters in every text it draws made spaces.

    One rule (:func:`hotspots._escape.plain_text`): data text such as a ward name may
    carry them, and no font has their glyphs. Data text is cleaned where it is drawn
    (titles, ward, street and station names) so nothing warns while plotting; this
    pass catches the rest (legend labels from categories) before the figure is shown.
    """
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        text = t.get_text()
        if text and plain_text(text) != text:
            t.set_text(plain_text(text))
    return fig


def figure_png(fig: Figure, dpi: int = 150) -> bytes:
    """A figure as PNG bytes (for embedding in an HTML pack or writing beside it)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _place_view(ax, w, highlight, layers: dict, focus, start) -> tuple[float, ...]:
    """Set the map extent (BNG metres) to the focus, padded, matching the axes' shape."""
    import shapely

    if focus is not None:
        geoms = [focus.geometry.union_all() if hasattr(focus, "geometry") and hasattr(
            focus.geometry, "union_all") else focus]
    elif w is not None and len(highlight):
        geoms = [w[w["ward_name"].isin(list(highlight))].geometry.union_all()]
    else:
        geoms = [layers[k].geometry.union_all() for k in ("areas", "route", "stops")
                 if k in layers]
        if not geoms and w is not None:
            geoms = [w.geometry.union_all()]
        if not geoms and "inc" in layers:
            geoms = [layers["inc"].geometry.union_all()]
    if start is not None:
        geoms.append(start)
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        raise _bad("plot_place needs something to show: wards, areas, incidents, a route "
                   "or a focus")
    x0, y0, x1, y1 = shapely.GeometryCollection(geoms).bounds
    pad = max(x1 - x0, y1 - y0, 300.0) * 0.08
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    # widen the short side so the map fills the frame (no empty bands on paper)
    fig_w, fig_h = ax.figure.get_size_inches()
    pos = ax.get_position(original=True)
    aspect = (pos.width * fig_w) / (pos.height * fig_h)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    wd, ht = x1 - x0, y1 - y0
    if wd / ht < aspect:
        wd = ht * aspect
    else:
        ht = wd / aspect
    view = (cx - wd / 2, cy - ht / 2, cx + wd / 2, cy + ht / 2)
    ax.set_xlim(view[0], view[2])
    ax.set_ylim(view[1], view[3])
    return view


#: a network's edges in BNG, per graph: twenty area maps of one pack convert it once
_EDGES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _street_edges(network, view) -> gpd.GeoDataFrame:
    """The network's edges in view (BNG), with ``name`` where OSM has one."""
    import osmnx as ox
    import shapely

    e = _EDGES.get(network)
    if e is None or len(e) != network.number_of_edges():
        e = ox.graph_to_gdfs(network, nodes=False, fill_edge_geometry=True)
        e = e.to_crs(27700) if e.crs is None or e.crs.to_epsg() != 27700 else e
        if "name" not in e.columns:
            e["name"] = None
        e = e[["name", "geometry"]].reset_index(drop=True)
        _EDGES[network] = e
    box = shapely.box(*view)
    return e[e.intersects(box)].reset_index(drop=True)


def _draw_ground(ax, w, highlight, edges, view, max_street_labels: int) -> None:
    """Highlighted ward shading, ward edges, streets and street names."""
    if w is not None:
        if len(highlight):
            w[w["ward_name"].isin(list(highlight))].plot(
                ax=ax, color="#fff3bf", linewidth=0, zorder=0.5)
        w.boundary.plot(ax=ax, color=WARD_COLOUR, linewidth=0.9, linestyle="--", zorder=2)
        if len(highlight):
            w[w["ward_name"].isin(list(highlight))].boundary.plot(
                ax=ax, color=WARD_COLOUR, linewidth=1.8, zorder=2.1)
    if edges is not None and len(edges):
        edges.plot(ax=ax, color=STREET_COLOUR, linewidth=0.8, zorder=1)
        _street_names(ax, edges, view, max_street_labels)


def _street_names(ax, edges: gpd.GeoDataFrame, view, k: int) -> None:
    """Names of the `k` longest named streets in view, along their longest piece."""
    import shapely
    from matplotlib import patheffects

    named = edges.explode("name", ignore_index=True)
    named = named[named["name"].notna() & (named["name"].astype(str) != "")]
    if not len(named):
        return
    box = shapely.box(*view)
    inner = shapely.box(*shapely.affinity.scale(box, 0.9, 0.9).bounds)
    named = named.assign(geometry=named.intersection(inner))
    named = named[~named.is_empty]
    named = named.assign(length=named.length)
    by_name = named.groupby(named["name"].astype(str))["length"].sum().sort_values(
        ascending=False)
    placed: list[tuple[float, float]] = []
    min_gap = (view[2] - view[0]) / 8
    for name in by_name.index:
        if len(placed) >= k:
            break
        piece = named[named["name"].astype(str) == name].sort_values("length").iloc[-1]
        g = piece.geometry
        line = max(getattr(g, "geoms", [g]), key=lambda x: x.length)
        mid = line.interpolate(0.5, normalized=True)
        if any(np.hypot(mid.x - px, mid.y - py) < min_gap for px, py in placed):
            continue
        a = line.interpolate(0.4, normalized=True)
        b = line.interpolate(0.6, normalized=True)
        angle = np.degrees(np.arctan2(b.y - a.y, b.x - a.x))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        ax.annotate(plain_text(name), (mid.x, mid.y), ha="center", va="center", fontsize=6,
                    rotation=angle, rotation_mode="anchor", color="#555555",
                    style="italic", zorder=6, gid="street-label",
                    path_effects=[patheffects.withStroke(linewidth=2, foreground="white")])
        placed.append((mid.x, mid.y))


def _draw_stations(ax, view) -> dict[str, tuple[float, float]]:
    """TfL stations in view.

    A white disc ringed in black, and the name (as people say it); returns the names drawn and
    where.
    """
    from matplotlib import patheffects

    from .boundaries import station_name
    from .boundaries import stations as station_table

    try:
        st = station_table()
    except (OSError, KeyError, ValueError):  # no station file: the map goes without
        return {}
    x0, y0, x1, y1 = view
    st = st.cx[x0:x1, y0:y1]
    names: dict[str, tuple[float, float]] = {}
    seen: set[str] = set()
    for name, pt in zip(st["name"], st.geometry, strict=True):
        ax.plot([pt.x], [pt.y], marker="o", markersize=6, markerfacecolor="white",
                markeredgecolor=STATION_COLOUR, markeredgewidth=1.6, zorder=7)
        said = station_name(name)
        if said in seen:  # "Liverpool Street LU" and "... NR": one name
            continue
        seen.add(said)
        ax.annotate(plain_text(said), (pt.x, pt.y), xytext=(5, 4), textcoords="offset points",
                    fontsize=6.5, fontweight="bold", color=STATION_COLOUR, zorder=7,
                    gid="station-label",
                    path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])
        names[said] = (pt.x, pt.y)
    return names


def _ward_names(ax, w, highlight, view, stations: dict | None = None) -> None:
    """Ward names at their representative points, for wards whose point is in view.

    Not beside a station of the same name: "Hatch End" once.
    """
    from matplotlib import patheffects

    x0, y0, x1, y1 = view
    near = (x1 - x0) / 12
    for name, pt in zip(w["ward_name"], w.geometry.representative_point(), strict=True):
        if not (x0 < pt.x < x1 and y0 < pt.y < y1):
            continue
        big = name in highlight
        sx, sy = (stations or {}).get(name, (np.inf, np.inf))
        if not big and np.hypot(pt.x - sx, pt.y - sy) < near:
            continue
        ax.annotate(plain_text(name), (pt.x, pt.y), ha="center", va="center",
                    fontsize=9 if big else 6.5, fontweight="bold" if big else "normal",
                    color="#222222" if big else "#555555", zorder=8, gid="ward-label",
                    path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])


def _stop_labels(ax, stops: gpd.GeoDataFrame) -> None:
    """Stop numbers in blue circles (the web map's stop colour)."""
    order = stops["order"].to_numpy() if "order" in stops.columns else np.arange(
        1, len(stops) + 1)
    for o, pt in zip(order, stops.geometry, strict=True):
        ax.annotate(str(int(o)), (pt.x, pt.y), ha="center", va="center", fontsize=8,
                    fontweight="bold", color="white", zorder=8.5, gid="stop-label",
                    bbox={"boxstyle": "circle,pad=0.25", "fc": STOP_COLOUR, "ec": "white",
                          "lw": 1.0})


def _place_legend(ax, layers: dict, start, highlight, *, stations: bool,
                  numbered: bool = True) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    h = []
    if len(highlight):
        h.append(Patch(fc="#fff3bf", ec=WARD_COLOUR, lw=1.5, label="chosen ward"))
    if "areas" in layers:
        h.append(Patch(fc="none", ec=AREA_COLOUR, lw=1.6,
                       label="hotspot area (number)" if numbered else "hotspot area"))
    if "inc" in layers:
        h.append(Line2D([], [], ls="", marker="o", ms=3, color=INCIDENT_COLOUR,
                        label="incident"))
    if "route" in layers:
        h.append(Line2D([], [], color=STOP_COLOUR, lw=2.4, label="walking route"))
    if "stops" in layers:
        h.append(Line2D([], [], ls="", marker="o", ms=8, color=STOP_COLOUR, label="stop (order)"))
    if start is not None:
        h.append(Line2D([], [], ls="", marker="s", ms=7, color=START_COLOUR, label="start"))
    if stations:
        h.append(Line2D([], [], ls="", marker="o", ms=5, markerfacecolor="white",
                        markeredgecolor=STATION_COLOUR, label="station"))
    if h:
        leg = ax.legend(handles=h, loc="lower right", fontsize=6.5, framealpha=0.9)
        leg.set_zorder(10)


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write a matplotlib figure atomically.

    The format follows the suffix (.png, .pdf, .svg), trimmed to its content
    (``bbox_inches="tight"``). The one figure saver of the CLI, the demo and the packs.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        E.g. from :func:`plot_hotspots` or :func:`plot_change`.
    path : str or path
        File to write (folders are made).
    dpi : int, default 150
        Dots per inch for raster formats.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    from ._atomic import atomic_path

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=fmt, bbox_inches="tight")
    return path
