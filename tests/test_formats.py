"""Tests for hotspots.formats through read_incidents: other services' layouts (fire
brigade, road collisions, animal rescues), coordinate columns found by name with a
per-row fallback, text decoded line by line, quotes that run over line breaks, and
every sheet / layer that holds incidents. Small files crafted in tmp_path; expected
values are hand-checked from the rows written."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import hotspots as hs

# London Fire Brigade incident records (their published column names): a dwelling
# address has no Easting_m/Latitude (NULL), only the rounded pair
LFB = (
    "IncidentNumber,DateOfCall,CalYear,TimeOfCall,HourOfCall,IncidentGroup,"
    "StopCodeDescription,PropertyCategory,Easting_m,Northing_m,Easting_rounded,"
    "Northing_rounded,Latitude,Longitude,FirstPumpArriving_AttendanceTime\n"
    "000008-01012019,01 Jan 2019,2019,00:01:45,0,Special Service,Special Service,"
    "Road Vehicle,,,532150,178450,NULL,NULL,319\n"
    "000009-01012019,01 Jan 2019,2019,14:22:10,14,Fire,Secondary Fire,Outdoor,"
    "531412,184011,531450,184050,51.54,-0.1,240\n"
    "000010-01012019,02 Jan 2019,2019,23:59:00,23,Fire,Primary Fire,Dwelling,"
    ",,530950,182150,NULL,NULL,\n"
)

# DfT road-safety data (STATS19 collisions), date and time in separate columns
STATS19 = (
    "accident_index,accident_year,location_easting_osgr,location_northing_osgr,"
    "longitude,latitude,police_force,accident_severity,number_of_vehicles,date,"
    "day_of_week,time\n"
    "2022010352073,2022,525199,177928,-0.198224,51.486454,1,3,2,05/01/2022,4,15:20\n"
    "2022010352573,2022,546214,179350,0.105042,51.494745,1,2,1,13/01/2022,5,17:42\n"
    "2022010352575,2022,551119,174191,0.173376,51.447117,1,1,1,07/02/2022,2,08:05\n"
)


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


def test_fire_brigade_file_given_a_category_keeps_every_row_as_it(tmp_path):
    p = _write(tmp_path, "lfb_incidents.csv", LFB)
    inc, rep = hs.read_incidents(p, category="fire", with_report=True)
    assert rep.n_read == rep.n_kept == 3
    assert (inc["category"] == "fire").all()
    # the file's own wording stays as subcategory (the stop code)
    assert inc["subcategory"].tolist() == ["Special Service", "Secondary Fire", "Primary Fire"]
    assert inc["incident_id"].tolist() == ["000008-01012019", "000009-01012019",
                                           "000010-01012019"]


def test_fire_brigade_layout_detected_incident_group_as_category(tmp_path):
    p = _write(tmp_path, "lfb_incidents.csv", LFB)
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc.attrs["read_kind"] == "fire_brigade"
    assert inc["category"].tolist() == ["special_service", "fire", "fire"]
    # DateOfCall + TimeOfCall combine: every row timed
    assert inc["occurred_at"].tolist() == [pd.Timestamp("2019-01-01 00:01:45"),
                                           pd.Timestamp("2019-01-01 14:22:10"),
                                           pd.Timestamp("2019-01-02 23:59:00")]
    assert rep.n_with_time == 3 and inc.attrs["n_with_time"] == 3
    # Easting_m first; rows where it (and lat/lon) are NULL placed by the rounded pair,
    # each listed as a fix
    assert inc.geometry.x.tolist() == [532150, 531412, 530950]
    assert inc.geometry.y.tolist() == [178450, 184011, 182150]
    assert rep.fixed["row"].tolist() == [2, 4]
    assert set(rep.fixed["fix"]) == {"coordinates from another column pair"}
    assert "placed by Easting_rounded/Northing_rounded" in rep.fixed["detail"].iloc[0]
    assert hs.categorise(["Fire"]).tolist() == ["other"]  # police wording table: closed


def test_stats19_collisions_are_timed_collisions_with_severity(tmp_path):
    p = _write(tmp_path, "dft-road-casualty-statistics-collision-2022.csv", STATS19)
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc.attrs["read_kind"] == "stats19" and rep.n_kept == 3
    assert (inc["category"] == "collision").all()
    assert inc["subcategory"].tolist() == ["Slight", "Serious", "Fatal"]
    assert inc["occurred_at"].tolist() == [pd.Timestamp("2022-01-05 15:20"),
                                           pd.Timestamp("2022-01-13 17:42"),
                                           pd.Timestamp("2022-02-07 08:05")]
    assert rep.n_with_time == 3
    # the OSGR easting/northing columns, exactly
    assert inc.geometry.x.tolist() == [525199, 546214, 551119]
    assert inc["incident_id"].iloc[0] == "2022010352073"


def test_animal_rescue_layout(tmp_path):
    p = _write(tmp_path, "animal_rescue.csv",
               "IncidentNumber,DateTimeOfCall,AnimalGroupParent,Easting_m,Northing_m,"
               "Easting_rounded,Northing_rounded,Latitude,Longitude\n"
               "139091,01/01/2009 03:01,Dog,,,539850,185250,NULL,NULL\n"
               "275091,02/01/2009 08:51,Fox,528218,176645,528250,176650,51.47,-0.17\n")
    inc = hs.read_incidents(p)
    assert inc.attrs["read_kind"] == "animal_rescue"
    assert (inc["category"] == "animal_rescue").all()
    assert inc["subcategory"].tolist() == ["Dog", "Fox"]
    assert inc["occurred_at"].tolist() == [pd.Timestamp("2009-01-01 03:01"),
                                           pd.Timestamp("2009-01-02 08:51")]


def test_date_time_of_call_and_null_lat_lon_kept_by_eastings(tmp_path):
    p = _write(tmp_path, "calls.csv",
               "ref,date_time of call,Latitude,Longitude,easting_rounded,northing_rounded\n"
               "1,13/02/2022 14:05,NULL,NULL,530050,180050\n"
               "2,14/02/2022 22:40,51.5,-0.12,530150,180150\n")
    inc, rep = hs.read_incidents(p, category="asb", with_report=True)
    assert rep.n_kept == 2 and rep.n_rejected == 0
    assert inc["occurred_at"].tolist() == [pd.Timestamp("2022-02-13 14:05"),
                                           pd.Timestamp("2022-02-14 22:40")]
    # lat/lon first (the rounded pair is the coarsest); row 1 falls back: one fix
    assert inc.geometry.x.iloc[0] == 530050 and rep.fixed["row"].tolist() == [2]
    assert abs(inc.geometry.x.iloc[1] - 530150) > 1  # placed by its lat/lon, not rounded


def test_category_column_and_category_value_are_separate_options(tmp_path):
    p = _write(tmp_path, "council.csv", "Ref,Kind,Easting,Northing\n1,Graffiti,530000,180000\n"
               "2,Noise nuisance,530100,180100\n")
    inc = hs.read_incidents(p, category_column="Kind")
    assert inc["category"].tolist() == ["graffiti", "noise_nuisance"]
    with pytest.raises(hs.BadInputError, match="category_column='Kind'"):
        hs.read_incidents(p, category="Kind")  # a column name given as the category
    with pytest.raises(hs.BadInputError, match="not in the vocabulary"):
        hs.read_incidents(p, category="[/]")


def test_stray_byte_garbles_nothing_else(tmp_path):
    body = ("id,lon,lat,type,street\n1,-0.1,51.5,Noise,Café Row\n".encode()
            + b"2,-0.1,51.5,Noise,Caf\xe9 Lane\n"  # one Windows-1252 line
            + "3,-0.1,51.5,Noise,Ünter Straße\n".encode())
    p = _write(tmp_path, "stray.csv", body)
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["street"].tolist() == ["Café Row", "Café Lane", "Ünter Straße"]
    assert rep.n_kept == 3
    assert any("1 line (3) is not UTF-8" in w for w in rep.warnings)
    # the content ids of the UTF-8 rows match a clean file's: a store holds them once
    clean = _write(tmp_path, "clean.csv", "id,lon,lat,type,street\n1,-0.1,51.5,Noise,Café Row\n"
                   "2,-0.1,51.5,Noise,Café Lane\n3,-0.1,51.5,Noise,Ünter Straße\n")
    assert hs.read_incidents(clean)["street"].tolist() == inc["street"].tolist()


def test_quote_running_over_line_breaks_is_rejected_with_its_lines(tmp_path):
    p = _write(tmp_path, "quote.csv",
               "id,lon,lat,type,street\n"
               '1,-0.1,51.5,Noise,"High St\n'  # opened here, closed two lines later
               "2,-0.1,51.5,Noise,Low St\n"
               '3,-0.1,51.5,Noise,Mid St"\n'
               '4,-0.1,51.5,Noise,"Flat 2\nLondon"\n'  # a genuine two-line address
               "5,-0.1,51.5,Noise,End\n")
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["incident_id"].tolist() == ["4", "5"]
    assert inc["street"].iloc[0] == "Flat 2\nLondon"
    assert rep.rejects["row"].tolist() == [2]
    assert rep.rejects["reason"].tolist() == ["quote runs over line breaks"]
    assert rep.rejects["detail"].iloc[0].startswith("lines 2-4")
    assert any("lines 2-4" in w for w in rep.warnings)
    assert rep.n_read == rep.n_kept + rep.n_rejected


def test_row_numbers_follow_multi_line_records(tmp_path):
    p = _write(tmp_path, "multi.csv", 'id,lon,lat,street\n1,-0.1,51.5,"a\nb"\n2,x,51.5,c\n')
    _, rep = hs.read_incidents(p, with_report=True)
    assert rep.rejects["row"].tolist() == [4]  # line 4 in an editor, not 3


def _workbook(tmp_path):
    jan = pd.DataFrame({"id": ["a1", "a2"], "lon": [-0.1, -0.11], "lat": [51.5, 51.51],
                        "type": ["Noise", "Noise"]})
    feb = pd.DataFrame({"id": ["b1"], "Easting": [530000], "Northing": [180000],
                        "type": ["Graffiti"]})
    notes = pd.DataFrame({"about": ["made by hand"]})
    p = tmp_path / "two.xlsx"
    with pd.ExcelWriter(p) as w:
        jan.to_excel(w, sheet_name="Jan", index=False)
        feb.to_excel(w, sheet_name="Feb", index=False)
        notes.to_excel(w, sheet_name="Notes", index=False)
    return p


def test_every_sheet_with_incidents_is_read_and_named(tmp_path):
    p = _workbook(tmp_path)
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["incident_id"].tolist() == ["a1", "a2", "b1"]
    assert any("read sheets Jan, Feb; skipped Notes" in w for w in rep.warnings)
    assert hs.read_incidents(p, sheet="Feb")["incident_id"].tolist() == ["b1"]
    with pytest.raises(hs.BadInputError, match=r"no sheet 'Mar'.*\['Jan', 'Feb', 'Notes'\]"):
        hs.read_incidents(p, sheet="Mar")


def test_workbook_without_incidents_is_refused_naming_its_sheets(tmp_path):
    p = tmp_path / "notes.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"a": [1]}).to_excel(w, sheet_name="Notes", index=False)
        pd.DataFrame({"b": [2]}).to_excel(w, sheet_name="More", index=False)
    with pytest.raises(hs.BadInputError, match=r"\['Notes', 'More'\].*sheet="):
        hs.read_incidents(p)


def test_every_point_layer_is_read_and_named(tmp_path):
    p = tmp_path / "layers.gpkg"
    pts = gpd.GeoDataFrame({"type": ["Noise", "ASB"]}, crs=27700,
                           geometry=gpd.points_from_xy([530000, 531000], [180000, 181000]))
    more = gpd.GeoDataFrame({"type": ["Noise"]}, crs=27700,
                            geometry=gpd.points_from_xy([532000], [182000]))
    area = gpd.GeoDataFrame({"name": ["box"]}, crs=27700,
                            geometry=[pts.union_all().buffer(5000).envelope])
    pts.to_file(p, layer="jan")
    more.to_file(p, layer="feb")
    area.to_file(p, layer="area")
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc.geometry.x.tolist() == [530000, 531000, 532000]
    assert any("read layers jan, feb; skipped area" in w for w in rep.warnings)
    assert len(hs.read_incidents(p, layer="feb")) == 1
    with pytest.raises(hs.BadInputError, match="no layer 'mar'"):
        hs.read_incidents(p, layer="mar")


def test_markup_like_text_is_data(tmp_path):
    # "[/]" is console markup to rich: the reader keeps it as text
    p = _write(tmp_path, "odd.csv", "id,lon,lat,type\n1,-0.1,51.5,[/]\n2,-0.1,51.5,[bold]x\n")
    inc = hs.read_incidents(p)
    assert inc["subcategory"].tolist() == ["[/]", "[bold]x"]
    assert inc["category"].tolist() == ["other", "bold_x"]


def test_outside_distance_matches_geos(tmp_path):
    from hotspots.io import _check_bounds, _distance_to

    area = _check_bounds("london")
    rng = np.random.default_rng(3)
    x = rng.uniform(450_000, 650_000, 300)
    y = rng.uniform(100_000, 260_000, 300)
    import shapely

    pts = shapely.points(x, y)
    out = ~shapely.intersects(area.geom, pts)
    ref = shapely.distance(area.geom, pts[out])
    got = _distance_to(area, x[out], y[out])
    assert out.sum() > 100 and np.abs(got - ref).max() < 65  # within the stated bound


def test_place_types_spelt_one_way_across_layouts(tmp_path):
    # police.uk's API gives "LU STATION"; its CSV-like layouts "LU Station"
    api = [{"category": "robbery", "location_type": "Force", "location_subtype": sub,
            "id": i, "month": "2022-01", "context": "", "persistent_id": "",
            "outcome_status": None,
            "location": {"latitude": "51.5", "longitude": "-0.1",
                         "street": {"id": 1, "name": "On or near Station Road"}}}
           for i, sub in enumerate(["LU STATION", "SPORTS/RECREATION AREA", "",
                                    "Supermarket"], 1)]
    p = tmp_path / "api.json"
    p.write_text(__import__("json").dumps(api), encoding="utf-8")
    inc = hs.read_incidents(p)
    assert inc.attrs["read_kind"] == "police_api"
    got = inc["place_type"].tolist()
    assert got[:2] == ["LU Station", "Sports/Recreation Area"] and pd.isna(got[2])
    assert got[3] == "Supermarket"
    from hotspots.io import place_spelling

    assert place_spelling(pd.Series(["DLR STATION", "further or higher educational "
                                     "building", "LU Station"])).tolist() == [
        "DLR Station", "Further or Higher Educational Building", "LU Station"]


def test_sheets_with_coordinates_named_by_the_caller(tmp_path):
    p = tmp_path / "odd_names.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"ref": ["a"], "E_BNG": [530000], "N_BNG": [180000]}).to_excel(
            w, sheet_name="Jan", index=False)
        pd.DataFrame({"about": ["notes"]}).to_excel(w, sheet_name="Notes", index=False)
    with pytest.raises(hs.BadInputError, match="none of its sheets"):
        hs.read_incidents(p)
    inc = hs.read_incidents(p, x="E_BNG", y="N_BNG")
    assert inc.geometry.x.tolist() == [530000]
