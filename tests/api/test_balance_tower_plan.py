"""The issue's path end to end (HTTP): a community with a tower too big for one grid is balanced
at 300 households per worker; the plan keeps the tower whole in one grid and moves some of its
units to another by unit assignments; it previews clean and commits; a report at the tower with
a unit lands in the grid that holds that unit."""

from __future__ import annotations

from sqlalchemy import text

from gridgeo.bulk_assign import assign_households
from tests.plan_city import A, C, S, add_plan_city, box


def _tower(conn) -> None:
    """A tower of 4 units × 90 households in grid A (its stairwells 8 m apart)."""
    x0, y0, x1, y1 = box(A)
    cx, cy, d = (x0 + x1) / 2, (y0 + y1) / 2, 0.00008
    bid = conn.execute(
        text(
            "INSERT INTO buildings (code, number, name, compound, floors, geom) VALUES "
            "('XF-8', '8', '幸福小区8号楼', '幸福小区', 30, ST_MakeEnvelope(:a, :b, :c, :d, 4326)) "
            "RETURNING id"
        ),
        {"a": cx - 2.5 * d, "b": cy - d, "c": cx + 2.5 * d, "d": cy + d},
    ).scalar_one()
    for j in range(1, 5):
        uid = conn.execute(
            text(
                "INSERT INTO building_units (building_id, number, households) "
                "VALUES (:b, :n, 90) RETURNING id"
            ),
            {"b": bid, "n": str(j)},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO households (location, household_count, building_id, unit_id) "
                "VALUES (ST_SetSRID(ST_MakePoint(:x, :y), 4326), 90, :b, :u)"
            ),
            {"x": cx + (j - 2.5) * d, "y": cy, "b": bid, "u": uid},
        )
    assign_households(conn)


def test_balance_splits_a_tower_by_unit_commits_and_a_report_follows(client, conn, login_as):
    add_plan_city(conn)  # 4 grids of 100 households
    _tower(conn)  # + 360: 760 households, 3 grids of 300 → 228–279 each (±10 % of 253)
    planner = login_as("planner", S)
    r = client.post("/balance?plan=true&lang=zh", json={"area": C, "target": 300}, headers=planner)
    assert r.status_code == 200, r.text
    body = r.json()
    s = body["summary"]
    assert s["k"] == 3 and s["every_grid_within_band"], s
    [tower] = s["split_buildings"]
    assert tower["code"] == "XF-8"
    assert body["preview"]["ok"], body["preview"]
    pid = body["plan"]["id"]
    moved = dict(
        conn.execute(
            text(
                "SELECT u.number, pu.grid_code FROM plan_units pu "
                "JOIN building_units u ON u.id = pu.unit_id WHERE pu.plan_id = :p"
            ),
            {"p": pid},
        ).all()
    )
    assert moved and set(moved) < {"1", "2", "3", "4"}
    r = client.post(f"/plans/{pid}/commit", json={"message": "平衡:8号楼按单元拆分"},
                    headers=planner)  # fmt: skip
    assert r.status_code == 200, r.text
    # every grid of the community within the band, by the stored assignment
    loads = conn.execute(
        text(
            "SELECT g.code, sum(h.household_count) FROM household_grid a "
            "JOIN current_grids g ON g.id = a.grid_id JOIN households h ON h.id = a.household_id "
            "WHERE starts_with(g.code, :c) GROUP BY g.code"
        ),
        {"c": C},
    ).all()
    assert len(loads) == 3 and all(228 <= n <= 279 for _, n in loads), loads
    # the tower lies in one grid; the moved units' households are in their grids
    home = conn.execute(
        text(
            "SELECT g.code FROM current_grids g, buildings b WHERE b.code = 'XF-8' "
            "AND ST_Covers(g.geom, b.geom) AND NOT EXISTS "
            "(SELECT 1 FROM current_grids c WHERE c.parent_id = g.id)"
        )
    ).scalar_one()
    assert home not in moved.values()
    # a report at the tower with a moved unit lands in the grid that holds the unit
    number, grid = sorted(moved.items())[0]
    x0, y0, x1, y1 = box(A)
    at = {"lon": (x0 + x1) / 2, "lat": (y0 + y1) / 2, "category": "sanitation"}
    r = client.post("/incidents", json=at | {"building": "XF-8", "unit": number},
                    headers=login_as("admin"))  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["grid"] == grid
    kept = next(u for u in ("1", "2", "3", "4") if u not in moved)
    r = client.post("/incidents", json=at | {"building": "XF-8", "unit": kept},
                    headers=login_as("admin"))  # fmt: skip
    assert r.json()["grid"] == home
