"""/dashboard in headless Chromium: a leader's month, drill-down by map and table, downloads.

On the demo city with a (smaller) year of history. The leader (the demo viewer) logs in at
/login, sees the district's figures (the same as the API's), a year's trend, categories and
states, the streets ranked and mapped, finds the worst and drills into it by a click on the map,
then into a community from the table; downloads the month's workbook. Nothing the page is sent
names a person or tells an incident's text; nothing is fetched from another host; at 360 px
the page does not scroll sideways. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import Engine, text

from cli.demo import add_demo_accounts
from gridgeo.demo.city import load_demo
from gridgeo.demo.history import DESCRIPTIONS
from gridgeo.demo.history_load import load_history
from tests.conftest import _database
from tests.e2e.conftest import ARTIFACTS, serve_app

MAP = """() => Object.values(window).find(v => v instanceof L.Map)"""


@pytest.fixture(scope="module")
def history_engine(pg_server: str) -> Iterator[Engine]:
    eng = _database(pg_server, "gridgeo_dashboard")
    with eng.begin() as conn:
        load_demo(conn)
        add_demo_accounts(conn)
        load_history(conn, datetime.now(UTC), per_day=12)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def server(history_engine: Engine) -> Iterator[str]:
    with serve_app(history_engine) as url:
        yield url


def _last_month() -> str:
    first = datetime.now(UTC).astimezone().replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def _leader(browser, url: str, width: int = 1280):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    seen: dict[str, list] = {"errors": [], "bodies": [], "urls": []}
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)

    def answer(r):
        if r.status >= 400:
            seen["errors"].append(f"{r.status} {r.url}")
        elif "/evaluation" in r.url or "/maps/search" in r.url:
            try:
                seen["bodies"].append(r.text())
            except PlaywrightError:  # a body the browser dropped (a map page left for another)
                seen["bodies"].append(httpx.get(r.url, headers=r.request.headers).text)

    page.on("response", answer)
    page.on("request", lambda r: seen["urls"].append(r.url))
    page.on("request", lambda r: None if r.url.startswith(url) or r.url.startswith(("data:", "blob:"))
            else seen["errors"].append("offsite " + r.url))  # fmt: skip
    page.goto(url + "/dashboard")
    page.wait_for_selector("#login-form")  # not signed in yet: the shared shell's login form
    assert page.is_hidden("#app")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "viewer-demo-2026")
    started = time.perf_counter()
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app", state="visible")
    return ctx, page, seen, started


def _drawn(page, rows: int | None = None) -> None:
    page.wait_for_function("() => window.gridgeoDashboard && window.gridgeoDashboard.trend"
                           " && window.gridgeoDashboard.departments")  # fmt: skip
    page.wait_for_selector("#ranking tbody tr")
    frame = page.frame_locator("#map")
    frame.locator(".leaflet-container").wait_for()
    page.wait_for_function(
        "() => { const f = document.getElementById('map').contentWindow;"
        " return f && f.gridgeoEvaluation && f.gridgeoDrawn; }"
    )


def test_a_leader_reads_the_month_and_drills_down(browser, server, history_engine):
    url = server
    ctx, page, seen, started = _leader(browser, url)
    try:
        _drawn(page)
        print(f"\n/dashboard drawn in {time.perf_counter() - started:.2f} s (history of a year)")
        # the map takes the page's table of the streets (one statement, not two) and asks the
        # tiles for the levels it draws only (no grids: issue 17, a server's first dashboard)
        asked = [u for u in seen["urls"] if "/evaluation?" in u and "level=street" in u]
        assert len(asked) == 1, asked
        tiles = [u for u in seen["urls"] if "/tiles/" in u]
        assert tiles and all(u.endswith(".pbf?levels=district,street") for u in tiles), tiles
        month = _last_month()
        assert page.input_value("#period") == month
        # the headline is the API's district total for the month
        bearer = httpx.post(url + "/auth/token", data={"username": "viewer",
                            "password": "viewer-demo-2026"}).json()["access_token"]  # fmt: skip
        api = httpx.get(url + "/evaluation", params={"period": month},
                        headers={"Authorization": f"Bearer {bearer}"}).json()  # fmt: skip
        total = api["total"]
        assert page.text_content('#headline [data-figure="reported"] .v') == str(total["reported"])
        score = page.text_content('#headline [data-figure="score"] .v')
        assert score.startswith(f"{total['score']:.1f}") and score.endswith(total["grade"])
        assert f"{100 * total['closure_rate']:.1f}%" in page.text_content(
            '#headline [data-figure="closure_rate"]')  # fmt: skip
        data = page.evaluate("() => window.gridgeoDashboard")
        assert len(data["trend"]) == 12 and data["trend"][-1]["period"]["label"] == month
        assert sum(data["states"].values()) == total["reported"]
        # the streets, ranked; the worst found; the departments, the slowest found
        streets = page.locator("#ranking tbody tr")
        assert streets.count() == 8
        worst = api["rows"][-1]
        assert streets.nth(7).get_attribute("data-key") == worst["key"]
        deps = {r["name"]: r["resolve_hours_median"] for r in data["departments"]["rows"]}
        assert max(deps, key=lambda k: deps[k] or 0) == "住房和城乡建设局"
        assert page.is_hidden("#workers-row")  # a viewer sees no names
        page.screenshot(path=str(ARTIFACTS / "dashboard-district.png"), full_page=True)

        # a click on the worst street on the map drills into it
        with history_engine.connect() as conn:
            lon, lat = conn.execute(text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM current_grids"
                " WHERE code = :c) s"), {"c": worst["key"]}).one()  # fmt: skip
        frame = page.locator("#map").element_handle().content_frame()
        x, y = frame.evaluate(f"() => {{ const p = ({MAP})().latLngToContainerPoint([{lat}, {lon}]);"
                              " return [p.x, p.y]; }")  # fmt: skip
        page.locator("#map").scroll_into_view_if_needed()
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function(f"() => location.search.includes('area={worst['key']}')")
        _drawn(page)
        assert page.text_content("#crumbs b") == worst["name"]
        communities = page.locator("#ranking tbody tr")
        first = communities.first.get_attribute("data-key")
        assert first.startswith(worst["key"]) and len(first) == 12
        # and a row of the table into a community (its grids)
        communities.first.click()
        page.wait_for_function(f"() => location.search.includes('area={first}')")
        page.wait_for_function(f"() => document.querySelector('#ranking tbody tr')"
                               f" && document.querySelector('#ranking tbody tr').dataset.key"
                               f".startsWith('{first}')")  # fmt: skip
        _drawn(page)
        page.screenshot(path=str(ARTIFACTS / "dashboard-community.png"), full_page=True)
        # the month's workbook
        href = page.get_attribute("#workbook", "href")
        wb = httpx.get(url + href, headers={"Authorization": f"Bearer {bearer}"})
        assert wb.status_code == 200
        sheets = load_workbook(io.BytesIO(wb.content)).sheetnames
        assert sheets[0] == "社区 Community" and "网格员 workers" not in sheets
        # English
        page.select_option("#lang", "en")
        page.wait_for_function(
            "() => document.querySelector('#shell-title').textContent.startsWith('Evaluation')"
        )
        page.wait_for_function("() => document.querySelector('#headline [data-figure=closure_rate]"
                               " .k').textContent === 'Closure rate'")  # fmt: skip
    finally:
        ctx.close()
    assert seen["errors"] == []
    # aggregates only: no worker's name, no incident's text in anything the page was sent
    with history_engine.connect() as conn:
        names = list(conn.execute(text("SELECT name FROM workers LIMIT 200")).scalars())
    sent = "\n".join(seen["bodies"])
    assert not [n for n in names if n in sent]
    assert not [d for texts in DESCRIPTIONS.values() for d in texts if d in sent]


def test_on_a_phone(browser, server):
    ctx, page, seen, _ = _leader(browser, server, width=360)
    try:
        _drawn(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 362
        assert page.locator("#chart-trend canvas").count() == 1
        page.screenshot(path=str(ARTIFACTS / "dashboard-360.png"), full_page=True)
    finally:
        ctx.close()
    assert seen["errors"] == []


def test_a_dispatcher_sees_the_workers(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(server + "/login?next=/dashboard")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "dispatcher-demo-2026")
    page.click("button[type=submit]")
    try:
        page.wait_for_selector("#workers tbody tr")
        assert page.is_visible("#workers-row")
        # the dispatcher's street is the root: its communities are ranked
        assert len(page.locator("#ranking tbody tr").first.get_attribute("data-key")) == 12
    finally:
        ctx.close()


def test_the_trend_shows_the_rates_by_month_or_by_week(browser, server):
    """The trend draws the rates (closure, on time, satisfaction, rework, extension, in the
    grid) and the score, not only counts; by week, the twelve weeks to the month's end, the
    API's figures."""
    ctx, page, seen, _ = _leader(browser, server)
    try:
        _drawn(page)
        series = """() => echarts.getInstanceByDom(document.getElementById('chart-trend'))
            .getOption().series.map(s => s.name)"""
        names = page.evaluate(series)
        for name in (
            "结案率",
            "按期结案率",
            "满意率",
            "返工率",
            "延期率",
            "小事不出网格率",
            "综合得分",
        ):
            assert name in names, names
        page.select_option("#bucket", "week")
        page.wait_for_function("() => window.gridgeoDashboard.weeks")
        weeks = page.evaluate("() => window.gridgeoDashboard.weeks")
        month = _last_month()
        assert len(weeks) == 12 and all("-W" in w["period"]["label"] for w in weeks)
        assert weeks[-1]["period"]["to"].startswith(month) and "bucket=week" in page.url
        x = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('chart-trend'))
            .getOption().xAxis[0].data""")  # fmt: skip
        assert x == [w["period"]["label"] for w in weeks]
        bearer = httpx.post(server + "/auth/token", data={"username": "viewer",
                            "password": "viewer-demo-2026"}).json()["access_token"]  # fmt: skip
        api = httpx.get(server + "/evaluation/trend", headers={"Authorization": f"Bearer {bearer}"},
                        params={"bucket": "week", "from": weeks[0]["period"]["from"],
                                "to": weeks[-1]["period"]["to"]}).json()  # fmt: skip
        assert api["points"] == weeks
        # the cards still compare the month with the month before
        assert page.text_content('#headline [data-figure="closure_rate"] .d').endswith("较上月")
    finally:
        ctx.close()
    assert seen["errors"] == []
