"""/desk in real headless Chromium: a dispatcher works an incident through the closed loop.

A patrol worker reports (through the API, as the phone page does); the dispatcher finds it in
the dispatch queue, dispatches it to a linked department; the worker starts and resolves it;
the dispatcher (as supervisor) verifies it, loses a race to a colleague (the server's 409 is
shown, nothing changes), then closes it with the resident's rating. The timeline on the page
lists every step; the page switches to English.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from tests.e2e.conftest import ARTIFACTS, token
from tests.e2e.test_report_page import GRID, _inside

DESK = {"width": 1280, "height": 860}
STREET = GRID[:9]  # the demo dispatcher's street


def _act(url: str, bearer: str, incident: int, action: str, **data) -> dict:
    r = httpx.post(f"{url}/incidents/{incident}/transitions",
                   json={"action": action, **data},
                   headers={"Authorization": f"Bearer {bearer}"})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def _desk_as_dispatcher(ctx, url: str) -> tuple[Any, list[str]]:
    """A page of ``ctx`` logged in to /desk as the demo dispatcher; the errors it will see."""
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url + "/desk")
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#username", "dispatcher")
    page.fill("#password", "dispatcher-demo-2026")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app", state="visible")
    return page, errors


def _state_shown(page, incident: int, label: str) -> None:
    page.wait_for_function(
        "([id, label]) => document.getElementById('d-id').textContent === '#' + id"
        " && document.getElementById('d-state').textContent === label",
        arg=[incident, label],
    )


def test_dispatcher_works_an_incident_through_the_loop(browser, live_server, demo_engine):
    url = live_server
    lon, lat = _inside(demo_engine, GRID)
    tag = f"desk-{uuid.uuid4().hex[:8]}"
    patrol = token(url, "patrol", "patrol-demo-2026")
    r = httpx.post(f"{url}/incidents",
                   json={"lon": lon, "lat": lat, "category": "sanitation", "description": tag},
                   headers={"Authorization": f"Bearer {patrol}", "Idempotency-Key": tag})  # fmt: skip
    assert r.status_code == 201, r.text
    incident = r.json()["id"]

    ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    page, errors = _desk_as_dispatcher(ctx, url)
    try:
        assert "dispatcher" in page.text_content("#who")

        # the dispatch queue of the worker's grid holds the new incident
        page.select_option("#f-queue", "dispatch")
        page.fill("#f-area", GRID)
        page.click("#filters button[type=submit]")
        row = f'#list tbody tr[data-id="{incident}"]'
        page.wait_for_selector(row + ' td.st:has-text("已上报")')
        page.click(row)
        _state_shown(page, incident, "已上报")
        assert tag in page.text_content("#d-facts")
        offered = page.eval_on_selector_all(
            "#d-actions button", "bs => bs.map(b => b.dataset.action)"
        )
        assert offered == ["accept", "dispatch", "mark_major"]  # the dispatcher's, from reported

        # dispatch to a linked department that handles sanitation
        page.click('#d-actions button[data-action="dispatch"]')
        deps = page.eval_on_selector_all("#act-dep option", "os => os.map(o => o.value)")
        assert "城市管理局" in deps and "公安派出所" not in deps
        page.select_option("#act-dep", "城市管理局")
        page.fill("#act-note", "请城管清运")
        page.click("#act-submit")
        _state_shown(page, incident, "已派遣")
        assert "城市管理局" in page.text_content("#d-facts")
        page.wait_for_selector(row + ' td.st:has-text("已派遣")')

        # the worker on the phone starts and resolves it
        _act(url, patrol, incident, "start")
        _act(url, patrol, incident, "resolve", note="已清运完毕")
        page.click(row)
        _state_shown(page, incident, "已处置")  # the maps' and the policy's word
        page.click('#d-actions button[data-action="verify"]')

        # a colleague verifies first: the server's refusal is shown, nothing changes
        colleague = token(url, "dispatcher", "dispatcher-demo-2026")
        _act(url, colleague, incident, "verify")
        page.click("#act-submit")
        page.wait_for_function(
            "document.getElementById('act-error').textContent.includes('事件已核查，不能核查')"
        )
        errors[:] = [e for e in errors if not (e.startswith("409 ") and "/transitions" in e)]

        page.click(row)
        _state_shown(page, incident, "已核查")
        page.click('#d-actions button[data-action="close"]')
        page.click("#act-submit")  # no rating yet: said on the page, nothing sent
        assert page.text_content("#act-error").startswith("请选择评价")  # or say why none
        page.select_option("#act-rating", "5")
        page.fill("#act-note", "群众满意")
        page.click("#act-submit")
        _state_shown(page, incident, "已结案")

        steps = page.eval_on_selector_all("#d-timeline li", "ls => ls.map(l => l.dataset.action)")
        assert steps == ["report", "dispatch", "start", "resolve", "verify", "close"]
        assert "已清运完毕" in page.text_content("#d-timeline")
        offered = page.eval_on_selector_all(
            "#d-actions button", "bs => bs.map(b => b.dataset.action)"
        )
        assert offered == ["reopen"]

        page.select_option("#lang", "en")
        page.wait_for_function("document.getElementById('d-state').textContent === 'closed'")
        assert page.text_content("#detail h3") == "Actions"
        page.screenshot(path=str(ARTIFACTS / "desk.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()

    final = httpx.get(f"{url}/incidents/{incident}", headers={"Authorization": f"Bearer {patrol}"})
    assert final.json()["state"] == "closed" and final.json()["rating"] == 5


def _on_a_shared_edge(demo_engine) -> tuple[str, str, float, float]:
    """Two leaf grids of the dispatcher's street that share an edge, and a point on it."""
    with demo_engine.connect() as c:
        a, b, x, y = c.execute(
            text(
                "SELECT a.code, b.code, ST_X(p), ST_Y(p) FROM grids a JOIN grids b "
                "ON a.level_id = b.level_id AND a.code < b.code "
                "AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 0 "
                "CROSS JOIN LATERAL (SELECT ST_ClosestPoint(e, ST_Centroid(e)) AS p FROM "
                "ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)) e) s "
                "JOIN levels l ON l.id = a.level_id AND l.key = 'grid' "
                "WHERE a.valid_to IS NULL AND b.valid_to IS NULL "
                "AND a.code LIKE :street AND b.code LIKE :street ORDER BY a.code, b.code LIMIT 1"
            ),
            {"street": STREET + "%"},
        ).one()
    return str(a), str(b), float(x), float(y)


def test_dispatcher_moves_a_boundary_incident_to_the_other_grid(browser, live_server, demo_engine):
    url = live_server
    first, second, lon, lat = _on_a_shared_edge(demo_engine)
    tag = f"edge-{uuid.uuid4().hex[:8]}"
    bearer = token(url, "dispatcher", "dispatcher-demo-2026")
    r = httpx.post(f"{url}/incidents",
                   json={"lon": lon, "lat": lat, "category": "dispute", "description": tag,
                         "accuracy_m": 30},
                   headers={"Authorization": f"Bearer {bearer}", "Idempotency-Key": tag})  # fmt: skip
    assert r.status_code == 201, r.text
    inc = r.json()
    assert sorted(inc["candidates"]) == [first, second] and "boundary" in inc["flags"]
    other = second if inc["grid"] == first else first

    ctx = browser.new_context(viewport=DESK, locale="en-US")
    page, errors = _desk_as_dispatcher(ctx, url)
    try:
        page.select_option("#lang", "en")
        page.fill("#f-area", inc["grid"])
        page.click("#filters button[type=submit]")
        row = f'#list tbody tr[data-id="{inc["id"]}"]'
        page.wait_for_selector(row)
        page.click(row)
        _state_shown(page, inc["id"], "reported")
        assert "boundary" in page.text_content("#d-facts")
        page.click('#d-actions button[data-action="regrid"]')
        offered = page.eval_on_selector_all("#act-grid option", "os => os.map(o => o.value)")
        assert sorted(offered) == [first, second]
        assert page.input_value("#act-grid") == other  # the other candidate comes first
        page.fill("#act-note", "纠纷发生在对面楼")
        page.click("#act-submit")
        page.wait_for_selector('#d-timeline li[data-action="regrid"]')
        facts = page.text_content("#d-facts")
        assert "boundary" not in facts and f" {other}" in facts.split("Queue")[1]
        steps = page.eval_on_selector_all("#d-timeline li", "ls => ls.map(l => l.dataset.action)")
        assert steps == ["report", "regrid"]
        # said from its parts in the page's language (English here), the grids named
        said = page.text_content('#d-timeline li[data-action="regrid"] .note')
        assert said.startswith("grid ") and f"({inc['grid']}) → " in said
        assert said.endswith(f"({other}): 纠纷发生在对面楼")
        assert errors == []
    finally:
        ctx.close()
    final = httpx.get(f"{url}/incidents/{inc['id']}", headers={"Authorization": f"Bearer {bearer}"})
    assert final.json()["grid"] == other and final.json()["queue_area"] == other


def conn_name(engine, code: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT name FROM current_grids WHERE code = :c"), {"c": code}
            ).scalar_one()
        )


def test_the_timeline_says_an_escalation_in_the_pages_language(browser, live_server, demo_engine):
    """Issue 16: 'overdue: resolve → level 1 queue …' is said from its parts, the queue named."""
    url = live_server
    lon, lat = _inside(demo_engine, GRID)
    tag = f"desk-{uuid.uuid4().hex[:8]} note"
    patrol = token(url, "patrol", "patrol-demo-2026")
    r = httpx.post(f"{url}/incidents",
                   json={"lon": lon, "lat": lat, "category": "sanitation", "description": tag},
                   headers={"Authorization": f"Bearer {patrol}", "Idempotency-Key": tag})  # fmt: skip
    assert r.status_code == 201, r.text
    incident = r.json()["id"]
    community = GRID[:12]
    with demo_engine.begin() as conn:  # the note as escalation's SQL writes it
        conn.execute(
            text(
                "INSERT INTO incident_events (incident_id, at, actor, action, from_state,"
                " to_state, note) VALUES (:i, now(), 'system:escalation', 'escalate',"
                " 'reported', 'reported', :note)"
            ),
            {"i": incident, "note": f"overdue: resolve → level 1 queue {community}"},
        )
        conn.execute(  # as a plan's move leaves it: the grid's worker
            text("UPDATE incidents SET assignee = :a WHERE id = :i"),
            {"a": f"grid:{GRID}", "i": incident},
        )
        name = conn.execute(
            text("SELECT name FROM current_grids WHERE code = :c"), {"c": community}
        ).scalar_one()
    ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    page, errors = _desk_as_dispatcher(ctx, url)
    try:
        page.fill("#f-area", GRID)
        page.click("#filters button[type=submit]")
        row = f'#list tbody tr[data-id="{incident}"]'
        page.click(row)
        _state_shown(page, incident, "已上报")
        # names beside codes: the list's grid, the queue and the grid's worker in the facts
        grid_name = conn_name(demo_engine, GRID)
        assert page.text_content(f"{row} td.grid") == f"{grid_name} {GRID}"
        facts = page.text_content("#d-facts")
        assert f"所在队列{grid_name} {GRID}" in facts and f"{grid_name} {GRID} 的网格员" in facts
        note = '#d-timeline li[data-action="escalate"] .note'
        page.wait_for_selector(note)
        assert page.text_content(note) == f"超时未处置，升至第 1 级队列 {name}（{community}）"
        page.screenshot(path=str(ARTIFACTS / "desk-escalation-note-zh.png"))
        page.select_option("#lang", "en")
        page.wait_for_selector(f'{note}:has-text("not resolved in time")')
        assert page.text_content(note) == (
            f"not resolved in time: up to the level 1 queue {name} ({community})"
        )
        page.screenshot(path=str(ARTIFACTS / "desk-escalation-note-en.png"))
        assert errors == []
    finally:
        ctx.close()
        with demo_engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE id = :i"), {"i": incident})
