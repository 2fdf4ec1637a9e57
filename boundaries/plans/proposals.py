"""A proposed partition of an area (from balancing or a desktop-GIS file) opened as a plan."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from boundaries.plans import geometry as pg
from boundaries.plans.codes import check_new_code, next_codes
from boundaries.plans.drafts import DraftGrid, load_draft, save_draft
from boundaries.plans.edits import as_int, checked_name, retire
from boundaries.plans.records import get_plan, open_plan
from gridgeo.errors import InvalidInput
from gridgeo.levels import Hierarchy


def plan_from_proposal(
    conn: Connection,
    hierarchy: Hierarchy,
    area_code: str,
    title: str,
    actor: str,
    grids: list[dict[str, Any]],
    *,
    source: str = "balance",
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open a plan that replaces every grid below ``area_code`` with proposed grids.

    Each proposed grid is ``{code, name, geometry (shapely, EPSG:4326), workers}`` (all but the
    geometry optional). A grid whose code names a current grid replaces it; one with a new code
    is created with it. A grid without a code keeps the code of the current grid it overlaps
    most (each current code used once), so history follows the grids; the rest are created with
    new codes, and current grids left over are retired. Without ``workers`` a kept grid keeps
    its workers.

    Returns:
        The plan's record.

    Raises:
        InvalidInput: the area's children are not leaves (a proposal redraws one level), or a
            proposed geometry is not polygonal.
    """
    plan = open_plan(conn, area_code, title, actor, source=source, detail=detail)
    draft = load_draft(conn, hierarchy, int(plan["id"]), snap_m=0.0)  # proposals: no snapping
    current = draft.children(area_code)
    if any(draft.children(g.code) for g in current):
        raise InvalidInput(
            f"the grids below {area_code} have grids of their own; a proposal redraws one level",
            field="area",
        )
    level = hierarchy.levels[draft.area.level.depth + 1]
    current_codes = {g.code for g in current}
    owner: dict[int, str] = {}
    given: dict[int, str] = {}
    for k, prop in enumerate(grids):
        geom = prop.get("geometry")
        what = f"proposed grid {k + 1}" + (f" ({prop['code']})" if prop.get("code") else "")
        if not isinstance(geom, BaseGeometry) or geom.is_empty or geom.area == 0:
            raise InvalidInput(f"{what} has no polygonal geometry", field="grids")
        if not geom.is_valid:
            raise InvalidInput(
                f"{what}: the polygon is invalid: {shapely.is_valid_reason(geom)}", field="grids"
            )
        code = prop.get("code")
        if code is None or code == "":
            continue
        code = str(code)
        if code in owner.values() or code in given.values():
            raise InvalidInput(f"{what}: the code {code} is given twice", field="grids")
        if code in current_codes:
            owner[k] = code
        else:
            check_new_code(conn, draft, code, area_code)
            given[k] = code
    taken = set(owner.values())
    # the others keep the code of the current grid they overlap most, largest overlaps first
    order = sorted(
        (-area, k, g.code)
        for k, prop in enumerate(grids)
        if k not in owner and k not in given
        for g in current
        if g.code not in taken and (area := g.geom.intersection(prop["geometry"]).area) > 0
    )
    for _, k, code in order:
        if k not in owner and code not in taken:
            owner[k] = code
            taken.add(code)
    fresh = iter(
        next_codes(
            conn,
            draft,
            area_code,
            level,
            sum(1 for k in range(len(grids)) if k not in owner and k not in given),
        )
    )
    for k, prop in enumerate(grids):
        geom = pg.polygonal(prop["geometry"])
        if k in owner:
            g = draft.grids[owner[k]]
            g.geom = geom
            if prop.get("workers") is not None:
                g.workers = as_int(prop["workers"], "workers")
            if prop.get("name"):
                g.name = checked_name(prop["name"])
            draft.touch(g)
        else:
            workers = as_int(prop.get("workers") or 0, "workers")
            code = given.get(k) or next(fresh)
            name = checked_name(prop.get("name") or f"{draft.area.name} 新网格 {code[-3:]}")
            draft.grids[code] = DraftGrid(
                None, code, name, level, area_code, workers, geom, "created"
            )
    for g in current:
        if g.code not in taken:
            retire(draft, g)
    save_draft(conn, draft)
    conn.execute(
        text(
            "INSERT INTO plan_edits (plan_id, seq, op, args, summary, undo, by) "
            "VALUES (:id, 1, 'proposal', CAST(:args AS jsonb), :summary, '[]'::jsonb, :by)"
        ),
        {
            "id": plan["id"],
            "args": json.dumps({"grids": len(grids), "source": source}),
            "summary": f"proposal of {len(grids)} grids for {area_code} ({source})",
            "by": actor,
        },
    )
    return get_plan(conn, int(plan["id"]))
