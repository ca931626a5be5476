"""The reading options on the command line (issue 18): one set, on every command that
reads incidents; other services' files read right with no code; refusals that say the
way out; markup-like text printed as it is; empty selections are errors. Small files
crafted in tmp_path, values checked by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.cli._options import NAMES

runner = CliRunner()

FIRE = (  # a fire brigade's own export: no category column the reader knows
    "IncidentNumber,DateOfCall,TimeOfCall,PropertyType,Easting_m,Northing_m\n"
    "F1,07/02/2022,14:10:00,House,530000,180000\n"
    "F2,08/02/2022,22:45:00,Flat,530100,180100\n"
)
COLLISIONS = (
    "accident_index,location_easting_osgr,location_northing_osgr,longitude,latitude,"
    "accident_severity,date,time\n"
    "2022010352073,525199,177928,-0.198224,51.486454,3,05/01/2022,15:20\n"
    "2022010352573,546214,179350,0.105042,51.494745,2,13/01/2022,17:42\n"
)


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def _file(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def _params(command) -> set[str]:
    return {p.name for p in __import__("inspect").signature(command.callback).parameters
            .values()}


#: commands that read incident files (store add under the store group)
READERS = ("read", "validate", "counts", "rank", "kde", "gistar", "backtest", "map",
           "focus-week", "flytip-top20", "patrol", "change", "classify")


@pytest.mark.parametrize("name", READERS)
def test_every_reading_command_has_the_one_set_of_reading_options(name):
    cmd = next(c for c in app.registered_commands if c.name == name)
    assert set(NAMES) <= _params(cmd)
    assert {"lon", "lat", "x", "y", "date", "time", "category", "category_column", "bounds",
            "sheet", "layer"} == set(NAMES)
    # the same option objects: defined once
    from hotspots.cli._options import _OPTIONS

    sig = __import__("inspect").signature(cmd.callback)
    assert all(sig.parameters[n].default is opt for n, opt in _OPTIONS)


def test_store_add_has_the_reading_options():
    from hotspots.cli import store_app

    cmd = next(c for c in store_app.registered_commands if c.name == "add")
    assert set(NAMES) <= _params(cmd)


def test_fire_file_with_category_fire_keeps_every_row_as_fire(tmp_path):
    p = _file(tmp_path, "fire.csv", FIRE)
    res = invoke("validate", p, "--category", "fire", "--json")
    assert res.exit_code == 0, res.output
    js = json.loads(res.stdout)
    assert js["rows_kept"] == js["rows_read"] == 2 and js["categories"] == {"fire": 2}
    assert js["times"] == {"n_with_time": 2}
    assert any("TimeOfCall" in w for w in js["warnings"])


def test_collisions_are_timed_collisions(tmp_path):
    p = _file(tmp_path, "collisions.csv", COLLISIONS)
    js = json.loads(invoke("validate", p, "--json").stdout)
    assert js["kind"] == "stats19" and js["categories"] == {"collision": 2}
    assert js["times"] == {"n_with_time": 2}
    assert js["dates"]["first"] == "2022-01-05 15:20"


def _kent(tmp_path, n=500):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"Crime ID": [""] * n, "Month": ["2022-01"] * n,
                       "Reported by": ["Kent Police"] * n, "Falls within": ["Kent Police"] * n,
                       "Longitude": rng.uniform(0.5, 1.3, n).round(6),
                       "Latitude": rng.uniform(51.1, 51.35, n).round(6),
                       "Location": ["On or near Somewhere"] * n, "LSOA code": [""] * n,
                       "LSOA name": [""] * n, "Crime type": ["Anti-social behaviour"] * n,
                       "Last outcome category": [""] * n, "Context": [""] * n})
    p = tmp_path / "2022-01-kent-street.csv"
    df.to_csv(p, index=False)
    return str(p)


def test_outside_london_is_refused_naming_bounds_none_and_kept_with_it(tmp_path):
    p = _kent(tmp_path)
    res = invoke("kde", p, "--out", str(tmp_path / "k.csv"))
    msg = " ".join(res.output.split())
    assert res.exit_code == 1 and "--bounds none" in msg and "Traceback" not in res.output
    assert "500 outside London" in msg
    res = invoke("validate", p, "--bounds", "none", "--json")
    js = json.loads(res.stdout)
    assert js["rows_kept"] == 500 and js["categories"] == {"asb": 500}
    assert js["dates"]["month_only"] is True
    res = invoke("validate", p, "--json")  # the refusal in validate too
    assert res.exit_code == 1 and "--bounds none" in " ".join(res.output.split())


def test_bounds_borough_and_unknown_bounds(tmp_path):
    p = _file(tmp_path, "two.csv", "id,Easting,Northing\n1,530000,180000\n2,515000,188000\n")
    js = json.loads(invoke("validate", p, "--bounds", "Harrow", "--json").stdout)
    assert js["rows_kept"] == 1 and js["rows_rejected"] == 1  # Westminster is not Harrow
    res = invoke("validate", p, "--bounds", "Harow")
    assert res.exit_code == 1 and "--bounds" in res.output and "Harrow" in res.output


def test_markup_in_data_and_arguments_is_printed_as_it_is(tmp_path):
    p = _file(tmp_path, "odd.csv", "id,lon,lat,type\n1,-0.1,51.5,[/]\n2,-0.1,51.5,[red]x\n")
    res = invoke("validate", p)
    assert res.exit_code == 0 and "Traceback" not in res.output
    assert "'[/]'" in res.output  # not swallowed as markup
    res = invoke("validate", str(tmp_path / "[/]nothing.csv"))
    assert res.exit_code == 1 and "[/]nothing.csv" in res.output
    assert "Traceback" not in res.output
    res = invoke("kde", p, "--categories", "[/]", "--out", str(tmp_path / "k.csv"))
    assert res.exit_code == 1 and "'[/]'" in res.output and "Traceback" not in res.output


def test_kde_and_gistar_take_x_and_y(tmp_path):
    p = _file(tmp_path, "pts.csv", "ref,E,N\n" + "".join(
        f"{i},{530000 + 10 * (i % 7)},{180000 + 10 * (i % 5)}\n" for i in range(40)))
    for cmd in ("kde", "gistar"):
        out = tmp_path / f"{cmd}.csv"
        res = invoke(cmd, p, "--x", "E", "--y", "N", "--category", "noise", "--out", str(out))
        assert res.exit_code == 0, res.output
        assert out.exists()


def test_empty_selection_is_an_error_with_what_the_file_holds(tmp_path):
    p = _file(tmp_path, "fire.csv", FIRE)
    res = invoke("kde", p, "--category", "fire", "--categories", "burglary",
                 "--out", str(tmp_path / "k.csv"))
    msg = " ".join(res.output.split())
    assert res.exit_code == 1 and "no incidents of category burglary" in msg
    assert "hold 2: fire 2" in msg and not (tmp_path / "k.csv").exists()
    res = invoke("classify", p, "--category", "fire", "--since", "01/01/2023",
                 "--out", str(tmp_path / "c"))
    msg = " ".join(res.output.split())
    assert res.exit_code == 1 and "no incidents from 1 Jan 2023" in msg
    assert "7 Feb 2022 – 8 Feb 2022" in msg


def test_focus_week_day_first_week_echoed(tmp_path):
    res = invoke("focus-week", "--week", "07/02/2022", "--out", str(tmp_path), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["week"] == "2022-W06"
    assert "week 2022-W06: Monday 7 February 2022 to Sunday 13 February 2022" in " ".join(
        res.stderr.split())
    assert (tmp_path / "focus-week-2022-W06").is_dir()


def test_progress_labels_with_markup_like_file_names_on_a_terminal(monkeypatch):
    # on a terminal the spinner shows "reading FILE": a "[/]" in the name is text
    import io

    from rich.console import Console

    from hotspots.cli import _common

    out = io.StringIO()
    monkeypatch.setattr(_common, "console", Console(file=out, force_terminal=True,
                                                    markup=False, width=100))
    with _common._steps(quiet=False) as step, step("reading weird[/].csv"):
        pass
    assert "weird[/].csv" in out.getvalue()
