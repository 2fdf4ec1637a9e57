"""Residents' matters (居民提事·评事): the public phone page and its calls, the desk's queue.

Public (no account): ``GET /resident`` (the page), the categories and communities it offers,
``POST /resident/matters`` (raise a matter: JSON, or a form with up to three photos in
``photo``; an ``Idempotency-Key`` makes a retry store nothing), and the private link's calls,
which carry the link's token in the header ``X-Matter-Token`` (never in a URL, so it is in no
access log): ``GET /resident/matter``, ``POST /resident/matter/rating``,
``POST /resident/matter/not-fixed``. The desk (dispatchers): ``GET /resident/queue``,
``POST /resident/queue/{id}/decision``, the photos of a waiting matter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import PUBLIC, ConnDep, Desk, Now, SettingsDep
from api.incident_body import Body, body_of, openapi_body
from api.openapi_limits import stated
from api.statements import in_transaction
from gridgeo.errors import NotFound
from gridgeo.incidents.photos import Photo, PhotoStore, check_photos
from gridgeo.incidents.policy import MAX_DESCRIPTION
from gridgeo.residents.decide import decide, matter_photo, queue
from gridgeo.residents.follow import not_fixed, rate, view
from gridgeo.residents.matters import Limits, MatterIn, communities, public_categories, raise_matter
from gridgeo.residents.public_map import matters_map
from gridgeo.residents.purge import purge_personal_data

RESIDENT_STATIC_DIR = Path(__file__).resolve().parent.parent / "resident_static"
RESIDENT_STATIC_URL = "/resident-static"

PURGE_INTERVAL_S = 3600.0


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Purge residents' expired personal data once an hour while the app serves.

    Off when the escalation job is (``GRIDGEO_ESCALATION_INTERVAL_S=0``): both are the served
    app's maintenance. The first round runs an interval after start.
    """
    settings = app.state.settings

    async def loop() -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL_S)

            def purge() -> None:
                with app.state.engine.begin() as conn:
                    purge_personal_data(
                        conn, now=app.state.clock(), commit=True,
                        retention_days=app.state.settings.residents.resident_phone_retention_days,
                    )  # fmt: skip

            try:
                await run_in_threadpool(purge)
            except Exception:
                logging.getLogger(__name__).exception("purge of residents' personal data failed")

    task = None
    if settings.incidents.escalation_interval_s > 0:
        task = asyncio.create_task(loop(), name="gridgeo-resident-purge")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


router = APIRouter(tags=["residents"], lifespan=lifespan)
Token = Annotated[str, Header(alias="X-Matter-Token", description="the private link's token")]


class MatterBody(BaseModel):
    """A resident's matter: a position (lon, lat) or a community code, and what it is."""

    category: str = Field(description="a key from GET /resident/categories")
    description: str = Field(max_length=MAX_DESCRIPTION)
    lon: float | None = Field(None, description="WGS84 unless coord_system says otherwise")
    lat: float | None = None
    accuracy_m: float | None = Field(None, ge=0)
    coord_system: str = "wgs84"
    community: str | None = Field(None, description="a code from GET /resident/communities")
    phone: str | None = Field(None, description="for the callback; seen only by dispatchers")
    token: str | None = Field(
        None, description="the private link's token, chosen by the phone (≥ 32 base64url)"
    )


class RatingIn(BaseModel):
    """The resident's rating of a closed matter (评事)."""

    rating: int = Field(description="1–5", json_schema_extra=stated(minimum=1, maximum=5))
    comment: str = Field("", max_length=MAX_DESCRIPTION)


class NotFixedIn(BaseModel):
    """What is still wrong (reopens the matter within 7 days of closing)."""

    note: str = Field(max_length=MAX_DESCRIPTION)


class DecisionIn(BaseModel):
    """A dispatcher's decision on a waiting matter."""

    action: Literal["accept", "merge", "reject"]
    reason: str = Field("", description="reject: why (the resident reads it)")
    incident: int | None = Field(None, description="merge: the open incident")
    lon: float | None = Field(None, description="accept: the place, if the resident gave none")
    lat: float | None = None
    category: str | None = Field(None, description="accept: another category")


MatterForm = Annotated[Body[MatterBody], Depends(body_of(MatterBody))]


@router.get("/resident", dependencies=[PUBLIC], summary="The residents' phone page (HTML)",
            response_class=FileResponse)  # fmt: skip
def resident_page() -> FileResponse:
    """Raise a matter without an account; follow one by its private link (``#m=…``)."""
    return FileResponse(
        RESIDENT_STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/resident/categories", dependencies=[PUBLIC], summary="Categories residents use")
def resident_categories(conn: ConnDep) -> list[dict[str, Any]]:
    """Key and labels of the categories in use."""
    return public_categories(conn)


@router.get("/resident/communities", dependencies=[PUBLIC], summary="Communities by name")
def resident_communities(
    conn: ConnDep, q: Annotated[str, Query(max_length=64)] = ""
) -> list[dict[str, str]]:
    """Communities whose name (or code) contains ``q``, for a resident without a position."""
    return communities(conn, q)


def _photos(request: Request, body: Body[Any]) -> list[Photo]:
    settings = request.app.state.settings.incidents
    return check_photos(
        body.uploads, max_bytes=settings.photo_max_bytes, strip_gps=settings.photo_strip_gps
    )


@router.post(
    "/resident/matters",
    dependencies=[PUBLIC],
    summary="Raise a matter (no account)",
    status_code=201,
    openapi_extra=openapi_body(MatterBody),
)
async def post_matter(request: Request, body: MatterForm) -> Response:
    """201 with the tracking number (and the link's token if the server chose it).

    A retry with the same ``Idempotency-Key`` answers 200 with the same tracking number and
    stores nothing. 429 over the day's limits for the address or the phone number.
    """
    import json

    settings = request.app.state.settings
    photos = await run_in_threadpool(_photos, request, body) if body.uploads else []
    now = request.app.state.clock()
    m = MatterIn(**body.data.model_dump(), idempotency_key=request.headers.get("idempotency-key"))
    limits = Limits(
        settings.residents.resident_per_address_per_day,
        settings.residents.resident_per_phone_per_day,
        settings.incidents.incident_snap_m,
    )
    address = request.client.host if request.client else "unknown"
    store = PhotoStore(settings.photo_dir)

    def run(conn: Any) -> Any:
        return raise_matter(conn, m, address=address, now=now, limits=limits, photos=photos,
                            store=store)  # fmt: skip

    done = await in_transaction(request, run)
    out = {"tracking": done.tracking, "token": done.token, "created": done.created}
    headers = {} if done.created else {"Idempotent-Replayed": "true"}
    return Response(json.dumps(out), status_code=201 if done.created else 200,
                    headers=headers, media_type="application/json")  # fmt: skip


@router.get("/resident/matter", dependencies=[PUBLIC], summary="A matter by its private link")
def get_matter(conn: ConnDep, token: Token, now: Now) -> dict[str, Any]:
    """The matter, the decision, its public timeline; whether it may be rated or reopened."""
    return view(conn, token, now)


@router.post("/resident/matter/rating", dependencies=[PUBLIC], summary="Rate a closed matter")
def post_rating(conn: ConnDep, token: Token, body: RatingIn, now: Now) -> dict[str, Any]:
    """The rating (1–5) and comment; 409 before it is closed or once rated."""
    rate(conn, token, rating=body.rating, comment=body.comment, now=now)
    return view(conn, token, now)


@router.post("/resident/matter/not-fixed", dependencies=[PUBLIC],
             summary="Say a closed matter is not fixed (reopens it)")  # fmt: skip
def post_not_fixed(conn: ConnDep, token: Token, body: NotFixedIn, now: Now) -> dict[str, Any]:
    """Within 7 days of closing: reopened with the note (counted as rework)."""
    not_fixed(conn, token, note=body.note, now=now)
    return view(conn, token, now)


@router.get("/resident/queue", summary="Residents' matters waiting for a decision (待受理)")
def get_queue(conn: ConnDep, account: Desk) -> dict[str, Any]:
    """The matters of the dispatcher's areas, oldest first, with the phone for the callback."""
    return {"matters": queue(conn, account)}


@router.post("/resident/queue/{matter_id}/decision", summary="Accept, merge or reject a matter")
def post_decision(
    request: Request, matter_id: int, body: DecisionIn, conn: ConnDep, account: Desk, now: Now
) -> dict[str, Any]:
    """The incident the resident now follows (None when rejected)."""
    incident = decide(
        conn, matter_id, account=account, action=body.action, now=now, reason=body.reason,
        incident=body.incident, lon=body.lon, lat=body.lat, category=body.category,
        snap_m=request.app.state.settings.incidents.incident_snap_m,
    )  # fmt: skip
    return {"matter": matter_id, "action": body.action, "incident": incident}


@router.get(
    "/resident/queue/{matter_id}/photos/{photo_id}",
    summary="A photo of a waiting matter",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def get_matter_photo(
    request: Request,
    matter_id: int,
    photo_id: int,
    conn: ConnDep,
    account: Desk,
    size: Annotated[Literal["full", "thumb"], Query()] = "full",
) -> FileResponse:
    """The file, for the dispatchers of the matter's area."""
    sha, mime = matter_photo(conn, matter_id, photo_id, account)
    path = PhotoStore(request.app.state.settings.photo_dir).path(sha, mime, thumb=size == "thumb")
    return FileResponse(path, media_type="image/jpeg" if size == "thumb" else mime,
                        headers={"Cache-Control": "private, max-age=86400"})  # fmt: skip


@router.get("/resident/map.geojson", dependencies=[PUBLIC],
            summary="Accepted matters by category and state (GRIDGEO_PUBLIC_MAP_OF_MATTERS)")  # fmt: skip
def public_map(conn: ConnDep, settings: SettingsDep) -> dict[str, Any]:
    """404 unless the public map is on; no text that identifies anyone."""
    if not settings.residents.public_map_of_matters:
        raise NotFound("the public map of matters is off (GRIDGEO_PUBLIC_MAP_OF_MATTERS)")
    return matters_map(conn)


@router.get("/resident/map", dependencies=[PUBLIC], response_class=FileResponse,
            summary="The public map of matters (HTML; GRIDGEO_PUBLIC_MAP_OF_MATTERS)")  # fmt: skip
def public_map_page(settings: SettingsDep) -> FileResponse:
    """404 unless the public map is on."""
    if not settings.residents.public_map_of_matters:
        raise NotFound("the public map of matters is off (GRIDGEO_PUBLIC_MAP_OF_MATTERS)")
    return FileResponse(RESIDENT_STATIC_DIR / "map.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})  # fmt: skip
