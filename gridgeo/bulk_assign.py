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
- Households are written once, and only where the grid changes: each written row costs a new
  row version, an entry in every index of ``households`` and a foreign-key check, which for a
  first assignment of every point dominates the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gridgeo.assign import NEAREST_SQL

AREA = "ST_GeomFromText(:area, 4326)"

# Memory for the statements below (restored afterwards): the sort of a million hits and the
# hash of a million ids stay in memory instead of spilling to temporary files.
LOCAL_SETTINGS = {"work_mem": "256MB"}

# 1. For each household in scope covered by a leaf part, its grid by the rule of
#    gridgeo.assign: deepest level, then smallest code.
PICK_SQL = """
CREATE TEMP TABLE _pick ON COMMIT DROP AS
SELECT DISTINCT ON (x.hid) x.hid, x.grid_id
FROM grid_parts p
CROSS JOIN LATERAL (
    SELECT h.id AS hid, p.grid_id, p.depth, p.code
    FROM households h
    WHERE ST_Covers(p.geom, h.location) {scope_h}
    OFFSET 0
) x
WHERE NOT EXISTS (
    SELECT 1 FROM grids c WHERE c.parent_id = p.grid_id AND c.valid_to IS NULL
) {scope_p}
ORDER BY x.hid, x.depth DESC, x.code
"""

# 2. Households in scope in no leaf part: the deepest covering grid of any level, else NULL.
MISS_SQL = """
CREATE TEMP TABLE _miss ON COMMIT DROP AS
SELECT h.id AS hid, f.grid_id
FROM households h
LEFT JOIN LATERAL (
    SELECT p.grid_id FROM grid_parts p
    WHERE ST_Covers(p.geom, h.location)
    ORDER BY p.depth DESC, p.code
    LIMIT 1
) f ON true
WHERE NOT EXISTS (SELECT 1 FROM _pick k WHERE k.hid = h.id) {scope_h}
"""

# 3. Write only the rows whose grid changes.
UPDATE_SQL = """
UPDATE households h SET grid_id = s.grid_id, assigned_at = now()
FROM {source} s
WHERE h.id = s.hid AND h.grid_id IS DISTINCT FROM s.grid_id
"""

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
    """

    households: int
    assigned: int
    changed: int
    unassigned: int
    unassigned_sample: tuple[tuple[int, str, float], ...] = ()


def assign_households(conn: Connection, area_wkt: str | None = None) -> AssignReport:
    """(Re)assign households to their leaf grid with set-based SQL in the caller's transaction.

    Args:
        conn: a connection inside a transaction (the caller commits).
        area_wkt: when given (WKT, EPSG:4326), only households inside this area are
            re-evaluated; otherwise all of them.

    Returns:
        The counts.
    """
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
        changed = conn.execute(text(UPDATE_SQL.format(source="_pick"))).rowcount
        changed += conn.execute(text(UPDATE_SQL.format(source="_miss"))).rowcount
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
