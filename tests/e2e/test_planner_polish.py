"""Issue 16, the planner: balance from the editor and from a community's map, then read the plan.

A planner presses 均衡划分 on /plans/editor (or follows the community map's balance link to it):
``POST /balance?plan=true`` opens the proposal as a draft plan and the editor shows it; a refusal
is said in the page's language. The plan's map (/maps/plans/{id}) keeps its title card off the
之前 label and its legend off the 之后 map; the editor's narrow impact table keeps 网格员 on one
line. Balancing opens plans, so this module runs on its own copy of the demo city.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from tests.e2e.conftest import ARTIFACTS, serve_app, token

PLANNER = ("planner", "planner-demo-2026")
COMMUNITY = "370705001001"
SHOTS = ARTIFACTS / "polish"


@pytest.fixture(scope="module")
def city(pg_server: str) -> Iterator[Engine]:
    """A private copy of the demo city that these tests may open plans in."""
    from cli.demo import add_demo_accounts
    from gridgeo.demo.city import load_demo
    from tests.conftest import _database

    eng = _database(pg_server, "gridgeo_planner_polish")
    with eng.begin() as conn:
        load_demo(conn)
        add_demo_accounts(conn)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def server(city: Engine) -> Iterator[str]:
    with serve_app(city) as url:
        yield url


def _page(browser, url, *, lang="zh", width=1366, height=768):
    bearer = token(url, *PLANNER)
    ctx = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN" if lang == "zh" else "en-GB",
        extra_http_headers={"Authorization": f"Bearer {bearer}"},  # the map pages
    )
    ctx.add_init_script(f"localStorage.setItem('gridgeo.token', {bearer!r});")  # the shell's
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and "/balance" not in r.url
            else None
        ),
    )
    return ctx, page, errors


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=False)


def _overlap(a, b):
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def _plans(url):
    h = {"Authorization": f"Bearer {token(url, *PLANNER)}"}
    return httpx.get(url + "/plans?status=open", headers=h).json()["plans"]


def test_balance_from_the_community_map_opens_a_draft_in_the_editor(server, browser):
    ctx, page, errors = _page(browser, server)
    page.goto(f"{server}/maps/grids/{COMMUNITY}")
    page.click(".gridgeo-balance")
    page.wait_for_url(f"**/plans/editor?area={COMMUNITY}&balance=1")
    page.wait_for_selector("#balance", state="visible")
    assert page.input_value("#area") == COMMUNITY
    assert page.evaluate("document.activeElement.id") == "balance"
    _shot(page, "plans-balance-zh.png")
    before = {p["id"] for p in _plans(server)}
    page.click("#balance")
    page.wait_for_url("**/plans/*/edit", timeout=120_000)
    page.wait_for_selector("#app", state="visible")
    page.wait_for_function("document.querySelector('#plan-title').textContent.length > 0")
    opened = [p for p in _plans(server) if p["id"] not in before]
    assert len(opened) == 1 and opened[0]["area_code"] == COMMUNITY
    assert page.url.endswith(f"/plans/{opened[0]['id']}/edit")
    assert page.inner_text("#plan-title") == f"自动均衡划分 · {COMMUNITY}"
    # the editor's impact table keeps its headings whole in the 380-pixel side panel
    page.click("#preview")
    page.wait_for_selector("#impact tbody tr")
    lines = page.eval_on_selector_all(
        "#impact th, #impact td:nth-child(2)",
        "els => els.map(e => { const r = document.createRange(); r.selectNodeContents(e);"
        " return [e.textContent, new Set([...r.getClientRects()].map(b => Math.round(b.top))).size]; })",
    )
    assert lines and all(n == 1 for _, n in lines), lines  # each on one line
    width = page.evaluate("document.querySelector('#side').scrollWidth")
    assert width <= page.evaluate("document.querySelector('#side').clientWidth"), width
    page.locator("#impact").scroll_into_view_if_needed()
    _shot(page, "editor-impact-zh.png")
    assert errors == []
    ctx.close()


def test_balance_refusal_is_said_in_the_page_language(server, browser):
    other = "370705002001"  # a community of another street than the planner's
    for lang in ("en", "zh"):
        ctx, page, errors = _page(browser, server, lang=lang)
        page.goto(f"{server}/plans/editor?area={other}&lang={lang}")
        page.wait_for_selector("#balance", state="visible")
        before = len(_plans(server))
        page.click("#balance")
        page.wait_for_selector("#message", state="visible")
        page.wait_for_function("!document.querySelector('#balance').disabled")
        said = page.inner_text("#message-text")
        cjk = any("\u4e00" <= c <= "\u9fff" for c in said)
        assert said and cjk == (lang == "zh"), said
        assert len(_plans(server)) == before  # nothing opened
        _shot(page, f"plans-balance-refused-{lang}.png")
        assert errors == []
        ctx.close()


@pytest.mark.parametrize("size", [(1366, 768), (360, 740)], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plan_map_title_and_legend_leave_the_labels_and_the_after_map_clear(
    server, browser, lang, size
):
    h = {"Authorization": f"Bearer {token(server, *PLANNER)}"}
    plan = httpx.post(
        server + "/balance?plan=true", json={"area": COMMUNITY, "title": "地图标题很长的一个规划"},
        headers=h, timeout=120,
    ).json()["plan"]  # fmt: skip
    ctx, page, errors = _page(browser, server, lang=lang, width=size[0], height=size[1])
    page.goto(f"{server}/maps/plans/{plan['id']}?lang={lang}")
    page.wait_for_selector(".leaflet-container >> nth=1")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 4")
    title = page.locator(".gridgeo-title").bounding_box()
    sides = [page.locator(".gridgeo-side").nth(i).bounding_box() for i in range(2)]
    legend = page.locator(".gridgeo-legend").bounding_box()
    maps = [page.locator(".leaflet-container").nth(i).bounding_box() for i in range(2)]
    _shot(page, f"plan-map-{lang}-{size[0]}.png")
    assert title and legend and all(sides) and all(maps)
    assert not _overlap(title, sides[0]), (title, sides[0])
    assert not _overlap(legend, maps[1]), (legend, maps[1])
    assert errors == []
    ctx.close()
