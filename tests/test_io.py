"""Tests for hotspots.io: readers, category mapping, rejects report.

References are independent: pandas reads of the raw files, geopandas/pyproj
reprojection, and hand-built fixtures with known defects.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

import hotspots as hs
from hotspots import categories as hcat
from hotspots import io as hio
from hotspots.datasets import path as dataset_path

CANON = list(hio.CANONICAL_COLUMNS)


def _bng_from_lonlat(lon, lat) -> gpd.GeoSeries:
    """Independent reprojection through geopandas (not io's Transformer path)."""
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(27700)


@functools.cache
def _london_outline():
    """Greater London as geopandas dissolves the GLA borough file, widened by 100 m."""
    b = gpd.read_file(dataset_path("boroughs")).to_crs(27700)
    outline = b.dissolve().buffer(hio.LONDON_BUFFER_M).iloc[0]
    shapely.prepare(outline)  # ~100k point tests against a 10k-vertex polygon
    return outline


def _in_london(lon, lat) -> np.ndarray:
    pts = _bng_from_lonlat(lon, lat)
    # the prepared outline first: GeoSeries.intersects would prepare each point instead
    return shapely.intersects(_london_outline(), pts.to_numpy()) & pts.notna().to_numpy()


LONDON_REASON = "outside London (Greater London boundary + 100 m)"


@pytest.fixture(scope="module")
def camden():
    return hs.read_incidents(dataset_path("camden_2019_06"), with_report=True)


@pytest.fixture(scope="module")
def city():
    return hs.read_incidents(dataset_path("city_of_london_2019"), with_report=True)


# ----------------------------------------------------------------- real files


def test_camden_counts_and_contract(camden):
    inc, rep = camden
    assert isinstance(inc, gpd.GeoDataFrame) and inc.crs.to_epsg() == 27700
    assert list(inc.columns[: len(CANON)]) == CANON
    assert len(inc) == 4075 and rep.n_read == 4075 and rep.n_rejected == 0
    counts = inc["category"].value_counts()
    assert counts["asb"] == 852 and counts["robbery"] == 144
    assert set(inc["category"]) <= set(hs.CATEGORIES)
    assert inc["incident_id"].is_unique
    # Camden's Epoch "06/01/2019 12:00:00 AM" is month-level June 2019 (MM/DD/YYYY)
    assert (inc["month"] == pd.Timestamp("2019-06-01")).all()
    assert inc["occurred_at"].isna().all()
    raw = pd.read_csv(dataset_path("camden_2019_06"))
    # geometry is exactly the file's Easting/Northing, ids are its ID column
    np.testing.assert_allclose(inc.geometry.x, raw["Easting"])
    np.testing.assert_allclose(inc.geometry.y, raw["Northing"])
    assert (inc["incident_id"] == raw["ID"].astype(str)).all()
    assert (inc["subcategory"] == raw["Category"]).all()
    assert (inc["location_desc"] == raw["Street Name"]).all()
    assert {"Ward Code", "Ward Name", "Service"} <= set(inc.columns)  # originals kept


def test_city_of_london_missing_coordinates_reported(city):
    inc, rep = city
    raw = pd.read_csv(dataset_path("city_of_london_2019"))
    assert rep.n_read == len(raw) == 10032
    assert rep.n_kept + rep.n_rejected == rep.n_read == len(inc) + len(rep.rejects)
    no_xy = raw.index[raw["Longitude"].isna()] + 2  # header = line 1
    assert len(no_xy) == 676
    missing = rep.rejects[rep.rejects["reason"] == "missing coordinates"]
    assert sorted(missing["row"]) == sorted(no_xy)
    assert (missing["file"] == str(dataset_path("city_of_london_2019"))).all()
    # raw values travel with the reject
    assert set(missing["Location"]) == {"No Location"}

    # independent duplicate count: later repeats of a Crime ID with the same month, type
    # and point among placeable rows (repeats that differ are kept, marked id_repeat)
    ok = raw["Longitude"].notna() & _in_london(raw["Longitude"], raw["Latitude"])
    rec = ["Crime ID", "Month", "Crime type", "Longitude", "Latitude"]
    dup = raw["Crime ID"].notna() & raw[rec].where(ok).duplicated() & ok
    assert (rep.rejects["reason"] == "duplicate id").sum() == dup.sum()
    outside = rep.rejects[rep.rejects["reason"] == LONDON_REASON]
    assert sorted(outside["row"]) == sorted(raw.index[raw["Longitude"].notna() & ~ok] + 2)
    assert rep.reason_counts().sum() == rep.n_rejected

    # geometry agrees with geopandas' own reprojection of the kept rows
    kept_rows = raw.loc[ok & ~dup]
    ref = _bng_from_lonlat(kept_rows["Longitude"], kept_rows["Latitude"])
    np.testing.assert_allclose(inc.geometry.x, ref.x, atol=1e-3)
    np.testing.assert_allclose(inc.geometry.y, ref.y, atol=1e-3)
    # ASB rows have no Crime ID: an id made from content, "<16 hex>#<k>"
    asb = inc[inc["category"] == "asb"]
    assert asb["incident_id"].str.fullmatch(r"[0-9a-f]{16}#[1-9][0-9]*").all()
    assert inc["incident_id"].is_unique
    assert inc["occurred_at"].isna().all()
    assert inc["month"].dt.year.eq(2019).all() and (inc["month"].dt.day == 1).all()


def test_harrow_crimemappingdata():
    inc, rep = hs.read_incidents("harrow_crime_2022", with_report=True)
    assert len(inc) == 14946 and rep.n_rejected == 0
    c = inc["category"].value_counts()
    assert (c["violence_sexual"], c["vehicle"], c["burglary"], c["robbery"]) == (
        5102, 2396, 1047, 436,
    )  # fmt: skip
    raw = pd.read_csv(dataset_path("harrow_crime_2022"))
    # year 2022 comes from the file name; month numbers 1..12 become the 1st of the month
    expect = pd.to_datetime(dict(year=2022, month=raw["month"], day=1))
    assert (inc["month"].to_numpy() == expect.to_numpy()).all()
    assert "month_src" in inc.columns  # clashing original column renamed, not lost
    assert (inc["subcategory"] == raw["type"]).all()


@pytest.fixture(scope="module")
def london(london_2022):
    return london_2022  # one read per session (conftest), shared with test_density


def test_london_2022_outside_points_rejected(london, london_2022_csv):
    inc, rep = london
    assert rep.n_read == 849409 and rep.n_kept + rep.n_rejected == rep.n_read == len(inc) + 100
    assert set(rep.rejects["reason"]) == {LONDON_REASON}
    # independent reference: every distinct point tested against geopandas' own outline
    raw = london_2022_csv  # pd.read_csv of the file, once per session (conftest)
    xy = raw[["longitude", "latitude"]].drop_duplicates()
    xy = xy.assign(inside=_in_london(xy["longitude"], xy["latitude"]))
    inside = raw.merge(xy, on=["longitude", "latitude"], how="left")["inside"].to_numpy()
    assert sorted(rep.rejects["row"]) == list(np.flatnonzero(~inside) + 2)
    assert (rep.rejects["longitude"] < -1.6).sum() == 1  # the far-west one (1.6025 W)
    assert (rep.rejects["longitude"] > 1.3).sum() == 3  # and the far east, in Kent
    # the detail says how far outside (from the widened outline): 0.4 to 82 km
    km = rep.rejects["detail"].str.extract(r"([\d.,]+) km outside")[0].str.replace(",", "")
    assert km.notna().all() and 0.3 < km.astype(float).min() < 0.5
    assert 81 < km.astype(float).max() < 83
    # a London crime snapped 0.3 m outside the borough outline is kept (the 100 m margin)
    edge = inc[(inc["longitude"] == -0.4602) & (inc["latitude"] == 51.6133)]
    assert len(edge) >= 1 and _london_outline().buffer(-hio.LONDON_BUFFER_M).distance(
        edge.geometry.iloc[0]) > 0
    # the Harrow extract (clipped with the same GLA polygon) reads to ids the London
    # file gives those rows too: ids come from content, not file name or row number
    harrow = hs.read_incidents("harrow_crime_2022")
    assert set(harrow["incident_id"]) <= set(inc["incident_id"])  # (isin: slow on arrow str)


def test_place_type_from_location_type(harrow):
    raw = pd.read_csv(dataset_path("harrow_crime_2022"))
    # police.uk's location subtype, blank -> NA, as its own canonical column
    assert harrow["place_type"].isna().sum() == raw["location_type"].isna().sum() == 13085
    pd.testing.assert_series_equal(
        harrow["place_type"].value_counts(), raw["location_type"].value_counts(),
        check_dtype=False, check_index_type=False, check_names=False,
    )  # fmt: skip
    assert {"Nightclub", "Rail Station", "LU Station", "Shopping Area", "Supermarket"} <= set(
        harrow["place_type"].dropna()
    )
    # sources without one carry the column, all NA
    assert hs.read_incidents("camden_2019_06")["place_type"].isna().all()


def test_content_ids_stable_and_keep_identical_crimes(tmp_path, harrow):
    raw = pd.read_csv(dataset_path("harrow_crime_2022"))
    ids = harrow["incident_id"]
    assert ids.is_unique and ids.str.fullmatch(r"[0-9a-f]{16}#[1-9][0-9]*").all()
    # police.uk has genuine repeats (same type, place, snap point and month): all kept,
    # numbered #2, #3, ... after the first; counted independently on the raw file
    same = ["month", "type", "location_type", "longitude", "latitude"]
    n_repeats = int(raw.duplicated(subset=same).sum())
    assert n_repeats == 3246
    assert int((~ids.str.endswith("#1")).sum()) == n_repeats and len(harrow) == len(raw)
    k = raw.groupby(same, dropna=False).cumcount() + 1
    assert (ids.str.split("#").str[1].astype(int).to_numpy() == k.to_numpy()).all()

    # the same rows under another name (year given, not in the name) get the same ids
    copy = tmp_path / "extract.csv"
    raw.iloc[:2000].to_csv(copy, index=False)
    again = hs.read_incidents(copy, year=2022)
    assert again["incident_id"].tolist() == ids.iloc[:2000].tolist()
    # ...but another year does not
    assert not hs.read_incidents(copy, year=2021)["incident_id"].isin(ids).any()

    # loading the file twice adds nothing: the second copy's rows are duplicate ids
    both, rep = hs.read_incidents([copy, copy], year=2022, with_report=True)
    assert len(both) == 2000 and rep.n_rejected == 2000
    assert set(rep.reason_counts().index) == {"duplicate id"}
    # and two separate reads concatenated and de-duplicated on incident_id add nothing
    twice = pd.concat([again, hs.read_incidents(copy, year=2022)])
    assert len(twice.drop_duplicates("incident_id")) == 2000


def test_barnet_parquet_is_police_uk():
    inc, rep = hs.read_incidents("barnet_burglary", with_report=True)
    raw = pd.read_parquet(dataset_path("barnet_burglary"))
    assert inc.attrs["read_kind"] == "police_uk"
    assert (inc["category"] == "burglary").all()
    n_dup = raw["Crime ID"].dropna().duplicated().sum()
    assert rep.n_rejected == n_dup and len(inc) == len(raw) - n_dup
    assert inc["month"].min() == pd.Timestamp("2010-12-01")
    # parquet rows are numbered by 1-based position
    r = rep.rejects.iloc[0]
    assert raw.iloc[r["row"] - 1]["Crime ID"] == r["Crime ID"]


# ----------------------------------------------------------------- categories


POLICE_CSV = {
    "Anti-social behaviour": "asb", "Bicycle theft": "bicycle_theft", "Burglary": "burglary",
    "Criminal damage and arson": "criminal_damage", "Drugs": "drugs", "Other crime": "other",
    "Other theft": "theft", "Possession of weapons": "weapons", "Public order": "public_order",
    "Robbery": "robbery", "Shoplifting": "shoplifting", "Theft from the person": "theft_person",
    "Vehicle crime": "vehicle", "Violence and sexual offences": "violence_sexual",
}  # fmt: skip
POLICE_API = {
    "anti-social-behaviour": "asb", "bicycle-theft": "bicycle_theft", "burglary": "burglary",
    "criminal-damage-arson": "criminal_damage", "drugs": "drugs", "other-crime": "other",
    "other-theft": "theft", "possession-of-weapons": "weapons", "public-order": "public_order",
    "robbery": "robbery", "shoplifting": "shoplifting", "theft-from-the-person": "theft_person",
    "vehicle-crime": "vehicle", "violent-crime": "violence_sexual",
}  # fmt: skip
CRIMEMAPPING = {
    "violent or sexual": "violence_sexual", "other theft": "theft", "vehicle crime": "vehicle",
    "theft from person": "theft_person", "public order": "public_order",
    "criminal damage or arson": "criminal_damage", "burglary": "burglary", "drugs": "drugs",
    "shoplifting": "shoplifting", "robbery": "robbery", "bicycle theft": "bicycle_theft",
    "other": "other", "weapon possession": "weapons",
}  # fmt: skip
COUNCIL = {
    "Fly-tip": "fly_tip", "flytipping": "fly_tip", "FLY TIPPING": "fly_tip",
    "Dumped Rubbish": "fly_tip", "StreetSafe": "streetsafe", "ASB": "asb",
}  # fmt: skip


@pytest.mark.parametrize("table", [POLICE_CSV, POLICE_API, CRIMEMAPPING, COUNCIL])
def test_category_mapping(table):
    got = hcat.categorise(list(table))
    assert got.tolist() == list(table.values())


def test_category_vocabulary():
    assert len(hs.CATEGORIES) == 16 and len(set(hs.CATEGORIES)) == 16
    assert len(POLICE_CSV) == 14 and len(POLICE_API) == 14 and len(CRIMEMAPPING) == 13
    # the vocabulary maps to itself (re-reading our own output is stable)
    assert hcat.categorise(list(hs.CATEGORIES)).tolist() == list(hs.CATEGORIES)
    got = hcat.categorise(["Graffiti on wall", None])
    assert got.tolist() == ["other", "other"]


# ----------------------------------------------------------------- malformed input

POLICE_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Crime type,Last outcome category,Context"
)


def _row(cid, month, lon, lat, kind="Burglary", where="On or near High Street"):
    return f"{cid},{month},Met,Met,{lon},{lat},{where},E01,Barnet 001,{kind},,"


def _malformed(tmp_path: Path) -> Path:
    lines = [
        POLICE_HEADER,
        _row("a1", "2022-01", -0.2014, 51.6571),  # 2 good
        _row("a2", "2022-01", "", 51.6571),  # 3 missing lon
        _row("a3", "2022-02", -0.2014, "fifty-one"),  # 4 non-numeric lat
        _row("a4", "2022-02", 200.0, 95.0),  # 5 out of range, and swapping can't help
        _row("a5", "2022-03", 51.6000, -0.1500),  # 6 swapped: fixed
        _row("a6", "2022-03", -2.2426, 53.4808),  # 7 Manchester: outside
        _row("a7", "2022-13", -0.1500, 51.6000),  # 8 bad month
        _row("a8", "", -0.1500, 51.6000),  # 9 missing month
        _row("a1", "2022-01", -0.2014, 51.6571),  # 10 duplicate of row 2 (same record)
        "",  # 11 blank line
        _row("", "2022-04", -0.1800, 51.6200, kind="Anti-social behaviour"),  # 12 ASB, no id
        _row("a9", "2022-05", 51.5000, -0.1200),  # 13 swapped, fixed
    ]
    p = tmp_path / "malformed_street.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_repeated_crime_ids_kept_unless_the_same_record(tmp_path):
    """Only rows agreeing on id, month, type and point are duplicates; rows repeating an
    id otherwise are other records (police.uk re-issues ids), kept and marked."""
    p = tmp_path / "ids_street.csv"
    p.write_text("\n".join([
        POLICE_HEADER,
        _row("x1", "2022-01", -0.2014, 51.6571),  # 2 first
        _row("x1", "2022-01", -0.2014, 51.6571),  # 3 same record: duplicate
        _row("x1", "2022-02", -0.2014, 51.6571),  # 4 another month
        _row("x1", "2022-01", -0.2014, 51.6571, kind="Robbery"),  # 5 another type
        _row("x1", "2022-01", -0.2000, 51.6571),  # 6 another point
        _row("x2", "2022-01", -0.2014, 51.6571),  # 7 another id, same place
    ]) + "\n")
    inc, rep = hs.read_incidents(p, with_report=True)
    assert rep.rejects[["row", "reason"]].values.tolist() == [[3, "duplicate id"]]
    assert rep.rejects["detail"].iloc[0] == "same id as row 2"
    assert rep.n_kept == 5 and rep.n_id_repeat == 4
    assert inc["id_repeat"].tolist() == [True, True, True, True, False]
    assert inc["incident_id"].tolist() == ["x1", "x1~2", "x1~3", "x1~4", "x2"]
    assert inc["incident_id"].is_unique and (inc["Crime ID"].iloc[:4] == "x1").all()
    assert "id repeated with another month, type or point" in rep.summary()
    again, rep2 = hs.read_incidents([p, p], with_report=True)  # the file twice: no new rows
    assert len(again) == 5 and rep2.n_rejected == 1 + 6


def test_malformed_fixture_rejects_and_fixes(tmp_path):
    p = _malformed(tmp_path)
    before = (p.read_bytes(), p.stat().st_mtime_ns)
    inc, rep = hs.read_incidents(p, with_report=True)
    assert (p.read_bytes(), p.stat().st_mtime_ns) == before  # input untouched

    got = dict(zip(rep.rejects["row"], rep.rejects["reason"], strict=True))
    assert got == {
        3: "missing coordinates",
        4: "non-numeric coordinates",
        5: "coordinates out of range",
        7: LONDON_REASON,
        8: "unparseable date",
        9: "missing date",
        10: "duplicate id",
        11: "blank row",
    }
    assert rep.n_read == 12 and rep.n_kept == 4 and len(inc) == 4
    dup = rep.rejects.set_index("row").loc[10]
    assert dup["detail"] == "same id as row 2" and dup["Crime ID"] == "a1"
    assert rep.rejects.set_index("row").loc[4, "Latitude"] == "fifty-one"  # raw text kept

    assert sorted(rep.fixed["row"]) == [6, 13]
    fixed = inc.set_index("incident_id").loc[["a5", "a9"]]
    ref = _bng_from_lonlat([-0.15, -0.12], [51.6, 51.5])
    np.testing.assert_allclose(fixed.geometry.x, ref.x, atol=1e-3)
    np.testing.assert_allclose(fixed.geometry.y, ref.y, atol=1e-3)
    assert fixed["Longitude"].tolist() == [-0.15, -0.12]  # columns agree with geometry

    assert inc["incident_id"].tolist()[:2] == ["a1", "a5"] and inc["incident_id"].iloc[3] == "a9"
    assert inc["incident_id"].iloc[2].endswith("#1")  # the ASB row: made from content
    assert inc["category"].tolist() == ["burglary", "burglary", "asb", "burglary"]
    assert "rejected 8" in rep.summary() and "fixed 2" in rep.summary()

    out = rep.to_csv(tmp_path / "out" / "rejects.csv")
    back = pd.read_csv(out)
    assert len(back) == 8 and list(back.columns[:4]) == ["file", "row", "reason", "detail"]
    assert not list((tmp_path / "out").glob(".*"))  # no temp file left behind


def test_bounds_none_keeps_everything_placeable(tmp_path):
    inc, rep = hs.read_incidents(_malformed(tmp_path), bounds=None, with_report=True)
    assert 7 not in set(rep.rejects["row"])  # Manchester kept
    assert rep.n_fixed == 0  # no study area: no swap detection
    with pytest.raises(hs.BadInputError):
        hs.read_incidents(_malformed(tmp_path), bounds=(1, 2, 0, 3))


def test_bounds_box_and_polygon(tmp_path, harrow):
    # a box: the old wording; swapped rows still repaired against it
    _, rep = hs.read_incidents(_malformed(tmp_path), bounds=hio.LONDON_BOUNDS, with_report=True)
    assert rep.rejects.set_index("row").loc[7, "reason"] == "outside study-area bounds"
    assert rep.n_fixed == 2
    # a polygon (any CRS): Harrow as the GLA draws it, which the Harrow file was cut with
    gla = gpd.read_file(dataset_path("boroughs"))
    area = gla[gla["name"] == "Harrow"].to_crs(4326)
    inc, rep = hs.read_incidents("harrow_crime_2022", bounds=area, with_report=True)
    assert rep.n_rejected == 0 and inc["incident_id"].tolist() == harrow["incident_id"].tolist()
    barnet = gla[gla["name"] == "Barnet"]
    _, rep = hs.read_incidents("harrow_crime_2022", bounds=barnet, with_report=True)
    assert rep.n_rejected == 14946 and set(rep.rejects["reason"]) == {"outside the study area"}
    # a borough by name: that borough + 100 m (the Harrow file was cut with Harrow)
    inc, rep = hs.read_incidents("harrow_crime_2022", bounds="harrow", with_report=True)
    assert rep.n_rejected == 0 and len(inc) == len(harrow)
    inc, rep = hs.read_incidents("harrow_crime_2022", bounds="Barnet", with_report=True)
    near = harrow.geometry.intersects(barnet.to_crs(27700).buffer(100).union_all())
    assert 0 < near.sum() < 1000 and len(inc) == near.sum()  # the boundary strip only
    assert set(rep.rejects["reason"]) == {"outside Barnet + 100 m"}
    with pytest.raises(hs.BadInputError, match="london.*Harrow"):
        hs.read_incidents("harrow_crime_2022", bounds="Harow")


def test_warning_without_report(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="hotspots"):
        inc = hs.read_incidents(_malformed(tmp_path))
    assert isinstance(inc, gpd.GeoDataFrame)
    msgs = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(msgs) == 1 and "rejected 8" in msgs[0]
    assert inc.attrs == {"read_kind": "police_uk", "n_read": 12, "n_rejected": 8, "n_fixed": 2,
                         "n_with_time": 0}


# ----------------------------------------------------------------- other formats


def test_police_api_json(tmp_path):
    crimes = [
        {
            "category": "anti-social-behaviour", "location_type": "Force",
            "location": {"latitude": "51.5290", "longitude": "-0.1262",
                         "street": {"id": 960542, "name": "On or near Judd Street"}},
            "context": "", "outcome_status": None, "persistent_id": "", "id": 75265998,
            "location_subtype": "", "month": "2019-06",
        },
        {
            "category": "violent-crime", "location_type": "Force",
            "location": {"latitude": "51.5406", "longitude": "-0.1340",
                         "street": {"id": 964967, "name": "On or near Barker Drive"}},
            "context": "", "outcome_status": {"category": "Under investigation",
                                              "date": "2019-06"},
            "persistent_id": "abc123", "id": 75266846, "location_subtype": "",
            "month": "2019-06",
        },
    ]  # fmt: skip
    p = tmp_path / "crimes.json"
    p.write_text(json.dumps(crimes))
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc.attrs["read_kind"] == "police_api" and rep.n_rejected == 0
    assert inc["category"].tolist() == ["asb", "violence_sexual"]
    assert inc["subcategory"].tolist() == ["anti-social-behaviour", "violent-crime"]
    assert inc["incident_id"].tolist() == ["75265998", "75266846"]
    assert inc["location_desc"].tolist() == ["On or near Judd Street", "On or near Barker Drive"]
    assert (inc["month"] == pd.Timestamp("2019-06-01")).all()
    assert (inc["source"] == "police.uk").all()
    ref = _bng_from_lonlat([-0.1262, -0.1340], [51.5290, 51.5406])
    np.testing.assert_allclose(inc.geometry.x, ref.x, atol=1e-3)
    assert "category_src" in inc.columns and "month_src" in inc.columns


def test_generic_csv_easting_northing_uk_dates(tmp_path):
    p = tmp_path / "flytips.csv"
    p.write_text(
        "Ref,Type,Date Reported,Easting,Northing,Street\n"
        "F1,Fly-tip - black bags,03/02/2023 14:05,515500,188500,Station Road\n"
        "F2,Dumped rubbish,28/02/2023 09:00,515600,188400,Station Road\n"
        "F3,Graffiti,2023-03-01T10:30:00,515700,188300,High Street\n"
    )
    inc = hs.read_incidents(p)
    assert inc.attrs["read_kind"] == "table"
    assert inc["incident_id"].tolist() == ["F1", "F2", "F3"]
    # a council's own wordings: known prefix -> its category; a new word -> its own
    assert inc["category"].tolist() == ["fly_tip", "fly_tip", "graffiti"]
    assert inc["occurred_at"].tolist() == [
        pd.Timestamp("2023-02-03 14:05"), pd.Timestamp("2023-02-28 09:00"),
        pd.Timestamp("2023-03-01 10:30"),
    ]  # fmt: skip
    assert inc["month"].tolist() == [pd.Timestamp("2023-02-01")] * 2 + [pd.Timestamp("2023-03-01")]
    assert inc.geometry.x.tolist() == [515500, 515600, 515700]
    assert (inc["source"] == "flytips").all() and inc["location_desc"].iloc[2] == "High Street"
    # a whole-file category and explicit columns override detection
    inc2 = hs.read_incidents(p, category="fly_tip", x="Northing", y="Easting", bounds=None)
    assert (inc2["category"] == "fly_tip").all() and inc2.geometry.x.iloc[0] == 188500
    assert inc2["subcategory"].iloc[0] == "Fly-tip - black bags"


def test_xlsx_lat_lon(tmp_path):
    df = pd.DataFrame(
        {"id": [1, 2], "lat": [51.58, 51.59], "lng": [-0.33, -0.34],
         "category": ["StreetSafe", "streetsafe"], "date": pd.to_datetime(["2023-05-01 22:10",
                                                                            "2023-05-02 00:00"])}
    )  # fmt: skip
    p = tmp_path / "reports.xlsx"
    df.to_excel(p, index=False)
    inc, rep = hs.read_incidents(p, with_report=True)
    assert (inc["category"] == "streetsafe").all() and inc["incident_id"].tolist() == ["1", "2"]
    assert inc["occurred_at"].iloc[0] == pd.Timestamp("2023-05-01 22:10")
    ref = _bng_from_lonlat(df["lng"], df["lat"])
    np.testing.assert_allclose(inc.geometry.x, ref.x, atol=1e-3)


@pytest.mark.parametrize("ext", ["gpkg", "geojson", "parquet"])
def test_geo_formats_round_trip(tmp_path, ext):
    inc = hs.read_incidents("harrow_crime_2022").iloc[:300]
    p = tmp_path / f"harrow.{ext}"
    out = inc.drop(columns=["month_src"])
    if ext == "geojson":
        out = out.to_crs(4326)  # GeoJSON is WGS84
        out = out.assign(month=out["month"].astype(str), occurred_at=out["occurred_at"].astype(str))
    if ext == "parquet":
        out.to_parquet(p)
    else:
        out.to_file(p)
    back, rep = hs.read_incidents(p, with_report=True)
    assert rep.n_rejected == 0 and back.attrs["read_kind"] == "canonical"
    assert back["incident_id"].tolist() == inc["incident_id"].tolist()
    assert back["category"].tolist() == inc["category"].tolist()
    assert back["subcategory"].tolist() == inc["subcategory"].tolist()
    assert (back["month"].to_numpy() == inc["month"].to_numpy()).all()
    np.testing.assert_allclose(back.geometry.x, inc.geometry.x, atol=0.01)
    assert list(back.columns[: len(CANON)]) == CANON


def test_geodataframe_and_dataframe_input_not_mutated():
    inc = hs.read_incidents("camden_2019_06")
    snap = inc.copy()
    back = hs.read_incidents(inc)
    pd.testing.assert_frame_equal(inc, snap)
    assert back["incident_id"].tolist() == inc["incident_id"].tolist()
    raw = pd.read_csv(dataset_path("harrow_crime_2022")).iloc[:50]
    raw_snap = raw.copy()
    got = hs.read_incidents(raw, year=2022)
    pd.testing.assert_frame_equal(raw, raw_snap)
    # ids come from content, not position: the same rows read from the file agree
    from_file = hs.read_incidents("harrow_crime_2022")["incident_id"].iloc[:50]
    assert got["incident_id"].tolist() == from_file.tolist()


def test_folder_list_and_glob(tmp_path):
    src = pd.read_csv(dataset_path("city_of_london_2019"))
    for month in ("2019-01", "2019-02"):
        d = tmp_path / "download" / month
        d.mkdir(parents=True)
        src[src["Month"] == month].to_csv(d / f"{month}-city-of-london-street.csv", index=False)
        (d / f"{month}-city-of-london-outcomes.csv").write_text("Crime ID,Month\nx,2019-01\n")
    folder = tmp_path / "download"
    inc, rep = hs.read_incidents(folder, with_report=True)
    assert rep.n_read == int(src["Month"].isin(["2019-01", "2019-02"]).sum())
    assert len(rep.files) == 2 and all(f.endswith("-street.csv") for f in rep.files)
    assert set(inc["month"]) == {pd.Timestamp("2019-01-01"), pd.Timestamp("2019-02-01")}
    g = hs.read_incidents(str(folder / "*" / "*-street.csv"))
    lst = hs.read_incidents(sorted(folder.glob("*/*-street.csv")))
    assert g["incident_id"].tolist() == inc["incident_id"].tolist() == lst["incident_id"].tolist()
    # rows are numbered within their own file
    assert rep.rejects.groupby("file")["row"].min().min() >= 2


# ----------------------------------------------------------------- errors


def test_clear_errors(tmp_path):
    with pytest.raises(hs.DataNotFoundError, match="no such file"):
        hs.read_incidents(tmp_path / "nope.csv")
    with pytest.raises(hs.DataNotFoundError):
        hs.read_incidents(str(tmp_path / "*.csv"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(hs.BadInputError, match="empty.csv is empty"):
        hs.read_incidents(empty)
    header = tmp_path / "header.csv"
    header.write_text(POLICE_HEADER + "\n")
    with pytest.raises(hs.BadInputError, match="header.csv is empty"):
        hs.read_incidents(header)
    binary = tmp_path / "picture.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    with pytest.raises(hs.BadInputError, match="picture.csv"):
        hs.read_incidents(binary)
    nocoords = tmp_path / "notes.csv"
    nocoords.write_text("name,comment\na,b\n")
    with pytest.raises(hs.BadInputError, match="no coordinate columns"):
        hs.read_incidents(nocoords)
    badjson = tmp_path / "x.json"
    badjson.write_text('{"hello": 1}')
    with pytest.raises(hs.BadInputError, match="x.json"):
        hs.read_incidents(badjson)
    noyear = tmp_path / "crimes.csv"
    noyear.write_text("month,type,longitude,latitude\n1,burglary,-0.2,51.6\n")
    with pytest.raises(hs.BadInputError, match="year="):
        hs.read_incidents(noyear)
    assert hs.read_incidents(noyear, year=2021)["month"].iloc[0] == pd.Timestamp("2021-01-01")
    with pytest.raises(hs.BadInputError, match="kind"):
        hs.read_incidents(noyear, kind="nonsense")


# ----------------------------------------------------------------- CLI


def test_cli_read_writes_rejects(tmp_path):
    from hotspots.cli import app

    p = _malformed(tmp_path)
    out = tmp_path / "rej" / "rejects.csv"
    res = CliRunner().invoke(app, ["read", str(p), "--rejects", str(out)])
    assert res.exit_code == 0, res.output
    assert "burglary" in res.output and "rejected 8" in res.output
    assert len(pd.read_csv(out)) == 8
    res = CliRunner().invoke(app, ["read", str(tmp_path / "missing.csv")])
    assert res.exit_code == 1 and "no such file" in res.output
    assert os.path.exists(p)


def test_geojson_rejects_swaps_and_time_zones(tmp_path):
    from shapely.geometry import Point, Polygon

    g = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "type": ["fly-tip", "asb", "x", "y", "z"],
            "date": [
                "2023-01-05T10:00:00Z", "2023-07-05T10:00:00+01:00", "2023-01-05",
                "2023-07-05T09:00:00Z", "2023-01-01",
            ],
        },
        geometry=[
            Point(-0.1, 51.5), Point(-0.1, 51.5),
            Polygon([(-0.1, 51.5), (-0.11, 51.5), (-0.1, 51.51)]), Point(51.5, -0.1), None,
        ],
        crs=4326,
    )  # fmt: skip
    p = tmp_path / "reports.geojson"
    g.to_file(p)
    inc, rep = hs.read_incidents(p, with_report=True)
    assert dict(zip(rep.rejects["row"], rep.rejects["reason"], strict=True)) == {
        3: "geometry is not a point",
        5: "missing coordinates",
    }
    assert rep.rejects["geometry_wkt"].iloc[0].startswith("POLYGON")
    assert rep.fixed["row"].tolist() == [4]
    # UTC and +01:00 stamps become London local time, tz-naive (BST in July)
    assert inc["occurred_at"].tolist() == [
        pd.Timestamp("2023-01-05 10:00"), pd.Timestamp("2023-07-05 10:00"),
        pd.Timestamp("2023-07-05 10:00"),
    ]  # fmt: skip
    assert inc.geometry.iloc[2].equals(inc.geometry.iloc[0])  # swapped point put back


def test_swapped_easting_northing_fixed():
    df = pd.DataFrame({"easting": [180000, 530000], "northing": [530000, 180000]})
    inc, rep = hs.read_incidents(df, with_report=True)
    assert rep.fixed["row"].tolist() == [0] and rep.n_rejected == 0
    assert inc.geometry.x.tolist() == [530000, 530000]
    assert inc["month"].isna().all()  # no date column: month unknown, rows kept


def test_readme_category_table_matches_categories_csv():
    """The mapping documented in README is the one the reader uses."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    rows = [r for r in readme.splitlines() if r.strip().startswith("| `")]
    table = {}
    for r in rows:
        cells = [c.strip() for c in r.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0].strip("`") not in hs.CATEGORIES:
            continue
        for cell in cells[1:]:
            for text in cell.replace(";", ",").split(","):
                text = text.split("(")[0].strip()
                if text:
                    table[text] = cells[0].strip("`")
    assert len(set(table.values())) == 14 and len(table) >= 40
    assert hcat.categorise(list(table)).tolist() == list(table.values())


def test_offsets_mixed_with_plain_times_keep_plain_ones_as_london_time(tmp_path):
    # plain times are London local time: only the ones with an offset are converted
    p = tmp_path / "mixed_zones.csv"
    p.write_text("occurred_at,lon,lat,category\n"
                 "2022-06-30T23:30:00Z,-0.33,51.58,robbery\n"  # 00:30 BST on 1 July
                 "2022-07-01 00:30,-0.33,51.58,robbery\n"  # already London time
                 "2022-07-01T02:30:00+01:00,-0.33,51.58,robbery\n"
                 "2022-01-15T12:00:00Z,-0.33,51.58,robbery\n", encoding="utf-8")  # GMT
    got = hs.read_incidents(p)["occurred_at"].tolist()
    assert got == [pd.Timestamp("2022-07-01 00:30"), pd.Timestamp("2022-07-01 00:30"),
                   pd.Timestamp("2022-07-01 02:30"), pd.Timestamp("2022-01-15 12:00")]
