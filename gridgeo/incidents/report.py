"""Reporting incidents: convert, locate, candidate grids, snapping, duplicates, idempotency.

Every incident belongs to one leaf grid. A point covered by a grid takes that grid; when its
accuracy circle also reaches other leaf grids, they are recorded as candidates and the incident
is flagged ``boundary`` for the dispatcher. A point outside every grid goes to the nearest grid
within ``snap_m`` metres (flagged ``outside``) or is refused. A likely duplicate (same category,
within :data:`~gridgeo.incidents.policy.DUPLICATE_M` and
:data:`~gridgeo.incidents.policy.DUPLICATE_WINDOW`, still open) is linked and flagged
``duplicate``, never merged.

One path: the statement of :mod:`gridgeo.incidents.report_sql` runs once, wherever it runs
(the event loop's pool for the common report, :func:`report_at_once`, which also authenticates
the token; else the caller's transaction); whatever it could not settle — a category to name,
a replayed key, a point outside every grid, a major incident, photos — is settled after it by
:func:`report_incident` from the row it answered, without running it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.assign import check_lon_lat, locate
from gridgeo.buildings.place import Place, place_of
from gridgeo.coords import SYSTEMS, to_wgs84
from gridgeo.errors import Conflict, InvalidInput, denied
from gridgeo.incidents.escalation import escalate_one
from gridgeo.incidents.flow import add_event, lock_incident
from gridgeo.incidents.photos import Photo, PhotoStore, attach
from gridgeo.incidents.policy import (
    DUPLICATE_M,
    DUPLICATE_WINDOW,
    MAX_ACCURACY_M,
    MAX_DESCRIPTION,
    MAX_KEY,
    REPORTERS,
    due,
    resolve_limit,
)
from gridgeo.incidents.queries import shape
from gridgeo.incidents.report_sql import REPORT_COLUMNS, REPORT_SQL


@dataclass(frozen=True)
class Report:
    """What a reporter sends (coordinates in ``coord_system``)."""

    lon: float
    lat: float
    category: str
    description: str = ""
    accuracy_m: float | None = None
    coord_system: str = "wgs84"
    major: bool = False
    idempotency_key: str | None = None
    building: str | None = None
    unit: str | None = None


def _degrees(metres: float, lat: float) -> float:
    """A bound in degrees that is never shorter than ``metres`` at latitude ``lat``."""
    import math

    return metres / (111_000.0 * max(math.cos(math.radians(lat)), 0.01)) * 1.05


def _check_fields(r: Report) -> None:
    """Everything but the category, which the database knows (no round trip)."""
    check_lon_lat(r.lon, r.lat)
    if r.coord_system not in SYSTEMS:
        raise InvalidInput(
            f"unknown coord_system '{r.coord_system}'; use one of: {', '.join(SYSTEMS)}",
            field="coord_system",
        )
    if r.accuracy_m is not None and not 0 <= r.accuracy_m <= MAX_ACCURACY_M:
        raise InvalidInput(
            f"accuracy_m {r.accuracy_m} is out of range [0, {MAX_ACCURACY_M:g}] metres; "
            "wait for a better GPS fix",
            code="accuracy_out_of_range",
            zh=f"定位精度 {r.accuracy_m:g} 米超出范围（最多 {MAX_ACCURACY_M:g} 米），请等待更准确的定位",
            field="accuracy_m",
        )
    if len(r.description) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"description has {len(r.description)} characters; at most {MAX_DESCRIPTION}",
            code="description_too_long",
            zh=f"描述有 {len(r.description)} 个字符，最多 {MAX_DESCRIPTION} 个",
            field="description",
        )
    if r.idempotency_key is not None and not 0 < len(r.idempotency_key) <= MAX_KEY:
        raise InvalidInput(f"Idempotency-Key must be 1–{MAX_KEY} characters", field="key")


def _check_category(conn: Connection, category: str) -> None:
    """Refuse an unknown or retired category, naming those in use.

    Raises:
        InvalidInput: the category is unknown or no longer in use.
    """
    rows = conn.execute(text("SELECT key, active FROM incident_categories ORDER BY key")).all()
    keys = [k for k, active in rows if active]
    if category not in keys:
        retired = category in {k for k, _ in rows}
        what = f"category '{category}' is no longer in use" if retired else "unknown category"
        if not retired:
            what += f" '{category}'"
        raise InvalidInput(
            f"{what}; categories are: {', '.join(keys)}",
            code="category_retired" if retired else "unknown_category",
            zh=f"类别“{category}”{'已停用' if retired else '不存在'}；可用类别：{'、'.join(keys)}",
            field="category",
        )


def _leaf_nearest(conn: Connection, code: str, lon: float, lat: float) -> str:
    """The leaf grid at the point of grid ``code`` nearest to (lon, lat).

    The nearest grid may be of any level (all share the outer edge); the leaf below it at the
    closest point is the one to hold the incident.
    """
    x, y = conn.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_ClosestPoint(geom, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) AS p FROM current_grids "
            "WHERE code = :c) s"
        ),
        {"lon": lon, "lat": lat, "c": code},
    ).one()
    leaf = locate(conn, float(x), float(y)).leaf
    return leaf.code if leaf is not None else code


def _existing(conn: Connection, reporter: str, key: str | None) -> int | None:
    if key is None:
        return None
    found = conn.execute(
        text("SELECT id FROM incidents WHERE reporter = :r AND idempotency_key = :k"),
        {"r": reporter, "k": key},
    ).scalar()
    return int(found) if found is not None else None


@dataclass(frozen=True)
class Reported:
    """What became of a report.

    Attributes:
        id: the incident's id (the original one for a replayed idempotency key).
        created: whether this report stored it.
        incident: a new incident as :func:`get_incident` answers it (from what was stored,
            without reading it back); None for a replay or once it changed (major).
        event_id: the id of a new incident's ``report`` event.
    """

    id: int
    created: bool
    incident: dict[str, Any] | None = None
    event_id: int | None = None


def report_params(
    r: Report,
    *,
    now: datetime,
    lon: float,
    lat: float,
    account: Account | None = None,
    token_hash: bytes | None = None,
    code: str | None = None,
    flags: Sequence[str] = (),
) -> dict[str, Any]:
    """The parameters of :data:`REPORT_SQL` for a point in WGS84 (in grid ``code`` if given).

    The reporter is ``account``, or whoever holds the token of ``token_hash`` if it is valid;
    nothing is stored unless the reporter's role is one of
    :data:`~gridgeo.incidents.policy.REPORTERS` and its areas cover the grid.
    """
    who: dict[str, Any]
    if account is not None:
        who = {"h": None, "uid": account.id, "by": account.name, "role": account.role,
               "areas": list(account.areas)}  # fmt: skip
    else:
        who = {"h": token_hash, "uid": None, "by": None, "role": None, "areas": None}
    accuracy = r.accuracy_m or None  # 0: no accuracy circle, as None
    return who | {"category": r.category, "key": r.idempotency_key, "code": code,
                  "pt": f"SRID=4326;POINT({lon!r} {lat!r})",  # repr: the exact doubles
                  "m": accuracy, "deg": _degrees(accuracy, lat) if accuracy else 0.0,
                  "since": now - DUPLICATE_WINDOW, "now": now,
                  "dup_m": DUPLICATE_M, "dup_deg": _degrees(DUPLICATE_M, lat),
                  "description": r.description, "major": r.major, "accuracy": r.accuracy_m,
                  "system": r.coord_system, "orig_lon": r.lon, "orig_lat": r.lat,
                  "flags": _text_array(flags)}  # fmt: skip


def _text_array(words: Sequence[str]) -> str:
    """``words`` as the text of a PostgreSQL ``text[]`` (the parameter is cast to one).

    A list parameter cost psycopg a search for its element type on every report (about 3 % of
    a report's CPU in Python, py-spy under wrk).
    """
    quoted = ('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in words)
    return "{" + ",".join(quoted) + "}"


def _store(conn: Connection, params: dict[str, Any]) -> Any:
    """Run :data:`REPORT_SQL` (written for the driver: the same text as the async path)."""
    return conn.exec_driver_sql(REPORT_SQL, params).mappings().one()


def report_point(r: Report) -> tuple[float, float]:
    """The report's point in WGS84, its fields checked (all but the category).

    Raises:
        InvalidInput: a field is bad or the point is out of range.
    """
    _check_fields(r)
    lon, lat = to_wgs84(r.lon, r.lat, r.coord_system)
    check_lon_lat(lon, lat)
    return lon, lat


@dataclass(frozen=True)
class FirstTry:
    """What the report statement answered when run on a token (:func:`report_at_once`).

    Attributes:
        reporter: the token's account and the token's id; None when the token is invalid,
            expired or revoked.
        row: the statement's row, to settle what it could not (:func:`report_incident`).
        done: the new incident, when the statement stored it.
    """

    reporter: tuple[Account, int] | None
    row: Mapping[str, Any]
    done: Reported | None


def reporter_of(row: Mapping[str, Any]) -> tuple[Account, int] | None:
    """The account and token id the report statement found for a token (None: no such token)."""
    if row["who_token"] is None:
        return None
    account = Account(int(row["who_id"]), row["who_name"], row["who_role"], tuple(row["who_areas"]))
    return account, int(row["who_token"])


async def report_at_once(
    run: Callable[[str, dict[str, Any]], Awaitable[Mapping[str, Any] | None]],
    r: Report,
    *,
    token_hash: bytes,
    now: datetime,
) -> FirstTry | None:
    """The report statement run by ``run`` (say, on an async connection) for a token's holder.

    The statement authenticates the token too: one round trip for the common report.

    Returns:
        What it answered; None when it was not run: a bad field (the caller refuses it with
        :func:`report_incident`'s error) or a major incident (escalated in the same
        transaction as it is stored, by :func:`report_incident`).
    """
    if r.major or r.building is not None or r.unit is not None:
        return None  # a building's unit is placed by report_incident (gridgeo.buildings.place)
    try:
        lon, lat = report_point(r)
    except InvalidInput:
        return None
    params = report_params(r, token_hash=token_hash, now=now, lon=lon, lat=lat)
    row = await run(REPORT_SQL, params)
    if row is None:
        raise RuntimeError("the report statement answers one row")
    done = None
    if row["id"] is not None:
        done = Reported(int(row["id"]), True, _incident(row), int(row["event_id"]))
    return FirstTry(reporter_of(row), row, done)


def _snap(conn: Connection, lon: float, lat: float, snap_m: float) -> tuple[str, list[str]]:
    """The grid for a point no grid covered: the nearest one within ``snap_m`` metres.

    Raises:
        InvalidInput: the point is farther than ``snap_m`` from every grid.
    """
    loc = locate(conn, lon, lat)
    if loc.leaf is not None:  # a grid came to cover it since
        return loc.leaf.code, []
    near = loc.nearest
    if near is not None and near.distance_m <= snap_m:
        return _leaf_nearest(conn, near.code, lon, lat), ["outside"]
    where = f"; the nearest grid {near.code} is {near.distance_m:.0f} m away" if near else ""
    where_zh = f"，最近的网格 {near.code} 相距 {near.distance_m:,.0f} 米" if near else ""
    raise InvalidInput(
        f"the point ({lon:.6f}, {lat:.6f}) is outside every grid{where}; "
        f"incidents may be at most {snap_m:g} m outside a grid",
        code="outside_grids",
        zh=f"该位置不在任何网格内{where_zh}；事件最多可在网格外 {snap_m:g} 米",
        field="location",
        nearest=near.code if near else None,
        distance_m=round(near.distance_m) if near else None,
    )


def _incident(row: Any) -> dict[str, Any]:
    """A new incident as :func:`get_incident` answers it, from a row of :data:`REPORT_SQL`."""
    resolve = resolve_limit(row["extended_due"], row["resolve_due"])
    computed = {"due_at": due(row["state"], {"accept": row["accept_due"], "resolve": resolve})}
    fields: dict[str, Any] = {}
    for spec in REPORT_COLUMNS:  # "column", "column:name" or ":name" (None)
        column, _, name = spec.partition(":")
        fields[name or column] = (
            computed[column] if column in computed else row[column] if column else None
        )
    out = shape(fields)
    chain = zip(row["chain_codes"], row["chain_names"], row["chain_levels"], strict=True)
    out["chain"] = [{"code": c, "name": n, "level": lv} for c, n, lv in chain]
    out["timeline"] = [
        {"at": row["event_at"], "actor": row["event_actor"], "action": row["event_action"],
         "from_state": row["event_from"], "to_state": row["event_to"], "note": row["event_note"],
         "photos": [], "note_parts": None}
    ]  # fmt: skip
    out["photos"] = []
    return out


def report_incident(
    conn: Connection,
    r: Report,
    *,
    account: Account,
    now: datetime,
    snap_m: float,
    first: Mapping[str, Any] | None = None,
) -> Reported:
    """Store a reported incident, or find the one already stored under the same key.

    In one statement when the point is inside a grid (see :data:`REPORT_SQL`).

    Args:
        conn: connection in the caller's transaction.
        r: the report.
        account: the reporter; a scoped account may report only inside its areas.
        now: the time of the report.
        snap_m: how far outside every grid a point may be and still go to the nearest grid.
        first: the row the statement answered already for this report and reporter (by
            :func:`report_at_once`), which stored nothing: settled from here, not run again.

    Returns:
        A new incident, with its data; or the original id (not created) for a retry with the
        same idempotency key by the same reporter, even one racing the first request.

    Raises:
        InvalidInput: bad coordinates, accuracy, category, description or key; a point
            farther than ``snap_m`` from every grid. Forbidden: a role that may not report, or
            outside the account's areas.
    """
    if account.role not in REPORTERS:
        raise denied()
    _check_fields(r)
    lon, lat = to_wgs84(r.lon, r.lat, r.coord_system)
    try:
        check_lon_lat(lon, lat)
    except InvalidInput:  # the category and a replay come first
        _check_category(conn, r.category)
        found = _existing(conn, account.name, r.idempotency_key)
        if found is not None:
            return Reported(found, False)
        raise
    code: str | None = None
    flags: list[str] = []
    row = first
    place = _place(conn, r)
    if place is not None and place.grid_code is not None:
        code = place.grid_code  # the building's unit decides (gridgeo_place), not the GPS fix
    for _ in range(3):  # again only when categories or grids change meanwhile
        if row is None:
            params = report_params(
                r, account=account, now=now, lon=lon, lat=lat, code=code, flags=flags
            )
            row = _store(conn, params)
        if not row["category_ok"]:
            _check_category(conn, r.category)  # raises, unless it was activated meanwhile
            row = None
            continue
        if row["existing_id"] is not None:
            return Reported(int(row["existing_id"]), False)
        if row["located"]:
            break
        code, flags = _snap(conn, lon, lat, snap_m)
        row = None
    else:
        raise Conflict(
            "the grids or categories changed during the report; send it again",
            code="changed_meanwhile",
            zh="上报期间网格或类别有变动，请重新发送",
        )
    if not row["allowed"]:
        raise denied()
    if row["id"] is None:  # a concurrent retry stored it first
        again = _existing(conn, account.name, r.idempotency_key)
        if again is None:
            raise Conflict(
                "the report raced another; send it again",
                code="raced",
                zh="与另一次上报冲突，请重新发送",
            )
        return Reported(again, False)
    new_id = int(row["id"])
    if place is not None:
        conn.execute(
            text("UPDATE incidents SET building_id = :b, unit_id = :u WHERE id = :i"),
            {"b": place.building_id, "u": place.unit_id, "i": new_id},
        )
    if r.major:
        escalate_one(conn, new_id, actor=account.name, reason="major", now=now)
        return Reported(new_id, True, None, int(row["event_id"]))
    return Reported(new_id, True, _incident(row), int(row["event_id"]))


def _place(conn: Connection, r: Report) -> Place | None:
    """The building and unit a report names, with their grid; None when it names none.

    Raises:
        InvalidInput: a unit without a building, an unknown building or unit.
    """
    if r.building is None:
        if r.unit is not None:
            raise InvalidInput(
                "a unit needs its building: send building with unit",
                code="unit_without_building",
                zh="填写单元时须同时填写楼栋",
                field="building",
            )
        return None
    return place_of(conn, r.building, r.unit)


def report(
    conn: Connection, r: Report, *, account: Account, now: datetime, snap_m: float
) -> tuple[int, bool]:
    """:func:`report_incident`: (incident id, True) for a new one, (original id, False) else."""
    done = report_incident(conn, r, account=account, now=now, snap_m=snap_m)
    return done.id, done.created


def report_with_photos(
    conn: Connection,
    r: Report,
    *,
    account: Account,
    now: datetime,
    photos: Sequence[Photo],
    store: PhotoStore,
    snap_m: float,
    first: Mapping[str, Any] | None = None,
) -> Reported:
    """:func:`report_incident`, then the (already checked) photos on the report's event.

    A retry with the same idempotency key returns the original incident and stores nothing.
    """
    done = report_incident(conn, r, account=account, now=now, snap_m=snap_m, first=first)
    if done.created and photos:
        attach(conn, store, done.id, done.event_id, photos, taken_by=account.name, at=now)
        return Reported(done.id, True, None, done.event_id)  # with photos now: read it back
    return done


def add_photos(
    conn: Connection,
    incident_id: int,
    *,
    account: Account,
    photos: Sequence[Photo],
    store: PhotoStore,
    now: datetime,
    note: str = "",
) -> list[int]:
    """Add photos to an incident that is not closed, as a ``photo`` entry on its timeline.

    Raises:
        InvalidInput: no photos. Forbidden: outside the account's areas, or a viewer.
        NotFound: no such incident (admin). Conflict: the incident is closed.
    """
    if not photos:
        raise InvalidInput("send at least one photo in the form field 'photo'", field="photo")
    if account.role not in REPORTERS:
        raise denied()
    row = lock_incident(conn, incident_id, account)
    if row[0] == "closed":
        raise Conflict(
            f"incident {incident_id} is closed; reopen it to add photos",
            code="incident_closed",
            zh=f"事件 {incident_id} 已结案，须重新受理后才能补充照片",
            field="id",
        )
    event_id = add_event(conn, incident_id, actor=account.name, action="photo",
                         from_state=row[0], to_state=row[0], note=note, at=now)  # fmt: skip
    return attach(conn, store, incident_id, event_id, photos, taken_by=account.name, at=now)
