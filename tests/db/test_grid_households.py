"""``grid_households`` (migration 0029) always equals the sum it replaces.

Every path that writes assignments is taken - the in-memory join (table swapped, and changes
patched in place), the SQL statements (everything, and one area), a household's count changed,
households deleted, a grid deleted, the table truncated - and after each the kept sums are
compared with the sum over ``household_grid`` joined to ``households``.
"""

import pytest
from sqlalchemy import text

import gridgeo.bulk_assign as bulk_assign
from gridgeo.bulk_assign import assign_households
from tests.db.test_bulk_join import _setup

TRUTH = """
SELECT a.grid_id, sum(h.household_count)::bigint, count(*)::bigint
FROM household_grid a JOIN households h ON h.id = a.household_id GROUP BY 1 ORDER BY 1
"""
KEPT = "SELECT grid_id, households, points FROM grid_households ORDER BY 1"


def _check(conn) -> list[tuple[int, int, int]]:
    truth = [tuple(r) for r in conn.execute(text(TRUTH)).all()]
    kept = [tuple(r) for r in conn.execute(text(KEPT)).all()]
    assert kept == truth
    weights = conn.execute(
        text(
            "SELECT count(*) FROM household_grid a JOIN households h ON h.id = a.household_id "
            "WHERE a.households <> h.household_count"
        )
    ).scalar()
    assert weights == 0
    return kept


def _triggers(conn) -> int:
    return conn.execute(
        text(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'household_grid'::regclass "
            "AND NOT tgisinternal"
        )
    ).scalar()


def test_kept_sums_follow_every_write(conn, monkeypatch):
    _setup(conn)
    conn.execute(text("UPDATE households SET household_count = 1 + id % 4"))
    assert _check(conn) == []
    assign_households(conn)  # the first: the table is swapped
    first = _check(conn)
    assert first and sum(r[1] for r in first) > sum(r[2] for r in first)  # weights count
    assert _triggers(conn) == 5

    conn.execute(text("UPDATE households SET household_count = 7 WHERE id % 5 = 0"))
    _check(conn)
    conn.execute(text("DELETE FROM households WHERE id % 11 = 0"))
    _check(conn)

    redraw = "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(0, 0, 1.2, 1.5, 4326)) WHERE code = '110101001001'"
    conn.execute(text(redraw))
    monkeypatch.setattr(bulk_assign, "PATCH_SHARE", 1.0)  # changes written in place
    assert "patch" in assign_households(conn).seconds
    patched = _check(conn)
    assert patched != first
    conn.execute(text("TRUNCATE household_grid"))
    assert _check(conn) == []
    monkeypatch.setattr(bulk_assign, "PATCH_SHARE", 0.0)
    assert "swap_index" in assign_households(conn).seconds
    assert _check(conn) == patched and _triggers(conn) == 5

    assign_households(conn, method="sql")  # swapped by the SQL statements
    assert _check(conn) == patched and _triggers(conn) == 5
    conn.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(0, 0, 1.1, 1.4, 4326)) WHERE code = '110101001001'"
        )
    )
    assign_households(conn, area_wkt="POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))")
    _check(conn)

    leaf = conn.execute(text("SELECT id FROM grids WHERE code = '110101002002'")).scalar()
    assert (
        conn.execute(
            text("SELECT count(*) FROM grid_households WHERE grid_id = :g"), {"g": leaf}
        ).scalar()
        == 1
    )
    conn.execute(text("DELETE FROM grids WHERE id = :g"), {"g": leaf})  # assignments cascade
    _check(conn)


def test_an_assignment_written_without_its_weight_takes_the_households_count(conn):
    _setup(conn)
    hid, grid = conn.execute(
        text("SELECT h.id, g.id FROM households h, grids g WHERE g.code = '110101001001' LIMIT 1")
    ).one()
    conn.execute(text("UPDATE households SET household_count = 3 WHERE id = :h"), {"h": hid})
    conn.execute(
        text("INSERT INTO household_grid (household_id, grid_id) VALUES (:h, :g)"),
        {"h": hid, "g": grid},
    )
    assert _check(conn) == [(grid, 3, 1)]
    with pytest.raises(Exception, match="households"):
        conn.execute(text("SAVEPOINT s"))
        conn.execute(
            text("UPDATE household_grid SET households = NULL WHERE household_id = :h"),
            {"h": hid},
        )
    conn.execute(text("ROLLBACK TO SAVEPOINT s"))


def test_sums_of_an_answer_by_dense_and_by_sparse_grid_ids():
    import numpy as np

    from gridgeo.bulk_join import Answer

    ids = np.arange(8, dtype=np.int64)
    weights = np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=np.int64)
    for big in (0, 10**12):  # dense ids count by position, sparse ones are sorted first
        grids = np.array([5, 5, -1, 3, 9, 3, 5, -1], dtype=np.int64) + big * (np.arange(8) >= 0)
        grids[[2, 7]] = -1
        got = Answer(ids, grids, weights=weights).sums()
        assert [g.tolist() for g in got] == [
            [3 + big, 5 + big, 9 + big],
            [4 + 6, 1 + 2 + 7, 5],
            [2, 3, 1],
        ]
