"""/desk in real headless Chromium (issues 16, 17): what the dispatcher was missing.

- dispatch to a named worker of the incident's grid chosen from the server's list: the
  incident's handler is that worker;
- the filters by overdue and by a flag, applied by the server and kept in the address;
- the description (shortened, whole on a click) and the grid's name in the list;
- late and overdue shown from the server's fields: the browser's clock is set a year behind,
  and an incident past its limits is still shown late and overdue (a page that judged by its
  own clock would call it neither).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import text

from tests.e2e.conftest import ARTIFACTS, token
from tests.e2e.test_desk import DESK, _desk_as_dispatcher, _state_shown, conn_name
from tests.e2e.test_report_page import GRID, _inside


def _report(url: str, bearer: str, lon: float, lat: float, description: str) -> int:
    r = httpx.post(f"{url}/incidents",
                   json={"lon": lon, "lat": lat, "category": "sanitation",
                         "description": description},
                   headers={"Authorization": f"Bearer {bearer}",
                            "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _act(url: str, bearer: str, incident: int, action: str, **data) -> None:
    r = httpx.post(f"{url}/incidents/{incident}/transitions", json={"action": action, **data},
                   headers={"Authorization": f"Bearer {bearer}"})  # fmt: skip
    assert r.status_code == 200, r.text


def _ids(page) -> list[int]:
    return page.eval_on_selector_all("#list tbody tr", "rs => rs.map(r => Number(r.dataset.id))")


def _server_ids(url: str, bearer: str, query: str) -> list[int]:
    r = httpx.get(
        f"{url}/incidents?{query}&limit=50", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["incidents"]]


def test_dispatch_to_a_worker_of_the_grid_chosen_from_the_list(browser, live_server, demo_engine):
    url = live_server
    lon, lat = _inside(demo_engine, GRID)
    name = f"网格员{uuid.uuid4().hex[:4]}"
    with demo_engine.begin() as conn:
        worker = conn.execute(
            text("INSERT INTO workers (grid_id, name, role, external_id) SELECT id, :n, "
                 "'grid_head', :e FROM current_grids WHERE code = :g RETURNING id"),
            {"n": name, "e": f"W-{name}", "g": GRID},
        ).scalar_one()  # fmt: skip
    patrol = token(url, "patrol", "patrol-demo-2026")
    incident = _report(url, patrol, lon, lat, f"desk-worker-{uuid.uuid4().hex[:6]}")
    ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    page, errors = _desk_as_dispatcher(ctx, url)
    try:
        page.fill("#f-area", GRID)
        page.click("#filters button[type=submit]")
        row = f'#list tbody tr[data-id="{incident}"]'
        page.click(row)
        _state_shown(page, incident, "已上报")
        page.click('#d-actions button[data-action="dispatch"]')
        page.wait_for_selector(f'#act-who option[value="w:{worker}"]', state="attached")
        options = page.eval_on_selector_all(
            "#act-who option", "os => os.map(o => [o.value, o.textContent])"
        )
        grid_name = conn_name(demo_engine, GRID)
        # the grid's workers as a whole, then its named worker (name, role, code), then the
        # patrol account covering the grid (login, role, the area code)
        assert options[0] == ["", f"本网格全体网格员（{grid_name} {GRID}）"]
        assert [f"w:{worker}", f"{name}（网格长） W-{name}"] in options
        assert ["a:patrol", f"账号 patrol（网格员） {GRID}"] in options
        assert not any(v == "a:dispatcher" for v, _ in options)  # not a handler's role
        page.select_option("#act-who", f"w:{worker}")
        page.fill("#act-note", "请网格长处理")
        page.click("#act-submit")
        _state_shown(page, incident, "已派遣")
        assert f"处置人{name}" in page.text_content("#d-facts")
        page.screenshot(path=str(ARTIFACTS / "desk-dispatch-worker.png"))
        assert errors == []
    finally:
        ctx.close()
        final = httpx.get(
            f"{url}/incidents/{incident}", headers={"Authorization": f"Bearer {patrol}"}
        )
        with demo_engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE id = :i"), {"i": incident})
            conn.execute(text("DELETE FROM workers WHERE id = :w"), {"w": worker})
    assert final.json()["assignee"] == name and final.json()["state"] == "dispatched"


def test_filters_by_overdue_and_by_flag_are_the_servers_and_stay_in_the_address(
    browser, live_server, demo_engine
):
    url = live_server
    lon, lat = _inside(demo_engine, GRID)
    patrol = token(url, "patrol", "patrol-demo-2026")
    desk = token(url, "dispatcher", "dispatcher-demo-2026")
    tag = uuid.uuid4().hex[:6]
    long_text = (
        f"{tag} 小区东门外的垃圾已经堆放了三天，气味很大，居民多次反映，请尽快清运并加强巡查"
    )
    late = _report(url, patrol, lon, lat, long_text)
    fresh = _report(url, patrol, lon + 0.0003, lat, f"{tag} 路灯不亮")
    back = _report(url, patrol, lon - 0.0003, lat, f"{tag} 井盖松动")
    _act(url, desk, back, "dispatch", department="城市管理局")
    _act(url, desk, back, "return", note="非本单位职责")
    with demo_engine.begin() as conn:  # its limits passed two days ago
        conn.execute(
            text("UPDATE incidents SET accept_due = now() - interval '3 days', "
                 "resolve_due = now() - interval '2 days' WHERE id = :i"),
            {"i": late},
        )  # fmt: skip
    ctx = browser.new_context(viewport=DESK, locale="zh-CN")
    # the browser's clock a year behind: a page judging by it would call nothing late
    ctx.clock.install(time=datetime.now() - timedelta(days=365))
    page, errors = _desk_as_dispatcher(ctx, url)
    try:
        page.goto(f"{url}/desk?queue=dispatch&area={GRID}&overdue=true")
        page.wait_for_selector(f'#list tbody tr[data-id="{late}"]')
        assert page.input_value("#f-overdue") == "true" and page.input_value("#f-area") == GRID
        shown = _ids(page)
        assert shown == _server_ids(url, desk, f"queue=dispatch&area={GRID}&overdue=true")
        assert fresh not in shown and back not in shown
        assert page.eval_on_selector_all(
            "#list tbody tr", "rs => rs.every(r => r.classList.contains('overdue'))"
        )
        row = f'#list tbody tr[data-id="{late}"]'
        # late, from the server's field, beside the original limit in China time (labelled)
        assert page.get_attribute(f"{row} td.orig", "data-late") == "true"
        assert "逾期" in page.text_content(f"{row} td.orig")
        assert "北京时间" in page.text_content("#list thead th:nth-child(8)")
        # the description shortened, the whole on hover and on a click; the grid by its name
        cell = f"{row} td.desc"
        assert page.text_content(cell).endswith("…") and len(page.text_content(cell)) == 25
        assert page.get_attribute(cell, "title") == long_text
        page.click(cell)  # also selects the row, which draws the list again: it stays open
        _state_shown(page, late, "已上报")
        page.wait_for_function(
            "([s, t]) => document.querySelector(s).textContent === t", arg=[cell, long_text]
        )
        grid_name = conn_name(demo_engine, GRID)
        assert page.text_content(f"{row} td.grid") == f"{grid_name} {GRID}"

        # a flag: the returned ones (回退), chosen on the page; the address follows
        page.select_option("#f-overdue", "")
        page.select_option("#f-flags", "returned")
        page.click("#filters button[type=submit]")
        page.wait_for_selector(f'#list tbody tr[data-id="{back}"]')
        page.wait_for_function(f"!document.querySelector('#list tbody tr[data-id=\"{late}\"]')")
        assert "flags=returned" in page.url and "overdue" not in page.url
        shown = _ids(page)
        assert shown == _server_ids(url, desk, f"queue=dispatch&area={GRID}&flags=returned")
        badges = page.eval_on_selector_all(
            "#list tbody tr td.flags", "ts => ts.map(t => t.textContent)"
        )
        assert badges and all("曾回退" in b for b in badges)
        # the fresh one: not late, not overdue
        page.select_option("#f-flags", "")
        page.click("#filters button[type=submit]")
        fresh_row = f'#list tbody tr[data-id="{fresh}"]'
        page.wait_for_selector(fresh_row)
        assert page.get_attribute(f"{fresh_row} td.orig", "data-late") == "false"
        assert "overdue" not in (page.get_attribute(fresh_row, "class") or "")
        page.click(fresh_row)
        _state_shown(page, fresh, "已上报")
        assert page.get_attribute("#d-original", "data-late") == "false"
        assert "未逾期" in page.text_content("#d-original")
        assert "北京时间" in page.text_content("#d-original")

        # the address keeps the filters: a reload shows the same list
        page.select_option("#f-flags", "returned")
        page.click("#filters button[type=submit]")
        page.wait_for_function(f"!document.querySelector('#list tbody tr[data-id=\"{fresh}\"]')")
        page.reload()
        page.wait_for_selector(f'#list tbody tr[data-id="{back}"]')
        assert page.input_value("#f-flags") == "returned" and _ids(page) == shown
        page.select_option("#lang", "en")
        page.wait_for_function(
            "document.querySelector('#list tbody td.flags').textContent.includes('returned')"
        )
        page.screenshot(path=str(ARTIFACTS / "desk-filters-en.png"), full_page=True)
        # on a phone: the list scrolls inside its pane, the page does not scroll sideways
        page.set_viewport_size({"width": 360, "height": 740})
        for lang in ("en", "zh"):
            page.select_option("#lang", lang)
            page.click(f'#list tbody tr[data-id="{back}"]')
            _state_shown(page, back, "accepted" if lang == "en" else "已受理")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, f"the page scrolls sideways: {width}px"
            page.screenshot(path=str(ARTIFACTS / f"desk-filters-{lang}-phone.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()
        with demo_engine.begin() as conn:
            conn.execute(
                text("DELETE FROM incidents WHERE id = ANY(:i)"), {"i": [late, fresh, back]}
            )
