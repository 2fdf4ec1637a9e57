"""Set-based (re)assignment of all households to leaf grids, in PostGIS.

Why this shape (measured with ``bench/assign.py``: 10,000 grids, 1,000,000 points):

- The join is driven from the leaf polygon parts into the GiST index on household points
  (``LATERAL ... OFFSET 0`` keeps the planner from flattening it into a point-driven join), so
  PostGIS reuses one prepared polygon for the ~150 candidate points of each part. Driven from
  the points it rebuilds a polygon per test and is ~8x slower.
- The join and the choice per point (deepest level, then smallest code) are one query into a
  temporary table: no table of all hits, no second pass over the points.
- Points in no leaf part (outside the city, or in a gap between leaves) are found with one
  anti-join, which also gives the scope's total; only they take the fallback over every level.
- Assignments live in the narrow table ``household_grid``. Reassigning everything builds a new
  table with no index or trigger, then swaps it in and indexes it once (a million rows written
  as a row each into ``households`` cost 17 s: a row version, an entry in every index - the GiST
  on points above all - and a foreign-key check each). Reassigning an area deletes and inserts
  only the rows that change. The swapped table's foreign keys are ``NOT VALID``: its rows come
  from the grid parts in this transaction, so they are valid by construction.
- Reassigning everything evaluates the same rule in memory (:mod:`gridgeo.bulk_join`: rows
  read with binary COPY, a shapely STRtree, prepared parts, the answer written with binary
  COPY into the table swapped in): at 1,000,000 households / 10,000 grids the SQL join took
  3-4 s, the in-memory one well under a second (bench/assign.py, docs/benchmarks.md). The SQL
  statements stay for an area, and as the reference the in-memory join is tested against
  (``method="sql"``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, text

from gridgeo import bulk_join
from gridgeo.assign import NEAREST_SQL
from gridgeo.buildings.rules import apply_unit_grids, unit_grid_overrides

AREA = "ST_GeomFromText(:area, 4326)"

# Memory for the statements below (restored afterwards): the sort of a million hits and the
# hash of a million ids stay in memory instead of spilling to temporary files.
LOCAL_SETTINGS = {"work_mem": "256MB"}
# The swapped table's primary key and index are built by sorting every row: 10,000,000 rows
# overflow the default 64MB and sort on disk.
SWAP_SETTINGS = {"maintenance_work_mem": "512MB"}

# 1. For each household in scope covered by a leaf part, its grid by the rule of
#    gridgeo.rules: the first covering part by leaf_key.
PICK_SQL = """
CREATE TEMP TABLE _pick ON COMMIT DROP AS
SELECT DISTINCT ON (x.hid) x.hid, x.grid_id
FROM grid_parts p
CROSS JOIN LATERAL (
    SELECT h.id AS hid, p.grid_id, p.leaf_key
    FROM households h
    WHERE ST_Covers(p.geom, h.location) {scope_h}
    OFFSET 0
) x
WHERE NOT EXISTS (
    SELECT 1 FROM current_grids c WHERE c.parent_id = p.grid_id
) {scope_p}
ORDER BY x.hid, x.leaf_key
"""

# 2. Households in scope in no leaf part: the deepest covering grid of any level, else NULL.
MISS_SQL = """
CREATE TEMP TABLE _miss ON COMMIT DROP AS
SELECT h.id AS hid, f.grid_id
FROM households h
LEFT JOIN LATERAL gridgeo_leaf(h.location) f ON true
WHERE NOT EXISTS (SELECT 1 FROM _pick k WHERE k.hid = h.id) {scope_h}
"""

# The new answer: every household in scope, with its grid or NULL.
# 3. How many households change grid (NULL = outside every grid).
CHANGED_SQL = """
SELECT count(*) FROM (SELECT hid, grid_id FROM _pick UNION ALL SELECT hid, grid_id FROM _miss) n LEFT JOIN household_grid a ON a.household_id = n.hid
WHERE a.grid_id IS DISTINCT FROM n.grid_id
"""

# Is any assignment stored? (None: a full reassignment rebuilds the table whatever it finds.)
STORED_SQL = "SELECT EXISTS (SELECT 1 FROM household_grid)"

# 4a. Everything: build the next table unindexed, swap it in, index it once.
NEXT_TABLE_SQL = "CREATE TABLE household_grid_next (LIKE household_grid INCLUDING DEFAULTS)"
FILL_NEXT_SQL = """
    INSERT INTO household_grid_next (household_id, grid_id, households)
    SELECT n.hid, n.grid_id, h.household_count
    FROM (SELECT hid, grid_id FROM _pick UNION ALL SELECT hid, grid_id FROM _miss) n
    JOIN households h ON h.id = n.hid
    WHERE n.grid_id IS NOT NULL ORDER BY n.hid
"""
SWAP_IN_SQL = (
    "DROP TABLE household_grid",
    "ALTER TABLE household_grid_next RENAME TO household_grid",
    "ALTER TABLE household_grid ADD CONSTRAINT household_grid_pkey PRIMARY KEY (household_id)",
    "CREATE INDEX ix_household_grid_grid_id ON household_grid (grid_id)",
    """
    ALTER TABLE household_grid ADD CONSTRAINT household_grid_household_id_fkey
    FOREIGN KEY (household_id) REFERENCES households (id) ON DELETE CASCADE NOT VALID
    """,
    """
    ALTER TABLE household_grid ADD CONSTRAINT household_grid_grid_id_fkey
    FOREIGN KEY (grid_id) REFERENCES grids (id) ON DELETE CASCADE NOT VALID
    """,
)
# The triggers of household_grid (0029: they keep grid_households) as the database states them,
# re-created on the table swapped in.
TRIGGERS_SQL = """
SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
WHERE t.tgrelid = 'household_grid'::regclass AND NOT t.tgisinternal ORDER BY t.tgname
"""
# After a swap by the SQL statements: the sums again from the new table.
SUMS_SQL = (
    "DELETE FROM grid_households",
    """
    INSERT INTO grid_households (grid_id, households, points)
    SELECT grid_id, sum(households), count(*) FROM household_grid GROUP BY grid_id
    """,
)

# 4c. Everything, when few households change (a redraw moves a few streets' worth, a re-run
#     none): only the changed rows are written, in place. Rewriting the table costs the same
#     whatever changed (10,000,000 rows: COPY 4.7 s + the swap's index builds 10.7 s); a row
#     updated in place costs its two index entries, so below this share of the stored rows
#     the patch is the cheaper write (measured: see docs/benchmarks.md).
PATCH_SHARE = 0.05
CHANGES_TABLE_SQL = (
    "CREATE TEMP TABLE _changes (household_id bigint PRIMARY KEY, grid_id bigint NOT NULL,"
    " households integer NOT NULL) ON COMMIT DROP"
)
APPLY_CHANGES_SQL = (
    """
    DELETE FROM household_grid a USING _changes c
    WHERE a.household_id = c.household_id AND c.grid_id < 0
    """,
    """
    INSERT INTO household_grid (household_id, grid_id, households)
    SELECT household_id, grid_id, households FROM _changes WHERE grid_id >= 0
    ON CONFLICT (household_id) DO UPDATE SET grid_id = EXCLUDED.grid_id
    """,
    "DROP TABLE _changes",
)

# 4b. An area: delete the rows that change, insert the new ones.
PATCH_SQL = (
    """
    DELETE FROM household_grid a USING (SELECT hid, grid_id FROM _pick UNION ALL SELECT hid, grid_id FROM _miss) n
    WHERE a.household_id = n.hid AND a.grid_id IS DISTINCT FROM n.grid_id
    """,
    """
    INSERT INTO household_grid (household_id, grid_id)
    SELECT hid, grid_id FROM (SELECT hid, grid_id FROM _pick UNION ALL SELECT hid, grid_id FROM _miss) n WHERE grid_id IS NOT NULL
    ON CONFLICT (household_id) DO NOTHING
    """,
)

COUNTS_SQL = """
SELECT (SELECT count(*) FROM _pick), count(*), count(grid_id) FROM _miss
"""

SAMPLE_SQL = """
SELECT m.hid, ST_X(h.location), ST_Y(h.location)
FROM _miss m JOIN households h ON h.id = m.hid
WHERE m.grid_id IS NULL
ORDER BY m.hid
LIMIT 10
"""


@dataclass(frozen=True)
class AssignReport:
    """Counts of a bulk assignment.

    Attributes:
        households: household points considered.
        assigned: points now in a grid.
        changed: points whose grid changed in this run.
        unassigned: points outside every grid (left with no grid, never dropped).
        unassigned_sample: up to 10 ``(household id, nearest code, distance m)``.
        seconds: where the time went, by step (the in-memory join; not compared).
    """

    households: int
    assigned: int
    changed: int
    unassigned: int
    unassigned_sample: tuple[tuple[int, str, float], ...] = ()
    seconds: dict[str, float] = field(default_factory=dict, compare=False)


def assign_households(
    conn: Connection, area_wkt: str | None = None, method: str = "memory"
) -> AssignReport:
    """(Re)assign households to their leaf grid in the caller's transaction.

    Args:
        conn: a connection inside a transaction (the caller commits).
        area_wkt: when given (WKT, EPSG:4326), only households inside this area are
            re-evaluated (set-based SQL); otherwise all of them.
        method: for everything, ``"memory"`` (the in-memory join of :mod:`gridgeo.bulk_join`)
            or ``"sql"`` (the set-based statements; the reference it is tested against).

    Returns:
        The counts.
    """
    if area_wkt is None and method == "memory":
        return _assign_all_in_memory(conn)
    if method not in ("memory", "sql"):
        raise ValueError(f"unknown method {method!r}")
    params: dict[str, object] = {}
    scope_h = scope_p = ""
    if area_wkt is not None:
        scope_h = f"AND ST_Intersects(h.location, {AREA})"
        scope_p = f"AND p.geom && {AREA}"  # parts away from the area cover none of its points
        params["area"] = area_wkt
    with _local_settings(conn, LOCAL_SETTINGS):
        conn.execute(text(PICK_SQL.format(scope_h=scope_h, scope_p=scope_p)), params)
        conn.execute(text("ANALYZE _pick"))
        conn.execute(text(MISS_SQL.format(scope_h=scope_h)), params)
        conn.execute(text("ANALYZE _miss"))
        apply_unit_grids(conn)  # the rule's one extension: a unit's explicit grid
        changed = conn.execute(text(CHANGED_SQL)).scalar_one()
        if area_wkt is None:
            conn.execute(text(NEXT_TABLE_SQL))
            conn.execute(text(FILL_NEXT_SQL))
            _swap_in(conn)
            for statement in SUMS_SQL:
                conn.execute(text(statement))
        else:
            for statement in PATCH_SQL:
                conn.execute(text(statement))
    picked, missed, fallback = conn.execute(text(COUNTS_SQL)).one()
    sample = []
    for hid, lon, lat in conn.execute(text(SAMPLE_SQL)).all():
        near = conn.execute(NEAREST_SQL, {"lon": lon, "lat": lat}).first()
        if near is not None:
            sample.append((int(hid), str(near[0]), round(float(near[3]), 1)))
    conn.execute(text("DROP TABLE _pick, _miss"))
    total = int(picked + missed)
    assigned = int(picked + fallback)
    return AssignReport(
        households=total,
        assigned=assigned,
        changed=int(changed),
        unassigned=total - assigned,
        unassigned_sample=tuple(sample),
    )


def _assign_all_in_memory(conn: Connection) -> AssignReport:
    """Every household: join in memory, then write only the changes or a whole new table.

    With nothing stored yet (a first assignment, or after the table was emptied) the new
    table is certain: it is created first and each batch of the answer is copied into it as
    soon as the reading is over, while later batches are still being joined.
    """
    spent: dict[str, float] = {}
    t = time.perf_counter()
    overrides = unit_grid_overrides(conn)  # a unit's explicit grid: the rule's one extension
    if not conn.execute(text(STORED_SQL)).scalar():
        conn.execute(text(NEXT_TABLE_SQL))

        def write(batch: bulk_join.Answer) -> None:
            bulk_join.write_assignment(conn, "household_grid_next", batch)

        answer = bulk_join.join_households(conn, spent, overrides=overrides, write=write)
        t = _lap(spent, "join", t)
        assigned = changed = int(np.count_nonzero(answer.grid_ids >= 0))
        _swap_in(conn)
        t = _lap(spent, "swap_index", t)
        bulk_join.write_sums(conn, answer)
        t = _lap(spent, "sums", t)
    else:
        answer = bulk_join.join_households(conn, spent, assigned=True, overrides=overrides)
        t = _lap(spent, "join", t)
        assert answer.old is not None
        stored = len(answer.old[0])
        change = bulk_join.changed_rows(answer, *answer.old)
        answer = bulk_join.Answer(answer.household_ids, answer.grid_ids, weights=answer.weights)
        changed = len(change.household_ids)
        assigned = int(np.count_nonzero(answer.grid_ids >= 0))
        t = _lap(spent, "changed", t)
        if changed <= PATCH_SHARE * max(stored, 1):
            conn.execute(text(CHANGES_TABLE_SQL))
            bulk_join.write_assignment(conn, "_changes", change, every=True)
            t = _lap(spent, "copy_in", t)
            for statement in APPLY_CHANGES_SQL:
                conn.execute(text(statement))
            t = _lap(spent, "patch", t)
        else:
            conn.execute(text(NEXT_TABLE_SQL))
            bulk_join.write_assignment(conn, "household_grid_next", answer)
            t = _lap(spent, "copy_in", t)
            _swap_in(conn)
            t = _lap(spent, "swap_index", t)
            bulk_join.write_sums(conn, answer)
            t = _lap(spent, "sums", t)
    outside = answer.household_ids[answer.grid_ids < 0][:10]
    sample = []
    if outside.size:
        rows = conn.execute(
            text(
                "SELECT id, ST_X(location), ST_Y(location) FROM households WHERE id = ANY(:ids) ORDER BY id"
            ),
            {"ids": outside.tolist()},
        ).all()
        for hid, lon, lat in rows:
            near = conn.execute(NEAREST_SQL, {"lon": lon, "lat": lat}).first()
            if near is not None:
                sample.append((int(hid), str(near[0]), round(float(near[3]), 1)))
    _lap(spent, "sample", t)
    total = len(answer.household_ids)
    return AssignReport(
        households=total,
        assigned=assigned,
        changed=changed,
        unassigned=total - assigned,
        unassigned_sample=tuple(sample),
        seconds={k: round(v, 3) for k, v in spent.items()},
    )


def _swap_in(conn: Connection) -> None:
    """Swap ``household_grid_next`` in: keys, index, foreign keys, the old table's triggers."""
    triggers = conn.execute(text(TRIGGERS_SQL)).scalars().all()
    with _local_settings(conn, SWAP_SETTINGS):
        for statement in SWAP_IN_SQL:
            conn.execute(text(statement))
    for definition in triggers:
        conn.execute(text(definition))


def _lap(spent: dict[str, float], step: str, since: float) -> float:
    now = time.perf_counter()
    spent[step] = spent.get(step, 0.0) + now - since
    return now


@contextmanager
def _local_settings(conn: Connection, settings: dict[str, str]) -> Iterator[None]:
    """Set configuration parameters for the enclosed statements, then restore them.

    On an error the transaction is aborted, and its rollback restores them anyway.
    """
    before = {
        name: conn.execute(text("SELECT current_setting(:n)"), {"n": name}).scalar_one()
        for name in settings
    }
    for name, value in settings.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    yield
    for name, value in before.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
