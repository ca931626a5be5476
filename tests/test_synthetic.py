"""Synthetic generators: contract, determinism, geometry, planted truth, calibration."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from scipy.special import gammaln
from scipy.stats import chisquare, spearmanr

import hotspots as hs
from hotspots import datasets
from hotspots.boundaries import read_layer
from hotspots.synthetic import _FLY_DOW, FLY_TIP_SUBCATEGORIES, STREETSAFE_REASONS

HARROW = "E09000015"
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
CONTRACT = ["incident_id", "category", "subcategory", "occurred_at", "month", "source",
            "location_desc", "geometry"]


@pytest.fixture(scope="module")
def flies():
    return hs.synthetic.fly_tips(seed=1, n=4000, return_truth=True)


@pytest.fixture(scope="module")
def safe():
    return hs.synthetic.streetsafe(seed=1, return_truth=True)


@pytest.fixture(scope="module")
def harrow():
    return hs.wards("Harrow", 2022)


def test_contract_columns_and_labels(flies, safe):
    for (inc, truth), cat in ((flies, "fly_tip"), (safe, "streetsafe")):
        assert set(CONTRACT) <= set(inc.columns)
        assert {"synthetic", "ward_code", "ward_name", "hotspot_id"} <= set(inc.columns)
        assert inc.crs.to_epsg() == 27700
        assert (inc["category"] == cat).all()
        assert (inc["source"] == "synthetic").all() and inc["synthetic"].all()
        assert inc.attrs["synthetic"] is True and truth.attrs["synthetic"] is True
        assert inc["incident_id"].is_unique
        assert (inc.geometry.geom_type == "Point").all()
        assert (inc["month"] == inc["occurred_at"].dt.to_period("M").dt.to_timestamp()).all()
        assert inc["location_desc"].str.startswith("synthetic location near ").all()
        start = pd.Timestamp("2022-01-03")
        end = start + pd.Timedelta(weeks=inc.attrs["weeks"])
        assert inc["occurred_at"].between(start, end, inclusive="left").all()
    assert set(flies[0]["subcategory"]) <= set(FLY_TIP_SUBCATEGORIES)
    assert set(safe[0]["subcategory"]) == set(STREETSAFE_REASONS)
    assert (flies[0]["size"] > 0).all()
    assert len(flies[0]) == 4000
    assert len(safe[0]) == 60 * 13  # default: 60 a week


def test_same_seed_same_output_other_seed_differs():
    a, ta = hs.synthetic.streetsafe(seed=7, n=300, weeks=4, return_truth=True)
    b, tb = hs.synthetic.streetsafe(seed=7, n=300, weeks=4, return_truth=True)
    assert_frame_equal(a, b)
    assert_frame_equal(ta, tb)
    c = hs.synthetic.streetsafe(seed=8, n=300, weeks=4)
    assert not np.allclose(a.geometry.x.to_numpy(), c.geometry.x.to_numpy())


def test_points_inside_borough_and_their_ward(flies, safe, harrow):
    for inc, _ in (flies, safe):
        joined = gpd.sjoin(inc[["ward_code", "geometry"]], harrow[["ward_code", "geometry"]],
                           how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]  # a point on a shared edge
        assert joined["ward_code_right"].notna().all(), "a point lies outside Harrow"
        assert (joined["ward_code_left"] == joined["ward_code_right"]).mean() > 0.999
        # and inside the independent borough outline (ONS LAD, 20 m generalised)
        outline = hs.boroughs("Harrow").geometry.iloc[0].buffer(50)
        assert inc.within(outline).all()


def test_planted_truth(flies, safe, harrow):
    for inc, truth in (flies, safe):
        n = len(inc)
        assert 6 <= len(truth) <= 8
        counts = inc.loc[inc["hotspot_id"] >= 0, "hotspot_id"].value_counts()
        assert counts.sort_index().tolist() == truth.sort_values("hotspot_id")["n_points"].tolist()
        # documented: planted hotspots hold 15-20% of the set, each at least
        # min(1%, 15% / (2 k)) of it (to whole points)
        assert 0.15 - 1 / n <= counts.sum() / n <= 0.20 + 1 / n
        assert inc.attrs["planted_share"] == pytest.approx(counts.sum() / n, abs=1e-4)
        assert (truth["n_points"] >= min(0.01, 0.15 / (2 * len(truth))) * n - 1).all()
        assert truth["radius_m"].between(60, 150).all()
        for row in truth.itertuples():
            pts = inc[inc["hotspot_id"] == row.hotspot_id]
            assert pts.within(row.geometry).all()
            assert (pts["ward_name"] == row.ward_name).all()
            ward = harrow.loc[harrow["ward_code"] == row.ward_code].geometry.iloc[0]
            assert row.geometry.within(ward)
            assert pts["occurred_at"].between(row.start, row.end, inclusive="left").all()
            area = row.geometry.area
            assert area == pytest.approx(np.pi * row.radius_m**2, rel=0.03)
        assert truth["persistent"].any() and (~truth["persistent"]).any()
        # planted areas do not overlap, so each is its own hotspot
        assert not any(truth.geometry.iloc[i].intersects(truth.geometry.iloc[j])
                       for i in range(len(truth)) for j in range(i))


def test_episodic_hotspot_ward_leads_its_window(flies, safe):
    """In an episodic hotspot's active weeks its ward has the most reports (focus week)."""
    for inc, truth in (flies, safe):
        episodic = truth[~truth["persistent"]]
        assert len(episodic) >= 3
        spans = sorted(zip(episodic["start_week"], episodic["end_week"], strict=True))
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))  # disjoint
        for row in episodic.itertuples():
            during = inc["occurred_at"].between(row.start, row.end, inclusive="left")
            top = inc.loc[during, "ward_name"].value_counts()
            assert top.index[0] == row.ward_name, (row.hotspot_id, top.head(3).to_dict())


def test_planted_hotspots_stand_out_on_a_grid(flies, safe):
    """Every hotspot has a 150 m cell among the 20 busiest cells (independent binning)."""
    for inc, truth in (flies, safe):
        x, y = inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy()
        cell = np.floor(x / 150).astype(np.int64) * 10**6 + np.floor(y / 150).astype(np.int64)
        keys, c = np.unique(cell, return_counts=True)
        top = set(keys[np.argsort(-c, kind="stable")[:20]])
        for h in truth["hotspot_id"]:
            assert set(cell[(inc["hotspot_id"] == h).to_numpy()]) & top, h


def test_ward_shares_follow_fixmystreet(flies):
    """Background points per 2018 ward rank like FixMyStreet reports per 2019 ward."""
    inc, _ = flies
    fms = pd.read_csv(datasets.path("fixmystreet_flytips"))
    ref = fms[fms["LAD19CD"] == "E09000015"].groupby("WD19NM")["reports"].sum()
    w18 = hs.wards("Harrow", 2018)  # same wards as the 2019 codes in the FixMyStreet file
    bg = inc[inc["hotspot_id"] == -1]
    j = gpd.sjoin(bg[["geometry"]], w18[["ward_name", "geometry"]], predicate="within")
    got = j["ward_name"].value_counts().reindex(w18["ward_name"]).fillna(0)
    ref = ref.reindex(w18["ward_name"]).fillna(0)
    rho = spearmanr(got.to_numpy(), ref.to_numpy()).statistic
    assert rho > 0.5, rho


def test_default_total_is_defra(flies):
    d = pd.read_csv(datasets.path("defra_flytips"), dtype=str)
    h = d[(d["LA Name"].str.strip() == "Harrow") & (d["Year"] == "2021-22")]
    total = int(h["Total Incidents"].iloc[0])
    assert total == 9802
    inc = hs.synthetic.fly_tips(weeks=26, n_hotspots=6)
    assert len(inc) == round(total * 26 / 52)
    assert "Defra" in inc.attrs["n_source"]


def test_hour_and_weekday_patterns(flies, safe):
    ft = flies[0]["occurred_at"]
    h = ft.dt.hour
    peak = h.isin([5, 6, 7, 18, 19, 20, 21]).mean() / 7
    midday = h.isin([10, 11, 12, 13, 14]).mean() / 5
    night = h.isin([1, 2, 3]).mean() / 3
    assert peak > 1.5 * midday and midday > 1.5 * night
    dow = ft.dt.day_of_week
    assert dow.isin([5, 6]).mean() / 2 > 1.2 * dow.isin([0, 1, 2, 3]).mean() / 4
    ss = safe[0]["occurred_at"].dt.hour
    assert ss.isin([18, 19, 20, 21, 22, 23, 0, 1]).mean() > 0.5  # 8 of 24 hours


def test_every_borough_gets_planted_hotspots():
    """All 33 boroughs generate; small ones get fewer, smaller hotspots, all inside a ward."""
    all_b = hs.boroughs()
    assert len(all_b) == 33
    for name in sorted(all_b["borough_name"]):
        inc, truth = hs.synthetic.fly_tips(borough=name, n=400, weeks=13, return_truth=True)
        w = hs.wards(name, 2022).set_index("ward_code")
        area_km2 = w.geometry.area.sum() / 1e6
        assert 2 <= len(truth) <= (8 if area_km2 > 12 else max(2, int(area_km2 / 1.5))), name
        assert truth["radius_m"].between(25, 150).all(), name
        outline = all_b.loc[all_b["borough_name"] == name].geometry.iloc[0].buffer(50)
        assert truth.within(outline).all(), name
        assert all(g.within(w.geometry[c]) for c, g in zip(truth["ward_code"], truth.geometry,
                                                           strict=True)), name
        for row in truth.itertuples():
            pts = inc[inc["hotspot_id"] == row.hotspot_id]
            assert len(pts) == row.n_points > 0 and pts.within(row.geometry).all(), name
            # detectable: far denser than the borough's background
            assert row.intensity > 3, (name, row.hotspot_id, row.intensity)


def test_city_of_london_gets_two_small_hotspots():
    """The documented small-borough rule: 2.9 km², wards about 90 m deep -> 2 of 25-46 m."""
    inc, truth = hs.synthetic.streetsafe(borough="City of London", return_truth=True)
    assert len(truth) == 2 and truth["radius_m"].between(25, 46.1).all()
    assert 0.15 <= (inc["hotspot_id"] >= 0).mean() <= 0.20 + 1 / len(inc)
    # an explicit number is honoured while it fits (radii stay scaled down)
    _, more = hs.synthetic.fly_tips(borough="City of London", n=400, n_hotspots=5,
                                    return_truth=True)
    assert len(more) == 5 and more["radius_m"].max() <= 46.1


def test_bad_arguments_are_explained():
    with pytest.raises(hs.BadInputError, match="n must be"):
        hs.synthetic.fly_tips(n=10)
    with pytest.raises(hs.BadInputError, match="weeks"):
        hs.synthetic.streetsafe(weeks=0)
    with pytest.raises(hs.UnknownPlaceError):
        hs.synthetic.streetsafe(borough="Harow on Sea")


def test_sample_data_regenerates_byte_identical(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    res = CliRunner().invoke(app, ["synthetic", "--borough", "Harrow", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    made = sorted(p.name for p in tmp_path.iterdir())
    # the focus-week history and actions log there are hand-written fixtures
    assert made == sorted(p.name for p in SAMPLE.iterdir()
                          if p.name != "README.md" and not p.name.startswith("harrow_focus_"))
    for name in made:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name



def test_truth_geojson_says_synthetic_and_credits_sources(tmp_path):
    """Committed and freshly written truth files: synthetic flag, source, attribution."""
    from hotspots.datasets import FLY_TIP_NOTE, STREETSAFE_NOTE

    fresh = hs.synthetic.write_sample(tmp_path, borough="City of London", n_fly_tips=400)
    files = {"flytips": [SAMPLE / "harrow_flytips_2022_synthetic_truth.geojson",
                         fresh["fly_tips_truth"]],
             "streetsafe": [SAMPLE / "harrow_streetsafe_2022q1_synthetic_truth.geojson",
                            fresh["streetsafe_truth"]]}
    for kind, paths in files.items():
        note = (FLY_TIP_NOTE if kind == "flytips" else STREETSAFE_NOTE).removeprefix(
            "synthetic; ")
        for path in paths:
            doc = json.loads(path.read_text(encoding="utf-8"))
            assert doc["features"], path
            assert note in doc["attribution"] and "Open Government Licence" in doc["attribution"]
            for feat in doc["features"]:
                assert feat["properties"]["synthetic"] is True
                assert feat["properties"]["source"] == doc["attribution"]
                assert feat["properties"]["source"].startswith("SYNTHETIC")
        fly = json.loads(paths[0].read_text(encoding="utf-8"))["attribution"]
        if kind == "flytips":
            assert "FixMyStreet data © mySociety" in fly and "Defra ENV24" in fly
    # geopandas still reads them, with the flag as a column
    truth = gpd.read_file(fresh["fly_tips_truth"])
    assert truth["synthetic"].all() and len(truth) == 2



def test_hand_made_focus_files_say_synthetic():
    for name in ("harrow_focus_history_2022_synthetic.csv",
                 "harrow_focus_actions_log_2022_synthetic.csv"):
        t = pd.read_csv(SAMPLE / name, dtype=str, keep_default_na=False)
        assert len(t) and t["source"].str.startswith("SYNTHETIC, hand-made for the demo").all()
    hist = pd.read_csv(SAMPLE / "harrow_focus_history_2022_synthetic.csv", dtype=str)
    assert hist["source"].str.contains("FixMyStreet report counts.*ODC-By 1.0").all()


def test_sample_csv_coordinates_agree():
    t = pd.read_csv(SAMPLE / "harrow_flytips_2022_synthetic.csv.gz")
    # Defra ENV24's Harrow total for 2021-22
    assert len(t) == 9802 and t["synthetic"].all() and (t["source"] == "synthetic").all()
    pts = gpd.GeoSeries(gpd.points_from_xy(t["lon"], t["lat"]), crs=4326).to_crs(27700)
    assert np.abs(pts.x - t["easting"]).max() < 0.2
    assert np.abs(pts.y - t["northing"]).max() < 0.2
    truth = gpd.read_file(SAMPLE / "harrow_flytips_2022_synthetic_truth.geojson")
    assert truth["n_points"].sum() == (t["hotspot_id"] >= 0).sum()


# ---------------------------------------------------------------- FixMyStreet calibration
@pytest.fixture(scope="module")
def big():
    """A large Harrow sample (60,000 fly-tips in 2022), for goodness-of-fit tests."""
    return hs.synthetic.fly_tips(seed=11, n=60_000, return_truth=True)


@pytest.fixture(scope="module")
def calib():
    return hs.synthetic.fms_calibration("Harrow")


@pytest.fixture(scope="module")
def fms_raw():
    """Harrow's rows of the FixMyStreet file, read here with plain pandas."""
    f = pd.read_csv(datasets.path("fixmystreet_flytips"), dtype={"month_start": str})
    return f[f["LAD19CD"] == HARROW]


def pooled_chisquare(observed, expected, least: float = 5.0) -> float:
    """p-value of scipy's chi-square goodness of fit, cells expecting < `least` pooled."""
    obs, exp = np.asarray(observed, float), np.asarray(expected, float)
    exp = exp * obs.sum() / exp.sum()
    small = exp < least
    if small.any():
        obs = np.append(obs[~small], obs[small].sum())
        exp = np.append(exp[~small], exp[small].sum())
    return chisquare(obs, exp).pvalue


def test_background_falls_in_lsoas_as_calibrated(big, calib):
    """Planted points aside, points per LSOA fit the intended shares (chi-square)."""
    inc, _ = big
    bg = inc[inc["hotspot_id"] == -1]
    lsoa = read_layer("lsoa_2011")  # the LSOAs as published, joined independently
    lsoa = lsoa[lsoa["LAD_CD"] == HARROW]
    j = gpd.sjoin(bg[["geometry"]], lsoa[["LSOA11CD", "geometry"]], predicate="within")
    j = j[~j.index.duplicated()]
    assert len(j) == len(bg) > 40_000
    share = calib["lsoa"]["share"]
    assert share.sum() == pytest.approx(1.0) and len(share) == len(lsoa) == 137
    obs = j["LSOA11CD"].value_counts().reindex(share.index, fill_value=0)
    p = pooled_chisquare(obs.to_numpy(), share.to_numpy())
    assert p > 0.01, p


def test_intended_shares_follow_fixmystreet(calib, fms_raw):
    """The intended LSOA shares are FixMyStreet's, smoothed by empirical Bayes."""
    raw = fms_raw.groupby("LSOA11CD")["reports"].sum().reindex(calib["lsoa"].index,
                                                                  fill_value=0)
    assert raw.sum() == calib["reports"] == 856  # 697 fly-tipping + 159 dumped rubbish
    share = calib["lsoa"]["share"]
    assert spearmanr(share, raw).statistic > 0.99
    assert share[raw.idxmax()] > 5 * share.median()
    # shrinkage: posterior mean (r + alpha/K) / (R + alpha), strictly between raw and flat
    a, k, total = calib["alpha"], len(raw), raw.sum()
    np.testing.assert_allclose(share, (raw + a / k) / (total + a), rtol=1e-9)
    assert 1 < a < 10 * total
    assert share.max() < raw.max() / total and share.min() > 0
    # alpha maximises the Dirichlet-multinomial marginal likelihood (flat prior)
    def loglik(alpha):
        r = raw.to_numpy(float)
        return (gammaln(alpha) - gammaln(total + alpha)
                + np.sum(gammaln(r + alpha / k) - gammaln(alpha / k)))
    assert loglik(a) >= max(loglik(a * 0.9), loglik(a * 1.1))


def test_synthetic_ward_ranking_agrees_with_fixmystreet(big):
    inc, _ = big
    real = hs.fixmystreet_counts("Harrow", by="ward").set_index("ward_code")
    bg = inc[inc["hotspot_id"] == -1]
    got = bg["ward_code"].value_counts().reindex(real.index, fill_value=0)
    assert spearmanr(got, real["reports"]).statistic > 0.85
    assert got.idxmax() == real["reports"].idxmax()  # Edgware
    # and over all points, planted hotspots included: they sharpen, not move, the pattern
    every = inc["ward_code"].value_counts().reindex(real.index, fill_value=0)
    assert spearmanr(every, real["reports"]).statistic > 0.8


def test_committed_sample_ranks_wards_like_fixmystreet():
    """The sample the demo reads: every point, planted or not, ranks wards as the reports do."""
    t = pd.read_csv(SAMPLE / "harrow_flytips_2022_synthetic.csv.gz")
    real = hs.fixmystreet_counts("Harrow", by="ward").set_index("ward_code")["reports"]
    got = t["ward_code"].value_counts().reindex(real.index, fill_value=0)
    assert spearmanr(got, real).statistic > 0.8
    assert 0.15 <= (t["hotspot_id"] >= 0).mean() <= 0.20
    # the ward with fewest real reports (Canons) stays in the quieter half
    assert got.rank(ascending=False)[real.idxmin()] > 11


def test_hotspots_are_placed_where_fixmystreet_reports_are():
    """Over many seeds, planted hotspots per ward follow the calibrated ward shares."""
    calib = hs.synthetic.fms_calibration("Harrow")["lsoa"]["share"]
    lsoa = hs.fixmystreet_counts("Harrow")  # LSOA -> 2022 ward (point on surface)
    share = calib.groupby(lsoa.set_index("lsoa_code")["ward_code"].reindex(calib.index)).sum()
    wards = pd.concat([hs.synthetic.fly_tips(seed=s, n=500, weeks=8, return_truth=True)[1]
                       for s in range(40)])["ward_code"].value_counts()
    wards = wards.reindex(share.index, fill_value=0)
    assert wards.sum() >= 240
    assert spearmanr(wards, share).statistic > 0.7
    quiet = share.sort_values().index[:11]  # the half of wards with least FixMyStreet share
    assert wards[quiet].sum() / wards.sum() < share[quiet].sum() + 0.1


def test_months_follow_smoothed_seasonality(big, calib, fms_raw):
    inc, _ = big
    months = calib["months"]
    # the smoothed profile lies between Harrow's own (2008-2020) and London's
    yr = fms_raw["month_start"].str[:4].astype(int)
    own = fms_raw[yr.between(2008, 2020)].groupby(
        fms_raw["month_start"].str[5:7].astype(int))["reports"].sum().reindex(range(1, 13))
    own = own / own.sum()
    lo, hi = np.minimum(own, months["london"]), np.maximum(own, months["london"])
    assert ((months["share"] >= lo - 1e-12) & (months["share"] <= hi + 1e-12)).all()
    assert months["share"].sum() == pytest.approx(1.0)
    # background points per calendar month fit day weight x day-of-week weight
    bg = inc[inc["hotspot_id"] == -1]
    days = pd.date_range("2022-01-03", periods=7 * 52, freq="D")
    w = months["day_weight"].to_numpy()[days.month - 1] * _FLY_DOW[days.day_of_week]
    exp = pd.Series(w).groupby(days.month).sum()
    obs = bg["occurred_at"].dt.month.value_counts().reindex(exp.index, fill_value=0)
    assert pooled_chisquare(obs.to_numpy(), exp.to_numpy()) > 0.01


def test_fixmystreet_counts_hand_checked(fms_raw):
    lsoa = hs.fixmystreet_counts("Harrow", year=2016)
    hand = fms_raw[(fms_raw["LSOA11CD"] == "E01002125")
                   & fms_raw["month_start"].str.startswith("2016")]
    row = lsoa.set_index("lsoa_code").loc["E01002125"]
    assert row["reports"] == hand["reports"].sum() > 0
    assert row["fly_tipping"] == hand.loc[hand["category"] == "Fly-tipping", "reports"].sum()
    assert lsoa["reports"].sum() == fms_raw.loc[fms_raw["month_start"].str.startswith("2016"),
                                                "reports"].sum()
    assert len(lsoa) == 137 and (lsoa["reports"] == 0).any()  # zero LSOAs are listed
    assert lsoa.crs.to_epsg() == 27700 and "not incidence" in lsoa.attrs["note"]
    ward = hs.fixmystreet_counts("Harrow", by="ward")
    assert len(ward) == 22 and ward["reports"].sum() == 856
    assert ward["n_lsoas"].sum() == 137 and ward["rank"].iloc[0] == 1
    assert (np.diff(ward["reports"]) <= 0).all()
    # the point-on-surface ward holds most of each LSOA for nearly all LSOAs
    all_lsoa = hs.fixmystreet_counts("Harrow")
    w22 = hs.wards("Harrow", 2022).set_index("ward_code")
    held = [g.intersection(w22.geometry[c]).area / g.area
            for g, c in zip(all_lsoa.geometry, all_lsoa["ward_code"], strict=True)]
    assert np.mean(np.array(held) > 0.5) > 0.9
    with pytest.raises(hs.BadInputError, match="2007-2020"):
        hs.fixmystreet_counts("Harrow", year=2022)
    with pytest.raises(hs.BadInputError, match="by must be"):
        hs.fixmystreet_counts("Harrow", by="borough")


def test_every_output_says_synthetic_and_fixmystreet(flies):
    inc, truth = flies
    for frame in (inc, truth):
        assert "FixMyStreet" in frame.attrs["note"] and "not incidence" in frame.attrs["note"]
    assert (inc["note"] == hs.datasets.FLY_TIP_NOTE).all()
    assert inc.attrs["fms_reports"] == 856
    t = pd.read_csv(SAMPLE / "harrow_flytips_2022_synthetic.csv.gz", nrows=5)
    assert t["note"].str.contains("FixMyStreet report counts").all()
    assert "reporting, not incidence" in (SAMPLE / "README.md").read_text()


def test_sample_fly_tips_is_the_committed_harrow_year():
    """No file of their own: Harrow users get the committed sample, labelled synthetic."""
    import hotspots as hs

    inc, note = hs.synthetic.sample_fly_tips("Harrow")
    assert "SYNTHETIC sample" in note
    assert (inc["source"] == "synthetic").all()
    assert len(inc) == len(hs.read_incidents(
        hs.datasets.PROJECT_ROOT / "sample_data" / hs.synthetic.SAMPLE_FLY_TIPS))
