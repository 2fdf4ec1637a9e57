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
