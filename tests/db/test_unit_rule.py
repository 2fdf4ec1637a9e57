"""The rule extended once: ``gridgeo_place(point, unit)`` (migration 0018)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from tests.helpers import G1, G2, add_strip_city

PT = "ST_SetSRID(ST_MakePoint(:x, :y), 4326)"


def _place(conn: Connection, x: float, y: float, unit: int | None) -> str | None:
    return conn.execute(
        text(f"SELECT code FROM gridgeo_place({PT}, :u)"), {"x": x, "y": y, "u": unit}
    ).scalar()


def _tower(conn: Connection) -> list[int]:
    """A tower in G1 (x 0..1) with two units; returns the unit ids."""
    bid = conn.execute(
        text(
            "INSERT INTO buildings (code, number, geom) VALUES "
            "('T-1', '1', ST_GeomFromText('POLYGON((0.4 0.4,0.6 0.4,0.6 0.6,0.4 0.6,0.4 0.4))',"
            " 4326)) RETURNING id"
        )
    ).scalar()
    return list(
        conn.execute(
            text(
                "INSERT INTO building_units (building_id, number, households) "
                "VALUES (:b, '1', 60), (:b, '2', 60) RETURNING id"
            ),
            {"b": bid},
        ).scalars()
    )


def test_a_unit_assigned_to_another_grid_wins_over_the_point(conn: Connection) -> None:
    add_strip_city(conn)
    u1, u2 = _tower(conn)
    assert _place(conn, 0.5, 0.5, None) == G1
    assert _place(conn, 0.5, 0.5, u2) == G1  # no explicit assignment: the leaf rule
    conn.execute(
        text(
            "INSERT INTO unit_grids (unit_id, grid_id) SELECT :u, id FROM current_grids WHERE code = :g"
        ),
        {"u": u2, "g": G2},
    )
    assert _place(conn, 0.5, 0.5, u2) == G2
    assert _place(conn, 0.5, 0.5, u1) == G1
    assert _place(conn, 9.0, 9.0, u2) == G2  # the unit decides even where no grid covers
    # a closed assignment no longer counts
    conn.execute(text("UPDATE unit_grids SET valid_to = now() WHERE unit_id = :u"), {"u": u2})
    assert _place(conn, 0.5, 0.5, u2) == G1
    # a retired grid's assignment does not count either
    conn.execute(
        text(
            "INSERT INTO unit_grids (unit_id, grid_id) SELECT :u, id FROM current_grids WHERE code = :g"
        ),
        {"u": u2, "g": G2},
    )
    conn.execute(text("UPDATE grids SET valid_to = now() WHERE code = :g"), {"g": G2})
    assert _place(conn, 0.5, 0.5, u2) == G1


def test_gridgeo_place_is_inlined(conn: Connection) -> None:
    add_strip_city(conn)
    sql = (
        "SELECT h.id, f.grid_id FROM households h "
        "LEFT JOIN LATERAL gridgeo_place(h.location, h.unit_id) f ON true"
    )
    plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")).all())
    assert "Function Scan" not in plan, plan
    assert "unit_grids" in plan and "grid_parts" in plan, plan


def test_bulk_assignment_in_memory_places_units_as_the_sql_statements_do(
    conn: Connection, monkeypatch
) -> None:
    """From nothing stored (batches written while joined) and over a stored answer."""
    from gridgeo import bulk_join
    from gridgeo.bulk_assign import assign_households

    add_strip_city(conn)
    u1, u2 = _tower(conn)
    conn.execute(
        text(
            "INSERT INTO households (location, household_count, unit_id) VALUES "
            "(ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326), 60, :u1),"
            "(ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326), 60, :u2),"
            "(ST_SetSRID(ST_MakePoint(0.45, 0.55), 4326), 1, NULL)"
        ),
        {"u1": u1, "u2": u2},
    )
    conn.execute(
        text(
            "INSERT INTO unit_grids (unit_id, grid_id) SELECT :u, id FROM current_grids WHERE code = :g"
        ),
        {"u": u2, "g": G2},
    )
    placed = (
        "SELECT h.unit_id, g.code FROM households h JOIN household_grid a ON a.household_id = h.id "
        "JOIN grids g ON g.id = a.grid_id ORDER BY h.id"
    )
    assign_households(conn, method="sql")
    by_sql = conn.execute(text(placed)).all()
    assert [r[1] for r in by_sql] == [G1, G2, G1]
    monkeypatch.setattr(bulk_join, "BLOCK", 1)
    monkeypatch.setattr(bulk_join, "BATCH_MIN", 1)
    monkeypatch.setattr(bulk_join, "BATCH_MAX", 1)
    conn.execute(text("TRUNCATE household_grid"))
    first = assign_households(conn)
    assert conn.execute(text(placed)).all() == by_sql and first.changed == 3
    again = assign_households(conn)
    assert conn.execute(text(placed)).all() == by_sql and again.changed == 0
