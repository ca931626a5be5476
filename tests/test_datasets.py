"""The dataset registry: complete, checksums right, resolution order, clear errors."""

from __future__ import annotations

import dataclasses
import filecmp
import hashlib
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hotspots as hs
from hotspots import boundaries, datasets
from hotspots.cli import app

SMALL = "tfl_stations"  # a small registry file to copy around


@pytest.fixture(scope="module")
def data_root() -> Path:
    """The data directory the registry resolves to here (../shared/data or $HOTSPOTS_DATA)."""
    p = datasets.path("wards_2022", download=False)
    return p.parents[len(Path(datasets.get("wards_2022").path).parts) - 1]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $HOTSPOTS_DATA, no ../shared/data, an empty cache: nothing can be found."""
    monkeypatch.delenv("HOTSPOTS_DATA", raising=False)
    monkeypatch.setattr(datasets, "PROJECT_ROOT", tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets, "cache_dir", lambda: tmp_path / "cache")
    return tmp_path


def _with_entry(monkeypatch, key: str, **changes) -> datasets.Dataset:
    reg = dict(datasets.registry())
    reg[key] = dataclasses.replace(reg[key], **changes)
    monkeypatch.setattr(datasets, "registry", lambda: reg)
    return reg[key]


def test_registry_names_every_shared_file(data_root):
    files = {
        p.relative_to(data_root).as_posix()
        for p in data_root.rglob("*")
        if p.is_file() and p.name != "SOURCES.md"
    }
    listed = {ds.path for ds in datasets.registry().values()}
    assert files == listed


def test_registry_entries_complete():
    for key, ds in datasets.registry().items():
        assert re.fullmatch(r"[0-9a-f]{64}", ds.sha256), key
        assert ds.url.startswith("https://"), key
        assert ds.attribution and ds.description, key
        if ds.crs:
            assert re.fullmatch(r"EPSG:\d+", ds.crs), key
    # boundary sets say which columns hold the codes and names
    for year, key in boundaries.WARD_SETS.items():
        ds = datasets.get(key)
        assert ds.code and ds.name and ds.borough_code, year


def test_checksums_match_independent_hash(data_root):
    table = hs.list_datasets(check=True)
    assert (table["found_at"] != "MISSING").all()
    assert table["checksum_ok"].all()
    # hashlib over the whole file, not the chunked reader, for one file
    p = datasets.path(SMALL)
    assert hashlib.sha256(p.read_bytes()).hexdigest() == datasets.get(SMALL).sha256


def test_hotspots_data_comes_first(tmp_path, monkeypatch):
    ds = datasets.get(SMALL)
    mine = tmp_path / ds.path
    mine.parent.mkdir(parents=True)
    mine.write_bytes(datasets.path(SMALL).read_bytes())
    shared = datasets.path("wards_2022")
    monkeypatch.setenv("HOTSPOTS_DATA", str(tmp_path))
    assert datasets.data_dirs()[0] == tmp_path
    assert datasets.path(SMALL) == mine
    # not in $HOTSPOTS_DATA: falls through to the next folder. Compare the files, not
    # their paths: `shared` came from the caller's own $HOTSPOTS_DATA when one is set
    found = datasets.path("wards_2022")
    assert found.parent != tmp_path and filecmp.cmp(found, shared, shallow=False)


def test_cache_is_searched_after_shared(isolated):
    ds = datasets.get(SMALL)
    cached = isolated / "cache" / ds.path
    cached.parent.mkdir(parents=True)
    cached.write_text("x")
    assert datasets.data_dirs()[-1] == isolated / "cache"
    assert datasets.path(SMALL, download=False) == cached


def test_missing_and_offline_gives_one_clear_error(isolated):
    ds = datasets.get("wards_2022")
    with pytest.raises(hs.DataNotFoundError) as err:
        datasets.path("wards_2022")
    msg = str(err.value)
    assert Path(ds.path).name in msg and ds.url in msg and "HOTSPOTS_DATA" in msg
    for d in datasets.data_dirs():
        assert str(d / ds.path) in msg
    # the library's public functions surface the same error
    boundaries._wards_table.cache_clear()
    try:
        with pytest.raises(hs.DataNotFoundError, match="wards_2022"):
            hs.wards("Harrow", 2022)
    finally:
        boundaries._wards_table.cache_clear()


def test_download_checks_sha256(data_root, isolated, monkeypatch):
    """A direct-file source is fetched into the cache only when its checksum matches."""
    raw = data_root / datasets.get(SMALL).path
    url = raw.as_uri()  # file:// keeps the test offline; urllib treats it like http
    _with_entry(monkeypatch, SMALL, url=url)
    got = datasets.path(SMALL)
    assert got == isolated / "cache" / datasets.get(SMALL).path
    assert got.read_bytes() == raw.read_bytes()
    got.unlink()
    _with_entry(monkeypatch, SMALL, url=url, sha256="0" * 64)
    with pytest.raises(hs.DataNotFoundError, match="checksum mismatch"):
        datasets.path(SMALL)
    assert not got.exists()


def test_unknown_key_suggests():
    with pytest.raises(hs.HotspotsError, match="wards_2022"):
        datasets.get("wards_202")


def test_cli_datasets_lists_and_checks(monkeypatch):
    res = CliRunner().invoke(app, ["datasets", "--check"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for key in datasets.registry():
        assert key in res.output
    assert f"{len(datasets.registry())} files match" in res.output
    _with_entry(monkeypatch, SMALL, sha256="0" * 64)
    res = CliRunner().invoke(app, ["datasets", "--check"], env={"COLUMNS": "200"})
    assert res.exit_code == 1 and "checksum mismatch" in res.output and SMALL in res.output


def test_cli_datasets_says_where_to_get_missing_files(isolated):
    res = CliRunner().invoke(app, ["datasets"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "MISSING" in res.output
    assert f"get it from {datasets.get('wards_2022').url}" in res.output
