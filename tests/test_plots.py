"""Static hotspot figure: renders to PNG with ward names, numbered areas, scale bar,
north arrow and attribution."""

from __future__ import annotations

import io

import numpy as np
import pytest

import hotspots as hs
from hotspots import maps, plots
from hotspots._errors import BadInputError


@pytest.fixture(scope="module")
def camden():
    inc = hs.read_incidents("camden_2019_06")
    wards = hs.wards("Camden", 2014)
    areas = hs.top_areas(inc, n=20, wards=wards, quiet=True)
    grid = hs.kde(inc, clip=wards, quiet=True)
    return inc, wards, areas, grid


def _texts(fig, gid):
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_gid() == gid]


def test_plot_hotspots_renders_png_with_its_elements(camden, tmp_path):
    inc, wards, areas, grid = camden
    fig = hs.plot_hotspots(inc, areas=areas, wards=wards, grid=grid, title="Camden June 2019")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    png = buf.getvalue()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # one number per area, in rank order, at the area's representative point
    labels = _texts(fig, "area-label")
    assert [t.get_text() for t in labels] == [str(r) for r in areas["rank"]]
    pts = areas.geometry.representative_point()
    assert np.allclose([t.xy for t in labels], np.column_stack([pts.x, pts.y]))
    assert sorted(t.get_text() for t in _texts(fig, "ward-label")) == sorted(wards["ward_name"])
    assert len(_texts(fig, "north-arrow")) == 1
    (scale,) = _texts(fig, "scale-bar")
    assert scale.get_text().endswith(("km", " m"))
    (attr,) = _texts(fig, "attribution")
    assert "OpenStreetMap" in attr.get_text() and "Open Government Licence" in attr.get_text()
    assert "police.uk" in attr.get_text()  # the Camden data come from police.uk
    # the density legend gives the web map's classes in incidents per km²
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    classes = maps.density_classes(grid)
    assert "Density, incidents per km²:" in legend
    assert f"≥ {maps._dens(classes['lo'].iloc[-1])}" in legend
    assert sum("–" in t for t in legend) == len(classes) - 1
    assert "SYNTHETIC" not in attr.get_text()
    assert len(fig.findobj(lambda a: hasattr(a, "get_text"))) >= len(areas) + len(wards)
    # the view covers the study area
    ax = fig.axes[0]
    x0, y0, x1, y1 = wards.total_bounds
    assert ax.get_xlim()[0] <= x0 and ax.get_xlim()[1] >= x1
    assert ax.get_ylim()[0] <= y0 and ax.get_ylim()[1] >= y1
    fig.savefig(tmp_path / "camden.png")
    assert (tmp_path / "camden.png").stat().st_size > 10_000


def test_scale_bar_length_is_round_and_about_a_fifth():
    for span in (800.0, 3_000.0, 12_345.0, 40_000.0):
        length = plots._nice_length(span)
        assert span / 12 <= length <= span / 5
        mantissa = length / 10 ** np.floor(np.log10(length))
        assert mantissa in (1.0, 2.0, 5.0)


def test_synthetic_note_and_single_layers(camden):
    inc, wards, areas, _ = camden
    fig = hs.plot_hotspots(inc.iloc[:200].assign(source="synthetic"))
    (attr,) = _texts(fig, "attribution")
    assert "SYNTHETIC" in attr.get_text() and "police.uk" not in attr.get_text()
    fig = hs.plot_hotspots(areas=areas)
    assert len(_texts(fig, "area-label")) == len(areas)
    assert len(_texts(fig, "ward-label")) == 0


def test_plot_needs_something():
    with pytest.raises(BadInputError):
        hs.plot_hotspots()


def test_category_style_covers_the_vocabulary():
    from hotspots.io import CATEGORIES

    assert set(CATEGORIES) <= set(plots.CATEGORY_STYLE)
    colours = [c for _, c in plots.CATEGORY_STYLE.values()]
    assert len(set(colours)) == len(colours)
