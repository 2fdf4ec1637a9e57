"""Plans: drafts of boundary redraws over one area, edited step by step, stored apart from live grids.

A plan covers the subtree of one area (a street, a community …). Its draft is the stored grids
of that subtree overlaid with the plan's rows (``plan_grids``): a grid the plan changes,
creates or retires. Edits are operations (split, merge, move a shared boundary …) computed
here in shapely on the draft and written back as rows; nothing live changes until
:func:`boundaries.plan_commit.commit_plan`. Each edit is logged with a snapshot of the rows it
replaced, so the last edit can be undone, and a refused edit leaves the draft as it was (the
caller's transaction rolls back).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from boundaries import plan_geometry as pg
from gridgeo.errors import Conflict, Forbidden, InvalidInput, NotFound
from gridgeo.levels import Hierarchy, LevelSpec
from gridgeo.lookup import current_grid_id

STATES = ("unchanged", "changed", "created", "retired")
OPS = (
    "replace",
    "split",
    "merge",
    "move_boundary",
    "transfer",
    "create",
    "retire",
    "rename",
    "recode",
    "workers",
)
NEIGHBOURS = ("keep", "yield", "follow")


@dataclass
class DraftGrid:
    """A grid as the plan would leave it.

    Attributes:
        grid_id: the stored grid (None for one the plan creates).
        code, name, parent_code, workers, geom: as the plan would leave them.
        level: its level.
        state: ``unchanged``, ``changed``, ``created`` or ``retired``.
        base_version: the stored version the plan started from (stored grids).
        households: households assigned to it now (leaf grids; 0 for new ones).
        stored: ``(code, name, parent_code, workers, wkb)`` as stored (None for new grids).
    """

    grid_id: int | None
    code: str
    name: str
    level: LevelSpec
    parent_code: str | None
    workers: int
    geom: BaseGeometry
    state: str = "unchanged"
    base_version: int | None = None
    households: int = 0
    stored: tuple[str, str, str | None, int, bytes] | None = field(default=None, repr=False)

    def feature(self, editable: bool) -> dict[str, Any]:
        """The grid as a GeoJSON Feature."""
        return {
            "type": "Feature",
            "id": self.code if self.state != "retired" else f"{self.code}@retired",
            "geometry": pg.to_geojson(self.geom),
            "properties": {
                "code": self.code,
                "name": self.name,
                "level": self.level.key,
                "parent_code": self.parent_code,
                "workers": self.workers,
                "state": self.state,
                "editable": editable and self.state != "retired",
                "households": self.households,
                "grid_id": self.grid_id,
            },
        }


@dataclass
class Draft:
    """The plan's area, its grids as the plan would leave them, and the plan's record."""

    plan: dict[str, Any]
    hierarchy: Hierarchy
    area: DraftGrid
    grids: dict[str, DraftGrid]  # current draft code -> grid (not retired)
    retired: list[DraftGrid]
    snap_deg: float

    @property
    def plan_id(self) -> int:
        """The plan's id."""
        return int(self.plan["id"])

    def editable(self, code: Any, field: str = "code") -> DraftGrid:
        """A grid of the plan's area that may be edited.

        Raises:
            InvalidInput: no code, or a grid outside the plan's area (or the area itself).
        """
        if not isinstance(code, str) or not code:
            raise InvalidInput(f"'{field}' must name a grid by its code", field=field)
        if code == self.area.code:
            raise InvalidInput(
                f"grid {code} is the plan's area itself; open a plan on its parent to redraw it",
                field=field,
            )
        grid = self.grids.get(code)
        if grid is None:
            gone = any(g.code == code for g in self.retired)
            why = (
                "is retired in this plan"
                if gone
                else f"is not in this plan's area {self.area.code}"
            )
            raise InvalidInput(f"grid {code} {why}", field=field)
        return grid

    def parent_geom(self, grid: DraftGrid) -> BaseGeometry | None:
        """The draft geometry of a grid's parent (None above the area)."""
        if grid.parent_code == self.area.code:
            return self.area.geom
        parent = self.grids.get(grid.parent_code or "")
        return parent.geom if parent else None

    def children(self, code: str) -> list[DraftGrid]:
        """The grids whose draft parent is ``code``."""
        return [g for g in self.grids.values() if g.parent_code == code]

    def siblings(self, grid: DraftGrid) -> list[DraftGrid]:
        """Other draft grids with the same parent and level."""
        return [
            g
            for g in self.grids.values()
            if g.parent_code == grid.parent_code and g.code != grid.code and g.level == grid.level
        ]

    def touch(self, grid: DraftGrid) -> None:
        """Mark a stored grid as changed by the plan."""
        if grid.state == "unchanged":
            grid.state = "changed"

    def features(self) -> dict[str, Any]:
        """The draft as a FeatureCollection: current and new grids, then the retired ones."""
        feats = [g.feature(True) for g in sorted(self.grids.values(), key=lambda g: g.code)]
        feats += [g.feature(False) for g in self.retired]
        return {"type": "FeatureCollection", "features": feats}

    def touched(self) -> list[DraftGrid]:
        """Every grid the plan changes, creates or retires."""
        return [g for g in self.grids.values() if g.state != "unchanged"] + self.retired


# --------------------------------------------------------------------------- records

PLAN_COLUMNS = (
    "id, area_code, title, status, source, created_by, opened_at, updated_at, revision, "
    "change_id, closed_at, closed_by, detail"
)


def _plan_row(conn: Connection, plan_id: int, lock: bool = False) -> dict[str, Any]:
    sql = f"SELECT {PLAN_COLUMNS} FROM plans WHERE id = :id"  # noqa: S608 - fixed columns
    sql += " FOR UPDATE" if lock else ""
    row = conn.execute(text(sql), {"id": plan_id}).mappings().first()
    if row is None:
        raise NotFound(f"no plan has the id {plan_id}", field="plan_id")
    return dict(row)


def get_plan(conn: Connection, plan_id: int) -> dict[str, Any]:
    """A plan's record.

    Raises:
        NotFound: no such plan.
    """
    return _plan_row(conn, plan_id)


def list_plans(
    conn: Connection, *, status: str | None = None, areas: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Plans, newest first, optionally of one status and within the given areas."""
    where, params = ["true"], {}
    if status is not None:
        if status not in ("open", "committed", "discarded"):
            raise InvalidInput(
                f"unknown plan status '{status}'; statuses: open, committed, discarded",
                field="status",
            )
        where.append("status = :status")
        params["status"] = status
    if areas is not None:
        where.append("area_code LIKE ANY(CAST(:areas AS text[]))")
        params["areas"] = [a + "%" for a in areas]  # type: ignore[assignment]
    clause = " AND ".join(where)
    sql = f"SELECT {PLAN_COLUMNS} FROM plans WHERE {clause} ORDER BY id DESC"  # noqa: S608
    return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def open_plan(
    conn: Connection,
    area_code: str,
    title: str,
    actor: str,
    *,
    source: str = "editor",
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open a plan over the subtree of ``area_code``.

    Raises:
        NotFound: no current grid has the code. InvalidInput: a blank title, or an area with no
            grids below it (open the plan on its parent).
    """
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("a plan needs a title saying what it is for", field="title")
    area_id = current_grid_id(conn, area_code, "area")
    kids = conn.execute(
        text("SELECT count(*) FROM grids WHERE parent_id = :id AND valid_to IS NULL"),
        {"id": area_id},
    ).scalar_one()
    if not kids:
        raise InvalidInput(
            f"area {area_code} has no grids below it; open the plan on its parent to redraw it",
            field="area",
        )
    row = (
        conn.execute(
            text(
                "INSERT INTO plans (area_code, title, created_by, source, detail) "  # noqa: S608
                f"VALUES (:a, :t, :by, :s, CAST(:d AS jsonb)) RETURNING {PLAN_COLUMNS}"
            ),
            {
                "a": area_code,
                "t": title.strip(),
                "by": actor,
                "s": source,
                "d": json.dumps(detail or {}, ensure_ascii=False, default=str),
            },
        )
        .mappings()
        .one()
    )
    return dict(row)


def require_open(plan: dict[str, Any]) -> None:
    """Refuse to change a plan that is committed or discarded.

    Raises:
        Conflict: the plan is not open.
    """
    if plan["status"] != "open":
        raise Conflict(
            f"plan {plan['id']} is {plan['status']}; open a new plan to make further changes",
            plan_id=plan["id"],
            status=plan["status"],
        )


def discard_plan(conn: Connection, plan_id: int, actor: str) -> dict[str, Any]:
    """Discard an open plan (its rows stay on record).

    Raises:
        NotFound, Conflict: no such plan, or not open.
    """
    plan = _plan_row(conn, plan_id, lock=True)
    require_open(plan)
    conn.execute(
        text(
            "UPDATE plans SET status = 'discarded', closed_at = clock_timestamp(), "
            "closed_by = :by, updated_at = clock_timestamp() WHERE id = :id"
        ),
        {"id": plan_id, "by": actor},
    )
    return _plan_row(conn, plan_id)


# --------------------------------------------------------------------------- the draft

SUBTREE = """
WITH RECURSIVE t AS (
    SELECT id FROM grids WHERE id = :area_id
    UNION ALL
    SELECT g.id FROM grids g JOIN t ON g.parent_id = t.id WHERE g.valid_to IS NULL
)
SELECT g.id, g.code, g.name, g.level_id, p.code AS parent_code, g.workers AS stored_workers,
       coalesce(s.workers, g.workers) AS workers, g.version, ST_AsBinary(g.geom) AS wkb,
       CASE WHEN :households THEN coalesce((
           SELECT sum(h.household_count) FROM household_grid a
           JOIN households h ON h.id = a.household_id WHERE a.grid_id = g.id), 0) END AS hh
FROM t JOIN grids g ON g.id = t.id
LEFT JOIN grids p ON p.id = g.parent_id
LEFT JOIN grid_staff s ON s.grid_id = g.id
"""

ROWS = """
SELECT grid_id, base_version, action, code, name, level_id, parent_code, workers,
       ST_AsBinary(geom) AS wkb
FROM plan_grids WHERE plan_id = :id ORDER BY id
"""


def _level(hierarchy: Hierarchy, level_id: int) -> LevelSpec:
    for spec in hierarchy.levels:
        if spec.id == level_id:
            return spec
    raise NotFound(f"no level has the id {level_id}")


def load_draft(
    conn: Connection,
    hierarchy: Hierarchy,
    plan_id: int,
    *,
    snap_m: float = 0.5,
    lock: bool = False,
    households: bool = True,
) -> Draft:
    """The plan's draft: the stored subtree of its area overlaid with the plan's rows.

    ``households=False`` skips counting each grid's households (0 then): the preview and the
    commit count them where they need them.

    Raises:
        NotFound: no such plan, or its area no longer exists.
    """
    plan = _plan_row(conn, plan_id, lock=lock)
    area_id = conn.execute(
        text("SELECT id FROM grids WHERE code = :c AND valid_to IS NULL"), {"c": plan["area_code"]}
    ).scalar()
    if area_id is None:
        raise NotFound(f"the area {plan['area_code']} of plan {plan_id} no longer exists")
    stored: dict[int, DraftGrid] = {}
    area: DraftGrid | None = None
    rows = conn.execute(text(SUBTREE), {"area_id": area_id, "households": households})
    for r in rows.mappings():
        geom = shapely.from_wkb(bytes(r["wkb"]))
        grid = DraftGrid(
            grid_id=int(r["id"]),
            code=r["code"],
            name=r["name"],
            level=_level(hierarchy, r["level_id"]),
            parent_code=r["parent_code"],
            workers=int(r["workers"]),
            geom=geom,
            base_version=int(r["version"]),
            households=int(r["hh"] or 0),
            stored=(r["code"], r["name"], r["parent_code"], int(r["workers"]), bytes(r["wkb"])),
        )
        if grid.grid_id == area_id:
            area = grid
        else:
            stored[grid.grid_id] = grid  # type: ignore[index]
    assert area is not None
    retired: list[DraftGrid] = []
    created: list[DraftGrid] = []
    for r in conn.execute(text(ROWS), {"id": plan_id}).mappings():
        geom = shapely.from_wkb(bytes(r["wkb"])) if r["wkb"] is not None else None
        base = stored.get(r["grid_id"]) if r["grid_id"] is not None else None
        if r["grid_id"] is not None and base is None:
            # a grid the plan touched has left the area (retired or moved by another commit)
            base = DraftGrid(
                int(r["grid_id"]),
                r["code"],
                r["name"],
                _level(hierarchy, r["level_id"]),
                r["parent_code"],
                int(r["workers"]),
                geom or MultiPolygon(),
            )
            stored[int(r["grid_id"])] = base
        grid = DraftGrid(
            grid_id=r["grid_id"],
            code=r["code"],
            name=r["name"],
            level=_level(hierarchy, r["level_id"]),
            parent_code=r["parent_code"],
            workers=int(r["workers"]),
            geom=geom if geom is not None else (base.geom if base else MultiPolygon()),
            state={"change": "changed", "create": "created", "retire": "retired"}[r["action"]],
            base_version=r["base_version"],
            households=base.households if base else 0,
            stored=base.stored if base else None,
        )
        if grid.state == "created":
            created.append(grid)
        elif grid.state == "retired":
            retired.append(grid)
            stored.pop(int(r["grid_id"]), None)
        else:
            stored[int(r["grid_id"])] = grid
    grids = {g.code: g for g in list(stored.values()) + created}
    return Draft(plan, hierarchy, area, grids, retired, pg.degrees(snap_m))


def _snapshot(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT grid_id, base_version, action, code, name, level_id, parent_code, workers, "
            "encode(ST_AsBinary(geom), 'hex') AS wkb FROM plan_grids WHERE plan_id = :id "
            "ORDER BY id"
        ),
        {"id": plan_id},
    ).mappings()
    return [dict(r) for r in rows]


INSERT_ROW = """
INSERT INTO plan_grids (plan_id, grid_id, base_version, action, code, name, level_id,
                        parent_code, workers, geom)
VALUES (:plan_id, :grid_id, :base_version, :action, :code, :name, :level_id, :parent_code,
        :workers, ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)))
"""


def _write_rows(conn: Connection, plan_id: int, rows: list[dict[str, Any]]) -> None:
    conn.execute(text("DELETE FROM plan_grids WHERE plan_id = :id"), {"id": plan_id})
    if rows:
        conn.execute(text(INSERT_ROW), [r | {"plan_id": plan_id} for r in rows])


def _rows_of(draft: Draft) -> list[dict[str, Any]]:
    action = {"changed": "change", "created": "create", "retired": "retire"}
    rows = []
    for g in draft.touched():
        geom = None if g.state == "retired" else pg.as_multi(g.geom)
        rows.append(
            {
                "grid_id": g.grid_id,
                "base_version": g.base_version,
                "action": action[g.state],
                "code": g.code,
                "name": g.name,
                "level_id": g.level.id,
                "parent_code": g.parent_code,
                "workers": g.workers,
                "wkb": None if geom is None else shapely.to_wkb(geom, hex=True),
            }
        )
    return rows


def save_draft(conn: Connection, draft: Draft) -> None:
    """Write the draft's touched grids as the plan's rows (replacing the previous rows)."""
    _write_rows(conn, draft.plan_id, _rows_of(draft))
    conn.execute(
        text(
            "UPDATE plans SET updated_at = clock_timestamp(), revision = revision + 1 "
            "WHERE id = :id"
        ),
        {"id": draft.plan_id},
    )


# --------------------------------------------------------------------------- edits


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


def _as_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"'{field}' must be a whole number ≥ 0", field=field)
    return value


def _name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidInput(f"'{field}' must be a name of 1 to 200 characters", field=field)
    return value.strip()


def _used_codes(conn: Connection, prefix: str, length: int) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT DISTINCT code FROM grid_versions WHERE code LIKE :p AND length(code) = :n "
            "UNION SELECT code FROM grids WHERE code LIKE :p AND length(code) = :n"
        ),
        {"p": prefix + "%", "n": length},
    ).scalars()
    return set(rows)


def _check_new_code(conn: Connection, draft: Draft, code: str, parent_code: str) -> None:
    parent_level = draft.area.level if parent_code == draft.area.code else None
    parent = draft.grids.get(parent_code)
    level = (parent.level if parent else parent_level) or draft.area.level
    spec = (
        draft.hierarchy.levels[level.depth + 1]
        if level.depth + 1 < len(draft.hierarchy.levels)
        else None
    )
    if spec is None:
        raise InvalidInput(f"grid {parent_code} is at the deepest level; it can have no children")
    problem = draft.hierarchy.code_problem(code, spec, parent_code)
    if problem:
        raise InvalidInput(f"new code: {problem}", field="code")
    if code in draft.grids:
        raise InvalidInput(
            f"code {code} is already used by grid {draft.grids[code].name}", field="code"
        )
    clash = conn.execute(
        text("SELECT name FROM grids WHERE code = :c AND valid_to IS NULL"), {"c": code}
    ).scalar()
    if clash is not None and not any(g.code == code for g in draft.retired):
        raise InvalidInput(f"code {code} is already used by grid {clash}", field="code")


def next_codes(
    conn: Connection, draft: Draft, parent_code: str, level: LevelSpec, n: int
) -> list[str]:
    """``n`` unused codes for new children of ``parent_code`` (never reusing a retired code)."""
    used = _used_codes(conn, parent_code, level.code_length) | set(draft.grids)
    used |= {g.code for g in draft.retired}
    width = level.code_width
    numbers = [
        int(c[len(parent_code) :])
        for c in used
        if c.startswith(parent_code) and len(c) == level.code_length and c.isdigit()
    ]
    start = max(numbers, default=0) + 1
    codes = [f"{parent_code}{k:0{width}d}" for k in range(start, start + n)]
    if any(len(c) != level.code_length for c in codes):
        raise InvalidInput(
            f"no free {level.key} codes are left below {parent_code}; give the codes explicitly",
            field="codes",
        )
    return codes


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
        _check_new_code(conn, draft, str(code), parent)
    codes = [str(c) for c in codes]
    missing = len(pieces) - 1 - len(codes)
    if missing:
        codes += next_codes(conn, draft, parent, grid.level, missing)
    # the largest piece keeps the grid (and its code and workers); the others are new
    grid.geom = pieces[0]
    draft.touch(grid)
    made = []
    for k, (piece, code) in enumerate(zip(pieces[1:], codes, strict=True)):
        name = _name(names[k]) if k < len(names) else f"{grid.name}（{k + 2}）"
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
        survivor.name = _name(a["name"])
    draft.touch(survivor)
    gone = [g for g in grids if g.code != keep]
    for g in gone:
        for child in draft.children(g.code):
            child.parent_code = keep
            draft.touch(child)
        _retire(draft, g)
    return f"merged {', '.join(g.code for g in gone)} into {keep}", codes


def _retire(draft: Draft, grid: DraftGrid) -> None:
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
    _check_new_code(conn, draft, code, str(parent_code))
    what = f"new grid {code}"
    name = _name(a.get("name"))
    workers = _as_int(a.get("workers", 0), "workers")
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
    _retire(draft, grid)
    return f"retired grid {grid.code}", [grid.code]


def _op_rename(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    grid = draft.editable(a.get("code"))
    old = grid.name
    grid.name = _name(a.get("name"))
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
    _check_new_code(conn, draft, new_code, grid.parent_code or "")
    old = grid.code
    del draft.grids[old]
    grid.code = new_code
    draft.grids[new_code] = grid
    draft.touch(grid)
    return f"recoded grid {old} as {new_code}", [new_code]


def _op_workers(conn: Connection, draft: Draft, a: dict[str, Any]) -> tuple[str, list[str]]:
    grid = draft.editable(a.get("code"))
    grid.workers = _as_int(a.get("workers"), "workers")
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
}


def apply_edit(
    conn: Connection,
    hierarchy: Hierarchy,
    plan_id: int,
    edit: dict[str, Any],
    actor: str,
    *,
    snap_m: float = 0.5,
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
    undo = _snapshot(conn, plan_id)
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
    conn: Connection, hierarchy: Hierarchy, plan_id: int, actor: str, *, snap_m: float = 0.5
) -> tuple[EditResult, Draft]:
    """Undo the plan's last edit (its rows return to what they were before it).

    Raises:
        InvalidInput: the plan has no edits. Conflict: the plan is not open.
    """
    plan = _plan_row(conn, plan_id, lock=True)
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
    _write_rows(conn, plan_id, list(last[3]))
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


def list_edits(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """The plan's edits in order: seq, op, summary, by, at, args."""
    rows = conn.execute(
        text(
            "SELECT seq, op, summary, by, at, args FROM plan_edits WHERE plan_id = :id ORDER BY seq"
        ),
        {"id": plan_id},
    ).mappings()
    return [dict(r) for r in rows]


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
    draft = load_draft(conn, hierarchy, int(plan["id"]))
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
            _check_new_code(conn, draft, code, area_code)
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
                g.workers = _as_int(prop["workers"], "workers")
            if prop.get("name"):
                g.name = _name(prop["name"])
            draft.touch(g)
        else:
            workers = _as_int(prop.get("workers") or 0, "workers")
            code = given.get(k) or next(fresh)
            name = _name(prop.get("name") or f"{draft.area.name} 新网格 {code[-3:]}")
            draft.grids[code] = DraftGrid(
                None, code, name, level, area_code, workers, geom, "created"
            )
    for g in current:
        if g.code not in taken:
            _retire(draft, g)
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


def plan_summary(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan's record as JSON-able values."""
    out = dict(plan)
    for key in ("opened_at", "updated_at", "closed_at"):
        if isinstance(out.get(key), datetime):
            out[key] = out[key].isoformat()
    return out


def check_plan_area(account_covers: Any, plan: dict[str, Any]) -> None:
    """Refuse an account whose areas do not cover the plan's area.

    Args:
        account_covers: the account's ``covers(code)`` method.
        plan: the plan's record.

    Raises:
        Forbidden: the area is outside the account's areas.
    """
    if not account_covers(plan["area_code"]):
        raise Forbidden(f"plan {plan['id']} is over area {plan['area_code']}, outside your areas")
