"""Reading incidents: one with its chain and timeline, pages by queue, counts, categories.

What a caller may see is decided here once: the areas of the account (``areas``), and whether
names are shown (:func:`gridgeo.incidents.policy.sees_names`). ``due_at`` is the limit an
incident runs against now — past it, it is overdue — computed by the database from the rule of
:mod:`gridgeo.incidents.policy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.errors import InvalidInput, NotFound, denied
from gridgeo.incidents.marks import STATUS_COLUMNS, marks_where
from gridgeo.incidents.notes import codes_of, note_parts
from gridgeo.incidents.photos import list_photos
from gridgeo.incidents.policy import OPEN_STATES, OVERDUE, STATES, due_sql, sql_list

COLUMNS = f"""
i.id, i.state, i.category, i.description, ST_X(i.location) AS lon, ST_Y(i.location) AS lat,
i.accuracy_m, i.coord_system, i.orig_lon, i.orig_lat, g.code AS grid, i.flags, i.duplicate_of,
i.major, i.escalation_level, i.queue_area, i.accept_due, i.resolve_due, {due_sql()} AS due_at,
{due_sql(level=True)} AS level_due_at, i.rating, i.reporter,
i.assignee, d.name AS department, i.reported_at, i.updated_at,
ARRAY(SELECT c.code FROM grids c WHERE c.id = ANY(i.candidate_grid_ids) ORDER BY c.code)
    AS candidates,
(SELECT e.note FROM incident_events e WHERE e.incident_id = i.id ORDER BY e.id DESC LIMIT 1)
    AS last_note, i.media_url, i.extended_due, i.extension_requested_at, i.resolved_at
FROM incidents i JOIN grids g ON g.id = i.grid_id LEFT JOIN departments d ON d.id = i.department_id
"""  # noqa: S608 - fixed fragments
# A list's rows also name their grid and queue (a single incident names its chain instead, and
# answers what the report statement of the hot path answers: REPORT_COLUMNS). Both say whether
# it is overdue and late, and its marks, as the server judges them at :now (marks.py).
LIST_COLUMNS = f"""g.name AS grid_name,
(SELECT q.name FROM current_grids q WHERE q.code = i.queue_area) AS queue_name, {STATUS_COLUMNS},
{COLUMNS}"""  # noqa: S608
_IN_AREAS = (
    "(CAST(:areas AS text[]) IS NULL OR EXISTS "
    "(SELECT 1 FROM unnest(CAST(:areas AS text[])) a WHERE starts_with({col}, a)))"
)
QUEUES = {
    "grid": f"i.escalation_level = 0 AND i.state IN ({sql_list(OPEN_STATES)})",
    "located": f"i.state IN ({sql_list(OPEN_STATES)})",
    "dispatch": "i.state <> 'closed'",
    "overdue": OVERDUE,
    "extension": "i.extension_requested_at IS NOT NULL",  # requests waiting for a decision
}


def shape(row: Any, names: bool = True) -> dict[str, Any]:
    """An incident row as JSON-able data; without ``names`` the reporter and worker are hidden.

    ``due_at`` is the limit the incident runs against now: past it, it is overdue;
    ``level_due_at`` is when it escalates next if nobody acts (both None once resolved).
    ``accept_due`` and ``resolve_due`` are the original limits, by which it is late (resolved,
    as ``resolved_at`` says, or still open after them); ``extended_due`` the resolve limit an
    approved extension set, ``extension_requested_at`` a request waiting for a decision.
    """
    out = dict(row)
    out["flags"] = list(out["flags"])
    out["candidates"] = list(out["candidates"])
    out["original"] = {"lon": out.pop("orig_lon"), "lat": out.pop("orig_lat")}
    if not names:
        out["reporter"] = out["assignee"] = None
    return out


def list_incidents(
    conn: Connection,
    *,
    areas: tuple[str, ...] | None,
    now: datetime,
    state: str | None = None,
    category: str | None = None,
    area: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    since: datetime | None = None,
    queue: str | None = None,
    limit: int = 100,
    after: int = 0,
    names: bool = True,
    until: datetime | None = None,
    is_open: bool | None = None,
    offset: int = 0,
    flags: Sequence[str] = (),
    overdue: bool | None = None,
) -> list[dict[str, Any]]:
    """Incidents in ``areas`` (None: all) matching the filters, by id, ``limit`` after ``after``.

    ``since``/``until`` bound the report time; ``is_open`` keeps open (True) or no longer open
    (False) incidents; ``offset`` skips that many (Open311's pages); ``flags`` keeps those that
    carry every one of these marks (keys of :data:`gridgeo.incidents.marks.MARKS`, checked by
    :func:`~gridgeo.incidents.marks.parse_marks`); ``overdue`` keeps the overdue (True) or the
    not overdue (False) ones, whatever the queue.

    Queues: ``grid`` (open, still in the grid's own queue), ``located`` (open and located in
    ``areas``, whatever queue it sits in: a worker's list, escalated ones included),
    ``dispatch`` (not closed, the
    queue area within ``areas`` — escalated incidents leave a lower dispatcher's queue),
    ``overdue`` (open and past a time limit in force at ``now``, wherever it is queued),
    ``extension`` (an extension request waits for a dispatcher).

    Raises:
        InvalidInput: an unknown state or queue.
    """
    where = ["i.id > :after"]
    if queue is not None:
        if queue not in QUEUES:
            raise InvalidInput(f"unknown queue '{queue}'; queues: {', '.join(QUEUES)}")
        where.append(QUEUES[queue])
    where.append(_IN_AREAS.format(col="i.queue_area" if queue == "dispatch" else "g.code"))
    if state is not None:
        if state not in STATES:
            raise InvalidInput(f"unknown state '{state}'; states: {', '.join(STATES)}")
        where.append("i.state = :state")
    if category is not None:
        where.append("i.category = :category")
    if area is not None:
        where.append("starts_with(g.code, :area)")
    if bbox is not None:
        where.append("i.location && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)")
    if since is not None:
        where.append("i.reported_at >= :since")
    if until is not None:
        where.append("i.reported_at <= :until")
    if is_open is not None:
        where.append(("" if is_open else "NOT ") + f"i.state IN ({sql_list(OPEN_STATES)})")
    where += marks_where(flags, overdue)
    x0, y0, x1, y1 = bbox or (0.0, 0.0, 0.0, 0.0)
    sql = f"SELECT {LIST_COLUMNS} WHERE {' AND '.join(where)} ORDER BY i.id LIMIT :limit OFFSET :offset"
    rows = conn.execute(
        text(sql),
        {"after": after, "areas": list(areas) if areas is not None else None, "now": now,
         "state": state, "category": category, "area": area, "since": since, "limit": limit,
         "until": until, "offset": offset,
         "x0": x0, "y0": y0, "x1": x1, "y1": y1},
    ).mappings()  # fmt: skip
    return [shape(r, names) for r in rows]


def summary(conn: Connection, *, areas: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Counts of incidents by category and state within ``areas`` (None: all)."""
    sql = (
        "SELECT i.category, i.state, count(*) AS count FROM incidents i "  # noqa: S608
        f"JOIN grids g ON g.id = i.grid_id WHERE {_IN_AREAS.format(col='g.code')} "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    rows = conn.execute(text(sql), {"areas": list(areas) if areas is not None else None})
    return [dict(r) for r in rows.mappings()]


def list_categories(conn: Connection, *, inactive: bool = False) -> list[dict[str, Any]]:
    """The incident categories in use (and, with ``inactive``, the retired ones too)."""
    rows = conn.execute(
        text(
            "SELECT key, label_zh, label_en, accept_minutes, resolve_minutes, active, public, code "
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
    "SELECT c.code, c.name, c.level FROM incidents i CROSS JOIN LATERAL gridgeo_chain(i.grid_id) c "
    "WHERE i.id = :i ORDER BY c.depth"
)


def _name_codes(parts: list[dict[str, Any]], conn: Connection) -> None:
    """Add ``names`` (code → current name) to each note's parts: names beside the codes."""
    codes = sorted({c for p in parts for c in codes_of(p)})
    if not codes:
        return
    rows = conn.execute(
        text("SELECT code, name FROM current_grids WHERE code = ANY(:codes)"), {"codes": codes}
    ).all()
    known = {str(c): str(n) for c, n in rows}
    for p in parts:
        p["names"] = {c: known[c] for c in codes_of(p) if c in known}


def incident_grid(conn: Connection, incident_id: int, *, account: Account) -> tuple[str, str]:
    """The code and name of an incident's grid, for an account that may see it.

    Raises:
        Forbidden: outside the account's areas (or, for a scoped account, no such incident).
        NotFound: no such incident (admin).
    """
    row = conn.execute(
        text("SELECT g.code, g.name FROM incidents i JOIN grids g ON g.id = i.grid_id "
             "WHERE i.id = :i"),
        {"i": incident_id},
    ).first()  # fmt: skip
    if row is None and account.role == "admin":
        raise NotFound(f"no incident {incident_id}", field="id")
    if row is None or not account.covers(row[0]):
        raise denied()
    return str(row[0]), str(row[1])


def get_incident(
    conn: Connection,
    incident_id: int,
    *,
    account: Account | None,
    names: bool = True,
    now: datetime | None = None,
    judge: bool = False,
) -> dict[str, Any]:
    """One incident with its grid, chain of ancestors and full timeline.

    With ``judge``, it also says whether it is ``overdue`` and ``late`` and carries its
    ``marks``, judged at ``now`` (None: the present), as a list's rows do. Without, it answers
    exactly what the report statement of the hot path answers for a new incident.

    Raises:
        Forbidden: outside the account's areas, or (for a scoped account) no such incident.
        NotFound: no such incident (admin or no account).
    """
    row = conn.execute(
        text(f"SELECT {STATUS_COLUMNS + ',' if judge else ''} {COLUMNS} WHERE i.id = :i"),
        {"i": incident_id, "now": now or datetime.now(UTC)},
    ).mappings()
    found = row.first()
    scoped = account is not None and account.role != "admin"
    if found is None and not scoped:
        raise NotFound(f"no incident {incident_id}", field="id")
    if found is None or (account is not None and not account.covers(found["grid"])):
        raise denied()
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
    timeline = []
    for e in events:
        parts = note_parts(e["action"], e["note"])
        timeline.append(
            {**e, "note_parts": parts, "photos": list(e["photos"])}
            | ({} if names else {"actor": None})
        )
    _name_codes([t["note_parts"] for t in timeline if t["note_parts"]], conn)
    out["timeline"] = timeline
    out["photos"] = list_photos(conn, incident_id, names=names)
    return out
