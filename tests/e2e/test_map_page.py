"""/map in a real browser: Leaflet loads offline, the layers draw, a click opens a popup."""

from __future__ import annotations

from tests.e2e.conftest import ARTIFACTS, token


def test_grid_map_draws_offline(live_server, browser):
    bearer = token(live_server, "viewer", "viewer-demo-2026")
    ctx = browser.new_context(
        viewport={"width": 1200, "height": 800},
        extra_http_headers={"Authorization": f"Bearer {bearer}"},
    )
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(live_server + "/map")
    page.wait_for_function("typeof L !== 'undefined'")
    counts = page.evaluate(
        """() => {
            const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
            const m = window[key];
            let polys = 0;
            m.eachLayer(l => { if (l instanceof L.Polygon) polys += 1; });
            return {polys, overlays: document.querySelectorAll('.leaflet-control-layers-overlays label').length};
        }"""
    )
    # district 1 + streets 8 + communities 65 + grids 386
    assert counts["polys"] == 460
    assert counts["overlays"] == 4
    page.mouse.click(600, 400)
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    popup = page.inner_text(".leaflet-popup-content")
    assert "370705" in popup and "网格员" in popup
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"))
    assert errors == []
    ctx.close()
