"""Plans that move units (单元) of a building to another grid, and what commit makes of it.

The edit ``move_units`` (``{"op": "move_units", "building": CODE, "units": ["1", "2"],
"grid": CODE}``) records in ``plan_units`` that those units go to a leaf grid of the plan's
draft (by its code there, so a grid the plan creates can take them). Preview places every
household by the draft: the plan's move of its unit, else its unit's current assignment (unless
the plan retires that grid), else the draft's shapes (:func:`draft_place`). Commit turns the
moves into versioned ``unit_grids`` rows in the same transaction (closing the rows they
replace, stamped with the change), re-places the households and open incidents of the units
concerned, and closes assignments to grids the change retired. A unit moved to the grid that
holds its building geometrically just loses its explicit row. Revert restores the rows the
change closed and clears the ones it opened.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Connection, text

from boundaries.plans.drafts import Draft
from gridgeo.buildings.rules import place_households
from gridgeo.errors import Conflict, InvalidInput

UNITS_OF_BUILDING = text(
    """
SELECT u.id, u.number, b.id AS building_id, b.name,
       encode(ST_AsBinary(ST_PointOnSurface(b.geom)), 'hex') AS at,
       (SELECT coalesce(sum(h.household_count), 0) FROM households h WHERE h.unit_id = u.id) AS n
FROM buildings b LEFT JOIN building_units u ON u.building_id = b.id
WHERE b.code = :code
ORDER BY length(u.number), u.number
"""
)


def _numbers(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InvalidInput(
            '\'units\' must be a non-empty list of unit numbers, e.g. ["1", "2"]',
            code="units_missing",
            zh='“units”须为单元号列表，例如 ["1", "2"]',
            field="units",
        )
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, str | int) or not str(v).strip():
            raise InvalidInput(f"unit number {v!r} is not a number or name", field="units")
        out.append(str(v).strip())
    return list(dict.fromkeys(out))


def op_move_units(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    """Move units of a building to a leaf grid of the draft (the edit ``move_units``).

    Raises:
        InvalidInput: an unknown building or unit, a building outside the plan's area, a grid
            outside it, retired or with grids below it.
    """
    code = a.get("building")
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput("'building' must name a building by its code", field="building")
    numbers = _numbers(a.get("units"))
    target = draft.editable(a.get("grid"), "grid")
    if draft.children(target.code):
        raise InvalidInput(
            f"grid {target.code} has grids below it; units go to a leaf grid",
            code="grid_not_leaf",
            zh=f"网格 {target.code} 下还有网格；单元只能划入最末级网格",
            field="grid",
        )
    rows = conn.execute(UNITS_OF_BUILDING, {"code": code}).mappings().all()
    if not rows:
        raise InvalidInput(
            f"no building has the code '{code}'",
            code="unknown_building",
            zh=f"没有编号为“{code}”的楼栋",
            field="building",
        )
    by_number = {r["number"]: r for r in rows if r["id"] is not None}
    missing = [n for n in numbers if n not in by_number]
    if missing:
        known = ", ".join(by_number) or "none"
        raise InvalidInput(
            f"building {code} has no unit {', '.join(missing)}; its units are: {known}",
            code="unknown_unit",
            zh=f"楼栋 {code} 没有 {'、'.join(missing)} 单元；该楼的单元：{'、'.join(by_number) or '无'}",
            field="units",
        )
    at = shapely.from_wkb(bytes.fromhex(rows[0]["at"]))
    if not draft.area.geom.covers(at):
        raise InvalidInput(
            f"building {code} lies outside the plan's area {draft.area.code}",
            code="building_outside_plan",
            zh=f"楼栋 {code} 不在本方案的区域 {draft.area.code} 内",
            field="building",
        )
    ids = [int(by_number[n]["id"]) for n in numbers]
    before: dict[int, str] = dict(
        conn.execute(
            text(
                "SELECT unit_id, grid_code FROM plan_units WHERE plan_id = :p AND unit_id = ANY(:u)"
            ),
            {"p": draft.plan_id, "u": ids},
        ).all()
    )
    a["previous"] = {str(i): before.get(i) for i in ids}  # for undo (kept with the edit's args)
    conn.execute(
        text(
            "INSERT INTO plan_units (plan_id, unit_id, grid_code) "
            "SELECT :p, u, :g FROM unnest(CAST(:u AS bigint[])) u "
            "ON CONFLICT (plan_id, unit_id) DO UPDATE SET grid_code = EXCLUDED.grid_code"
        ),
        {"p": draft.plan_id, "u": ids, "g": target.code},
    )
    n = sum(int(by_number[x]["n"]) for x in numbers)
    name = rows[0]["name"] or code
    summary = (
        f"move unit{'s' if len(numbers) > 1 else ''} {', '.join(numbers)} of building {name} "
        f"({code}) to grid {target.code}: {n} households"
    )
    return summary, [target.code]


def undo_move_units(conn: Connection, plan_id: int, previous: dict[str, str | None]) -> None:
    """Put a plan's unit moves back as they were before a ``move_units`` edit."""
    for unit, code in previous.items():
        if code is None:
            conn.execute(
                text("DELETE FROM plan_units WHERE plan_id = :p AND unit_id = :u"),
                {"p": plan_id, "u": int(unit)},
            )
        else:
            conn.execute(
                text("UPDATE plan_units SET grid_code = :g WHERE plan_id = :p AND unit_id = :u"),
                {"p": plan_id, "u": int(unit), "g": code},
            )


def unit_moves(conn: Connection, plan_id: int) -> dict[int, str]:
    """The plan's unit moves: unit id → grid code in the draft."""
    rows = conn.execute(
        text("SELECT unit_id, grid_code FROM plan_units WHERE plan_id = :p"), {"p": plan_id}
    ).all()
    return {int(u): str(g) for u, g in rows}


def draft_place(unit: str, by_point: str) -> str:
    """SQL of the grid (code) a household of ``unit`` would be in under the draft.

    The one rule over the draft: the plan's move of the unit, else the unit's current
    assignment (by the grid's code in the draft; none when the plan retires the grid), else
    ``by_point`` (the draft's shapes). Binds ``:plan_id``, ``:t_ids``/``:t_codes`` (stored
    grids the draft touches and their codes in it, NULL when retired).
    """
    return f"""coalesce(
        (SELECT pu.grid_code FROM plan_units pu
         WHERE pu.plan_id = :plan_id AND pu.unit_id = {unit}),
        (SELECT CASE WHEN m.id IS NULL THEN cu.code ELSE m.code END
         FROM current_unit_grids cu
         LEFT JOIN unnest(CAST(:t_ids AS bigint[]), CAST(:t_codes AS text[])) m(id, code)
              ON m.id = cu.grid_id
         WHERE cu.unit_id = {unit} AND (m.id IS NULL OR m.code IS NOT NULL)),
        {by_point})"""  # noqa: S608 - column names


def draft_unit_params(draft: Draft) -> dict[str, Any]:
    """Bound values of :func:`draft_place`."""
    touched = [g for g in draft.touched() if g.grid_id is not None]
    return {
        "plan_id": draft.plan_id,
        "t_ids": [int(g.grid_id) for g in touched] or [0],  # type: ignore[arg-type]
        "t_codes": [None if g.state == "retired" else g.code for g in touched] or [None],
    }


def check_unit_moves(draft: Draft, moves: dict[int, str]) -> None:
    """Refuse a commit whose unit moves name a grid the draft no longer has as a leaf.

    Raises:
        InvalidInput: naming the grid.
    """
    for code in sorted(set(moves.values())):
        if code not in draft.grids or draft.children(code):
            raise InvalidInput(
                f"units are moved to grid {code}, which the plan retires, re-codes or "
                "subdivides; move them again",
                code="unit_grid_gone",
                zh=f"单元划入的网格 {code} 已在方案中撤销、改码或细分，请重新划分",
                field="grid",
            )


COMMIT_UNITS_SQL = """
WITH t AS (
    SELECT pu.unit_id, g.id AS target,
           (SELECT l.grid_id FROM gridgeo_leaf(ST_PointOnSurface(b.geom)) l) AS holder
    FROM plan_units pu
    JOIN building_units u ON u.id = pu.unit_id JOIN buildings b ON b.id = u.building_id
    JOIN current_grids g ON g.code = pu.grid_code
    WHERE pu.plan_id = :plan_id
),
want AS (
    SELECT unit_id, CASE WHEN target IS DISTINCT FROM holder THEN target END AS grid_id FROM t
),
closed AS (
    UPDATE unit_grids ug SET valid_to = :at, closed_change_id = :cid
    FROM want w
    WHERE ug.unit_id = w.unit_id AND ug.valid_to IS NULL AND ug.grid_id IS DISTINCT FROM w.grid_id
    RETURNING ug.unit_id
),
opened AS (
    INSERT INTO unit_grids (unit_id, grid_id, valid_from, change_id, created_by)
    SELECT w.unit_id, w.grid_id, :at, :cid, :actor FROM want w
    WHERE w.grid_id IS NOT NULL AND NOT EXISTS (
        SELECT FROM unit_grids ug
        WHERE ug.unit_id = w.unit_id AND ug.valid_to IS NULL AND ug.grid_id = w.grid_id)
    RETURNING unit_id
)
SELECT unit_id FROM closed UNION SELECT unit_id FROM opened
"""

# assignments to grids the change retired lapse with them
CLOSE_RETIRED_SQL = """
UPDATE unit_grids ug SET valid_to = :at, closed_change_id = :cid
FROM grids g WHERE g.id = ug.grid_id AND ug.valid_to IS NULL AND g.valid_to IS NOT NULL
RETURNING ug.unit_id
"""

MOVED_BY_UNIT = """
SELECT i.id, l.grid_id FROM incidents i
LEFT JOIN buildings b ON b.id = i.building_id
CROSS JOIN LATERAL gridgeo_place(coalesce(ST_PointOnSurface(b.geom), i.location), i.unit_id) l
WHERE i.unit_id = ANY(:units) AND i.state = ANY(:open) AND l.grid_id <> i.grid_id
"""


def commit_units(
    conn: Connection, plan_id: int, change_id: int, at: Any, actor: str
) -> tuple[list[int], int]:
    """Write the plan's unit moves as ``unit_grids`` rows and re-place their households.

    Call after the plan's grids are written (targets are found by code among current grids).

    Returns:
        The units whose assignment changed, and the households that changed grid.
    """
    params = {"plan_id": plan_id, "cid": change_id, "at": at, "actor": actor}
    units = {int(u) for (u,) in conn.execute(text(COMMIT_UNITS_SQL), params).all()}
    units |= {int(u) for (u,) in conn.execute(text(CLOSE_RETIRED_SQL), params).all()}
    if not units:
        return [], 0
    ids = list(
        conn.execute(
            text("SELECT id FROM households WHERE unit_id = ANY(:u)"), {"u": sorted(units)}
        ).scalars()
    )
    return sorted(units), place_households(conn, [int(i) for i in ids])


def incidents_of_units(
    conn: Connection, units: list[int], open_states: list[str]
) -> dict[int, int]:
    """Open incidents reported at the given units whose grid the rule now puts elsewhere."""
    if not units:
        return {}
    rows = conn.execute(text(MOVED_BY_UNIT), {"units": units, "open": open_states}).all()
    return {int(i): int(g) for i, g in rows}


def revert_units(conn: Connection, change_id: int, plan_id: int) -> list[str]:
    """Fill a revert plan with unit moves undoing ``change_id``'s; the grids' parents involved.

    Raises:
        Conflict: a unit's assignment was changed again after the change.
    """
    later = conn.execute(
        text(
            "SELECT DISTINCT u.number, b.code FROM unit_grids ug "
            "JOIN building_units u ON u.id = ug.unit_id JOIN buildings b ON b.id = u.building_id "
            "WHERE ug.change_id = :c AND ug.valid_to IS NOT NULL "
            "AND ug.closed_change_id IS DISTINCT FROM :c"
        ),
        {"c": change_id},
    ).all()
    if later:
        raise Conflict(
            f"unit {later[0][0]} of building {later[0][1]} was assigned again after change "
            f"{change_id}; revert the later change first",
            code="unit_changed_again",
            zh=f"楼栋 {later[0][1]} 的 {later[0][0]} 单元在变更 {change_id} 之后又被调整，请先撤销之后的变更",
        )
    rows = conn.execute(
        text(
            """
            WITH affected AS (
                SELECT unit_id FROM unit_grids WHERE change_id = :c OR closed_change_id = :c
            ),
            back AS (
                SELECT DISTINCT ON (a.unit_id) a.unit_id,
                    coalesce(
                        (SELECT g.code FROM unit_grids ug JOIN current_grids g ON g.id = ug.grid_id
                         WHERE ug.unit_id = a.unit_id AND ug.closed_change_id = :c
                         ORDER BY ug.valid_from DESC LIMIT 1),
                        (SELECT l.code FROM building_units u JOIN buildings b ON b.id = u.building_id
                         CROSS JOIN LATERAL gridgeo_leaf(ST_PointOnSurface(b.geom)) l
                         WHERE u.id = a.unit_id)) AS code
                FROM affected a
            )
            INSERT INTO plan_units (plan_id, unit_id, grid_code)
            SELECT :p, unit_id, code FROM back WHERE code IS NOT NULL
            RETURNING grid_code
            """
        ),
        {"c": change_id, "p": plan_id},
    ).all()
    codes = sorted({r[0] for r in rows})
    if not codes:
        return []
    return list(
        conn.execute(
            text("SELECT DISTINCT p.code FROM current_grids g JOIN grids p ON p.id = g.parent_id "
                 "WHERE g.code = ANY(:c)"),
            {"c": codes},
        ).scalars()
    )  # fmt: skip


def involved_grid_ids(conn: Connection, draft: Draft) -> list[int]:
    """Stored grids whose load the plan's unit moves change: the units' grids and the targets.

    The preview counts every household of these grids before and after, as it does for the
    grids a boundary edit touches.
    """
    ids = set(
        conn.execute(
            text(
                "SELECT DISTINCT a.grid_id FROM plan_units pu "
                "JOIN households h ON h.unit_id = pu.unit_id "
                "JOIN household_grid a ON a.household_id = h.id WHERE pu.plan_id = :p"
            ),
            {"p": draft.plan_id},
        ).scalars()
    )
    for code in set(unit_moves(conn, draft.plan_id).values()):
        grid = draft.grids.get(code)
        if grid is not None and grid.grid_id is not None:
            ids.add(int(grid.grid_id))
    return sorted(int(i) for i in ids)
