"""Set-based (re)assignment of all households to leaf grids, in PostGIS.

Why this shape: the join is driven from the (few, subdivided) leaf polygons into the GiST index
on household points, so that PostGIS reuses one prepared polygon for every point it tests; the
results go to a temporary table and only rows whose grid changed are written.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from gridgeo.assign import NEAREST_SQL

STEPS = (
    # 1. The subdivided parts of leaf grids (no current children).
    """
    CREATE TEMP TABLE _leaf_parts ON COMMIT DROP AS
    SELECT p.grid_id, p.depth, p.code, p.geom FROM grid_parts p
    WHERE NOT EXISTS (
        SELECT 1 FROM grids c WHERE c.parent_id = p.grid_id AND c.valid_to IS NULL)
    """,
    "CREATE INDEX ON _leaf_parts USING gist (geom)",
    "ANALYZE _leaf_parts",
    # 2. Every (household, covering leaf) pair.
    """
    CREATE TEMP TABLE _hits ON COMMIT DROP AS
    SELECT h.id AS hid, p.grid_id, p.depth, p.code
    FROM _leaf_parts p JOIN households h ON ST_Covers(p.geom, h.location)
    {where}
    """,
    # 3. Points in no leaf (a gap, or outside): the deepest covering grid of any level.
    """
    INSERT INTO _hits
    SELECT h.id, p.grid_id, p.depth, p.code
    FROM households h JOIN grid_parts p ON ST_Covers(p.geom, h.location)
    WHERE NOT EXISTS (SELECT 1 FROM _hits x WHERE x.hid = h.id) {and_where}
    """,
    # 4. One grid per household: deepest, then smallest code (the rule of gridgeo.assign).
    """
    CREATE TEMP TABLE _pick ON COMMIT DROP AS
    SELECT DISTINCT ON (hid) hid, grid_id FROM _hits ORDER BY hid, depth DESC, code
    """,
    "CREATE UNIQUE INDEX ON _pick (hid)",
    "ANALYZE _pick",
)


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
    where = and_where = ""
    if area_wkt is not None:
        where = "WHERE ST_Intersects(h.location, ST_GeomFromText(:area, 4326))"
        and_where = "AND ST_Intersects(h.location, ST_GeomFromText(:area, 4326))"
        params["area"] = area_wkt
    for step in STEPS:
        conn.execute(text(step.format(where=where, and_where=and_where)), params)
    scope = "WHERE ST_Intersects(h.location, ST_GeomFromText(:area, 4326))" if area_wkt else ""
    changed = conn.execute(
        text(
            """
            UPDATE households h SET grid_id = k.grid_id, assigned_at = now()
            FROM _pick k WHERE h.id = k.hid AND h.grid_id IS DISTINCT FROM k.grid_id
            """
        ),
        params,
    ).rowcount
    cleared = conn.execute(
        text(
            f"""
            UPDATE households h SET grid_id = NULL, assigned_at = now()
            FROM (SELECT h.id FROM households h {scope}) s
            WHERE h.id = s.id AND h.grid_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM _pick k WHERE k.hid = h.id)
            """  # noqa: S608 - scope is a fixed fragment, values are bound
        ),
        params,
    ).rowcount
    total = conn.execute(text(f"SELECT count(*) FROM households h {scope}"), params).scalar_one()  # noqa: S608
    assigned = conn.execute(text("SELECT count(*) FROM _pick")).scalar_one()
    sample = []
    for hid, lon, lat in conn.execute(
        text(
            f"""
            SELECT h.id, ST_X(h.location), ST_Y(h.location) FROM households h {scope}
            {"AND" if scope else "WHERE"} h.grid_id IS NULL ORDER BY h.id LIMIT 10
            """  # noqa: S608
        ),
        params,
    ).all():
        near = conn.execute(NEAREST_SQL, {"lon": lon, "lat": lat}).first()
        if near is not None:
            sample.append((int(hid), str(near[0]), round(float(near[3]), 1)))
    return AssignReport(
        households=int(total),
        assigned=int(assigned),
        changed=int(changed + cleared),
        unassigned=int(total - assigned),
        unassigned_sample=tuple(sample),
    )
