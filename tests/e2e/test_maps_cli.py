"""``gridgeo map KIND --out FILE.html``: standalone files that open offline in Chromium."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from cli.main import main
from gridgeo.levels import load_hierarchy
from gridgeo.workload import workload_report
from tests.e2e.conftest import ARTIFACTS

MAP = """() => Object.values(window).find(v => v instanceof L.Map)"""


def _run(demo_engine, *args):
    env = {"GRIDGEO_DATABASE_URL": str(demo_engine.url), "GRIDGEO_MAP_TILES": ""}
    return CliRunner().invoke(main, ["map", *args], env=env, catch_exceptions=False)


def _open(browser, path, errors):
    ctx = browser.new_context(viewport={"width": 1000, "height": 700})
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file:", "data:")) else errors.append(r.url),
    )
    page.goto(path.as_uri())
    return ctx, page


def test_grids_file_of_one_street(tmp_path, browser, demo_engine):
    with demo_engine.connect() as conn:
        h = load_hierarchy(conn)
        street = workload_report(conn, h, level="street", default_standard=300)[0]
        grids = workload_report(conn, h, level="grid", areas=(street.code,), default_standard=300)
    out = tmp_path / "street.html"
    r = _run(demo_engine, "grids", "--out", str(out), "--area", street.code)
    assert r.exit_code == 0, r.output
    assert f"{out}: grids map" in r.output
    html = out.read_text()
    assert "/static/" not in html and "<script src=" not in html  # all inlined
    errors: list[str] = []
    ctx, page = _open(browser, out, errors)
    page.wait_for_function("() => document.readyState === 'complete'")
    drawn = page.evaluate(
        f"""() => {{ const n = {{}}; ({MAP})().eachLayer(l => {{ if (l.feature)
            n[l.feature.properties.code.length] = (n[l.feature.properties.code.length] || 0) + 1; }});
            return n; }}"""
    )
    assert drawn[str(len(grids[0].code))] == len(grids)
    row = grids[0]
    with demo_engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids"
                " WHERE code = :c AND valid_to IS NULL) s"
            ),
            {"c": row.code},
        ).one()
    page.evaluate(f"() => ({MAP})().setView([{lat}, {lon}], 16, {{animate: false}})")
    x, y = page.evaluate(
        f"() => {{ const p = ({MAP})().latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }}"
    )
    page.mouse.click(x, y)
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    popup = page.inner_text(".leaflet-popup-content")
    assert row.code in popup and str(row.households) in popup
    assert "超负荷" in page.inner_text(".gridgeo-legend")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "maps-cli-grids.png"))
    assert errors == []
    ctx.close()


def test_workload_and_incident_files(tmp_path, browser, demo_engine):
    out = tmp_path / "communities.html"
    r = _run(demo_engine, "workload", "--out", str(out), "--level", "community", "--lang", "en")
    assert r.exit_code == 0, r.output
    errors: list[str] = []
    ctx, page = _open(browser, out, errors)
    page.wait_for_function("() => document.readyState === 'complete'")
    assert page.inner_text(".gridgeo-title h1") == "gridgeo Workload map"
    ctx.close()
    out = tmp_path / "incidents.html"
    r = _run(demo_engine, "incidents", "--out", str(out), "--state", "open")
    assert r.exit_code == 0, r.output
    with demo_engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM incidents WHERE state IN"
                " ('reported', 'accepted', 'dispatched', 'in_progress')"
            )
        ).scalar()
    assert f"{n:,} incidents" in r.output
    ctx, page = _open(browser, out, errors)
    page.wait_for_selector(".gridgeo-count[data-count]", timeout=10000)
    assert page.get_attribute(".gridgeo-count", "data-count") == str(n)
    assert page.locator(".gridgeo-filters select").count() == 0  # nothing to filter offline
    assert errors == []
    ctx.close()


def test_bad_arguments_say_what_is_wrong(tmp_path, demo_engine):
    r = _run(demo_engine, "grids", "--out", str(tmp_path / "x.html"), "--area", "999")
    assert r.exit_code != 0 and "no area has the code '999'" in r.output
    r = _run(demo_engine, "incidents", "--out", str(tmp_path / "x.html"), "--state", "lost")
    assert r.exit_code != 0 and "unknown state 'lost'" in r.output
    r = _run(demo_engine, "plans", "--out", str(tmp_path / "x.html"))
    assert r.exit_code == 2 and "grids" in r.output
    assert not (tmp_path / "x.html").exists()
