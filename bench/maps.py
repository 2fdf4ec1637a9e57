"""Benchmark: the /maps/grids page against a Folium map that embeds every grid as GeoJSON.

Run::

    .venv/bin/python bench/maps.py [--grids 10000] [--households 1000000] [--data-dir DIR]

In one run, on the synthetic city (see bench/city.py): the HTML size of /maps/grids and of the
anchor (``maps.grid_map.build_grid_map`` with all leaf grids in one GeoJson layer, simplified
like /map); the time until the grid layer has drawn in headless Debian Chromium, for both,
``--runs`` times each, interleaved, reported as medians; and uncached z14 and z12 tiles at
random places, p50/p95: ``render_tile`` of the grid level and the all-levels tile the pages
load. The server runs with no base map (as the anchor), so that no run waits for the internet.
Figures go to ``bench/out/maps.json``.

"Drawn" is unchanged since the first version of this benchmark: ``gridgeoDrawn`` is set (the
tile layer fired ``load``: every tile of the first view painted) and grid features are drawn,
then two animation frames; for the anchor, the document is complete and its canvas exists, then
the same two frames. Each load is a new browser context (nothing cached in the browser).

Ours is measured three ways: **cold, nothing kept** (a freshly started service, ``map_tiles``
emptied: every tile of the first view is rendered by PostGIS); **cold** (a freshly started
service, empty in-process cache, the overview tiles made once for this data version by
``gridgeo.tiles.prerender``, as after a commit; its duration is reported); **warm** (the same
service's later loads). Every load records what the page waited on (``waterfall``: the HTML,
scripts and styles, when the first tile was asked and the last came in, the server's median
wait per tile, the main thread's long tasks), from Chromium's resource timing.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import (  # noqa: E402
    api_key,
    api_server,
    ensure_city,
    latency_summary,
    median,
    open_bench_database,
    write_json,
)
from gridgeo.grids import list_grids  # noqa: E402
from gridgeo.levels import load_hierarchy  # noqa: E402
from gridgeo.settings import get_settings  # noqa: E402
from gridgeo.tiles import TileCache, extent, prerender, render_tile  # noqa: E402
from maps.grid_map import build_grid_map  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def bench_tiles(engine, runs: int, zooms: tuple[int, ...] = (14, 12)) -> dict[str, object]:
    """Uncached tiles at random places in the city, per zoom: the grid level, and all levels."""
    standard = get_settings().workload.households_per_worker
    out: dict[str, object] = {}
    with engine.connect() as conn:
        hierarchy = load_hierarchy(conn)
        box = extent(conn)
        assert box is not None
        leaf = hierarchy.levels[-1].key
        for z in zooms:
            rng = random.Random(1)
            x0, y1 = tile_xy(box[0], box[1], z)
            x1, y0 = tile_xy(box[2], box[3], z)
            ns, sizes, all_ns = [], [], []
            for _ in range(runs):
                x, y = rng.randint(x0, x1), rng.randint(y0, y1)
                t = time.perf_counter_ns()
                data = render_tile(conn, hierarchy, layer=leaf, z=z, x=x, y=y, standard=standard)
                ns.append(time.perf_counter_ns() - t)
                sizes.append(len(data))
                t = time.perf_counter_ns()
                TileCache(standard, keep=False).get_levels(
                    conn, hierarchy, z=z, x=x, y=y, compress=True
                )
                all_ns.append(time.perf_counter_ns() - t)
            out[f"z{z}_uncached_ms"] = latency_summary(ns)
            out[f"z{z}_all_levels_gzip_uncached_ms"] = latency_summary(all_ns)
            out[f"z{z}_mean_tile_bytes"] = sum(sizes) // len(sizes)
    return out


OURS_READY = """() => {
    if (!(window.gridgeoDrawn > 0)) return false;
    const m = Object.values(window).find(v => v instanceof L.Map);
    let g = null; m.eachLayer(l => { if (l instanceof gridgeoMvt.MvtGrid) g = l; });
    return !!g && (gridgeo.drawnFeatures(g).grid || 0) > 0;
}"""
ANCHOR_READY = (
    "document.readyState === 'complete' && !!document.querySelector('.leaflet-overlay-pane canvas')"
)
TILE_STATS = """() => {
    const t = performance.getEntriesByType('resource').filter(r => r.name.includes('/tiles/'));
    return {requests: t.length, bytes: t.reduce((a, r) => a + r.transferSize, 0),
            last_tile_ms: Math.round(Math.max(0, ...t.map(r => r.responseEnd)))};
}"""


STUCK = """() => ({drawn: window.gridgeoDrawn, early: Object.keys(window.gridgeoEarly || {}),
    resources: performance.getEntriesByType('resource').map(
        r => [r.name.slice(-40), Math.round(r.startTime), Math.round(r.responseEnd)])})"""
# Long tasks (script parse/eval, decoding, painting: main-thread work over 50 ms), observed from
# before the page's first script.
LONGTASKS = """window.__longtasks = [];
try { new PerformanceObserver(l => window.__longtasks.push(...l.getEntries().map(
    e => [Math.round(e.startTime), Math.round(e.duration)]))).observe({type: 'longtask'}); }
catch (e) {}"""
# What the page waited on, from Chromium's resource timing (ms from navigation start): the HTML,
# the scripts and styles, the tiles (first asked, last in, the server's median wait) and the
# main thread's long tasks.
WATERFALL = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const tiles = res.filter(r => r.name.includes('/tiles/'));
    const assets = res.filter(r => !r.name.includes('/tiles/'));
    const end = a => a.length ? Math.round(Math.max(...a.map(r => r.responseEnd))) : null;
    const waits = tiles.map(r => r.responseStart - r.requestStart).sort((a, b) => a - b);
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return {
        html_ms: Math.round(nav.responseEnd), assets: assets.length, assets_end_ms: end(assets),
        dom_ready_ms: Math.round(nav.domContentLoadedEventEnd),
        first_paint_ms: fcp ? Math.round(fcp.startTime) : null,
        first_tile_asked_ms: tiles.length ? Math.round(Math.min(...tiles.map(r => r.startTime))) : null,
        tiles_end_ms: end(tiles),
        tile_wait_median_ms: waits.length ? Math.round(waits[waits.length >> 1]) : null,
        drawn_event_ms: window.gridgeoDrawn ? Math.round(window.gridgeoDrawn) : null,
        longtasks_ms: (window.__longtasks || []).reduce((a, t) => a + t[1], 0),
        longtasks: window.__longtasks || [],
    };
}"""


def draw_time(browser, url: str, headers: dict[str, str], ready: str) -> dict[str, Any]:
    """Milliseconds from navigation start until ``ready`` is true, with what the page waited on."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 800}, extra_http_headers=headers)
    ctx.add_init_script(LONGTASKS)
    page = ctx.new_page()
    page.goto(url, timeout=300_000)
    try:
        page.wait_for_function(ready, timeout=120_000)
    except Exception:  # say what the page was waiting on, then fail
        state = page.evaluate(STUCK)
        print(f"not drawn after 120 s: {url}: {state}", file=sys.stderr)
        raise
    # Leaflet paints a canvas in the animation frame after its layers change: wait for two
    # frames, so that both maps are measured to their first painted frame.
    ms = page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
        "() => r(performance.now()))))"
    )
    out = {"ms": float(ms), **page.evaluate(TILE_STATS), "waterfall": page.evaluate(WATERFALL)}
    ctx.close()
    return out


def waterfall_median(loads: list[dict[str, Any]]) -> dict[str, float | None]:
    """The median of each waterfall figure over ``loads`` (None where a load has none)."""
    keys = [k for k, v in loads[0]["waterfall"].items() if not isinstance(v, list)]
    out: dict[str, float | None] = {}
    for k in keys:
        vals = [r["waterfall"][k] for r in loads if r["waterfall"][k] is not None]
        out[k] = round(median(vals)) if vals else None
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write bench/out/maps.json."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grids", type=int, default=10_000)
    p.add_argument("--households", type=int, default=1_000_000)
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--tile-runs", type=int, default=200)
    p.add_argument("--runs", type=int, default=5, help="page loads of each map")
    p.add_argument("--tiles-only", action="store_true", help="skip the pages drawn in Chromium")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    os.environ["GRIDGEO_MAP_TILES"] = ""  # no base map, as the anchor: nothing from outside
    db = open_bench_database(args.data_dir)
    try:
        _, facts = ensure_city(db, grids=args.grids, households=args.households)
        with db.engine.begin() as conn:  # "uncached" means rendered: no tile kept from before
            conn.execute(text("DELETE FROM map_tiles"))
        out: dict[str, object] = {"city": facts, "tiles": bench_tiles(db.engine, args.tile_runs)}
        if args.tiles_only:
            print(write_json("maps", out).read_text())
            return 0
        with db.engine.connect() as conn:
            hierarchy = load_hierarchy(conn)
            leaf = hierarchy.levels[-1]
            fc = list_grids(conn, hierarchy, level=leaf.key, simplify_m=2.0, precision=6)
        baseline = build_grid_map([(leaf.label_en, fc)], tiles=None).get_root().render()
        key = api_key(db.engine)
        headers = {"X-API-Key": key}
        ours: list[dict[str, Any]] = []
        theirs: list[dict[str, Any]] = []
        with sync_playwright() as pw:
            # a fresh service with nothing kept: every tile of the first view is rendered
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM map_tiles"))
            with api_server(db.url) as base:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless"])
                unbuilt = draw_time(browser, base + "/maps/grids", headers, OURS_READY)
                browser.close()
        # the overview tiles made and kept once for this version of the data (after a commit)
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM map_tiles"))
            start = time.perf_counter()
            made = prerender(
                conn, hierarchy, TileCache(get_settings().workload.households_per_worker)
            )
            out["prerender"] = {"tiles": made, "s": round(time.perf_counter() - start, 2)}
        with api_server(db.url) as base, tempfile.TemporaryDirectory() as tmp:
            page_html = httpx.get(base + "/maps/grids", headers=headers, timeout=60).text
            # the anchor is a local file whose Leaflet comes from the same server
            anchor = Path(tmp) / "anchor.html"
            anchor.write_text(baseline.replace('"/static/', f'"{base}/static/'))
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless"])
                for _ in range(args.runs + 1):  # ours first: its first load meets a cold cache
                    ours.append(draw_time(browser, base + "/maps/grids", headers, OURS_READY))
                    theirs.append(draw_time(browser, anchor.as_uri(), {}, ANCHOR_READY))
                browser.close()
        cold, warm = ours[0], ours[1:]
        anchor_ms = median([r["ms"] for r in theirs])
        warm_ms = median([r["ms"] for r in warm])
        out["html_bytes"] = {
            "maps_grids": len(page_html.encode()),
            "anchor": len(baseline.encode()),
        }
        out["draw_ms"] = {
            "maps_grids_cold_nothing_kept": round(unbuilt["ms"]),
            "maps_grids_cold_cache": round(cold["ms"]),
            "maps_grids_median": round(warm_ms),
            "maps_grids_runs": [round(r["ms"]) for r in warm],
            "anchor_median": round(anchor_ms),
            "anchor_runs": [round(r["ms"]) for r in theirs],
        }
        out["maps_grids_tiles"] = {
            k: v for k, v in warm[-1].items() if k not in ("ms", "waterfall")
        }
        out["waterfall"] = {
            "maps_grids_cold_nothing_kept": unbuilt["waterfall"],
            "maps_grids_cold_cache": cold["waterfall"],
            "maps_grids_median": waterfall_median(warm),
            "anchor_median": waterfall_median(theirs),
        }
        out["ratios"] = {
            "html": round(len(page_html) / len(baseline), 5),
            "draw_median": round(warm_ms / anchor_ms, 3),
            "draw_cold": round(cold["ms"] / anchor_ms, 3),
            "draw_cold_nothing_kept": round(unbuilt["ms"] / anchor_ms, 3),
            # each warm load against the anchor load right after it: robust to a machine
            # whose load changes during the run
            "draw_pairs_median": round(
                median([o["ms"] / a["ms"] for o, a in zip(warm, theirs[1:], strict=True)]), 3
            ),
        }
        print(write_json("maps", out).read_text())
    finally:
        db.close(keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
