"""Party members and volunteers claim requests (党员领单).

The desk opens an accepted request to volunteers (help an elderly resident, a clean-up); the
volunteers of its community (accounts of the role ``volunteer``, scoped to a community) see the
open requests on a list and a map, one claims it — it is then in progress, theirs — and reports
it done with a note, which resolves it for the desk to verify and close as any incident. Who may
take each step from which state is :data:`gridgeo.incidents.policy.VOLUNTEER_RULES`; each step
is a timeline entry. Volunteers never see who reported a request (:func:`~gridgeo.incidents.
policy.sees_names`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.errors import Conflict, InvalidInput, denied
from gridgeo.incidents.facts import set_sql
from gridgeo.incidents.flow import add_event, check_transition, lock_incident
from gridgeo.incidents.policy import ACTION_WORDS, OPEN_STATES, VOLUNTEER_RULES, sql_list

LIST_SQL = f"""
SELECT i.id, i.category, c.label_zh, c.label_en, i.description, i.state, i.volunteer,
    ST_X(i.location) AS lon, ST_Y(i.location) AS lat, g.code AS grid, g.name AS grid_name,
    i.reported_at, i.updated_at
FROM incidents i JOIN grids g ON g.id = i.grid_id
JOIN incident_categories c ON c.key = i.category
WHERE i.volunteer_open AND i.state IN ({sql_list(OPEN_STATES)})
  AND (i.volunteer IS NULL OR i.volunteer = :me)
  AND (CAST(:areas AS text[]) IS NULL OR EXISTS (
      SELECT FROM unnest(CAST(:areas AS text[])) a WHERE starts_with(g.code, a)))
ORDER BY (i.volunteer IS NULL), i.reported_at LIMIT 500
"""  # noqa: S608 - constants


def requests(conn: Connection, account: Account) -> list[dict[str, Any]]:
    """The open requests of the account's areas not claimed by another; its own claims first."""
    areas = None if account.role == "admin" else list(account.areas)
    rows = conn.execute(text(LIST_SQL), {"me": account.name, "areas": areas}).mappings()
    return [dict(r) for r in rows]


def act(conn: Connection, incident_id: int, *, account: Account, action: str, now: datetime,
        note: str = "") -> str:  # fmt: skip
    """Open a request to volunteers, claim it, or report it done; the state after.

    Raises:
        Forbidden: the role may not, or outside the account's areas. Conflict: the wrong state,
            already open, claimed by another. InvalidInput: done without a note.
    """
    row = lock_incident(conn, incident_id, account)
    state = str(row[0])
    target = check_transition(action, state, account.role, VOLUNTEER_RULES)
    info = conn.execute(text("SELECT volunteer_open, volunteer FROM incidents WHERE id = :i"),
                        {"i": incident_id}).one()  # fmt: skip
    if VOLUNTEER_RULES[action].needs_note and not note.strip():
        raise InvalidInput("say what was done", code="note_required",
                           zh=f"{ACTION_WORDS[action][0]}须填写办理情况", field="note")  # fmt: skip
    values: dict[str, Any] = {"i": incident_id, "s": target, "now": now, "by": account.name}
    sets = "state = :s, updated_at = :now, updated_by = :by" + set_sql(action)
    if action == "open_to_volunteers":
        if info.volunteer_open:
            raise Conflict(f"incident {incident_id} is open to volunteers already",
                           code="already_open", zh="该事项已开放领单", field="action")  # fmt: skip
        sets += ", volunteer_open = true"
    elif action == "claim":
        if not info.volunteer_open:
            raise Conflict(f"incident {incident_id} is not open to volunteers", code="not_open",
                           zh="该事项未开放党员领单", field="action")  # fmt: skip
        if info.volunteer is not None:
            raise Conflict(f"incident {incident_id} is claimed already", code="claimed",
                           zh="该事项已被认领", field="action")  # fmt: skip
        sets += ", volunteer = :by, assignee = :by"
    elif action == "volunteer_done" and info.volunteer != account.name:
        raise denied()
    conn.execute(text(f"UPDATE incidents SET {sets} WHERE id = :i"), values)  # noqa: S608
    add_event(conn, incident_id, actor=account.name, action=action, from_state=state,
              to_state=target, note=note.strip(), at=now)  # fmt: skip
    return target
