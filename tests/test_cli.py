"""The command line as a user meets it: help with examples, plain errors, JSON for scripts.

Real data: Harrow's 2022 police.uk crime (`harrow_crime_2022`); a deliberately broken
police.uk-style CSV written here, whose reject reasons and row numbers are known.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import hotspots as hs
from hotspots import datasets
from hotspots.cli import app

COMMANDS = ("demo", "datasets", "validate", "counts", "rank", "map", "focus-week",
            "flytip-top20", "patrol", "backtest")
ALL = sorted({c.name or c.callback.__name__ for c in app.registered_commands})

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def json_of(res) -> dict:
    """The JSON a command printed on stdout (progress and notes go to stderr)."""
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


# A police.uk street CSV: header on line 1, so data rows are lines 2-8.
BROKEN = """Crime ID,Month,Longitude,Latitude,Crime type,Location
a1,2022-01,-0.3350,51.5800,Burglary,On or near High Street
a2,2022-01,,,Burglary,No Location
a3,2022-01,abc,51.5800,Robbery,On or near Station Road
a4,2022-02,-0.3360,51.5810,Robbery,On or near Station Road
a1,2022-01,-0.3350,51.5800,Burglary,On or near High Street
a6,2022-13,-0.3350,51.5800,Burglary,On or near High Street
a7,2022-03,2.3500,48.8500,Burglary,On or near Rue de Rivoli
"""
BROKEN_REJECTS = [  # (line, start of the reason), by hand from the rows above
    (3, "missing coordinates"), (4, "non-numeric coordinates"), (6, "duplicate id"),
    (7, "unparseable date"), (8, "outside"),  # Paris: outside London / the study area
]


@pytest.fixture
def broken(tmp_path):
    p = tmp_path / "broken_street.csv"
    p.write_text(BROKEN, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def harrow_validate():
    return json_of(invoke("validate", "harrow_crime_2022", "--json"))


# --------------------------------------------------------------------------- help


def test_help_lists_the_commands():
    res = invoke("--help")
    assert res.exit_code == 0
    for name in COMMANDS:
        assert f" {name} " in res.output, name


@pytest.mark.parametrize("name", ALL)
def test_every_command_help_has_an_example(name):
    res = invoke(name, "--help")
    assert res.exit_code == 0, res.output
    assert "Example: hotspots " in res.output or "Example: make " in res.output
    assert f"hotspots {name}" in res.output


@pytest.mark.parametrize("name", ["validate", "kde", "gistar", "map", "datasets", "synthetic"])
def test_help_text_has_no_line_broken_mid_sentence(name):
    # a wide terminal, so any line break left in the output is one from the docstring
    res = invoke(name, "--help")
    text = res.output.split("Usage:", 1)[1].split("╭", 1)[0].splitlines()[1:]
    lines = [t.strip() for t in text if t.strip()]
    assert lines and all(t.endswith((".", ";", ":")) or t.startswith("Example:")
                         for t in lines), lines


@pytest.mark.parametrize("sub", ["add", "info"])
def test_store_subcommand_help_has_an_example(sub):
    res = invoke("store", sub, "--help")
    assert res.exit_code == 0, res.output
    assert f"Example: hotspots store {sub}" in res.output


# --------------------------------------------------------------------------- errors


SOURCE_COMMANDS = [  # {f}: the incident file, {o}: an output path
    ("validate", "{f}"), ("counts", "{f}"), ("rank", "{f}", "--out", "{o}"),
    ("map", "{f}", "--out", "{o}.html"), ("read", "{f}", "--rejects", "{o}"),
    ("kde", "{f}", "--out", "{o}.gpkg"), ("gistar", "{f}", "--out", "{o}.gpkg"),
    ("change", "{f}", "--out", "{o}"), ("backtest", "--incidents", "{f}"),
    ("focus-week", "--incidents", "{f}", "--out", "{o}"),
    ("flytip-top20", "--incidents", "{f}", "--out", "{o}"),
    ("patrol", "--network", "osm_city_of_london", "--incidents", "{f}", "--start",
     "51.5155,-0.0922", "--out", "{o}"),
]


@pytest.mark.parametrize("args", SOURCE_COMMANDS, ids=[a[0] for a in SOURCE_COMMANDS])
def test_missing_file_is_a_plain_error(args, tmp_path):
    missing = tmp_path / "no_such_incidents.csv"
    res = invoke(*[a.format(f=missing, o=tmp_path / "o") for a in args])
    assert res.exit_code != 0
    assert "no_such_incidents.csv" in res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)


@pytest.mark.parametrize("content", ["not,a,table\n\x00\x01\x02", "",
                                     "id,what\n1,no coordinates here\n"],
                         ids=["binary", "empty", "no-coordinates"])
def test_unreadable_file_is_a_plain_error(content, tmp_path):
    p = tmp_path / "garbage.csv"
    p.write_text(content, encoding="utf-8")
    for cmd in ("validate", "counts", "rank"):
        res = invoke(cmd, str(p))
        assert res.exit_code == 1, (cmd, res.output)
        assert "garbage.csv" in res.output and "Traceback" not in res.output
        assert isinstance(res.exception, SystemExit)


def test_bad_option_value_is_a_plain_error():
    res = invoke("rank", "harrow_crime_2022", "--method", "voodoo", "--quiet")
    assert res.exit_code == 1 and "voodoo" in res.output and "Traceback" not in res.output


# --------------------------------------------------------------------------- validate


def test_validate_real_file_against_the_csv(harrow_validate):
    s = harrow_validate
    path = datasets.path("harrow_crime_2022")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert s["kind"] == "crimemappingdata" and s["files"] == [str(path)]
    assert s["rows_read"] == len(rows) == s["rows_kept"] + s["rows_rejected"]
    assert sum(s["categories"].values()) == s["rows_kept"]
    assert s["dates"] == {"first": "2022-01", "last": "2022-12", "month_only": True,
                          "n_undated": 0, "n_implausible": 0, "implausible_example": None}
    assert s["synthetic"] is False and s["n_synthetic"] == 0  # real police.uk data
    # extent: the file's own longitudes/latitudes bound the kept points (rounded to 1e-5)
    lon = [float(r["longitude"]) for r in rows]
    lat = [float(r["latitude"]) for r in rows]
    assert s["extent"]["wgs84"] == pytest.approx([min(lon), min(lat), max(lon), max(lat)],
                                                 abs=2e-5)
    # every kept point is in a London ward, most in Harrow's 22
    assert sum(s["boroughs"].values()) + s["outside_london_wards"] == s["rows_kept"]
    assert max(s["boroughs"], key=s["boroughs"].get) == "Harrow"
    assert s["boroughs"]["Harrow"] > 0.99 * s["rows_kept"]
    assert s["wards_touched"] >= 22
    assert s["unrecognised_categories"] == {}  # all 13 police.uk types are in the table


def test_validate_json_is_the_library_report(harrow_validate):
    """`hotspots validate --json` is hs.validate(...).to_dict(); .summary() is its text."""
    rep = hs.validate("harrow_crime_2022")
    assert rep.to_dict() == harrow_validate and rep.ok
    text = rep.summary()
    assert f"rows read: {rep.rows_read:,}; kept {rep.rows_kept:,}" in text
    assert f"kind detected: {rep.kind}" in text and "Harrow" in text
    assert len(rep.incidents) == rep.rows_kept == rep.read_report.n_kept


def test_validate_human_output(harrow_validate):
    res = invoke("validate", "harrow_crime_2022")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "kind detected: crimemappingdata" in out
    assert f"rows read: {harrow_validate['rows_read']:,}" in out
    assert "2022-01 to 2022-12 (month only" in out and "Harrow" in out


def test_validate_broken_csv_names_rows_and_reasons(broken, tmp_path):
    s = json_of(invoke("validate", str(broken), "--json"))
    assert s["kind"] == "police_uk"
    assert (s["rows_read"], s["rows_kept"], s["rows_rejected"]) == (7, 2, 5)
    assert [r["row"] for r in s["rejects"]] == [row for row, _ in BROKEN_REJECTS]
    for r, (_, reason) in zip(s["rejects"], BROKEN_REJECTS, strict=True):
        assert r["reason"].startswith(reason)
    assert all(r["file"] == str(broken) for r in s["rejects"])
    assert s["dates"]["first"] == "2022-01" and s["dates"]["last"] == "2022-02"
    assert s["categories"] == {"burglary": 1, "robbery": 1}
    assert s["unrecognised_categories"] == {}


def test_validate_fails_when_no_row_was_kept(tmp_path):
    # only the rejected rows of BROKEN (lines 3, 4, 7, 8): nothing left to analyse
    lines = BROKEN.splitlines()
    p = tmp_path / "junk.csv"
    p.write_text("\n".join([lines[0], lines[2], lines[3], lines[6], lines[7]]) + "\n")
    res = invoke("validate", str(p))
    assert res.exit_code == 1
    assert "no rows kept: all 4 rows read were rejected" in res.stderr
    assert "rows read: 4; kept 0; rejected 4" in res.stdout  # the report is still shown
    res = invoke("validate", str(p), "--json")
    assert res.exit_code == 1 and json.loads(res.stdout)["rows_kept"] == 0
    assert invoke("validate", str(p), "--quiet").exit_code == 1


def test_validate_names_wordings_it_counts_as_other(broken, tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text(BROKEN.replace("a4,2022-02,-0.3360,51.5810,Robbery",
                                "a4,2022-02,-0.3360,51.5810,Moped menace"), encoding="utf-8")
    s = json_of(invoke("validate", str(p), "--json"))
    assert s["categories"] == {"burglary": 1, "other": 1}
    assert s["unrecognised_categories"] == {"Moped menace": 1}
    assert "counted as 'other': 'Moped menace' 1" in invoke("validate", str(p)).stdout

    rejects = tmp_path / "rejects.csv"
    res = invoke("validate", str(broken), "--rejects", str(rejects))
    assert res.exit_code == 0, res.output
    for row, reason in BROKEN_REJECTS:  # the counts, and each row in the table
        assert f"rejected, {reason}" in res.stdout
        assert re.search(rf"│ +{row} │ {reason}", res.stdout), (row, reason)
    assert [int(r["row"]) for r in csv.DictReader(rejects.open())] == [r for r, _ in
                                                                      BROKEN_REJECTS]
    # --strict: a script can refuse a file with rejects; --quiet prints nothing
    res = invoke("validate", str(broken), "--strict", "--quiet")
    assert res.exit_code == 2 and res.stdout == ""


SAMPLE_FLYTIPS = "sample_data/harrow_flytips_2022_synthetic.csv.gz"


def _sample_rows() -> int:
    """Rows in the committed synthetic fly-tip sample (every one a fly_tip), by csv."""
    with gzip.open(SAMPLE_FLYTIPS, "rt", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["category"] for r in rows} == {"fly_tip"}
    return len(rows)


@pytest.fixture(scope="module")
def flytips_validate():
    return invoke("validate", SAMPLE_FLYTIPS), json_of(invoke("validate", SAMPLE_FLYTIPS,
                                                              "--json"))


def test_validate_canonical_categories_are_not_called_unknown(flytips_validate):
    # category is fly_tip on every row; subcategory holds free text ('black bags', ...)
    text, s = flytips_validate
    assert s["categories"] == {"fly_tip": _sample_rows()}
    assert s["unrecognised_categories"] == {}
    assert "counted as 'other'" not in text.stdout and "black bags" not in text.stdout


def test_validate_says_a_file_is_synthetic(flytips_validate):
    text, s = flytips_validate
    n = _sample_rows()
    assert s["synthetic"] is True and s["n_synthetic"] == s["rows_kept"] == n
    note = "calibrated to FixMyStreet report counts"
    assert note in s["synthetic_note"]
    first = text.stdout.splitlines()[0]
    assert first.startswith(f"SYNTHETIC: {n:,} of {n:,} rows") and note in " ".join(
        text.stdout.split())


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_dates_none_implausible_and_day_only(tmp_path):
    # no date column at all: "dates: none", not a month-only claim
    undated = _write(tmp_path / "undated.csv", "id,easting,northing,type\n"
                     "1,516242,190141,Burglary\n2,516163,191717,Robbery\n")
    s = json_of(invoke("validate", undated, "--json"))
    assert s["dates"]["first"] is None and s["dates"]["month_only"] is False
    assert s["dates"]["n_undated"] == 2
    assert "dates: none" in invoke("validate", undated).stdout
    # dates only (all midnight): days, no fake 00:00; 1999 and 2031 flagged (2 of 3)
    dated = _write(tmp_path / "dated.csv", "id,easting,northing,type,date\n"
                   "1,516242,190141,Burglary,1999-05-01\n2,516163,191717,Robbery,2022-03-04\n"
                   "3,516163,191717,Robbery,2031-03-04\n")
    s = json_of(invoke("validate", dated, "--json"))
    assert s["dates"]["first"] == "1999-05-01" and s["dates"]["last"] == "2031-03-04"
    assert s["dates"]["n_implausible"] == 2 and s["dates"]["month_only"] is False
    assert s["dates"]["implausible_example"].startswith("1999-05-01 (incident 1")
    out = invoke("validate", dated).stdout
    assert "00:00" not in out and "implausible dates (before 2000 or after today): 2" in out


def test_validate_and_counts_agree_on_the_borough(harrow_validate):
    c = json_of(invoke("counts", "harrow_crime_2022", "--borough", "Harrow", "--json"))
    assert c["n_counted"] == harrow_validate["boroughs"]["Harrow"]
    assert c["n_outside_borough"] == harrow_validate["rows_kept"] - c["n_counted"] > 0
    assert c["freq"] is None  # JSON null, not the string "None"


def test_unrecognised_categories_refuses_a_whole_table(harrow):
    with pytest.raises(hs.BadInputError, match="subcategory"):
        hs.unrecognised_categories(harrow)
    assert hs.unrecognised_categories(harrow["subcategory"]).empty


# --------------------------------------------------------------------------- counts


def test_counts_match_an_independent_spatial_join(harrow):
    s = json_of(invoke("counts", "harrow_crime_2022", "--borough", "Harrow",
                       "--tolerance", "0", "--json"))
    wards = hs.wards("Harrow", 2022)
    assert len(s["rows"]) == len(wards) == 22
    # reference: geopandas' own point-in-polygon join (a point on a shared edge is
    # counted once by the CLI, possibly twice by sjoin: compare where sjoin is unique)
    j = gpd.sjoin(harrow[["geometry"]], wards[["ward_code", "geometry"]], predicate="within")
    ref = j.groupby("ward_code").size()
    got = {r["ward_code"]: r["count"] for r in s["rows"]}
    assert got == {c: int(ref.get(c, 0)) for c in wards["ward_code"]}
    assert s["n_counted"] == sum(got.values())
    # rates: count per 1,000 of the GLA 2022 population on 2022 wards, as the table says
    assert s["population"] == "GLA 2022 on 2022 wards"
    pop = hs.ward_population(2022, ward_year=2022, borough="Harrow")
    pop = pop.set_index("ward_code")["population"]
    for r in s["rows"]:
        assert r["rate_per_1000"] == pytest.approx(1000 * r["count"] / pop[r["ward_code"]])
    counts = [r["count"] for r in s["rows"]]
    assert counts == sorted(counts, reverse=True)  # busiest first


def test_counts_monthly_csv(tmp_path):
    out = tmp_path / "counts.csv"
    res = invoke("counts", "harrow_crime_2022", "--borough", "Harrow", "--freq", "MS",
                 "--by-category", "--out", str(out), "--quiet")
    assert res.exit_code == 0 and res.stdout == ""
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["period"][:7] for r in rows} == {f"2022-{m:02d}" for m in range(1, 13)}
    total = json_of(invoke("counts", "harrow_crime_2022", "--borough", "Harrow", "--json"))
    assert sum(int(r["count"]) for r in rows) == total["n_counted"]
    assert {r["category"] for r in rows} >= {"burglary", "robbery", "violence_sexual"}


# --------------------------------------------------------------------------- rank


def test_rank_writes_csv_geojson_and_json(tmp_path):
    out = tmp_path / "top"
    s = json_of(invoke("rank", "harrow_crime_2022", "--borough", "Harrow", "--out", str(out),
                       "--json"))
    areas = s["areas"]
    assert [a["rank"] for a in areas] == list(range(1, 21))
    scores = [a["score"] for a in areas]
    assert scores == sorted(scores, reverse=True)
    with (tmp_path / "top.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [int(r["rank"]) for r in table] == list(range(1, 21))
    assert [int(r["n_incidents"]) for r in table] == [a["n_incidents"] for a in areas]
    gj = gpd.read_file(tmp_path / "top.geojson")
    assert len(gj) == 20 and gj.crs.to_epsg() == 4326
    # lat/lon are inside their own area
    for a, geom in zip(areas, gj.geometry, strict=True):
        assert geom.buffer(1e-3).contains(gpd.points_from_xy([a["lon"]], [a["lat"]])[0])


# --------------------------------------------------------------------------- JSON


def test_datasets_json_and_quiet():
    s = json_of(invoke("datasets", "--json"))
    keys = {d["key"] for d in s["datasets"]}
    assert keys == set(datasets.registry())
    found = {d["key"]: d["found_at"] for d in s["datasets"]}
    assert found["harrow_crime_2022"] == str(datasets.path("harrow_crime_2022"))
    res = invoke("datasets", "--quiet")
    assert res.exit_code == 0 and res.stdout == ""


def test_datasets_searches_each_folder_once(tmp_path, monkeypatch):
    shared = datasets.PROJECT_ROOT.parent / "shared" / "data"
    (tmp_path / "link").symlink_to(shared)
    for env in (str(shared) + "/", str(tmp_path / "link")):  # the shared folder, renamed
        monkeypatch.setenv("HOTSPOTS_DATA", env)
        searched = json_of(invoke("datasets", "--json"))["searched"]
        assert searched[0] == str(Path(env))
        resolved = [Path(d).resolve() for d in searched]
        assert len(resolved) == len(set(resolved)) and shared.resolve() in resolved


def test_forecast_says_what_it_chose(tmp_path):
    out = tmp_path / "fc.csv"
    s = json_of(invoke("forecast", "barnet_burglary_2022", "--cell-size", "200", "--out",
                       str(out), "--json"))
    assert s["method"] in {"counts", "decayed", "stkde", "blend", "near_repeat"}
    assert s["chosen_because"] and s["forecast_period"] == "2023-01"
    cells = pd.read_csv(out)
    assert {"risk", "rank", "x", "y", "lon", "lat"} <= set(cells.columns)
    assert cells["risk"].sum() == pytest.approx(s["expected_total"], rel=1e-3)
    text = invoke("forecast", "barnet_burglary_2022", "--cell-size", "200", "--out",
                  str(tmp_path / "fc.gpkg")).output
    assert "chosen by backtest" in text and "forecast for 2023-01" in text


def test_backtest_json():
    s = json_of(invoke("backtest", "--incidents", "harrow_crime_2022", "--months", "1",
                       "--json"))
    assert {"forecast", "counts", "decayed", "kde", "gistar"} <= {m["method"]
                                                                   for m in s["methods"]}
    assert all(m["folds"] == 1 and m["mean_pai"] >= 0 for m in s["methods"])
    assert all(m["area_share"] == pytest.approx(0.05) for m in s["methods"])
    assert "Rolling origin" in s["protocol"]


# --------------------------------------------------------------------------- maps offline

LEAFLET_CDN = re.compile(r'<script[^>]+src="https?://', re.I)
LEAFLET_INLINE = 't.version="1.9.4"'  # a line of node_modules/leaflet/dist/leaflet.js


@pytest.fixture(scope="module")
def map_commands(tmp_path_factory):
    """Each map-writing command run once with its defaults (no --offline) and --json:
    the output folder and each command's JSON."""
    out = tmp_path_factory.mktemp("maps")
    runs = {
        "focus-week": ("focus-week", "--teams", "--out", str(out)),
        "flytip-top20": ("flytip-top20", "--out", str(out)),
        "patrol": ("patrol", "--incidents", "city_of_london_2019", "--out",
                   str(out / "patrol")),
        "map": ("map", "harrow_crime_2022", "--borough", "Harrow", "--out",
                str(out / "map.html")),
    }
    return out, {name: json_of(invoke(*args, "--json")) for name, args in runs.items()}


def test_maps_are_offline_by_default(map_commands):
    out, _ = map_commands
    pages = sorted(out.rglob("*map*.html"))
    folders = {p.parent.name for p in pages}
    assert {"focus-week-2022-W06", "flytip-top20", "patrol"} <= folders
    assert out / "map.html" in pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not LEAFLET_CDN.search(html), page  # no Leaflet from a CDN
        assert LEAFLET_INLINE in html, page


def test_online_switch_still_loads_leaflet_from_the_internet(tmp_path):
    res = invoke("flytip-top20", "--no-offline", "--n", "3", "--out", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert LEAFLET_CDN.search((tmp_path / "flytip-top20" / "map.html").read_text())


# --------------------------------------------------------------------------- empty / bad values


@pytest.mark.parametrize("cmd", ["counts", "rank", "map"])
def test_a_borough_with_none_of_the_incidents_is_an_error(cmd, tmp_path):
    # Camden's June 2019 crime has nothing in Harrow
    n = len(hs.read_incidents("camden_2019_06"))
    out = tmp_path / {"counts": "o.csv", "map": "o.html"}.get(cmd, "o")
    res = invoke(cmd, "camden_2019_06", "--borough", "Harrow", "--out", str(out))
    assert res.exit_code == 1, res.output
    msg = " ".join(res.output.split())
    assert f"no incidents in Harrow ({n:,} read, all outside it)" in msg
    assert "Traceback" not in res.output


def test_rank_explains_too_few_incidents(tmp_path):
    two = _write(tmp_path / "two.csv", "id,easting,northing,type,date\n"
                 "1,516242,190141,Burglary,2022-01-05\n2,516163,191717,Robbery,2022-03-04\n")
    s = json_of(invoke("rank", two, "--out", str(tmp_path / "top"), "--json"))
    assert s["areas"] == [] and s["n_requested"] == 20
    assert s["note"].startswith("no areas: 2 incidents are too few")
    assert "at least 3 incidents within 150 m" in s["note"]


@pytest.mark.parametrize("args, expect", [
    (("backtest", "--incidents", "harrow_crime_2022", "--months", "0"), "--months"),
    (("map", "harrow_crime_2022", "--year", "2030"), "2022"),  # names the years there are
])
def test_bad_values_are_refused(args, expect, tmp_path):
    res = invoke(*args, "--out", str(tmp_path / "o.html")) if args[0] == "map" else invoke(*args)
    assert res.exit_code != 0, res.output
    assert expect in res.output and "Traceback" not in res.output
    if args[0] == "map":
        assert "2030" in res.output and not (tmp_path / "o.html").exists()


# --------------------------------------------------------------------------- advice in CLI terms


@pytest.mark.parametrize("args", [("counts", "--top", "1"), ("kde", "--out", "{o}")],
                         ids=["counts", "kde"])
def test_rejected_rows_point_to_validate_not_python(args, tmp_path):
    # City of London 2019 has rows without coordinates; counted, then a CLI hint
    res = invoke(args[0], "city_of_london_2019",
                 *[a.format(o=tmp_path / "k.csv") for a in args[1:]])
    assert res.exit_code == 0, res.output
    assert "with_report" not in res.output
    msg = " ".join(res.output.split())
    assert re.search(r"note: kept [\d,]+ of [\d,]+ rows; rejected [\d,]+ \(", msg)
    assert "hotspots validate city_of_london_2019 --rejects" in msg


def test_coordinate_columns_named_on_the_command_line(tmp_path):
    p = _write(tmp_path / "en.csv", "id,E,N,type\n1,516242,190141,Burglary\n"
               "2,516163,191717,Robbery\n")
    res = invoke("validate", p)
    assert res.exit_code == 1 and "--lon/--lat or --x/--y" in " ".join(res.output.split())
    assert "lon=" not in res.output
    s = json_of(invoke("counts", p, "--x", "E", "--y", "N", "--borough", "Harrow", "--json"))
    assert s["n_counted"] == 2  # both points are in Harrow (Wealdstone, Stanmore)


def test_mistyped_network_names_the_registry_networks():
    res = invoke("rank", "city_of_london_2019", "--network", "osm_city_of_londn", "--quiet")
    assert res.exit_code == 1
    msg = " ".join(res.output.split())
    assert "did you mean osm_city_of_london?" in msg and "hotspots datasets" in msg
    assert "hs.street_network" not in msg and "Traceback" not in msg


def test_map_commands_json_names_choices_and_files(map_commands):
    out, js = map_commands
    fw = js["focus-week"]
    ranking = list(csv.DictReader((out / "focus-week-2022-W06" / "ranking.csv").open()))
    chosen = {r["ward_name"]: r["team"] for r in ranking if r["chosen"] == "True"}
    assert {c["ward_name"]: c["team"] for c in fw["chosen"]} == chosen
    assert len(chosen) == 3 and fw["week"] == "2022-W06" and fw["synthetic"] is True
    assert set(fw["maps"]) == set(chosen)
    ft = js["flytip-top20"]
    with Path(ft["files"]["areas"]).open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [a["n_incidents"] for a in ft["areas"]] == [int(r["n_incidents"]) for r in table]
    assert len(table) == 20 and ft["n_fly_tips"] == _sample_rows()
    pt = js["patrol"]
    assert pt["n_stops"] == len(pt["stops"]) > 0
    assert [s["order"] for s in pt["stops"]] == list(range(1, pt["n_stops"] + 1))
    mp = js["map"]
    assert mp["n_incidents"] + mp["n_outside_borough"] == len(hs.read_incidents(
        "harrow_crime_2022"))
    for j in js.values():  # every path named was written
        paths = [*j.get("files", {}).values(), *j.get("maps", {}).values(), j.get("html")]
        assert all(Path(p).is_file() for p in paths if p), j


def test_quiet_map_commands_print_nothing(tmp_path):
    for args in (("map", "harrow_crime_2022", "--borough", "Harrow", "--n", "3", "--out",
                  str(tmp_path / "m.html")),
                 ("flytip-top20", "--n", "3", "--out", str(tmp_path))):
        res = invoke(*args, "--quiet")
        assert res.exit_code == 0 and res.stdout == "" and res.stderr == "", res.output


def test_the_same_file_twice_is_said_so(tmp_path):
    h = str(datasets.path("harrow_crime_2022"))
    res = invoke("read", h, h, "--rejects", str(tmp_path / "r.csv"))
    assert res.exit_code == 0, res.output
    n = len(hs.read_incidents(h))
    assert f"read {2 * n:,} rows from the same file twice: kept {n:,}, rejected {n:,}" in \
        " ".join(res.stdout.split())


def test_map_categories_keeps_only_those_incidents(tmp_path):
    # the demo's robbery + violence map: counted independently from the reader and a join
    inc = hs.assign_wards(hs.read_incidents("harrow_crime_2022"), hs.wards(None, 2022),
                          tolerance=25)
    in_harrow = inc["ward_code"].isin(hs.wards("Harrow", 2022)["ward_code"])
    want = int((in_harrow & inc["category"].isin(["robbery", "violence_sexual"])).sum())
    js = json_of(invoke("map", "harrow_crime_2022", "--borough", "Harrow", "--n", "3",
                        "--categories", "robbery, violence_sexual", "--out",
                        str(tmp_path / "m.html"), "--json"))
    assert js["categories"] == ["robbery", "violence_sexual"]
    assert 0 < js["n_incidents"] == want < int(in_harrow.sum())


@pytest.mark.parametrize("cmd", ["map", "kde", "gistar"])
def test_unknown_category_is_refused_with_the_vocabulary(cmd, tmp_path):
    out = tmp_path / ("x.html" if cmd == "map" else "x.csv")
    res = invoke(cmd, "harrow_crime_2022", "--categories", "robbery,violence", "--out",
                 str(out))
    assert res.exit_code == 1
    msg = " ".join(res.stderr.split())
    assert "category 'violence' is not in the vocabulary" in msg and "violence_sexual" in msg
    assert "Traceback" not in res.output and not out.exists()


def test_kde_csv_gives_cell_centres_that_hold_the_counts(tmp_path):
    from pyproj import Transformer

    out = tmp_path / "kde.csv"
    js = json_of(invoke("kde", "harrow_crime_2022", "--categories", "robbery", "--out",
                        str(out), "--json"))
    inc = hs.read_incidents("harrow_crime_2022")
    pts = inc[inc["category"] == "robbery"]
    assert js["n_points"] == len(pts) and js["categories"] == ["robbery"]
    grid = pd.read_csv(out)
    assert len(grid) == js["n_cells"]
    cs = js["cell_size"]
    # each robbery falls in the cell whose centre is within half a cell of it
    x0, y0 = grid["x"].min() - cs / 2, grid["y"].min() - cs / 2
    ix = np.floor((pts.geometry.x - x0) / cs).astype(int)
    iy = np.floor((pts.geometry.y - y0) / cs).astype(int)
    mine = Counter(zip(ix, iy, strict=True))
    cell = zip(np.rint((grid["x"] - x0 - cs / 2) / cs).astype(int),
               np.rint((grid["y"] - y0 - cs / 2) / cs).astype(int), strict=True)
    assert [mine.get(c, 0) for c in cell] == grid["count"].astype(int).tolist()
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(grid["x"], grid["y"])
    assert np.allclose(lon, grid["lon"], atol=1e-6) and np.allclose(lat, grid["lat"], atol=1e-6)


def test_gistar_json_and_quiet(tmp_path):
    out = tmp_path / "g.gpkg"
    res = invoke("gistar", "harrow_crime_2022", "--out", str(out), "--quiet")
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == "", res.output
    js = json_of(invoke("gistar", "harrow_crime_2022", "--out", str(out), "--json"))
    grid = gpd.read_file(out)
    assert js["n_cells"] == len(grid) and js["out"] == str(out)
    assert js["labels"] == grid["label"].value_counts().to_dict()


def test_store_info_json(tmp_path):
    store = tmp_path / "store"
    assert invoke("store", "add", "camden_2019_06", "--store", str(store)).exit_code == 0
    js = json_of(invoke("store", "info", "--store", str(store), "--json"))
    inc = hs.read_incidents("camden_2019_06")
    assert js["n_rows"] == len(inc) and js["n_files"] == 1
    assert js["categories"] == inc["category"].value_counts().to_dict()
    assert [m["month"] for m in js["months"]] == ["2019-06"]
    assert js["loads"][0]["n_new"] == len(inc)


@pytest.mark.parametrize("args, expect, library", [
    (("synthetic", "--n-fly-tips", "50", "--out", "{o}"), "--n-fly-tips must be a whole "
     "number >= 100", "(or None)"),
    (("patrol", "--incidents", "harrow_crime_2022", "--hours", "25-3", "--out", "{o}"),
     "--hours 14-24", "(14, 24)"),
], ids=["synthetic", "patrol"])
def test_bad_values_are_named_by_their_flags(args, expect, library, tmp_path):
    res = invoke(*[a.replace("{o}", str(tmp_path / "o")) for a in args])
    msg = " ".join(res.output.replace("│", " ").split())
    assert res.exit_code == 2 and expect in msg and library not in msg, msg
    assert not (tmp_path / "o").exists()


def test_missing_map_assets_point_to_the_online_flag(tmp_path, monkeypatch):
    from hotspots import maps

    monkeypatch.setattr(maps, "OFFLINE_ASSETS", ("no-such-asset.js",))
    res = invoke("map", "harrow_crime_2022", "--offline", "--n", "3",
                 "--out", str(tmp_path / "m.html"))
    msg = " ".join(res.stderr.split())
    assert res.exit_code == 1 and "pass --online" in msg and "offline=False" not in msg, msg
    assert not (tmp_path / "m.html").exists()


def test_demo_barnet_step_says_rejects_in_cli_terms(tmp_path, capsys, caplog):
    from hotspots.cli._common import _read_source
    from hotspots.demo import STEPS, DemoContext

    ctx = DemoContext(tmp_path, True, read=_read_source)  # as `hotspots demo` runs it
    dict(STEPS)["Committee trend table: Barnet burglary by ward"](ctx)
    (path,) = [p for _, p, _ in ctx.written]
    said = capsys.readouterr().err + caplog.text
    _, report = hs.read_incidents("barnet_burglary", with_report=True)
    assert report.n_rejected > 0 and path.is_file()
    assert f"kept {report.n_kept:,} of {report.n_read:,} rows" in " ".join(said.split())
    assert "hotspots validate barnet_burglary" in said and "with_report" not in said
