"""/report in headless Chromium: the located grid's buildings, and a report made at a unit.

The live server's database is the demo city (committed, shared), so the incident made here
carries a unique tag in its description and only it is looked at.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.e2e.test_report_page import GRID, _inside, _login, _phone


def test_patrol_sees_the_grid_buildings_and_reports_at_a_unit(live_server, browser, demo_engine):
    with demo_engine.connect() as c:
        code, unit, lon, lat = c.execute(
            text(
                """
                SELECT b.code, max(u.number), ST_X(ST_PointOnSurface(b.geom)),
                       ST_Y(ST_PointOnSurface(b.geom))
                FROM buildings b JOIN building_units u ON u.building_id = b.id
                JOIN households h ON h.unit_id = u.id JOIN household_grid a
                  ON a.household_id = h.id JOIN grids g ON g.id = a.grid_id
                WHERE g.code = :g GROUP BY b.id HAVING count(DISTINCT u.id) >= 2
                ORDER BY b.code LIMIT 1
                """
            ),
            {"g": GRID},
        ).one()
    x, y = _inside(demo_engine, GRID)
    ctx, page, errors = _phone(browser, live_server, x, y)
    try:
        _login(page)
        page.wait_for_selector(f'#building-list li[data-building="{code}"]')
        assert page.locator("#building-list > li").count() > 1
        assert page.locator(f'#building-list li[data-building="{code}"] li[data-unit]').count() >= 2
        tag = f"unit-{uuid.uuid4().hex[:8]}"
        page.select_option("#category", "sanitation")
        page.select_option("#building", code)
        page.select_option("#unit", unit)
        page.fill("#description", tag)
        page.click("#submit")
        page.wait_for_selector(f'.outbox-item[data-state="acknowledged"]:has-text("{tag}")')
        with demo_engine.connect() as c:
            got = c.execute(
                text(
                    "SELECT b.code, u.number, g.code FROM incidents i "
                    "JOIN buildings b ON b.id = i.building_id "
                    "JOIN building_units u ON u.id = i.unit_id JOIN grids g ON g.id = i.grid_id "
                    "WHERE i.description = :d"
                ),
                {"d": tag},
            ).one()
        assert tuple(got) == (code, unit, GRID)
        # English labels follow the switch
        page.goto(live_server + "/report?lang=en")
        page.wait_for_selector(f'#building-list li[data-building="{code}"]')
        assert "Buildings of this grid" in page.inner_text("#buildings h2")
        assert not [e for e in errors if "favicon" not in e]
    finally:
        ctx.close()
