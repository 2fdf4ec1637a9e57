"""Edits of a plan, each applied to the draft in shapely, stored, logged and undoable.

The ops: split, merge, move a shared boundary, transfer, replace, create, retire, rename,
recode, set workers, and move units of a building to a grid (``boundaries/plans/units.py``).

A refused edit raises before anything is written (and the caller's transaction rolls back),
so the plan keeps its last valid state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from boundaries.plans import geometry as pg
from boundaries.plans.codes import check_new_code, next_codes
from boundaries.plans.drafts import (
    NEIGHBOURS,
    OPS,
    Draft,
    DraftGrid,
    load_draft,
    save_draft,
    snapshot,
    write_rows,
)
from boundaries.plans.records import plan_row, require_open
from boundaries.plans.units import op_move_units, undo_move_units
from gridgeo.errors import Conflict, InvalidInput
from gridgeo.levels import Hierarchy


@dataclass(frozen=True)
class EditResult:
    """What an edit did: its number in the plan, a summary and the codes it changed."""

    seq: int
    op: str
    summary: str
    changed: tuple[str, ...]


def _changed_since_open(conn: Connection, draft: Draft, ids: list[int]) -> None:
    """Refuse to edit grids another commit has changed since the plan was opened."""
    if not ids:
        return
    rows = conn.execute(
        text(
            "SELECT v.code, c.id, c.actor, c.message FROM grid_versions v "
            "LEFT JOIN changes c ON c.id = v.change_id "
            "WHERE v.grid_id = ANY(:ids) AND v.valid_from > :opened ORDER BY v.code"
        ),
        {"ids": ids, "opened": draft.plan["opened_at"]},
    ).all()
    if rows:
        raise Conflict(
            f"grid {rows[0][0]} was changed by change {rows[0][1]} ({rows[0][2]}: "
            f"{rows[0][3]}) after plan {draft.plan_id} was opened; open a new plan",
            grids=sorted({r[0] for r in rows}),
        )


def as_int(value: Any, field: str) -> int:
    """``value`` as a whole number ≥ 0.

    Raises:
        InvalidInput: naming ``field``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"'{field}' must be a whole number ≥ 0", field=field)
    return value


def checked_name(value: Any, field: str = "name") -> str:
    """``value`` stripped, a name of 1 to 200 characters.

    Raises:
        InvalidInput: naming ``field``.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidInput(f"'{field}' must be a name of 1 to 200 characters", field=field)
    return value.strip()


def _siblings_geoms(draft: Draft, grid: DraftGrid) -> list[BaseGeometry]:
    parent = draft.parent_geom(grid)
    return [s.geom for s in draft.siblings(grid)] + ([parent] if parent is not None else [])


def _apply_neighbours(draft: Draft, grid: DraftGrid, old: BaseGeometry, mode: str) -> list[str]:
    """Let the grid's siblings give up (``yield``) or also take released area (``follow``)."""
    if mode == "keep":
        return []
    if mode not in NEIGHBOURS:
        raise InvalidInput(
            f"'neighbours' must be one of {', '.join(NEIGHBOURS)}, not '{mode}'", field="neighbours"
        )
    sibs = {s.code: s for s in draft.siblings(grid) if s.geom.intersects(old.union(grid.geom))}
    changed = []
    if mode == "yield":
        for code, s in sibs.items():
            inter = s.geom.intersection(grid.geom)
            if pg.area_m2(pg.polygonal(inter)) > 0.01:
                s.geom = pg.polygonal(s.geom.difference(grid.geom))
                draft.touch(s)
                changed.append(code)
    else:
        shapes = {code: s.geom for code, s in sibs.items()}
        for code, geom in pg.released_to_neighbours(old, grid.geom, shapes).items():
            sibs[code].geom = geom
            draft.touch(sibs[code])
            changed.append(code)
    for code in changed:
        if pg.area_m2(draft.grids[code].geom) < pg.MIN_AREA_M2:
            raise InvalidInput(
                f"grid {grid.code}: the new shape swallows neighbour {code} whole; retire or "
                "merge it instead",
                field="geometry",
            )
    return changed


def _drawn(draft: Draft, args: dict[str, Any], what: str, key: str = "geometry") -> BaseGeometry:
    if key not in args:
        raise InvalidInput(f"{what}: '{key}' is required", field=key)
    geom = pg.parse_polygon(args[key], what)
    pg.check_in_area(geom, draft.area.geom, what, draft.area.code)
    return geom


def _op_replace(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    grid = draft.editable(a.get("code"))
    what = f"grid {grid.code}"
    new = pg.snap(_drawn(draft, a, what), _siblings_geoms(draft, grid), draft.snap_deg)
    old = grid.geom
    grid.geom = new
    draft.touch(grid)
    others = _apply_neighbours(draft, grid, old, str(a.get("neighbours", "keep")))
    more = f"; neighbours {', '.join(others)} adjusted" if others else ""
    return f"redrew grid {grid.code} ({pg.area_m2(new) / 1e4:.2f} ha){more}", [grid.code, *others]


def _op_split(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    grid = draft.editable(a.get("code"))
    what = f"grid {grid.code}"
    if "line" not in a:
        raise InvalidInput(f"{what}: 'line' (a GeoJSON LineString) is required", field="line")
    line = pg.parse_line(a["line"], what)
    pg.check_in_area(line, draft.area.geom, what, draft.area.code)
    pieces = pg.split_by_line(grid.geom, line, what, draft.snap_deg)
    parent = grid.parent_code or ""
    codes = a.get("codes") or []
    names = a.get("names") or []
    if not isinstance(codes, list) or not isinstance(names, list):
        raise InvalidInput(f"{what}: 'codes' and 'names' must be lists", field="codes")
    if len(codes) > len(pieces) - 1:
        raise InvalidInput(
            f"{what}: the line cuts {len(pieces)} pieces, so it takes {len(pieces) - 1} new "
            f"codes, not {len(codes)}",
            field="codes",
        )
    for code in codes:
        check_new_code(conn, draft, str(code), parent)
    codes = [str(c) for c in codes]
    missing = len(pieces) - 1 - len(codes)
    if missing:
        codes += next_codes(conn, draft, parent, grid.level, missing)
    # the largest piece keeps the grid (and its code and workers); the others are new
    grid.geom = pieces[0]
    draft.touch(grid)
    made = []
    for k, (piece, code) in enumerate(zip(pieces[1:], codes, strict=True)):
        name = checked_name(names[k]) if k < len(names) else f"{grid.name}（{k + 2}）"
        new = DraftGrid(None, code, name, grid.level, grid.parent_code, 0, piece, "created")
        draft.grids[code] = new
        made.append(code)
    _reparent_children(draft, grid, [grid.code, *made])
    return f"split grid {grid.code} into {grid.code}, {', '.join(made)}", [grid.code, *made]


def _reparent_children(draft: Draft, old: DraftGrid, candidates: list[str]) -> None:
    """Give each child of ``old`` to the candidate covering most of it."""
    for child in draft.children(old.code):
        best = max(candidates, key=lambda c: draft.grids[c].geom.intersection(child.geom).area)
        if child.parent_code != best:
            child.parent_code = best
            draft.touch(child)


def _op_merge(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    codes = a.get("codes")
    if not isinstance(codes, list) or len(codes) < 2 or len(set(codes)) != len(codes):
        raise InvalidInput("merge: 'codes' must list two or more different grids", field="codes")
    grids = [draft.editable(c, "codes") for c in codes]
    parents = {g.parent_code for g in grids}
    if len(parents) > 1:
        raise InvalidInput(
            f"merge: grids {', '.join(codes)} have different parents ({', '.join(sorted(map(str, parents)))}); "
            "only siblings can be merged",
            field="codes",
        )
    keep = a.get("keep", codes[0])
    if keep not in codes:
        raise InvalidInput(f"merge: 'keep' ({keep}) must be one of the merged grids", field="keep")
    union = pg.merge({g.code: g.geom for g in grids}, "merge")
    survivor = draft.grids[str(keep)]
    survivor.geom = union
    survivor.workers = sum(g.workers for g in grids)
    if a.get("name") is not None:
        survivor.name = checked_name(a["name"])
    draft.touch(survivor)
    gone = [g for g in grids if g.code != keep]
    for g in gone:
        for child in draft.children(g.code):
            child.parent_code = keep
            draft.touch(child)
        retire(draft, g)
    return f"merged {', '.join(g.code for g in gone)} into {keep}", codes


def retire(draft: Draft, grid: DraftGrid) -> None:
    """Take ``grid`` out of the draft (a grid created in the draft simply goes)."""
    del draft.grids[grid.code]
    if grid.state == "created":
        return
    if grid.stored is not None:  # a retired grid leaves as it was stored
        grid.geom = shapely.from_wkb(grid.stored[4])
    grid.state = "retired"
    draft.retired.append(grid)


def _pair(draft: Draft, a: dict[str, Any], op: str) -> tuple[DraftGrid, DraftGrid]:
    codes = a.get("codes")
    if not isinstance(codes, list) or len(codes) != 2 or codes[0] == codes[1]:
        raise InvalidInput(f"{op}: 'codes' must name two different grids", field="codes")
    first, second = draft.editable(codes[0], "codes"), draft.editable(codes[1], "codes")
    _same_parent(first, second, op)
    return first, second


def _same_parent(first: DraftGrid, second: DraftGrid, op: str) -> None:
    if first.parent_code != second.parent_code:
        raise InvalidInput(
            f"{op}: grids {first.code} and {second.code} have different parents "
            f"({first.parent_code}, {second.parent_code}); redraw the boundary of their parents "
            "first",
            field="codes",
        )


def _op_move_boundary(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    first, second = _pair(draft, a, "move_boundary")
    what = f"grids {first.code} and {second.code}"
    if "line" not in a:
        raise InvalidInput(f"{what}: 'line' (a GeoJSON LineString) is required", field="line")
    line = pg.parse_line(a["line"], what)
    pg.check_in_area(line, draft.area.geom, what, draft.area.code)
    first.geom, second.geom = pg.move_boundary(
        first.geom, second.geom, line, (first.code, second.code), draft.snap_deg
    )
    draft.touch(first)
    draft.touch(second)
    return f"moved the boundary between {first.code} and {second.code}", [first.code, second.code]


def _op_transfer(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    source = draft.editable(a.get("from"), "from")
    target = draft.editable(a.get("to"), "to")
    if source.code == target.code:
        raise InvalidInput("transfer: 'from' and 'to' must be different grids", field="to")
    _same_parent(source, target, "transfer")
    piece = _drawn(draft, a, f"transfer from {source.code}")
    source.geom, target.geom = pg.transfer(
        source.geom, target.geom, piece, (source.code, target.code)
    )
    draft.touch(source)
    draft.touch(target)
    return f"moved part of {source.code} to {target.code}", [source.code, target.code]


def _op_create(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    parent_code = a.get("parent_code")
    if parent_code != draft.area.code:
        parent = draft.editable(parent_code, "parent_code")
        level_depth = parent.level.depth + 1
    else:
        level_depth = draft.area.level.depth + 1
    if level_depth >= len(draft.hierarchy.levels):
        raise InvalidInput(f"grid {parent_code} is at the deepest level; it can have no children")
    level = draft.hierarchy.levels[level_depth]
    code = a.get("code")
    if code is None:
        code = next_codes(conn, draft, str(parent_code), level, 1)[0]
    code = str(code)
    check_new_code(conn, draft, code, str(parent_code))
    what = f"new grid {code}"
    name = checked_name(a.get("name"))
    workers = as_int(a.get("workers", 0), "workers")
    grid = DraftGrid(None, code, name, level, str(parent_code), workers, MultiPolygon(), "created")
    draft.grids[code] = grid
    grid.geom = pg.snap(_drawn(draft, a, what), _siblings_geoms(draft, grid), draft.snap_deg)
    others = _apply_neighbours(draft, grid, MultiPolygon(), str(a.get("neighbours", "keep")))
    more = f"; neighbours {', '.join(others)} gave way" if others else ""
    return f"created grid {code} {name}{more}", [code, *others]


def _op_retire(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    grid = draft.editable(a.get("code"))
    kids = draft.children(grid.code)
    if kids:
        raise InvalidInput(
            f"grid {grid.code} still has {len(kids)} grids below it ({kids[0].code} …); merge or "
            "retire them first",
            field="code",
        )
    retire(draft, grid)
    return f"retired grid {grid.code}", [grid.code]


def _op_rename(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    grid = draft.editable(a.get("code"))
    old = grid.name
    grid.name = checked_name(a.get("name"))
    draft.touch(grid)
    return f"renamed grid {grid.code} from {old} to {grid.name}", [grid.code]


def _op_recode(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    grid = draft.editable(a.get("code"))
    new_code = a.get("new_code")
    if not isinstance(new_code, str):
        raise InvalidInput(f"grid {grid.code}: 'new_code' must be a code", field="new_code")
    if draft.children(grid.code):
        raise InvalidInput(
            f"grid {grid.code} has grids below it whose codes start with its code; recode a "
            "grid with no children",
            field="code",
        )
    check_new_code(conn, draft, new_code, grid.parent_code or "")
    old = grid.code
    del draft.grids[old]
    grid.code = new_code
    draft.grids[new_code] = grid
    draft.touch(grid)
    return f"recoded grid {old} as {new_code}", [new_code]


def _op_workers(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    grid = draft.editable(a.get("code"))
    grid.workers = as_int(a.get("workers"), "workers")
    draft.touch(grid)
    return f"set the workers of grid {grid.code} to {grid.workers}", [grid.code]


HANDLERS = {
    "replace": _op_replace,
    "split": _op_split,
    "merge": _op_merge,
    "move_boundary": _op_move_boundary,
    "transfer": _op_transfer,
    "create": _op_create,
    "retire": _op_retire,
    "rename": _op_rename,
    "recode": _op_recode,
    "workers": _op_workers,
    "move_units": op_move_units,
}


def apply_edit(
    conn: Connection,
    hierarchy: Hierarchy,
    plan_id: int,
    edit: dict[str, Any],
    actor: str,
    *,
    snap_m: float,
) -> tuple[EditResult, Draft]:
    """Apply one edit to an open plan and log it (with what it replaced, for undo).

    Args:
        conn: connection in the caller's transaction (roll it back on an error).
        hierarchy: the level chain.
        plan_id: the plan.
        edit: ``{"op": ..., ...}``; see :data:`OPS` and the README for the arguments.
        actor: who edits.
        snap_m: snapping tolerance in metres.

    Raises:
        InvalidInput: an unknown op or bad arguments, naming the grid and the problem.
        Conflict: the plan is not open, or the grids changed since it was opened.
        NotFound: no such plan.
    """
    if not isinstance(edit, dict):
        raise InvalidInput("an edit must be a JSON object with an 'op'", field="op")
    op = edit.get("op")
    if op not in HANDLERS:
        raise InvalidInput(f"unknown edit op '{op}'; ops: {', '.join(OPS)}", field="op")
    draft = load_draft(conn, hierarchy, plan_id, snap_m=snap_m, lock=True)
    require_open(draft.plan)
    untouched = {g.grid_id for g in draft.grids.values() if g.state == "unchanged"}
    undo = snapshot(conn, plan_id)
    summary, changed = HANDLERS[op](conn, draft, edit)
    newly = [g.grid_id for g in draft.touched() if g.grid_id in untouched]
    _changed_since_open(conn, draft, [int(i) for i in newly if i is not None])
    save_draft(conn, draft)
    seq = conn.execute(
        text(
            "INSERT INTO plan_edits (plan_id, seq, op, args, summary, undo, by) "
            "SELECT :id, coalesce(max(seq), 0) + 1, :op, CAST(:args AS jsonb), :summary, "
            "CAST(:undo AS jsonb), :by FROM plan_edits WHERE plan_id = :id RETURNING seq"
        ),
        {
            "id": plan_id,
            "op": op,
            "args": json.dumps(edit, ensure_ascii=False, default=str),
            "summary": summary,
            "undo": json.dumps(undo, default=str),
            "by": actor,
        },
    ).scalar_one()
    return EditResult(int(seq), str(op), summary, tuple(dict.fromkeys(changed))), draft


def undo_edit(
    conn: Connection, hierarchy: Hierarchy, plan_id: int, actor: str, *, snap_m: float
) -> tuple[EditResult, Draft]:
    """Undo the plan's last edit (its rows return to what they were before it).

    Raises:
        InvalidInput: the plan has no edits. Conflict: the plan is not open.
    """
    plan = plan_row(conn, plan_id, lock=True)
    require_open(plan)
    last = conn.execute(
        text(
            "SELECT seq, op, summary, undo FROM plan_edits WHERE plan_id = :id "
            "ORDER BY seq DESC LIMIT 1"
        ),
        {"id": plan_id},
    ).first()
    if last is None:
        raise InvalidInput(f"plan {plan_id} has no edits to undo", field="plan_id")
    write_rows(conn, plan_id, list(last[3]))
    if last[1] == "move_units":
        args = conn.execute(
            text("SELECT args FROM plan_edits WHERE plan_id = :id AND seq = :seq"),
            {"id": plan_id, "seq": last[0]},
        ).scalar_one()
        undo_move_units(conn, plan_id, dict(args.get("previous") or {}))
    conn.execute(
        text("DELETE FROM plan_edits WHERE plan_id = :id AND seq = :seq"),
        {"id": plan_id, "seq": last[0]},
    )
    conn.execute(
        text(
            "UPDATE plans SET updated_at = clock_timestamp(), revision = revision + 1 WHERE id = :id"
        ),
        {"id": plan_id},
    )
    result = EditResult(int(last[0]), str(last[1]), f"undid: {last[2]}", ())
    return result, load_draft(conn, hierarchy, plan_id, snap_m=snap_m)
