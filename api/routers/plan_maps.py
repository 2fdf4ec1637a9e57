"""The map of a plan: before and after side by side (``/maps/plans/{id}``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import shapely
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from shapely.geometry import mapping, shape
from sqlalchemy import Connection

from api.deps import PLANNERS, Bases, ConnDep, HierarchyDep, PlanViewer, SettingsDep
from api.routers.maps import other_language_link
from boundaries.plans.drafts import Draft, load_draft
from boundaries.plans.preview import preview
from boundaries.plans.records import check_plan_area, get_plan
from gridgeo.levels import Hierarchy
from gridgeo.versions import get_change, grids_at
from gridgeo.workload import DEFAULT_BAND
from maps.frame import render_page
from maps.plan_page import before_and_after, build_plan_page

router = APIRouter(tags=["maps"])
EPSILON = timedelta(microseconds=1)


def committed_sides(
    conn: Connection, hierarchy: Hierarchy, draft: Draft
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan's level in its area just before and at its change, with each grid's state."""
    levels = [g.level.key for g in draft.touched()]
    level = max(set(levels), key=levels.count)
    at = get_change(conn, int(draft.plan["change_id"]))["at"]
    area = (draft.plan["area_code"],)
    before = grids_at(conn, hierarchy, level, at - EPSILON, areas=area)
    after = grids_at(conn, hierarchy, level, at, areas=area)
    old = {f["properties"]["code"]: f for f in before["features"]}
    new = {f["properties"]["code"]: f for f in after["features"]}
    for code, f in new.items():
        was = old.get(code)
        f["properties"]["state"] = (
            "created" if was is None
            else "unchanged" if was["properties"]["version"] == f["properties"]["version"]
            else "changed"
        )  # fmt: skip
    for code, f in old.items():
        f["properties"]["state"] = new[code]["properties"]["state"] if code in new else "retired"
    return before, after


def committed_summary(
    before: dict[str, Any], after: dict[str, Any], *, standard: int
) -> dict[str, Any]:
    """What a committed plan's page shows: no problems; the changed area; no load figures.

    The legend's statuses are against ``standard`` and the default band.
    """
    changed = [
        shape(f["geometry"])
        for f in before["features"] + after["features"]
        if f["properties"]["state"] != "unchanged"
    ]
    area = mapping(shapely.union_all(changed)) if changed else None
    impact = {"grids": [], "moves": [], "standard": standard, "band": DEFAULT_BAND}
    return {"ok": True, "errors": 0, "problems": [], "changed_area": area, "impact": impact}


@router.get("/maps/plans/{plan_id}", response_class=HTMLResponse, summary="A plan before and after")
def plan_map(
    plan_id: int,
    request: Request,
    settings: SettingsDep,
    bases: Bases,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: PlanViewer,
    lang: Literal["zh", "en"] = "zh",
) -> HTMLResponse:
    """Two maps in step: the grids before (load before) and the draft or result (load after).

    The households that move are drawn as arrows with counts, topology problems are marked,
    and the changed area is outlined. For a committed plan the sides are the versions its
    change replaced and the ones it made. Viewers, planners and admins whose areas cover the
    plan's area; 404 for an unknown plan.
    """
    check_plan_area(account.covers, get_plan(conn, plan_id))
    snap_m, standard = settings.boundaries.plan_snap_m, settings.workload.households_per_worker
    draft = load_draft(conn, hierarchy, plan_id, snap_m=snap_m)
    if draft.plan["status"] == "committed" and draft.plan["change_id"]:
        before, after = committed_sides(conn, hierarchy, draft)
        shown = committed_summary(before, after, standard=standard)
    else:
        stored = {
            g.stored[0]: (g.stored[1], shapely.from_wkb(g.stored[4]), g.state, g.level.key)
            for g in draft.touched()
            if g.stored is not None
        }
        before, after = before_and_after(draft.features()["features"], stored)
        shown = preview(conn, draft, standard=standard, tolerance_m=snap_m)
    editor = f"/plans/{plan_id}/edit" if account.role in PLANNERS else None
    dual = build_plan_page(
        draft.plan,
        before,
        after,
        shown,
        lang=lang,
        bases=bases,
        other_href=other_language_link(request, lang),
        editor_href=editor if draft.plan["status"] == "open" else None,
    )
    return HTMLResponse(render_page(dual.m1, lang))
