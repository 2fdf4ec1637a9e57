"""/maps/grids in a real browser: vector tiles draw offline, legend and layers, popup figures."""

from __future__ import annotations

from sqlalchemy import text

from gridgeo.levels import load_hierarchy
from gridgeo.workload import STATUS_ZH, workload_report
from tests.e2e.conftest import ARTIFACTS, signed_in_page

MAP = """() => Object.values(window).find(v => v instanceof L.Map)"""
DRAWN = (
    "() => { let g = null; ("
    + MAP
    + ")().eachLayer(l => { if (l instanceof gridgeoMvt.MvtGrid) g = l; });"
    " return g ? gridgeo.drawnFeatures(g) : {}; }"
)
IDLE = (
    f"() => {{ let n = 0; ({MAP})().eachLayer(l => {{ if (l._loading) n++; }}); return n === 0; }}"
)


_page = signed_in_page


TILE_TIMES = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const t = performance.getEntriesByType('resource').filter(r => r.name.includes('/tiles/'));
    return {first: Math.min(...t.map(r => r.startTime)), scripts_done: nav.domContentLoadedEventStart};
}"""


def test_grids_page_is_one_response_and_asks_its_first_tiles_from_its_head(live_server, browser):
    """Issue 19: no script or style request, the first view's tiles asked before the scripts run.

    early.js predicts the view Leaflet's fitBounds chooses for the window; every tile it asked
    for must be one the map then draws (taken from ``gridgeoEarly``), and none asked twice.
    """
    errors: list[str] = []
    for size in ({"width": 1200, "height": 800}, {"width": 360, "height": 740}):
        ctx, page = _page(browser, live_server, errors)
        page.set_viewport_size(size)
        asked: list[str] = []
        page.on("request", lambda q, asked=asked: asked.append(q.url))
        page.goto(live_server + "/maps/grids")
        page.wait_for_function("window.gridgeoDrawn > 0", timeout=15000)
        page.wait_for_function(IDLE, timeout=10000)
        assert [u for u in asked if u.endswith((".js", ".css"))] == []
        tiles = [u for u in asked if "/tiles/" in u]
        assert tiles and len(tiles) == len(set(tiles)), tiles
        assert page.evaluate("() => Object.keys(window.gridgeoEarly)") == [], size  # all drawn
        times = page.evaluate(TILE_TIMES)
        assert times["first"] < times["scripts_done"], times
        assert page.evaluate(DRAWN)["grid"] > 0
        ctx.close()
    assert errors == []


def _known_grid(demo_engine):
    with demo_engine.connect() as conn:
        rows = workload_report(conn, load_hierarchy(conn), level="grid", default_standard=300)
        row = next(r for r in rows if r.status == "over" and r.workers > 0)
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids"
                " WHERE code = :c AND valid_to IS NULL) s"
            ),
            {"c": row.code},
        ).one()
    return row, lon, lat


def test_grids_page_draws_and_pops_up(live_server, browser, demo_engine):
    errors: list[str] = []
    ctx, page = _page(browser, live_server, errors)
    r = page.goto(live_server + "/maps/grids")
    # no geometry in the page: its scripts inlined, it travels gzipped in well under 100 kB
    assert r is not None and r.headers.get("content-encoding") == "gzip"
    assert r.request.sizes()["responseBodySize"] < 100_000
    page.wait_for_function("window.gridgeoDrawn > 0", timeout=15000)
    drawn = page.evaluate(DRAWN)
    found = page.evaluate(
        """() => ({
            overlays: [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
                .map(l => l.textContent.trim()),
            legend: document.querySelector('.gridgeo-legend').textContent,
            title: document.querySelector('.gridgeo-title h1').textContent,
            scale: !!document.querySelector('.leaflet-control-scale'),
            fullscreen: !!document.querySelector('.leaflet-control-zoom-fullscreen'),
            search: !!document.querySelector('.gridgeo-search input'),
            lang: document.documentElement.lang,
        })"""
    )
    assert drawn["grid"] > 50 and drawn["district"] > 0 and drawn["street"] > 0, drawn
    assert page.locator(".leaflet-overlay-pane canvas").count() > 0
    assert len(found["overlays"]) == 4 and found["overlays"][0].startswith("区")
    assert "超负荷" in found["legend"] and "达标" in found["legend"] and "Over" in found["legend"]
    assert found["title"] == "gridgeo 网格地图" and found["lang"] == "zh-CN"
    assert found["scale"] and found["fullscreen"] and found["search"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-grids.png"))

    row, lon, lat = _known_grid(demo_engine)
    page.evaluate(f"() => ({MAP})().setView([{lat}, {lon}], 16, {{animate: false}})")
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=10000)
    x, y = page.evaluate(
        f"() => {{ const p = ({MAP})().latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }}"
    )
    page.mouse.click(x, y)
    page.wait_for_selector(".gridgeo-popup", timeout=5000)
    popup = page.inner_text(".gridgeo-popup")
    assert row.code in popup and row.name in popup, popup
    cells = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.gridgeo-popup td')]"
        ".map(td => [td.dataset.field, td.textContent]))"
    )
    assert cells["网格员"] == str(row.workers) and cells["户数"] == str(row.households)
    assert cells["户/人"] == f"{row.load:.1f}" and cells["状态"] == STATUS_ZH[row.status]
    assert cells["偏差"] == f"+{100 * row.deviation:.1f} %"
    assert (
        page.get_attribute(".gridgeo-incidents-link", "href") == f"/maps/incidents?grid={row.code}"
    )
    assert page.get_attribute(".gridgeo-page-link", "href") == f"/maps/grids/{row.code}"
    page.wait_for_timeout(400)  # the popup fades in
    page.screenshot(path=str(ARTIFACTS / "maps-grids-popup.png"))
    assert errors == []
    ctx.close()


def test_grids_page_english_and_search(live_server, browser, demo_engine):
    errors: list[str] = []
    ctx, page = _page(browser, live_server, errors)
    page.goto(live_server + "/maps/grids?lang=en")
    page.wait_for_function("window.gridgeoDrawn > 0", timeout=15000)
    assert page.inner_text(".gridgeo-title h1") == "gridgeo Grid map"
    assert "Over" in page.inner_text(".gridgeo-legend")
    row, _, _ = _known_grid(demo_engine)
    page.fill(".gridgeo-search input", row.code)
    page.wait_for_selector(".gridgeo-search li", timeout=5000)
    assert row.code in page.inner_text(".gridgeo-search li")
    page.click(".gridgeo-search li")
    page.wait_for_function(f"() => ({MAP})().getZoom() >= 14", timeout=5000)
    page.screenshot(path=str(ARTIFACTS / "maps-grids-en.png"))
    assert errors == []
    ctx.close()
