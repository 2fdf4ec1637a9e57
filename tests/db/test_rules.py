"""The spatial rules of gridgeo/rules.py, as the SQL functions of migration 0012 state them."""

from __future__ import annotations

from sqlalchemy import Connection, text

from tests.helpers import C1, C2, G1, G2, G3, S1, D, add_strip_city

PT = "ST_SetSRID(ST_MakePoint(:x, :y), 4326)"


def _leaf(conn: Connection, x: float, y: float) -> str | None:
    return conn.execute(text(f"SELECT code FROM gridgeo_leaf({PT})"), {"x": x, "y": y}).scalar()


def test_a_point_on_a_shared_edge_goes_to_the_deepest_grid_then_the_smallest_code(
    conn: Connection,
) -> None:
    add_strip_city(conn)  # G1 | G2 in C1, G3 in C2, on x = 0..1 | 1..2 | 2..3
    assert _leaf(conn, 0.5, 0.5) == G1
    assert _leaf(conn, 1.0, 0.5) == G1  # G1 | G2: the smaller code
    assert _leaf(conn, 2.0, 0.5) == G2  # G2 | G3, across communities too
    assert _leaf(conn, 5.0, 0.5) is None
    # a community without grids below it is the leaf where it is the deepest cover
    conn.execute(text("UPDATE grids SET valid_to = now() WHERE code = :c"), {"c": G3})
    assert _leaf(conn, 2.5, 0.5) == C2
    assert _leaf(conn, 2.0, 0.5) == G2  # a grid (deeper) beats the community on their edge
    key = "SELECT gridgeo_leaf_key(:d, :c)"
    deeper = conn.execute(text(key), {"d": 3, "c": "9"}).scalar()
    assert deeper < conn.execute(text(key), {"d": 2, "c": "1"}).scalar()


def test_chain_ancestor_and_nearest(conn: Connection) -> None:
    add_strip_city(conn)
    gid = conn.execute(text("SELECT id FROM current_grids WHERE code = :c"), {"c": G2}).scalar()
    chain = conn.execute(
        text("SELECT code, level FROM gridgeo_chain(:g) ORDER BY depth"), {"g": gid}
    ).all()
    assert [tuple(r) for r in chain] == [
        (D, "district"), (S1, "street"), (C1, "community"), (G2, "grid")
    ]  # fmt: skip
    up = "SELECT gridgeo_ancestor_code(:g, :n)"
    assert [conn.execute(text(up), {"g": gid, "n": n}).scalar() for n in range(6)] == [
        G2, C1, S1, D, D, D
    ]  # fmt: skip
    near = conn.execute(
        text(f"SELECT code, metres FROM gridgeo_nearest({PT})"), {"x": 3.001, "y": 0.5}
    ).one()
    assert near[0] == G3 and 100 < near[1] < 120  # 0.001° of longitude at the equator: 111 m


def test_the_rules_are_inlined_into_the_statements_that_use_them(conn: Connection) -> None:
    """Composing a rule costs nothing: PostgreSQL plans it as the subquery it stands for."""
    add_strip_city(conn)
    for sql in (
        f"SELECT * FROM gridgeo_leaf({PT})",
        f"SELECT c.* FROM gridgeo_leaf({PT}) l CROSS JOIN LATERAL gridgeo_chain(l.grid_id) c",
        f"SELECT * FROM gridgeo_nearest({PT})",
        "SELECT h.id, f.grid_id FROM households h LEFT JOIN LATERAL gridgeo_leaf(h.location) f "
        "ON true",
    ):
        plan = "\n".join(
            r[0] for r in conn.execute(text(f"EXPLAIN {sql}"), {"x": 0.5, "y": 0.5}).all()
        )
        assert "Function Scan" not in plan, plan
        assert "grid_parts" in plan or "grids" in plan, plan
