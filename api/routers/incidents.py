"""Incidents: report, list by role and queue, one with its timeline, transitions, escalation.

Viewers may list and read incidents in their areas, without reporter, worker or actor names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import Admin, AnyAccount, area_filter, check_area, require
from api.deps import ConnDep
from gridgeo.accounts import Account
from gridgeo.bbox import parse_bbox
from gridgeo.incident_flow import escalate_overdue, list_incidents, summary, transition
from gridgeo.incidents import Report, get_incident, list_categories, list_departments, report

router = APIRouter(tags=["incidents"])

REPORTERS = ("patrol", "dispatcher", "planner", "admin")
Reporter = Annotated[Account, Depends(require(*REPORTERS))]


def clock() -> datetime:
    """The current time (tests override this dependency to move the clock)."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(clock)]


class IncidentIn(BaseModel):
    """A report from a phone or a dispatcher's desk."""

    lon: float = Field(description="longitude in coord_system (WGS84 by default)")
    lat: float = Field(description="latitude in coord_system")
    category: str = Field(description="a key from GET /categories")
    description: str = ""
    accuracy_m: float | None = Field(None, description="GPS accuracy radius in metres")
    coord_system: str = Field("wgs84", description="wgs84, gcj02 (AMap/Tencent) or bd09 (Baidu)")
    major: bool = False


class TransitionIn(BaseModel):
    """An action on an incident (see the README for who may do what from which state)."""

    action: str
    note: str = ""
    rating: int | None = Field(None, description="1–5, required to close (评事)")
    department: str | None = Field(None, description="linked department to dispatch to")
    assignee: str | None = Field(None, description="worker to dispatch to")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(jsonable_encoder(data), status_code=status, headers=headers)


def _names(account: Account) -> bool:
    return account.role != "viewer"


@router.post("/incidents", summary="Report a located incident", status_code=201)
def post_incident(
    request: Request,
    body: IncidentIn,
    conn: ConnDep,
    account: Reporter,
    now: Now,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """201 with the incident, its grid, chain and timeline.

    A retry with the same Idempotency-Key answers 200 with the original incident (header
    Idempotent-Replayed).
    """
    r = Report(**body.model_dump(), idempotency_key=idempotency_key)
    snap_m = request.app.state.settings.incident_snap_m
    incident_id, created = report(conn, r, account=account, now=now, snap_m=snap_m)
    out = get_incident(conn, incident_id, account=account)
    if created:
        return _json(out, 201, {"Location": f"/incidents/{incident_id}"})
    return _json(out, 200, {"Idempotent-Replayed": "true"})


@router.get("/incidents", summary="Incidents in the caller's areas, filtered")
def get_incidents(
    conn: ConnDep,
    account: AnyAccount,
    now: Now,
    state: str | None = None,
    category: str | None = None,
    area: Annotated[str | None, Query(description="an area code (and everything below)")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    since: Annotated[datetime | None, Query(description="reported at or after")] = None,
    queue: Annotated[str | None, Query(description="grid, dispatch or overdue")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, description="keyset: the last id of the page")] = 0,
) -> JSONResponse:
    """A page of incidents by id: my grid's queue, my area's dispatch queue, overdue…"""
    if area is not None:
        check_area(account, area)
    rows = list_incidents(
        conn,
        areas=area_filter(account),
        now=now,
        state=state,
        category=category,
        area=area,
        bbox=parse_bbox(bbox) if bbox is not None else None,
        since=since,
        queue=queue,
        limit=limit,
        after=after,
        names=_names(account),
    )
    return _json({"incidents": rows, "next_after": rows[-1]["id"] if rows else None})


@router.get("/incidents/summary", summary="Counts by category and state in the caller's areas")
def get_summary(conn: ConnDep, account: AnyAccount) -> JSONResponse:
    """Aggregates for leaders and viewers."""
    return _json(summary(conn, areas=area_filter(account)))


@router.get("/incidents/{incident_id}", summary="One incident with its chain and timeline")
def get_one(incident_id: int, conn: ConnDep, account: AnyAccount) -> JSONResponse:
    """403 outside the caller's areas whether or not the incident exists."""
    return _json(get_incident(conn, incident_id, account=account, names=_names(account)))


@router.post("/incidents/{incident_id}/transitions", summary="Act on an incident")
def post_transition(
    incident_id: int, body: TransitionIn, conn: ConnDep, account: Reporter, now: Now
) -> JSONResponse:
    """Take an action allowed from the current state for the caller's role; the incident."""
    transition(
        conn,
        incident_id,
        account=account,
        action=body.action,
        now=now,
        note=body.note,
        rating=body.rating,
        department=body.department,
        assignee=body.assignee,
    )
    return _json(get_incident(conn, incident_id, account=account))


@router.post("/incidents/escalate", summary="Escalate every overdue incident one level up")
def post_escalate(conn: ConnDep, _: Admin, now: Now) -> JSONResponse:
    """Run the escalation (normally a scheduled job); the incidents moved."""
    moved = escalate_overdue(conn, now)
    return _json({"escalated": [{"id": i, "queue_area": q, "level": lv} for i, q, lv in moved]})


@router.get("/categories", summary="Incident categories and their time limits")
def categories(conn: ConnDep, _: AnyAccount) -> JSONResponse:
    """Key, labels, minutes to accept and to resolve."""
    return _json(list_categories(conn))


@router.get("/departments", summary="Linked departments (联动处置单位)")
def departments(conn: ConnDep, _: AnyAccount) -> JSONResponse:
    """Name and the categories each handles."""
    return _json(list_departments(conn))
