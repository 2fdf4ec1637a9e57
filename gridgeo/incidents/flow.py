"""The incident state machine: who may do what from which state; timeline; escalation.

The loop of seed 000 (巡查、报告、解决、督查、反馈): reported → accepted → dispatched → in
progress → resolved → verified (督查) → closed with a rating (评事); reopened from verified or
closed. Escalation climbs the hierarchy one level per missed time limit, or at once for a
major incident (小事不出网格,大事不出社区).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.audit import record
from gridgeo.errors import Conflict, Forbidden, InvalidInput
from gridgeo.incidents.photos import Photo, PhotoStore, attach

STATES = ("reported", "accepted", "dispatched", "in_progress", "resolved", "verified", "closed")
OPEN_STATES = ("reported", "accepted", "dispatched", "in_progress")
DENIED = "this account is not permitted to do this"  # the same words as api.auth.DENIED
ESCALATION_ACTOR = "system:escalation"


@dataclass(frozen=True)
class Rule:
    """One action: the states it may start from, where it leads, and who may take it."""

    sources: tuple[str, ...]
    target: str | None  # None: the state does not change
    roles: tuple[str, ...]
    needs_note: bool = False


RULES: dict[str, Rule] = {
    "accept": Rule(("reported",), "accepted", ("patrol", "dispatcher", "admin")),
    "dispatch": Rule(("reported", "accepted"), "dispatched", ("dispatcher", "admin")),
    "start": Rule(("accepted", "dispatched"), "in_progress", ("patrol", "dispatcher", "admin")),
    "resolve": Rule(("in_progress",), "resolved", ("patrol", "dispatcher", "admin"), True),
    "verify": Rule(("resolved",), "verified", ("dispatcher", "admin")),
    "close": Rule(("verified",), "closed", ("dispatcher", "admin")),
    "reopen": Rule(("verified", "closed"), "accepted", ("dispatcher", "admin"), True),
    "mark_major": Rule(OPEN_STATES, None, ("patrol", "dispatcher", "planner", "admin")),
    # to another of the incident's candidate grids (its accuracy circle crossed a boundary),
    # or to its own grid to confirm it; either way the dispatcher has settled the question
    "regrid": Rule(OPEN_STATES, None, ("dispatcher", "admin")),
}


def check_transition(action: str, state: str, role: str) -> str:
    """The state after ``action`` from ``state`` by ``role``.

    Raises:
        InvalidInput: an unknown action. Forbidden: the role may not take it.
        Conflict: the action is not allowed from the current state.
    """
    rule = RULES.get(action)
    if rule is None:
        raise InvalidInput(
            f"unknown action '{action}'; actions are: {', '.join(RULES)}", field="action"
        )
    if role not in rule.roles:
        raise Forbidden(DENIED)
    if state not in rule.sources:
        raise Conflict(
            f"cannot {action} an incident that is {state}; allowed from: {', '.join(rule.sources)}",
            field="action",
            state=state,
        )
    return rule.target or state


def add_event(
    conn: Connection,
    incident_id: int,
    *,
    actor: str,
    action: str,
    from_state: str | None,
    to_state: str | None,
    note: str = "",
    at: datetime,
) -> int:
    """Append one entry to an incident's timeline (and the audit log); its id."""
    event_id = conn.execute(
        text(
            "INSERT INTO incident_events (incident_id, at, actor, action, from_state, to_state, "
            "note) VALUES (:i, :at, :actor, :action, :f, :t, :note) RETURNING id"
        ),
        {"i": incident_id, "at": at, "actor": actor, "action": action, "f": from_state,
         "t": to_state, "note": note},
    ).scalar_one()  # fmt: skip
    record(conn, actor, f"incident.{action}", "incidents", str(incident_id), to_state=to_state)
    return int(event_id)


def lock_incident(conn: Connection, incident_id: int, account: Account) -> Any:
    """Lock an incident the account may act on; its state, grid code, category and level.

    Raises:
        NotFound: no such incident (admin). Forbidden: outside the account's areas (or missing,
            for a scoped account, so that the answer gives nothing away).
    """
    from gridgeo.errors import NotFound

    row = conn.execute(
        text(
            "SELECT i.state, g.code, i.category, i.escalation_level FROM incidents i "
            "JOIN grids g ON g.id = i.grid_id WHERE i.id = :i FOR UPDATE OF i"
        ),
        {"i": incident_id},
    ).first()
    if row is None and account.role == "admin":
        raise NotFound(f"no incident {incident_id}", field="id")
    if row is None or not account.covers(row[1]):
        raise Forbidden(DENIED)
    return row


def transition(
    conn: Connection,
    incident_id: int,
    *,
    account: Account,
    action: str,
    now: datetime,
    note: str = "",
    rating: int | None = None,
    department: str | None = None,
    assignee: str | None = None,
    grid: str | None = None,
    photos: Sequence[Photo] = (),
    store: PhotoStore | None = None,
) -> None:
    """Take ``action`` on an incident as ``account``, recording who, when and the note.

    Photos (checked by :func:`gridgeo.incidents.photos.check_photos`) are stored in ``store`` and
    recorded on the action's timeline entry, e.g. the photo of a resolution.

    Raises:
        Forbidden: the incident is outside the account's areas (or does not exist, for a
            scoped account), or the role may not take the action. NotFound: no such incident
            (admin). Conflict: not allowed from the current state. InvalidInput: a missing
            note or rating, an unknown department or one that does not handle the category,
            a grid to regrid to that is not one of the incident's candidate grids.
    """
    state, grid_code, category, level = lock_incident(conn, incident_id, account)
    target = check_transition(action, state, account.role)
    if photos and store is None:
        raise ValueError("photos need a store")
    if RULES[action].needs_note and not note.strip():
        raise InvalidInput(f"'{action}' needs a note saying what was done", field="note")
    values: dict[str, object] = {"i": incident_id, "s": target, "now": now, "by": account.name}
    sets = "state = :s, updated_at = :now, updated_by = :by"
    if action == "close":
        if rating is None or not 1 <= rating <= 5:
            raise InvalidInput("closing needs the resident's rating, 1 to 5", field="rating")
        sets += ", rating = :rating"
        values["rating"] = rating
    elif action == "dispatch":
        sets += ", department_id = :dep, assignee = :who"
        values["dep"] = _department(conn, department, category) if department else None
        values["who"] = assignee or (department or f"grid:{grid_code}")
    elif action == "reopen":
        sets += ", rating = NULL"
    elif action == "mark_major":
        sets += ", major = true"
    elif action == "regrid":
        moved, note = _regrid(conn, incident_id, grid, account, note)
        sets += (", grid_id = :grid_id, queue_area = :queue_area, assignee = :assignee, "
                 "flags = array_remove(flags, 'boundary')")  # fmt: skip
        values |= moved
    conn.execute(text(f"UPDATE incidents SET {sets} WHERE id = :i"), values)  # noqa: S608
    event_id = add_event(conn, incident_id, actor=account.name, action=action, from_state=state,
                         to_state=target, note=note, at=now)  # fmt: skip
    if photos and store is not None:
        attach(conn, store, incident_id, event_id, photos, taken_by=account.name, at=now)
    if action == "mark_major" and level == 0:
        escalate_one(conn, incident_id, actor=account.name, reason="major", now=now)


_REGRID_SQL = """
WITH RECURSIVE up AS (
    SELECT g.id, g.code, g.parent_id, 0 AS n FROM grids g WHERE g.id = :grid_id
    UNION ALL
    SELECT p.id, p.code, p.parent_id, up.n + 1 FROM up JOIN grids p ON p.id = up.parent_id
    WHERE up.n < :level
)
SELECT code FROM up ORDER BY n DESC LIMIT 1
"""


def _regrid(
    conn: Connection, incident_id: int, code: str | None, account: Account, note: str
) -> tuple[dict[str, object], str]:
    """The columns of an incident moved to its candidate grid ``code``, and the event's note.

    The candidates are the grids the report's accuracy circle reached, as they were then; the
    incident goes to the current grid of the chosen code. The queue stays at the incident's
    escalation level, now above the new grid; an incident dispatched to its grid's worker goes
    to the new grid's.

    Raises:
        InvalidInput: no grid given, or not one of the incident's candidate grids.
        Forbidden: the grid is outside the account's areas.
    """
    if not code:
        raise InvalidInput("'regrid' needs the grid to move the incident to", field="grid")
    row = conn.execute(
        text(
            "SELECT g.code AS old, i.escalation_level AS level, i.assignee, i.flags, "
            "ARRAY(SELECT c.code FROM grids c WHERE c.id = ANY(i.candidate_grid_ids) "
            "ORDER BY c.code) AS codes, "
            "(SELECT n.id FROM grids n WHERE n.code = :code AND n.valid_to IS NULL "
            "AND n.code IN (SELECT c.code FROM grids c WHERE c.id = ANY(i.candidate_grid_ids))) "
            "AS new_id "
            "FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE i.id = :i"
        ),
        {"i": incident_id, "code": code},
    ).one()
    if row.new_id is None:
        raise InvalidInput(
            f"grid '{code}' is not one of incident {incident_id}'s candidate grids "
            f"({', '.join(row.codes) or 'none'})",
            field="grid",
        )
    if not account.covers(code):
        raise Forbidden(f"grid {code} is outside this account's areas")
    if code == row.old and "boundary" not in row.flags:
        raise InvalidInput(f"incident {incident_id} is in grid {code} already", field="grid")
    queue = conn.execute(text(_REGRID_SQL), {"grid_id": row.new_id, "level": row.level})
    assignee = f"grid:{code}" if row.assignee == f"grid:{row.old}" else row.assignee
    what = f"{row.old} → {code}" if code != row.old else f"{code} confirmed"
    return (
        {"grid_id": row.new_id, "queue_area": queue.scalar_one(), "assignee": assignee},
        f"{what}: {note}" if note.strip() else what,
    )


def _department(conn: Connection, name: str, category: str) -> int:
    row = conn.execute(
        text("SELECT id, :c = ANY(categories) FROM departments WHERE name = :n AND active"),
        {"n": name, "c": category},
    ).first()
    if row is None:
        raise InvalidInput(f"unknown or inactive department '{name}'", field="department")
    if not row[1]:
        raise InvalidInput(
            f"department '{name}' does not handle category '{category}'", field="department"
        )
    return int(row[0])


ESCALATE_SQL = """
WITH due AS (
    SELECT i.id, i.state, i.queue_area, c.accept_minutes, c.resolve_minutes,
           {why} AS why
    FROM incidents i JOIN incident_categories c ON c.key = i.category
    WHERE {where}
    FOR UPDATE OF i
),
up AS (
    SELECT d.*, p.code AS parent_code
    FROM due d
    JOIN grids g ON g.code = d.queue_area AND g.valid_to IS NULL
    JOIN grids p ON p.id = g.parent_id
),
moved AS (
    UPDATE incidents i SET
        escalation_level = i.escalation_level + 1,
        queue_area = up.parent_code,
        accept_due = CASE WHEN up.why = 'accept'
            THEN CAST(:now AS timestamptz) + make_interval(mins => up.accept_minutes) ELSE i.accept_due END,
        resolve_due = CASE WHEN up.why = 'resolve'
            THEN CAST(:now AS timestamptz) + make_interval(mins => up.resolve_minutes) ELSE i.resolve_due END,
        updated_at = :now
    FROM up WHERE i.id = up.id
    RETURNING i.id, i.state, i.queue_area, i.escalation_level, up.why
),
ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_state, to_state, note)
    SELECT id, :now, :actor, 'escalate', state, state,
           concat(CAST(:reason_prefix AS text), why, ' → level ', escalation_level, ' queue ', queue_area)
    FROM moved
)
SELECT id, queue_area, escalation_level FROM moved ORDER BY id
"""
_OVERDUE_ACCEPT = "i.state = 'reported' AND i.accept_due <= :now"
_OVERDUE = f"i.state IN {OPEN_STATES!r} AND (({_OVERDUE_ACCEPT}) OR i.resolve_due <= :now)"


def escalate_overdue(
    conn: Connection, now: datetime, actor: str = ESCALATION_ACTOR
) -> list[tuple[int, str, int]]:
    """Move every open incident past a time limit one level up the hierarchy.

    An incident not accepted within its category's accept limit, or not resolved within its
    resolve limit, goes from the grid's queue to the community's, then the street's, then the
    district's; each step resets the missed limit from ``now`` and is recorded on the timeline.

    Args:
        conn: connection in the caller's transaction.
        now: the current time (injectable for tests and replays).
        actor: who is recorded as escalating.

    Returns:
        (incident id, new queue area code, new level) of each escalated incident.
    """
    why = f"CASE WHEN {_OVERDUE_ACCEPT} THEN 'accept' ELSE 'resolve' END"
    sql = ESCALATE_SQL.format(why=why, where=_OVERDUE)
    rows = conn.execute(text(sql), {"now": now, "actor": actor, "reason_prefix": "overdue: "}).all()
    if rows:
        record(conn, actor, "incident.escalate", "incidents", None, ids=[r[0] for r in rows])
    return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


def escalate_one(
    conn: Connection, incident_id: int, *, actor: str, reason: str, now: datetime
) -> None:
    """Move one incident a level up at once (a major incident leaves the grid's queue)."""
    sql = ESCALATE_SQL.format(why="CAST(:reason AS text)", where="i.id = :id")
    params = {"now": now, "actor": actor, "id": incident_id, "reason": reason, "reason_prefix": ""}
    conn.execute(text(sql), params)


COLUMNS = """
i.id, i.state, i.category, i.description, ST_X(i.location) AS lon, ST_Y(i.location) AS lat,
i.accuracy_m, i.coord_system, i.orig_lon, i.orig_lat, g.code AS grid, i.flags, i.duplicate_of,
i.major, i.escalation_level, i.queue_area, i.accept_due, i.resolve_due, i.rating, i.reporter,
i.assignee, d.name AS department, i.reported_at, i.updated_at,
ARRAY(SELECT c.code FROM grids c WHERE c.id = ANY(i.candidate_grid_ids) ORDER BY c.code)
    AS candidates,
(SELECT e.note FROM incident_events e WHERE e.incident_id = i.id ORDER BY e.id DESC LIMIT 1)
    AS last_note, i.media_url
FROM incidents i JOIN grids g ON g.id = i.grid_id LEFT JOIN departments d ON d.id = i.department_id
"""
_IN_AREAS = (
    "(CAST(:areas AS text[]) IS NULL OR EXISTS "
    "(SELECT 1 FROM unnest(CAST(:areas AS text[])) a WHERE starts_with({col}, a)))"
)
QUEUES = {
    "grid": f"i.escalation_level = 0 AND i.state IN {OPEN_STATES!r}",
    "dispatch": "i.state <> 'closed'",
    "overdue": _OVERDUE,
}


def due_at(state: str, accept_due: datetime | None, resolve_due: datetime | None) -> Any:
    """The time limit an incident runs against now: past it, the incident is overdue.

    The rule of ``_OVERDUE`` (the ``overdue`` queue and the escalation) for one incident, so
    that clients compare one time with their clock instead of restating the rule: the accept
    limit while it is reported, and the resolve limit while it is open; none once resolved.
    """
    if state not in OPEN_STATES:
        return None
    dues = [d for d in (accept_due if state == "reported" else None, resolve_due) if d]
    return min(dues) if dues else None


def shape(row: Any, names: bool = True) -> dict[str, Any]:
    """An incident row as JSON-able data; without ``names`` the reporter and worker are hidden.

    ``due_at`` is the limit the incident runs against now (:func:`due_at`).
    """
    out = dict(row)
    out["due_at"] = due_at(out["state"], out["accept_due"], out["resolve_due"])
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
) -> list[dict[str, Any]]:
    """Incidents in ``areas`` (None: all) matching the filters, by id, ``limit`` after ``after``.

    Queues: ``grid`` (open, still in the grid's own queue), ``dispatch`` (not closed, the
    queue area within ``areas`` — escalated incidents leave a lower dispatcher's queue),
    ``overdue`` (open and past a time limit at ``now``).

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
    x0, y0, x1, y1 = bbox or (0.0, 0.0, 0.0, 0.0)
    sql = f"SELECT {COLUMNS} WHERE {' AND '.join(where)} ORDER BY i.id LIMIT :limit"
    rows = conn.execute(
        text(sql),
        {"after": after, "areas": list(areas) if areas is not None else None, "now": now,
         "state": state, "category": category, "area": area, "since": since, "limit": limit,
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
