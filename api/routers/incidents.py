"""Incidents: report, list by role and queue, one with its timeline, transitions, escalation.

Viewers may list and read incidents in their areas, without reporter, worker or actor names.
Reports and transitions take JSON, or a multipart form with the same fields and up to six
files in the field ``photo`` (the photo of a report, of a resolution…); photos are served back
from ``/incidents/{id}/photos/{photo_id}``. The router's lifespan runs the escalation job every
``GRIDGEO_ESCALATION_INTERVAL_S`` seconds (0: off) with the same clock as the routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from api.auth import AUTH_ATTR, account_on_loop, admit, area_filter, check_area, sent_credential
from api.deps import Admin, AnyAccount, ConnDep, Now, Reporter
from api.incident_body import Body, body_of, openapi_body, read_body
from api.openapi_limits import BBOX_PATTERN, LAT, LON, stated
from api.statements import DirectRoute, in_transaction, statements
from gridgeo.accounts import Account
from gridgeo.bbox import parse_bbox
from gridgeo.coords import SYSTEMS
from gridgeo.incidents.catalog import KEY_RE
from gridgeo.incidents.escalation import escalate_overdue, escalation_job
from gridgeo.incidents.flow import transition
from gridgeo.incidents.marks import MARKS, parse_marks
from gridgeo.incidents.photos import Photo, PhotoStore, Upload, check_photos, photo_file
from gridgeo.incidents.policy import MAX_ACCURACY_M, MAX_DESCRIPTION, REPORTERS, sees_names
from gridgeo.incidents.queries import (
    get_incident,
    list_categories,
    list_departments,
    list_incidents,
    summary,
)
from gridgeo.incidents.report import (
    FirstTry,
    Report,
    Reported,
    add_photos,
    report_at_once,
    report_with_photos,
)
from gridgeo.tokens import resolve_params


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the escalation job while the app serves (the app's own lifespan opened the engine)."""

    def now() -> datetime:
        return app.state.clock()  # looked up each round: the clock the app holds then

    interval = app.state.settings.incidents.escalation_interval_s
    async with escalation_job(app.state.engine, interval, now) as job:
        app.state.escalation_job = job
        yield


router = APIRouter(tags=["incidents"], lifespan=lifespan)
# POST /incidents alone, for the app to include before every other router: the requests of
# the hot path then find their route at once (not after matching some 150 others).
report_router = APIRouter(tags=["incidents"])


class IncidentIn(BaseModel):
    """A report from a phone or a dispatcher's desk.

    The limits in the schema are those of ``gridgeo.incidents.report`` (checked on the hot
    path, answered 400 naming the field); the model states them without checking them again.
    """

    lon: float = Field(
        description="longitude in coord_system (WGS84 by default)",
        json_schema_extra=stated(**LON),
    )
    lat: float = Field(description="latitude in coord_system", json_schema_extra=stated(**LAT))
    category: str = Field(
        description="a key from GET /categories", json_schema_extra=stated(pattern=KEY_RE.pattern)
    )
    description: str = Field("", json_schema_extra=stated(maxLength=MAX_DESCRIPTION))
    accuracy_m: float | None = Field(
        None,
        description="GPS accuracy radius in metres",
        json_schema_extra=stated(minimum=0, maximum=MAX_ACCURACY_M),
    )
    coord_system: str = Field(
        "wgs84",
        description="wgs84, gcj02 (AMap/Tencent) or bd09 (Baidu)",
        json_schema_extra=stated(enum=list(SYSTEMS)),
    )
    major: bool = False
    building: str | None = Field(
        None, description="code of the building the incident is at (GET /grids/{code}/buildings)"
    )
    unit: str | None = Field(
        None, description="the unit (单元) number in that building; its grid holds the incident"
    )


class TransitionIn(BaseModel):
    """An action on an incident (see the README for who may do what from which state)."""

    action: str
    note: str = ""
    rating: int | None = Field(None, description="1–5, required to close (评事)")
    department: str | None = Field(None, description="linked department to dispatch to")
    assignee: str | None = Field(
        None,
        description="dispatch: the handler, a worker of the incident's grid by name or an "
        "account by login (GET /incidents/{id}/handlers); anyone else is refused (400)",
    )
    worker: int | None = Field(
        None, description="dispatch: the handler, a named worker of the incident's grid by id"
    )
    grid: str | None = Field(
        None, description="regrid: the candidate grid to move the incident to (its own: confirm)"
    )
    until: datetime | None = Field(
        None, description="approve_extension: the new resolve limit (request: the one asked for)"
    )


def _default(value: Any) -> Any:
    return jsonable_encoder(value)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON as FastAPI's JSONResponse writes it, faster (orjson).

    Datetimes are written as ``isoformat`` writes them (orjson's RFC 3339, the same bytes);
    only what orjson does not know goes through jsonable_encoder. On the hot path the
    incident's answer took 3 % of a report's CPU in Python with ``json.dumps``.
    """
    body = orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def _is_form(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype in ("multipart/form-data", "application/x-www-form-urlencoded")


def _store(request: Request) -> PhotoStore:
    return PhotoStore(request.app.state.settings.photo_dir)


def _photos(request: Request, uploads: list[Upload]) -> list[Photo]:
    incidents = request.app.state.settings.incidents
    return check_photos(
        uploads, max_bytes=incidents.photo_max_bytes, strip_gps=incidents.photo_strip_gps
    )


IncidentBody = Annotated[Body[IncidentIn], Depends(body_of(IncidentIn))]
TransitionBody = Annotated[Body[TransitionIn], Depends(body_of(TransitionIn))]


_REPORT_OPENAPI = openapi_body(IncidentIn) | {
    "parameters": [
        {"name": "Idempotency-Key", "in": "header", "required": False,
         "schema": {"type": "string", "maxLength": 128},
         "description": "a key of the client's choosing: a retry with it stores nothing"}
    ],
    "security": [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}],
}  # fmt: skip


async def post_incident(request: Request) -> Response:
    """201 with the incident, its grid, chain, timeline and photos.

    JSON, or a multipart form with the same fields and photos in the field ``photo``. A retry
    with the same Idempotency-Key answers 200 with the original incident (header
    Idempotent-Replayed) and stores nothing, photos included.

    A JSON report is one statement on the event loop that authenticates the token too
    (:func:`~gridgeo.incidents.report.report_at_once`, :mod:`api.statements`): the request is
    authenticated once, by it. What it could not settle (a replayed key, a bad category, a
    point outside every grid, a refusal) continues on a worker thread from the row it
    answered, without running it again. A form (photos) or a major report authenticates
    first and goes that way at once: it needs more than one statement in one transaction.
    So this route reads its headers and body itself (a
    :class:`~api.statements.DirectRoute`): FastAPI's dependencies would cost a round trip.
    """
    account: Account | None = None
    if _is_form(request):  # photos: who sends them is known before they are read
        account = await account_on_loop(request, REPORTERS)
    try:
        body = await read_body(request, IncidentIn)
    except Exception:
        if account is None:
            await account_on_loop(request, REPORTERS)  # 401 and 403 before a word on the body
        raise
    now: datetime = request.app.state.clock()
    r = Report(**body.data.model_dump(), idempotency_key=request.headers.get("idempotency-key"))
    first: FirstTry | None = None
    if account is None:  # JSON: the report statement authenticates the token itself
        credential = sent_credential(request)
        params = resolve_params(credential) if credential is not None else None
        if params is not None:
            run = statements(request).batched
            first = await report_at_once(run, r, token_hash=params["h"], now=now)
        if first is None:
            account = await account_on_loop(request, REPORTERS)
        elif first.done is not None and first.done.incident is not None:
            return _json(first.done.incident, 201, {"Location": f"/incidents/{first.done.id}"})
        else:
            account = admit(request, first.reporter, REPORTERS)
    # all photos checked (off the event loop) before anything is stored
    photos = await run_in_threadpool(_photos, request, body.uploads) if body.uploads else []
    snap_m = request.app.state.settings.incidents.incident_snap_m

    def full(conn: Connection) -> tuple[Reported, dict[str, Any]]:
        done = report_with_photos(
            conn, r, account=account, now=now, snap_m=snap_m, photos=photos,
            store=_store(request), first=first.row if first is not None else None,
        )  # fmt: skip
        # a new incident comes back with its data: no need to read it again
        return done, done.incident or get_incident(conn, done.id, account=account)

    done, out = await in_transaction(request, full)
    if done.created:
        return _json(out, 201, {"Location": f"/incidents/{done.id}"})
    return _json(out, 200, {"Idempotent-Replayed": "true"})


setattr(post_incident, AUTH_ATTR, REPORTERS)
report_router.add_api_route(
    "/incidents",
    post_incident,
    methods=["POST"],
    summary="Report a located incident",
    status_code=201,
    openapi_extra=_REPORT_OPENAPI,
    route_class_override=DirectRoute,
)


@router.get("/incidents", summary="Incidents in the caller's areas, filtered")
def get_incidents(
    conn: ConnDep,
    account: AnyAccount,
    now: Now,
    state: str | None = None,
    category: str | None = None,
    area: Annotated[str | None, Query(description="an area code (and everything below)")] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat",
            json_schema_extra=stated(pattern=BBOX_PATTERN),
        ),
    ] = None,
    since: Annotated[datetime | None, Query(description="reported at or after")] = None,
    queue: Annotated[
        str | None, Query(description="grid, located, dispatch, overdue or extension")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, description="keyset: the last id of the page")] = 0,
    overdue: Annotated[
        bool | None, Query(description="true: overdue only; false: not overdue (any queue)")
    ] = None,
    flags: Annotated[
        str | None,
        Query(description="comma-separated marks, all required: " + ", ".join(MARKS)),
    ] = None,
) -> Response:
    """A page of incidents by id: my grid's queue, my area's dispatch queue, overdue…

    Each row says whether it is ``overdue`` and ``late`` and carries its ``marks``, judged by
    the server at the app's clock; ``flags`` and ``overdue`` filter by the same rules.
    """
    if area is not None:
        check_area(account, area)
    marks = parse_marks(flags)
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
        names=sees_names(account.role),
        flags=marks,
        overdue=overdue,
    )
    return _json({"incidents": rows, "next_after": rows[-1]["id"] if rows else None})


@router.get("/incidents/summary", summary="Counts by category and state in the caller's areas")
def get_summary(conn: ConnDep, account: AnyAccount) -> Response:
    """Aggregates for leaders and viewers."""
    return _json(summary(conn, areas=area_filter(account)))


@router.get("/incidents/{incident_id}", summary="One incident with its chain and timeline")
def get_one(
    incident_id: int,
    conn: ConnDep,
    account: AnyAccount,
    now: Now,
    judge: Annotated[
        bool,
        Query(description="also overdue, late and marks, judged at the server's clock"),
    ] = False,
) -> Response:
    """403 outside the caller's areas whether or not the incident exists.

    Without ``judge``, the same JSON as the 201 of the report that made it.
    """
    names = sees_names(account.role)
    one = get_incident(conn, incident_id, account=account, names=names, now=now, judge=judge)
    return _json(one)


@router.post(
    "/incidents/{incident_id}/transitions",
    summary="Act on an incident",
    openapi_extra=openapi_body(TransitionIn),
)
def post_transition(
    request: Request,
    incident_id: int,
    account: Reporter,
    body: TransitionBody,
    conn: ConnDep,
    now: Now,
) -> Response:
    """Take an action allowed from the current state for the caller's role; the incident.

    JSON, or a multipart form with photos in the field ``photo`` (e.g. resolve with a photo).
    """
    photos = _photos(request, body.uploads)
    b = body.data
    transition(
        conn,
        incident_id,
        account=account,
        action=b.action,
        now=now,
        note=b.note,
        rating=b.rating,
        department=b.department,
        assignee=b.assignee,
        grid=b.grid,
        until=b.until,
        photos=photos,
        store=_store(request),
        worker=b.worker,
    )
    # judged: the desk shows overdue, late and the marks from the answer
    return _json(get_incident(conn, incident_id, account=account, now=now, judge=True))


@router.post(
    "/incidents/{incident_id}/photos", summary="Add photos to an incident", status_code=201
)
def post_photos(
    request: Request,
    incident_id: int,
    account: Reporter,
    photo: Annotated[list[UploadFile], Form(description="JPEG, PNG or WebP files")],
    conn: ConnDep,
    now: Now,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """201 with the incident; the photos on a ``photo`` entry of its timeline.

    Not for a closed incident (409). A photo already on the incident is not added twice.
    """
    limit = request.app.state.settings.incidents.photo_max_bytes
    uploads = [Upload(f.filename or "photo", f.content_type, f.file.read(limit + 1)) for f in photo]
    photos = _photos(request, uploads)
    add_photos(conn, incident_id, account=account, photos=photos, store=_store(request),
               now=now, note=note)  # fmt: skip
    return _json(get_incident(conn, incident_id, account=account), 201)


@router.get(
    "/incidents/{incident_id}/photos/{photo_id}",
    summary="One photo of an incident (or its thumbnail)",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def get_photo(
    request: Request,
    incident_id: int,
    photo_id: int,
    conn: ConnDep,
    account: AnyAccount,
    size: Annotated[Literal["full", "thumb"], Query(description="thumb: 320 px JPEG")] = "full",
) -> Response:
    """The stored file; 403 outside the caller's areas whether or not the incident exists."""
    path, media, sha = photo_file(
        conn, _store(request), incident_id, photo_id, account=account, thumb=size == "thumb"
    )
    etag = f'"{sha}{"-thumb" if size == "thumb" else ""}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return FileResponse(
        path,
        media_type=media,
        headers={"ETag": etag, "Cache-Control": "private, max-age=86400, immutable",
                 "X-Content-SHA256": sha, "X-Content-Type-Options": "nosniff"},
    )  # fmt: skip


@router.post("/incidents/escalate", summary="Escalate every overdue incident one level up")
def post_escalate(conn: ConnDep, _: Admin, now: Now) -> Response:
    """Run the escalation (normally a scheduled job); the incidents moved."""
    moved = escalate_overdue(conn, now)
    return _json({"escalated": [{"id": i, "queue_area": q, "level": lv} for i, q, lv in moved]})


@router.get("/categories", summary="Incident categories and their time limits")
def categories(conn: ConnDep, _: AnyAccount) -> Response:
    """Key, labels, minutes to accept and to resolve."""
    return _json(list_categories(conn))


@router.get("/departments", summary="Linked departments (联动处置单位)")
def departments(conn: ConnDep, _: AnyAccount) -> Response:
    """Name and the categories each handles."""
    return _json(list_departments(conn))
