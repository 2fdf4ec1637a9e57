"""/desk in Chromium: the original limit and lateness, an extension asked for and approved.

A patrol worker's incident runs past its original resolve limit; the worker asks for more time.
The dispatcher finds it in the queue of extension requests, sees its original limit marked
late, approves a new limit; the incident shows the extended limit, and stays late against the
original (as the evaluation counts it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from tests.e2e.conftest import ARTIFACTS, token
from tests.e2e.test_desk import DESK, _act, _desk_as_dispatcher, _state_shown
from tests.e2e.test_report_page import GRID, _inside


def test_extension_on_the_desk(browser, live_server, demo_engine):
    url = live_server
    lon, lat = _inside(demo_engine, GRID)
    tag = f"ext-{uuid.uuid4().hex[:8]}"
    patrol = token(url, "patrol", "patrol-demo-2026")
    r = httpx.post(f"{url}/incidents",
                   json={"lon": lon, "lat": lat, "category": "sanitation", "description": tag},
                   headers={"Authorization": f"Bearer {patrol}", "Idempotency-Key": tag})  # fmt: skip
    incident = r.json()["id"]
    for action in ("accept", "start"):
        _act(url, patrol, incident, action)
    # its original limit passed an hour ago (as if reported a day earlier)
    past = datetime.now(UTC) - timedelta(hours=1)
    with demo_engine.begin() as c:
        c.execute(text("UPDATE incidents SET resolve_due = :t, level_resolve_due = :t "
                       "WHERE id = :i"), {"t": past, "i": incident})  # fmt: skip
    _act(url, patrol, incident, "request_extension", note="需协调物业")

    ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    page, errors = _desk_as_dispatcher(ctx, url)
    try:
        page.select_option("#f-queue", "extension")
        page.fill("#f-area", GRID)
        page.click("#filters button[type=submit]")
        row = f'#list tbody tr[data-id="{incident}"]'
        page.wait_for_selector(row + " td.orig.late")
        assert "延期申请" in page.text_content(row + " td.flags")
        page.click(row)
        _state_shown(page, incident, "处置中")
        facts = page.text_content("#d-facts")
        assert "原定时限" in facts and "逾期" in facts and "延期申请待批" in facts
        offered = page.eval_on_selector_all(
            "#d-actions button", "bs => bs.map(b => b.dataset.action)"
        )
        assert "approve_extension" in offered and "request_extension" not in offered
        page.click('#d-actions button[data-action="approve_extension"]')
        page.click("#act-submit")  # no new limit: said on the page
        assert page.text_content("#act-error") == "请填写新的时限"
        until = datetime.now().astimezone() + timedelta(days=2)
        page.fill("#act-until", until.strftime("%Y-%m-%dT%H:%M"))
        page.click("#act-submit")
        page.wait_for_function("document.getElementById('d-facts').textContent.includes('延期至')")
        facts = page.text_content("#d-facts")
        assert "逾期" in facts and "延期申请待批" not in facts  # late against the original
        page.screenshot(path=str(ARTIFACTS / "desk-extension.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()
    inc = httpx.get(f"{url}/incidents/{incident}", headers={"Authorization": f"Bearer {patrol}"})
    body = inc.json()
    assert body["extended_due"] and body["due_at"] == body["extended_due"]
    assert datetime.fromisoformat(body["resolve_due"]) == past
