"""/report on a phone in real headless Chromium: report online, report offline, both acknowledged.

The live server's database is shared by the e2e tests and committed, so the incidents made here
carry a unique tag in their description and only those are counted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.e2e.conftest import ARTIFACTS, token

GRID = "370705001001001"  # the demo patrol account's area
PHONE = {"width": 360, "height": 740}


def _inside(demo_engine, code: str) -> tuple[float, float]:
    with demo_engine.connect() as c:
        x, y = c.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids "
                "WHERE code = :c AND valid_to IS NULL) s"
            ),
            {"c": code},
        ).one()
    return float(x), float(y)


def _recent() -> str:
    """A lower bound of the reported time of this test's incidents (the listing is by id)."""
    return (datetime.now(UTC) - timedelta(minutes=10)).isoformat()


def _phone(browser, url: str, lon: float, lat: float):
    """A phone-sized context with an emulated GPS fix, on /report; console errors collected."""
    ctx = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 12},
        permissions=["geolocation"],
        locale="zh-CN",
    )
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url + "/report")
    return ctx, page, errors


def _login(page) -> None:
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#username", "patrol")
    page.fill("#password", "patrol-demo-2026")
    page.click('#login-form button[type="submit"]')
    page.wait_for_selector("#app", state="visible")
    page.wait_for_function(f"document.getElementById('grid-code').textContent === '{GRID}'")
    page.wait_for_function("document.querySelectorAll('#category option').length >= 5")


def _report(page, description: str) -> None:
    page.select_option("#category", "sanitation")
    page.fill("#description", description)
    page.click("#submit")
    page.wait_for_selector(f'.outbox-item:has-text("{description}")')


def _state(page, description: str) -> str:
    return str(page.get_attribute(f'.outbox-item:has-text("{description}")', "data-state"))


def test_report_online_then_offline_each_acknowledged_once(live_server, browser, demo_engine):
    lon, lat = _inside(demo_engine, GRID)
    tag = uuid.uuid4().hex[:10]
    first, second = f"e2e-{tag} 路灯不亮", f"e2e-{tag} offline 垃圾堆放"
    ctx, page, errors = _phone(browser, live_server, lon, lat)

    # Chinese by default, a login form first
    assert page.get_attribute("html", "lang") == "zh-CN"
    _login(page)
    assert page.evaluate("localStorage.getItem('gridgeo.token')")

    # the position, its grid and the grid outline on the map
    # the accuracy circle and the grid outline (the circle alone drew before the outline came)
    page.wait_for_function("document.querySelectorAll('#map path').length >= 2")
    assert "±12" in page.inner_text("#fix")
    assert page.inner_text("#grid-name") not in ("", "—")
    assert "环境卫生" in page.inner_text("#category")

    # fits a 360 px screen, touch targets of at least 48 px
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for sel in ("#submit", "#lang", "#category", "#use-gps", "#refresh"):
        box = page.locator(sel).bounding_box()
        assert box is not None and box["height"] >= 48, sel

    # dragging the pin re-locates the point (a hand-corrected point has no GPS radius)
    pin = page.locator(".pin").bounding_box()
    assert pin is not None
    with page.expect_response(lambda r: "/locate?" in r.url):
        page.mouse.move(pin["x"] + 18, pin["y"] + 30)
        page.mouse.down()
        page.mouse.move(pin["x"] + 21, pin["y"] + 33, steps=4)
        page.mouse.up()
    page.wait_for_function("document.getElementById('fix').textContent.includes('手动')")
    page.click("#use-gps")
    page.wait_for_function("document.getElementById('fix').textContent.includes('±12')")
    page.wait_for_function(f"document.getElementById('grid-code').textContent === '{GRID}'")

    # online: acknowledged at once
    _report(page, first)
    page.wait_for_selector(f'.outbox-item[data-state="acknowledged"]:has-text("{first}")')

    # offline: queued on the phone
    ctx.set_offline(True)
    page.wait_for_function("navigator.onLine === false")
    _report(page, second)
    assert _state(page, second) == "queued"
    assert "待发送" in page.inner_text(f'.outbox-item:has-text("{second}")')
    assert page.get_attribute("#net", "data-state") == "offline"

    # back online: the queue drains by itself
    ctx.set_offline(False)
    page.wait_for_selector(
        f'.outbox-item[data-state="acknowledged"]:has-text("{second}")', timeout=20000
    )
    assert _state(page, first) == "acknowledged"
    ids = page.eval_on_selector_all(
        f'.outbox-item:has-text("e2e-{tag}") .id', "els => els.map(e => e.textContent)"
    )
    assert len(ids) == 2 and len(set(ids)) == 2

    # my grid lists both, nearest first, with their state
    page.click("#refresh")
    page.wait_for_selector(f'.mine-item:has-text("{second}")')
    assert "已上报" in page.inner_text(f'.mine-item:has-text("{first}")')

    # English on demand
    page.select_option("#lang", "en")
    assert page.get_attribute("html", "lang") == "en"
    assert "acknowledged" in page.inner_text(f'.outbox-item:has-text("{second}")')

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

    # exactly two incidents by this reporter, none duplicated by the retries
    bearer = token(live_server, "patrol", "patrol-demo-2026")
    r = httpx.get(
        live_server + "/incidents",
        params={"area": GRID, "limit": 1000, "since": _recent()},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    r.raise_for_status()
    mine = [i for i in r.json()["incidents"] if f"e2e-{tag}" in (i["description"] or "")]
    assert sorted(i["description"] for i in mine) == sorted([first, second])
    assert {i["reporter"] for i in mine} == {"patrol"}
    assert sorted(f"#{i['id']}" for i in mine) == sorted(ids)
    assert all(i["grid"] == GRID and i["accuracy_m"] == 12 for i in mine)
    assert errors == []
    ctx.close()


def test_a_lost_answer_is_retried_with_the_same_key(live_server, browser, demo_engine):
    """The server stores the report but the phone never hears back: the retry replays it."""
    lon, lat = _inside(demo_engine, GRID)
    description = f"e2e-{uuid.uuid4().hex[:10]} lost answer"
    ctx, page, errors = _phone(browser, live_server, lon, lat)
    _login(page)
    keys: list[str | None] = []
    answers: list[tuple[int, str | None]] = []

    def lose_the_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            stored = route.fetch()  # reaches the server and is stored …
            answers.append((stored.status, stored.headers.get("idempotent-replayed")))
            route.abort("internetdisconnected")  # … but the answer is lost
        else:
            route.continue_()

    page.route("**/incidents", lose_the_first_answer)
    page.on(
        "response",
        lambda r: (
            answers.append((r.status, r.headers.get("idempotent-replayed")))
            if r.request.method == "POST" and r.url.endswith("/incidents")
            else None
        ),
    )
    _report(page, description)
    page.wait_for_function("document.querySelector('.outbox-item').dataset.state === 'queued'")
    page.evaluate("window.dispatchEvent(new Event('online'))")  # or wait for the retry timer
    page.wait_for_selector(f'.outbox-item[data-state="acknowledged"]:has-text("{description}")')
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert answers == [(201, None), (200, "true")]

    bearer = token(live_server, "patrol", "patrol-demo-2026")
    r = httpx.get(
        live_server + "/incidents",
        params={"area": GRID, "limit": 1000, "since": _recent()},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    r.raise_for_status()
    assert [i["description"] for i in r.json()["incidents"]].count(description) == 1
    # the aborted request is the only error: Chromium logs the lost answer
    assert all("ERR_INTERNET_DISCONNECTED" in e for e in errors), errors
    ctx.close()


def test_my_grid_lists_an_escalated_incident_with_its_queue(live_server, browser, demo_engine):
    """Issue 16: an incident of the worker's grid escalated to the community stays on the list."""
    from gridgeo.accounts import get_account
    from gridgeo.incidents.report import Report, report

    lon, lat = _inside(demo_engine, GRID)
    tag = f"e2e-{uuid.uuid4().hex[:10]} escalated"
    community = GRID[:12]
    with demo_engine.begin() as conn:
        admin = get_account(conn, "admin")
        r = Report(lon=lon, lat=lat, category="sanitation", description=tag)
        incident = report(conn, r, account=admin, now=datetime.now(UTC), snap_m=200.0)[0]
        conn.execute(
            text("UPDATE incidents SET escalation_level = 1, queue_area = :q WHERE id = :i"),
            {"q": community, "i": incident},
        )
        name = conn.execute(
            text("SELECT name FROM grids WHERE code = :c AND valid_to IS NULL"), {"c": community}
        ).scalar_one()
    try:
        ctx, page, errors = _phone(browser, live_server, lon, lat)
        _login(page)
        page.click("#refresh")
        item = f'.mine-item:has-text("{tag}")'
        page.wait_for_selector(item, timeout=10000)
        # the sign-in's own load of the list may land after the refresh's and draw it again
        page.wait_for_load_state("networkidle")
        shown = page.inner_text(item)
        assert community in shown and name in shown and "所在队列" in shown
        assert page.locator(f"{item} .act").count() == 1  # the worker may still act on it
        page.locator(item).scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "report-mine-escalated-zh.png"))
        page.select_option("#lang", "en")
        page.wait_for_selector(f'{item} .queue:has-text("queue {name}")')
        page.screenshot(path=str(ARTIFACTS / "report-mine-escalated-en.png"))
        assert errors == []
        ctx.close()
    finally:
        with demo_engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE id = :i"), {"i": incident})


def test_a_refusal_is_said_in_the_pages_language_with_its_code(live_server, browser):
    """Issue 16: the server's refusal (a point far outside every grid) in Chinese, then English."""
    tag = f"e2e-{uuid.uuid4().hex[:10]} far away"
    ctx, page, errors = _phone(browser, live_server, 116.397, 39.909)  # Beijing, not Weifang
    try:
        page.wait_for_selector("#login-form", state="visible")
        page.fill("#username", "patrol")
        page.fill("#password", "patrol-demo-2026")
        page.click('#login-form button[type="submit"]')
        page.wait_for_selector("#app", state="visible")
        page.wait_for_function("document.querySelectorAll('#category option').length >= 5")
        page.wait_for_function(
            "document.getElementById('grid-name').textContent === '不在任何网格内'", timeout=20000
        )
        page.select_option("#category", "sanitation")
        page.fill("#description", tag)
        page.click("#submit")  # said before sending; a second tap sends it anyway
        page.wait_for_selector("#form-error:has-text('不在任何网格内')")
        with page.expect_response(lambda r: r.url.endswith("/incidents")) as answer:
            page.click("#submit")
        body = answer.value.json()
        assert answer.value.status == 400 and body["code"] == "outside_grids"
        assert body["messages"]["en"] == body["message"] and "网格" in body["messages"]["zh"]
        item = f'.outbox-item[data-state="rejected"]:has-text("{tag}")'
        page.wait_for_selector(item)
        shown = page.inner_text(f"{item} .error")
        assert "该位置不在任何网格内" in shown and "outside" not in shown
        page.screenshot(path=str(ARTIFACTS / "report-refused-zh.png"), full_page=True)
        page.select_option("#lang", "en")
        page.wait_for_selector(f'{item} .error:has-text("outside every grid")')
        page.screenshot(path=str(ARTIFACTS / "report-refused-en.png"), full_page=True)
        # the refusal and the locate answer of a point in no grid were asked for
        errors[:] = [e for e in errors if "400" not in e and "404" not in e]
        assert errors == []
    finally:
        ctx.close()


def test_english_title_whole_and_outbox_names_categories_after_a_reload(
    live_server, browser, demo_engine
):
    """Issue 16: the English title is not cut on a 360 px phone; after a reload with no kept
    categories the outbox names a report's category, not its key (broken_facility)."""
    lon, lat = _inside(demo_engine, GRID)
    ctx, page, errors = _phone(browser, live_server, lon, lat)
    try:
        _login(page)
        page.evaluate(
            """() => {
                localStorage.removeItem('gridgeo.report.categories');
                localStorage.setItem('gridgeo.report.outbox', JSON.stringify([{key: 'k-e2e',
                    kind: 'report', user: 'patrol', state: 'rejected', created: Date.now(),
                    attempts: 1, error: 'x', body: {category: 'broken_facility',
                    description: 'e2e outbox label'}}]));
            }"""
        )
        page.goto(live_server + "/report?lang=en")
        page.wait_for_selector("#app", state="visible")
        item = '.outbox-item:has-text("e2e outbox label")'
        page.wait_for_selector(item)
        with demo_engine.connect() as c:
            label = c.execute(
                text("SELECT label_en FROM incident_categories WHERE key = 'broken_facility'")
            ).scalar_one()
        page.wait_for_selector(f'{item}:has-text("{label}")')
        assert "broken_facility" not in page.inner_text(item)
        title = page.locator(".shell-bar h1")
        assert title.inner_text() == "Grid incident report"
        assert page.evaluate(
            "() => { const h = document.querySelector('.shell-bar h1');"
            " return h.scrollWidth <= h.clientWidth; }"
        )
        page.screenshot(path=str(ARTIFACTS / "report-en-phone.png"))
        page.evaluate("() => localStorage.removeItem('gridgeo.report.outbox')")
        assert errors == []
    finally:
        ctx.close()


def test_a_description_over_the_limit_is_said_before_sending(live_server, browser, demo_engine):
    """Issue 16: 4,001 characters are not cut silently; the page says so and sends nothing."""
    from gridgeo.incidents.policy import MAX_DESCRIPTION

    source = (Path(__file__).parents[2] / "api/report_static/report.js").read_text("utf-8")
    assert f"var MAX_DESCRIPTION = {MAX_DESCRIPTION};" in source  # the policy's limit
    lon, lat = _inside(demo_engine, GRID)
    ctx, page, errors = _phone(browser, live_server, lon, lat)
    try:
        _login(page)
        text_in = "长" * (MAX_DESCRIPTION + 1)
        page.fill("#description", text_in)
        assert len(page.input_value("#description")) == MAX_DESCRIPTION + 1  # not cut
        page.click("#submit")
        page.wait_for_selector("#form-error:has-text('4,001')")
        assert "最多 4,000" in page.inner_text("#form-error")
        assert page.locator(".outbox-item").count() == 0  # nothing queued
        page.screenshot(path=str(ARTIFACTS / "report-too-long-zh.png"))
        page.select_option("#lang", "en")
        page.wait_for_selector("#form-error:has-text('at most 4,000')")
        assert errors == []
    finally:
        ctx.close()


def test_an_expired_login_says_why_keeps_the_name_and_counts_what_waits(
    live_server, browser, demo_engine
):
    """Issue 16: when the token has expired, the login form says so, keeps the account's name
    and says how many reports wait; logging in again sends them."""
    lon, lat = _inside(demo_engine, GRID)
    ctx, page, errors = _phone(browser, live_server, lon, lat)
    try:
        _login(page)
        ctx.set_offline(True)
        description = f"expired-{uuid.uuid4().hex[:8]} 路灯不亮"
        _report(page, description)
        assert _state(page, description) == "queued"
        # the session ends while the phone is offline (the server no longer takes the token)
        page.evaluate("localStorage.setItem('gridgeo.token', 'expired-token')")
        ctx.set_offline(False)  # the 'online' event sends the queue: the server answers 401
        page.wait_for_selector("#login-form", state="visible")
        page.wait_for_function(
            "document.getElementById('login-error').textContent.indexOf('登录已过期') >= 0"
        )
        said = page.text_content("#login-error")
        assert "1 条上报等待发送" in said, said
        assert page.input_value("#username") == "patrol"  # kept
        page.screenshot(path=str(ARTIFACTS / "report-expired-zh.png"))
        page.fill("#password", "patrol-demo-2026")
        page.click('#login-form button[type="submit"]')
        page.wait_for_selector("#app", state="visible")
        page.wait_for_function(
            f"""document.querySelector('.outbox-item[data-state="acknowledged"]') &&
            document.querySelector('.outbox-item').textContent.indexOf('{description}') >= 0"""
        )
        assert [e for e in errors if "401" not in e] == []  # only the refused token
    finally:
        ctx.close()


def test_a_place_outside_every_grid_is_flagged_before_sending(live_server, browser, demo_engine):
    """Issue 16: the page says a place outside every grid may be refused before it queues the
    report; a second tap at the same place sends it anyway."""
    lon, lat = _inside(demo_engine, GRID)
    ctx, page, errors = _phone(browser, live_server, lon, lat)
    try:
        _login(page)
        ctx.set_geolocation({"longitude": 119.6, "latitude": 36.2, "accuracy": 10})
        page.wait_for_function(
            "document.getElementById('grid-name').textContent === '不在任何网格内'", timeout=20000
        )
        page.select_option("#category", "sanitation")
        page.fill("#description", "outside-" + uuid.uuid4().hex[:8])
        page.click("#submit")
        page.wait_for_selector("#form-error:has-text('不在任何网格内')")
        assert "最近网格" in page.inner_text("#form-error")
        assert page.locator(".outbox-item").count() == 0  # nothing queued yet
        page.select_option("#lang", "en")
        page.wait_for_selector("#form-error:has-text('outside every grid')")
        page.click("#submit")  # the same place again: sent anyway (and refused by the server)
        page.wait_for_selector(".outbox-item")
    finally:
        ctx.close()
