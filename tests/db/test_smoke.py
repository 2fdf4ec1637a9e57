from sqlalchemy import text

from gridgeo.assign import locate
from gridgeo.bulk_assign import assign_households


def test_parts_trigger_and_locate(conn):
    conn.execute(
        text(
            """
            INSERT INTO grids (code, name, level_id, geom)
            SELECT '110101', 'A', id, ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326))
            FROM levels WHERE key = 'district'
            """
        )
    )
    assert conn.execute(text("SELECT count(*) FROM grid_parts")).scalar() >= 1
    loc = locate(conn, 0.5, 0.5)
    assert [c.code for c in loc.chain] == ["110101"]
    out = locate(conn, 2.0, 0.5)
    assert out.chain == () and out.nearest is not None and out.nearest.code == "110101"
    assert 110_000 < out.nearest.distance_m < 112_000
    conn.execute(
        text(
            "INSERT INTO households (location) VALUES (ST_Point(0.2, 0.2, 4326)), (ST_Point(5, 5, 4326))"
        )
    )
    rep = assign_households(conn)
    assert (rep.households, rep.assigned, rep.unassigned) == (2, 1, 1)
