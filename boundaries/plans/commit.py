"""Committing a plan in one transaction, and reverting a commit by a checked plan of its own.

A commit (1) locks the plan and the grids it touches, (2) refuses with 409 if another commit
changed any of them since the plan was opened, (3) refuses a draft with topology errors,
(4) opens a change (who, when, why) so the version triggers stamp every grid it writes,
(5) writes the grids: retirements, new grids (parents first), then changes, (6) reassigns only
the households and open incidents inside the changed area, and (7) closes the plan. Any error
rolls the whole transaction back: nothing is half-applied.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Connection, bindparam, text

from boundaries.plans import geometry as pg
from boundaries.plans.draft_topology import topology
from boundaries.plans.drafts import Draft, DraftGrid, load_draft, save_draft
from boundaries.plans.preview import changed_area, moves
from boundaries.plans.records import get_plan, open_plan, require_open
from boundaries.plans.units import (
    check_unit_moves,
    commit_units,
    incidents_of_units,
    revert_units,
    unit_moves,
)
from gridgeo import audit
from gridgeo.bulk_assign import assign_households
from gridgeo.errors import Conflict, InvalidInput, NotFound
from gridgeo.incidents.moves import move_incidents
from gridgeo.incidents.policy import OPEN_STATES
from gridgeo.levels import Hierarchy
from gridgeo.versions import get_change, record_change


def _conflicts(conn: Connection, draft: Draft) -> None:
    """Refuse when another commit changed a touched grid, or took a code the plan creates."""
    ids = [g.grid_id for g in draft.touched() if g.grid_id is not None]
    locked = {}
    if ids:
        rows = conn.execute(
            text(
                "SELECT id, code, version, valid_to FROM grids WHERE id = ANY(:ids) "
                "ORDER BY id FOR UPDATE"
            ),
            {"ids": ids},
        ).all()
        locked = {int(r[0]): r for r in rows}
    changed: list[str] = []
    why: list[str] = []
    later = conn.execute(
        text(
            "SELECT v.grid_id, v.code, c.id, c.actor, c.message FROM grid_versions v "
            "LEFT JOIN changes c ON c.id = coalesce(v.closed_change_id, v.change_id) "
            "WHERE v.grid_id = ANY(:ids) AND (v.valid_from > :opened OR v.valid_to > :opened) "
            "ORDER BY v.code"
        ),
        {"ids": ids or [0], "opened": draft.plan["opened_at"]},
    ).all()
    for _gid, code, cid, actor, message in later:
        if code not in changed:
            changed.append(code)
            why.append(f"{code} by change {cid} ({actor}: {message})")
    for g in draft.touched():
        row = locked.get(g.grid_id or -1)
        if g.grid_id is not None and (row is None or row[3] is not None):
            if g.stored and g.stored[0] not in changed:
                changed.append(g.stored[0])
                why.append(f"{g.stored[0]} was retired")
    created = [g.code for g in draft.grids.values() if g.state == "created"]
    created += [g.code for g in draft.grids.values() if g.stored and g.code != g.stored[0]]
    if created:
        taken = (
            conn.execute(
                text("SELECT code FROM current_grids WHERE code = ANY(:c)"),
                {"c": created},
            )
            .scalars()
            .all()
        )
        retiring = {g.stored[0] for g in draft.retired if g.stored} | {
            g.stored[0] for g in draft.grids.values() if g.stored and g.code != g.stored[0]
        }
        for code in taken:
            if code not in retiring:
                changed.append(code)
                why.append(f"{code} was created by another commit")
    if changed:
        raise Conflict(
            f"plan {draft.plan_id} conflicts with commits made since it was opened: "
            + "; ".join(why)
            + ". Nothing was applied; open a new plan on the current grids",
            grids=changed,
        )


INSERT_GRID = """
INSERT INTO grids (code, name, level_id, parent_id, geom, workers)
VALUES (:code, :name, :level_id, :parent_id,
        ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)), :workers)
RETURNING id
"""

UPDATE_GRID = """
UPDATE grids SET code = :code, name = :name, parent_id = :parent_id,
       geom = ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)),
       workers = CASE WHEN :workers_given THEN :workers ELSE workers END
WHERE id = :id
"""

# Open incidents the commit moves: those in the changed area that a new grid now covers by the
# rule of gridgeo.rules, and those queued at an area the change retired or re-coded (their grid
# stays; their queue is put right). Both go through gridgeo.incidents.moves.move_incidents.
MOVED_BY_AREA = """
WITH area AS (SELECT ST_GeomFromWKB(decode(:area, 'hex'), 4326) AS g)
SELECT i.id, l.grid_id
FROM incidents i CROSS JOIN area
LEFT JOIN buildings b ON b.id = i.building_id
CROSS JOIN LATERAL gridgeo_place(coalesce(ST_PointOnSurface(b.geom), i.location), i.unit_id) l
WHERE ST_Intersects(i.location, area.g) AND i.state IN :open AND l.grid_id <> i.grid_id
"""
QUEUED_AT_RETIRED = """
SELECT i.id, i.grid_id FROM incidents i
WHERE i.state IN :open
  AND i.queue_area IN (SELECT v.code FROM grid_versions v WHERE v.closed_change_id = :cid)
  AND NOT EXISTS (SELECT FROM current_grids c WHERE c.code = i.queue_area)
"""


def _move_incidents(
    conn: Connection,
    area_hex: str | None,
    change_id: int,
    actor: str,
    at: Any,
    units: list[int] | None = None,
) -> int:
    """Move the open incidents the change affects; how many changed grid."""
    params = {"area": area_hex, "cid": change_id, "open": list(OPEN_STATES)}
    queued = conn.execute(
        text(QUEUED_AT_RETIRED).bindparams(bindparam("open", expanding=True)), params
    ).all()
    moved = (
        conn.execute(
            text(MOVED_BY_AREA).bindparams(bindparam("open", expanding=True)), params
        ).all()
        if area_hex
        else []
    )
    by_unit = incidents_of_units(conn, units or [], list(OPEN_STATES))
    moves = {int(i): int(g) for i, g in queued} | {int(i): int(g) for i, g in moved} | by_unit
    move_incidents(conn, moves, actor=actor, action="move", now=at, note=f"change {change_id}")
    return len({int(i) for i, _ in moved} | set(by_unit))


def _apply(conn: Connection, draft: Draft, change_at: Any) -> dict[str, int]:
    ids: dict[str, int] = {g.code: int(g.grid_id) for g in draft.grids.values() if g.grid_id}
    ids[draft.area.code] = int(draft.area.grid_id or 0)
    for g in draft.retired:  # retire first: a code they free may be taken below
        conn.execute(
            text("UPDATE grids SET valid_to = :t WHERE id = :id AND valid_to IS NULL"),
            {"t": change_at, "id": g.grid_id},
        )
    created = sorted(
        (g for g in draft.grids.values() if g.state == "created"), key=lambda g: g.level.depth
    )
    changed = [g for g in draft.grids.values() if g.state == "changed"]
    for g in created:
        parent_id = ids.get(g.parent_code or "")
        if parent_id is None:
            parent_id = _parent_id(conn, g)
        ids[g.code] = conn.execute(
            text(INSERT_GRID),
            {
                "code": g.code,
                "name": g.name,
                "level_id": g.level.id,
                "parent_id": parent_id,
                "wkb": shapely.to_wkb(pg.as_multi(g.geom), hex=True),
                "workers": g.workers,
            },
        ).scalar_one()
    for g in sorted(changed, key=lambda g: g.level.depth):
        stored_workers = g.stored[3] if g.stored else None
        conn.execute(
            text(UPDATE_GRID),
            {
                "id": g.grid_id,
                "code": g.code,
                "name": g.name,
                "parent_id": ids.get(g.parent_code or "") or _parent_id(conn, g),
                "wkb": shapely.to_wkb(pg.as_multi(g.geom), hex=True),
                "workers": g.workers,
                "workers_given": g.workers != stored_workers,
            },
        )
    _move_named_workers(conn, draft, ids)
    return ids


def _parent_id(conn: Connection, g: DraftGrid) -> int:
    pid = conn.execute(
        text("SELECT id FROM current_grids WHERE code = :c"), {"c": g.parent_code}
    ).scalar()
    if pid is None:
        raise InvalidInput(f"grid {g.code}: its parent {g.parent_code} does not exist")
    return int(pid)


def _move_named_workers(conn: Connection, draft: Draft, ids: dict[str, int]) -> None:
    """Named workers of a retired grid move to the grid that took most of its area."""
    for g in draft.retired:
        target = max(
            (k for k in draft.grids.values() if k.level == g.level),
            key=lambda k: k.geom.intersection(g.geom).area,
            default=None,
        )
        if target is None or target.geom.intersection(g.geom).area == 0:
            continue
        conn.execute(
            text("UPDATE workers SET grid_id = :to WHERE grid_id = :from"),
            {"to": ids[target.code], "from": g.grid_id},
        )


def commit_plan(
    conn: Connection,
    hierarchy: Hierarchy,
    plan_id: int,
    actor: str,
    message: str,
    *,
    snap_m: float,
    kind: str = "plan",
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply a plan in the caller's transaction.

    Returns:
        ``change_id``, ``plan`` (its record), ``grids`` (codes written), ``households_moved``
        (households that changed grid), ``points_changed`` (their building points),
        ``households_considered`` (points re-evaluated), ``unassigned``, ``incidents_moved``.

    Raises:
        InvalidInput: a blank message, an empty plan, or topology errors (``problems``).
        Conflict: the plan is not open, or another commit changed its grids (``grids``).
        NotFound: no such plan.
    """
    if not isinstance(message, str) or not message.strip():
        raise InvalidInput("a commit needs a message saying why it is made", field="message")
    draft = load_draft(conn, hierarchy, plan_id, snap_m=snap_m, lock=True, households=False)
    require_open(draft.plan)
    units_moved = unit_moves(conn, plan_id)
    if not draft.touched() and not units_moved:
        raise InvalidInput(f"plan {plan_id} changes nothing; edit it before committing")
    check_unit_moves(draft, units_moved)
    _conflicts(conn, draft)
    errors = [p for p in topology(draft, snap_m) if p.problem.severity == "error"]
    if errors:
        first = errors[0].problem
        raise InvalidInput(
            f"plan {plan_id} has {len(errors)} topology error(s) and cannot be committed; the "
            f"first: grid {first.code} {first.kind}: {first.message}",
            problems=[p.to_dict() for p in errors],
        )
    area = changed_area(draft)
    moving = moves(conn, draft)  # households per old -> new grid, as the preview said
    change_id = record_change(
        conn, actor, message, kind, plan_id=plan_id, area=draft.area.code, **(detail or {})
    )
    change_at = get_change(conn, change_id)["at"]
    _apply(conn, draft, change_at)
    area_hex = shapely.to_wkb(area, hex=True) if area is not None else None
    report = assign_households(conn, area_wkt=area.wkt) if area is not None else None
    # the units: versioned assignments, their households and incidents (same transaction)
    units, _ = commit_units(conn, plan_id, change_id, change_at, actor)
    incidents_moved = _move_incidents(conn, area_hex, change_id, actor, change_at, units)
    conn.execute(
        text(
            "UPDATE plans SET status = 'committed', change_id = :cid, closed_at = :t, "
            "closed_by = :by, updated_at = clock_timestamp() WHERE id = :id"
        ),
        {"cid": change_id, "t": change_at, "by": actor, "id": plan_id},
    )
    written = sorted({g.code for g in draft.touched()})
    audit.record(
        conn, actor, "plan.commit", "plans", str(plan_id), change_id=change_id, grids=written
    )
    return {
        "change_id": change_id,
        "plan": get_plan(conn, plan_id),
        "grids": written,
        "households_considered": report.households if report else 0,
        "households_moved": moving["households_moved"],
        "points_changed": report.changed if report else 0,
        "unassigned": report.unassigned if report else 0,
        "incidents_moved": incidents_moved,
        "units_reassigned": len(units),
    }


# --------------------------------------------------------------------------- revert

CHANGE_VERSIONS = """
SELECT v.grid_id, v.code, v.name, v.level_id, v.parent_code, v.workers,
       ST_AsBinary(v.geom) AS wkb, v.change_id, v.closed_change_id, v.valid_to
FROM grid_versions v
WHERE v.change_id = :cid OR v.closed_change_id = :cid
ORDER BY v.grid_id, v.valid_from
"""


def _common_area(conn: Connection, codes: list[str]) -> str:
    """The deepest current grid that is an ancestor of every given parent code."""
    chains = []
    for code in codes:
        chain = (
            conn.execute(
                text(
                    "SELECT c.code FROM current_grids g CROSS JOIN LATERAL gridgeo_chain(g.id) c "
                    "WHERE g.code = :c ORDER BY c.depth"
                ),
                {"c": code},
            )
            .scalars()
            .all()
        )
        if not chain:
            raise Conflict(f"the parent {code} no longer exists; the change cannot be reverted")
        chains.append(chain)
    common = None
    for level in zip(*chains, strict=False):
        if len(set(level)) != 1:
            break
        common = level[0]
    if common is None:
        raise InvalidInput("the grids of the change share no common area")
    return str(common)


def revert_change(
    conn: Connection,
    hierarchy: Hierarchy,
    change_id: int,
    actor: str,
    message: str,
    *,
    snap_m: float,
) -> dict[str, Any]:
    """Revert a committed change by a new plan that restores the grids it replaced.

    The revert plan is checked like any plan (topology, conflicts) and committed as a change of
    kind ``revert``; the reverted change stays on record.

    Raises:
        NotFound: no such change. Conflict: a grid of the change was changed again since.
        InvalidInput: the change made no boundary versions, or the restored grids fail a check.
    """
    get_change(conn, change_id)
    if not isinstance(message, str) or not message.strip():
        raise InvalidInput("a revert needs a message saying why", field="message")
    rows = conn.execute(text(CHANGE_VERSIONS), {"cid": change_id}).mappings().all()
    unit_rows = conn.execute(
        text("SELECT count(*) FROM unit_grids WHERE change_id = :c OR closed_change_id = :c"),
        {"c": change_id},
    ).scalar_one()
    if not rows and not unit_rows:
        raise InvalidInput(f"change {change_id} made no grid versions to revert", field="change_id")
    by_grid: dict[int, dict[str, Any]] = {}
    for r in rows:
        slot = by_grid.setdefault(int(r["grid_id"]), {})
        if r["change_id"] == change_id:
            slot["made"] = r
        if r["closed_change_id"] == change_id:
            slot["replaced"] = r
    later = [
        s["made"]["code"]
        for s in by_grid.values()
        if "made" in s and s["made"]["valid_to"] is not None
    ]
    if later:
        raise Conflict(
            f"grids {', '.join(sorted(later))} were changed again after change {change_id}; "
            "revert the later changes first",
            grids=sorted(later),
        )
    parents = sorted(
        {s[k]["parent_code"] for s in by_grid.values() for k in ("made", "replaced") if k in s}
        - {None}
    )
    parents = sorted(
        set(parents)
        | set(
            conn.execute(
                text(
                    "SELECT DISTINCT p.code FROM unit_grids ug JOIN grids g ON g.id = ug.grid_id "
                    "JOIN grids p ON p.id = g.parent_id "
                    "WHERE ug.change_id = :c OR ug.closed_change_id = :c"
                ),
                {"c": change_id},
            ).scalars()
        )
    )
    area = _common_area(conn, parents)
    plan = open_plan(
        conn,
        area,
        f"revert change {change_id}",
        actor,
        source="revert",
        detail={"reverts": change_id},
    )
    revert_units(conn, change_id, int(plan["id"]))
    draft = load_draft(conn, hierarchy, int(plan["id"]), snap_m=snap_m)
    levels = {s.id: s for s in hierarchy.levels}
    for gid, slot in by_grid.items():
        made, old = slot.get("made"), slot.get("replaced")
        current = next((g for g in draft.grids.values() if g.grid_id == gid), None)
        if made is not None and old is None:  # created by the change: retire it
            if current is None:
                raise NotFound(f"grid {made['code']} is not in area {area}")
            del draft.grids[current.code]
            current.state = "retired"
            draft.retired.append(current)
        elif made is None and old is not None:  # retired by the change: bring it back
            draft.grids[old["code"]] = DraftGrid(
                None,
                old["code"],
                old["name"],
                levels[old["level_id"]],
                old["parent_code"],
                int(old["workers"]),
                shapely.from_wkb(bytes(old["wkb"])),
                "created",
            )
        elif made is not None and old is not None and current is not None:
            del draft.grids[current.code]
            current.code, current.name = old["code"], old["name"]
            current.parent_code = old["parent_code"]
            current.geom = shapely.from_wkb(bytes(old["wkb"]))
            current.state = "changed"
            draft.grids[current.code] = current
    save_draft(conn, draft)
    conn.execute(
        text(
            "INSERT INTO plan_edits (plan_id, seq, op, args, summary, undo, by) "
            "VALUES (:id, 1, 'revert', CAST(:args AS jsonb), :summary, '[]'::jsonb, :by)"
        ),
        {
            "id": plan["id"],
            "args": f'{{"change_id": {change_id}}}',
            "summary": f"restore the grids change {change_id} replaced",
            "by": actor,
        },
    )
    result = commit_plan(
        conn,
        hierarchy,
        int(plan["id"]),
        actor,
        message,
        snap_m=snap_m,
        kind="revert",
        detail={"reverts": change_id},
    )
    result["reverted"] = change_id
    return result
