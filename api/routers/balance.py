"""Balancing: propose a redrawn partition of an area into grids; suggestions without redrawing.

A proposal stores nothing; with ``plan=true`` it is opened as a plan (a draft) that is
previewed here and committed through ``/plans``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from api.auth import area_filter, check_area
from api.deps import ConnDep, HierarchyDep, Planner, SettingsDep
from boundaries.plans.from_balance import proposal_to_plan
from gridgeo.balance.db import propose
from gridgeo.balance.district import propose_all
from gridgeo.balance.suggest import suggestions
from gridgeo.balance.words import pick_lang, plan_title
from gridgeo.batch.cluster import from_settings
from gridgeo.errors import InvalidInput

router = APIRouter(tags=["balance"])


class BalanceIn(BaseModel):
    """What to balance: an area and, optionally, the number of grids or households per grid."""

    model_config = ConfigDict(extra="forbid")
    area: str = Field(min_length=1, max_length=64, description="code of the area (a community)")
    k: int | None = Field(default=None, gt=0, le=1000, description="grids wanted")
    target: int | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="households per grid: k = ceil(households / target)",
    )
    band: float | None = Field(default=None, gt=0, lt=1, description="tolerance: 0.1 = ±10 %")
    lines: bool | None = Field(
        default=None,
        description="follow the stored roads and rivers: null = when any cross the area, "
        "true = required (400 without), false = units around the buildings",
    )
    scope: Literal["area", "all"] = Field(
        default="area",
        description="area: this community; all: every community at or below the area",
    )
    title: str | None = Field(default=None, max_length=200, description="title of the plan")


@router.post("/balance", summary="Propose a balanced partition of an area into grids")
def post_balance(
    settings: SettingsDep,
    body: BalanceIn,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: Planner,
    plan: Annotated[bool, Query(description="open the proposal as a plan and preview it")] = False,
    lang: Annotated[
        str | None,
        Query(
            pattern="^(zh|en)$",
            description="language of the sentences (default: Accept-Language, else zh)",
        ),
    ] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of proposed grids with a ``summary`` of figures.

    ``k`` given, else ``ceil(households / target)``, else the area's workers. Every grid is
    contiguous; with a line layer grids are unions of whole blocks between roads and rivers
    where the households allow (``summary.line_share``: boundary on the lines). With
    ``scope=all`` every community below the area is balanced (``areas``, ``totals``).
    With ``plan=true`` the proposal is opened as a plan (``plan``, ``preview``).

    ``summary.method`` (tree / exact), ``summary.status`` (within_band / infeasible /
    time_limit) with ``status_reason``, and ``summary.split_buildings`` (which units of which
    building go to which grid) say how it was found; sentences are in ``lang`` (both
    languages in ``messages`` and ``status_messages``).
    """
    check_area(account, body.area)
    language = pick_lang(lang or accept_language)
    standard = settings.workload.households_per_worker
    if body.scope == "all":
        if plan:
            raise InvalidInput("plan=true takes one area (scope=area)", field="plan")
        return propose_all(
            conn,
            body.area,
            k=body.k,
            target=body.target,
            band=body.band,
            lines=body.lines,
            default_standard=standard,
            lang=language,
            cluster=from_settings(settings.batch),
        )
    proposal = propose(
        conn,
        body.area,
        k=body.k,
        target=body.target,
        band=body.band,
        lines=body.lines,
        default_standard=standard,
        lang=language,
    )
    if plan:
        proposal |= proposal_to_plan(
            conn,
            hierarchy,
            proposal,
            actor=account.name,
            snap_m=settings.boundaries.plan_snap_m,
            title=body.title or plan_title(body.area, len(proposal["features"]), language),
        )
    return proposal


@router.get("/workload/suggestions", summary="Grids to split or merge, workers to move")
def get_suggestions(
    settings: SettingsDep,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: Planner,
    area: Annotated[str, Query(min_length=1, max_length=64, description="code of an area")],
) -> dict[str, Any]:
    """Suggestions without redrawing for the grids below ``area``.

    Workers to move from under- to over-loaded neighbouring grids, under-loaded neighbours to
    merge, over-loaded grids to split, and the workers still missing.
    """
    check_area(account, area)
    return suggestions(
        conn,
        hierarchy,
        area,
        areas=area_filter(account),
        default_standard=settings.workload.households_per_worker,
    )
