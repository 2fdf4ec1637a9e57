"""The shared front-end shell (api/shell_static) on every browser page, in real headless Chromium.

For each page (/desk, /report on a phone, /plans/editor, /plans/{id}/edit, /login): the shell's
header is there and looks the same, logging in through the shell's form works, the language
switch changes the page's text and <html lang>, a 4xx answer of the API shows as a sentence in
the page's language (and follows a switch of language), and the page loads nothing from another
host. Then the rules the pages now share once: one token for every page, a 401 brings the login
form back, a network failure is said as such, times are China time whatever the browser's zone.

Nothing here changes the shared demo city: the refused requests store nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_report_page import GRID, PHONE, _inside

NAVY = "rgb(31, 59, 90)"  # the shell's header, on every page


@dataclass(frozen=True)
class Page:
    """A page, who logs in to it, and how to make the API refuse something on it."""

    path: str
    user: str
    title: tuple[str, str]  # the header's title in Chinese and English
    provoke: Callable[[Any], None]  # makes the page ask the API for something it refuses
    said: str  # the selector where the page shows that refusal
    refusal: tuple[str, str]  # what the sentence says, in Chinese and English
    phone: bool = False


def _desk_outside_area(page: Any) -> None:
    page.fill("#f-area", "110101")  # not the dispatcher's area: 403
    page.click("#filters button[type=submit]")


def _report_unknown_category(page: Any) -> None:
    page.wait_for_function("document.querySelectorAll('#category option').length >= 5")
    page.evaluate(
        "() => { const s = document.getElementById('category');"
        " s.add(new Option('no-such-category', 'no-such-category'));"
        " s.value = 'no-such-category'; }"
    )
    page.fill("#description", "shell e2e: refused")
    page.click("#submit")


def _plans_outside_area(page: Any) -> None:
    page.fill("#area", "110101")  # not the planner's area: 403, nothing opened
    page.fill("#plan-title", "shell e2e")
    page.click("#open-plan")


def _nothing(page: Any) -> None:
    """The editor of a plan id that is no number asks for it as it loads: 422 on plan_id."""


def _wrong_password(page: Any) -> None:
    page.fill("#username", "viewer")
    page.fill("#password", "not-the-password")
    page.click("#login-form button[type=submit]")


PAGES = {
    "desk": Page(
        "/desk", "dispatcher", ("网格事件调度台", "Grid incident desk"), _desk_outside_area,
        "#list-error", ("无权访问或操作：", "Not allowed: "),
    ),
    "report": Page(
        "/report", "patrol", ("网格事件上报", "Grid incident report"), _report_unknown_category,
        '.outbox-item[data-state="rejected"] .error',
        ("输入有误（字段：类别）：", "Invalid input (field: category): "), phone=True,
    ),
    "plans": Page(
        "/plans/editor", "planner", ("边界规划", "Boundary plans"), _plans_outside_area,
        '#message[data-kind="error"] #message-text', ("无权访问或操作：", "Not allowed: "),
    ),
    "editor": Page(
        "/plans/no-such-plan/edit", "planner", ("边界编辑", "Boundary editor"), _nothing,
        '#message[data-kind="error"] #message-text',
        ("输入有误（字段：规划编号）：", "Invalid input (field: plan number): "),
    ),
    "login": Page(
        "/login?next=/desk", "viewer", ("gridgeo 网格化管理", "gridgeo grid management"),
        _wrong_password, "#login-error", ("账号或密码错误", "Wrong account name or password"),
    ),
}  # fmt: skip
PASSWORDS = {name: f"{name}-demo-2026" for name in ("dispatcher", "patrol", "planner", "viewer")}


def _open(browser: Any, url: str, spec: Page, demo_engine: Any) -> tuple[Any, Any, list[str]]:
    """A context on the page (a phone with a GPS fix for /report); what goes wrong is kept."""
    if spec.phone:
        lon, lat = _inside(demo_engine, GRID)
        ctx = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN",
            geolocation={"longitude": lon, "latitude": lat, "accuracy": 12},
            permissions=["geolocation"],
        )  # fmt: skip
    else:
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = ctx.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((url, "data:", "blob:"))
            else problems.append("offsite " + r.url)
        ),
    )
    page.goto(url + spec.path)
    return ctx, page, problems


def _log_in(page: Any, user: str) -> None:
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("#login-form button[type=submit]")


def _text(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.inner_text())


def _untranslated(page: Any) -> list[str]:
    """The keys of labelled elements that show their key: no text in the page's language."""
    return list(
        page.eval_on_selector_all(
            "[data-i18n]",
            "es => es.map(e => e.getAttribute('data-i18n'))"
            ".filter(k => !gridgeoShell.t(k) || gridgeoShell.t(k) === k)",
        )
    )


def _header_look(page: Any) -> dict[str, str]:
    return dict(
        page.evaluate(
            """() => {
                const h = getComputedStyle(document.getElementById('shell-header'));
                return {background: h.backgroundColor, colour: h.color, position: h.position};
            }"""
        )
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_wears_the_shell(name, live_server, browser, demo_engine):
    spec, url = PAGES[name], live_server
    ctx, page, problems = _open(browser, url, spec, demo_engine)
    try:
        # the shared header: title, language switch; the shared login form
        page.wait_for_selector("#login-form", state="visible")
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert _text(page, "#shell-header h1") == spec.title[0] == page.title()
        assert page.input_value("#lang") == "zh"
        assert _header_look(page) == {"background": NAVY, "colour": "rgb(255, 255, 255)",
                                      "position": "sticky"}  # fmt: skip
        assert page.is_hidden("#logout") and _text(page, "#who") == ""
        scripts = page.eval_on_selector_all("script[src]", "ss => ss.map(s => s.src)")
        assert any(s.endswith("/shell-static/shell.js") for s in scripts)
        assert all(s.startswith(url) for s in scripts), scripts

        # switching the language changes the page's text and <html lang>, and back
        assert _untranslated(page) == []
        page.select_option("#lang", "en")
        assert page.get_attribute("html", "lang") == "en"
        assert _text(page, "#shell-header h1") == spec.title[1] == page.title()
        assert _text(page, "#login h2") == "Log in"
        assert _untranslated(page) == []
        page.select_option("#lang", "zh")
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert _text(page, "#login h2") == "登录"

        _log_in(page, spec.user)
        if name == "login":
            page.wait_for_url(url + "/desk")  # the same token: the desk asks for no login
        page.wait_for_selector("#app", state="visible")
        assert spec.user in _text(page, "#who") and page.is_visible("#logout")

        # a 4xx answer of the API, as a sentence in the page's language that follows a switch
        if name == "login":  # its refusal is the login's own: back to the form
            page.goto(url + spec.path)
            page.wait_for_selector("#login-form", state="visible")  # asked even when signed in
        spec.provoke(page)
        page.wait_for_selector(spec.said)
        page.wait_for_function(
            "([s, t]) => document.querySelector(s).textContent.startsWith(t)",
            arg=[spec.said, spec.refusal[0]],
        )
        page.select_option("#lang", "en")
        assert _text(page, spec.said).startswith(spec.refusal[1]), _text(page, spec.said)
        assert page.get_attribute("html", "lang") == "en"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"shell-{name}.png"))
        assert problems == [], problems
    finally:
        ctx.close()


def test_one_token_logout_and_a_401_bring_the_form_back(live_server, browser, demo_engine):
    url = live_server
    ctx, page, problems = _open(browser, url, PAGES["desk"], demo_engine)
    try:
        _log_in(page, "dispatcher")
        page.wait_for_selector("#app", state="visible")
        bearer = page.evaluate("localStorage.getItem('gridgeo.token')")
        assert bearer and page.evaluate("Object.keys(localStorage)").count("gridgeo.token") == 1

        # another page of the same browser is signed in by the same token
        other = ctx.new_page()
        other.goto(url + "/plans/editor")
        other.wait_for_selector("#app", state="visible")
        assert "dispatcher" in other.inner_text("#who")
        other.wait_for_selector('#message[data-kind="error"]')  # but may not edit plans
        assert "无权编辑规划" in other.inner_text("#message-text")
        other.close()

        # the token revoked elsewhere: the next call answers 401 and the form comes back
        r = httpx.post(url + "/auth/logout", headers={"Authorization": f"Bearer {bearer}"})
        assert r.status_code == 200
        page.click("#filters button[type=submit]")
        page.wait_for_selector("#login-form", state="visible")
        assert page.is_hidden("#app")
        assert page.evaluate("localStorage.getItem('gridgeo.token')") is None

        # logging out from the header revokes the new token on the server
        _log_in(page, "dispatcher")
        page.wait_for_selector("#app", state="visible")
        bearer = page.evaluate("localStorage.getItem('gridgeo.token')")
        page.click("#logout")
        page.wait_for_selector("#login-form", state="visible")
        me = httpx.get(url + "/auth/me", headers={"Authorization": f"Bearer {bearer}"})
        assert me.status_code == 401
        assert problems == [], problems
    finally:
        ctx.close()


def test_a_network_failure_is_said_as_such(live_server, browser, demo_engine):
    ctx, page, problems = _open(browser, live_server, PAGES["desk"], demo_engine)
    try:
        _log_in(page, "dispatcher")
        page.wait_for_selector("#app", state="visible")
        ctx.set_offline(True)
        page.click("#filters button[type=submit]")
        page.wait_for_function(
            "document.getElementById('list-error').textContent.includes('无法连接服务器')"
        )
        page.select_option("#lang", "en")
        assert "Cannot reach the server" in page.inner_text("#list-error")
        ctx.set_offline(False)
        assert page.is_visible("#app")  # still signed in: a failed connection is no 401
        assert problems == [], problems
    finally:
        ctx.close()


def test_errors_name_the_field_and_times_are_china_time(live_server, browser):
    """The shell's describe() and time() in a browser whose own zone is New York."""
    ctx = browser.new_context(locale="en-US", timezone_id="America/New_York")
    page = ctx.new_page()
    try:
        page.goto(live_server + "/login?lang=zh")
        page.wait_for_selector("#login-form", state="visible")
        run = "([s, b]) => gridgeoShell.describe(s, b)"
        body = {"error": "InvalidInput", "message": "lon: Input should be a valid number",
                "problems": ["lon: Input should be a valid number"]}  # fmt: skip
        assert page.evaluate(run, [422, body]) == (
            "输入有误（字段：经度）：lon: Input should be a valid number"
        )
        conflict = {"error": "Conflict", "message": "x", "field": "note", "grids": ["1", "2"]}
        assert page.evaluate(run, [409, conflict]) == "与当前状态冲突（字段：说明）：x [1, 2]"
        assert page.evaluate(run, [502, "Bad Gateway"]) == "服务器错误：Bad Gateway"
        times = """() => [
            gridgeoShell.time('2026-01-01T00:30:00Z', {label: true}),
            gridgeoShell.time('2026-06-30T20:05:09+00:00', {year: false, seconds: true}),
            gridgeoShell.time(null),
        ]"""
        assert page.evaluate(times) == ["2026-01-01 08:30 北京时间", "07-01 04:05:09", "—"]
        page.select_option("#lang", "en")
        assert page.evaluate(run, [422, body]) == (
            "Invalid input (field: longitude): lon: Input should be a valid number"
        )
        assert page.evaluate(times)[0] == "2026-01-01 08:30 China time"
        assert page.evaluate("new Date('2026-01-01T00:30:00Z').getHours()") == 19  # New York
    finally:
        ctx.close()
