"""Reporting incidents: convert, locate, candidate grids, snapping, duplicates, idempotency.

Every incident belongs to one leaf grid. A point covered by a grid takes that grid; when its
accuracy circle also reaches other leaf grids, they are recorded as candidates and the incident
is flagged ``boundary`` for the dispatcher. A point outside every grid goes to the nearest grid
within ``snap_m`` metres (flagged ``outside``) or is refused. A likely duplicate (same category,
within 50 m and 24 h, still open) is linked and flagged ``duplicate``, never merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.assign import check_lon_lat, locate
from gridgeo.coords import SYSTEMS, to_wgs84
from gridgeo.errors import Forbidden, InvalidInput
from gridgeo.incident_flow import DENIED, OPEN_STATES, add_event, escalate_one
from gridgeo.photos import Photo, PhotoStore, attach, list_photos

SNAP_M = 200.0  # default of settings.incident_snap_m
MAX_ACCURACY_M = 1000.0
MAX_DESCRIPTION = 4000
MAX_KEY = 128
DUPLICATE_M = 50.0
DUPLICATE_WINDOW = timedelta(hours=24)
PHOTO_ROLES = ("patrol", "dispatcher", "planner", "admin")

CANDIDATES_SQL = text(
    """
SELECT DISTINCT p.grid_id FROM grid_parts p
WHERE p.depth = :depth
  AND ST_DWithin(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :deg)
  AND ST_DWithin(p.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :m)
ORDER BY p.grid_id
"""
)

DUPLICATE_SQL = text(
    """
SELECT i.id FROM incidents i
WHERE i.category = :cat AND i.state = ANY(:open)
  AND i.reported_at > :since AND i.reported_at <= :now
  AND ST_DWithin(i.location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :deg)
  AND ST_DWithin(i.location::geography,
                 ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :m)
ORDER BY ST_Distance(i.location::geography,
                     ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography), i.id
LIMIT 1
"""
)

INSERT_SQL = text(
    """
INSERT INTO incidents (location, grid_id, category, description, reported_at, created_by,
    updated_by, state, major, accuracy_m, coord_system, orig_lon, orig_lat, candidate_grid_ids,
    flags, duplicate_of, queue_area, accept_due, resolve_due, reporter, idempotency_key,
    updated_at)
SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :grid_id, c.key, :description, :now, :by,
    :by, 'reported', :major, :accuracy, :system, :orig_lon, :orig_lat,
    CAST(:candidates AS bigint[]), CAST(:flags AS text[]), :dup, :queue,
    :now + make_interval(mins => c.accept_minutes),
    :now + make_interval(mins => c.resolve_minutes), :by, :key, :now
FROM incident_categories c WHERE c.key = :category
ON CONFLICT (reporter, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id
"""
)


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


def _degrees(metres: float, lat: float) -> float:
    """A bound in degrees that is never shorter than ``metres`` at latitude ``lat``."""
    import math

    return metres / (111_000.0 * max(math.cos(math.radians(lat)), 0.01)) * 1.05


def _validate(conn: Connection, r: Report) -> None:
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
            field="accuracy_m",
        )
    if len(r.description) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"description has {len(r.description)} characters; at most {MAX_DESCRIPTION}",
            field="description",
        )
    if r.idempotency_key is not None and not 0 < len(r.idempotency_key) <= MAX_KEY:
        raise InvalidInput(f"Idempotency-Key must be 1–{MAX_KEY} characters", field="key")
    rows = conn.execute(text("SELECT key, active FROM incident_categories ORDER BY key")).all()
    keys = [k for k, active in rows if active]
    if r.category not in keys:
        retired = r.category in {k for k, _ in rows}
        what = f"category '{r.category}' is no longer in use" if retired else "unknown category"
        if not retired:
            what += f" '{r.category}'"
        raise InvalidInput(
            f"{what}; categories are: {', '.join(keys)}",
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
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) AS p FROM grids "
            "WHERE code = :c AND valid_to IS NULL) s"
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


def report(
    conn: Connection, r: Report, *, account: Account, now: datetime, snap_m: float = SNAP_M
) -> tuple[int, bool]:
    """Store a reported incident, or find the one already stored under the same key.

    Args:
        conn: connection in the caller's transaction.
        r: the report.
        account: the reporter; a scoped account may report only inside its areas.
        now: the time of the report.
        snap_m: how far outside every grid a point may be and still go to the nearest grid.

    Returns:
        (incident id, True) for a new incident; (the original id, False) for a retry with
        the same idempotency key by the same reporter, even one racing the first request.

    Raises:
        InvalidInput: bad coordinates, accuracy, category, description or key; a point
            farther than ``snap_m`` from every grid. Forbidden: outside the account's areas.
    """
    _validate(conn, r)
    found = _existing(conn, account.name, r.idempotency_key)
    if found is not None:
        return found, False
    lon, lat = to_wgs84(r.lon, r.lat, r.coord_system)
    check_lon_lat(lon, lat)
    loc = locate(conn, lon, lat)
    flags: list[str] = []
    if loc.leaf is not None:
        code = loc.leaf.code
    elif loc.nearest is not None and loc.nearest.distance_m <= snap_m:
        code = _leaf_nearest(conn, loc.nearest.code, lon, lat)
        flags.append("outside")
    else:
        near = loc.nearest
        where = f"; the nearest grid {near.code} is {near.distance_m:.0f} m away" if near else ""
        raise InvalidInput(
            f"the point ({lon:.6f}, {lat:.6f}) is outside every grid{where}; "
            f"incidents may be at most {snap_m:g} m outside a grid",
            field="location",
        )
    if not account.covers(code):
        raise Forbidden(DENIED)
    grid_id, depth = conn.execute(
        text(
            "SELECT g.id, l.depth FROM grids g JOIN levels l ON l.id = g.level_id "
            "WHERE g.code = :c AND g.valid_to IS NULL"
        ),
        {"c": code},
    ).one()
    candidates = [grid_id]
    if r.accuracy_m:
        candidates = list(
            conn.execute(
                CANDIDATES_SQL,
                {"lon": lon, "lat": lat, "depth": depth, "m": r.accuracy_m,
                 "deg": _degrees(r.accuracy_m, lat)},
            ).scalars()
        )  # fmt: skip
        if len(set(candidates) - {grid_id}) > 0:
            flags.append("boundary")
    duplicate = conn.execute(
        DUPLICATE_SQL,
        {"cat": r.category, "open": list(OPEN_STATES), "since": now - DUPLICATE_WINDOW, "now": now, "lon": lon, "lat": lat,
         "m": DUPLICATE_M, "deg": _degrees(DUPLICATE_M, lat)},
    ).scalar()  # fmt: skip
    if duplicate is not None:
        flags.append("duplicate")
    new_id = conn.execute(
        INSERT_SQL,
        {"lon": lon, "lat": lat, "grid_id": grid_id, "description": r.description, "now": now,
         "by": account.name, "major": r.major, "accuracy": r.accuracy_m,
         "system": r.coord_system, "orig_lon": r.lon, "orig_lat": r.lat,
         "candidates": sorted(set(candidates) | {grid_id}), "flags": flags, "dup": duplicate,
         "queue": code, "key": r.idempotency_key, "category": r.category},
    ).scalar()  # fmt: skip
    if new_id is None:  # a concurrent retry stored it first
        again = _existing(conn, account.name, r.idempotency_key)
        assert again is not None
        return again, False
    note = ", ".join(flags)
    add_event(conn, new_id, actor=account.name, action="report", from_state=None,
              to_state="reported", note=note, at=now)  # fmt: skip
    if r.major:
        escalate_one(conn, new_id, actor=account.name, reason="major", now=now)
    return int(new_id), True


def list_categories(conn: Connection, *, inactive: bool = False) -> list[dict[str, Any]]:
    """The incident categories in use (and, with ``inactive``, the retired ones too)."""
    rows = conn.execute(
        text(
            "SELECT key, label_zh, label_en, accept_minutes, resolve_minutes, active "
            "FROM incident_categories WHERE active OR :all ORDER BY key"
        ),
        {"all": inactive},
    ).mappings()
    return [dict(r) if inactive else {k: v for k, v in r.items() if k != "active"} for r in rows]


def list_departments(conn: Connection, *, inactive: bool = False) -> list[dict[str, Any]]:
    """The linked departments (联动处置单位) and the categories each handles."""
    rows = conn.execute(
        text(
            "SELECT id, name, categories, active FROM departments WHERE active OR :all "
            "ORDER BY name"
        ),
        {"all": inactive},
    )
    return [
        {"id": r[0], "name": r[1], "categories": list(r[2])}
        | ({"active": r[3]} if inactive else {})
        for r in rows
    ]


CHAIN_SQL = text(
    """
WITH RECURSIVE chain AS (
    SELECT id, parent_id FROM grids WHERE id = (SELECT grid_id FROM incidents WHERE id = :i)
    UNION ALL
    SELECT g.id, g.parent_id FROM grids g JOIN chain c ON g.id = c.parent_id
)
SELECT g.code, g.name, l.key AS level
FROM chain c JOIN grids g ON g.id = c.id JOIN levels l ON l.id = g.level_id ORDER BY l.depth
"""
)


def get_incident(
    conn: Connection, incident_id: int, *, account: Account | None, names: bool = True
) -> dict[str, Any]:
    """One incident with its grid, chain of ancestors and full timeline.

    Raises:
        Forbidden: outside the account's areas, or (for a scoped account) no such incident.
        NotFound: no such incident (admin or no account).
    """
    from gridgeo.errors import NotFound
    from gridgeo.incident_flow import COLUMNS, shape

    row = conn.execute(text(f"SELECT {COLUMNS} WHERE i.id = :i"), {"i": incident_id}).mappings()
    found = row.first()
    scoped = account is not None and account.role != "admin"
    if found is None and not scoped:
        raise NotFound(f"no incident {incident_id}", field="id")
    if found is None or (account is not None and not account.covers(found["grid"])):
        raise Forbidden(DENIED)
    out = shape(found, names)
    out["chain"] = [dict(r) for r in conn.execute(CHAIN_SQL, {"i": incident_id}).mappings()]
    events = conn.execute(
        text(
            "SELECT e.at, e.actor, e.action, e.from_state, e.to_state, e.note, "
            "ARRAY(SELECT p.id FROM incident_photos p WHERE p.event_id = e.id ORDER BY p.id) "
            "AS photos FROM incident_events e WHERE e.incident_id = :i ORDER BY e.at, e.id"
        ),
        {"i": incident_id},
    ).mappings()
    out["timeline"] = [
        {**e, "photos": list(e["photos"])} | ({} if names else {"actor": None}) for e in events
    ]
    out["photos"] = list_photos(conn, incident_id, names=names)
    return out


def report_with_photos(
    conn: Connection,
    r: Report,
    *,
    account: Account,
    now: datetime,
    photos: Sequence[Photo],
    store: PhotoStore,
    snap_m: float = SNAP_M,
) -> tuple[int, bool]:
    """:func:`report`, then the (already checked) photos on the report's timeline entry.

    A retry with the same idempotency key returns the original incident and stores nothing.
    """
    incident_id, created = report(conn, r, account=account, now=now, snap_m=snap_m)
    if created and photos:
        event_id = conn.execute(
            text(
                "SELECT min(id) FROM incident_events WHERE incident_id = :i AND action = 'report'"
            ),
            {"i": incident_id},
        ).scalar()
        attach(conn, store, incident_id, event_id, photos, taken_by=account.name, at=now)
    return incident_id, created


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
    from gridgeo.errors import Conflict, NotFound

    if not photos:
        raise InvalidInput("send at least one photo in the form field 'photo'", field="photo")
    if account.role not in PHOTO_ROLES:
        raise Forbidden(DENIED)
    row = conn.execute(
        text(
            "SELECT i.state, g.code FROM incidents i JOIN grids g ON g.id = i.grid_id "
            "WHERE i.id = :i FOR UPDATE OF i"
        ),
        {"i": incident_id},
    ).first()
    if row is None and account.role == "admin":
        raise NotFound(f"no incident {incident_id}", field="id")
    if row is None or not account.covers(row[1]):
        raise Forbidden(DENIED)
    if row[0] == "closed":
        raise Conflict(f"incident {incident_id} is closed; reopen it to add photos", field="id")
    event_id = add_event(conn, incident_id, actor=account.name, action="photo",
                         from_state=row[0], to_state=row[0], note=note, at=now)  # fmt: skip
    return attach(conn, store, incident_id, event_id, photos, taken_by=account.name, at=now)
