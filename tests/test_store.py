"""IncidentStore: GeoParquet by month, de-duplicated appends, atomic commits, pruned queries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
import shapely
from typer.testing import CliRunner

import hotspots as hs
from hotspots import store as store_mod
from hotspots.cli import app
from hotspots.store import MANIFEST, IncidentStore, content_ids

CANON = ["incident_id", "category", "subcategory", "occurred_at", "month", "source",
         "location_desc"]


def _same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    """Same incidents (canonical columns and points), whatever the row order."""
    a = a.sort_values("incident_id", ignore_index=True)
    b = b.sort_values("incident_id", ignore_index=True)
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(
        pd.DataFrame(a[CANON]).astype({c: "datetime64[ns]" for c in ("occurred_at", "month")}),
        pd.DataFrame(b[CANON]).astype({c: "datetime64[ns]" for c in ("occurred_at", "month")}),
        check_dtype=False,
    )
    assert a.crs.to_epsg() == b.crs.to_epsg() == 27700
    assert np.array_equal(shapely.get_coordinates(a.geometry.values),
                          shapely.get_coordinates(b.geometry.values))


@pytest.fixture(scope="module")
def harrow_ids(harrow):
    """Harrow 2022 with ids that do not depend on how the reader numbers rows."""
    return harrow.assign(incident_id=content_ids(harrow))


@pytest.fixture(scope="module")
def full_store(tmp_path_factory, harrow_ids):
    st = IncidentStore(tmp_path_factory.mktemp("store") / "s")
    st.append(harrow_ids, source="harrow 2022")
    return st


def test_round_trip_and_geoparquet_layout(full_store, harrow_ids):
    st = full_store
    _same(st.read(), harrow_ids)
    months = sorted(p.name for p in st.path.glob("period=*"))
    assert months == [f"period=2022-{m:02d}" for m in range(1, 13)]
    # any GeoParquet tool reads the folder: geopandas and a plain pyarrow dataset
    g = gpd.read_parquet(st.path)
    assert len(g) == len(harrow_ids) and g.crs.to_epsg() == 27700
    assert ds.dataset(st.path, format="parquet").count_rows() == len(harrow_ids)
    # each file holds one month only
    for f in st.files():
        t = gpd.read_parquet(f)
        assert t["month"].dt.strftime("%Y-%m").nunique() == 1
        assert f.parent.name == "period=" + t["month"].dt.strftime("%Y-%m").iloc[0]


def test_reappend_adds_nothing_and_logs(tmp_path, harrow_ids):
    st = IncidentStore(tmp_path / "s")
    first_half = harrow_ids[harrow_ids["month"] < "2022-07-01"]
    a = st.append(first_half, source="h1")
    assert (a.n_new, a.n_duplicate, a.n_read, a.n_kept) == (len(first_half), 0,
                                                              len(first_half), len(first_half))
    b = st.append(harrow_ids, source="all")
    assert b.n_new == len(harrow_ids) - len(first_half)
    assert b.n_duplicate == len(first_half)
    c = st.append(harrow_ids, source="again")
    assert (c.n_new, c.n_duplicate) == (0, len(harrow_ids))
    assert len(st) == len(harrow_ids)
    _same(st.read(), harrow_ids)
    log = st.loads()
    assert log["load"].tolist() == [1, 2, 3]
    assert log["source"].tolist() == ["h1", "all", "again"]
    assert (log["n_kept"] == log["n_new"] + log["n_duplicate"]).all()
    assert (log["n_read"] == log["n_kept"] + log["n_rejected"]).all()
    csv = pd.read_csv(st.path / "_loads.csv")
    assert csv["n_new"].tolist() == log["n_new"].tolist()


def test_append_file_records_sha_and_rejects(tmp_path, harrow):
    # a small police.uk-style file with one unplaceable row
    src = tmp_path / "2022-01-metropolitan-street.csv"
    rows = [_POLICE_HEAD,
            "a1,2022-01,Met,Met,-0.3351,51.5802,On or near X,E01,H 001,Burglary,,",
            "a2,2022-01,Met,Met,-0.3352,51.5803,On or near Y,E01,H 001,Drugs,,",
            "a3,2022-01,Met,Met,,,No location,,,Robbery,,",
            ",2022-01,Met,Met,-0.3352,51.5803,On or near Y,E01,H 001,Anti-social behaviour,,"]
    src.write_text("\n".join(rows) + "\n")
    st = IncidentStore(tmp_path / "s")
    rec = st.append(str(src))
    assert (rec.n_read, rec.n_kept, rec.n_rejected, rec.n_new) == (4, 3, 1, 3)
    assert rec.sha256 == hs.datasets.sha256_of(src)
    assert rec.file == src.name
    assert st.last_report.n_rejected == 1
    got = st.read()
    assert set(got["category"]) == {"burglary", "drugs", "asb"}
    assert "Crime ID" in got.columns or "crime_id" in got.columns.str.lower()


def test_content_ids_stable_and_distinct(tmp_path, harrow):
    # no incident_id column at all: the store hashes the content
    raw = harrow.drop(columns="incident_id")
    ids1, ids2 = content_ids(raw), content_ids(raw.iloc[::-1].iloc[::-1])
    assert ids1.is_unique and ids1.equals(ids2)
    twin = pd.concat([raw.iloc[:3], raw.iloc[:1]], ignore_index=True)  # a genuine repeat
    t = content_ids(twin)
    assert t.is_unique and t.iloc[3].rsplit("#", 1)[0] == t.iloc[0].rsplit("#", 1)[0]
    st = IncidentStore(tmp_path / "s")
    assert st.append(raw).n_new == len(raw)
    again = st.append(raw)
    assert (again.n_new, again.n_duplicate) == (0, len(raw))


def test_rows_without_place_or_date_are_counted_not_stored(tmp_path, harrow_ids):
    bad = harrow_ids.iloc[:5].copy()
    bad.loc[bad.index[0], "geometry"] = None
    bad.loc[bad.index[1], "month"] = pd.NaT
    rec = IncidentStore(tmp_path / "s").append(bad)
    assert (rec.n_read, rec.n_kept, rec.n_rejected, rec.n_new) == (5, 3, 2, 3)


@pytest.mark.parametrize("kw", [
    dict(period="2022-03"),
    dict(period=("2022-02", "2022-04"), categories=["burglary", "robbery"]),
    dict(categories="drugs"),
    dict(bbox=(514_000, 187_000, 516_000, 189_500)),
    dict(period="2022", bbox=(514_000, 187_000, 516_000, 189_500), categories="theft"),
])
def test_query_equals_pandas_filter(full_store, harrow_ids, kw):
    got = full_store.query(**kw)
    want = harrow_ids
    lo, hi = store_mod._month_range(kw.get("period"))
    key = want["month"].dt.strftime("%Y-%m")
    m = (key >= lo) & (key <= hi)
    if "categories" in kw:
        cats = kw["categories"]
        m &= want["category"].isin([cats] if isinstance(cats, str) else cats)
    if "bbox" in kw:
        x0, y0, x1, y1 = kw["bbox"]
        m &= want.geometry.x.between(x0, x1) & want.geometry.y.between(y0, y1)
    assert m.sum() > 0
    _same(got, want[m])


def test_query_wards_equals_point_in_polygon(full_store, harrow_ids):
    w = hs.wards(borough="Harrow", year=2022)
    two = w.iloc[:2]
    got = full_store.query(wards=two)
    inside = harrow_ids.geometry.intersects(shapely.union_all(two.geometry.values))
    assert 0 < inside.sum() < len(harrow_ids)
    _same(got, harrow_ids[inside.to_numpy()])
    by_name = full_store.query(wards=list(two["ward_name"]))
    _same(by_name, got)


def test_query_reads_only_needed_files(full_store, monkeypatch):
    opened: list = []
    real = store_mod._scan

    def spy(paths, expr, columns):
        opened.extend(paths)
        return real(paths, expr, columns)

    monkeypatch.setattr(store_mod, "_scan", spy)
    q = full_store.query(period="2022-05", categories="burglary")
    assert len(opened) == 1 and opened[0].parent.name == "period=2022-05"
    assert q.attrs["n_files_read"] == 1 and q.attrs["n_files"] == 12
    opened.clear()
    far = full_store.query(bbox=(530_000, 170_000, 531_000, 171_000))  # outside Harrow
    assert opened == [] and len(far) == 0
    opened.clear()
    full_store.query(period=("2022-11", "2022-12"))
    assert sorted(p.parent.name for p in opened) == ["period=2022-11", "period=2022-12"]


def test_bad_arguments_are_clear(full_store, tmp_path):
    with pytest.raises(hs.BadInputError, match="period"):
        full_store.query(period="spring")
    with pytest.raises(hs.BadInputError, match="bbox"):
        full_store.query(bbox=(1, 2, 3))
    with pytest.raises(hs.BadInputError, match="GeoDataFrame"):
        IncidentStore(tmp_path / "x").append(pd.DataFrame({"a": [1]}))


_WRITER = textwrap.dedent("""
    import sys
    import geopandas as gpd
    from hotspots.store import IncidentStore
    inc = gpd.read_parquet(sys.argv[2])
    IncidentStore(sys.argv[1]).append(inc, source="killed")
    print("committed")
""")


def _state(st: IncidentStore):
    return (st.path / MANIFEST).read_bytes(), st.read().sort_values("incident_id",
                                                                    ignore_index=True)


def _kill_mid_write(st: IncidentStore, script: str, *args: str) -> None:
    """Run `script` on the store in a subprocess; SIGKILL it once it has written files."""
    env = dict(os.environ, HOTSPOTS_STORE_PAUSE="0.3")
    p = subprocess.Popen([sys.executable, "-c", script, str(st.path), *args], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(st.path.glob("period=*/.part-*.tmp")):  # mid-write: some files written
        assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
        time.sleep(0.02)
    time.sleep(0.4)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL
    assert list(st.path.glob("period=*/.part-*.tmp"))  # it really died with files half-done


def test_killed_append_leaves_store_as_before(tmp_path, harrow_ids):
    st = IncidentStore(tmp_path / "s")
    first = harrow_ids[harrow_ids["month"] < "2022-04-01"]
    st.append(first, source="first")
    manifest_before, rows_before = _state(st)
    frame = tmp_path / "all.parquet"
    harrow_ids.to_parquet(frame)
    _kill_mid_write(st, _WRITER, str(frame))
    manifest_after, rows_after = _state(st)
    assert manifest_after == manifest_before
    pd.testing.assert_frame_equal(rows_after, rows_before)
    assert len(st.loads()) == 1
    # what a plain GeoParquet reader sees is the committed state too (hidden files skipped)
    assert ds.dataset(st.path, format="parquet").count_rows() == len(first)
    # the next append works, cleans up and gives the full set
    rec = st.append(harrow_ids, source="retry")
    assert rec.n_new == len(harrow_ids) - len(first)
    assert not list(st.path.glob("period=*/.part-*.tmp"))
    _same(st.read(), harrow_ids)


def test_committed_but_unrenamed_files_are_read_and_rolled_forward(tmp_path, harrow_ids):
    st = IncidentStore(tmp_path / "s")
    st.append(harrow_ids.iloc[:500])
    # a process killed after the commit, before renaming: the files are still hidden
    for f in st.files():
        f.rename(f.with_name(f".{f.name}.tmp"))
    _same(st.read(), harrow_ids.iloc[:500])
    st.append(harrow_ids.iloc[500:1000])
    assert all(f.exists() and not f.name.startswith(".") for f in st.files())
    _same(st.read(), harrow_ids.iloc[:1000])


def test_cli_store_add_and_info(tmp_path):
    runner = CliRunner()
    store = tmp_path / "s"
    res = runner.invoke(app, ["store", "add", "harrow_crime_2022", "--store", str(store)],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    n = len(IncidentStore(store))
    assert f"new {n:,}" in res.output
    res = runner.invoke(app, ["store", "add", "harrow_crime_2022", "--store", str(store)],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "new 0" in res.output
    res = runner.invoke(app, ["store", "info", "--store", str(store)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert f"{n:,} incidents" in res.output and "2022-12" in res.output
    assert "violence_sexual" in res.output
    m = json.loads((store / MANIFEST).read_text())
    assert len(m["loads"]) == 2
    res = runner.invoke(app, ["store", "info", "--store", str(tmp_path / "none")])
    assert res.exit_code == 1 and "no incident store" in res.output
    assert "Traceback" not in res.output


def test_source_columns_kept_as_text_even_clashing_names(tmp_path, harrow_ids):
    inc = harrow_ids.iloc[:50].assign(period="Q1", score=np.arange(50, dtype=float))
    st = IncidentStore(tmp_path / "s")
    st.append(inc)
    got = st.read().sort_values("incident_id", ignore_index=True)
    want = inc.sort_values("incident_id", ignore_index=True)
    assert (got["period_src"] == "Q1").all()  # 'period' is the folder key
    assert got["score"].astype(float).tolist() == want["score"].tolist()


def _council_csv(path, seed: int, n: int = 200) -> None:
    """A council export numbering its own records 1..n (a different place per council)."""
    rng = np.random.default_rng(seed)
    pd.DataFrame({
        "reference": np.arange(1, n + 1),
        "type": rng.choice(["Fly-tipping", "Graffiti", "Abandoned vehicle"], n),
        "easting": rng.uniform(512_000, 518_000, n).round(),
        "northing": rng.uniform(186_000, 191_000, n).round(),
        "date": pd.Timestamp("2022-03-01") + pd.to_timedelta(rng.integers(0, 60, n), "D"),
    }).to_csv(path, index=False)


def test_source_ids_are_unique_per_source_not_across_sources(tmp_path):
    a, b = tmp_path / "council_a.csv", tmp_path / "council_b.csv"
    _council_csv(a, 1)
    _council_csv(b, 2)
    st = IncidentStore(tmp_path / "s")
    assert st.append(str(a)).n_new == 200
    rec = st.append(str(b))  # same reference numbers 1..200, other incidents: all kept
    assert (rec.n_new, rec.n_duplicate) == (200, 0)
    assert len(st) == 400
    for f in (a, b):  # reloading either adds nothing
        again = st.append(str(f))
        assert (again.n_new, again.n_duplicate) == (0, 200)
    # a copy of one export under another name: same ids, same content, the same incidents
    copy = tmp_path / "council_a (1).csv"
    copy.write_bytes(a.read_bytes())
    assert st.append(str(copy)).n_new == 0
    # an explicit scope: a later export of council a under a new name, one record edited
    st2 = IncidentStore(tmp_path / "s2")
    st2.append(str(a), id_scope="council-a")
    edited = pd.read_csv(a)
    edited.loc[0, "type"] = "Graffiti" if edited.loc[0, "type"] != "Graffiti" else "Fly-tipping"
    week2 = tmp_path / "council_a_week2.csv"
    edited.to_csv(week2, index=False)
    assert st2.append(str(week2)).n_new == 1  # default scope: the edited one is new
    st3 = IncidentStore(tmp_path / "s3")
    st3.append(str(a), id_scope="council-a")
    rec = st3.append(str(week2), id_scope="council-a")
    assert (rec.n_new, rec.n_duplicate, rec.n_changed, rec.n_replaced) == (0, 200, 1, 0)
    assert len(st) == 400 and st.read()["incident_id"].nunique() == 200


_POLICE_HEAD = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
                "LSOA code,LSOA name,Crime type,Last outcome category,Context")


def test_police_uk_ids_are_global_across_files(tmp_path):
    a = tmp_path / "2022-01-metropolitan-street.csv"
    a.write_text(_POLICE_HEAD + "\n"
                 "c1,2022-01,Met,Met,-0.3351,51.5802,On or near X,E01,H 001,Burglary,,\n"
                 "c2,2022-01,Met,Met,-0.3352,51.5803,On or near Y,E01,H 001,Drugs,,\n")
    # a later file (another name) repeating c1 with a re-snapped point: still c1
    b = tmp_path / "2022-01-metropolitan-street-revised.csv"
    b.write_text(_POLICE_HEAD + "\n"
                 "c1,2022-01,Met,Met,-0.3301,51.5812,On or near Z,E01,H 001,Burglary,,\n"
                 "c3,2022-01,Met,Met,-0.3352,51.5803,On or near Y,E01,H 001,Robbery,,\n")
    st = IncidentStore(tmp_path / "s")
    assert st.append(str(a)).n_new == 2
    rec = st.append(str(b))
    assert (rec.n_new, rec.n_duplicate) == (1, 1)
    assert sorted(st.read()["incident_id"]) == ["c1", "c2", "c3"]
    assert st.append(str(a)).n_new == 0


def test_tz_aware_times_stored_as_london_local(tmp_path, harrow_ids):
    inc = harrow_ids.iloc[:20].copy()
    local = pd.Timestamp("2022-07-01 00:30")  # BST: 23:30 UTC the day before
    inc["occurred_at"] = pd.Series(local, index=inc.index).dt.tz_localize(
        "Europe/London").dt.tz_convert("UTC")
    inc["month"] = pd.NaT
    inc = inc.drop(columns="month")
    st = IncidentStore(tmp_path / "s")
    assert st.append(inc).n_new == 20
    got = st.read()
    assert (got["occurred_at"] == local).all()  # naive London time, as the reader gives
    assert (got["month"] == pd.Timestamp("2022-07-01")).all()  # not June (the UTC date)


def test_query_says_when_nothing_can_match(full_store, harrow_ids):
    # a source wording the vocabulary knows is mapped; an unknown one names the vocabulary
    _same(full_store.query(categories="Burglary"), full_store.query(categories="burglary"))
    with pytest.raises(hs.BadInputError, match="vocabulary.*burglary"):
        full_store.query(categories=["burglary", "Burglaries of the moon"])
    with pytest.raises(hs.BadInputError, match="starts after it ends"):
        full_store.query(period=("2022-05", "2022-01"))
    with pytest.raises(hs.BadInputError, match="EPSG:27700 metres"):
        full_store.query(bbox=(-0.35, 51.57, -0.30, 51.60))
    # degrees are fine when said so: the same rows as the BNG box that covers them
    deg = (-0.35, 51.57, -0.30, 51.60)
    got = full_store.query(bbox=deg, bbox_crs="EPSG:4326")
    wgs = harrow_ids.to_crs(4326)
    want = harrow_ids[(wgs.geometry.x.between(deg[0], deg[2])
                       & wgs.geometry.y.between(deg[1], deg[3])).to_numpy()]
    assert len(want) > 0 and set(want["incident_id"]) <= set(got["incident_id"])
    box = store_mod._check_bbox(deg, "EPSG:4326")
    x, y = got.geometry.x, got.geometry.y
    assert (x.between(box[0], box[2]) & y.between(box[1], box[3])).all()


def test_cli_store_add_other_forces_and_globs(tmp_path):
    runner = CliRunner()
    store = tmp_path / "s"
    gm = tmp_path / "2022-01-greater-manchester-street.csv"
    gm.write_text(_POLICE_HEAD + "\n"
                  "m1,2022-01,GMP,GMP,-2.2446,53.4808,On or near A,E01,M 001,Burglary,,\n"
                  "m2,2022-01,GMP,GMP,-2.2301,53.4751,On or near B,E01,M 002,Drugs,,\n")
    args = ["store", "add", str(gm), "--store", str(store)]
    res = runner.invoke(app, args, env={"COLUMNS": "200"})  # London only: both rejected
    assert "Traceback" not in res.output
    assert "new 2" not in res.output and "outside London" in res.output
    assert "--bounds none" in res.output  # the way out, said where it is needed
    res = runner.invoke(app, [*args, "--bounds", "none"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "new 2," in res.output and len(IncidentStore(store)) == 2
    res = runner.invoke(app, [*args, "--bounds", "wales"])
    assert res.exit_code == 1 and "--bounds" in res.output
    # a glob with two copies of one weekly export: two loads, the second already stored
    wk = tmp_path / "wk"
    wk.mkdir()
    _council_csv(wk / "flytips-week-01.csv", 3, n=30)
    (wk / "flytips-week-01-copy.csv").write_bytes((wk / "flytips-week-01.csv").read_bytes())
    res = runner.invoke(app, ["store", "add", str(wk / "*.csv"), "--store", str(store)],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if ": read" in ln]
    assert lines[0].startswith("flytips-week-01-copy.csv") and "new 30," in lines[0]
    assert lines[1].startswith("flytips-week-01.csv") and "new 0," in lines[1]
    assert "already stored 30" in lines[1] and "rejected 0" in lines[1]
    loads = IncidentStore(store).loads()
    assert loads["file"].tolist()[-2:] == ["flytips-week-01-copy.csv", "flytips-week-01.csv"]
    # a folder of them: each file one more load, nothing new
    res = runner.invoke(app, ["store", "add", str(wk), "--store", str(store)])
    assert res.exit_code == 0 and len(IncidentStore(store).loads()) == len(loads) + 2
    assert len(IncidentStore(store)) == 32


def test_mixed_sources_keep_every_column_and_bools(tmp_path, harrow_ids):
    st = IncidentStore(tmp_path / "s")
    a = harrow_ids.iloc[:40].assign(synthetic=True)  # a flag column, true/false
    b = harrow_ids.iloc[40:100].assign(officer="PC 123")  # another source's own column
    st.append(a, source="a")
    st.append(b, source="b")
    got = st.read().sort_values("incident_id", ignore_index=True)
    ida = set(a["incident_id"])
    in_a = got["incident_id"].isin(ida)
    assert got.loc[in_a, "synthetic"].tolist() == [True] * 40  # bools, not 'true'
    assert got.loc[~in_a, "synthetic"].isna().all()
    assert (got.loc[~in_a, "officer"] == "PC 123").all() and got.loc[in_a, "officer"].isna().all()
    only = st.query(columns=["officer"])  # canonical columns plus those asked for
    assert set(only.columns) == set(CANON) | {"officer", "geometry"}
    ddf = st.to_dask()
    assert {"synthetic", "officer"} <= set(ddf.columns)
    d = ddf.compute().sort_values("incident_id", ignore_index=True)
    assert d.crs.to_epsg() == 27700 and len(d) == 100
    pd.testing.assert_frame_equal(  # dask makes text arrow strings: values compared
        pd.DataFrame(d.drop(columns="geometry")).astype(object).fillna(np.nan),
        pd.DataFrame(got.drop(columns="geometry")).astype(object).fillna(np.nan))
    assert d.geometry.geom_equals(got.geometry).all()
    # a column a later source gives as text next to a true/false one: read as text
    st.append(harrow_ids.iloc[100:110].assign(synthetic="maybe"), source="c")
    q = st.read()
    assert set(q["synthetic"].dropna()) == {"true", "maybe"}


_COMPACTOR = textwrap.dedent("""
    import sys
    from hotspots.store import IncidentStore
    IncidentStore(sys.argv[1]).compact()
    print("committed")
""")


def _weekly_store(path, harrow_ids) -> IncidentStore:
    """Three loads, each across all twelve months: 36 small files."""
    st = IncidentStore(path)
    week = np.arange(len(harrow_ids)) % 3
    for i in range(3):
        st.append(harrow_ids[week == i].assign(batch=f"w{i}"), source=f"week {i}")
    return st


def test_compact_rewrites_months_and_changes_no_result(tmp_path, harrow_ids):
    st = _weekly_store(tmp_path / "s", harrow_ids)
    assert len(st.files()) == 36
    before = st.read()
    one = st.query(period="2022-05", categories="burglary")
    log_before, info_before = st.loads(), st.info()
    out = st.compact()
    assert out == {"months": 12, "files_before": 36, "files_after": 12}
    assert len(st.files()) == 12 and len(list(st.path.glob("period=*/*.parquet"))) == 12
    pd.testing.assert_frame_equal(st.read(), before)  # same rows, same order
    pd.testing.assert_frame_equal(st.query(period="2022-05", categories="burglary"), one)
    pd.testing.assert_frame_equal(st.loads(), log_before)
    info = st.info()
    assert info["months"]["files"].eq(1).all()
    assert info["months"]["rows"].tolist() == info_before["months"]["rows"].tolist()
    assert info["bounds"] == info_before["bounds"]
    pd.testing.assert_series_equal(info["categories"], info_before["categories"])
    # a plain GeoParquet reader sees the same incidents (the old files are gone)
    assert len(gpd.read_parquet(st.path)) == len(harrow_ids)
    # appends after compacting still de-duplicate; compacting again is a no-op
    assert st.append(harrow_ids).n_new == 0
    assert st.compact()["months"] == 0
    res = CliRunner().invoke(app, ["store", "compact", "--store", str(st.path)],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "0 months rewritten" in res.output, res.output


def test_killed_compact_leaves_store_as_before(tmp_path, harrow_ids):
    st = _weekly_store(tmp_path / "s", harrow_ids)
    manifest_before, rows_before = _state(st)
    _kill_mid_write(st, _COMPACTOR)
    manifest_after, rows_after = _state(st)
    assert manifest_after == manifest_before
    pd.testing.assert_frame_equal(rows_after, rows_before)
    assert ds.dataset(st.path, format="parquet").count_rows() == len(harrow_ids)
    # the next compact cleans up and finishes
    assert st.compact()["files_after"] == 12
    assert not list(st.path.glob("period=*/.part-*.tmp"))
    pd.testing.assert_frame_equal(_state(st)[1], rows_before)


def test_compact_killed_after_commit_is_cleaned_up(tmp_path, harrow_ids):
    st = _weekly_store(tmp_path / "s", harrow_ids)
    old = st.files()
    kept = {f: f.read_bytes() for f in old}
    st.compact()
    for f, data in kept.items():  # as if killed before deleting the replaced files
        f.write_bytes(data)
    _same(st.read(), harrow_ids)  # the store reads only what the manifest lists
    st.append(harrow_ids.iloc[:10])  # the next writer deletes them
    assert not any(f.exists() for f in old)
    assert len(gpd.read_parquet(st.path)) == len(harrow_ids)


def test_cli_store_info_loads_readable_at_80_columns(tmp_path, harrow_ids):
    st = IncidentStore(tmp_path / "s")
    st.append(harrow_ids.iloc[:100], source="first")
    st.append(harrow_ids.iloc[:150], source="second")
    res = CliRunner().invoke(app, ["store", "info", "--store", str(st.path)],
                             env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(map(len, lines)) <= 80
    log = st.loads()
    for rec in log.itertuples():  # one line per load: time unbroken, hash prefix, seconds
        row = next(ln for ln in lines if ln.startswith(f"{rec.load} "))
        cells = row.split()
        assert rec.started.replace("T", " ")[:16] in row
        assert rec.sha256[:8] in cells or rec.sha256 == ""
        assert cells[-1] == f"{rec.seconds:.1f}"
    second = next(ln for ln in lines if ln.startswith("2 ")).split()
    assert second[-6:-3] == ["50", "100", "0"]  # new, already stored, rejected


def test_stores_written_before_scopes_still_deduplicate(tmp_path):
    a, b = tmp_path / "council_a.csv", tmp_path / "council_b.csv"
    _council_csv(a, 1)
    _council_csv(b, 2)
    st = IncidentStore(tmp_path / "s")
    st.append(str(a))
    for f in st.files():  # as an older version wrote them: no _scope column
        gpd.read_parquet(f).drop(columns="_scope").to_parquet(f, index=False)
    assert st.append(str(b)).n_new == 200  # a's scope derived from its source column
    assert (st.append(str(a)).n_new, st.append(str(b)).n_new) == (0, 0)


def _edited_week(a, path, moved: float = 20.0):
    """Week 2 of council a's export: record 1 recategorised, record 2 moved `moved` m east,
    record 3 moved 0.3 m (the same place to 1 m); the others as in week 1."""
    week = pd.read_csv(a)
    week.loc[0, "type"] = "Graffiti" if week.loc[0, "type"] != "Graffiti" else "Fly-tipping"
    week.loc[1, "easting"] += moved
    week.loc[2, "easting"] += 0.3
    week.to_csv(path, index=False)
    return week


def test_edited_records_are_counted_and_replaced_on_request(tmp_path):
    a, week2 = tmp_path / "council_a.csv", tmp_path / "council_a_week2.csv"
    _council_csv(a, 1)
    edited = _edited_week(a, week2)
    st = IncidentStore(tmp_path / "s")
    st.append(str(a), id_scope="council-a")
    before = st.read().set_index("incident_id")
    # default: counted, the stored version kept
    rec = st.append(str(week2), id_scope="council-a")
    assert (rec.n_new, rec.n_duplicate, rec.n_changed, rec.n_replaced) == (0, 200, 2, 0)
    pd.testing.assert_frame_equal(st.read().set_index("incident_id"), before)
    assert st.loads()["n_changed"].tolist() == [0, 2]
    assert pd.read_csv(st.path / "_loads.csv")["n_changed"].tolist() == [0, 2]
    # opt in: the two edited records take the new version, nothing else moves
    rec = st.append(str(week2), id_scope="council-a", replace_changed=True)
    assert (rec.n_new, rec.n_duplicate, rec.n_changed, rec.n_replaced) == (0, 200, 2, 2)
    after = st.read().set_index("incident_id")
    assert len(st) == len(after) == 200 and after.index.is_unique
    assert after.loc["1", "subcategory"] == edited.loc[0, "type"]  # the source's wording
    assert after.loc["1", "category"] != before.loc["1", "category"]
    assert after.loc["2"].geometry.x == pytest.approx(before.loc["2"].geometry.x + 20)
    assert after.loc["3"].geometry.x == pytest.approx(before.loc["3"].geometry.x)  # kept
    rest = [i for i in before.index if i not in ("1", "2")]
    _same(after.loc[rest].reset_index(), before.loc[rest].reset_index())
    assert sum(f["rows"] for f in json.loads((st.path / MANIFEST).read_text())["files"]) == 200
    assert ds.dataset(st.path, format="parquet").count_rows() == 200  # no stale file left
    # the store now holds week 2: loading it again changes nothing
    again = st.append(str(week2), id_scope="council-a")
    assert (again.n_new, again.n_changed) == (0, 0)


def test_cli_store_add_says_changed_and_replaces(tmp_path):
    a, week2 = tmp_path / "council_a.csv", tmp_path / "council_a_week2.csv"
    _council_csv(a, 1)
    _edited_week(a, week2)
    runner, store = CliRunner(), str(tmp_path / "s")
    args = ["--store", store, "--id-scope", "council-a"]
    assert runner.invoke(app, ["store", "add", str(a), *args]).exit_code == 0
    res = runner.invoke(app, ["store", "add", str(week2), *args], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    assert ("already stored 200, of which 2 changed since stored: kept the stored version; "
            "use --replace-changed to take the new one") in res.output
    res = runner.invoke(app, ["store", "add", str(week2), *args, "--replace-changed"],
                        env={"COLUMNS": "300"})
    assert res.exit_code == 0 and "of which 2 changed" in res.output, res.output
    assert IncidentStore(store).loads()["n_replaced"].tolist() == [0, 0, 2]


_REPLACER = textwrap.dedent("""
    import sys
    from hotspots.store import IncidentStore
    IncidentStore(sys.argv[1]).append(sys.argv[2], id_scope="c", replace_changed=True)
""")


def test_killed_replacing_append_leaves_store_as_before(tmp_path):
    a, week2 = tmp_path / "council_a.csv", tmp_path / "council_a_week2.csv"
    _council_csv(a, 1)
    week = pd.read_csv(a)
    week["easting"] += 50  # every record moved: every month file is rewritten
    week.to_csv(week2, index=False)
    st = IncidentStore(tmp_path / "s")
    st.append(str(a), id_scope="c")
    manifest_before, rows_before = _state(st)
    _kill_mid_write(st, _REPLACER, str(week2))
    manifest_after, rows_after = _state(st)
    assert manifest_after == manifest_before
    pd.testing.assert_frame_equal(rows_after, rows_before)
    rec = st.append(str(week2), id_scope="c", replace_changed=True)
    assert (rec.n_changed, rec.n_replaced, len(st)) == (200, 200, 200)
    assert ds.dataset(st.path, format="parquet").count_rows() == 200
    x = st.read().sort_values("incident_id", key=lambda s: s.astype(int)).geometry.x
    assert np.allclose(x.to_numpy(), week["easting"].to_numpy())


# ---------------------------------------------------------------------- never lose data
def _tiny(ids, months=("2022-01", "2022-02"), category="burglary") -> gpd.GeoDataFrame:
    """A few incidents with given ids, spread over `months` (small and fast)."""
    n = len(ids)
    month = pd.to_datetime([months[i % len(months)] for i in range(n)])
    x = 515_000 + 10.0 * np.arange(n)
    return gpd.GeoDataFrame({"incident_id": [str(i) for i in ids], "category": category,
                             "month": month, "source": "police.uk"},
                            geometry=gpd.points_from_xy(x, 188_000 + 0 * x), crs=27700)


def _snapshot(path) -> dict:
    """Every file under `path` with its sha256 (what 'no file changed' compares)."""
    import hashlib
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _ids(st: IncidentStore) -> set[str]:
    return set(st.read()["incident_id"])


def test_restored_older_manifest_is_refused_checked_and_recovered(tmp_path):
    st = IncidentStore(tmp_path / "s")
    st.append(_tiny(range(0, 6)), source="week 1")
    old = (st.path / MANIFEST).read_bytes()  # a backup taken before the next load
    st.append(_tiny(range(6, 14), months=("2022-02", "2022-03")), source="week 2")
    committed = _ids(st)
    (st.path / MANIFEST).write_bytes(old)  # the backup restored
    before = _snapshot(st.path)
    with pytest.raises(hs.HotspotsError, match="does not list") as err:
        st.append(_tiny(range(100, 103)), source="week 3")
    assert "store recover" in str(err.value)
    assert _snapshot(st.path) == before  # refused: no file removed, moved or written
    # the data files of week 2 are still there for plain readers, and check says why
    assert set(gpd.read_parquet(st.path)["incident_id"]) == committed
    c = st.check()
    assert not c.ok and c.out_of_date and not c.problems
    assert c.newer_generations == [2] and c.generation == 1
    assert sum(o.rows for o in c.orphans) == 8
    assert {m for o in c.orphans for m in o.months} == {"2022-02", "2022-03"}
    assert {n for o in c.orphans for n in o.loads} == {2}
    assert all(o.sources == {2: "week 2"} and o.where == "data folder" for o in c.orphans)
    assert "OUT OF DATE" in c.summary() and "week 2" in c.summary()
    json.dumps(c.to_dict())  # JSON-ready
    # recover: a dry run shows and changes nothing; then it adopts, de-duplicating
    dry = st.recover()
    assert dry.dry_run and sum(o.rows for o in dry.orphans) == 8
    assert _snapshot(st.path) == before
    done = st.recover(dry_run=False)
    assert [(a["n_new"], a["n_duplicate"]) for a in done.adopted] == [(8, 0)]
    assert _ids(st) == committed and len(st) == 14
    assert st.check().ok
    assert set(gpd.read_parquet(st.path)["incident_id"]) == committed  # plain readers agree
    assert len(list((st.path / "_orphans" / "adopted").rglob("*.parquet"))) == 2  # kept
    assert "load #2 (week 2)" in st.loads()["source"].iloc[-1]
    # recovering again adopts nothing; appending works and keeps everything
    assert st.recover(dry_run=False).adopted == []
    assert st.append(_tiny(range(0, 20))).n_new == 6
    assert _ids(st) == {str(i) for i in range(20)}


def test_orphan_adopted_twice_adds_nothing(tmp_path):
    st = IncidentStore(tmp_path / "s")
    st.append(_tiny(range(0, 6)))
    f = st.files()[0]
    orphan = st.path / "_orphans" / f.parent.name / "part-000077-feed.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(f.read_bytes())  # a copy of committed rows, found in _orphans
    rep = st.recover(dry_run=False)
    assert [(a["n_new"], a["n_duplicate"]) for a in rep.adopted] == [(0, 3)]
    assert len(st) == 6 and st.check().ok


_MALFORMED = {
    "not JSON": (lambda m: "{not json", "not readable JSON"),
    "files not a list": (lambda m: {**m, "files": {"a": 1}}, "'files' is an object, not a list"),
    "entry without rows": (lambda m: {**m, "files": [{k: v for k, v in f.items() if k != "rows"}
                                                     for f in m["files"]]}, "has no 'rows'"),
    "rows as text": (lambda m: {**m, "files": [{**f, "rows": "12"} for f in m["files"]]},
                     "rows is text"),
    "path outside the store": (lambda m: {**m, "files": [{**f, "path": "../../etc/x.parquet"}
                                                         for f in m["files"]]},
                               "is not period=YYYY-MM"),
    "loads missing": (lambda m: {k: v for k, v in m.items() if k != "loads"},
                      "'loads' is null"),
    "not a manifest": (lambda m: [1, 2], "not a JSON object"),
}


@pytest.mark.parametrize("damage", list(_MALFORMED))
def test_malformed_manifest_is_a_clear_error_and_nothing_changes(tmp_path, damage):
    st = IncidentStore(tmp_path / "s")
    st.append(_tiny(range(0, 6)))
    st.append(_tiny(range(6, 9), months=("2022-03",)))
    make, words = _MALFORMED[damage]
    bad = make(json.loads((st.path / MANIFEST).read_text()))
    (st.path / MANIFEST).write_text(bad if isinstance(bad, str) else json.dumps(bad))
    before = _snapshot(st.path)
    for call in (lambda: st.append(_tiny(range(20, 23))), st.compact,
                 lambda: st.recover(dry_run=False), st.check, st.read, st.info):
        with pytest.raises(hs.HotspotsError) as err:
            call()
        assert str(st.path / MANIFEST) in str(err.value) and words in str(err.value)
        assert "nothing was changed" in str(err.value)
        assert _snapshot(st.path) == before  # no file written, moved or removed
    assert len(gpd.read_parquet(st.path)) == 9  # every committed row still on disk


def test_killed_just_past_commit_plain_readers_see_the_load(tmp_path):
    st = IncidentStore(tmp_path / "s")
    st.append(_tiny(range(0, 4)))
    frame = tmp_path / "more.parquet"
    _tiny(range(10, 16), months=("2022-05", "2022-06")).to_parquet(frame)
    env = dict(os.environ, HOTSPOTS_STORE_PAUSE="1.5")
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(st.path), str(frame)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while json.loads((st.path / MANIFEST).read_text())["generation"] < 2:  # not committed
        assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)  # in the pause just past the commit
    p.wait()
    assert list((st.path / "_journal").glob("*.json"))  # it died before cleaning up
    want = {str(i) for i in [*range(0, 4), *range(10, 16)]}
    assert set(gpd.read_parquet(st.path)["incident_id"]) == want
    assert _ids(st) == want
    st.append(_tiny(range(0, 4)))  # the next writer finishes the cleanup
    assert not list((st.path / "_journal").glob("*.json")) and st.check().ok


def test_killed_between_commit_point_and_manifest_is_rolled_forward(tmp_path, monkeypatch):
    st = IncidentStore(tmp_path / "s")
    st.append(_tiny(range(0, 4)))
    real = store_mod.disk.atomic_write_text

    def dies_at_manifest(target, text):
        if str(target).endswith(MANIFEST):
            raise SystemExit("killed")  # as if SIGKILLed: files renamed, manifest not yet
        return real(target, text)

    monkeypatch.setattr(store_mod.disk, "atomic_write_text", dies_at_manifest)
    with pytest.raises(SystemExit):
        st.append(_tiny(range(10, 14)))
    monkeypatch.undo()
    want = {str(i) for i in [*range(0, 4), *range(10, 14)]}
    # past its commit point: plain readers and the store both see the load already
    assert set(gpd.read_parquet(st.path)["incident_id"]) == want
    assert _ids(st) == want and len(st) == 8
    assert any("finished by the next write" in p for p in st.check().pending)
    st.append(_tiny(range(20, 21)))
    assert len(st) == 9 and st.check().ok and len(st.loads()) == 3


def test_unexplained_hidden_file_is_moved_to_orphans_not_deleted(tmp_path, caplog):
    st = IncidentStore(tmp_path / "s")
    st.append(_tiny(range(0, 6)))
    f = st.files()[0]
    stray = f.with_name(".part-000050-beef.parquet.tmp")  # no journal entry names it
    stray.write_bytes(f.read_bytes())
    assert [o.where for o in st.check().orphans] == ["hidden"]
    with caplog.at_level("WARNING", logger="hotspots"):
        st.append(_tiny(range(6, 8)))
    assert not stray.exists()
    moved = st.path / "_orphans" / f.parent.name / stray.name
    assert moved.read_bytes() == f.read_bytes()
    assert any("_orphans" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    assert st.loads()["load"].max() == 51  # never reuses a load number an orphan carries
    assert [o.where for o in st.check().orphans] == ["_orphans"]


def test_check_finds_changed_and_missing_files_and_recover_forgets_missing(tmp_path):
    st = IncidentStore(tmp_path / "s")
    st.append(_tiny(range(0, 6)))
    st.append(_tiny(range(6, 9), months=("2022-03",)))
    assert st.check().ok and st.check().n_rows_checked == 9
    jan, _, mar = st.files()
    t = gpd.read_parquet(jan)
    t.iloc[:-1].to_parquet(jan, index=False)  # edited by hand: one row fewer
    mar.unlink()
    c = st.check()
    assert {(q.path.split("/")[0], q.problem) for q in c.problems} == {
        ("period=2022-01", "rows"), ("period=2022-01", "checksum"),
        ("period=2022-03", "missing")}
    assert "MISSING" in c.summary() and not c.ok
    before = _snapshot(st.path)
    with pytest.raises(hs.HotspotsError, match="not on disk"):
        st.append(_tiny(range(20, 22)))
    assert _snapshot(st.path) == before
    rep = st.recover(dry_run=False)
    assert rep.forgotten == [f"period=2022-03/{mar.name}"] and rep.adopted == []
    assert len(st.files()) == 2 and st.append(_tiny(range(20, 22))).n_new == 2


def test_last_manifests_are_kept_and_info_says_rows_are_from_the_manifest(tmp_path):
    st = IncidentStore(tmp_path / "s")
    for i in range(store_mod.KEEP_MANIFESTS + 2):
        st.append(_tiny([i], months=("2022-01",)))
    kept = sorted(int(p.name.split(".")[1]) for p in st.path.glob("_manifest.*.json"))
    gen = json.loads((st.path / MANIFEST).read_text())["generation"]
    assert kept == list(range(gen - store_mod.KEEP_MANIFESTS + 1, gen + 1))
    assert (st.path / f"_manifest.{gen}.json").read_bytes() == (st.path / MANIFEST).read_bytes()
    assert st.info()["rows_from"].startswith("manifest")
    # every entry carries the sha256 of its file; compaction keeps them true
    assert all(len(f["sha256"]) == 64 for f in json.loads((st.path / MANIFEST).read_text())
               ["files"])
    st.compact()
    assert st.check().ok and len(st) == store_mod.KEEP_MANIFESTS + 2


def test_cli_store_check_reports_the_orphaned_load_and_recover_brings_it_back(tmp_path):
    a, b = tmp_path / "council_a.csv", tmp_path / "council_b.csv"
    _council_csv(a, 1, n=20)
    _council_csv(b, 2, n=30)
    runner, store = CliRunner(), tmp_path / "s"
    env = {"COLUMNS": "300"}
    assert runner.invoke(app, ["store", "add", str(a), "--store", str(store)]).exit_code == 0
    old = (store / MANIFEST).read_bytes()
    assert runner.invoke(app, ["store", "add", str(b), "--store", str(store)]).exit_code == 0
    res = runner.invoke(app, ["store", "check", "--store", str(store)], env=env)
    assert res.exit_code == 0 and "OK: every file matches" in res.output, res.output
    (store / MANIFEST).write_bytes(old)  # an older manifest restored
    before = _snapshot(store)
    res = runner.invoke(app, ["store", "add", str(a), "--store", str(store)], env=env)
    assert res.exit_code == 1 and "does not list" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["store", "check", "--store", str(store)], env=env)
    assert res.exit_code == 1 and "OUT OF DATE" in res.output, res.output
    orphan_lines = [ln for ln in res.output.splitlines() if "ORPHAN" in ln]
    assert orphan_lines and all("load #2 (council_b.csv)" in ln for ln in orphan_lines)
    assert sum(int(ln.split(": ")[2].split(" rows")[0]) for ln in orphan_lines) == 30
    res = runner.invoke(app, ["store", "check", "--store", str(store), "--json"])
    got = json.loads(res.stdout)
    assert got["ok"] is False and sum(o["rows"] for o in got["orphans"]) == 30
    res = runner.invoke(app, ["store", "recover", "--store", str(store)], env=env)
    assert res.exit_code == 0 and "dry run: nothing changed" in res.output, res.output
    assert _snapshot(store) == before
    res = runner.invoke(app, ["store", "recover", "--store", str(store), "--yes"], env=env)
    assert res.exit_code == 0 and "new 30, already stored 0" in res.output, res.output
    assert len(IncidentStore(store)) == 50
    res = runner.invoke(app, ["store", "check", "--store", str(store)], env=env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["store", "info", "--store", str(store)], env=env)
    assert "counts as the manifest records them" in res.output


def test_older_manifest_restored_after_compaction_is_recovered(tmp_path):
    st = IncidentStore(tmp_path / "s")
    st.append(_tiny(range(0, 6)), source="a")
    st.append(_tiny(range(6, 12)), source="b")
    old = (st.path / MANIFEST).read_bytes()
    st.compact()  # the files that manifest lists are gone, replaced by one per month
    (st.path / MANIFEST).write_bytes(old)
    c = st.check()
    assert c.out_of_date and {q.problem for q in c.problems} == {"missing"}
    assert sum(o.rows for o in c.orphans) == 12
    with pytest.raises(hs.HotspotsError, match="missing"):
        st.read()  # a clear error, not pyarrow's FileNotFoundError
    with pytest.raises(hs.HotspotsError, match="does not list"):
        st.append(_tiny(range(12, 14)))
    rep = st.recover(dry_run=False)
    assert len(rep.forgotten) == 4 and sum(a["n_new"] for a in rep.adopted) == 12
    assert _ids(st) == {str(i) for i in range(12)} and st.check().ok


@pytest.mark.parametrize("sub", ["check", "recover"])
def test_cli_store_check_and_recover_help_has_an_example(sub):
    res = CliRunner().invoke(app, ["store", sub, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and f"Example: hotspots store {sub}" in res.output, res.output
