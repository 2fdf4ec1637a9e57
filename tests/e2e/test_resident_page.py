"""/resident on a 360×740 phone in real headless Chromium: a resident's whole journey (issue 21).

Raise a matter with a photo and no account, follow it by its private link, see the dispatcher
accept it and close it (the dispatcher's and the worker's steps through the API), rate it.
The live server's database is shared by the e2e tests and committed: this test's matter carries
a unique tag in its description.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import httpx
from PIL import Image
from sqlalchemy import text

from tests.e2e.conftest import ARTIFACTS, serve_app, token
from tests.e2e.test_report_page import GRID, PHONE, _inside


def _photo(tmp_path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (90, 140, 60)).save(out, "JPEG")
    path = tmp_path / "rubbish.jpg"
    path.write_bytes(out.getvalue())
    return path


def _act(url: str, bearer: str, incident: int, action: str, **data) -> None:
    r = httpx.post(f"{url}/incidents/{incident}/transitions", json={"action": action, **data},
                   headers={"Authorization": f"Bearer {bearer}"})  # fmt: skip
    assert r.status_code == 200, r.text


def _shown_state(page, label: str) -> None:
    page.click("#f-refresh")
    page.wait_for_function(
        "label => document.getElementById('f-state').textContent === label", arg=label
    )


def test_a_resident_raises_follows_and_rates_on_a_phone(
    live_server, browser, demo_engine, tmp_path
):
    url = live_server
    lon, lat = _inside(demo_engine, GRID)
    tag = f"resident-{uuid.uuid4().hex[:8]}"
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                              device_scale_factor=2, locale="zh-CN", permissions=["geolocation"],
                              geolocation={"longitude": lon, "latitude": lat, "accuracy": 15})  # fmt: skip
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url + "/resident")
    page.wait_for_selector("#app", state="visible")
    assert page.is_hidden("#login")  # no account asked for
    assert page.text_content("#shell-title") == "居民提事"
    page.wait_for_function("document.querySelectorAll('#category option').length >= 5")
    page.click("#use-gps")
    page.wait_for_function("document.getElementById('fix').textContent.indexOf('精度') >= 0")
    page.select_option("#category", "sanitation")
    page.fill("#description", f"{tag} 楼下垃圾桶满了三天")
    page.set_input_files("#photo", str(_photo(tmp_path)))
    page.fill("#phone", "139 0000 1234")
    page.wait_for_selector("#photo-previews img")
    # fits the phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "resident-raise-360.png"), full_page=True)
    page.click("#submit")
    # the page follows the matter by its private link at once
    page.wait_for_function("document.getElementById('f-tracking').textContent.startsWith('R')")
    tracking = page.text_content("#f-tracking")
    link = page.evaluate("location.href")
    assert "#m=" in link and len(link.split("#m=")[1]) >= 43
    assert page.text_content("#f-state") == "待受理"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "resident-follow-360.png"), full_page=True)
    # the dispatcher of the area finds it with the photo and the phone, and accepts it
    dispatcher = token(url, "dispatcher", "dispatcher-demo-2026")
    auth = {"Authorization": f"Bearer {dispatcher}"}
    matters = httpx.get(url + "/resident/queue", headers=auth).json()["matters"]
    [m] = [x for x in matters if x["tracking"] == tracking]
    assert m["phone"] == "13900001234" and len(m["photos"]) == 1 and tag in m["description"]
    r = httpx.post(f"{url}/resident/queue/{m['id']}/decision", json={"action": "accept"},
                   headers=auth)  # fmt: skip
    assert r.status_code == 200, r.text
    incident = r.json()["incident"]
    # a new visit by the link (another tab of the phone) shows it accepted
    other = ctx.new_page()
    other.goto(link)
    other.wait_for_function("document.getElementById('f-state').textContent === '已受理'")
    other.close()
    _shown_state(page, "已受理")
    # the worker resolves it, the dispatcher verifies and closes it
    patrol = token(url, "patrol", "patrol-demo-2026")
    _act(url, patrol, incident, "start")
    _act(url, patrol, incident, "resolve", note="已清运")
    _act(url, dispatcher, incident, "verify")
    _act(url, dispatcher, incident, "close", rating=3)
    _shown_state(page, "已结案")
    page.wait_for_selector("#rate-form", state="visible")
    assert page.is_visible("#notfixed-form")  # within 7 days it may say "not fixed"
    page.click('#stars button[data-n="5"]')
    page.fill("#rate-comment", "处理及时")
    page.click("#rate-submit")
    page.wait_for_selector("#f-rated", state="visible")
    assert "5" in page.text_content("#f-rated")
    assert page.is_hidden("#rate-form")
    actions = page.eval_on_selector_all("#f-timeline li[data-action]",
                                        "els => els.map(e => e.dataset.action)")  # fmt: skip
    assert actions[:2] == ["submit", "accept"] and actions[-1] == "rate"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "resident-rated-360.png"), full_page=True)
    # English on request, the same matter
    page.select_option("#lang", "en")
    assert page.text_content("#f-state") == "closed"
    assert page.text_content("#shell-title") == "Tell your community"
    with demo_engine.connect() as c:
        row = c.execute(text("SELECT rating, resident_rating, reporter FROM incidents "
                             "WHERE id = :i"), {"i": incident}).one()  # fmt: skip
    assert row.rating == 3 and row.resident_rating == 5 and row.reporter == f"resident:{tracking}"
    assert errors == [], errors
    ctx.close()


def test_the_public_map_shows_accepted_matters_without_personal_data(browser, demo_engine):
    lon, lat = _inside(demo_engine, GRID)
    with serve_app(demo_engine, public_map_of_matters=True) as url:
        r = httpx.post(url + "/resident/matters", json={"category": "sanitation", "lon": lon,
                       "lat": lat, "description": "王某家门口污水", "phone": "13611112222"})  # fmt: skip
        assert r.status_code == 201, r.text
        tracking = r.json()["tracking"]
        auth = {"Authorization": "Bearer " + token(url, "dispatcher", "dispatcher-demo-2026")}
        [m] = [x for x in httpx.get(url + "/resident/queue", headers=auth).json()["matters"]
               if x["tracking"] == tracking]  # fmt: skip
        httpx.post(f"{url}/resident/queue/{m['id']}/decision", json={"action": "accept"},
                   headers=auth)  # fmt: skip
        ctx = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
        page = ctx.new_page()
        page.goto(url + "/resident/map")
        page.wait_for_selector("#map .leaflet-interactive")
        page.wait_for_selector("#legend li")
        assert "环境卫生 · 已受理" in page.text_content("#legend")
        said = page.content() + httpx.get(url + "/resident/map.geojson").text
        assert "13611112222" not in said and "王某" not in said and tracking not in said
        page.screenshot(path=str(ARTIFACTS / "resident-public-map-360.png"))
        ctx.close()


def test_raised_offline_it_waits_on_the_phone_and_is_sent_once_back_online(
    live_server, browser, demo_engine
):
    url = live_server
    lon, lat = _inside(demo_engine, GRID)
    tag = f"offline-{uuid.uuid4().hex[:8]}"
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, locale="en-US",
                              permissions=["geolocation"],
                              geolocation={"longitude": lon, "latitude": lat, "accuracy": 20})  # fmt: skip
    page = ctx.new_page()
    page.goto(url + "/resident")  # an English browser: the residents' page speaks Chinese first
    page.wait_for_function("document.querySelectorAll('#category option').length >= 5")
    assert page.text_content("#shell-title") == "居民提事"
    page.goto(url + "/resident?lang=en")
    page.wait_for_function("document.querySelectorAll('#category option').length >= 5")
    assert page.text_content("#shell-title") == "Tell your community"
    page.click("#use-gps")
    page.wait_for_function("document.getElementById('fix').textContent.indexOf('accuracy') >= 0")
    ctx.set_offline(True)
    page.select_option("#category", "sanitation")
    page.fill("#description", f"{tag} broken bench")
    page.click("#submit")
    page.wait_for_selector("#follow", state="visible")
    assert "not sent yet" in page.text_content("#f-timeline")
    assert page.get_attribute(".outbox-item", "data-state") == "queued"
    ctx.set_offline(False)  # the 'online' event sends it, with the same key
    page.wait_for_function("document.getElementById('f-tracking').textContent.startsWith('R')")
    assert page.text_content("#f-state") == "awaiting acceptance"
    with demo_engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM resident_matters WHERE description LIKE :t"),
                      {"t": f"{tag}%"}).scalar_one()  # fmt: skip
    assert n == 1
    ctx.close()
