"""The in-memory bulk join gives exactly the SQL rule's answer: edges, vertices, gaps, outside.

The fixture has slanted shared edges (where a computed point is only *nearly* on the line and
the two implementations must still agree), a leaf with more vertices than ``ST_Subdivide``
keeps in one part (cut lines inside a grid), a gap between leaves (the street itself wins) and
points outside every grid.
"""

import numpy as np
import pytest
import shapely
from sqlalchemy import text

from gridgeo import bulk_join, point_join
from gridgeo.bulk_assign import assign_households

INSERT = text(
    """
    INSERT INTO grids (code, name, level_id, parent_id, geom, workers)
    SELECT :code, :code, l.id, (SELECT id FROM grids WHERE code = :parent AND valid_to IS NULL),
           ST_Multi(ST_GeomFromText(:wkt, 4326)), 0
    FROM levels l WHERE l.key = :level
    """
)

D, S1, S2 = "110101", "110101001", "110101002"
GRIDS = [
    (D, "district", None, "POLYGON((0 0, 4 0, 4 3, 0 3, 0 0))"),
    (S1, "street", D, "POLYGON((0 0, 2 0, 1.3 3, 0 3, 0 0))"),
    (S2, "street", D, "POLYGON((2 0, 4 0, 4 3, 1.3 3, 2 0))"),
    ("110101001001", "community", S1, "POLYGON((0 0, 1.1 0, 0.6 1.7, 0 1.5, 0 0))"),
    (
        "110101001002",
        "community",
        S1,
        "POLYGON((1.1 0, 2 0, 1.3 3, 0 3, 0 1.5, 0.6 1.7, 1.1 0))",
    ),
    ("110101002001", "community", S2, "POLYGON((2 0, 3 0, 2.7 3, 1.3 3, 2 0))"),
    # 200 vertices: ST_Subdivide(geom, 64) cuts it into parts; points on the cuts are inside
    ("110101002002", "community", S2, shapely.Point(3.5, 1.5).buffer(0.3, 50).wkt),
]


def _points() -> np.ndarray:
    rng = np.random.default_rng(7)
    out = []
    for *_, wkt in GRIDS:
        ring = np.asarray(shapely.from_wkt(wkt).exterior.coords)
        out.append(ring)  # every vertex
        a, b = ring[:-1], ring[1:]
        for t in (0.5, 0.1, 1 / 3, 0.77):  # on every edge, as nearly as floats allow
            out.append(a + t * (b - a))
    out.append(np.column_stack([rng.uniform(-0.5, 4.5, 400), rng.uniform(-0.5, 3.5, 400)]))
    out.append(np.array([[5.0, 1.0], [-1.0, -1.0], [2.0, 3.5], [4.0, 3.0000001]]))
    # on the cut lines of the subdivided leaf (x = 3.5 or y = 1.5 through its centre)
    out.append(np.column_stack([np.full(9, 3.5), np.linspace(1.21, 1.79, 9)]))
    out.append(np.column_stack([np.linspace(3.21, 3.79, 9), np.full(9, 1.5)]))
    return np.vstack(out)


def _setup(conn) -> np.ndarray:
    for code, level, parent, wkt in GRIDS:
        conn.execute(INSERT, {"code": code, "level": level, "parent": parent, "wkt": wkt})
    pts = _points()
    conn.execute(
        text("INSERT INTO households (location, external_id) VALUES (ST_Point(:x, :y, 4326), :e)"),
        [{"x": float(x), "y": float(y), "e": str(i)} for i, (x, y) in enumerate(pts)],
    )
    # an empty point (nothing covers it): counted, left without a grid, by both
    conn.execute(
        text("INSERT INTO households (location, external_id) VALUES ('SRID=4326;POINT EMPTY', :e)"),
        {"e": str(len(pts))},
    )
    return np.vstack([pts, [[np.nan, np.nan]]])


def _assigned(conn) -> dict[str, str | None]:
    rows = conn.execute(
        text(
            "SELECT h.external_id, g.code FROM households h "
            "LEFT JOIN household_grid a ON a.household_id = h.id "
            "LEFT JOIN grids g ON g.id = a.grid_id"
        )
    ).all()
    return dict(rows)


def test_memory_join_equals_sql_rule(conn):
    pts = _setup(conn)
    assert (
        conn.execute(text("SELECT count(*) FROM grid_parts WHERE code = '110101002002'")).scalar()
        > 1
    )
    sql_report = assign_households(conn, method="sql")
    by_sql = _assigned(conn)
    conn.execute(text("TRUNCATE household_grid"))
    mem_report = assign_households(conn)
    by_memory = _assigned(conn)
    differ = {
        k: (by_sql[k], by_memory[k], tuple(pts[int(k)]))
        for k in by_sql
        if by_sql[k] != by_memory[k]
    }
    assert differ == {}
    assert mem_report == sql_report
    # every kind of answer occurs: leaves, the street in its gap, none outside
    codes = set(by_sql.values())
    assert {S2, None, "110101001001", "110101002002"} <= codes
    # and it agrees with the SQL run over what is stored: nothing changes
    assert assign_households(conn).changed == 0
    assert assign_households(conn, method="sql").changed == 0


def test_memory_join_counts_changes_and_swaps_atomically(conn):
    _setup(conn)
    first = assign_households(conn)
    assert first.changed == first.assigned > 0
    conn.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(0, 0, 1.2, 1.5, 4326)) WHERE code = '110101001001'"
        )
    )
    again = assign_households(conn)
    with_sql = assign_households(conn, method="sql")
    assert again.changed > 0 and with_sql.changed == 0
    # the swapped table has its keys, index and cascading foreign keys back
    names = set(
        conn.execute(
            text("SELECT conname FROM pg_constraint WHERE conrelid = 'household_grid'::regclass")
        ).scalars()
    )
    assert {
        "household_grid_pkey",
        "household_grid_household_id_fkey",
        "household_grid_grid_id_fkey",
    } <= names


def test_packed_rows_of_the_wrong_width_are_refused(conn):
    import pytest

    with pytest.raises(ValueError, match="16-byte records"):
        bulk_join._fetch_packed(
            conn, "SELECT '\\x0102'::bytea WHERE %(lo)s < %(hi)s", "SELECT 1, 2", bulk_join._PAIR
        )


def test_reads_in_blocks_of_ids_miss_nobody(conn, monkeypatch):
    pts = _setup(conn)
    monkeypatch.setattr(bulk_join, "BLOCK", 7)  # many blocks, some empty, one partial
    ids, x, _ = bulk_join.read_households(conn)
    assert len(ids) == len(pts) == len(set(ids.tolist()))
    assert np.isnan(x).sum() == 1  # the empty point


def test_rank_points_takes_smallest_covering_rank():
    parts = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(0, 0, 2, 1)])
    shapely.prepare(parts)
    x = np.array([0.5, 1.0, 1.5, 3.0, 1.0])
    y = np.array([0.5, 0.5, 0.5, 0.5, 1.0])
    got = point_join.rank_points(x, y, parts, chunk=2)
    assert got.tolist() == [0, 0, 1, -1, 0]
    # the first two are the leaves: the third only answers what they leave
    parts = np.array([shapely.box(0, 0, 1, 1), shapely.box(1.6, 0, 2, 1), shapely.box(0, 0, 2, 1)])
    shapely.prepare(parts)
    got = point_join.rank_points(x, y, parts, leaves=2, chunk=3)
    assert got.tolist() == [0, 0, 2, -1, 0]


def test_read_and_join_overlap_in_many_batches_with_the_same_answer(conn, monkeypatch):
    """The households arrive in many small batches (a thread reads while this one joins)."""
    pts = _setup(conn)
    assign_households(conn, method="sql")
    by_sql = _assigned(conn)
    deleted = conn.execute(text("DELETE FROM household_grid WHERE household_id % 3 = 0")).rowcount
    kept = len([v for v in by_sql.values() if v is not None]) - deleted
    monkeypatch.setattr(bulk_join, "BLOCK", 5)
    monkeypatch.setattr(bulk_join, "BATCH_MIN", 11)  # batches of 3 blocks, the last partial
    monkeypatch.setattr(bulk_join, "BATCH_MAX", 11)
    monkeypatch.setattr(bulk_join, "QUEUED", 1)
    answer = bulk_join.join_households(conn, assigned=True)
    assert len(answer.household_ids) == len(pts)
    assert answer.old is not None and len(answer.old[0]) == kept  # read in the same pass
    assert np.all(np.diff(answer.household_ids) > 0)
    report = assign_households(conn)
    assert _assigned(conn) == by_sql
    assert deleted > 0 and report.changed == deleted


def test_a_failed_read_in_the_reading_thread_is_raised_and_leaves_the_table(conn, monkeypatch):
    import psycopg
    import pytest

    _setup(conn)
    assign_households(conn)
    before = _assigned(conn)
    monkeypatch.setattr(bulk_join, "BLOCK", 5)
    monkeypatch.setattr(bulk_join, "BATCH_MIN", 5)
    monkeypatch.setattr(bulk_join, "BATCH_MAX", 5)
    # the third block's statement fails on the server, mid-stream
    third = "1 / (%(lo)s - (SELECT min(id) + 10 FROM households)) IS NOT NULL"
    bad = bulk_join.HOUSEHOLDS_SQL.replace("WHERE id", f"WHERE {third} AND id")
    monkeypatch.setattr(bulk_join, "HOUSEHOLDS_SQL", bad)
    conn.execute(text("SAVEPOINT s"))
    with pytest.raises(psycopg.errors.DivisionByZero):
        assign_households(conn)
    conn.execute(text("ROLLBACK TO SAVEPOINT s"))
    assert _assigned(conn) == before


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_few_changes_are_patched_in_place_many_rewrite_the_table(conn, monkeypatch, share):
    """Below PATCH_SHARE only the changed rows are written; above it the table is swapped."""
    import gridgeo.bulk_assign as bulk_assign

    _setup(conn)
    assign_households(conn)
    table_before = conn.execute(text("SELECT 'household_grid'::regclass::oid")).scalar()
    conn.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(0, 0, 1.2, 1.5, 4326)) WHERE code = '110101001001'"
        )
    )
    monkeypatch.setattr(bulk_assign, "PATCH_SHARE", share)
    again = assign_households(conn)
    patched = "patch" in again.seconds
    assert patched == (share == 1.0)
    table_after = conn.execute(text("SELECT 'household_grid'::regclass::oid")).scalar()
    assert (table_after == table_before) == patched
    by_memory = _assigned(conn)
    assert again.changed > 0
    assert assign_households(conn, method="sql").changed == 0
    assert _assigned(conn) == by_memory


def test_a_first_assignment_is_copied_batch_by_batch_while_joining(conn, monkeypatch):
    """Nothing stored: the new table is written as batches are joined (after the reading)."""
    _setup(conn)
    assign_households(conn, method="sql")
    by_sql = _assigned(conn)
    conn.execute(text("TRUNCATE household_grid"))
    monkeypatch.setattr(bulk_join, "BLOCK", 5)
    monkeypatch.setattr(bulk_join, "BATCH_MIN", 11)
    monkeypatch.setattr(bulk_join, "BATCH_MAX", 11)
    monkeypatch.setattr(bulk_join, "QUEUED", 1)
    written: list[int] = []
    copy = bulk_join.write_assignment

    def counting(conn_, table, answer, every=False):
        written.append(len(answer.household_ids))
        return copy(conn_, table, answer, every)

    monkeypatch.setattr(bulk_join, "write_assignment", counting)
    report = assign_households(conn)
    assert len(written) > 3 and sum(written) == len(by_sql)  # every batch, once
    assert "copy_in" in report.seconds and "patch" not in report.seconds
    assert _assigned(conn) == by_sql
    assert report.changed == report.assigned == sum(1 for v in by_sql.values() if v is not None)


@pytest.mark.parametrize("fails", ["read", "write"])
def test_a_failure_while_reading_or_writing_batches_is_raised_and_leaves_nothing(
    conn, monkeypatch, fails
):
    """Nothing stored (the writing thread is on): a failed read or COPY ends the assignment."""
    import psycopg

    _setup(conn)
    monkeypatch.setattr(bulk_join, "BLOCK", 5)
    monkeypatch.setattr(bulk_join, "BATCH_MIN", 5)
    monkeypatch.setattr(bulk_join, "BATCH_MAX", 5)
    if fails == "read":
        third = "1 / (%(lo)s - (SELECT min(id) + 10 FROM households)) IS NOT NULL"
        bad = bulk_join.HOUSEHOLDS_SQL.replace("WHERE id", f"WHERE {third} AND id")
        monkeypatch.setattr(bulk_join, "HOUSEHOLDS_SQL", bad)
        expected: type[Exception] = psycopg.errors.DivisionByZero
    else:
        copy = bulk_join.write_assignment
        written: list[int] = []

        def second_fails(conn_, table, answer, every=False):
            written.append(1)
            if len(written) == 2:
                raise RuntimeError("the disk is full")
            return copy(conn_, table, answer, every)

        monkeypatch.setattr(bulk_join, "write_assignment", second_fails)
        expected = RuntimeError
    conn.execute(text("SAVEPOINT s"))
    with pytest.raises(expected):
        assign_households(conn)
    conn.execute(text("ROLLBACK TO SAVEPOINT s"))
    assert conn.execute(text("SELECT count(*) FROM household_grid")).scalar() == 0
    assert conn.execute(text("SELECT count(*) FROM grid_households")).scalar() == 0
    assert conn.execute(text("SELECT to_regclass('household_grid_next')")).scalar() is None
