"""Plans: open a draft over an area, edit it, preview it, commit it; revert a commit.

Planners and admins only, within their areas. Every request runs in one transaction: a refused
edit or commit leaves the plan and the grids exactly as they were.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from api.auth import area_filter, check_area
from api.deps import ConnDep, HierarchyDep, Planner, SettingsDep
from boundaries.plans.commit import commit_plan, revert_change
from boundaries.plans.drafts import OPS, load_draft
from boundaries.plans.edits import apply_edit, undo_edit
from boundaries.plans.preview import preview
from boundaries.plans.records import (
    check_plan_area,
    discard_plan,
    get_plan,
    list_edits,
    list_plans,
    open_plan,
    plan_summary,
)
from boundaries.plans.summaries import summary_parts
from gridgeo.accounts import Account
from gridgeo.versions import get_change

router = APIRouter(tags=["plans"])


class PlanIn(BaseModel):
    """A new plan: the area it redraws and what it is for."""

    model_config = ConfigDict(extra="forbid")
    area: str = Field(min_length=1, max_length=64, description="code of the area (its subtree)")
    title: str = Field(min_length=1, max_length=200, description="what the plan is for")


class MessageIn(BaseModel):
    """Why a commit or revert is made (required)."""

    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=2000)


def _plan(conn: ConnDep, plan_id: int, account: Account) -> dict[str, Any]:
    plan = get_plan(conn, plan_id)
    check_plan_area(account.covers, plan)
    return plan


def _edits(conn: ConnDep, plan_id: int) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if k == "at" else v) for k, v in e.items() if k != "args"}
        for e in list_edits(conn, plan_id)
    ]


@router.post("/plans", status_code=201, summary="Open a plan (a draft) over an area")
def create_plan(
    body: PlanIn, conn: ConnDep, account: Planner, response: Response
) -> dict[str, Any]:
    """Open a draft over the subtree of ``area``; nothing live changes until it is committed."""
    check_area(account, body.area)
    plan = open_plan(conn, body.area, body.title, account.name)
    response.headers["Location"] = f"/plans/{plan['id']}"
    return plan_summary(plan)


@router.get("/plans", summary="Plans within your areas, newest first")
def plans(conn: ConnDep, account: Planner, status: str | None = None) -> dict[str, Any]:
    """Plans, optionally only ``open``, ``committed`` or ``discarded`` ones."""
    rows = list_plans(conn, status=status, areas=area_filter(account))
    return {"plans": [plan_summary(p) for p in rows]}


@router.get("/plans/{plan_id}", summary="A plan: its record, edits and draft grids")
def plan(
    plan_id: int, settings: SettingsDep, conn: ConnDep, hierarchy: HierarchyDep, account: Planner
) -> dict[str, Any]:
    """The plan, its edits, and its draft.

    The draft is a FeatureCollection of the area's grids as the plan would leave them, each
    with a ``state`` (unchanged, changed, created, retired).
    """
    _plan(conn, plan_id, account)
    draft = load_draft(conn, hierarchy, plan_id, snap_m=settings.boundaries.plan_snap_m)
    return {
        "plan": plan_summary(draft.plan),
        "area": draft.area.feature(False),
        "edits": _edits(conn, plan_id),
        "draft": draft.features(),
    }


EDIT_DOC = (
    "One edit: {op: " + " | ".join(OPS) + ", ...}. See the README (Plans) for each op's fields."
)


@router.post("/plans/{plan_id}/edits", summary="Apply one edit to a plan")
def edit(
    plan_id: int,
    settings: SettingsDep,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: Planner,
    body: Annotated[dict[str, Any], Body(description=EDIT_DOC)],
) -> dict[str, Any]:
    """Apply the edit; a refused edit says which grid and what is wrong, and changes nothing."""
    _plan(conn, plan_id, account)
    result, draft = apply_edit(
        conn, hierarchy, plan_id, body, account.name, snap_m=settings.boundaries.plan_snap_m
    )
    return {
        "edit": {
            "seq": result.seq,
            "op": result.op,
            "summary": result.summary,
            "summary_parts": summary_parts(result.summary),
        },
        "changed": list(result.changed),
        "draft": draft.features(),
    }


@router.delete("/plans/{plan_id}/edits/last", summary="Undo a plan's last edit")
def undo(
    plan_id: int, settings: SettingsDep, conn: ConnDep, hierarchy: HierarchyDep, account: Planner
) -> dict[str, Any]:
    """The draft as it was before the last edit."""
    _plan(conn, plan_id, account)
    result, draft = undo_edit(
        conn, hierarchy, plan_id, account.name, snap_m=settings.boundaries.plan_snap_m
    )
    return {
        "edit": {
            "seq": result.seq,
            "op": result.op,
            "summary": result.summary,
            "summary_parts": summary_parts(result.summary),
        },
        "changed": [],
        "draft": draft.features(),
    }


@router.get("/plans/{plan_id}/preview", summary="Topology problems and impact of a plan")
def plan_preview(
    plan_id: int, settings: SettingsDep, conn: ConnDep, hierarchy: HierarchyDep, account: Planner
) -> dict[str, Any]:
    """Located topology problems and the impact of the plan.

    Errors block a commit. The impact covers households, workers and load (against the
    standard) and open incidents.
    """
    _plan(conn, plan_id, account)
    snap_m, standard = settings.boundaries.plan_snap_m, settings.workload.households_per_worker
    draft = load_draft(conn, hierarchy, plan_id, snap_m=snap_m, households=False)
    return preview(conn, draft, standard=standard, tolerance_m=snap_m)


@router.post("/plans/{plan_id}/commit", summary="Commit a plan in one transaction")
def commit(
    plan_id: int,
    body: MessageIn,
    settings: SettingsDep,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: Planner,
) -> dict[str, Any]:
    """Versions the grids, reassigns the households and open incidents of the changed area.

    409 names the grids another commit changed since the plan was opened; 400 lists the
    topology errors that block it.
    """
    _plan(conn, plan_id, account)
    out = commit_plan(
        conn, hierarchy, plan_id, account.name, body.message, snap_m=settings.boundaries.plan_snap_m
    )
    out["plan"] = plan_summary(out["plan"])
    return out


@router.post("/plans/{plan_id}/discard", summary="Discard an open plan")
def discard(plan_id: int, conn: ConnDep, account: Planner) -> dict[str, Any]:
    """The plan stays on record as discarded."""
    _plan(conn, plan_id, account)
    return {"plan": plan_summary(discard_plan(conn, plan_id, account.name))}


@router.get("/changes/{change_id}", summary="A change: who, when, why")
def change(change_id: int, conn: ConnDep, account: Planner) -> dict[str, Any]:
    """The change record."""
    out = get_change(conn, change_id)
    out["at"] = out["at"].isoformat()
    return out


@router.post("/changes/{change_id}/revert", summary="Revert a commit by a new, checked commit")
def revert(
    change_id: int,
    body: MessageIn,
    settings: SettingsDep,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: Planner,
) -> dict[str, Any]:
    """Restore the grids the change replaced; 409 when they were changed again since."""
    get_change(conn, change_id)
    touched = conn.execute(
        text(
            "SELECT DISTINCT code FROM grid_versions "
            "WHERE change_id = :c OR closed_change_id = :c ORDER BY code"
        ),
        {"c": change_id},
    ).scalars()
    for code in touched:  # every grid the change made or replaced must be in the caller's areas
        check_area(account, code)
    out = revert_change(
        conn,
        hierarchy,
        change_id,
        account.name,
        body.message,
        snap_m=settings.boundaries.plan_snap_m,
    )
    out["plan"] = plan_summary(out["plan"])
    return out
