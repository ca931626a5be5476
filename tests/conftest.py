"""Shared pytest fixtures.

Browser fixtures: Debian's chromium (``make browser``) driven by Playwright from PyPI,
never ``playwright install``. One browser per test module keeps the map tests fast.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HOTSPOTS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


@dataclass
class PageLog:
    """What a page did: every request, failures, console errors, JS dialogs."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def external(self) -> list[str]:
        """Requests that left the machine (anything but file: and data: URLs and the
        tests' own servers on 127.0.0.1)."""
        return [u for u in self.requests
                if not u.startswith(("file:", "data:", "http://127.0.0.1:"))]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium shared by the tests of one module."""
    if not Path(CHROMIUM).exists():
        # `make test` installs chromium and sets HOTSPOTS_REQUIRE_BROWSER: there a
        # missing browser is a failure, not a quiet skip.
        message = f"{CHROMIUM} not found: run `make browser` (Debian chromium)"
        if os.environ.get("HOTSPOTS_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser):
    """Open a local HTML file; returns ``(page, log)`` with everything recorded.

    Dialogs (``alert``...) are recorded and dismissed, so an XSS shows up in
    ``log.dialogs`` instead of hanging the test.
    """
    pages = []

    def _open(path: str | os.PathLike, width: int = 1200, height: int = 900,
              block_network: bool = False):
        """`block_network`: every request but file: and data: URLs is aborted (a
        computer with no network), and recorded in ``log.failed``."""
        page = browser.new_page(viewport={"width": width, "height": height})
        log = PageLog()
        if block_network:
            page.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
        page.on("request", lambda r: log.requests.append(r.url))
        page.on("requestfailed", lambda r: log.failed.append(f"{r.url} {r.failure}"))
        # a resource that fails to load is already in log.failed (with its URL): base tiles
        # with no network are the map's expected fallback, not a script error
        page.on("console", lambda m: log.errors.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda e: log.errors.append(f"pageerror: {e}"))

        def on_dialog(d):
            log.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        page.goto(Path(path).resolve().as_uri(), wait_until="load")
        # Leaflet's fit-to-data zoom animates: clicks and screenshots wait for it to end
        page.wait_for_function("() => !document.querySelector('.leaflet-zoom-anim')")
        pages.append(page)
        return page, log

    yield _open
    for p in pages:
        p.close()


@dataclass
class TileServer:
    """A local XYZ tile server for map tests: ``url`` is the ``tiles=`` template,
    ``served`` the tiles it has sent (``(z, x, y)``), every tile one flat colour
    (``rgb``) with a darker grid line, so a screenshot shows where tiles were drawn."""

    url: str
    rgb: tuple[int, int, int]
    served: list[tuple[int, int, int]]


@pytest.fixture(scope="session")
def tile_server():
    """A few generated 256 px PNG tiles served from 127.0.0.1 (no internet needed)."""
    import io
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from PIL import Image, ImageDraw

    rgb = (170, 211, 223)  # OSM's water blue: nothing else on the maps is this colour
    img = Image.new("RGB", (256, 256), rgb)
    ImageDraw.Draw(img).rectangle([0, 0, 255, 255], outline=(120, 160, 175), width=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    png = buf.getvalue()
    served: list[tuple[int, int, int]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            m = re.fullmatch(r"/(\d+)/(\d+)/(\d+)\.png", self.path)
            if not m:
                self.send_error(404)
                return
            served.append(tuple(int(v) for v in m.groups()))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            # Leaflet cancels tiles it no longer needs when the map zooms
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(png)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    yield TileServer(url=f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png", rgb=rgb,
                     served=served)
    server.shutdown()
    server.server_close()


# Real incident sets shared by the test modules. Library functions never mutate their
# inputs (a tested contract), so one read per session serves every test.
@functools.cache
def _incidents(key: str):
    import hotspots as hs

    return hs.read_incidents(key)


@functools.cache
def _incidents_with_report(key: str):
    import hotspots as hs

    return hs.read_incidents(key, with_report=True)


@pytest.fixture(scope="session")
def london_2022():
    """All London street crime 2022 (849k police.uk rows) with its read report:
    ``(incidents, report)``. Read once per session (about 20 s)."""
    return _incidents_with_report("london_crime_2022")


@pytest.fixture(scope="session")
def london_2022_csv():
    """The London 2022 police.uk CSV as plain pandas read it (the independent reference
    several modules check against). Read once per session: take subsets, never modify."""
    import pandas as pd

    import hotspots as hs

    return pd.read_csv(hs.dataset_path("london_crime_2022"))


@pytest.fixture(scope="session")
def camden():
    """Camden street crime and ASB, June 2019 (police.uk via Camden open data)."""
    return _incidents("camden_2019_06")


@pytest.fixture(scope="session")
def harrow():
    """Harrow street crime 2022 (police.uk via crimemappingdata)."""
    return _incidents("harrow_crime_2022")


@pytest.fixture(scope="session")
def city():
    """City of London Police street crime 2019 (police.uk CSV)."""
    return _incidents("city_of_london_2019")


@pytest.fixture(scope="session")
def camden_layers():
    """Camden June 2019 with its 2014 wards, top twenty areas, KDE grid and Gi* grid:
    everything a map or figure draws."""
    from types import SimpleNamespace

    import hotspots as hs

    inc = _incidents("camden_2019_06")
    wards = hs.wards("Camden", 2014)
    return SimpleNamespace(
        inc=inc, wards=wards, areas=hs.top_areas(inc, n=20, wards=wards, quiet=True),
        grid=hs.kde(inc, clip=wards, quiet=True), gi=hs.gistar(inc, clip=wards))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`hotspots demo` run once per test session: (output folder, console output).

    Shared by test_demo.py and test_packs.py (the demo takes about half a minute).
    """
    from typer.testing import CliRunner

    from hotspots.cli import app

    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output
