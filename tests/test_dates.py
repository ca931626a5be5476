"""Tests for reading dates and times (hotspots._dates through read_incidents) and for
people's dates on the command line (hotspots._time.parse_time, focus weeks): day-first
everywhere, ISO always, month-first only when a file proves it. Crafted files; the
expected timestamps are written out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

import hotspots as hs
from hotspots._time import parse_days, parse_time

T = pd.Timestamp


def _csv(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_separate_date_and_time_columns_combine(tmp_path):
    p = _csv(tmp_path, "id,lon,lat,Date,Time\n1,-0.1,51.5,07/02/2022,14:05\n"
             "2,-0.1,51.5,08/02/2022,2:30 PM\n3,-0.1,51.5,09/02/2022,1405\n"
             "4,-0.1,51.5,10/02/2022,\n")
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["occurred_at"].tolist() == [T("2022-02-07 14:05"), T("2022-02-08 14:30"),
                                           T("2022-02-09 14:05"), T("2022-02-10")]
    assert rep.n_with_time == 3  # the row without a time is dated, not timed
    assert any("times of day from column Time" in w for w in rep.warnings)


def test_date_column_found_by_the_word_date(tmp_path):
    p = _csv(tmp_path, "id,lon,lat,Date of incident\n1,-0.1,51.5,2022-03-01 10:00\n")
    assert hs.read_incidents(p)["occurred_at"].tolist() == [T("2022-03-01 10:00")]
    p = _csv(tmp_path, "id,lon,lat,DateOfCall,TimeOfCall\n1,-0.1,51.5,01 Jan 2019,00:01:45\n")
    assert hs.read_incidents(p)["occurred_at"].tolist() == [T("2019-01-01 00:01:45")]


def test_a_date_column_with_its_own_times_wins_over_a_time_column(tmp_path):
    p = _csv(tmp_path, "id,lon,lat,date,time\n1,-0.1,51.5,2022-03-01 10:00,23:00\n")
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["occurred_at"].tolist() == [T("2022-03-01 10:00")]
    assert rep.n_with_time == 1


def test_excel_serial_dates(tmp_path):
    p = tmp_path / "serial.xlsx"
    # 44599 = 2022-02-07 (Excel day 0 = 1899-12-30); .5 = noon
    pd.DataFrame({"id": ["a", "b"], "lon": [-0.1, -0.1], "lat": [51.5, 51.5],
                  "date": [44599.5, 44600.0]}).to_excel(p, index=False)
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["occurred_at"].tolist() == [T("2022-02-07 12:00"), T("2022-02-08")]
    assert any("Excel serial" in w for w in rep.warnings)


def test_month_first_file_is_read_month_first_with_a_note(tmp_path):
    p = _csv(tmp_path, "id,lon,lat,date\n1,-0.1,51.5,03/04/2022\n2,-0.1,51.5,04/13/2022\n")
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["occurred_at"].tolist() == [T("2022-03-04"), T("2022-04-13")]
    assert any("month-first" in w and "04/13/2022" in w for w in rep.warnings)


def test_ambiguous_file_says_it_read_day_first(tmp_path):
    p = _csv(tmp_path, "id,lon,lat,date\n1,-0.1,51.5,03/04/2022\n2,-0.1,51.5,05/06/2022\n")
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["occurred_at"].tolist() == [T("2022-04-03"), T("2022-06-05")]
    assert any("read day-first (3 April 2022)" in w for w in rep.warnings)
    # a file that proves day-first needs no note
    p = _csv(tmp_path, "id,lon,lat,date\n1,-0.1,51.5,03/04/2022\n2,-0.1,51.5,13/06/2022\n")
    _, rep = hs.read_incidents(p, with_report=True)
    assert not [w for w in rep.warnings if "day-first" in w]


def test_police_months_are_not_timed(tmp_path):
    p = _csv(tmp_path, "Crime ID,Month,Longitude,Latitude,Crime type\n"
             ",2022-01,-0.1,51.5,Anti-social behaviour\n")
    inc, rep = hs.read_incidents(p, with_report=True)
    assert inc["occurred_at"].isna().all() and rep.n_with_time == 0 and not rep.warnings


@pytest.mark.parametrize("text,want", [
    ("07/02/2022", "2022-02-07"), ("2022-02-07", "2022-02-07"), ("7 Feb 2022", "2022-02-07"),
    ("2022/02/07", "2022-02-07"), ("20220207", "2022-02-07"), ("13/02/2022", "2022-02-13"),
])
def test_command_line_dates_are_day_first_iso_always(text, want):
    assert parse_time(text, "--week") == T(want)
    assert parse_days(pd.Series([text])).iloc[0] == T(want)


def test_unreadable_command_line_date_names_the_option():
    with pytest.raises(hs.BadInputError, match="--since must be a date"):
        parse_time("02/30/2022", "--since")


def test_focus_week_day_first():
    from hotspots.focus import _iso_week, _monday

    assert _iso_week(_monday("07/02/2022")) == "2022-W06"
    assert _monday("09/02/2022") == T("2022-02-07")  # a Wednesday: its week's Monday
    assert _monday("2022-W06") == T("2022-02-07")
