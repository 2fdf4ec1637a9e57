"""Open311 GeoReport v2: services, service requests (JSON and XML), for the 12345 hotline.

The service list is public, as the spec expects. Requests carry locations, so reading them
needs an account (scoped to its areas like GET /incidents), and posting one needs an API key,
sent as the spec's ``api_key`` form field, as ``X-API-Key`` or as a bearer token. Our states map
to ``open`` (reported … in progress) and ``closed`` (resolved, verified, closed). A request may
carry a photo (the file ``media``, checked and stored like any report photo) or a link to one
(``media_url``); both come back as ``media_url``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from api.auth import AUTH_ATTR, area_filter
from api.deps import PUBLIC, AnyAccount, ConnDep, Now, OptionalAccount, SettingsDep
from gridgeo.accounts import Account
from gridgeo.errors import InvalidInput, Unauthorized, denied
from gridgeo.incidents.photos import Photo, PhotoStore, Upload, check_photos
from gridgeo.incidents.policy import OPEN_STATES, REPORTERS, sees_names
from gridgeo.incidents.queries import get_incident, list_categories, list_incidents
from gridgeo.incidents.report import Report, report_with_photos
from gridgeo.tokens import resolve

router = APIRouter(prefix="/open311/v2", tags=["open311"])
MAX_MEDIA_URL = 2000


class Fmt(StrEnum):
    """Response format, from the file extension."""

    json = "json"
    xml = "xml"


def status_of(state: str) -> str:
    """Our state → Open311 ``open`` or ``closed``."""
    return "open" if state in OPEN_STATES else "closed"


def open311_reporter(
    conn: ConnDep,
    account: OptionalAccount,
    api_key: Annotated[str | None, Form()] = None,
) -> Account:
    """The poster: from the ``api_key`` form field, ``X-API-Key`` or a bearer token."""
    if account is None and api_key:
        found = resolve(conn, api_key)
        if found is None:
            raise Unauthorized("the api_key is invalid, expired or revoked")
        account = found[0]
    if account is None:
        raise Unauthorized("an api_key is required to post a service request")
    if account.role not in REPORTERS:
        raise denied()
    return account


setattr(open311_reporter, AUTH_ATTR, ("api_key", *REPORTERS))


def _render(
    fmt: Fmt, root: str, item: str, rows: list[dict[str, Any]], status: int = 200
) -> Response:
    if fmt is Fmt.json:
        return JSONResponse(jsonable_encoder(rows), status_code=status)
    top = ET.Element(root)
    for row in rows:
        el = ET.SubElement(top, item)
        for key, value in row.items():
            child = ET.SubElement(el, key)
            if isinstance(value, bool):
                child.text = str(value).lower()
            elif isinstance(value, datetime):
                child.text = value.isoformat()
            elif isinstance(value, list):
                child.text = ",".join(str(v) for v in value)
            elif value is not None:
                child.text = str(value)
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def _request(inc: dict[str, Any], labels: dict[str, str], media: str | None) -> dict[str, Any]:
    return {
        "service_request_id": str(inc["id"]),
        "status": status_of(inc["state"]),
        "status_notes": inc["last_note"] or None,
        "service_name": labels.get(inc["category"], inc["category"]),
        "service_code": inc["category"],
        "description": inc["description"],
        "agency_responsible": inc.get("department"),
        "service_notice": None,
        "requested_datetime": inc["reported_at"],
        "updated_datetime": inc["updated_at"],
        "expected_datetime": inc["resolve_due"],
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": inc["lat"],
        "long": inc["lon"],
        "media_url": inc.get("media_url") or media,
    }


def _media(conn: ConnDep, request: Request, ids: list[int]) -> dict[int, str]:
    """The absolute URL of each incident's first photo (the one the reporter sent)."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT ON (incident_id) incident_id, id FROM incident_photos "
            "WHERE incident_id = ANY(:ids) ORDER BY incident_id, id"
        ),
        {"ids": ids},
    ).all()
    base = str(request.base_url).rstrip("/")
    return {int(i): f"{base}/incidents/{i}/photos/{p}" for i, p in rows}


def _labels(conn: ConnDep) -> dict[str, str]:
    return {c["key"]: c["label_zh"] for c in list_categories(conn)}


@router.get("/services.{fmt}", summary="Open311: the service list", dependencies=[PUBLIC])
def services(fmt: Fmt, conn: ConnDep) -> Response:
    """Our incident categories as Open311 services."""
    rows = [
        {
            "service_code": c["key"],
            "service_name": c["label_zh"],
            "description": f"{c['label_en']}: accept within {c['accept_minutes']} min, "
            f"resolve within {c['resolve_minutes']} min",
            "metadata": False,
            "type": "realtime",
            "keywords": c["label_en"].lower(),
            "group": "grid",
        }
        for c in list_categories(conn)
    ]
    return _render(fmt, "services", "service", rows)


@router.post("/requests.{fmt}", summary="Open311: post a service request", status_code=201)
def post_request(
    settings: SettingsDep,
    fmt: Fmt,
    conn: ConnDep,
    now: Now,
    account: Annotated[Account, Depends(open311_reporter)],
    service_code: Annotated[str, Form()],
    lat: Annotated[float | None, Form()] = None,
    long: Annotated[float | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    address_string: Annotated[str | None, Form()] = None,
    device_id: Annotated[str | None, Form()] = None,
    media_url: Annotated[str | None, Form(description="a link to a photo the client hosts")] = None,
    media: Annotated[UploadFile | None, File(description="a photo (GeoReport v2 media)")] = None,
) -> Response:
    """A located request becomes an incident; ``device_id`` works as an idempotency key.

    A photo sent as the file ``media`` is checked like any report photo and stored on the
    report; a ``media_url`` (http or https) is kept as given and answered back.
    """
    if lat is None or long is None:
        where = " (address_string is not geocoded)" if address_string else ""
        raise InvalidInput(f"lat and long are required{where}", field="lat")
    url = _media_url(media_url)
    photos: list[Photo] = []
    if media is not None:
        limit = settings.incidents.photo_max_bytes
        upload = Upload(media.filename or "media", media.content_type, media.file.read(limit + 1))
        strip_gps = settings.incidents.photo_strip_gps
        photos = check_photos([upload], max_bytes=limit, strip_gps=strip_gps)
    r = Report(lon=long, lat=lat, category=service_code, description=description,
               idempotency_key=device_id)  # fmt: skip
    snap_m = settings.incidents.incident_snap_m
    store = PhotoStore(settings.photo_dir)
    done = report_with_photos(
        conn, r, account=account, now=now, snap_m=snap_m, photos=photos, store=store
    )
    if done.created and url is not None:
        conn.execute(
            text("UPDATE incidents SET media_url = :u WHERE id = :i"), {"u": url, "i": done.id}
        )
    inc = get_incident(conn, done.id, account=account)
    notice = "flagged for the dispatcher: " + ", ".join(inc["flags"]) if inc["flags"] else None
    row = {"service_request_id": str(done.id), "service_notice": notice, "account_id": None}
    return _render(fmt, "service_requests", "request", [row], status=201)


def _media_url(url: str | None) -> str | None:
    """A media URL as given, if it is an absolute http(s) URL of at most 2,000 characters."""
    if url is None or url == "":
        return None
    parts = urlsplit(url)
    if len(url) > MAX_MEDIA_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            f"media_url must be an http or https URL of at most {MAX_MEDIA_URL} characters",
            field="media_url",
        )
    return url


@router.get("/requests.{fmt}", summary="Open311: service requests in the caller's areas")
def get_requests(
    request: Request,
    fmt: Fmt,
    conn: ConnDep,
    account: AnyAccount,
    now: Now,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
) -> Response:
    """Filtered as the spec says; at most 1000 requests."""
    labels = _labels(conn)
    names = sees_names(account.role)
    if service_request_id is not None:
        ids = [int(s) for s in service_request_id.split(",") if s.strip().isdigit()]
        incs = [get_incident(conn, i, account=account, names=names) for i in ids]
    else:
        incs = list_incidents(conn, areas=area_filter(account), now=now, category=service_code,
                              since=start_date, limit=1000, names=names)  # fmt: skip
    end = end_date or datetime.max.replace(tzinfo=UTC)
    kept = [
        i
        for i in incs
        if i["reported_at"] <= end and (status is None or status_of(i["state"]) == status)
    ]
    media = _media(conn, request, [i["id"] for i in kept])
    rows = [_request(i, labels, media.get(i["id"])) for i in kept]
    return _render(fmt, "service_requests", "request", rows)


@router.get("/requests/{request_id}.{fmt}", summary="Open311: one service request")
def get_request(
    request: Request, request_id: int, fmt: Fmt, conn: ConnDep, account: AnyAccount
) -> Response:
    """A list of one request, as the spec has it."""
    inc = get_incident(conn, request_id, account=account, names=sees_names(account.role))
    media = _media(conn, request, [request_id]).get(request_id)
    return _render(fmt, "service_requests", "request", [_request(inc, _labels(conn), media)])
