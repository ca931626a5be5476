"""Benchmark: the all-London 2022 hotspot map, made, saved, and opened in a browser.

``hs.hotspot_map(inc, areas, wards, grid)`` + ``hs.save_map(offline=True)`` on the real
all-London 2022 police.uk file (849,409 crimes, 704 wards of 2022, ``hs.kde``'s grid, the
top twenty areas), then the saved page opened in headless Chromium (Debian's
``/usr/bin/chromium`` through Playwright, no network): the seconds until the page's
``load`` event (the browser's own navigation timing), until the areas are drawn, until
the incidents' places are unpacked, and, zoomed into the City at zoom 16 with all
violence switched on, until its places are on the page. Issue 20's targets: map + save
<= 1.5 s and <= 5 MB (printed OK or MISSED; the browser figures have no target).
Run: ``python benchmarks/bench_map.py``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _measure import header, measure

import hotspots as hs
from hotspots import datasets

KEY = "london_crime_2022"
CHROMIUM = os.environ.get("HOTSPOTS_CHROMIUM", "/usr/bin/chromium")
TARGET_S, TARGET_MB = 1.5, 5.0
MAP = "Object.values(window).find(v => v instanceof L.Map)"


def _draw(inc, areas, wards, grid, path: Path) -> int:
    m = hs.hotspot_map(inc, areas=areas, wards=wards, grid=grid)
    return hs.save_map(m, path, offline=True).stat().st_size


def _open(path: Path) -> dict | None:
    """Seconds to load, draw, unpack and zoom in (None without Playwright/Chromium)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
            ("file:", "data:")) else r.abort())
        t0 = time.perf_counter()
        page.goto(path.as_uri())
        out["load event (browser timing)"] = page.evaluate(
            "() => { const t = performance.getEntriesByType('navigation')[0];"
            " return t.loadEventEnd / 1000; }")
        page.wait_for_selector("path.hs-area")
        out["areas drawn"] = time.perf_counter() - t0
        page.wait_for_function(f"() => {MAP}._hsCity && {MAP}._hsCity.ready")
        out["places unpacked"] = time.perf_counter() - t0
        page.evaluate("""() => { const c = document.querySelector('.leaflet-control-layers');
            [...c.querySelectorAll('label')].find(l => l.textContent.includes('Violence'))
              .querySelector('input').click(); }""")
        t1 = time.perf_counter()
        page.evaluate(f"() => {{ {MAP}.setView([51.5136, -0.0983], 16, {{animate: false}}); }}")
        page.wait_for_function(f"() => {MAP}._hsCity.mode === 'points'"
                               " && document.querySelector('.hs-inc, .hs-cluster')")
        out["zoom 16 in the City: places drawn"] = time.perf_counter() - t1
        browser.close()
    return out


def run() -> list[dict]:
    try:
        datasets.path(KEY)
    except hs.HotspotsError as exc:
        print(f"bench_map: skipped ({exc})")
        return []
    header("bench_map: the all-London 2022 hotspot map (made, saved offline, opened)")
    wards = hs.wards(year=2022)
    inc = hs.assign_wards(hs.read_incidents(KEY), wards)
    grid = hs.kde(inc, quiet=True)
    areas = hs.top_areas(inc, n=20, wards=wards, quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "london.html"
        _draw(inc.iloc[:2000], None, wards.iloc[:5], None, path)  # warm up imports
        got = measure(_draw, inc, areas, wards, grid, path)
        mb = got.result / 1e6
        ok = got.seconds <= TARGET_S and mb <= TARGET_MB
        print(f"  hotspot_map + save_map {got.seconds:.2f} s, {mb:.2f} MB, peak "
              f"{got.peak_mib:.0f} MiB | target <= {TARGET_S:g} s and <= {TARGET_MB:g} MB: "
              f"{'OK' if ok else 'MISSED'}")
        rows = [dict(case="London 2022 map: hotspot_map + save_map(offline)", n=len(inc),
                     ours_s=got.seconds, map_mb=mb)]
        opened = _open(path)
        if opened is None:
            print("  opening in a browser: skipped (no Playwright or no chromium)")
            return rows
        for what, sec in opened.items():
            print(f"  opened in headless Chromium: {what:<36} {sec:6.2f} s")
            rows.append(dict(case=f"London 2022 map in Chromium: {what}", n=len(inc),
                             ours_s=sec))
    return rows


if __name__ == "__main__":
    run()
