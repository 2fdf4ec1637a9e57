"""/report's map on a phone (issue 16): neighbouring grids, their names and the streets, offline.

The page has no internet base map; the worker orients by the outlines and names of the grids
around their own (from GET /report/surroundings) and by the roads and rivers. Counted here are
the paths drawn against the features the server sent, the names shown (inside their grid, not
overlapping, not cut by the map's edge) and the own grid's highlight; screenshots in Chinese and
English are kept as artefacts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_report_page import GRID, PHONE, _inside, _login, _phone

DRAWN = """() => {
  const m = document.getElementById('map'), n = s => m.querySelectorAll(s).length;
  return {own: n('path.gg-own'), neighbours: n('path.gg-nb'), roads: n('path.gg-road'),
          rivers: n('path.gg-river'), labels: n('.gg-label:not(.gg-hidden)')};
}"""
LABELS = """() => Array.from(document.querySelectorAll('#map .gg-label:not(.gg-hidden) span'))
  .map(s => { const r = s.getBoundingClientRect();
              return {text: s.textContent, own: s.parentNode.classList.contains('gg-label-own'),
                      x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })"""


def _neighbours_within(demo_engine, code: str, radius_m: float) -> set[str]:
    with demo_engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT n.code FROM current_grids n, current_grids o, levels l"
                " WHERE o.code = :c AND l.id = n.level_id AND n.code <> o.code"
                " AND l.depth = (SELECT max(depth) FROM levels)"
                " AND ST_DWithin(n.geom::geography, o.geom::geography, :r)"
            ),
            {"c": code, "r": radius_m},
        ).scalars()
        return set(rows)


def _apart(a: dict, b: dict) -> bool:
    """Whether two boxes (x0, y0, x1, y1) do not overlap."""
    return a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]


def _open(browser, live_server, demo_engine) -> tuple[Any, Any, list[str], list[dict]]:
    lon, lat = _inside(demo_engine, GRID)
    ctx, page, errors = _phone(browser, live_server, lon, lat)
    answers: list[dict] = []
    page.on(
        "response",
        lambda r: answers.append(r.json()) if "/report/surroundings?" in r.url and r.ok else None,
    )
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(live_server) or r.url.startswith(("data:", "blob:"))
            else errors.append("offsite " + r.url)
        ),
    )
    _login(page)
    page.wait_for_function(f"({DRAWN})().own >= 1 && ({DRAWN})().roads >= 1")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # the last moveend's debounce
    return ctx, page, errors, answers


def test_neighbours_names_and_streets_drawn_own_grid_highlighted(live_server, browser, demo_engine):
    ctx, page, errors, answers = _open(browser, live_server, demo_engine)
    try:
        assert answers, "the page never asked for its surroundings"
        last = answers[-1]
        grids = last["grids"]["features"]
        own = [f for f in grids if f["properties"]["own"]]
        near = [f for f in grids if not f["properties"]["own"]]
        assert [f["properties"]["code"] for f in own] == [GRID]
        # the neighbours sent are grids within the radius (1000 m) of the patrol's grid
        allowed = _neighbours_within(demo_engine, GRID, 1000.0)
        assert len(near) >= 3 and {f["properties"]["code"] for f in near} <= allowed
        for f in grids:
            assert set(f["properties"]) == {"code", "name", "own", "label"}

        drawn = page.evaluate(DRAWN)
        kinds = [f["properties"]["kind"] for f in last["lines"]["features"]]
        assert drawn["own"] == 1 and drawn["neighbours"] == len(near)
        assert drawn["roads"] == kinds.count("road") >= 1
        assert drawn["rivers"] == kinds.count("river")

        # own grid highlighted (red, filled), neighbours thin and neutral, unfilled
        own_path = page.locator("#map path.gg-own").first
        assert own_path.get_attribute("stroke") == "#b71c1c"
        assert own_path.get_attribute("fill") not in (None, "none")
        nb = page.locator("#map path.gg-nb").first
        assert nb.get_attribute("stroke-width") == "1" and nb.get_attribute("fill") == "none"

        # names: the own grid's and some neighbours', inside the map, none overlapping
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#where").screenshot(path=str(ARTIFACTS / "report-map-zh.png"))
        labels = page.evaluate(LABELS)
        names = {f["properties"]["name"] for f in grids}
        own_name = own[0]["properties"]["name"]
        assert any(lab["own"] and lab["text"] == own_name for lab in labels), labels
        assert sum(not lab["own"] for lab in labels) >= 1, labels
        assert all(lab["text"] in names for lab in labels)
        box = page.locator("#map").bounding_box()
        assert box is not None
        for a in labels:
            assert box["x"] <= a["x0"] and a["x1"] <= box["x"] + box["width"], a
            assert box["y"] <= a["y0"] and a["y1"] <= box["y"] + box["height"], a
        pin = page.locator("#map .pin").bounding_box()
        assert pin is not None
        pin_box = {"x0": pin["x"], "y0": pin["y"], "x1": pin["x"] + pin["width"]}
        pin_box["y1"] = pin["y"] + pin["height"]
        for i, a in enumerate(labels):
            assert _apart(a, pin_box), ("a name under the pin", a)
            for b in labels[i + 1 :]:
                assert _apart(a, b), (a, b)

        # zoomed out one level: more neighbours come into view, still only outlines and names
        with page.expect_response(lambda r: "/report/surroundings?" in r.url) as wider:
            page.click(".leaflet-control-zoom-out")
        wide = wider.value.json()
        assert "&z=" in wider.value.url
        page.wait_for_timeout(300)
        wide_near = [f for f in wide["grids"]["features"] if not f["properties"]["own"]]
        assert len(wide_near) >= len(near)
        assert {f["properties"]["code"] for f in wide_near} <= allowed
        assert page.evaluate(DRAWN)["neighbours"] == len(wide_near)
        assert page.evaluate(DRAWN)["labels"] >= 1

        # the legend in the page's language, and nothing wider than the phone
        assert "相邻网格" in page.inner_text("#map-legend")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.select_option("#lang", "en")
        assert "neighbouring grid" in page.inner_text("#map-legend")
        page.locator("#where").screenshot(path=str(ARTIFACTS / "report-map-en.png"))
        # no neighbour's data was asked for, and nothing left the server (no internet tiles)
        assert errors == [], errors
    finally:
        ctx.close()
