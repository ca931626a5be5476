"""Static matplotlib figures of the same content as the folium maps, for reports and print.

The category colours, labels and density classes come from ``_style``, shared with the
web maps, so a category looks the same everywhere (matplotlib itself is imported only
when a figure is drawn).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from ._style import (  # noqa: F401 (re-exported: hotspots.plots.CATEGORY_STYLE etc.)
    CATEGORY_STYLE,
    QUIET_LABELS,
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

    layers = {
        "incidents": inc,
        "areas": areas,
        "wards": wards,
        "grid": grid,
    }
    layers = {k: check_gdf(v, k) for k, v in layers.items() if v is not None}
    if not layers:
        raise _bad("plot_hotspots needs at least one of inc, areas, wards or grid")

    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(str(title), fontsize=13)

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
                    str(name), (pt.x, pt.y), ha="center", va="center", fontsize=6,
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
        a.boundary.plot(ax=ax, color="#b10026", linewidth=1.6, zorder=4)
        handles.append(Patch(fc="none", ec="#b10026", lw=1.6, label="top areas (numbered by rank)"))

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
    return fig


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
    """Rank numbers at each area's representative point; where they would overlap,
    moved aside (``_spread_labels``) with a thin leader line back to the area."""
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
            bbox={"boxstyle": "circle,pad=0.2", "fc": "#b10026", "ec": "white", "lw": 0.8},
            arrowprops={"arrowstyle": "-", "color": "#333333", "lw": 0.6, "shrinkA": 0,
                        "shrinkB": 0} if moved else None,
        )


def _bad(msg: str):
    from ._errors import BadInputError

    return BadInputError(msg)


def _fit(ax, layers: dict) -> None:
    """Zoom to the study area: the wards when drawn, else all the data drawn (not just
    the areas, which would crop a London-wide map to a strip around the top twenty)."""
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
    ax.set_title(title)
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
    handles = [Patch(fc=colour[lab], label=lab) for lab in labels]
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize=6, framealpha=0.85)
    fig.text(0.01, 0.01, attribution or default_attribution(police=True, osm=False), fontsize=5.5,
             color="#444444", wrap=True, va="bottom", gid="attribution")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
