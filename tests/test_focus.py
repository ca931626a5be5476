"""The weekly focus ward: planted truth decides the ward, rotation, teams, edge cases."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import hotspots as hs
from hotspots import focus, review
from hotspots._errors import BadInputError, UnknownPlaceError

START = pd.Timestamp("2022-01-03")  # a Monday
WEEKS = 52


@pytest.fixture(scope="module")
def wards():
    return hs.wards(borough="Harrow", year=2022)


@pytest.fixture(scope="module")
def year(wards):
    inc, truth = hs.synthetic.fly_tips(borough="Harrow", start=str(START.date()), weeks=WEEKS,
                                       seed=3, return_truth=True)
    return hs.assign_wards(inc, wards), truth


def _expected_ward(inc, truth, monday, weeks=4):
    """The ward with most expected reports in the window when a planted hotspot puts
    it there; None when no such ward clearly leads.

    Expected = the ward's background points over the year pro rata to the window,
    plus each hotspot's points spread evenly over its active period (the planted
    hotspots are 15-20% of the points, so the background counts too).
    """
    lo, hi = monday - pd.Timedelta(weeks=weeks), monday
    s, e = pd.to_datetime(truth["start"]), pd.to_datetime(truth["end"])
    overlap = (np.minimum(e, hi) - np.maximum(s, lo)).dt.total_seconds().clip(lower=0)
    share = overlap / (e - s).dt.total_seconds()
    planted = (truth["n_points"] * share).groupby(truth["ward_name"]).sum()
    background = inc.loc[inc["hotspot_id"] < 0, "ward_name"].value_counts() * weeks / WEEKS
    exp = background.add(planted, fill_value=0).sort_values()
    top = exp.index[-1]
    if planted.get(top, 0) < 20:
        return None
    return top if exp.iloc[-1] > 1.2 * exp.iloc[-2] else None


def test_chosen_ward_is_where_planted_hotspots_dominate(year, wards):
    inc, truth = year
    checked = 0
    for k in range(5, WEEKS, 3):
        monday = START + pd.Timedelta(weeks=k)
        want = _expected_ward(inc, truth, monday)
        if want is None:
            continue
        fw = hs.focus_week(inc, wards, week=monday, population=False)
        assert fw.chosen == [want], (monday, fw.ranking.head(3)[["ward_name", "score"]])
        checked += 1
    assert checked >= 3


def test_ranking_parts_and_score_formula(year, wards):
    inc, _ = year
    fw = hs.focus_week(inc, wards, week="2022-05-09", population=False)
    r = fw.ranking
    assert len(r) == len(wards) and set(r["ward_name"]) == set(wards["ward_name"])
    assert fw.iso_week == "2022-W19" and fw.week == pd.Timestamp("2022-05-09")
    # independent recount of the window
    occ = pd.to_datetime(inc["occurred_at"])
    win = inc[(occ >= "2022-04-11") & (occ < "2022-05-09")]
    counts = win["ward_name"].value_counts()
    got = r.set_index("ward_name")["n_incidents"]
    for w in wards["ward_name"]:
        assert got[w] == counts.get(w, 0)
    # score = (0.4 count + 0.2 change + 0.2 areas) / 0.8 without population
    s = (0.4 * r["part_count"] + 0.2 * r["part_change"] + 0.2 * r["part_areas"]) / 0.8
    np.testing.assert_allclose(r["score"], s, atol=1e-3)
    assert r["score"].is_monotonic_decreasing and r["rank"].tolist() == list(range(1, len(r) + 1))
    assert r.loc[r["ward_name"] == fw.chosen[0], "rank"].item() == 1
    assert fw.attrs["window_start"] == "2022-04-11" and fw.attrs["window_end"] == "2022-05-08"


def test_rotation_never_repeats_within_exclusion(year, wards, tmp_path):
    inc, _ = year
    hist = tmp_path / "history.csv"
    picks = []
    for k in range(10):
        monday = pd.Timestamp("2022-03-07") + pd.Timedelta(weeks=k)
        fw = hs.focus_week(inc, wards, week=monday, history=hist, exclude_recent=4,
                           population=False)
        assert len(fw.chosen) == 1
        picks.append(fw.chosen[0])
        fw.append_history(hist)
    for i, w in enumerate(picks):
        assert w not in picks[max(0, i - 4):i], picks
    h = pd.read_csv(hist)
    assert len(h) == 10 and h["ward"].tolist() == picks
    # re-running a week replaces its row instead of adding one
    fw.append_history(hist)
    assert len(pd.read_csv(hist)) == 10


def test_teams_one_ward_each_from_its_team(year, wards):
    inc, _ = year
    names = sorted(wards["ward_name"])
    teams = pd.DataFrame({"ward_name": names,
                          "team": [("East", "West", "Central")[i % 3] for i in range(len(names))]})
    fw = hs.focus_week(inc, wards, week="2022-06-06", teams=teams, population=False)
    team_of = dict(zip(teams["ward_name"], teams["team"], strict=True))
    assert len(fw.chosen) == 3
    assert sorted(team_of[w] for w in fw.chosen) == ["Central", "East", "West"]
    r = fw.ranking
    for w in fw.chosen:  # the best eligible ward of its team
        t = r[r["team"] == team_of[w]]
        assert t.iloc[0]["ward_name"] == w
    tab = fw.chosen_table()
    assert list(tab["team"]) == [team_of[w] for w in fw.chosen]


def test_force_and_exclude_record_reasons(year, wards):
    inc, _ = year
    base = hs.focus_week(inc, wards, week="2022-06-06", population=False)
    top = base.chosen[0]
    other = base.ranking.iloc[-1]["ward_name"]
    fw = hs.focus_week(inc, wards, week="2022-06-06", population=False,
                       exclude={top: "operation elsewhere"})
    assert top not in fw.chosen
    row = fw.ranking.set_index("ward_name").loc[top]
    assert not row["eligible"] and "operation elsewhere" in row["reasons"]
    fw = hs.focus_week(inc, wards, week="2022-06-06", population=False,
                       force={other.upper(): "councillor request"})
    assert fw.chosen == [other]
    assert "councillor request" in fw.chosen_table()["reason"].iloc[0]
    with pytest.raises(UnknownPlaceError, match="force"):
        hs.focus_week(inc, wards, week="2022-06-06", force={"Nowhere Ward": "x"})


def test_empty_week_gives_no_ward_and_says_why(year, wards):
    inc, _ = year
    fw = hs.focus_week(inc, wards, week="2019-01-07", population=False)
    assert fw.chosen == [] and fw.menu == {}
    assert (fw.ranking["score"] == 0).all() and (fw.ranking["n_incidents"] == 0).all()
    assert any("No focus ward" in n for n in fw.notes)


def test_ward_with_no_incidents_scores_zero(year, wards):
    inc, _ = year
    empty = wards["ward_name"].iloc[0]
    fw = hs.focus_week(inc[inc["ward_name"] != empty], wards, week="2022-05-09",
                       population=False)
    row = fw.ranking.set_index("ward_name").loc[empty]
    assert row["n_incidents"] == 0 and row["score"] == 0 and empty not in fw.chosen


def test_unknown_history_ward_warns_not_crashes(year, wards, tmp_path):
    inc, _ = year
    p = tmp_path / "h.csv"
    pd.DataFrame({"week": ["2022-05-02", "2022-04-25"],
                  "ward": ["Atlantis", wards["ward_name"].iloc[2]]}).to_csv(p, index=False)
    with pytest.warns(UserWarning, match=r"row 2: ward 'Atlantis'"):
        fw = hs.focus_week(inc, wards, week="2022-05-09", history=p, population=False)
    row = fw.ranking.set_index("ward_name").loc[wards["ward_name"].iloc[2]]
    assert not row["eligible"] and "within last 4 weeks" in row["reasons"]


def test_month_only_records_pro_rated(wards):
    pts = wards.geometry.representative_point()
    inc = gpd.GeoDataFrame({"incident_id": ["a", "b", "c"], "category": "asb",
                            "occurred_at": pd.NaT,
                            "month": pd.to_datetime(["2022-01-01", "2022-02-01", "2022-03-01"]),
                            "ward_code": wards["ward_code"].iloc[:3].to_numpy(),
                            "ward_name": wards["ward_name"].iloc[:3].to_numpy()},
                           geometry=pts.iloc[:3].to_numpy(), crs=27700)
    fw = hs.focus_week(inc, wards, week="2022-02-07", population=False)
    got = fw.ranking.set_index("ward_name")["n_incidents"]
    # window 10 Jan .. 6 Feb: 22 of January's 31 days, 6 of February's 28
    assert got[wards["ward_name"].iloc[0]] == pytest.approx(22 / 31, abs=0.01)
    assert got[wards["ward_name"].iloc[1]] == pytest.approx(6 / 28, abs=0.01)
    assert got[wards["ward_name"].iloc[2]] == 0
    assert fw.attrs["time_basis"] == "month" and any("month" in n for n in fw.notes)


def test_action_menu_follows_issue_mix(wards):
    pts = wards.geometry.representative_point().iloc[0]
    n = 12
    inc = gpd.GeoDataFrame({
        "category": ["fly_tip"] * 8 + ["asb"] * 4,
        "subcategory": ["commercial waste"] * 5 + ["black bags"] * 3 + ["noise"] * 4,
        "location_desc": ["On or near Station Road"] * 9 + ["On or near High Street"] * 3},
        geometry=[pts] * n, crs=27700)
    m = hs.action_menu(inc)
    acts = m["action"].tolist()
    assert acts[:2] == ["Flytip Enforcement", "Fly tip awareness"]  # 8 fly-tips, first rows
    assert "Commercial Waste" in acts and "Street Trading" not in acts
    by = m.set_index("action")
    assert by.at["Commercial Waste", "n_incidents"] == 5
    assert by.at["HMO", "n_incidents"] == 7  # 3 black bags + 4 asb
    assert by.at["Domestic Bin Storage", "n_incidents"] == 3
    assert m["pressure"].is_monotonic_decreasing
    assert "Station Road" in by.at["Commercial Waste", "locations"]
    # counts only: subcategory triggers cannot fire
    m2 = hs.action_menu({"n_fly_tip": 4, "n_asb": 0})
    assert m2["action"].tolist() == ["Flytip Enforcement", "Fly tip awareness"]


def test_bad_actions_table_and_history_columns(year, wards):
    inc, _ = year
    with pytest.raises(BadInputError, match="actions table"):
        hs.action_menu({"fly_tip": 3}, pd.DataFrame({"x": [1]}))
    with pytest.raises(BadInputError, match="history needs"):
        hs.focus_week(inc, wards, week="2022-05-09", history=pd.DataFrame({"a": [1]}),
                      population=False)


def test_actions_review_baseline(tmp_path):
    log = pd.DataFrame({"week": ["2022-01-31", "2022-01-31", "2022-W05", "2022-01-24"],
                        "ward": ["Wealdstone North", "Wealdstone North", "Edgware", "Pinner"],
                        "measure": ["FPNs evidenced (fly tip)", "duty-of-care visits",
                                    "fpns evidenced (fly tip)", "littering FPNs"],
                        "value": [4, 6, 3, 9]})
    r = review.actions_review(log, "2022-02-07").set_index("measure")
    assert r.at["FPNs evidenced (fly tip)", "value"] == 7
    assert r.at["FPNs evidenced (fly tip)", "baseline"] == pytest.approx(21 * 12 / 52, abs=0.05)
    assert "above" in r.at["FPNs evidenced (fly tip)", "note"]
    assert np.isnan(r.at["littering FPNs", "value"])  # that row was two weeks back
    assert list(r.index[:5]) == review.TEAM_MEASURES


def test_week_parsing():
    assert focus._monday("2022-02-09") == pd.Timestamp("2022-02-07")
    assert focus._monday("2022-W06") == pd.Timestamp("2022-02-07")
    with pytest.raises(BadInputError):
        focus._monday("next tuesday")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert focus._iso_week(pd.Timestamp("2022-01-03")) == "2022-W01"


def test_data_coverage_notes(year, wards):
    inc, _ = year
    fw = hs.focus_week(inc, wards, week="2022-02-07", population=False)
    # the data start on 3 Jan, inside the previous window (13 Dec - 9 Jan)
    assert np.isnan(fw.ranking["part_change"]).all()
    assert any("change part is left out" in n for n in fw.notes)
    assert fw.attrs["score_weights"] == "count 0.4, areas 0.2"


def test_summary_and_sheets_render(year, wards):
    from hotspots import report

    inc, _ = year
    fw = hs.focus_week(inc, wards, week="2022-06-06", population=False)
    log = pd.DataFrame({"week": ["2022-05-30"], "ward": ["X"],
                        "measure": ["FPNs evidenced (fly tip)"], "value": [2]})
    md, html_text = report.focus_summary(fw, review=review.actions_review(log, fw.week),
                                         map_files={fw.chosen[0]: "map.html"}, borough="Harrow")
    w = fw.chosen[0]
    assert f"## {w}" in md and "SYNTHETIC" in md and "Flytip Enforcement" in md
    assert "at or below the baseline of 21 a month" in md
    assert "<script" not in html_text and 'href="map.html"' in html_text
    areas = hs.top_areas(inc, n=5, wards=wards)
    plans = {a.rank: hs.action_menu(inc[inc.within(a.geometry)]) for a in areas.itertuples()}
    table, md2, html2 = report.action_plan_sheets(areas, plans)
    assert set(table["area"]) == set(areas["rank"]) and (table["owner"] == "").all()
    assert md2.count("## Area ") == len(areas)


def test_cli_focus_week_and_top20(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    runner = CliRunner()
    hist, log = tmp_path / "history.csv", tmp_path / "log.csv"
    pd.DataFrame({"week": ["2022-05-30"] * 2, "ward": ["Pinner", "Edgware"],
                  "measure": ["FPNs evidenced (fly tip)", "duty-of-care visits"],
                  "value": [6, 3]}).to_csv(log, index=False)
    chosen = []
    for week in ("2022-06-06", "2022-06-13"):
        res = runner.invoke(app, ["focus-week", "--week", week, "--teams", "--history",
                                  str(hist), "--actions", str(log), "--out", str(tmp_path)])
        assert res.exit_code == 0, res.output
        d = tmp_path / f"focus-week-{focus._iso_week(pd.Timestamp(week))}"
        for f in ("ranking.csv", "menu.csv", "councillor-summary.md", "councillor-summary.html"):
            assert (d / f).exists(), f
        assert len(pd.read_csv(d / "ranking.csv")) == 22
        assert len(list(d.glob("map-*.html"))) == 3
        h = pd.read_csv(hist)
        chosen.append(set(h[h["week"] == week]["ward"]))
    assert len(chosen[0]) == 3 and not chosen[0] & chosen[1]
    assert "above the baseline" in (tmp_path / "focus-week-2022-W23" /
                                    "councillor-summary.md").read_text()
    res = runner.invoke(app, ["focus-week", "--force", "Atlantis=test", "--out", str(tmp_path)])
    assert res.exit_code == 1 and "Atlantis" in res.output
    res = runner.invoke(app, ["flytip-top20", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    d = tmp_path / "flytip-top20"
    sheets = pd.read_csv(d / "action-plans.csv", keep_default_na=False)
    assert sheets["area"].nunique() == 20 and (sheets["owner"] == "").all()
    assert (d / "map.html").exists() and (d / "action-plans.html").exists()


def test_score_weights_are_configurable(year, wards):
    inc, _ = year
    fw = hs.focus_week(inc, wards, week="2022-05-09", population=False,
                       score_weights={"count": 1, "change": 0, "areas": 0})
    r = fw.ranking
    # count only: the score is each ward's weighted count over the busiest ward's
    np.testing.assert_allclose(r["score"], r["weighted"] / r["weighted"].max(), atol=1e-3)
    assert fw.attrs["score_weights"] == "count 1"
    # category weights: fly-tips weighted 0 leave nothing to choose
    fw0 = hs.focus_week(inc, wards, week="2022-05-09", population=False,
                        weights={"fly_tip": 0})
    assert fw0.chosen == [] and (fw0.ranking["score"] == 0).all()
    with pytest.raises(BadInputError, match="unknown part"):
        hs.focus_week(inc, wards, week="2022-05-09", score_weights={"size": 1})


def test_areas_clipped_to_ward_with_in_ward_counts(year, wards):
    inc, _ = year
    fw = hs.focus_week(inc, wards, week="2022-06-06", population=False, teams=pd.DataFrame(
        {"ward_name": sorted(wards["ward_name"]),
         "team": [("East", "West", "Central")[i % 3] for i in range(len(wards))]}))
    geom = dict(zip(wards["ward_name"], wards.geometry, strict=True))
    occ = pd.to_datetime(inc["occurred_at"])
    win = inc[(occ >= "2022-05-09") & (occ < "2022-06-06")]
    assert any(len(fw.areas.get(w, [])) for w in fw.chosen)
    for w, a in fw.areas.items():
        ward_geom = geom[w].buffer(0.01)
        assert a.geometry.within(ward_geom).all()
        assert (a["area_in_ward_m2"] <= a["area_m2"] + 1).all()
        pts = win[win["ward_name"] == w]
        for row in a.itertuples():  # independent recount (areas do not overlap)
            assert row.n_in_ward == pts.within(row.geometry).sum() > 0
        assert a["landmark"].str.contains("station").any()


def test_reasons_and_locations_read_plainly(year, wards):
    inc, _ = year
    # data start 3 Jan: the previous window of 7 Feb is not covered, so no "up N"
    fw = hs.focus_week(inc, wards, week="2022-02-07", population=False)
    assert not fw.ranking["reasons"].str.contains(r"\bup \d|\bdown \d").any()
    fw = hs.focus_week(inc, wards, week="2022-06-06", population=False,
                       history=pd.DataFrame({"week": ["2022-05-30"],
                                             "ward": [hs.focus_week(
                                                 inc, wards, week="2022-06-06",
                                                 population=False).chosen[0]]}))
    r = fw.ranking.set_index("ward_name")
    w = fw.chosen[0]
    assert "among the eligible wards" in r.at[w, "choice_reason"]
    assert "up" in r.at[w, "reasons"] or "down" in r.at[w, "reasons"]
    n_prev = r.at[w, "n_previous"]
    occ = pd.to_datetime(inc["occurred_at"])
    assert n_prev == ((occ >= "2022-04-11") & (occ < "2022-05-09") &
                      (inc["ward_name"] == w)).sum()
    for m in fw.menu.values():  # generated location text never shows as a street
        assert not m["locations"].str.contains("synthetic location").any()
        assert (m["locations"] != "").all()


def test_sample_actions_log_and_history_in_cli(tmp_path):
    """The shipped sample history (W03-W05) and actions log drive the W06 pack."""
    from typer.testing import CliRunner

    from hotspots.cli import app
    from hotspots.datasets import PROJECT_ROOT

    sample = PROJECT_ROOT / "sample_data"
    hist = tmp_path / "history.csv"
    hist.write_bytes((sample / "harrow_focus_history_2022_synthetic.csv").read_bytes())
    log = sample / "harrow_focus_actions_log_2022_synthetic.csv"
    res = CliRunner().invoke(app, ["focus-week", "--week", "2022-02-07", "--teams",
                                   "--history", str(hist), "--actions", str(log),
                                   "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    h = pd.read_csv(hist)
    before = set(h[h["week"] < "2022-02-07"]["ward"])
    now = set(h[h["week"] == "2022-02-07"]["ward"])
    assert len(now) == 3 and not now & before  # rotation: none of the last 3 weeks' wards
    md = (tmp_path / "focus-week-2022-W06" / "councillor-summary.md").read_text()
    expect = pd.read_csv(log)
    fpn = expect[(expect["week"] == "2022-01-31") &
                 (expect["measure"] == "FPNs evidenced (fly tip)")]["value"].sum()
    assert f"| FPNs evidenced (fly tip) | {fpn} |" in md
    assert "Last week's actions (week of 31 Jan 2022)" in md and "21 a month" in md
    for w in now:  # chosen wards are in the comparison table even when ranked low
        assert md.count(f"| {w} |") >= 1


@pytest.fixture(scope="module")
def city_flytips(tmp_path_factory, city):
    """Real City of London 2019 ASB and criminal-damage locations relabelled as dated
    fly-tips (day spread deterministically inside each police.uk month), as a CSV."""
    sub = city[city["category"].isin(["asb", "criminal_damage_arson"])].reset_index(drop=True)
    day = pd.to_timedelta((np.arange(len(sub)) * 7) % 28, unit="D")
    ll = sub.geometry.to_crs(4326)
    path = tmp_path_factory.mktemp("city") / "city_flytips.csv"
    pd.DataFrame({
        "incident_id": [f"ft{i}" for i in range(len(sub))], "category": "fly_tip",
        "subcategory": "black bags", "location_desc": sub["location_desc"],
        "occurred_at": (pd.to_datetime(sub["month"]) + day + pd.Timedelta(hours=10))
        .dt.strftime("%Y-%m-%d %H:%M"),
        "lon": ll.x.round(6), "lat": ll.y.round(6)}).to_csv(path, index=False)
    return path


def _edge_names(G) -> set[str]:
    return {str(d.get("name")) for _, _, d in G.edges(data=True)}


def test_focus_week_network_names_areas_by_streets(city_flytips):
    inc = hs.read_incidents(city_flytips)
    G = hs.street_network("osm_city_of_london")
    fw = hs.focus_week(inc, hs.wards(borough="City of London", year=2022),
                       week="2019-10-07", network=G)
    assert fw.chosen and any(len(a) for a in fw.areas.values())
    edges = _edge_names(G)
    for a in fw.areas.values():
        assert (a["streets"].str.len() > 0).all()
        for s in a["streets"]:  # every name is a street of the network
            assert all(any(p in e for e in edges) for p in s.split(" / "))


def test_cli_network_option_names_streets(tmp_path, city_flytips):
    from typer.testing import CliRunner

    from hotspots.cli import app

    common = ["--borough", "City of London", "--incidents", str(city_flytips),
              "--network", "osm_city_of_london", "--out", str(tmp_path)]
    res = CliRunner().invoke(app, ["focus-week", "--week", "2019-10-07", *common])
    assert res.exit_code == 0, res.output
    d = tmp_path / "focus-week-2019-W41"
    areas = pd.read_csv(d / "areas.csv")
    assert areas["streets"].notna().all() and (areas["streets"].str.len() > 0).all()
    md = (d / "councillor-summary.md").read_text()
    assert all(f"Area {r}: {s} (" in md  # where each area is: its streets
               for r, s in zip(areas["rank"], areas["streets"], strict=True))
    # the area change is the 4-week window against the 4 weeks before, said in dates
    assert ("Changes in each area compare 9 Sep 2019 to 6 Oct 2019 with 12 Aug 2019 to "
            "8 Sep 2019.") in md
    res = CliRunner().invoke(app, ["flytip-top20", "--n", "8", *common])
    assert res.exit_code == 0, res.output
    d = tmp_path / "flytip-top20"
    areas = pd.read_csv(d / "areas.csv")
    assert len(areas) == 8 and (areas["streets"].str.len() > 0).all()
    sheets = pd.read_csv(d / "action-plans.csv", keep_default_na=False)
    assert set(sheets["where"]) <= set(areas["streets"]) and len(sheets)
    md = (d / "action-plans.md").read_text()
    for r in areas.itertuples():
        assert f"## Area {r.rank}: {r.streets}" in md
    # without --start/--end the second half of the data is compared with the first
    inc = hs.read_incidents(city_flytips)
    compared = hs.rank.change_label(hs.top_areas(inc, n=8, quiet=True).attrs)
    assert compared.endswith(f"vs {inc['occurred_at'].min():%Y-%m-%d} to 2019-06-27")
    # each sheet says the two periods in words ("12 more in ... than in ...")
    assert "in 27 Jun 2019 to 22 Dec 2019 than in 1 Jan 2019 to 27 Jun 2019" in md
    assert "previous period" not in md
    assert f"Change, {compared}:" in (d / "map.html").read_text()


def test_actions_review_rejects_bad_rows_and_keeps_good(wards, tmp_path):
    """A bad value is not a 0; a misspelt ward or team measure is not dropped unseen."""
    from hotspots import report

    p = tmp_path / "log.csv"
    p.write_text("week,ward,measure,value\n"
                 "2022-01-31,Edgware,FPNs evidenced (fly tip),2\n"           # line 2: ok
                 "2022-01-31,Greenhill,FPNs evidenced (fly tip),abc\n"       # 3: bad value
                 "2022-01-31,Greenhil,focus fly tips created,4\n"            # 4: bad ward
                 "2022-01-31,Greenhill,FPNs evidenced flytip,1\n"            # 5: misspelt
                 "2022-01-31,E05013546,focus fly tips created,3\n"           # 6: code: ok
                 "2022-01-31,Greenhill,properties canvassed for bins,5\n"    # 7: other: ok
                 "someday,Greenhill,littering FPNs,1\n"                      # 8: bad week
                 "2022-01-31,Pinner,duty-of-care visits,\n")                 # 9: empty
    r = review.actions_review(p, "2022-02-07", wards=wards)
    rej = {x["row"]: x["reason"] for x in r.attrs["rejected"]}
    assert set(rej) == {3, 4, 5, 8, 9}
    assert all(x["file"] == str(p) for x in r.attrs["rejected"])
    assert "'abc' is not a number" in rej[3]
    assert "'Greenhil'" in rej[4] and "Greenhill" in rej[4]
    assert "did you mean 'FPNs evidenced (fly tip)'" in rej[5]
    assert "not a date" in rej[8] and "empty" in rej[9]
    by = r.set_index("measure")
    assert by.at["FPNs evidenced (fly tip)", "value"] == 2  # only the valid row
    assert "1 row(s) rejected" in by.at["FPNs evidenced (fly tip)", "note"]
    code_ward = wards.set_index("ward_code").at["E05013546", "ward_name"]
    assert by.at["focus fly tips created", "value"] == 3
    assert by.at["focus fly tips created", "wards"] == code_ward  # code shown as its name
    assert by.at["properties canvassed for bins", "value"] == 5
    assert r.attrs["other_measures"] == ["properties canvassed for bins"]
    assert by.at["duty-of-care visits", "note"].startswith("not recorded")
    # the summary's notes list every rejected row
    caveats = report._review_caveats(r)
    assert "5 row(s) rejected" in caveats[0]
    assert all(f"row {k}: {v}" in caveats[0] for k, v in rej.items())
    # without wards the ward is not checked (any name kept)
    assert {x["row"] for x in review.actions_review(p, "2022-02-07").attrs["rejected"]} == {
        3, 5, 8, 9}


def test_cli_focus_week_reports_rejected_actions(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app
    from hotspots.datasets import PROJECT_ROOT

    log = tmp_path / "log.csv"
    log.write_text((PROJECT_ROOT / "sample_data" / "harrow_focus_actions_log_2022_synthetic.csv")
                   .read_text() + "2022-01-31,Greenhill,FPNs evidenced (fly tip),abc\n"
                   "2022-01-31,Greenhil,focus fly tips created,4\n")
    n = len(log.read_text().splitlines())
    res = CliRunner().invoke(app, ["focus-week", "--week", "2022-02-07", "--teams",
                                   "--actions", str(log), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "2 row(s) of the actions log" in out
    assert f"row {n - 1}: value 'abc' is not a number" in out
    assert f"row {n}: unknown ward 'Greenhil' (did you mean 'Greenhill'?)" in out
    md = (tmp_path / "focus-week-2022-W06" / "councillor-summary.md").read_text()
    assert "2 row(s) rejected and left out" in md and "'abc' is not a number" in md
    assert "Greenhill" not in md.split("## Last week's actions")[1].split("## How")[0]


def test_cli_rerun_says_replaced_and_non_monday_week_noted(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    hist = tmp_path / "history.csv"
    outs = []
    for week in ("2022-02-07", "2022-02-08"):  # Monday, then the Tuesday of the same week
        res = CliRunner().invoke(app, ["focus-week", "--week", week, "--teams", "--history",
                                       str(hist), "--out", str(tmp_path)])
        assert res.exit_code == 0, res.output
        outs.append(" ".join(res.output.split()))
    assert "history: appended 3 row(s)" in outs[0] and "history: replaced" not in outs[0]
    assert "history: replaced 3 row(s) of week 2022-W06 with 3" in outs[1]
    assert "history: appended" not in outs[1]
    assert len(pd.read_csv(hist)) == 3  # replaced, not added
    assert "is a Tuesday" not in outs[0]
    assert ("2022-02-08 is a Tuesday: the focus week is the week starting Monday 2022-02-07 "
            "(2022-W06)") in outs[1]


def test_non_monday_week_note(year, wards):
    inc, _ = year
    fw = hs.focus_week(inc, wards, week="2022-06-09", population=False)
    assert fw.week == pd.Timestamp("2022-06-06")
    assert any("is a Thursday" in n and "Monday 2022-06-06" in n for n in fw.notes)
    for week in ("2022-06-06", "2022-W23", pd.Timestamp("2022-06-06")):
        fw = hs.focus_week(inc, wards, week=week, population=False)
        assert not any("Monday 2022" in n for n in fw.notes)


def test_teams_table_unknown_wards_and_wards_without_team(year, wards):
    inc, _ = year
    names = sorted(wards["ward_name"])
    teams = pd.DataFrame({"ward_name": [*names[1:], "Nowhere", names[0][:-1]],
                          "team": [("East", "West")[i % 2] for i in range(len(names) + 1)]})
    fw = hs.focus_week(inc, wards, week="2022-06-06", teams=teams, population=False)
    note = next(n for n in fw.notes if n.startswith("Teams table"))
    assert "2 row(s)" in note and "'Nowhere' (row 23; no close match)" in note
    assert f"{names[0][:-1]!r} (row 24; did you mean {names[0]!r}" in note
    missing = next(n for n in fw.notes if "have no team" in n)
    assert missing.startswith(f"1 of {len(names)} wards") and names[0] in missing
    assert names[0] not in fw.chosen and pd.isna(fw.ranking.set_index("ward_name").at[
        names[0], "team"])
    # a complete table: no such notes
    full = pd.DataFrame({"ward_code": wards["ward_code"], "team": "East"})
    fw = hs.focus_week(inc, wards, week="2022-06-06", teams=full, population=False)
    assert not any("Teams table" in n or "have no team" in n for n in fw.notes)


def test_shipped_teams_are_harrow_only(tmp_path):
    from typer.testing import CliRunner

    from hotspots.cli import app

    camden = hs.wards(borough="Camden", year=2022)
    inc = hs.synthetic.fly_tips(borough="Camden", year=2022, seed=0)
    with pytest.raises(BadInputError, match="covers Harrow only.*Camden.*--teams-csv"):
        hs.focus_week(inc, camden, week="2022-02-07", teams=True, population=False)
    res = CliRunner().invoke(app, ["focus-week", "--borough", "Camden", "--teams",
                                   "--out", str(tmp_path)])
    out = " ".join(res.output.split())
    assert res.exit_code == 1 and "covers Harrow only" in out and "--teams-csv" in out
    assert "ward year" not in out and "Traceback" not in out
    # with its own table Camden works, one ward per team
    teams = tmp_path / "camden_teams.csv"
    pd.DataFrame({"ward_code": camden["ward_code"],
                  "team": ["North" if i % 2 else "South" for i in range(len(camden))]}
                 ).to_csv(teams, index=False)
    res = CliRunner().invoke(app, ["focus-week", "--borough", "Camden", "--teams-csv",
                                   str(teams), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "focus-week-2022-W06" / "ranking.csv")
               .query("chosen")) == 2
