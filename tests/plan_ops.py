"""Edits and checks shared by the plan tests (tests/db/test_plans*.py) on the plan city."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Connection, text

from boundaries.plans.drafts import load_draft
from boundaries.plans.edits import apply_edit
from boundaries.plans.preview import preview
from boundaries.plans.records import open_plan
from gridgeo.levels import Hierarchy
from tests.plan_city import C, box

NEW = C + "005"


def line(*pts: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in pts]}


def vertical_split(code: str, frac: float = 0.5) -> dict[str, Any]:
    x0, y0, x1, y1 = box(code)
    x = x0 + frac * (x1 - x0)
    return {"op": "split", "code": code, "line": line((x, y0 - 1e-4), (x, y1 + 1e-4))}


def edit(conn: Connection, h: Hierarchy, plan_id: int, e: dict[str, Any]) -> Any:
    return apply_edit(conn, h, plan_id, e, "planner1", snap_m=0.5)


def new_plan(conn: Connection, area: str = C) -> int:
    return int(open_plan(conn, area, "test plan", "planner1")["id"])


def check(conn: Connection, h: Hierarchy, plan_id: int) -> dict[str, Any]:
    return preview(conn, load_draft(conn, h, plan_id, snap_m=0.5), standard=300, tolerance_m=0.5)


def kinds(out: dict[str, Any]) -> set[str]:
    return {p["kind"] for p in out["problems"] if p["severity"] == "error"}


def geom_of(conn: Connection, code: str) -> Any:
    wkb = conn.execute(
        text("SELECT ST_AsBinary(geom) FROM grids WHERE code = :c AND valid_to IS NULL"),
        {"c": code},
    ).scalar_one()
    return shapely.from_wkb(bytes(wkb))
