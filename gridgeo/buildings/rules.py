"""The rule extended once, for set-based work: a unit's explicit grid beats its point.

One household is placed by ``gridgeo_place(point, unit_id)`` (migration 0018, named in
:mod:`gridgeo.rules`). A whole city is joined point-to-part first (``gridgeo.bulk_assign``);
this post-step then overrides the households whose unit has a current assignment in
``current_unit_grids`` (the view the function reads), so both paths state one rule — on the
temporary tables of the set-based path, and on the arrays of the in-memory join
(:mod:`gridgeo.bulk_join`).
"""

from __future__ import annotations

from typing import Any

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


def unit_grid_overrides(conn: Connection) -> tuple[Any, Any]:
    """The households a unit's explicit grid places: (household ids, grid ids), by id (numpy)."""
    import numpy as np

    rows = conn.execute(
        text(
            "SELECT h.id, u.grid_id FROM households h "
            "JOIN current_unit_grids u ON u.unit_id = h.unit_id ORDER BY h.id"
        )
    ).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    grids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    return ids, grids


def override_grids(household_ids: Any, grid_ids: Any, overrides: tuple[Any, Any]) -> int:
    """Apply :func:`unit_grid_overrides` to an in-memory answer (or a batch of it).

    Args:
        household_ids: sorted household ids (numpy).
        grid_ids: their grids by the point rule, -1 for none (numpy); corrected in place.
        overrides: the unit grids' (household ids, grid ids); those not in the answer are
            left alone.

    Returns:
        Picks overridden.
    """
    ids, grids = overrides
    if not len(ids) or not len(household_ids):
        return 0
    import numpy as np

    pos = np.minimum(np.searchsorted(household_ids, ids), len(household_ids) - 1)
    found = household_ids[pos] == ids
    pos, grids = pos[found], grids[found]
    differ = grid_ids[pos] != grids
    grid_ids[pos[differ]] = grids[differ]
    return int(differ.sum())


def apply_unit_grids_to(conn: Connection, household_ids: Any, grid_ids: Any) -> int:
    """The same override on an in-memory answer (:class:`gridgeo.bulk_join.Answer`'s arrays).

    Args:
        conn: a connection in the caller's transaction.
        household_ids: sorted household ids (numpy).
        grid_ids: their grids by the point rule, -1 for none (numpy); corrected in place.

    Returns:
        Picks overridden.
    """
    return override_grids(household_ids, grid_ids, unit_grid_overrides(conn))


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
