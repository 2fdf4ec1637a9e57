"""Open311 GeoReport v2: services, service requests (JSON and XML), for the 12345 hotline.

The service list is public, as the spec expects. Requests carry locations, so reading them
needs an account (scoped to its areas like GET /incidents) — its API key as the spec's
``api_key`` (a query parameter on GET, a form field on POST), as ``X-API-Key`` or as a bearer
token — unless ``GRIDGEO_OPEN311_PUBLIC`` is on: then readers without a key see every request
without personal data (:mod:`gridgeo.incidents.public`). Lists page with ``page`` and
``page_size``; ``extensions=true`` adds each request's timeline as ``notes``. Our states map
to ``open`` (reported … in progress) and ``closed`` (resolved, verified, closed). A request may
carry a photo (the file ``media``, checked and stored like any report photo) or a link to one
(``media_url``); both come back as ``media_url``.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from api.auth import AUTH_ATTR, area_filter
from api.deps import PUBLIC, ConnDep, Now, OptionalAccount, SettingsDep
from api.openapi_limits import XML, answers
from gridgeo.accounts import STAFF, Account
from gridgeo.errors import InvalidInput, Unauthorized, denied
from gridgeo.incidents.photos import Photo, PhotoStore, Upload, check_photos
from gridgeo.incidents.policy import OPEN_STATES, REPORTERS, sees_names
from gridgeo.incidents.public import public_categories, public_view, timelines
from gridgeo.incidents.queries import get_incident, list_categories, list_incidents
from gridgeo.incidents.report import Report, report_with_photos
from gridgeo.tokens import resolve

router = APIRouter(prefix="/open311/v2", tags=["open311"])
MAX_MEDIA_URL = 2000
MAX_PAGE_SIZE = 1000


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

ReadKey = Annotated[
    str | None,
    Query(description="the reader's API key (GeoReport v2 api_key)", max_length=200),
]


def _basic_key(request: Request) -> str | None:
    """The key sent as HTTP Basic credentials (``http://api_key:KEY@host/…``), if any.

    GeoReport clients such as ``georeport`` send no key on GET; a URL with the key as its
    password is how they can carry one (``requests`` turns it into Basic credentials).
    """
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("the Basic credentials are malformed") from None
    return password or user or None


def open311_reader(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    account: OptionalAccount,
    api_key: ReadKey = None,
) -> Account | None:
    """The reader's account, or None for the public (``GRIDGEO_OPEN311_PUBLIC``).

    The key comes as ``api_key``, ``X-API-Key``, a bearer token, or Basic credentials whose
    password is the key.

    Raises:
        Unauthorized: a key that resolves to nothing, or no key while public reading is off.
    """
    api_key = api_key or (_basic_key(request) if account is None else None)
    if account is None and api_key:
        found = resolve(conn, api_key)
        if found is None:
            raise Unauthorized("the api_key is invalid, expired or revoked")
        account = found[0]
    if account is None and not settings.incidents.open311_public:
        raise Unauthorized("an api_key is required to read service requests")
    return account


setattr(open311_reader, AUTH_ATTR, ("api_key", "anonymous-if-open311_public", *STAFF))
Reader = Annotated[Account | None, Depends(open311_reader)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="requests per page")]


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
            elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
                for entry in value:  # notes: one <note> each
                    note = ET.SubElement(child, "note")
                    for k, v in entry.items():
                        ET.SubElement(note, k).text = None if v is None else _text(v)
            elif isinstance(value, list):
                child.text = ",".join(str(v) for v in value)
            elif value is not None:
                child.text = str(value)
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _notes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A timeline as GeoReport ``notes`` (the de-facto extension of most 311 servers)."""
    return [
        {
            "datetime": e["at"],
            "type": e["action"],
            "status": status_of(e["to_state"]) if e["to_state"] else None,
            "summary": e.get("note") or None,
            **({"actor": e["actor"]} if "actor" in e else {}),
        }
        for e in events
    ]


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


def _service_codes(conn: ConnDep) -> dict[str, str]:
    """Category key → its Open311 service_code: the national code when it has one."""
    return {c["key"]: c["code"] or c["key"] for c in list_categories(conn, inactive=True)}


def _category_of(conn: ConnDep, service_code: str) -> str:
    """The category key a service_code names (a national code or a key)."""
    by_code = {code: key for key, code in _service_codes(conn).items()}
    return by_code.get(service_code, service_code)


@router.get(
    "/services.{fmt}",
    summary="Open311: the service list",
    dependencies=[PUBLIC],
    responses=answers(XML),
)
def services(fmt: Fmt, conn: ConnDep) -> Response:
    """Our incident categories as Open311 services."""
    rows = [
        {
            "service_code": c["code"] or c["key"],
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


@router.post(
    "/requests.{fmt}",
    summary="Open311: post a service request",
    status_code=201,
    responses=answers(XML, status=201),
)
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
    r = Report(lon=long, lat=lat, category=_category_of(conn, service_code),
               description=description,
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


@router.get(
    "/requests.{fmt}",
    summary="Open311: service requests in the caller's areas",
    responses=answers(XML),
)
def get_requests(
    request: Request,
    fmt: Fmt,
    conn: ConnDep,
    account: Reader,
    now: Now,
    service_request_id: str | None = None,
    service_code: Annotated[str | None, Query(max_length=40)] = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="1 is the first page")] = 1,
    page_size: PageSize = MAX_PAGE_SIZE,
    extensions: Annotated[bool, Query(description="add each request's timeline as notes")] = False,
) -> Response:
    """Filtered as the spec says, newest last; ``page_size`` (at most 1000) per ``page``."""
    names = account is not None and sees_names(account.role)
    if service_request_id is not None:
        ids = [
            int(s)
            for s in service_request_id.split(",")
            if s.strip().isascii() and s.strip().isdigit()
        ]
        incs = [get_incident(conn, i, account=account, names=names) for i in ids]
    else:
        areas = area_filter(account) if account is not None else None
        category = _category_of(conn, service_code) if service_code is not None else None
        incs = list_incidents(conn, areas=areas, now=now, category=category, since=start_date,
                              until=end_date, is_open=None if status is None else status == "open",
                              limit=page_size, offset=(page - 1) * page_size, names=names)  # fmt: skip
    rows = _rows(conn, request, incs, account=account, names=names, extensions=extensions)
    return _render(fmt, "service_requests", "request", rows)


def _rows(
    conn: ConnDep,
    request: Request,
    incs: list[dict[str, Any]],
    *,
    account: Account | None,
    names: bool,
    extensions: bool,
) -> list[dict[str, Any]]:
    """The requests as GeoReport rows: for the public without personal data."""
    labels, codes = _labels(conn), _service_codes(conn)
    ids = [i["id"] for i in incs]
    notes = timelines(conn, ids, names=names, notes=account is not None) if extensions else {}
    if account is None:
        public = public_categories(conn)
        incs, media = [public_view(i, public) for i in incs], {}
    else:
        media = _media(conn, request, ids)
    rows = []
    for inc in incs:
        row = _request(inc, labels, media.get(inc["id"])) | {
            "service_code": codes.get(inc["category"], inc["category"])
        }
        if extensions:
            row["notes"] = _notes(notes.get(inc["id"], []))
        rows.append(row)
    return rows


@router.get(
    "/requests/{request_id}.{fmt}",
    summary="Open311: one service request",
    responses=answers(XML),
)
def get_request(
    request: Request,
    request_id: int,
    fmt: Fmt,
    conn: ConnDep,
    account: Reader,
    extensions: Annotated[bool, Query(description="add the timeline as notes")] = False,
) -> Response:
    """A list of one request, as the spec has it."""
    names = account is not None and sees_names(account.role)
    inc = get_incident(conn, request_id, account=account, names=names)
    rows = _rows(conn, request, [inc], account=account, names=names, extensions=extensions)
    return _render(fmt, "service_requests", "request", rows)
