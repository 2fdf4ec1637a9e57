"""Plans: drafts of boundary redraws over one area, edited step by step, stored apart from live grids.

A plan covers the subtree of one area (a street, a community …). Its draft is the stored grids
of that subtree overlaid with the plan's rows (``plan_grids``): a grid the plan changes,
creates or retires. Edits are operations (split, merge, move a shared boundary …) computed
here in shapely on the draft and written back as rows; nothing live changes until
:func:`boundaries.plans.commit.commit_plan`. Each edit is logged with a snapshot of the rows it
replaced, so the last edit can be undone, and a refused edit leaves the draft as it was (the
caller's transaction rolls back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from boundaries.plans import geometry as pg
from boundaries.plans.records import plan_row
from gridgeo.errors import InvalidInput, NotFound
from gridgeo.levels import Hierarchy, LevelSpec

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
    "move_units",
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


# --------------------------------------------------------------------------- the draft

SUBTREE = """
WITH RECURSIVE t AS (
    SELECT id FROM grids WHERE id = :area_id
    UNION ALL
    SELECT g.id FROM current_grids g JOIN t ON g.parent_id = t.id
)
SELECT g.id, g.code, g.name, g.level_id, p.code AS parent_code, g.workers AS stored_workers,
       coalesce(s.workers, g.workers) AS workers, g.version, ST_AsBinary(g.geom) AS wkb,
       CASE WHEN :households THEN coalesce((
           SELECT s.households FROM grid_households s WHERE s.grid_id = g.id), 0) END AS hh
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
    snap_m: float,
    lock: bool = False,
    households: bool = True,
) -> Draft:
    """The plan's draft: the stored subtree of its area overlaid with the plan's rows.

    ``households=False`` skips counting each grid's households (0 then): the preview and the
    commit count them where they need them.

    Raises:
        NotFound: no such plan, or its area no longer exists.
    """
    plan = plan_row(conn, plan_id, lock=lock)
    area_id = conn.execute(
        text("SELECT id FROM current_grids WHERE code = :c"), {"c": plan["area_code"]}
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


def snapshot(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """The draft rows of plan ``plan_id`` as stored (for an undo entry)."""
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


def write_rows(conn: Connection, plan_id: int, rows: list[dict[str, Any]]) -> None:
    """Replace the draft rows of plan ``plan_id`` with ``rows``."""
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
    write_rows(conn, draft.plan_id, _rows_of(draft))
    conn.execute(
        text(
            "UPDATE plans SET updated_at = clock_timestamp(), revision = revision + 1 "
            "WHERE id = :id"
        ),
        {"id": draft.plan_id},
    )
