"""/volunteer on a phone in real headless Chromium: a volunteer claims and completes a request.

The desk opens an accepted request to volunteers (through the API); a volunteer of the
community logs in on /volunteer, finds it on the list and the map, claims it and reports it
done (issue 21, 党员领单).
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from gridgeo.accounts import add_user
from tests.e2e.conftest import ARTIFACTS, token
from tests.e2e.test_report_page import GRID, PHONE, _inside


def test_a_volunteer_claims_and_completes_a_request(live_server, browser, demo_engine):
    url = live_server
    name = f"vol{uuid.uuid4().hex[:6]}"
    with demo_engine.begin() as c:
        add_user(c, name=name, role="volunteer", areas=[GRID[:12]], password="volunteer-2026",
                 actor="test")  # fmt: skip
    lon, lat = _inside(demo_engine, GRID)
    patrol = {"Authorization": "Bearer " + token(url, "patrol", "patrol-demo-2026")}
    desk = {"Authorization": "Bearer " + token(url, "dispatcher", "dispatcher-demo-2026")}
    r = httpx.post(url + "/incidents", json={"lon": lon, "lat": lat, "category": "sanitation",
                   "description": f"{name} 帮独居老人买菜"}, headers=patrol)  # fmt: skip
    incident = r.json()["id"]
    httpx.post(f"{url}/incidents/{incident}/transitions", json={"action": "accept"}, headers=patrol)
    r = httpx.post(f"{url}/volunteer/requests/{incident}/open_to_volunteers", json={}, headers=desk)
    assert r.status_code == 200, r.text
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url + "/volunteer")
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#username", name)
    page.fill("#password", "volunteer-2026")
    page.click("#login-form button[type=submit]")
    row = f'#v-list li[data-id="{incident}"]'
    page.wait_for_selector(row)
    assert page.locator("#map .leaflet-interactive").count() >= 1  # on the map too
    page.click(f'{row} button[data-act="claim"]')
    page.wait_for_selector(f'{row} button[data-act="volunteer_done"]')
    page.fill(f"{row} .v-note", "已送到，老人很满意")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "volunteer-360.png"), full_page=True)
    page.click(f'{row} button[data-act="volunteer_done"]')
    page.wait_for_selector(row, state="detached")
    with demo_engine.connect() as c:
        state, who = c.execute(text("SELECT state, volunteer FROM incidents WHERE id = :i"),
                               {"i": incident}).one()  # fmt: skip
    assert (state, who) == ("resolved", name)
    assert errors == [], errors
    ctx.close()
