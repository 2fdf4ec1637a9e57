"""The planners' editor in real headless Chromium, against the real plans API (no mocks).

Done means: a planner logs in, opens a plan on a community, splits its overloaded grid by
drawing a line across it with the mouse, previews the impact, commits with a message, sees the
history, and reverts. A split line that misses the grid is refused in the message box and
leaves the draft as it was.

Committing changes the city, and the shared demo database is for read-only use, so this module
runs its own server on its own copy of the demo city.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import shapely
from shapely.geometry import LineString, Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge
from sqlalchemy import Engine

from tests.e2e.conftest import ARTIFACTS, serve_app, token

PLANNER = ("planner", "planner-demo-2026")
STREET = "370705001"  # the demo planner's area
MARGIN = 20 / 111_320  # the drawn line starts and ends ~20 m outside the grid


@pytest.fixture(scope="module")
def plan_city(pg_server: str) -> Iterator[Engine]:
    """A private copy of the demo city that these tests may commit to."""
    from cli.demo import add_demo_accounts
    from gridgeo.demo.city import load_demo
    from tests.conftest import _database

    eng = _database(pg_server, "gridgeo_plan_editor")
    with eng.begin() as conn:
        load_demo(conn)
        add_demo_accounts(conn)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def server(plan_city: Engine) -> Iterator[str]:
    """The API on the private city, on a free loopback port, offline (no base map)."""
    with serve_app(plan_city) as url:
        yield url


class Api:
    """The plans API as the planner, for setting up and checking (the browser does the work)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token(url, *PLANNER)}"}

    def get(self, path: str) -> Any:
        r = httpx.get(self.url + path, headers=self.headers, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = httpx.post(self.url + path, json=body, headers=self.headers, timeout=30)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def grids(self, parent: str) -> dict[str, dict[str, Any]]:
        fc = self.get(f"/grids?parent={parent}")
        return {f["properties"]["code"]: f for f in fc["features"]}


def _overloaded(api: Api) -> dict[str, Any]:
    rows = api.get(f"/workload?level=grid&parent={STREET}")
    return next(r for r in rows if r["status"] == "over" and r["workers"] > 0)


def _chord(geom: BaseGeometry) -> tuple[tuple[float, float], tuple[float, float]]:
    """A west–east line that crosses the grid once, near its middle, starting and ending outside."""
    minx, miny, maxx, maxy = geom.bounds
    for k in range(1, 40):
        y = miny + (maxy - miny) * (0.5 + (-1) ** k * (k // 2) / 40)
        cut = LineString([(minx - 1, y), (maxx + 1, y)]).intersection(geom)
        if cut.geom_type == "LineString" and cut.length > (maxx - minx) / 3:
            (x0, _), (x1, _) = sorted(cut.coords)
            return (x0 - MARGIN, y), (x1 + MARGIN, y)
    raise AssertionError("no single chord across the grid")


def _browser_page(browser: Any, url: str, allowed: tuple[str, ...] = ()) -> tuple[Any, Any, list]:
    """A page that records script errors, failed responses and requests to other hosts."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []

    def console(m: Any) -> None:
        # Chromium logs every 4xx answer; the ones the test expects are checked by the test
        expected = allowed and "status of 400" in m.text
        if m.type == "error" and not expected:
            errors.append(m.text)

    def response(r: Any) -> None:
        if r.status >= 400 and not any(r.url.endswith(a) for a in allowed):
            errors.append(f"{r.status} {r.url}")

    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", console)
    page.on("response", response)
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith((url, "data:", "blob:")) else errors.append("offsite " + r.url)
        ),
    )
    return ctx, page, errors


def _login(page: Any) -> None:
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#username", PLANNER[0])
    page.fill("#password", PLANNER[1])
    page.click('#login-form button[type="submit"]')
    page.wait_for_selector("#app", state="visible")


def _at(page: Any, lon: float, lat: float) -> tuple[float, float]:
    """Page pixel of a lon/lat on the editor's map."""
    x, y = page.evaluate(
        """([lon, lat]) => {
            const p = gridgeoEditor.map.latLngToContainerPoint([lat, lon]);
            const r = document.getElementById('map').getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }""",
        [lon, lat],
    )
    return float(x), float(y)


def _select(page: Any, geom: BaseGeometry, code: str) -> None:
    p = geom.representative_point()
    page.mouse.click(*_at(page, p.x, p.y))
    page.wait_for_function(f"gridgeoEditor.selected.join() === '{code}'")


def _draw_line(page: Any, points: list[tuple[float, float]]) -> None:
    """Click each point with the mouse; a second click on the last point ends the line."""
    page.click("#tool-split")
    page.wait_for_selector("#drawing", state="visible")
    pixels = [_at(page, *p) for p in points]
    for x, y in pixels:
        page.mouse.move(x, y, steps=4)
        page.mouse.click(x, y)
    page.wait_for_timeout(150)
    page.mouse.click(*pixels[-1])


def _draft(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("JSON.parse(JSON.stringify(gridgeoEditor.draft))"))


def test_planner_splits_overloaded_grid_commits_and_reverts(server, browser):
    api = Api(server)
    row = _overloaded(api)
    grid, community = row["code"], row["parent_code"]
    before = api.grids(community)
    original = shape(before[grid]["geometry"])
    start, end = _chord(original)

    ctx, page, errors = _browser_page(browser, server)
    page.goto(f"{server}/plans/editor?area={community}")
    assert page.get_attribute("html", "lang") == "zh-CN"
    _login(page)
    assert page.input_value("#area") == community
    page.fill("#plan-title", f"拆分超负荷网格 {grid}")
    page.click("#open-plan")
    page.wait_for_url("**/plans/*/edit")
    page.wait_for_function("window.gridgeoReady === true", timeout=15000)
    plan_id = page.evaluate("gridgeoEditor.planId")
    assert page.inner_text("#plan-status") == "进行中"

    # the draft: every grid of the community, labelled with its name and code
    labels = page.eval_on_selector_all(".grid-label", "els => els.map(e => e.textContent)")
    assert len(labels) == len(before) and any(grid in t for t in labels)
    assert page.locator("path.grid-unchanged").count() == len(before)

    # split: select the grid, draw a line across it with the mouse
    _select(page, original, grid)
    _draw_line(page, [start, end])
    page.wait_for_selector('#edits li[data-op="split"]', timeout=15000)
    assert page.get_attribute("#message", "data-kind") == "ok"
    draft = _draft(page)
    states = {f["properties"]["code"]: f["properties"]["state"] for f in draft["features"]}
    created = [c for c, s in states.items() if s == "created"]
    assert states[grid] == "changed" and len(created) == 1, states
    new = created[0]
    assert page.locator("path.grid-created").count() == 1
    # issue 16: the edit is said in the page's language (not "split grid … into …")
    said = page.inner_text('#edits li[data-op="split"]')
    assert said.startswith(f"将网格 {grid} 拆分为 {grid}、{new}"), said

    # preview: no problems, households move from the old grid to the new one
    page.click("#preview")
    page.wait_for_function("document.getElementById('preview-summary').dataset.ok !== ''")
    assert page.get_attribute("#preview-summary", "data-ok") == "true", page.inner_text("#side")
    moved = int(page.get_attribute("#preview-summary", "data-moved") or 0)
    assert moved > 0
    assert page.locator("li.problem").count() == 0
    assert page.locator(f'#moves li[data-from="{grid}"][data-to="{new}"]').count() == 1
    impact = page.inner_text("#impact")
    assert grid in impact and new in impact and str(row["households"]) in impact
    assert page.locator("#impact .status[data-status='over']").count() >= 1
    assert page.locator("path.impact-area").count() >= 1
    assert page.locator("path.impact-move").count() == 1
    # issue 16: the arrow starts and ends at points inside the old and the new grid
    # (GEOS's point on surface, as ST_PointOnSurface), not at bounding-box centres
    ends = page.evaluate(
        """() => { let out = null; gridgeoEditor.map.eachLayer(l => {
            if (l.options && l.options.className === 'impact-move') {
                out = l.getLatLngs().map(p => [p.lng, p.lat]); } }); return out; }"""
    )
    new_geom = shape(next(f for f in _draft(page)["features"]
                          if f["properties"]["code"] == new)["geometry"])  # fmt: skip
    for (lon, lat), geom in zip(ends, (original, new_geom), strict=True):
        inside = geom.representative_point()
        assert abs(lon - inside.x) < 1e-6 and abs(lat - inside.y) < 1e-6
        assert geom.contains(Point(lon, lat))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plan-editor-preview.png"))

    # commit: the message is required
    page.click("#commit")
    page.wait_for_selector('#message[data-kind="error"]')
    assert "提交说明" in page.inner_text("#message-text")
    page.fill("#commit-message", "第3网格住户超过标准，按道路拆分 e2e")
    page.click("#commit")
    page.wait_for_selector("#result-text[data-change]", timeout=15000)
    change_id = int(page.get_attribute("#result-text", "data-change") or 0)
    assert change_id > 0 and f"#{change_id}" in page.inner_text("#result-text")
    assert page.inner_text("#plan-status") == "已提交"
    assert page.is_disabled("#tool-split") and page.is_disabled("#commit")
    after = api.grids(community)
    assert new in after and grid in after
    assert shape(after[grid]["geometry"]).area < original.area
    assert api.get(f"/plans/{plan_id}")["plan"]["status"] == "committed"

    # history: the link opens the grid's versions (before and after the commit)
    link = page.locator(f'a.history-link[data-code="{grid}"]')
    assert link.get_attribute("href") == f"grids/{grid}/history"
    link.click()
    page.wait_for_selector("#history-panel:not([hidden]) tr.version")
    assert page.locator("#history tr.version").count() >= 2
    assert f"#{change_id}" in page.inner_text("#history")
    page.screenshot(path=str(ARTIFACTS / "plan-editor-committed.png"))

    # revert: the original grid is back, the new one is gone
    page.click("#revert")
    page.wait_for_selector("#revert-text[data-change]", timeout=15000)
    assert page.is_disabled("#revert")
    reverted = api.grids(community)
    assert new not in reverted and set(reverted) == set(before)
    assert shape(reverted[grid]["geometry"]).symmetric_difference(original).area < 1e-12
    assert reverted[grid]["properties"]["households"] == row["households"]
    page.wait_for_function(f"!('{new}' in gridgeoEditor.features)")
    # issue 16: the history panel and the map follow the revert without a reload
    revert_id = int(page.get_attribute("#revert-text", "data-change") or 0)
    page.wait_for_selector(f'#history tr.version[data-current="true"][data-change="{revert_id}"]')
    assert page.locator('#history tr.version[data-current="true"]').count() == 1
    assert page.locator("path.impact-move").count() == 0
    assert page.locator(".grid-label .hh").count() == 0
    assert page.locator("#impact tbody tr").count() == 0 and "撤销" in page.inner_text("#history")
    page.screenshot(path=str(ARTIFACTS / "plan-editor-reverted.png"))
    assert errors == []
    ctx.close()


def test_split_line_missing_the_grid_is_refused_and_changes_nothing(server, browser):
    api = Api(server)
    row = _overloaded(api)
    grid, community = row["code"], row["parent_code"]
    grids = api.grids(community)
    other = next(shape(f["geometry"]) for c, f in grids.items() if c != grid)
    inside = other.representative_point()
    plan = api.post("/plans", {"area": community, "title": "bad edit e2e"})

    ctx, page, errors = _browser_page(browser, server, allowed=("/edits",))
    page.goto(f"{server}/plans/{plan['id']}/edit?lang=en")
    _login(page)
    page.wait_for_function("window.gridgeoReady === true", timeout=15000)
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#tool-split") == "Split by a line"
    before = _draft(page)

    # a short line wholly inside a neighbour: it does not cross the selected grid
    _select(page, shape(grids[grid]["geometry"]), grid)
    d = 10 / 111_320
    with page.expect_response(lambda r: r.url.endswith("/edits")) as answer:
        _draw_line(page, [(inside.x - d, inside.y), (inside.x + d, inside.y)])
    assert answer.value.status == 400
    page.wait_for_selector('#message[data-kind="error"]')
    message = page.inner_text("#message-text")
    assert grid in message and "split line" in message, message
    assert page.is_visible("#message")
    assert page.locator("#edits li[data-op]").count() == 0
    assert _draft(page) == before
    assert api.get(f"/plans/{plan['id']}")["edits"] == []
    page.screenshot(path=str(ARTIFACTS / "plan-editor-refused.png"))

    # switch to Chinese; then discard the plan (a second press confirms)
    page.select_option("#lang", "zh")
    assert page.inner_text("#tool-split") == "画线拆分"
    page.click("#discard")
    page.click("#discard")
    page.wait_for_selector('#plan-status[data-status="discarded"]')
    assert api.get(f"/plans/{plan['id']}")["plan"]["status"] == "discarded"
    assert errors == [], errors
    ctx.close()


def _neighbours(grids: dict[str, dict[str, Any]]) -> tuple[str, str, LineString]:
    """Two grids and their shared boundary, one line of at least 50 m."""
    shapes = {c: shape(f["geometry"]) for c, f in sorted(grids.items())}
    for a, ga in shapes.items():
        for b, gb in shapes.items():
            shared = linemerge(ga.boundary.intersection(gb.boundary))
            if a < b and shared.geom_type == "LineString" and shared.length > 50 / 111_320:
                return a, b, shared
    raise AssertionError("no neighbours")


def _exterior(geom: BaseGeometry) -> list[tuple[float, float]]:
    polygon = geom.geoms[0] if geom.geom_type == "MultiPolygon" else geom
    return list(polygon.exterior.coords[:-1])


def _edit_done(page: Any, op: str, count: int) -> None:
    page.wait_for_selector(f'#edits li[data-op="{op}"]', timeout=15000)
    assert page.get_attribute("#message", "data-kind") == "ok", page.inner_text("#message")
    assert page.locator("#edits li[data-op]").count() == count


def _undo(page: Any) -> None:
    page.click("#undo")
    page.wait_for_function("gridgeoEditor.edits.length === 0")
    page.wait_for_function(
        "gridgeoEditor.draft.features.every(f => f.properties.state === 'unchanged')"
    )


def _states(page: Any) -> dict[str, str]:
    return dict(
        page.evaluate(
            "Object.fromEntries(gridgeoEditor.draft.features"
            ".map(f => [f.properties.code, f.properties.state]))"
        )
    )


def test_move_merge_create_vertex_edit_undo_and_located_problem(server, browser):
    api = Api(server)
    community = "370705001002"
    grids = api.grids(community)
    a, b, shared = _neighbours(grids)
    ga = shape(grids[a]["geometry"])
    plan = api.post("/plans", {"area": community, "title": "tools e2e"})
    ctx, page, errors = _browser_page(browser, server, allowed=("/commit",))

    # the plan is listed for its area; its link opens the editor
    page.goto(f"{server}/plans/editor?area={community}")
    _login(page)
    row = page.locator(f'#plans tr[data-plan="{plan["id"]}"]')
    row.wait_for()
    assert "tools e2e" in row.inner_text()
    row.locator("a.edit-link").click()
    page.wait_for_url(f"**/plans/{plan['id']}/edit")
    page.wait_for_function("window.gridgeoReady === true", timeout=15000)
    assert not page.is_visible("#level-row")  # a community plan holds one level: grids

    # move the shared boundary: from one end, through a point 15 m into b, to the other end
    page.evaluate(
        "([w, s, e, n]) => gridgeoEditor.map.fitBounds([[s, w], [n, e]], {animate: false})",
        list(ga.union(shape(grids[b]["geometry"])).bounds),
    )
    _select(page, ga, a)
    gb = shape(grids[b]["geometry"])
    page.mouse.click(*_at(page, gb.representative_point().x, gb.representative_point().y))
    page.wait_for_function(f"gridgeoEditor.selected.join() === '{a},{b}'")
    mid, toward = shared.interpolate(0.5, normalized=True), gb.representative_point()
    step = 15 / 111_320 / mid.distance(toward)
    bent = (mid.x + (toward.x - mid.x) * step, mid.y + (toward.y - mid.y) * step)
    page.click("#tool-move")
    pixels = [_at(page, *p) for p in (shared.coords[0], bent, shared.coords[-1])]
    for x, y in pixels:
        page.mouse.click(x, y)
    page.wait_for_timeout(150)
    page.mouse.click(*pixels[-1])
    _edit_done(page, "move_boundary", 1)
    assert _states(page)[a] == "changed" and _states(page)[b] == "changed"
    _undo(page)

    # merge b into a, then undo
    _select(page, ga, a)
    page.mouse.click(*_at(page, toward.x, toward.y))
    page.click("#tool-merge")
    _edit_done(page, "merge", 1)
    assert _states(page)[b] == "retired" and page.locator("path.grid-retired").count() == 1
    _undo(page)

    # create a 40 m square inside a (a yields it), named in the form
    c, k = ga.representative_point(), 20 / 111_320
    page.click("#tool-create")
    corners = [
        _at(page, c.x + dx * k, c.y + dy * k) for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    for x, y in corners:
        page.mouse.click(x, y)
    page.mouse.click(*corners[0])
    page.wait_for_selector("#create-form", state="visible")
    assert page.input_value("#create-parent") == community
    page.fill("#create-name", "新建网格 e2e")
    page.click("#drawing-finish")
    _edit_done(page, "create", 1)
    assert page.locator("path.grid-created").count() == 1 and _states(page)[a] == "changed"
    _undo(page)

    # drag a vertex of a on the community's outer edge inward: a gap the preview locates
    others = shapely.union_all([shape(f["geometry"]) for code, f in grids.items() if code != a])
    outer = next(p for p in _exterior(ga) if Point(p).distance(others) > 5 / 111_320)
    _select(page, ga, a)
    page.click("#tool-edit")
    page.wait_for_selector(".marker-icon")
    x, y = _at(page, *outer)
    cx, cy = _at(page, c.x, c.y)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + (cx - x) * 0.3, y + (cy - y) * 0.3, steps=6)
    page.mouse.up()
    page.click("#drawing-finish")
    _edit_done(page, "replace", 1)
    page.click("#preview")
    page.wait_for_selector('#problems li.problem[data-kind="gap"]', timeout=15000)
    assert page.get_attribute("#preview-summary", "data-ok") == "false"
    page.evaluate("gridgeoEditor.map.setView([0, 0], 3, {animate: false})")
    page.click('#problems li.problem[data-kind="gap"]')
    page.wait_for_selector("path.problem-marker")
    centre = page.evaluate(
        "(() => { const c = gridgeoEditor.map.getCenter(); return [c.lng, c.lat]; })()"
    )
    assert ga.buffer(50 / 111_320).contains(Point(centre)), centre
    assert page.evaluate("gridgeoEditor.map.getZoom()") >= 17
    page.screenshot(path=str(ARTIFACTS / "plan-editor-problem.png"))

    # a plan with a topology error is not committed: the server says why, the plan stays open
    page.fill("#commit-message", "should not commit")
    with page.expect_response(lambda r: r.url.endswith("/commit")) as answer:
        page.click("#commit")
    assert answer.value.status == 400
    page.wait_for_selector('#message[data-kind="error"]')
    assert "topology" in page.inner_text("#message-text")
    assert page.locator('#problems li.problem[data-kind="gap"]').count() >= 1
    assert page.get_attribute("#plan-status", "data-status") == "open"
    api.post(f"/plans/{plan['id']}/discard", {})
    assert errors == [], errors
    ctx.close()


def _ring(geom: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON Polygon of a shape's exterior, counter-clockwise (RFC 7946)."""
    poly = shapely.orient_polygons(geom)
    if poly.geom_type == "MultiPolygon":
        poly = max(poly.geoms, key=lambda g: g.area)
    return {"type": "Polygon", "coordinates": [[list(c) for c in poly.exterior.coords]]}


def test_plan_map_shows_before_and_after_in_step_with_moves_and_problems(server, browser):
    """/maps/plans/{id}: two synced maps, households moving as counted arrows, problems marked."""
    api = Api(server)
    row = _overloaded(api)
    grid, community = row["code"], row["parent_code"]
    grids = api.grids(community)
    original = shape(grids[grid]["geometry"])
    start, end = _chord(original)
    plan = api.post("/plans", {"area": community, "title": "地图预览"})
    split = {"op": "split", "code": grid, "line": {"type": "LineString",
             "coordinates": [list(start), list(end)]}}  # fmt: skip
    api.post(f"/plans/{plan['id']}/edits", split)
    other = next(c for c in grids if c != grid)
    shrunk = shape(grids[other]["geometry"]).buffer(-25 / 111_320)  # opens a gap
    api.post(
        f"/plans/{plan['id']}/edits", {"op": "replace", "code": other, "geometry": _ring(shrunk)}
    )
    preview = api.get(f"/plans/{plan['id']}/preview")
    assert preview["impact"]["moves"] and any(p["kind"] == "gap" for p in preview["problems"])

    ctx, page, errors = _browser_page(browser, server)
    ctx.set_extra_http_headers({"Authorization": api.headers["Authorization"]})
    page.goto(f"{server}/maps/plans/{plan['id']}")
    page.wait_for_selector(".leaflet-container >> nth=1")
    assert page.locator(".leaflet-container").count() == 2
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 10")
    counts = page.eval_on_selector_all(".gridgeo-move", "els => els.map(e => e.textContent)")
    moved = sorted(int(c) for c in counts)
    assert counts, errors
    split_moves = [m["households"] for m in preview["impact"]["moves"] if m["from"] == grid]
    assert split_moves and set(split_moves) <= set(moved)  # households of the split, counted
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plan-map.png"))
    reds = page.locator('.leaflet-overlay-pane path[stroke="#d7191c"]').count()
    assert reds >= 2, errors  # the gap shape and its marker
    assert "地图预览" in page.inner_text(".gridgeo-title")
    # the two maps move together
    names = page.evaluate("Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k))")
    assert len(names) == 2
    page.evaluate(f"window['{names[0]}'].panBy([200, 120], {{animate: false}})")
    page.wait_for_timeout(300)
    c1, c2 = (page.evaluate(f"window['{n}'].getCenter()") for n in names)
    assert abs(c1["lat"] - c2["lat"]) < 1e-9 and abs(c1["lng"] - c2["lng"]) < 1e-9
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plan-map.png"))
    assert errors == []
    ctx.close()
    api.post(f"/plans/{plan['id']}/discard", {})
