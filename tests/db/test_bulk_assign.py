"""Bulk assignment: edge points, gaps, outside points, area scope, repeated runs."""

from sqlalchemy import text

from gridgeo.assign import locate
from gridgeo.bulk_assign import assign_households
from tests.helpers import add_strip


def _assigned(conn):
    rows = conn.execute(
        text(
            """
            SELECT h.external_id, g.code FROM households h
            LEFT JOIN household_grid a ON a.household_id = h.id
            LEFT JOIN grids g ON g.id = a.grid_id ORDER BY h.external_id
            """
        )
    ).all()
    return dict(rows)


def test_bulk_matches_locate_on_edges_gaps_and_outside(conn):
    add_strip(conn, "110101", "district", 0, 3)
    add_strip(conn, "110101001", "street", 0, 1, "110101")
    add_strip(conn, "110101002", "street", 1, 2, "110101")
    # x in 2..3 is a gap: no street covers it, so the district itself is the deepest grid
    pts = {
        "inside": (0.5, 0.5),
        "edge": (1.0, 0.5),  # shared edge: deepest, then smallest code
        "corner": (1.0, 1.0),
        "gap": (2.5, 0.5),
        "outside": (5.0, 0.5),
    }
    for ext, (x, y) in pts.items():
        conn.execute(
            text(
                "INSERT INTO households (location, external_id) VALUES (ST_Point(:x, :y, 4326), :e)"
            ),
            {"x": x, "y": y, "e": ext},
        )
    report = assign_households(conn)
    assert (report.households, report.assigned, report.unassigned, report.changed) == (5, 4, 1, 4)
    assert report.unassigned_sample[0][1] == "110101"
    got = _assigned(conn)
    assert got == {
        "inside": "110101001",
        "edge": "110101001",
        "corner": "110101001",
        "gap": "110101",
        "outside": None,
    }
    for ext, (x, y) in pts.items():
        leaf = locate(conn, x, y).leaf
        assert (leaf.code if leaf else None) == got[ext], ext
    # run again in the same transaction: nothing changes
    again = assign_households(conn)
    assert again.changed == 0 and _assigned(conn) == got


def test_area_scope_reassigns_only_inside(conn):
    add_strip(conn, "110101", "district", 0, 2)
    add_strip(conn, "110101001", "street", 0, 1, "110101")
    add_strip(conn, "110101002", "street", 1, 2, "110101")
    for ext, x in (("a", 0.5), ("b", 1.5), ("c", 0.9)):
        conn.execute(
            text(
                "INSERT INTO households (location, external_id) VALUES (ST_Point(:x, 0.5, 4326), :e)"
            ),
            {"x": x, "e": ext},
        )
    assign_households(conn)
    # move the shared boundary to x = 0.8: c now lies in street 2
    conn.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(0, 0, 0.8, 1, 4326)) WHERE code = '110101001';"
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(0.8, 0, 2, 1, 4326)) WHERE code = '110101002'"
        )
    )
    rep = assign_households(conn, area_wkt="POLYGON((0.7 0, 1.1 0, 1.1 1, 0.7 1, 0.7 0))")
    assert (rep.households, rep.changed) == (1, 1)
    assert _assigned(conn) == {"a": "110101001", "b": "110101002", "c": "110101002"}


def test_deleting_a_household_or_grid_cascades(conn):
    add_strip(conn, "110101", "district", 0, 1)
    conn.execute(text("INSERT INTO households (location) VALUES (ST_Point(0.5, 0.5, 4326))"))
    assign_households(conn)
    conn.execute(text("DELETE FROM households"))
    assert conn.execute(text("SELECT count(*) FROM household_grid")).scalar() == 0
