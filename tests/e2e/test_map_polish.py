"""Issue 16, maps: what a leader and a planner stumbled on, in headless Chromium (no tiles online).

The clicked grid stays outlined until another is clicked; grid names appear once they fit;
incident clusters are not coloured like the legend's states; the workload map has no empty
layer-control box; at 360 px the incident filters leave the title readable; the files a page
shows can be downloaded from it (grids as GeoJSON/GPKG/SHP, the workload as XLSX), and only
by those the export endpoints let through. Screenshots go to ``ARTIFACTS/polish/``.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from gridgeo.accounts import get_account
from gridgeo.incidents.report import Report, report
from gridgeo.levels import load_hierarchy
from gridgeo.workload import workload_report
from tests.e2e.conftest import ARTIFACTS, signed_in_page

MAP = "() => Object.values(window).find(v => v instanceof L.Map)"
IDLE = (
    f"() => {{ let n = 0; ({MAP})().eachLayer(l => {{ if (l._loading) n++; }}); return n === 0; }}"
)
COMMUNITY = "370705001001"
SHOTS = ARTIFACTS / "polish"

# The colour of the canvas pixel under a container point of the map (tiles are canvases).
PIXEL = """([x, y]) => {
    const m = (MAP)(), r = m.getContainer().getBoundingClientRect();
    const c = [...document.querySelectorAll('canvas.leaflet-tile')].find(c => {
        const b = c.getBoundingClientRect();
        return b.left <= r.left + x && r.left + x < b.right && b.top <= r.top + y && r.top + y < b.bottom;
    });
    if (!c) return null;
    const b = c.getBoundingClientRect(), k = c.width / b.width;
    return [...c.getContext('2d').getImageData(
        Math.floor((r.left + x - b.left) * k), Math.floor((r.top + y - b.top) * k), 1, 1).data];
}""".replace("MAP", MAP)


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def _settle(page):
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=15000)
    page.wait_for_timeout(200)


def _interior(conn, codes):
    rows = conn.execute(
        text(
            "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(geom) AS p"
            " FROM current_grids WHERE code = ANY(:c)) s"
        ),
        {"c": list(codes)},
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def _point(page, lon, lat):
    return page.evaluate(
        f"([lat, lon]) => {{ const p = ({MAP})().latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )


def _download(page, selector):
    """Click a download link; the browser starts a download; its body, asked in the same context.

    (Headless Debian Chromium cancels the saving of downloads here, so the bytes are fetched
    again with the page's own headers from the URL the download started.)
    """
    with page.expect_download() as d:
        page.click(selector)
    answer = page.request.get(d.value.url)
    assert answer.ok, answer.status
    return answer.body()


def _overlap(a, b):
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_clicked_grid_stays_highlighted_and_names_come_in_when_they_fit(
    live_server, browser, demo_engine
):
    with demo_engine.connect() as conn:
        h = load_hierarchy(conn)
        kids = workload_report(conn, h, parent=COMMUNITY, default_standard=300)
        first, second = kids[0].code, kids[1].code
        spots = _interior(conn, (first, second))
    errors: list[str] = []
    ctx, page = signed_in_page(browser, live_server, errors)
    page.goto(live_server + "/maps/grids")
    page.wait_for_function("window.gridgeoDrawn !== undefined", timeout=15000)
    _settle(page)
    # at the city's zoom the grids are too small for their names
    assert page.locator(".gridgeo-label").count() == 0
    lon, lat = spots[first]
    page.evaluate(
        f"([lat, lon]) => ({MAP})().setView([lat, lon], 16, {{animate: false}})", [lat, lon]
    )
    _settle(page)
    page.wait_for_selector(".gridgeo-label span", timeout=5000)
    _shot(page, "grids-labels-z16.png")
    names = page.eval_on_selector_all(".gridgeo-label span", "els => els.map(e => e.dataset.code)")
    assert first in names
    # every name shown lies inside its own grid's box on screen and no two names collide
    boxes = page.eval_on_selector_all(
        ".gridgeo-label span",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })",
    )
    assert boxes
    _shot(page, "grids-labels-z16.png")

    x, y = _point(page, *spots[first])
    before = page.evaluate(PIXEL, [x, y])
    page.mouse.click(x, y)
    page.wait_for_selector(".gridgeo-popup")
    assert page.get_attribute(".leaflet-container", "data-selected") == first
    page.evaluate(f"() => ({MAP})().closePopup()")
    page.wait_for_timeout(200)
    chosen = page.evaluate(PIXEL, [x, y])
    assert chosen != before and chosen[2] > before[2]  # tinted cyan (#00e5ff): more blue
    _shot(page, "grids-selected.png")
    # still highlighted after the map moves (tiles repainted) …
    page.evaluate(f"() => ({MAP})().panBy([40, 30], {{animate: false}})")
    _settle(page)
    x, y = _point(page, *spots[first])
    assert page.evaluate(PIXEL, [x, y]) == chosen
    # … until another grid is clicked
    x2, y2 = _point(page, *spots[second])
    page.mouse.click(x2, y2)
    page.wait_for_selector(".gridgeo-popup")
    assert page.get_attribute(".leaflet-container", "data-selected") == second
    page.evaluate(f"() => ({MAP})().closePopup()")
    page.wait_for_timeout(200)
    assert page.evaluate(PIXEL, [x, y]) != chosen
    assert errors == []
    ctx.close()


SELECTED_PATHS = (
    "() => [...document.querySelectorAll('.leaflet-overlay-pane path')]"
    ".filter(p => p.getAttribute('stroke') === '#00e5ff').length"
)


# A child's own path under a container point (not an incident marker other tests left there).
CHILD_AT = """([x, y]) => { const r = document.querySelector('.leaflet-container').getBoundingClientRect();
    const e = document.elementFromPoint(r.left + x, r.top + y);
    return !!e && e.tagName === 'path' && e.getAttribute('fill-opacity') === '0.55'; }"""


def _child_spot(page, engine, code):
    """A point of the child ``code`` on screen where a click meets the child itself."""
    with engine.connect() as conn:
        points = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM"
                " current_grids WHERE code = :c UNION ALL SELECT (ST_Dump(ST_GeneratePoints("
                "ST_Buffer(geom, -0.0002), 20, 7))).geom FROM current_grids WHERE code = :c) s"
            ),
            {"c": code},
        ).all()
    size = page.viewport_size
    for lon, lat in points:
        x, y = _point(page, lon, lat)
        inside = 60 < x < size["width"] - 300 and 60 < y < size["height"] - 60
        if inside and page.evaluate(CHILD_AT, [x, y]):
            return x, y
    raise AssertionError(f"no clear point of {code} on screen")


def test_area_page_children_stay_highlighted_and_show_their_names_where_they_fit(
    live_server, browser, demo_engine
):
    """Issue 16 on /maps/grids/{code}: the children (an embedded GeoJSON layer) as on the top map."""
    with demo_engine.connect() as conn:
        h = load_hierarchy(conn)
        kids = workload_report(conn, h, parent=COMMUNITY, default_standard=300)
        first, second = kids[0].code, kids[1].code
        spots = _interior(conn, (first, second))
    errors: list[str] = []
    ctx, page = signed_in_page(browser, live_server, errors)
    page.goto(live_server + f"/maps/grids/{COMMUNITY}")
    page.wait_for_selector(".gridgeo-area-panel")
    # zoomed out to the city, the community's grids are too small for their names
    page.evaluate(f"() => ({MAP})().setZoom(11, {{animate: false}})")
    page.wait_for_timeout(400)
    assert page.locator(".gridgeo-label").count() == 0
    lon, lat = spots[first]
    page.evaluate(
        f"([lat, lon]) => ({MAP})().setView([lat, lon], 17, {{animate: false}})", [lat, lon]
    )
    page.wait_for_selector(".gridgeo-label span", timeout=5000)
    names = page.eval_on_selector_all(".gridgeo-label span", "els => els.map(e => e.dataset.code)")
    assert first in names
    assert set(names) <= {k.code for k in kids}  # children's names only
    boxes = page.eval_on_selector_all(
        ".gridgeo-label span",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })",
    )
    assert all(not _overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    _shot(page, "area-labels-z17.png")

    assert page.evaluate(SELECTED_PATHS) == 0
    x, y = _child_spot(page, demo_engine, first)
    page.mouse.click(x, y)
    page.wait_for_selector(".leaflet-popup")
    assert page.get_attribute(".leaflet-container", "data-selected") == first
    page.evaluate(f"() => ({MAP})().closePopup()")
    page.mouse.move(5, 400)  # the pointer leaves the grid: Folium's highlight is reset …
    page.wait_for_timeout(200)
    assert page.evaluate(SELECTED_PATHS) == 1  # … and the clicked grid stays outlined
    _shot(page, "area-selected.png")
    page.evaluate(f"() => ({MAP})().panBy([40, 30], {{animate: false}})")
    page.wait_for_timeout(300)
    assert page.evaluate(SELECTED_PATHS) == 1
    # until another child is clicked (brought to the middle of the view, clear of the panels)
    lon2, lat2 = spots[second]
    page.evaluate(
        f"([lat, lon]) => ({MAP})().setView([lat, lon], 17, {{animate: false}})", [lat2, lon2]
    )
    page.wait_for_timeout(300)
    x2, y2 = _child_spot(page, demo_engine, second)
    page.mouse.click(x2, y2)
    page.wait_for_selector(".leaflet-popup")
    assert page.get_attribute(".leaflet-container", "data-selected") == second
    page.mouse.move(5, 400)
    page.wait_for_timeout(200)
    assert page.evaluate(SELECTED_PATHS) == 1
    selected = page.evaluate(
        f"() => {{ let c = null; ({MAP})().eachLayer(l => {{ if (l.feature && l.options"
        " && l.options.color === '#00e5ff') c = l.feature.properties.code; }); return c; }"
    )
    assert selected == second
    assert errors == []
    ctx.close()


@pytest.fixture
def clustered(demo_engine):
    """Fresh (not overdue) incidents in two grids: 12 in one, 3 in the other; deleted after."""
    now = datetime.now(UTC)
    ids = []
    with demo_engine.begin() as conn:
        admin = get_account(conn, "admin")
        rows = workload_report(conn, load_hierarchy(conn), parent=COMMUNITY, default_standard=300)
        for code, n in ((rows[0].code, 12), (rows[-1].code, 3)):
            points = conn.execute(
                text(
                    "SELECT ST_X(p.geom), ST_Y(p.geom) FROM current_grids g,"
                    " ST_Dump(ST_GeneratePoints(ST_Buffer(g.geom, -0.0002), :n, 11)) p"
                    " WHERE g.code = :c"
                ),
                {"c": code, "n": n},
            ).all()
            for i, (lon, lat) in enumerate(points):
                r = Report(lon=lon, lat=lat, category="sanitation", description=f"polish {i}")
                ids.append(report(conn, r, account=admin, now=now, snap_m=200.0)[0])
    yield ids
    with demo_engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE id = ANY(:ids)"), {"ids": ids})


def test_cluster_bubbles_do_not_reuse_state_colours_and_filters_clear_the_title_on_a_phone(
    live_server, browser, clustered
):
    errors: list[str] = []
    ctx, page = signed_in_page(browser, live_server, errors)
    page.goto(live_server + "/maps/incidents")
    page.wait_for_selector(".gridgeo-count[data-count]", timeout=15000)
    page.wait_for_timeout(500)
    _shot(page, "incidents-clusters.png")
    page.wait_for_selector(".marker-cluster", timeout=10000)
    page.wait_for_timeout(300)
    states = page.evaluate("Object.values(gridgeo.STATE_COLOURS)")

    def rgb(hex_):
        return f"rgb({int(hex_[1:3], 16)}, {int(hex_[3:5], 16)}, {int(hex_[5:7], 16)})"

    legend = {rgb(c) for c in states}
    bubbles = page.eval_on_selector_all(
        ".marker-cluster",
        "els => els.map(e => ({cls: e.className, inner: getComputedStyle(e.firstChild)"
        ".backgroundColor, outer: getComputedStyle(e).backgroundColor}))",
    )
    assert bubbles
    for b in bubbles:
        assert not any(f"marker-cluster-{s}" in b["cls"] for s in ("small", "medium", "large"))
        inner = b["inner"].replace("rgba", "rgb").rsplit(",", 1)[0] + ")"
        if "gridgeo-has-overdue" not in b["cls"]:  # overdue ones are red, as their ring
            assert inner not in legend, b
    _shot(page, "incidents-clusters.png")
    ctx.close()

    for lang in ("zh", "en"):
        ctx, page = signed_in_page(browser, live_server, errors, is_mobile=True, has_touch=True)
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto(live_server + f"/maps/incidents?lang={lang}")
        page.wait_for_selector(".gridgeo-count[data-count]", timeout=15000)
        title = page.locator(".gridgeo-title").bounding_box()
        filters = page.locator(".gridgeo-filters").bounding_box()
        assert title and filters
        assert not _overlap(title, filters), (title, filters)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        _shot(page, f"incidents-360-{lang}.png")
        # the filters can still be opened and used
        page.click(".gridgeo-filters summary")
        page.wait_for_selector(".gridgeo-filters button[type=submit]", state="visible")
        _shot(page, f"incidents-360-{lang}-open.png")
        ctx.close()
    assert errors == []


def test_workload_map_has_no_empty_layer_control(live_server, browser):
    errors: list[str] = []
    ctx, page = signed_in_page(browser, live_server, errors)
    page.goto(live_server + "/maps/workload?level=community")
    page.wait_for_function("window.gridgeoWorkload !== undefined", timeout=15000)
    _settle(page)
    assert page.locator(".leaflet-control-layers").count() == 0
    _shot(page, "workload.png")
    # the grid map still lists its levels
    page.goto(live_server + "/maps/grids")
    page.wait_for_selector(".leaflet-control-layers-overlays label")
    assert errors == []
    ctx.close()


def test_export_links_download_the_files_the_page_shows(live_server, browser, demo_engine):
    with demo_engine.connect() as conn:
        h = load_hierarchy(conn)
        kids = {r.code for r in workload_report(conn, h, parent=COMMUNITY, default_standard=300)}
    errors: list[str] = []
    ctx, page = signed_in_page(
        browser, live_server, errors, "planner", "planner-demo-2026", accept_downloads=True
    )
    page.goto(live_server + f"/maps/grids/{COMMUNITY}")
    page.wait_for_selector(".gridgeo-tools")
    _shot(page, "area-tools-planner.png")
    fc = json.loads(_download(page, ".gridgeo-export-geojson"))
    assert {f["properties"]["code"] for f in fc["features"]} == kids
    shp = zipfile.ZipFile(io.BytesIO(_download(page, ".gridgeo-export-shp")))
    assert any(n.endswith(".shp") for n in shp.namelist())
    assert _download(page, ".gridgeo-export-gpkg").startswith(b"SQLite format 3")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(_download(page, ".gridgeo-export-xlsx"))).active
    cells = {str(c.value) for row in ws.iter_rows() for c in row if c.value is not None}
    assert kids <= cells
    href = page.get_attribute(".gridgeo-balance", "href")
    assert href == f"/plans/editor?area={COMMUNITY}&balance=1"
    # the grid and workload maps offer their level
    for path in ("/maps/grids", "/maps/workload"):
        page.goto(live_server + path + "?lang=en")
        page.wait_for_selector(".gridgeo-tools .gridgeo-export-xlsx")
        assert "Export" in page.inner_text(".gridgeo-tools")
        assert page.locator(".gridgeo-export-gpkg").count() == 1
    ctx.close()
    # a viewer (a leader) reads the workload but may not export grids nor balance
    ctx, page = signed_in_page(browser, live_server, errors)
    page.goto(live_server + f"/maps/grids/{COMMUNITY}")
    page.wait_for_selector(".gridgeo-tools .gridgeo-export-xlsx")
    assert page.locator(".gridgeo-export-geojson, .gridgeo-balance").count() == 0
    _shot(page, "area-tools-viewer.png")
    ctx.close()
    assert errors == []
