"""One area's page, the workload choropleth, "locate me" and the GCJ-02 base map, in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from gridgeo.coords import wgs84_to_gcj02
from gridgeo.levels import load_hierarchy
from gridgeo.workload import STATUS_ZH, workload_report
from tests.e2e.conftest import ARTIFACTS, serve_app, signed_in_page, token

MAP = """() => Object.values(window).find(v => v instanceof L.Map)"""
IDLE = (
    f"() => {{ let n = 0; ({MAP})().eachLayer(l => {{ if (l._loading) n++; }}); return n === 0; }}"
)
BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4a00000000049454e44ae426082"
)


def _page(browser, url, errors, *args, **kw):
    """A signed-in page; offsite requests are checked by the tests that expect none."""
    return signed_in_page(browser, url, errors, *args, offsite=False, **kw)


def _centre(conn, code):
    return conn.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids"
            " WHERE code = :c AND valid_to IS NULL) s"
        ),
        {"c": code},
    ).one()


def _click(page, lat, lon):
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=10000)
    x, y = page.evaluate(
        f"() => {{ const p = ({MAP})().latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }}"
    )
    page.mouse.click(x, y)


def test_area_page_of_a_community_and_a_grid(live_server, browser, demo_engine):
    with demo_engine.connect() as conn:
        h = load_hierarchy(conn)
        community = workload_report(conn, h, level="community", default_standard=300)[0]
        kids = workload_report(conn, h, parent=community.code, default_standard=300)
        grid = kids[0]
        households = conn.execute(
            text(
                "SELECT sum(h.household_count) FROM households h JOIN household_grid a"
                " ON a.household_id = h.id JOIN grids g ON g.id = a.grid_id WHERE g.code = :c"
            ),
            {"c": grid.code},
        ).scalar()
    errors: list[str] = []
    # a viewer (a leader): children by load and figures, no household points
    ctx, page = _page(browser, live_server, errors)
    page.goto(live_server + f"/maps/grids/{community.code}")
    page.wait_for_selector(".gridgeo-area-panel", timeout=10000)
    panel = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.gridgeo-area-panel td')]"
        ".map(td => [td.dataset.field, td.textContent]))"
    )
    # issue 16: thousands separated (31,799, not 31799), never -0.0 %
    assert (
        panel["户数"] == f"{community.households:,}" and panel["网格员"] == f"{community.workers:,}"
    )
    assert not panel["偏差"].startswith("-0.0")
    assert panel["状态"] == STATUS_ZH[community.status]
    overlays = page.evaluate(
        "() => [...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".map(l => l.textContent.trim())"
    )
    assert overlays[0] == "网格 Grid" and not any("楼栋" in o for o in overlays)
    children = page.evaluate(
        f"""() => {{ const n = []; ({MAP})().eachLayer(l => {{ if (l.feature && l.feature.properties
            && l.feature.properties.parent_code === {community.code!r}) n.push(l.feature.properties.code); }});
            return n; }}"""
    )
    assert sorted(children) == sorted(k.code for k in kids)
    assert page.evaluate(f"() => ({MAP})().getZoom()") >= 14
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-area-community.png"))
    ctx.close()
    # a planner of another street may not see it at all
    ctx, page = _page(browser, live_server, errors, "planner", "planner-demo-2026")
    r = page.goto(live_server + f"/maps/grids/{community.code}")
    with demo_engine.connect() as conn:
        street = conn.execute(
            text(
                "SELECT area_code FROM user_areas a JOIN users u ON u.id = a.user_id"
                " WHERE u.name = 'planner'"
            )  # fmt: skip
        ).scalar()
    assert r is not None and r.status == (200 if community.code.startswith(street) else 403)
    errors.clear()
    # an admin on a grid: households per building (aggregated), workers named, link to incidents
    ctx.close()
    ctx, page = _page(browser, live_server, errors, "admin", "admin-demo-2026")
    page.goto(live_server + f"/maps/grids/{grid.code}")
    page.wait_for_selector(".gridgeo-area-panel", timeout=10000)
    assert page.get_by_label(re.compile("楼栋户数")).count() == 1
    spots = page.evaluate(
        f"""() => {{ let n = 0; ({MAP})().eachLayer(l => {{
            if (l.feature && l.feature.properties && l.feature.properties.households !== undefined
                && l.feature.geometry.type === 'Point') n += l.feature.properties.households; }});
            return n; }}"""
    )
    assert spots == households  # every household counted once, none shown one by one
    assert page.get_attribute(".gridgeo-area-panel .gridgeo-incidents-link", "href") == (
        f"/maps/incidents?grid={grid.code}"
    )
    assert page.get_attribute(".gridgeo-up-link", "href") == f"/maps/grids/{community.code}"
    page.screenshot(path=str(ARTIFACTS / "maps-area-grid.png"))
    assert errors == []
    ctx.close()


def test_area_page_errors(live_server):
    bearer = token(live_server, "viewer", "viewer-demo-2026")
    h = {"Authorization": f"Bearer {bearer}"}
    r = httpx.get(live_server + "/maps/grids/370705999999", headers=h)
    assert r.status_code in (403, 404) and r.json()["message"]
    r = httpx.get(live_server + "/maps/grids/1", headers=h)
    assert r.status_code == 403  # outside the viewer's district: not said whether it exists


def test_workload_choropleth_of_streets(live_server, browser, demo_engine):
    with demo_engine.connect() as conn:
        street = workload_report(conn, load_hierarchy(conn), level="street", default_standard=300)[
            0
        ]
        lon, lat = _centre(conn, street.code)
    errors: list[str] = []
    ctx, page = _page(browser, live_server, errors)
    page.goto(live_server + "/maps/workload?level=street")
    page.wait_for_function("window.gridgeoDrawn > 0", timeout=15000)
    assert page.inner_text(".gridgeo-title h1") == "gridgeo 工作量地图 · 街道"
    assert page.get_attribute(".gridgeo-levels b", "data-level") == "street"
    page.evaluate(f"() => ({MAP})().setView([{lat}, {lon}], 14, {{animate: false}})")
    _click(page, lat, lon)
    page.wait_for_selector(".gridgeo-popup", timeout=5000)
    cells = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.gridgeo-popup td')]"
        ".map(td => [td.dataset.field, td.textContent]))"
    )
    assert street.code in page.inner_text(".gridgeo-popup")
    # issue 16: "户数 31799" is 31,799 now; no -0.0 %
    assert cells["户数"] == f"{street.households:,}" and cells["网格员"] == f"{street.workers:,}"
    assert not cells["偏差"].startswith("-0.0")
    assert cells["状态"] == STATUS_ZH[street.status]
    page.screenshot(path=str(ARTIFACTS / "maps-workload-street.png"))
    assert errors == []
    r = httpx.get(
        live_server + "/maps/workload?level=nope",
        headers={"Authorization": f"Bearer {token(live_server, 'viewer', 'viewer-demo-2026')}"},
    )
    assert r.status_code == 400 and "nope" in r.json()["message"]
    ctx.close()


def test_locate_me_with_emulated_geolocation(live_server, browser, demo_engine):
    with demo_engine.connect() as conn:
        grid = workload_report(conn, load_hierarchy(conn), level="grid", default_standard=300)[5]
        lon, lat = _centre(conn, grid.code)
    errors: list[str] = []
    ctx, page = _page(
        browser,
        live_server,
        errors,
        geolocation={"latitude": lat, "longitude": lon, "accuracy": 35},
        permissions=["geolocation"],
    )
    page.goto(live_server + "/maps/grids")
    page.wait_for_function("window.gridgeoDrawn > 0", timeout=15000)
    page.click(".gridgeo-locate a")
    page.wait_for_function("() => !!window.gridgeoLocated", timeout=10000)
    got = page.evaluate("() => window.gridgeoLocated")
    assert got == {"lat": pytest.approx(lat), "lng": pytest.approx(lon), "accuracy": 35}
    radius = page.evaluate(
        f"""() => {{ let r = null; ({MAP})().eachLayer(l => {{
            if (l instanceof L.Circle) r = l.getRadius(); }}); return r; }}"""
    )
    assert radius == 35
    assert page.inner_text(".gridgeo-locate-note") == "±35 m"
    centre = page.evaluate(f"() => ({MAP})().getCenter()")
    assert abs(centre["lat"] - lat) < 1e-3 and abs(centre["lng"] - lon) < 1e-3
    assert page.evaluate(f"() => ({MAP})().getZoom()") >= 16
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "maps-locate.png"))
    assert errors == []
    ctx.close()


@pytest.fixture(scope="module")
def amap_server(demo_engine) -> Iterator[str]:
    """A second live server whose base maps are AMap (GCJ-02) then none."""
    with serve_app(demo_engine, map_tiles="amap,none") as url:
        yield url


def test_amap_base_is_shifted_by_the_gcj02_offset(amap_server, browser, demo_engine):
    """AMap tiles (answered here with a blank image: no request leaves the machine) are moved
    by the GCJ-02 offset at the view's centre, so that our WGS84 grids line up on them."""
    errors: list[str] = []
    ctx, page = _page(browser, amap_server, errors)
    asked: list[str] = []

    def fake_tile(route):
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=BLANK_PNG)

    page.route(re.compile(r"^https://webrd0[1-4]\.is\.autonavi\.com/.*"), fake_tile)
    page.goto(amap_server + "/maps/grids")
    page.wait_for_function("window.gridgeoDrawn > 0", timeout=15000)
    with demo_engine.connect() as conn:
        lon, lat = _centre(
            conn,
            workload_report(conn, load_hierarchy(conn), level="grid", default_standard=300)[0].code,
        )
    page.evaluate(f"() => ({MAP})().setView([{lat}, {lon}], 16, {{animate: false}})")
    page.wait_for_function(IDLE, timeout=10000)
    assert asked and all("style=8" in u for u in asked)
    shift = page.evaluate(
        "() => getComputedStyle(document.querySelector('.gridgeo-base-amap')).transform"
    )
    dx, dy = (float(v) for v in shift.replace("matrix(", "").rstrip(")").split(",")[4:6])
    # expected: the pixel distance from gcj(centre) back to the centre at zoom 16
    glon, glat = wgs84_to_gcj02(lon, lat)
    expected = page.evaluate(
        f"""() => {{ const m = ({MAP})(), c = m.getCenter(), z = m.getZoom();
            const a = m.project(c, z), b = m.project(L.latLng(c.lat + {glat - lat},
                c.lng + {glon - lon}), z); return [a.x - b.x, a.y - b.y]; }}"""
    )
    assert abs(dx - expected[0]) <= 1.5 and abs(dy - expected[1]) <= 1.5
    assert 100 < (dx**2 + dy**2) ** 0.5 < 2000  # 300–700 m at zoom 16 is ~130–300 px
    # the JavaScript transform is the Python one
    js = page.evaluate(f"() => gridgeo.wgs2gcj({lon}, {lat})")
    assert js == pytest.approx([glon, glat], abs=1e-9)
    # the base maps are listed, and "none" switches the tiles off
    bases = page.evaluate(
        "() => [...document.querySelectorAll('.leaflet-control-layers-base label')]"
        ".map(l => l.textContent.trim())"
    )
    assert bases == ["高德地图 AMap", "无底图 No base map"]
    page.get_by_label("无底图 No base map").check()
    assert page.locator(".gridgeo-base-amap").count() == 0
    assert errors == []
    ctx.close()
