"""The incident state machine: actions on one incident, recorded on its timeline.

Who may take which action from which state is :data:`gridgeo.incidents.policy.RULES`; this
module applies it: locks the incident, checks the rule and the action's own needs (a note, a
rating, a department that handles the category, a candidate grid), changes the row and records
the event (and the audit entry). A regrid moves the incident through
:func:`gridgeo.incidents.moves.move_incidents`, as a plan commit does. The same ``UPDATE``
writes the times the evaluation counts by (:func:`gridgeo.incidents.facts.set_sql`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.audit import record
from gridgeo.errors import Conflict, Forbidden, InvalidInput, NotFound, denied
from gridgeo.incidents.escalation import escalate_one
from gridgeo.incidents.facts import set_sql
from gridgeo.incidents.handlers import handler_of
from gridgeo.incidents.moves import move_incidents
from gridgeo.incidents.photos import Photo, PhotoStore, attach
from gridgeo.incidents.policy import (
    ACTION_WORDS,
    MATTER_STATE_WORDS,
    RULES,
    STATE_WORDS,
    Rule,
    resolve_limit_sql,
)


def check_pending(action: str, pending: bool) -> None:
    """Refuse an extension decision with no request waiting, or a second request.

    Raises:
        Conflict: the action needs a pending extension request and there is none, or the
            other way round.
    """
    wanted = RULES[action].pending
    if wanted is True and not pending:
        raise Conflict(f"cannot {action}: no extension was asked for", field="action")
    if wanted is False and pending:
        raise Conflict(
            f"cannot {action}: an extension request is waiting for a decision", field="action"
        )


def check_transition(action: str, state: str, role: str, rules: Mapping[str, Rule] = RULES) -> str:
    """The state after ``action`` from ``state`` by ``role`` (under ``rules``: the incidents').

    Raises:
        InvalidInput: an unknown action. Forbidden: the role may not take it.
        Conflict: the action is not allowed from the current state.
    """
    rule = rules.get(action)
    if rule is None:
        raise InvalidInput(
            f"unknown action '{action}'; actions are: {', '.join(rules)}", field="action"
        )
    if role not in rule.roles:
        raise denied()
    if state not in rule.sources:
        zh = "、".join(_word(x) for x in rule.sources)
        raise Conflict(
            f"cannot {action} an incident that is {state}; allowed from: {', '.join(rule.sources)}",
            code="wrong_state",
            zh=f"事件{_word(state)}，不能{ACTION_WORDS[action][0]}；只能在{zh}时进行",
            field="action",
            state=state,
        )
    return rule.target or state


def _word(state: str) -> str:
    return (STATE_WORDS.get(state) or MATTER_STATE_WORDS[state])[0]


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


LOCK_SQL = (
    "SELECT i.state, g.code, i.category, i.escalation_level, "  # noqa: S608 - constants
    "i.extension_requested_at IS NOT NULL AS pending, "
    f"{resolve_limit_sql('i')} AS resolve_limit, g.name AS grid_name FROM incidents i "
    "JOIN grids g ON g.id = i.grid_id WHERE i.id = :i FOR UPDATE OF i"
)


def lock_incident(conn: Connection, incident_id: int, account: Account) -> Any:
    """Lock an incident the account may act on.

    Returns:
        A row of ``state``, ``code`` (of its grid), ``category``, ``escalation_level``,
        ``pending`` (an extension request waits) and ``resolve_limit`` (in force).

    Raises:
        NotFound: no such incident (admin). Forbidden: outside the account's areas (or missing,
            for a scoped account, so that the answer gives nothing away).
    """
    row = conn.execute(
        text(LOCK_SQL),
        {"i": incident_id},
    ).first()
    if row is None and account.role == "admin":
        raise NotFound(f"no incident {incident_id}", field="id")
    if row is None or not account.covers(row[1]):
        raise denied()
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
    until: datetime | None = None,
    photos: Sequence[Photo] = (),
    store: PhotoStore | None = None,
    worker: int | None = None,
) -> None:
    """Take ``action`` on an incident as ``account``, recording who, when and the note.

    ``until`` is the new resolve limit of an approved extension (asked for, it is the limit
    the handler proposes, recorded in the note). A dispatch names its handler by ``worker``
    (a named worker's id) or ``assignee`` (a worker's name, an account's login), one of the
    grid's (:mod:`gridgeo.incidents.handlers`); with neither, the department or the grid's
    workers as a whole (``grid:<code>``).

    Photos (checked by :func:`gridgeo.incidents.photos.check_photos`) are stored in ``store`` and
    recorded on the action's timeline entry, e.g. the photo of a resolution.

    Raises:
        Forbidden: the incident is outside the account's areas (or does not exist, for a
            scoped account), or the role may not take the action. NotFound: no such incident
            (admin). Conflict: not allowed from the current state, or an extension decision
            with no request waiting (a request with one). InvalidInput: a missing note, a
            close with neither a rating nor a note, an unknown department or one that does
            not handle the category, a grid to regrid to that is not one of the incident's
            candidate grids, an extension approved without a new limit after the one in force
            and after now, a handler who is not one of the grid's workers.
    """
    row = lock_incident(conn, incident_id, account)
    state, grid_code, category, level = row[:4]
    target = check_transition(action, state, account.role)
    check_pending(action, row.pending)
    if photos and store is None:
        raise ValueError("photos need a store")
    if RULES[action].needs_note and not note.strip():
        raise InvalidInput(
            f"'{action}' needs a note saying what was done",
            code="note_required",
            zh=f"{ACTION_WORDS[action][0]}须填写处置情况说明",
            field="note",
        )
    values: dict[str, object] = {"i": incident_id, "s": target, "now": now, "by": account.name}
    sets = "state = :s, updated_at = :now, updated_by = :by" + set_sql(action)
    if action == "close":
        _check_no_open_tasks(conn, incident_id)
        # 评事: the resident's rating, or, when the resident could not be reached or would not
        # rate, a note saying so (the evaluation counts the share rated at all)
        if rating is None and not note.strip():
            raise InvalidInput(
                "closing needs the resident's rating, 1 to 5, or a note saying why there is none",
                code="rating_required",
                zh="结案须填写群众评价（1 至 5），或在说明中写明未评价的原因",
                field="rating",
            )
        if rating is not None and not 1 <= rating <= 5:
            raise InvalidInput(
                "the resident's rating is 1 to 5",
                code="rating_range",
                zh="群众评价为 1 至 5",
                field="rating",
            )
        sets += ", rating = :rating"
        values["rating"] = rating
    elif action == "dispatch":
        sets += ", department_id = :dep, assignee = :who"
        values["dep"] = _department(conn, department, category) if department else None
        named = worker is not None or bool(assignee and assignee.strip())
        values["who"] = (
            handler_of(conn, grid_code, row.grid_name, worker=worker, assignee=assignee)
            if named
            else (department or f"grid:{grid_code}")
        )
    elif action == "reopen":
        sets += ", rating = NULL"
    elif action == "mark_major":
        sets += ", major = true"
    elif action == "regrid":
        new_grid = _regrid_target(conn, incident_id, grid, account)
        sets += ", flags = array_remove(flags, 'boundary')"
    elif action == "request_extension":
        sets += ", extension_requested_at = :now"
        note = _with_limit(until, note)
    elif action == "approve_extension":
        _check_new_limit(until, row.resolve_limit, now)
        sets += ", extended_due = :until, level_resolve_due = :until, extension_requested_at = NULL"
        values["until"] = until
        note = _with_limit(until, note)
    elif action in ("refuse_extension", "resolve"):
        sets += ", extension_requested_at = NULL"
    elif action == "return":
        sets += ", department_id = NULL, assignee = NULL, extension_requested_at = NULL"
    conn.execute(text(f"UPDATE incidents SET {sets} WHERE id = :i"), values)  # noqa: S608
    if action == "regrid":
        event_id = move_incidents(conn, {incident_id: new_grid}, actor=account.name,
                                  action=action, now=now, note=note)[incident_id]  # fmt: skip
    else:
        event_id = add_event(conn, incident_id, actor=account.name, action=action,
                             from_state=state, to_state=target, note=note, at=now)  # fmt: skip
    if photos and store is not None:
        attach(conn, store, incident_id, event_id, photos, taken_by=account.name, at=now)
    if action == "mark_major" and level == 0:
        escalate_one(conn, incident_id, actor=account.name, reason="major", now=now)


def _check_no_open_tasks(conn: Connection, incident_id: int) -> None:
    """Refuse to close a decided matter while a linked task (联动办事) is open."""
    left = conn.execute(
        text("SELECT array_agg(id ORDER BY id) FROM incidents WHERE parent_id = :i "
             "AND state <> 'closed'"),
        {"i": incident_id},
    ).scalar()  # fmt: skip
    if left:
        ids = ", ".join(f"#{i}" for i in left)
        raise Conflict(
            f"the linked tasks {ids} are not closed yet; close them first",
            code="tasks_open",
            zh=f"联动任务 {ids} 尚未结案，须先结案",
            field="action",
        )


def _with_limit(until: datetime | None, note: str) -> str:
    """The note of an extension: the limit asked for or granted, then the words given."""
    if until is None:
        return note
    limit = f"→ {until.isoformat(timespec='minutes')}"
    return f"{limit}: {note}" if note.strip() else limit


def _check_new_limit(until: datetime | None, limit: datetime | None, now: datetime) -> None:
    """An approved extension's limit: given, later than the limit in force and than now.

    Raises:
        InvalidInput: no limit, or one not later than both.
    """
    if until is None:
        raise InvalidInput("'approve_extension' needs the new limit ('until')", field="until")
    if until.tzinfo is None:
        raise InvalidInput("'until' needs a time zone, e.g. 2026-12-01T18:00+08:00", field="until")
    if until <= now or (limit is not None and until <= limit):
        raise InvalidInput(
            f"the new limit {until.isoformat()} must be later than now and than the limit in "
            f"force ({limit.isoformat() if limit else 'none'})",
            field="until",
        )


def _regrid_target(conn: Connection, incident_id: int, code: str | None, account: Account) -> int:
    """The current grid of the candidate ``code`` an incident is to move to (regrid).

    The candidates are the grids the report's accuracy circle reached, as they were then; the
    incident goes to the current grid of the chosen code (its own: confirmed).

    Raises:
        InvalidInput: no grid given, or not one of the incident's candidate grids.
        Forbidden: the grid is outside the account's areas.
    """
    if not code:
        raise InvalidInput("'regrid' needs the grid to move the incident to", field="grid")
    row = conn.execute(
        text(
            "SELECT g.code AS old, i.flags, "
            "ARRAY(SELECT c.code FROM grids c WHERE c.id = ANY(i.candidate_grid_ids) "
            "ORDER BY c.code) AS codes, "
            "(SELECT n.id FROM current_grids n WHERE n.code = :code "
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
            code="not_a_candidate",
            zh=f"网格 {code} 不是事件 {incident_id} 的候选网格（{'、'.join(row.codes) or '无'}）",
            field="grid",
        )
    if not account.covers(code):
        raise Forbidden(
            f"grid {code} is outside this account's areas",
            code="outside_areas",
            zh=f"网格 {code} 不在本账号的管辖范围内",
        )
    if code == row.old and "boundary" not in row.flags:
        raise InvalidInput(
            f"incident {incident_id} is in grid {code} already",
            code="same_grid",
            zh=f"事件 {incident_id} 已在网格 {code} 内",
            field="grid",
        )
    return int(row.new_id)


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
