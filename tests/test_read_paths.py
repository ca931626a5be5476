"""The fast reading path gives what the general one gives, bad rows and all.

The fast path: Arrow's CSV parser, dates read once per distinct value, content ids
hashed per distinct text value. The general path: pandas's parser and every date read
on its own row. Reference hashes: pandas's ``hash_pandas_object`` of the content with
its text as categoricals (what content ids have always been).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal

import hotspots as hs
from hotspots import _dates, _ids, formats

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context")
MET = "Metropolitan Police Service,Metropolitan Police Service"
POINTS = [(-0.1349, 51.5067), (-0.3751, 51.4365), (0.0812, 51.5398), (-0.2, 51.55)]
#: one line per problem, and where it goes in the file
BAD = [
    ",,,,,,,,,,,",  # blank row
    "",  # blank line
    f"b1,2022-03,{MET},,,On or near X,E01,N,Burglary,,",  # missing coordinates
    f"b2,2022-03,{MET},abc,51.5,On or near X,E01,N,Burglary,,",  # not a number
    f"b3,2022-03,{MET},-400,51.5,On or near X,E01,N,Burglary,,",  # out of range
    f"b4,2022-03,{MET},51.5067,-0.1349,On or near X,E01,N,Burglary,,",  # swapped: fixed
    "b5,2022-03,Thames Valley Police,Thames Valley Police,-1.25,51.75,On or near X,E01,N,"
    "Burglary,,",  # outside London
    f"b6,,{MET},-0.1349,51.5067,On or near X,E01,N,Burglary,,",  # no month
    f"b7,March 22x,{MET},-0.1349,51.5067,On or near X,E01,N,Burglary,,",  # bad month
    f"{5:064x},2022-06,{MET},-0.3751,51.4365,On or near Street 0,E01,N,Robbery,,",  # id again
    f"{1:064x},2022-02,{MET},-0.3751,51.4365,On or near Street 1,E01,N,Robbery,,",  # duplicate
    f",2022-01,{MET},-0.1349,51.5067,On or near Street 0,E0100000,C,Anti-social behaviour,,",
    f"b8,2022-13,{MET},inf,51.5067,On or near X,E01,N,Burglary,,",  # infinite
]


def _police_uk_like(path, n: int = 1_500):
    """A police.uk street CSV: shared snap points, ASB rows without an id, bad rows."""
    rows = [HEADER]
    for i in range(n):
        lon, lat = POINTS[i % 4]
        cid = f"{i:064x}" if i % 7 else ""
        kind = ("Anti-social behaviour" if not cid
                else ["Burglary", "Robbery", "Violence and sexual offences"][i % 3])
        rows.append(f"{cid},2022-{i % 12 + 1:02d},{MET},{lon},{lat},On or near Street {i % 5},"
                    f"E0100000{i % 3},Camden 00{i % 4}A,{kind},,")
    for j, line in enumerate(BAD):
        rows.insert(50 + j * 97, line)
    path.write_text("\n".join(rows) + "\n")
    return path


def test_fast_path_reads_as_the_general_path(tmp_path, monkeypatch):
    path = _police_uk_like(tmp_path / "2022-01-metropolitan-street.csv")
    assert formats._parse_csv_arrow(path.read_bytes(), ".csv") is not None  # fast here
    assert len(path.read_text().splitlines()) - 1 >= _dates._DISTINCT_MIN
    fast, fast_rep = hs.read_incidents(path, with_report=True)

    monkeypatch.setattr(formats, "_parse_csv_arrow", lambda data, ext: None)
    monkeypatch.setattr(_dates, "_DISTINCT_MIN", 10**9)
    slow, slow_rep = hs.read_incidents(path, with_report=True)

    assert fast_rep.n_rejected == slow_rep.n_rejected == 10  # all but b4 (fixed), ids again
    assert fast_rep.reason_counts()["blank row"] == 2
    assert fast_rep.n_fixed == 1 and fast_rep.n_id_repeat == slow_rep.n_id_repeat == 2
    assert_frame_equal(pd.DataFrame(fast.drop(columns="geometry")),
                       pd.DataFrame(slow.drop(columns="geometry")), check_exact=True)
    assert shapely.equals_exact(fast.geometry.to_numpy(), slow.geometry.to_numpy(), 0).all()
    assert_frame_equal(fast_rep.rejects, slow_rep.rejects, check_exact=True)
    assert_frame_equal(fast_rep.fixed, slow_rep.fixed, check_exact=True)
    assert fast_rep.summary() == slow_rep.summary()
    # the kept rows stand at their own points, projected one by one
    lonlat = pd.read_csv(path).set_index("Crime ID").loc[["b4"], ["Latitude", "Longitude"]]
    b4 = fast.set_index("incident_id").geometry.loc["b4"]
    ref = hs.read_incidents(pd.DataFrame({"lon": lonlat["Latitude"], "lat": lonlat["Longitude"],
                                          "Month": ["2022-03"]}))
    assert b4.equals_exact(ref.geometry.iloc[0], 1e-6)


def test_content_hash_is_pandas_row_hash_with_text_as_categories():
    rng = np.random.default_rng(3)
    n = 2_000
    words = np.array(["Burglary", "Robbery", None, "", "Other theft"], dtype=object)
    frame = pd.DataFrame({
        "kind": "police_uk",
        "month": pd.to_datetime("2022-01-01") + pd.to_timedelta(rng.integers(0, 3, n), "D"),
        "occurred_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        "cat": pd.Series(words[rng.integers(0, 5, n)], dtype="str"),
        "sub": words[rng.integers(0, 5, n)],
        "place": pd.Series(index=range(n), dtype="str"),
        "x": np.round(rng.integers(0, 4, n) * 10.5, 2),
    })  # fmt: skip
    cols = {c: (v.astype("category") if v.dtype == object or pd.api.types.is_string_dtype(v)
                else v) for c, v in frame.items()}  # fmt: skip
    want = pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()
    want_k = pd.Series(want).groupby(want, sort=False).cumcount().to_numpy() + 1
    codes, uniques = pd.factorize(frame["cat"])
    given = {**dict(frame.items()), "kind": "police_uk", "cat": _ids.Coded(codes, uniques)}
    h, k = _ids.content_hash(given, n)
    assert (h == want).all() and (k == want_k).all()
    assert (k > 1).any()  # identical rows numbered
    ids = _ids.hash_ids(frame)
    assert ids.tolist() == [f"{v:016x}#{j}" for v, j in zip(want, want_k, strict=True)]


@pytest.mark.parametrize("values", [["2022-01", None, "2022-02", " 2022-01"],
                                    ["03/04/2022 14:05", "13/04/2022", "", "03/04/2022 14:05"]])
def test_dates_read_per_distinct_value_as_per_row(values, monkeypatch):
    df = pd.DataFrame({"Date": pd.Series(values * 300, dtype="str")})
    once = _dates.read_dates(df, "Date", "auto", file="f.csv")
    monkeypatch.setattr(_dates, "_DISTINCT_MIN", 10**9)
    each = _dates.read_dates(df, "Date", "auto", file="f.csv")
    assert_frame_equal(pd.DataFrame({"o": once.occurred, "m": once.month}),
                       pd.DataFrame({"o": each.occurred, "m": each.month}))
    for a in ("missing", "bad", "timed"):
        assert (getattr(once, a) == getattr(each, a)).all()
    assert once.notes == each.notes


def test_surely_distinct_never_says_so_of_repeated_text():
    import pyarrow as pa

    t = pa.large_string()
    words = ["", "ab", "ab ", "zzzzzzzzzzzz", "a" * 30, "a" * 29 + "b", "x1#1", "x1#2"]
    assert _ids.surely_distinct(pd.Series(pd.array(pa.array(words, t), dtype="str")))
    # the same value in other chunks, at other offsets, after other neighbours
    arr = pa.array(["zzzzzzzzzzzz", "ab", "q" * 16, "ab", "cd"], t)
    for chunks in ([arr.slice(0, 2), arr.slice(3, 2)], [arr.slice(1, 1), arr.slice(2, 2)]):
        s = pd.Series(pd.array(pa.chunked_array(chunks, t), dtype="str"))
        assert not _ids.surely_distinct(s)
        assert pd.factorize(s)[1].size < len(s)
    assert not _ids.surely_distinct(pd.Series(["a", None, "b"], dtype="str"))  # missing
    rng = np.random.default_rng(5)
    ids = pd.Series([rng.bytes(32).hex() for _ in range(5_000)], dtype="str")  # police.uk's
    assert pd.factorize(ids)[1].size == len(ids) and _ids.surely_distinct(ids)
    assert not _ids.surely_distinct(pd.concat([ids, ids.iloc[[17]]], ignore_index=True))


@pytest.mark.parametrize("special", [None, "nan", "inf", "zeros"])
def test_distinct_points_numbered_as_complex_factorisation(special):
    from hotspots.study_area import _unique_xy

    rng = np.random.default_rng(8)
    a = np.round(rng.normal(-0.1, 0.2, 20_000), 2)
    b = np.round(rng.normal(51.5, 0.1, 20_000), 2)
    a[a == 0] = 0.5
    if special == "nan":
        a[[3, 70]] = np.nan
    elif special == "inf":
        b[9] = np.inf
    elif special == "zeros":
        a[[5, 6, 900]] = [-0.0, 0.0, -0.0]
    with np.errstate(invalid="ignore"):
        want_codes, want = pd.factorize(a + 1j * b)
        codes, x, y = _unique_xy(a, b)
    assert (codes == want_codes).all()
    assert (x.view("u8") == want.real.view("u8")).all()  # bit for bit: signs of zero too
    assert (y.view("u8") == want.imag.view("u8")).all()


@pytest.mark.parametrize("max_runs", [0, 10_000])  # Arrow's filter; slices of the runs
def test_kept_rows_are_the_rows_pandas_keeps(max_runs, monkeypatch):
    import pyarrow as pa

    from hotspots import io as hio

    monkeypatch.setattr(hio, "_MAX_RUNS", max_runs)
    rng = np.random.default_rng(2)
    n = 3_000
    text = pa.chunked_array([pa.array([f"w{i % 37}" if i % 11 else None for i in range(s, s + 500)],
                                      pa.large_string()) for s in range(0, n, 500)])
    frame = pd.DataFrame({
        "t": pd.array(text, dtype="str"),
        "x": rng.normal(size=n),
        "when": pd.Series(pd.Timestamp("2022-01-01"), index=range(n)),
        "f": pd.Categorical.from_codes(np.zeros(n, np.int8), ["file.csv"]),
        "i": pd.array(pa.chunked_array([pa.array(np.arange(n))]), dtype=pd.ArrowDtype(pa.int64())),
    })  # fmt: skip
    for keep in (rng.random(n) < 0.5, np.arange(n) % 1000 != 7, np.zeros(n, bool)):
        got = hio._keep_rows(frame, keep)
        assert_frame_equal(got, frame.loc[keep].reset_index(drop=True), check_exact=True)
    assert hio._keep_rows(frame, np.ones(n, bool)) is frame
