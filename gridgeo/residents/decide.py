"""The dispatcher decides on a resident's matter: accept, merge or reject (受理 · 合并 · 不予受理).

Who may decide from which state is :data:`gridgeo.incidents.policy.MATTER_RULES`. Accepting
makes the matter an incident of its grid through the one report path
(:func:`gridgeo.incidents.report.report_incident`: its grid, candidates, duplicates and limits),
with the resident (by tracking number) as its reporter, then accepts it (its accept time is the
evaluation's); merging hangs it on an open incident, which the resident then follows; rejecting
needs a reason, which the resident reads. The matter's photos go onto the incident's timeline.

Only dispatchers whose areas cover the matter's area see its queue entry, and only they see the
phone number (personal data, :mod:`gridgeo.residents.purge`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.errors import InvalidInput, NotFound, denied
from gridgeo.incidents.flow import add_event, check_transition, lock_incident, transition
from gridgeo.incidents.photos import INSERT_SQL as INCIDENT_PHOTO_SQL
from gridgeo.incidents.policy import ACTION_WORDS, DESK, MATTER_RULES, OPEN_STATES, sql_list
from gridgeo.incidents.report import Report, report_incident
from gridgeo.residents.matters import actor

NEAR_M = 300.0  # open incidents this close are offered for a merge

QUEUE_SQL = f"""
SELECT m.id, m.tracking, m.state, m.category, m.description, m.phone, m.area_code,
    (SELECT name FROM current_grids WHERE code = m.area_code) AS area_name,
    ST_X(m.location) AS lon, ST_Y(m.location) AS lat, m.accuracy_m, m.submitted_at,
    ARRAY(SELECT p.id FROM resident_matter_photos p WHERE p.matter_id = m.id ORDER BY p.id)
        AS photo_ids,
    ARRAY(SELECT i.id FROM incidents i WHERE m.location IS NOT NULL
        AND i.state IN ({sql_list(OPEN_STATES)})
        AND ST_DWithin(i.location::geography, m.location::geography, {NEAR_M})
        ORDER BY i.location <-> m.location LIMIT 5) AS nearby
FROM resident_matters m
WHERE m.state = 'submitted' AND (CAST(:areas AS text[]) IS NULL OR EXISTS (
    SELECT FROM unnest(CAST(:areas AS text[])) a WHERE starts_with(m.area_code, a)
        OR starts_with(a, m.area_code)))
ORDER BY m.submitted_at, m.id LIMIT :n
"""  # noqa: S608 - constants


def _areas(account: Account) -> list[str] | None:
    return None if account.role == "admin" else list(account.areas)


def queue(conn: Connection, account: Account, limit: int = 200) -> list[dict[str, Any]]:
    """The matters waiting for a decision in the account's areas (待受理), oldest first.

    A matter queued at a community is seen by the dispatchers of the community, of what is
    above it, and of its grids (any of whom may take the call).
    """
    if account.role not in DESK:
        raise denied()
    rows = conn.execute(text(QUEUE_SQL), {"areas": _areas(account), "n": limit}).mappings()
    out = []
    for r in rows:
        d = dict(r)
        d["photos"] = [
            {"id": p, "url": f"/resident/queue/{d['id']}/photos/{p}"} for p in d.pop("photo_ids")
        ]
        d["nearby"] = list(d["nearby"])
        out.append(d)
    return out


def _lock(conn: Connection, matter_id: int, account: Account) -> Any:
    row = conn.execute(
        text(
            "SELECT id, tracking, state, area_code, category, description, accuracy_m, "
            "ST_X(location) AS lon, ST_Y(location) AS lat FROM resident_matters "
            "WHERE id = :m FOR UPDATE"
        ),
        {"m": matter_id},
    ).first()
    if row is None and account.role == "admin":
        raise NotFound(f"no matter {matter_id}", field="id")
    if row is None or not (
        account.covers(row.area_code) or any(a.startswith(row.area_code) for a in account.areas)
    ):
        raise denied()
    return row


def _copy_photos(
    conn: Connection, matter_id: int, incident_id: int, event_id: int, by: str, now: datetime
) -> None:
    rows = conn.execute(
        text(
            "SELECT sha256, bytes, mime, width, height, gps_removed FROM resident_matter_photos "
            "WHERE matter_id = :m ORDER BY id"
        ),
        {"m": matter_id},
    ).all()
    for sha, size, mime, w, h, gps in rows:  # the files are in the store already (by checksum)
        conn.execute(
            INCIDENT_PHOTO_SQL,
            {"i": incident_id, "e": event_id, "sha": sha, "bytes": size, "mime": mime, "w": w,
             "h": h, "gps": gps, "by": by, "at": now},
        )  # fmt: skip


def _decided(conn: Connection, matter_id: int, state: str, account: Account, now: datetime,
             incident_id: int | None = None, reason: str | None = None) -> None:  # fmt: skip
    conn.execute(
        text(
            "UPDATE resident_matters SET state = :s, decided_at = :now, decided_by = :by, "
            "incident_id = :i, reason = :r WHERE id = :m"
        ),
        {"s": state, "now": now, "by": account.name, "i": incident_id, "r": reason,
         "m": matter_id},
    )  # fmt: skip


def decide(
    conn: Connection,
    matter_id: int,
    *,
    account: Account,
    action: str,
    now: datetime,
    snap_m: float,
    reason: str = "",
    incident: int | None = None,
    lon: float | None = None,
    lat: float | None = None,
    category: str | None = None,
) -> int | None:
    """Accept, merge or reject a submitted matter; the incident the resident now follows.

    Args:
        conn: a connection in the caller's transaction.
        matter_id: the matter.
        account: the dispatcher.
        action: ``accept``, ``merge`` or ``reject`` (:data:`MATTER_RULES`).
        now: the time of the decision.
        snap_m: as for staff reports.
        reason: why it is rejected (required then; the resident reads it).
        incident: the open incident to merge into.
        lon: where it is, when the resident gave only a community (WGS84), or a correction.
        lat: the latitude with ``lon``.
        category: another category than the resident chose (accept).

    Raises:
        Forbidden: outside the account's areas, or not a dispatcher. NotFound: no such matter
            (admin). Conflict: already decided. InvalidInput: a reject without a reason, a
            merge without an open incident, an accept without a position for a matter that
            has none, a point outside every grid.
    """
    row = _lock(conn, matter_id, account)
    target = check_transition(action, row.state, account.role, MATTER_RULES)
    if MATTER_RULES[action].needs_note and not reason.strip():
        raise InvalidInput(
            "'reject' needs a reason, which the resident will read",
            code="reason_required",
            zh="不予受理须填写原因，居民将看到该原因",
            field="reason",
        )
    who = actor(row.tracking)
    if action == "reject":
        _decided(conn, matter_id, target, account, now, reason=reason.strip())
        return None
    if action == "merge":
        if incident is None:
            raise InvalidInput("'merge' needs the open incident to merge into", field="incident")
        state = lock_incident(conn, incident, account)[0]
        if state not in OPEN_STATES:
            raise InvalidInput(
                f"incident {incident} is {state}; merge only into an open incident",
                code="not_open",
                zh=f"事件 {incident} 不在办理中，只能合并到在办事件",
                field="incident",
            )
        event = add_event(conn, incident, actor=account.name, action="merge", from_state=state,
                          to_state=state, note=row.tracking, at=now)  # fmt: skip
        _copy_photos(conn, matter_id, incident, event, who, now)
        _decided(conn, matter_id, target, account, now, incident_id=incident)
        return incident
    if (lon is None) != (lat is None):
        raise InvalidInput("give both lon and lat", field="lon" if lon is None else "lat")
    if lon is None or lat is None:
        if row.lon is None:
            raise InvalidInput(
                "the resident gave a community, not a position: pin the place (lon, lat)",
                code="position_required",
                zh="居民只选择了社区，未提供位置：请在地图上标出位置后受理",
                field="lon",
            )
        lon, lat = float(row.lon), float(row.lat)
    r = Report(lon, lat, category or row.category, row.description, accuracy_m=row.accuracy_m,
               idempotency_key=f"matter:{row.tracking}")  # fmt: skip
    done = report_incident(conn, r, account=account, now=now, snap_m=snap_m)
    # the resident is the reporter (by tracking number); the dispatcher created it
    params = {"who": who, "i": done.id, "note": ACTION_WORDS["submit"][0] + " " + row.tracking}
    conn.execute(text("UPDATE incidents SET reporter = :who WHERE id = :i"), params)
    conn.execute(
        text(
            "UPDATE incident_events SET actor = :who, note = :note "
            "WHERE incident_id = :i AND action = 'report'"
        ),
        params,
    )
    transition(conn, done.id, account=account, action="accept", now=now)
    event = conn.execute(
        text("SELECT id FROM incident_events WHERE incident_id = :i AND action = 'report'"),
        {"i": done.id},
    ).scalar_one()
    _copy_photos(conn, matter_id, done.id, int(event), who, now)
    _decided(conn, matter_id, target, account, now, incident_id=done.id)
    return done.id


def matter_photo(conn: Connection, matter_id: int, photo_id: int, account: Account) -> Any:
    """A submitted matter's photo for the desk: (sha256, mime).

    Raises:
        Forbidden: outside the account's areas. NotFound: no such photo of the matter.
    """
    if account.role not in DESK:
        raise denied()
    _lock(conn, matter_id, account)
    row = conn.execute(
        text("SELECT sha256, mime FROM resident_matter_photos WHERE id = :p AND matter_id = :m"),
        {"p": photo_id, "m": matter_id},
    ).first()
    if row is None:
        raise NotFound(f"matter {matter_id} has no photo {photo_id}", field="photo_id")
    return row
