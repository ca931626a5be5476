"""`make demo` end to end: every promised output is written, offline and attributed."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from hotspots.cli import app


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_demo_writes_every_listed_output(demo_out):
    index = (demo_out / "README.md").read_text()
    listed = re.findall(r"\| `([^`]+)` \|", index)
    assert len(listed) >= 20
    for rel in listed:
        assert (demo_out / rel).is_file(), rel
    for part in ("harrow/crime_ward_counts_monthly.csv", "harrow/crime_hotspots_map.html",
                 "focus-week-2022-W06/councillor-summary.html", "patrol/briefing.html",
                 "patrol/route.gpx", "flytip-top20/action-plans.csv"):
        assert part in listed
    assert "OpenStreetMap" in index and "Open Government Licence" in index


def test_demo_ward_counts_cover_all_harrow_wards_and_rows(demo_out):
    counts = pd.read_csv(demo_out / "harrow" / "crime_ward_counts_monthly.csv")
    assert counts["ward_code"].nunique() == 22  # Harrow's 2022 wards, zero-filled
    assert counts["period"].nunique() == 12
    # the Harrow file's 14,946 rows all lie within 25 m of a Harrow ward
    assert counts["count"].sum() == 14_946


def test_demo_maps_are_offline(demo_out):
    for html in demo_out.rglob("*.html"):
        text = html.read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", text), html
        assert not re.search(r"<link[^>]+href=\"https?://", text), html


def test_demo_synthetic_outputs_say_so(demo_out):
    summary = (demo_out / "focus-week-2022-W06" / "councillor-summary.md").read_text()
    assert "synthetic" in summary.lower()
