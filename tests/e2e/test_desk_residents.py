"""/desk in real headless Chromium: the dispatcher decides residents' matters (issue 21).

Two matters are raised through the public API (as /resident sends them); the dispatcher sees
both in the desk's queue of residents' matters with the phone number, rejects one with a reason
and accepts the other; the residents' links say so.
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_desk import DESK, _desk_as_dispatcher
from tests.e2e.test_report_page import GRID, _inside


def _raise(url: str, lon: float, lat: float, description: str) -> dict:
    r = httpx.post(url + "/resident/matters", json={"category": "sanitation", "lon": lon,
                   "lat": lat, "description": description, "phone": "13700007777"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def _follow(url: str, token: str) -> dict:
    return httpx.get(url + "/resident/matter", headers={"X-Matter-Token": token}).json()


def test_dispatcher_rejects_and_accepts_residents_matters(browser, live_server, demo_engine):
    url = live_server
    lon, lat = _inside(demo_engine, GRID)
    tag = uuid.uuid4().hex[:8]
    one = _raise(url, lon, lat, f"{tag} 噪音扰民")
    two = _raise(url, lon, lat, f"{tag} 路灯不亮")
    ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    page, errors = _desk_as_dispatcher(ctx, url)
    row = f'#r-list li[data-tracking="{one["tracking"]}"]'
    page.wait_for_selector(row)
    assert "13700007777" in page.text_content(row)
    page.fill(f"{row} .r-reason", "请拨打 12345 热线反映")
    page.click(f'{row} button[data-act="reject"]')
    page.wait_for_selector(row, state="detached")
    row2 = f'#r-list li[data-tracking="{two["tracking"]}"]'
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "desk-residents.png"))
    page.click(f'{row2} button[data-act="accept"]')
    page.wait_for_selector(row2, state="detached")
    with demo_engine.connect() as c:
        incident = c.execute(text("SELECT incident_id FROM resident_matters WHERE tracking = :t"),
                             {"t": two["tracking"]}).scalar_one()  # fmt: skip
    page.wait_for_selector(f'#list tbody tr[data-id="{incident}"]')  # the list is reloaded
    rejected, accepted = _follow(url, one["token"]), _follow(url, two["token"])
    assert rejected["state"] == "rejected" and rejected["reason"] == "请拨打 12345 热线反映"
    assert accepted["state"] == "accepted" and accepted["incident_state"] == "accepted"
    assert errors == [], errors
    ctx.close()
