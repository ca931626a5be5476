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
def camden(camden_layers):
    c = camden_layers
    return c.inc, c.wards, c.areas, c.grid


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
    assert "Open Government Licence" in attr.get_text()
    assert "police.uk" in attr.get_text()  # the Camden data come from police.uk
    # no OpenStreetMap data are drawn on the figure, so it is not credited; the web map
    # (OSM tiles) still is
    assert "OpenStreetMap" not in attr.get_text()
    assert "OpenStreetMap" in plots.incident_attribution(inc)
    # the density legend gives the web map's classes in incidents per km²
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    classes = maps.density_classes(grid)
    assert "Density, incidents per km²:" in legend
    assert f"≥ {plots.density_label(classes['lo'].iloc[-1])}" in legend
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


def test_synthetic_fly_tips_say_how_they_were_calibrated():
    # every map and figure of synthetic fly-tips carries the generator's calibration note
    tips = hs.read_incidents(hs.datasets.PROJECT_ROOT / "sample_data"
                             / "harrow_flytips_2022_synthetic.csv.gz").iloc[:50]
    attr = plots.incident_attribution(tips)
    assert "SYNTHETIC" in attr
    assert "calibrated to FixMyStreet report counts, which measure reporting, not incidence" in attr
    assert "calibrated" not in plots.incident_attribution(tips.assign(source="police.uk"))


def test_without_wards_the_map_shows_all_the_incidents(camden):
    # zooming to the areas alone cropped a London-wide map to a strip around the top 20
    inc, _, areas, _ = camden
    fig = hs.plot_hotspots(inc=inc, areas=areas.iloc[:3])
    ax = fig.axes[0]
    x0, y0, x1, y1 = inc.total_bounds
    (lx0, lx1), (ly0, ly1) = ax.get_xlim(), ax.get_ylim()
    assert lx0 <= x0 and lx1 >= x1 and ly0 <= y0 and ly1 >= y1


def test_plot_needs_something():
    with pytest.raises(BadInputError):
        hs.plot_hotspots()


def test_category_style_covers_the_vocabulary():
    from hotspots.categories import CATEGORIES

    assert set(CATEGORIES) <= set(plots.CATEGORY_STYLE)
    colours = [c for _, c in plots.CATEGORY_STYLE.values()]
    assert len(set(colours)) == len(colours)


def test_spread_labels_hand_checked():
    # three labels on one spot, one far away: the first and the lone one stay put,
    # the others move to distinct spots a label apart, the same every time
    anchors = np.array([[100.0, 100.0], [100.0, 100.0], [100.0, 100.0], [400.0, 100.0]])
    off = plots._spread_labels(anchors, size=10.0)
    assert np.all(off[[0, 3]] == 0) and np.all(np.linalg.norm(off[1:3], axis=1) > 0)
    c = anchors + off
    d = np.linalg.norm(c[:, None] - c[None], axis=2)[np.triu_indices(4, 1)]
    assert d.min() >= 11.0
    np.testing.assert_array_equal(off, plots._spread_labels(anchors, size=10.0))
    # kept inside the box
    off = plots._spread_labels(anchors, size=10.0, box=(95.0, 0.0, 500.0, 200.0))
    assert ((anchors + off)[:, 0] >= 100.0).all()


def test_area_labels_do_not_overlap_on_harrow(harrow):
    """Harrow town centre (Greenhill): areas capped at 20 ha crowd their numbers."""
    areas = hs.top_areas(harrow, n=20, quiet=True)
    fig = hs.plot_hotspots(areas=areas, wards=hs.wards("Harrow", 2022))
    fig.canvas.draw()
    labels = _texts(fig, "area-label")
    boxes = [t.get_bbox_patch().get_window_extent() for t in labels]
    centres = np.array([[(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2] for b in boxes])
    radius = np.array([b.width / 2 for b in boxes])
    d = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    i, j = np.triu_indices(len(boxes), 1)
    assert (d[i, j] >= radius[i] + radius[j]).all()  # round labels never overlap
    # each label still points at its area: anchored at its representative point
    pts = areas.geometry.representative_point()
    assert np.allclose([t.xy for t in labels], np.column_stack([pts.x, pts.y]))
    moved = [t for t in labels if t.arrow_patch is not None]
    assert 0 < len(moved) < len(labels)  # crowded ones moved with a leader, others not


def _two_street_graph():
    """A hand-made street graph in BNG near Bank: two named streets."""
    import networkx as nx

    G = nx.MultiDiGraph(crs="EPSG:27700")
    for n, (x, y) in enumerate([(532600, 181100), (533100, 181100), (532600, 181500)]):
        G.add_node(n, x=x, y=y)
    G.add_edge(0, 1, key=0, name="Long Street", length=500.0)
    G.add_edge(0, 2, key=0, name="Short Lane", length=400.0)
    return G


def test_plot_place_draws_the_ground_people_know(camden):
    import shapely

    _, wards, areas, _ = camden
    chosen = list(wards["ward_name"].iloc[:2])
    fig = hs.plot_place(wards=wards, highlight=chosen, areas=areas, title="Camden")
    ax = fig.axes[0]
    labels = [t.get_text() for t in _texts(fig, "ward-label")]
    assert set(chosen) <= set(labels)
    big = {t.get_text(): t.get_fontweight() for t in _texts(fig, "ward-label")}
    assert all(big[w] == "bold" for w in chosen)
    stations = [t.get_text() for t in _texts(fig, "station-label")]
    # TfL's network suffixes dropped ("Euston LU" -> "Euston"), each name once
    assert stations and not any(s.endswith((" LU", " NR", " DLR")) for s in stations)
    assert len(stations) == len(set(stations))
    # every drawn station is inside the view; the view fills the frame (no empty bands)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    box = ax.get_position(original=True)
    w_in, h_in = fig.get_size_inches()
    assert (x1 - x0) / (y1 - y0) == pytest.approx(box.width * w_in / (box.height * h_in), rel=1e-6)
    sel = wards[wards["ward_name"].isin(chosen)].geometry.union_all()
    assert shapely.box(x0, y0, x1, y1).contains(sel)  # the chosen wards are all in view
    assert _texts(fig, "scale-bar") and _texts(fig, "north-arrow")
    assert sorted(int(t.get_text()) for t in _texts(fig, "area-label"))[0] == 1
    assert "TfL" in _texts(fig, "attribution")[0].get_text()
    png = plots.figure_png(fig, dpi=50)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_place_route_map_numbers_stops_only_and_names_streets():
    import geopandas as gpd
    import shapely

    G = _two_street_graph()
    stops = gpd.GeoDataFrame({"order": [1, 2]}, geometry=[shapely.Point(533050, 181100),
                                                           shapely.Point(532600, 181450)],
                             crs=27700)
    route = gpd.GeoDataFrame(geometry=[shapely.LineString(
        [(532600, 181100), (533050, 181100)])], crs=27700)
    areas = gpd.GeoDataFrame({"rank": [3]}, geometry=[shapely.Point(533050, 181100).buffer(60)],
                             crs=27700)
    fig = hs.plot_place(route=route, stops=stops, start=shapely.Point(532600, 181100),
                        areas=areas, network=G, area_labels=False)
    assert [t.get_text() for t in _texts(fig, "stop-label")] == ["1", "2"]
    assert not _texts(fig, "area-label")  # one numbering on a route map: the stops
    assert {t.get_text() for t in _texts(fig, "street-label")} == {"Long Street", "Short Lane"}
    assert "OpenStreetMap" in _texts(fig, "attribution")[0].get_text()
    start = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "start"]
    assert len(start) == 1 and start[0].get_marker() == "s"


def test_plot_place_needs_something_to_show():
    with pytest.raises(BadInputError, match="something to show"):
        hs.plot_place()
