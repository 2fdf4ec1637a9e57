"""The rule extended once, for set-based work: a unit's explicit grid beats its point.

One household is placed by ``gridgeo_place(point, unit_id)`` (migration 0018, named in
:mod:`gridgeo.rules`). A whole city is joined point-to-part first (``gridgeo.bulk_assign``);
this post-step then overrides the households whose unit has a current assignment in
``current_unit_grids`` (the view the function reads), so both paths state one rule.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# Households whose unit is assigned to a grid: the view of the rule, joined to the picks.
UNIT_OVERRIDE_SQL = """
UPDATE {table} k SET grid_id = u.grid_id
FROM households h JOIN current_unit_grids u ON u.unit_id = h.unit_id
WHERE h.id = k.hid AND k.grid_id IS DISTINCT FROM u.grid_id
"""


def apply_unit_grids(conn: Connection, tables: tuple[str, ...] = ("_pick", "_miss")) -> int:
    """Override point-based picks (temporary tables ``(hid, grid_id)``) by units' grids.

    Args:
        conn: the connection holding the temporary tables, in the caller's transaction.
        tables: the tables of picks to correct.

    Returns:
        Picks overridden.
    """
    if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM current_unit_grids)")).scalar():
        return 0  # no unit assigned anywhere: nothing to join
    return sum(conn.execute(text(UNIT_OVERRIDE_SQL.format(table=t))).rowcount or 0 for t in tables)


def place_households(conn: Connection, household_ids: list[int]) -> int:
    """Re-place the given households by ``gridgeo_place`` (after their unit's grid changed).

    Returns:
        Households whose grid changed.
    """
    if not household_ids:
        return 0
    new = """
        SELECT h.id, f.grid_id FROM households h
        LEFT JOIN LATERAL gridgeo_place(h.location, h.unit_id) f ON true
        WHERE h.id = ANY(:ids)
    """
    moved = conn.execute(
        text(
            f"""
            INSERT INTO household_grid (household_id, grid_id)
            SELECT n.id, n.grid_id FROM ({new}) n WHERE n.grid_id IS NOT NULL
            ON CONFLICT (household_id) DO UPDATE SET grid_id = EXCLUDED.grid_id
            WHERE household_grid.grid_id IS DISTINCT FROM EXCLUDED.grid_id
            RETURNING household_id
            """  # noqa: S608 - fixed fragments; values are bound
        ),
        {"ids": household_ids},
    ).all()
    gone = conn.execute(
        text(
            f"DELETE FROM household_grid a USING ({new}) n "  # noqa: S608 - fixed fragments
            "WHERE a.household_id = n.id AND n.grid_id IS NULL"
        ),
        {"ids": household_ids},
    ).rowcount
    return len(moved) + (gone or 0)
