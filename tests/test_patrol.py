"""Patrol planner on the real City of London street network and 2019 police.uk data.

References are independent of the code under test: shortest paths recomputed with
networkx per pair, the optimum by brute force over itertools.permutations, GPX read
back with ElementTree.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

import hotspots as hs
from hotspots._errors import BadInputError, HotspotsError
from hotspots.network import SNAP_MAX_M, _snap
from hotspots.report import patrol_briefing
from hotspots.route import (
    DETOUR_FACTOR,
    NO_NETWORK_NOTE,
    _held_karp,
    _local_search,
    _point_bng,
    tour_length,
)
from hotspots.targets import (
    DWELL_MAX,
    DWELL_MIN,
    PLACE_BUFFER_M,
    PLACE_KINDS,
    VERONA_CATEGORIES,
    place_kind,
)

START = (51.5155, -0.0922)  # by St Paul's / Guildhall, inside the City
OUTSIDE = (51.5054, -0.0235)  # Canary Wharf: about 4 km east of the City extract
POLICE_UK = {"Anti-social behaviour": "asb", "Robbery": "robbery",
             "Violence and sexual offences": "violence_sexual"}


@pytest.fixture(scope="module")
def G():
    return hs.street_network("osm_city_of_london")


def _read_city() -> gpd.GeoDataFrame:
    """The 2019 City file as canonical incidents (hs.read_incidents once io lands)."""
    path = hs.dataset_path("city_of_london_2019")
    try:
        from hotspots.io import read_incidents
    except ImportError:  # stand-in reader for the canonical frame
        df = pd.read_csv(path).dropna(subset=["Longitude", "Latitude"])
        return gpd.GeoDataFrame(
            {"incident_id": [f"r{i}" for i in range(len(df))],
             "category": df["Crime type"].map(POLICE_UK).fillna("other").to_numpy(),
             "subcategory": df["Crime type"].to_numpy(), "occurred_at": pd.NaT,
             "month": pd.to_datetime(df["Month"]).to_numpy(),
             "location_desc": df["Location"].to_numpy()},
            geometry=gpd.points_from_xy(df["Longitude"], df["Latitude"]), crs=4326,
        ).to_crs(27700)
    return read_incidents(path)


@pytest.fixture(scope="module")
def inc():
    return _read_city()


def _standin_areas(inc: gpd.GeoDataFrame, k: int = 8) -> gpd.GeoDataFrame:
    """DBSCAN areas ranked by count: stands in for hs.top_areas until rank.py lands."""
    sub = inc[inc["category"].isin(VERONA_CATEGORIES)]
    areas = hs.cluster_areas(hs.dbscan(sub, eps=100, min_samples=15, quiet=True))
    areas = areas.sort_values(["n_incidents", "cluster"], ascending=[False, True]).head(k)
    areas = areas.reset_index(drop=True)
    areas["rank"] = np.arange(1, len(areas) + 1)
    areas["score"] = areas["n_incidents"].astype(float)
    return areas


@pytest.fixture(scope="module")
def areas(inc):
    try:
        return hs.patrol_areas(inc, n=8)
    except HotspotsError:  # hs.top_areas not landed yet
        return _standin_areas(inc)


@pytest.fixture(scope="module")
def targets(inc, G, areas):
    return hs.patrol_targets(inc, network=G, areas=areas, n=8)


def _pair_dist(G, nodes):
    """Shortest-path metres between nodes, one networkx call per pair (the reference)."""
    return np.array([[nx.shortest_path_length(G, a, b, weight="length") for b in nodes]
                     for a in nodes])


def _edge_len(G, u, v):
    return min(d["length"] for d in G.get_edge_data(u, v).values())


# ------------------------------------------------------------------- network


def test_network_is_projected_undirected_and_says_walking_caveat(G):
    assert G.graph["walk"] is True and not G.is_directed()
    assert "footpaths absent" in G.graph["walk_note"]
    xs = np.array([d["x"] for _, d in G.nodes(data=True)])
    ys = np.array([d["y"] for _, d in G.nodes(data=True)])
    # the City of London in British National Grid metres
    assert xs.min() > 529_000 and xs.max() < 536_000
    assert ys.min() > 179_000 and ys.max() < 183_500
    assert nx.is_connected(G)
    # cached: same graph again, and a copy (callers cannot corrupt the cache)
    G2 = hs.street_network("osm_city_of_london")
    assert G2 is not G and G2.number_of_edges() == G.number_of_edges()


def test_network_missing_file_is_clear(tmp_path):
    with pytest.raises(HotspotsError, match="not found"):
        hs.street_network(tmp_path / "nope.osm")


# ------------------------------------------------------------------- targets


def test_targets_snapped_explained_and_month_only_said(targets, inc, areas):
    assert len(targets) == min(8, len(areas)) >= 5
    assert targets.crs.to_epsg() == 27700
    assert targets["reachable"].all() and (targets["snap_m"] <= SNAP_MAX_M).all()
    assert targets["why"].str.contains("incidents").all()
    d = targets["dwell_min"].to_numpy()
    assert d.min() == DWELL_MIN and d.max() == DWELL_MAX
    order = np.argsort(targets["value"].to_numpy(), kind="stable")
    assert (np.diff(d[order]) >= 0).all()  # more value, no shorter dwell
    # police.uk has months only: nothing filtered by hour, and the caveat is recorded
    n_verona = int(inc["category"].isin(VERONA_CATEGORIES).sum())
    assert targets.attrs["untimed"] == n_verona == targets.attrs["n_incidents"]
    assert "month only" in targets.attrs["time_note"]
    assert targets["street"].str.len().gt(0).all() and not targets["street"].eq("-").any()


def test_target_counts_match_a_direct_spatial_count(targets, inc, areas):
    sub = inc[inc["category"].isin(VERONA_CATEGORIES)]
    for i, row in targets.iterrows():
        poly = areas.sort_values("rank").geometry.iloc[i]
        assert row["n_incidents"] == int(sub.geometry.intersects(poly).sum())


def test_hours_window_applies_where_times_exist(G):
    # 10 robberies at 15:00 and 30 at 03:00 on the same spot: only the 10 are inside 14-24
    p = Point(532_300, 181_200)
    t = [pd.Timestamp("2024-03-01 15:00")] * 10 + [pd.Timestamp("2024-03-02 03:00")] * 30
    inc = gpd.GeoDataFrame({"category": "robbery", "occurred_at": t,
                            "subcategory": "Robbery"}, geometry=[p] * 40, crs=27700)
    area = gpd.GeoDataFrame({"rank": [1], "score": [1.0]}, geometry=[p.buffer(50)], crs=27700)
    tg = hs.patrol_targets(inc, network=G, areas=area, n=1)
    assert tg["n_incidents"].tolist() == [10] and tg.attrs["untimed"] == 0
    tg = hs.patrol_targets(inc, network=G, areas=area, n=1, hours=(22, 6))  # wraps midnight
    assert tg["n_incidents"].tolist() == [30]
    tg = hs.patrol_targets(inc, network=G, areas=area, n=1, hours=None)
    assert tg["n_incidents"].tolist() == [40]


def test_streetsafe_reasons_in_why(G):
    p = Point(532_300, 181_200)
    inc = gpd.GeoDataFrame(
        {"category": "streetsafe", "occurred_at": pd.Timestamp("2024-03-01 20:00"),
         "subcategory": ["poor lighting"] * 5 + ["followed"] * 2},
        geometry=[p] * 7, crs=27700)
    area = gpd.GeoDataFrame({"rank": [1], "score": [7.0]}, geometry=[p.buffer(50)], crs=27700)
    why = hs.patrol_targets(inc, network=G, areas=area, n=1)["why"].iloc[0]
    # a reason given fewer than 5 times is not counted exactly (anonymous reports)
    assert "poor lighting (5)" in why and "followed (fewer than 5)" in why
    assert "(2)" not in why


# ------------------------------------------------------------------- route


def test_route_is_connected_real_path_with_consistent_length(G, targets):
    plan = hs.plan_patrol(G, targets, start=START, max_minutes=600)
    assert len(plan.stops) == len(targets) and plan.dropped.empty
    nodes = plan.nodes
    assert all(G.has_edge(u, v) for u, v in itertools.pairwise(nodes))
    start_node = _snap(G, [plan.start.coords[0]])[0][0]
    assert nodes[0] == start_node and nodes[-1] == plan.stops["node"].iloc[-1]
    # every stop's node is on the path, in visiting order
    pos = [nodes.index(n) for n in plan.stops["node"]]
    assert pos == sorted(pos)
    walked = sum(_edge_len(G, u, v) for u, v in itertools.pairwise(nodes))
    assert plan.length_m == pytest.approx(walked, rel=1e-9)
    # the drawn line follows the edge geometries: its length matches the edge lengths
    assert plan.route.geometry.length.sum() == pytest.approx(walked, rel=0.01)
    assert plan.route.crs.to_epsg() == 27700 and plan.stops.crs.to_epsg() == 27700
    for col in ("order", "name", "why", "street", "arrival", "dwell_min", "lat", "lon"):
        assert col in plan.stops.columns
    assert plan.stops["order"].tolist() == list(range(1, len(targets) + 1))


def test_order_is_brute_force_optimum_open_path(G, targets):
    plan = hs.plan_patrol(G, targets, start=START, max_minutes=600)
    start_node = _snap(G, [plan.start.coords[0]])[0][0]
    stop_nodes = list(targets["node"])
    D = _pair_dist(G, [start_node, *stop_nodes])
    best = min(D[0, p[0]] + sum(D[a, b] for a, b in itertools.pairwise(p))
               for p in itertools.permutations(range(1, len(stop_nodes) + 1)))
    assert plan.length_m == pytest.approx(best, rel=1e-9)
    assert plan.attrs["solver"].startswith("exact")


def test_order_is_brute_force_optimum_closed_loop(G, targets):
    tg = targets.head(7)
    plan = hs.plan_patrol(G, tg, start=START, end=START, max_minutes=600)
    n = len(tg)
    assert plan.attrs["closed"] and plan.nodes[0] == plan.nodes[-1]
    start_node = plan.nodes[0]
    D = _pair_dist(G, [start_node, *tg["node"]])
    best = min(D[0, p[0]] + sum(D[a, b] for a, b in itertools.pairwise(p)) + D[p[-1], 0]
               for p in itertools.permutations(range(1, n + 1)))
    assert plan.length_m == pytest.approx(best, rel=1e-9)
    assert all(G.has_edge(u, v) for u, v in itertools.pairwise(plan.nodes))


def test_heuristic_is_valid_and_no_better_than_optimum(G, targets):
    exact = hs.plan_patrol(G, targets, start=START, max_minutes=600)
    approx = hs.plan_patrol(G, targets, start=START, max_minutes=600, exact_max=0)
    assert approx.attrs["solver"].startswith("nearest")
    assert sorted(approx.stops["target_id"]) == sorted(exact.stops["target_id"])
    assert approx.length_m >= exact.length_m - 1e-6
    assert approx.length_m <= 1.25 * exact.length_m  # 2-opt + Or-opt on 8 stops: close
    assert all(G.has_edge(u, v) for u, v in itertools.pairwise(approx.nodes))


def test_solvers_on_random_matrices_match_brute_force():
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 7):
        D = rng.uniform(1, 100, size=(n + 1, n + 1))  # asymmetric on purpose
        for tail in (np.zeros(n + 1), D[:, 0].copy(), rng.uniform(1, 100, n + 1)):
            best = min(tour_length(list(p), D, tail)
                       for p in itertools.permutations(range(1, n + 1)))
            seq = _held_karp(D, tail)
            assert sorted(seq) == list(range(1, n + 1))
            assert tour_length(seq, D, tail) == pytest.approx(best)
            ls = _local_search(D, tail)
            assert sorted(ls) == list(range(1, n + 1))
            assert tour_length(ls, D, tail) >= best - 1e-9


def test_one_dijkstra_per_stop_never_all_pairs(G, targets, monkeypatch):
    calls = []
    real = nx.single_source_dijkstra

    def counting(graph, source, *a, **k):
        calls.append(source)
        return real(graph, source, *a, **k)

    def forbidden(*a, **k):
        raise AssertionError("all-pairs shortest paths on the city graph")

    monkeypatch.setattr(nx, "single_source_dijkstra", counting)
    for name in ("all_pairs_dijkstra_path_length", "all_pairs_dijkstra", "floyd_warshall",
                 "floyd_warshall_numpy"):
        monkeypatch.setattr(nx, name, forbidden)
    monkeypatch.setattr(nx.approximation, "traveling_salesman_problem", forbidden)
    plan = hs.plan_patrol(G, targets, start=START, max_minutes=600)
    assert len(calls) == len(set(calls)) == plan.attrs["n_dijkstra"] <= len(targets) + 1


def _route_minutes(D, dwell, rows):
    """Fewest minutes (80 m/min walking + dwell) for an open path from row 0 through
    `rows` of D, by brute force over every order."""
    if not rows:
        return 0.0
    walk = min(D[0, p[0]] + sum(D[a, b] for a, b in itertools.pairwise(p))
               for p in itertools.permutations(rows))
    return walk / 80 + sum(dwell[r] for r in rows)


def _check_nothing_left_out_fits(plan, ids, D, dwell, budget, exact=True):
    """The plan fits; no target left out fits with the planned stops (any order); each
    reason names the minutes of the best route with it added (not exact: of a route
    with it added, no shorter than the best). Row i + 1 of D is ids[i]."""
    row = {t: i + 1 for i, t in enumerate(ids)}
    kept = [row[t] for t in plan.stops["target_id"]]
    assert plan.minutes <= budget
    assert plan.minutes == pytest.approx(_route_minutes(D, dwell, kept), abs=1e-3)
    for _, d in plan.dropped.iterrows():
        with_it = _route_minutes(D, dwell, [*kept, row[d["target_id"]]])
        assert with_it > budget
        m = re.search(r"would take ([\d.]+) min > ", d["reason"])
        assert d["reason"].startswith("over the time budget") and m, d["reason"]
        if exact:
            assert float(m.group(1)) == pytest.approx(with_it, abs=0.5)
        assert float(m.group(1)) >= with_it - 0.5


def _straight(pts, start):
    """Straight-line metres x DETOUR_FACTOR between start (row 0) and the points."""
    xy = [start, *pts]
    return np.array([[a.distance(b) * DETOUR_FACTOR for b in xy] for a in xy])


def _best_value(D, dwell, value, budget):
    """Brute force over every subset of targets (rows 1..n): the most value that fits."""
    n = len(D) - 1
    return max(sum(value[r] for r in sub)
               for k in range(n + 1) for sub in itertools.combinations(range(1, n + 1), k)
               if _route_minutes(D, dwell, list(sub)) <= budget)


def test_time_budget_holds_and_nothing_left_out_fits(G, targets):
    plan = hs.plan_patrol(G, targets, start=START, max_minutes=60, walk_kmh=4.8)
    assert plan.minutes <= 60
    assert len(plan.stops) >= 1 and len(plan.dropped) >= 1
    start_node = _snap(G, [plan.start.coords[0]])[0][0]
    D = _pair_dist(G, [start_node, *targets["node"]])
    _check_nothing_left_out_fits(plan, list(targets["target_id"]), D,
                                 [0, *targets["dwell_min"]], 60)
    # minutes = walking at 4.8 km/h + dwell, and the arrival clock follows from it
    assert plan.minutes == pytest.approx(plan.length_m / 80 + plan.stops["dwell_min"].sum())
    first = plan.stops.iloc[0]
    expected = 14 * 60 + first["walk_m"] / 80
    assert first["arrival"] == f"{int(round(expected)) // 60:02d}:{int(round(expected)) % 60:02d}"
    assert len(plan.stops) + len(plan.dropped) == len(targets)


def test_budget_keeps_two_near_stops_over_one_far_one():
    # A (the start, worth 100), B 1.5 km east (50), C and D 200 m north and south (30
    # each). 60 min fits A+B (54 min) or A+C+D (50 min), never B with C or D: dropping
    # the lowest value while over budget keeps A+B (150); A+C+D is worth 160.
    pts = [Point(530000, 180000), Point(531500, 180000), Point(530000, 180200),
           Point(530000, 179800)]
    tg = gpd.GeoDataFrame({"target_id": list("ABCD"), "value": [100, 50, 30, 30],
                           "dwell_min": [20, 10, 10, 10]}, geometry=pts, crs=27700)
    D = _straight(pts, pts[0])
    dwell, value = [0, 20, 10, 10, 10], [0, 100, 50, 30, 30]
    assert _best_value(D, dwell, value, 60) == 160
    for exact_max in (9, 0):  # the exact choice, and drop + add back + give up one
        plan = hs.plan_patrol(None, tg, max_minutes=60, exact_max=exact_max)
        assert sorted(plan.stops["target_id"]) == ["A", "C", "D"]
        _check_nothing_left_out_fits(plan, list("ABCD"), D, dwell, 60)
        # with B: A-C-D-B, (200 + 400 + 1513.3 m) x 1.3 / 80 m/min + 50 min dwell
        assert "would take 84 min > 60 min" in plan.dropped.set_index("target_id").at["B",
                                                                                        "reason"]


def test_budget_choice_matches_brute_force_on_random_cases():
    rng = np.random.default_rng(11)
    for _ in range(6):
        pts = [Point(*p) for p in rng.uniform(0, 2000, (6, 2)) + [530000, 180000]]
        value = [100, *rng.uniform(1, 50, 5)]  # the start is at the most valuable
        dwell = rng.integers(10, 21, 6)
        budget = float(rng.uniform(40, 110))
        tg = gpd.GeoDataFrame({"target_id": [f"T{i}" for i in range(6)], "value": value,
                               "dwell_min": dwell}, geometry=pts, crs=27700)
        D = _straight(pts, pts[0])
        best = _best_value(D, [0, *dwell], [0, *value], budget)
        exact = hs.plan_patrol(None, tg, max_minutes=budget)
        assert exact.stops["value"].sum() == pytest.approx(best)
        _check_nothing_left_out_fits(exact, list(tg["target_id"]), D, [0, *dwell], budget)
        approx = hs.plan_patrol(None, tg, max_minutes=budget, exact_max=0)
        assert approx.stops["value"].sum() <= best + 1e-9
        _check_nothing_left_out_fits(approx, list(tg["target_id"]), D, [0, *dwell], budget,
                                     exact=False)


def test_unreachable_target_is_reported_not_lost(G, targets):
    x, y = _point_bng(OUTSIDE, "t").coords[0]
    far = gpd.GeoDataFrame({"target_id": ["FAR"], "name": ["Canary Wharf"], "why": ["test"],
                            "value": [1e9], "dwell_min": [10]},
                           geometry=[Point(x, y)], crs=27700)
    # an island node: on the graph but with no path to it
    G2 = G.copy()
    # 60 m off the street node farthest from the three real targets (so none snaps to it)
    nx_, ny_ = (np.array([d[k] for _, d in G.nodes(data=True)]) for k in ("x", "y"))
    tx, ty = targets.geometry.x.to_numpy()[:3], targets.geometry.y.to_numpy()[:3]
    far_i = np.argmax(np.hypot(nx_[:, None] - tx, ny_[:, None] - ty).min(axis=1))
    ix, iy = nx_[far_i] + 60, ny_[far_i]
    G2.add_node("island", x=ix, y=iy)
    island = gpd.GeoDataFrame({"target_id": ["ISL"], "name": ["Island"], "value": [1e9],
                               "dwell_min": [10]}, geometry=[Point(ix, iy)], crs=27700)
    tg = pd.concat([targets.head(3), far, island], ignore_index=True)
    plan = hs.plan_patrol(G2, tg, start=START, max_minutes=600)
    dropped = plan.dropped.set_index("target_id")["reason"]
    assert dropped["FAR"].startswith("unreachable") and "from the nearest street" in dropped["FAR"]
    assert dropped["ISL"].startswith("unreachable") and "no path" in dropped["ISL"]
    assert len(plan.stops) == 3


def test_start_outside_network_is_a_clear_error(G, targets):
    with pytest.raises(BadInputError, match="outside the area the network covers"):
        hs.plan_patrol(G, targets, start=OUTSIDE)
    with pytest.raises(BadInputError, match="lat,lon"):
        hs.plan_patrol(G, targets, start="somewhere")


def test_exports_gpx_and_geojson(G, targets, tmp_path):
    plan = hs.plan_patrol(G, targets, start=START, max_minutes=120)
    gpx = plan.to_gpx(tmp_path / "route.gpx")
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    root = ET.parse(gpx).getroot()
    wpts = root.findall("g:wpt", ns)
    assert len(wpts) == len(plan.stops)
    for w, (_, s) in zip(wpts, plan.stops.iterrows(), strict=True):
        assert float(w.get("lat")) == pytest.approx(s["lat"], abs=1e-5)
        assert float(w.get("lon")) == pytest.approx(s["lon"], abs=1e-5)
    trk = [(float(p.get("lat")), float(p.get("lon"))) for p in root.iter(f"{{{ns['g']}}}trkpt")]
    assert len(trk) >= len(plan.nodes) // 2
    assert all(51.49 < lat < 51.53 and -0.12 < lon < -0.06 for lat, lon in trk)
    doc = json.loads((plan.to_geojson(tmp_path / "route.geojson")).read_text())
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("stop") == len(plan.stops) and kinds.count("route") == len(plan.route)
    back = gpd.read_file(tmp_path / "route.geojson")
    assert back.crs.to_epsg() == 4326


def test_briefing_lists_stops_and_caveats(G, targets):
    plan = hs.plan_patrol(G, targets, start=START, max_minutes=90)
    md, html = patrol_briefing(plan, area_name="City of London")
    for _, s in plan.stops.iterrows():
        assert s["arrival"] in md and s["street"] in md
    for _, d in plan.dropped.iterrows():
        assert d["name"] in md
    assert f"{plan.length_m / 1000:.1f} km" in md
    assert "footpaths absent" in md and "month only" in md
    assert "OpenStreetMap" in md and "Open Government Licence" in html
    assert html.startswith("<!doctype html>") and "<table>" in html
    assert not math.isnan(plan.minutes)


def test_cli_patrol(tmp_path, monkeypatch):
    pytest.importorskip("hotspots.io")
    pytest.importorskip("hotspots.rank")
    from typer.testing import CliRunner

    from hotspots.cli import app

    res = CliRunner().invoke(app, ["patrol", "--network", "osm_city_of_london",
                                   "--incidents", "city_of_london_2019",
                                   "--start", "51.5155,-0.0922", "--minutes", "120",
                                   "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    for f in ("route.geojson", "route.gpx", "briefing.md", "briefing.html"):
        assert (tmp_path / f).is_file()


def test_place_name_offline_is_a_clear_error(monkeypatch):
    import osmnx as ox

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(ox, "graph_from_place", offline)
    with pytest.raises(HotspotsError, match="Offline"):
        hs.street_network("Soho, London")


def test_licensed_premises_listed_in_greenwich():
    # a target on Greenwich Church Street: FSA pubs/bars/nightclubs within 300 m are named
    fsa = pd.read_csv(hs.dataset_path("fsa_greenwich"))
    pubs = fsa[fsa["BusinessType"].eq("Pub/bar/nightclub")].dropna(subset=["Longitude"])
    p = gpd.GeoSeries([Point(-0.0093, 51.4812)], crs=4326).to_crs(27700).iloc[0]
    inc = gpd.GeoDataFrame({"category": ["asb"] * 3, "occurred_at": [pd.NaT] * 3},
                           geometry=[p] * 3, crs=27700)
    area = gpd.GeoDataFrame({"rank": [1], "score": [3.0]}, geometry=[p.buffer(50)], crs=27700)
    tg = hs.patrol_targets(inc, areas=area, n=1)
    g = gpd.GeoSeries(gpd.points_from_xy(pubs["Longitude"], pubs["Latitude"]), crs=4326)
    nearest = pubs["BusinessName"].iloc[int(g.to_crs(27700).distance(p).argmin())]
    assert nearest in tg["pois"].iloc[0]
    assert "FSA" in tg.attrs["poi_note"] and "no parks data" in tg.attrs["poi_note"]


def test_fixed_end_is_brute_force_optimum(G, targets):
    tg = targets.head(6)
    end = (51.5178, -0.0823)  # Liverpool Street
    start_bng = _point_bng(START, "start")  # a BNG Point works as a start too
    plan = hs.plan_patrol(G, tg, start=start_bng, end=end, max_minutes=600)
    end_node = _snap(G, [_point_bng(end, "end").coords[0]])[0][0]
    assert plan.nodes[-1] == end_node and plan.route["to_name"].iloc[-1] == "End"
    D = _pair_dist(G, [plan.nodes[0], *tg["node"], end_node])
    n = len(tg)
    best = min(D[0, p[0]] + sum(D[a, b] for a, b in itertools.pairwise(p)) + D[p[-1], n + 1]
               for p in itertools.permutations(range(1, n + 1)))
    assert plan.length_m == pytest.approx(best, rel=1e-9)


def _line_graph():
    """Two nodes 100 m apart on one street, in BNG: a hand-checkable network."""
    G = nx.MultiGraph(crs="EPSG:27700")
    G.add_node("A", x=530_000.0, y=180_000.0)
    G.add_node("B", x=530_100.0, y=180_000.0)
    G.add_edge("A", "B", length=100.0, name="Test Street")
    return G


def test_park_area_met_at_its_edge_far_area_unreachable():
    # area P: 800 m wide box whose centre is 500 m from B but whose west edge is 100 m from B
    # (a park with no paths in the extract); area F: 900 m from B at its nearest
    G = _line_graph()
    park = box(530_200, 179_900, 531_000, 180_100)
    far = box(531_000, 181_000, 531_200, 181_200)
    inc = gpd.GeoDataFrame({"category": ["robbery"] * 9, "occurred_at": [pd.NaT] * 9},
                           geometry=[park.centroid] * 6 + [far.centroid] * 3, crs=27700)
    areas = gpd.GeoDataFrame({"rank": [1, 2], "score": [6.0, 3.0]}, geometry=[park, far],
                             crs=27700)
    tg = hs.patrol_targets(inc, network=G, areas=areas, n=2)
    p, f = tg.iloc[0], tg.iloc[1]
    assert p["reachable"] and p["node"] == "B" and p["snap_m"] == pytest.approx(100.0)
    assert (p.geometry.x, p.geometry.y) == pytest.approx((530_200, 180_000))
    assert p["street"] == "Test Street"
    assert "edge is 100 m from this street and its centre 500 m" in p["why"]
    # F: its nearest point (531000, 181000) is hypot(900, 1000) m from B; still reported
    assert not f["reachable"] and f["snap_m"] > SNAP_MAX_M
    plan = hs.plan_patrol(G, tg, start=Point(530_000, 180_000), max_minutes=600)
    assert plan.stops["target_id"].tolist() == ["T1"]
    assert plan.dropped["target_id"].tolist() == ["T2"]
    assert plan.length_m == pytest.approx(100.0)


def test_unknown_category_is_a_clear_error(inc):
    with pytest.raises(BadInputError, match="unknown incident categories.*robery"):
        hs.patrol_targets(inc, categories=("robery",))


def test_briefing_says_start_finish_hotspot_rank_and_what_was_counted(G, targets, inc):
    plan = hs.plan_patrol(G, targets, start=START, max_minutes=120, start_time="18:30")
    md, _ = patrol_briefing(plan)
    last = plan.stops.iloc[-1]
    assert plan.attrs["end_time"] == last["depart"]  # open path: ends with the last stop
    assert f"about {last['depart']}" in md and "Start 18:30 at " in md
    assert f"{START[0]:.5f}" not in md  # lat/lon live in the GPX, not in the briefing
    assert plan.attrs["start_street"] in md and plan.attrs["start_street"] != "unnamed road"
    # each stop's row carries its hotspot's rank from the targets
    rank = targets.set_index("target_id")["rank"]
    for _, s in plan.stops.iterrows():
        assert s["rank"] == rank[s["target_id"]]
        assert f"| {s['order']} | {s['rank']} | {s['arrival']} |" in md
    # what the counts cover, recounted independently
    n = inc.loc[inc["category"].isin(VERONA_CATEGORIES), "category"].value_counts()
    assert f"{n['robbery']} robbery" in md and f"{n['asb']} anti-social behaviour" in md
    assert "Jan 2019 to Dec 2019" in md and "none of StreetSafe reports" in md
    # nothing fits: said plainly, and the briefing still renders
    empty = hs.plan_patrol(G, targets, start=START, max_minutes=5)
    assert empty.stops.empty and len(empty.dropped) == len(targets)
    assert "No stop fits the time budget" in patrol_briefing(empty)[0]


@pytest.mark.browser
def test_cli_westminster_graphml_london_2022_subset(tmp_path, open_page, london_2022_csv):
    """The issue's CLI on the Westminster GraphML with London 2022 crime inside it."""
    from typer.testing import CliRunner

    from hotspots.cli import app

    G = hs.street_network("osm_westminster")
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)])
    lon, lat = (gpd.GeoSeries.from_xy(xy[:, 0], xy[:, 1], crs=27700).to_crs(4326)
                .total_bounds.reshape(2, 2).T)
    df = london_2022_csv  # pd.read_csv of the file, once per session (conftest)
    df = df[df["longitude"].between(*lon) & df["latitude"].between(*lat)]
    df = df[df["type"].isin(["robbery", "violent or sexual"])]
    src = tmp_path / "westminster_street_crime_2022.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, [
        "patrol", "--network", str(hs.dataset_path("osm_westminster")), "--incidents", str(src),
        "--start", "51.5101,-0.1340", "--minutes", "120", "--categories",
        "robbery,violence_sexual", "--hours", "all", "--offline", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "route.geojson").read_text())
    stops = [f for f in doc["features"] if f["properties"]["kind"] == "stop"]
    assert 1 <= len(stops) <= 8
    nodes = [f["properties"]["node"] for f in stops]
    assert all(str(n) in {str(v) for v in G.nodes} for n in nodes)
    assert doc["properties"]["minutes"] <= 120
    md = (out / "briefing.md").read_text()
    assert "footpaths absent" in md and "Jan 2022 to Dec 2022" in md
    for f in stops:
        assert f["properties"]["street"] in md and f["properties"]["arrival"] in md
    page, log = open_page(out / "map.html")
    page.wait_for_selector(".hs-stop")
    assert page.locator(".hs-stop").count() == len(stops)
    assert page.locator("path.hs-route").count() >= len(stops)
    assert page.locator("path.hs-area").count() >= len(stops)
    legend = page.locator(".hs-legend").inner_text()
    assert "walking order" in legend and "hotspot areas" in legend
    assert page.locator(".hs-area-label").count() == 0  # one numbering: the stops
    page.locator(".hs-stop-1").click()
    text = page.locator(".leaflet-popup-content").inner_text()
    first = stops[0]["properties"]
    assert "Stop 1" in text and f"Arrive: {first['arrival']}" in text


# --------------------------------------------------------------------------- Harrow 2022

HARROW_CATS = ("robbery", "violence_sexual")


@pytest.fixture(scope="module")
def harrow_targets(harrow):
    return hs.patrol_targets(harrow, categories=HARROW_CATS, hours=None, n=8)


def test_every_london_location_type_has_a_kind(london_2022_csv):
    # the 23 location types police.uk used across London in 2022, read from the file
    df = london_2022_csv
    types = df["location_type"].dropna().unique()
    assert len(types) >= 20
    for t in types:
        assert t.lower() in PLACE_KINDS, t
    assert place_kind("Nightclub") == "night-time economy"
    assert place_kind("LU Station") == place_kind("Rail Station") == "station"
    assert place_kind("Supermarket") == place_kind("Shopping Area") == \
        "shopping area"


def test_harrow_targets_carry_place_types_and_nearest_station(harrow, harrow_targets):
    tg = harrow_targets
    areas = hs.patrol_areas(harrow, categories=HARROW_CATS, hours=None, n=8)
    assert len(tg) == 8
    # place types recounted by hand: every crime (any category) within 50 m of the area
    typed = harrow[harrow["place_type"].notna()]
    st = hs.stations()
    for (_, t), area in zip(tg.iterrows(), areas.geometry, strict=True):
        near = typed[typed.geometry.distance(area) <= PLACE_BUFFER_M]
        counts = near["place_type"].value_counts()
        for ptype, c in counts.items():
            assert f"{ptype} {c}" in t["place_types"], (t["name"], ptype, c)
        kinds = {place_kind(p) for p in counts.index}
        assert set(filter(None, t["place_kinds"].split(", "))) == kinds
        # the nearest TfL station, by brute force over all 471
        d = st.geometry.distance(t.geometry)
        assert t["station"] == st["name"].iloc[int(d.argmin())]
        assert t["station_m"] == pytest.approx(d.min(), abs=0.1)
        # named by place, never by coordinates
        assert not re.search(r"\d+\.\d{3,}", t["name"]), t["name"]
        assert "station" in t["serves"] or t["place_kinds"].split(", ")[0] in t["serves"]
    top = tg.iloc[0]  # Harrow town centre by Harrow-on-the-Hill station
    assert top["serves"].startswith("Harrow-on-the-Hill station")
    assert "shopping area" in top["serves"] and top["name"].startswith("Hotspot 1: Harrow-on")
    assert "Greenhill" in top["street"] and top["street"].endswith("wards")
    assert "recorded places: Shopping Area" in top["why"]
    assert "recorded location types" in tg.attrs["place_note"]
    assert "place_type" not in tg.attrs["place_note"]  # the note reaches the briefing
    assert tg.attrs["network"] is False


def test_raw_location_type_is_used_when_place_type_is_absent(harrow, harrow_targets):
    raw = harrow.drop(columns="place_type")
    if "location_type" not in raw.columns:  # io drops the raw column: rebuild it
        raw["location_type"] = harrow["place_type"]
    tg = hs.patrol_targets(raw, categories=HARROW_CATS, hours=None, n=8)
    assert tg["place_types"].tolist() == harrow_targets["place_types"].tolist()
    assert tg["serves"].tolist() == harrow_targets["serves"].tolist()


def test_harrow_plan_without_network_orders_stops_and_says_so(harrow_targets):
    tg = harrow_targets
    plan = hs.plan_patrol(None, tg, max_minutes=180)
    assert plan.attrs["network"] is False and plan.route.empty
    assert plan.notes[0] == NO_NETWORK_NOTE
    # starts at the top hotspot; the order is the brute-force optimum on straight lines
    assert plan.stops["target_id"].iloc[0] == "T1"
    ids = plan.stops["target_id"].tolist()
    pts = tg.set_index("target_id").geometry
    f = DETOUR_FACTOR

    def length(seq):
        return sum(pts[a].distance(pts[b]) * f for a, b in itertools.pairwise(seq))

    best = min(length(["T1", *p]) for p in itertools.permutations(ids[1:]))
    assert plan.length_m == pytest.approx(best, abs=0.01)  # nodes kept to the millimetre
    assert plan.minutes <= 180
    D = _straight(list(pts[tg["target_id"]]), plan.start)
    _check_nothing_left_out_fits(plan, list(tg["target_id"]), D, [0, *tg["dwell_min"]], 180)
    kept = set(ids)
    assert kept | set(plan.dropped["target_id"]) == set(tg["target_id"])
    # what was left out was worth less than what was kept
    value = tg.set_index("target_id")["value"]
    assert value[list(plan.dropped["target_id"])].max() < value[ids].max()
    md, html = patrol_briefing(plan, area_name="Harrow")
    assert "No street network" in md and "No street network" in html
    assert md.index("No street network") < md.index("## Stops")  # said up front
    for _, s in plan.stops.iterrows():
        assert s["serves"] in md
    assert "Harrow-on-the-Hill station" in md and "shopping area" in md
    assert "walk to here, estimated (m)" in md and "about " in md
    assert "OpenStreetMap" not in md and "Transport for London" in md


def test_harrow_plan_uses_the_budget(harrow_targets):
    # the reviewer's case: dropping the lowest value while over 120 min used to leave
    # T1 + T2 (68 min, worth 263.7) though T1 + T3 + T7 fits in 70 min (worth 280)
    tg = harrow_targets
    value = tg.set_index("target_id")["value"]
    pts = tg.set_index("target_id").geometry
    for budget in (120, 180):
        plan = hs.plan_patrol(None, tg, max_minutes=budget)
        D = _straight(list(pts[tg["target_id"]]), plan.start)
        _check_nothing_left_out_fits(plan, list(tg["target_id"]), D, [0, *tg["dwell_min"]],
                                     budget)
        assert plan.stops["value"].sum() >= value[["T1", "T3", "T7"]].sum()
        assert plan.stops["value"].sum() > value[["T1", "T2"]].sum()


def test_cli_patrol_harrow_without_network(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    res = CliRunner().invoke(app, ["patrol", "--incidents", "harrow_crime_2022",
                                   "--categories", "robbery,violence_sexual", "--hours", "all",
                                   "--area-name", "Harrow", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "no street network" in res.output
    md = (tmp_path / "briefing.md").read_text()
    assert "Harrow: " in md and "No street network" in md and "station" in md
    assert "OpenStreetMap" not in md
    gpx = ET.parse(tmp_path / "route.gpx").getroot()
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert len(gpx.findall("g:wpt", ns)) >= 1 and not gpx.findall(".//g:trkpt", ns)


def test_plan_says_how_its_hotspots_were_drawn(harrow):
    # patrol areas are KDE areas by default: the briefing says so, since their counts
    # differ from a DBSCAN top-twenty table of the same data
    t = hs.patrol_targets(harrow, categories=("robbery", "violence_sexual"), hours=None, n=4)
    plan = hs.plan_patrol(None, t, max_minutes=120)
    assert any(n.startswith("Hotspot areas: kernel density") for n in plan.notes)
