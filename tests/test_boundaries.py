"""Ward and borough boundaries, Harrow's area teams and ward populations, on the real data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import hotspots as hs
from hotspots import boundaries, datasets


@pytest.fixture(scope="module")
def gla_pop() -> pd.DataFrame:
    """The GLA file read directly, as the independent reference."""
    return pd.read_csv(datasets.path("ward_population"))


# --- wards and boroughs -----------------------------------------------------------------


def test_harrow_ward_counts_and_codes():
    w22 = hs.wards("Harrow", 2022)
    w18 = hs.wards("harrow", 2018)
    assert len(w22) == 22 and len(w18) == 21
    assert set(w22["ward_code"]) == {f"E050135{n}" for n in range(42, 64)}
    assert set(w18["ward_code"]) == {f"E05000{n}" for n in range(285, 306)}
    assert w22.crs.to_epsg() == 27700
    assert list(w22.columns) == boundaries.WARD_COLUMNS
    assert hs.wards("E09000015", 2022)["ward_code"].tolist() == w22["ward_code"].tolist()


def test_unknown_borough_lists_close_matches():
    with pytest.raises(hs.UnknownPlaceError, match=r"close matches: \['Harrow'\]"):
        hs.wards("Harow")
    with pytest.raises(hs.UnknownPlaceError, match="Richmond upon Thames"):
        hs.boroughs("Richmond")


def test_borough_names_match_loosely():
    """Any case, spaces, '&' for 'and', a list, or E09 codes give the same wards."""
    ref = hs.wards("Kensington and Chelsea", 2018)["ward_code"].tolist()
    for name in ("kensington & chelsea", " KENSINGTON AND CHELSEA ", "e09000020"):
        assert hs.wards(name, 2018)["ward_code"].tolist() == ref
    both = hs.wards(["Harrow", "Hammersmith & Fulham"], 2018)
    assert set(both["borough_name"]) == {"Harrow", "Hammersmith and Fulham"}
    assert hs.boroughs(["harrow", "E09000013"])["borough_name"].tolist() == [
        "Hammersmith and Fulham", "Harrow"]


# --- area teams -------------------------------------------------------------------------


def test_area_teams_2018_cover_all_wards():
    t = hs.area_teams(2018)
    w = hs.wards("Harrow", 2018)
    assert list(t.columns) == ["ward_code", "ward_name", "team"]
    assert sorted(t["ward_code"]) == sorted(w["ward_code"])
    assert t["team"].value_counts().to_dict() == {"WEST": 8, "CENTRAL": 7, "EAST": 6}
    by_name = dict(zip(t["ward_name"], t["team"], strict=True))
    assert by_name["Stanmore Park"] == "EAST" and by_name["Roxeth"] == "WEST"
    assert by_name["Wealdstone"] == "CENTRAL"
    assert t.set_index("ward_name").loc["Belmont", "ward_code"] == "E05000285"


def test_area_teams_2022_by_largest_overlap():
    t = hs.area_teams(2022)
    assert len(t) == 22 and t["team"].notna().all()
    assert set(t["ward_code"]) == set(hs.wards("Harrow", 2022)["ward_code"])
    assert t["overlap_share"].between(0.5, 1.0).all()
    row = t.set_index("ward_name")
    # hand-checked: 2022 Canons lies inside 2018 Canons; Wealdstone South is mostly
    # the old Marlborough ward (CENTRAL); North Harrow mostly old West Harrow (WEST)
    assert row.loc["Canons", "team"] == "EAST" and row.loc["Canons", "overlap_share"] > 0.99
    assert row.loc["Wealdstone South", "ward_2018"] == "Marlborough"
    assert row.loc["Wealdstone South", "team"] == "CENTRAL"
    assert row.loc["North Harrow", "team"] == "WEST"
    assert row.loc["Centenary", "team"] == "EAST"  # new ward, mostly old Queensbury


def test_area_teams_2022_matches_point_sampling():
    """Independent estimate: a 50 m lattice of points, joined with plain geopandas.sjoin."""
    t = hs.area_teams(2022).set_index("ward_code")
    w22 = hs.wards("Harrow", 2022)[["ward_code", "geometry"]]
    w18 = hs.wards("Harrow", 2018)[["ward_code", "ward_name", "geometry"]]
    x0, y0, x1, y1 = w22.total_bounds
    xx, yy = np.meshgrid(np.arange(x0, x1, 50.0), np.arange(y0, y1, 50.0))
    pts = gpd.GeoDataFrame(geometry=shapely.points(xx.ravel(), yy.ravel()), crs=27700)
    a = gpd.sjoin(pts, w22, predicate="within").drop(columns="index_right")
    b = gpd.sjoin(a, w18.rename(columns={"ward_code": "code18"}), predicate="within")
    share = b.groupby(["ward_code", "ward_name"]).size() / a.groupby("ward_code").size()
    best = share.reset_index(name="s").sort_values("s").drop_duplicates("ward_code", keep="last")
    best = best.set_index("ward_code")
    assert (best["ward_name"] == t.loc[best.index, "ward_2018"]).all()
    np.testing.assert_allclose(best["s"], t.loc[best.index, "overlap_share"], atol=0.02)


def test_area_teams_fails_clearly_on_a_misspelt_ward(monkeypatch):
    real = boundaries._package_csv

    def fake(name):
        df = real(name)
        df.loc[0, "ward_name"] = "Greenhil"
        return df

    monkeypatch.setattr(boundaries, "_package_csv", fake)
    with pytest.raises(hs.UnknownPlaceError, match="Greenhil"):
        hs.area_teams(2018)


# --- populations ------------------------------------------------------------------------


def test_population_2018_wards_are_the_gla_figures(gla_pop):
    p = hs.ward_population(2018, borough="Harrow")
    assert p.attrs["ward_year"] == 2018 and p.attrs["method"] == "direct"
    assert len(p) == 21 and p["population"].notna().all()
    ref = gla_pop[gla_pop["Year"] == 2018].set_index("Code")["Population"]
    np.testing.assert_array_equal(p["population"], ref.loc[p["ward_code"]].to_numpy())


def test_population_2022_wards_area_weighted(gla_pop):
    p = hs.ward_population(2022, borough="Harrow")
    assert p.attrs["method"] == "area-weighted"
    assert len(p) == 22 and (p["population"] > 1000).all()
    ref = gla_pop[(gla_pop["Year"] == 2022) & (gla_pop["Borough"] == "Harrow")]
    assert p["population"].sum() == pytest.approx(ref["Population"].sum())  # total kept


@pytest.mark.parametrize("name", ["Canons", "Kenton West", "Hatch End", "Roxbourne", "Greenhill"])
def test_population_2022_single_source_wards(gla_pop, name):
    """A 2022 ward carved out of one 2011 ward (ONS lookup) holds that ward's figure times
    its share of the old ward's area, the old area taken from the GLA's own hectares."""
    lookup = pd.read_csv(datasets.path("ward11_to_ward22"), encoding="utf-8-sig")
    lookup = lookup[lookup["LAD22NM"] == "Harrow"]
    assert lookup.loc[lookup["WD22NM"] == name, "WD11NM"].tolist() == [name]
    ref = gla_pop[(gla_pop["Year"] == 2022) & (gla_pop["Borough"] == "Harrow")]
    old = ref.set_index("Ward_Name").loc[name]
    new_area = hs.wards("Harrow", 2022).set_index("ward_name").loc[name].geometry.area
    expected = old["Population"] * min(1.0, new_area / (old["Hectares"] * 1e4))
    got = hs.ward_population(2022, borough="Harrow").set_index("ward_name")["population"][name]
    assert got == pytest.approx(expected, rel=0.05)


def test_population_all_london_2022(gla_pop):
    p = hs.ward_population(2022)
    assert len(p) == 704
    city = hs.wards("City of London", 2022)["ward_code"]
    assert p.loc[p["ward_code"].isin(city), "population"].isna().all()  # no GLA figure
    assert p.loc[~p["ward_code"].isin(city), "population"].notna().all()
    total = gla_pop.loc[gla_pop["Year"] == 2022, "Population"].sum()
    assert p["population"].sum() == pytest.approx(total)


def test_population_bad_year():
    with pytest.raises(hs.BadInputError, match="2011"):
        hs.ward_population(1990)


def test_describe_location_against_hand_placed_points():
    """Points placed by hand from a station's own coordinates read back as expected."""
    import geopandas as gpd
    import shapely

    st = hs.stations()
    assert len(st) == 471 and st.crs.to_epsg() == 27700  # 471 rows in the TfL file
    kenton = st[st["name"] == "Kenton"].geometry.iloc[0]
    pts = gpd.GeoSeries(
        [shapely.Point(kenton.x, kenton.y + 300),        # due north
         shapely.Point(kenton.x - 71, kenton.y - 71),    # south-west, 100 m
         shapely.Point(kenton.x + 20, kenton.y),         # at the station
         shapely.Point(kenton.x + 50_000, kenton.y)],    # far outside London
        crs=27700)
    said = hs.describe_location(pts)
    assert said[0] == "300 m north of Kenton station"
    assert said[1] == "100 m south-west of Kenton station"
    assert said[2] == "at Kenton station"
    assert said[3] == ""


def test_describe_location_says_the_ward_and_rounds_as_people_do():
    import geopandas as gpd
    import shapely

    st = hs.stations()
    kenton = st[st["name"] == "Kenton"].geometry.iloc[0]
    wards = hs.wards("Harrow", 2022)
    # hand-checked: a point 300 m north of Kenton station is in Kenton West ward; the
    # station itself sits on the Greenhill side of the ward edge
    pts = gpd.GeoSeries([shapely.Point(kenton.x, kenton.y + 300),
                         shapely.Point(kenton.x + 20, kenton.y),
                         shapely.Point(kenton.x, kenton.y + 1234)], crs=27700)
    said = hs.describe_location(pts, wards=wards)
    assert said[0] == "Kenton West ward, 300 m north of Kenton station"
    assert said[1].startswith("at Kenton station, ") and said[1].endswith(" ward")
    assert said[2].endswith("1.2 km north of Kenton station")


def test_say_distance_and_station_names():
    from hotspots.boundaries import say_distance, station_name

    assert [say_distance(d) for d in (4, 84, 120, 612, 949, 1000, 1030, 2470)] == [
        "10 m", "80 m", "100 m", "600 m", "950 m", "1 km", "1 km", "2.5 km"]
    assert station_name("London Bridge LU") == "London Bridge"
    assert station_name("Canary Wharf DLR") == "Canary Wharf"
    assert station_name("Harrow & Wealdstone") == "Harrow & Wealdstone"


def test_describe_location_names_the_street_from_a_network():
    """A two-street graph built by hand: the nearest named street within 60 m leads."""
    import geopandas as gpd
    import networkx as nx
    import shapely

    G = nx.MultiDiGraph(crs="EPSG:27700")
    for n, (x, y) in enumerate([(530000, 180000), (530200, 180000), (530000, 180300)]):
        G.add_node(n, x=x, y=y)
    G.add_edge(0, 1, key=0, name="Long Street", length=200.0)
    G.add_edge(0, 2, key=0, name=["Short Lane", "Old Lane"], length=300.0)
    pts = gpd.GeoSeries([shapely.Point(530100, 180030), shapely.Point(530020, 180200),
                         shapely.Point(530150, 180200)], crs=27700)
    said = hs.describe_location(pts, network=G)
    assert said[0] == "Long Street"
    assert said[1] in ("Short Lane", "Old Lane")
    assert "Street" not in said[2] and "Lane" not in said[2]  # 130 m from both: a station


def test_street_text_takes_police_uk_streets_not_generated_text():
    from hotspots.boundaries import street_text

    desc = pd.Series(["On or near Bishopsgate", "On or near Bishopsgate",
                      "on or near Wormwood Street", "synthetic location near Centenary", None, ""])
    assert street_text(desc) == "Bishopsgate / Wormwood Street"
    assert street_text(desc, n=1) == "Bishopsgate"
    assert street_text(pd.Series(["synthetic location near X"])) == ""
