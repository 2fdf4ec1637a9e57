"""The resident follows a matter by its private link, rates it, or says it is not fixed (评事).

What the link answers is a public answer: whoever holds the link sees it. So it carries no
phone number and no name — not the resident's, not a worker's, not a dispatcher's — and of the
incident's timeline only what happened and when (as :func:`gridgeo.incidents.public.timelines`
gives the public), the place rounded as for the public (:func:`gridgeo.incidents.public.coarsen`).

When the incident closes, the link asks for a rating (1–5) and a comment; the incident's
``resident_rating`` is the mean of its residents' ratings (several matters may follow one
incident), which the evaluation's satisfaction uses before the dispatcher's rating at closing
(:mod:`gridgeo.evaluation.query`). Within :data:`~gridgeo.incidents.policy.NOT_FIXED_WINDOW` of
closing, "not fixed" reopens it with the resident's note: a ``not_fixed`` entry, counted as
rework (:data:`~gridgeo.incidents.policy.REOPENING`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import Conflict, InvalidInput, NotFound
from gridgeo.incidents.facts import set_sql
from gridgeo.incidents.flow import add_event, check_transition
from gridgeo.incidents.policy import (
    MAX_DESCRIPTION,
    NOT_FIXED_WINDOW,
    RESIDENT,
    RESIDENT_RULES,
)
from gridgeo.incidents.public import coarsen, timelines
from gridgeo.residents.matters import actor, digest

MATTER_SQL = """
SELECT m.id, m.tracking, m.state, m.category, m.description, m.area_code, m.submitted_at,
    m.decided_at, m.reason, m.incident_id, m.rating, m.comment, m.rated_at, m.not_fixed_at,
    ST_X(m.location) AS lon, ST_Y(m.location) AS lat,
    (SELECT count(*) FROM resident_matter_photos p WHERE p.matter_id = m.id) AS photos,
    (SELECT name FROM current_grids WHERE code = m.area_code) AS area_name,
    i.state AS incident_state, i.closed_at, i.reported_at AS incident_reported_at
FROM resident_matters m LEFT JOIN incidents i ON i.id = m.incident_id
WHERE m.token_hash = :h
"""


def _find(conn: Connection, token: str, lock: bool = False) -> Any:
    row = conn.execute(
        text(MATTER_SQL + (" FOR UPDATE OF m" if lock else "")), {"h": digest(token)}
    ).mappings().first()  # fmt: skip
    if row is None:
        raise NotFound("no matter has this link; check that it was copied whole", field="token")
    return row


def view(conn: Connection, token: str, now: datetime) -> dict[str, Any]:
    """What the private link shows: the matter, the decision, the public timeline, what to do.

    Raises:
        NotFound: no matter has this token.
    """
    m = _find(conn, token)
    out: dict[str, Any] = {k: m[k] for k in (
        "tracking", "state", "category", "description", "area_code", "area_name",
        "submitted_at", "decided_at", "reason", "rating", "comment", "rated_at", "not_fixed_at",
        "photos", "incident_state", "closed_at")}  # fmt: skip
    out["lon"], out["lat"] = coarsen(m["lon"], m["lat"]) if m["lon"] is not None else (None, None)
    steps: list[dict[str, Any]] = [{"at": m["submitted_at"], "action": "submit",
                                    "to_state": "submitted"}]  # fmt: skip
    if m["state"] in ("merged", "rejected"):  # an accepted one: the incident's accept says it
        steps.append({"at": m["decided_at"], "action": m["state"], "to_state": m["state"]})
    if m["incident_id"] is not None:
        events = timelines(conn, [int(m["incident_id"])], names=False, notes=False)
        # the incident's own report (by the dispatcher, for the resident) is the acceptance
        steps += [e for e in events[int(m["incident_id"])] if e["action"] != "report"]
    steps.sort(key=lambda e: e["at"])
    out["timeline"] = steps
    closed = m["incident_state"] == "closed"
    out["can_rate"] = closed and m["rating"] is None
    until = m["closed_at"] + NOT_FIXED_WINDOW if closed and m["closed_at"] else None
    out["not_fixed_until"] = until
    out["can_say_not_fixed"] = until is not None and now < until
    return out


def _lock_incident(conn: Connection, incident_id: int) -> Any:
    return conn.execute(
        text("SELECT state, closed_at FROM incidents WHERE id = :i FOR UPDATE"),
        {"i": incident_id},
    ).one()


def rate(conn: Connection, token: str, *, rating: int, comment: str, now: datetime) -> None:
    """The resident's rating (1–5) and comment on a closed matter.

    Raises:
        NotFound: no such link. InvalidInput: a rating out of 1–5, a comment too long.
        Conflict: the matter is not closed, or rated already.
    """
    if not 1 <= rating <= 5:
        raise InvalidInput("the rating is 1 to 5", code="rating_range", zh="评价为 1 至 5",
                           field="rating")  # fmt: skip
    if len(comment) > MAX_DESCRIPTION:
        raise InvalidInput(f"the comment is longer than {MAX_DESCRIPTION} characters",
                           field="comment")  # fmt: skip
    m = _find(conn, token, lock=True)
    if m["incident_id"] is None:
        raise Conflict("only a matter that was accepted and closed can be rated",
                       code="not_closed", zh="事项尚未办结，暂不能评价", field="rating")  # fmt: skip
    inc = int(m["incident_id"])
    state = _lock_incident(conn, inc).state
    if state != "closed":
        raise Conflict("the matter is not closed yet; rate it once it is", code="not_closed",
                       zh="事项尚未办结，办结后才能评价", field="rating")  # fmt: skip
    if m["rating"] is not None:
        raise Conflict("this matter is rated already", code="rated", zh="该事项已评价",
                       field="rating")  # fmt: skip
    check_transition("rate", state, RESIDENT, RESIDENT_RULES)
    conn.execute(
        text(
            "UPDATE resident_matters SET rating = :r, comment = :c, rated_at = :now WHERE id = :m"
        ),
        {"r": rating, "c": comment.strip() or None, "now": now, "m": m["id"]},
    )
    conn.execute(
        text(
            "UPDATE incidents SET resident_rating = (SELECT avg(rating) FROM resident_matters "
            "WHERE incident_id = :i AND rating IS NOT NULL), updated_at = :now WHERE id = :i"
        ),
        {"i": inc, "now": now},
    )
    note = f"{rating}/5" + (f": {comment.strip()}" if comment.strip() else "")
    add_event(conn, inc, actor=actor(m["tracking"]), action="rate", from_state=state,
              to_state=state, note=note, at=now)  # fmt: skip


def not_fixed(conn: Connection, token: str, *, note: str, now: datetime) -> None:
    """Reopen the closed incident with the resident's note (rework), within the window.

    Raises:
        NotFound: no such link. InvalidInput: no note. Conflict: not closed, or the window
            has passed.
    """
    m = _find(conn, token, lock=True)
    if m["incident_id"] is None:
        raise Conflict("only a matter that was accepted and closed can be reopened",
                       code="not_closed", zh="事项尚未办结", field="note")  # fmt: skip
    inc = int(m["incident_id"])
    row = _lock_incident(conn, inc)
    target = check_transition("not_fixed", row.state, RESIDENT, RESIDENT_RULES)
    if not note.strip():
        raise InvalidInput("say what is still wrong", code="note_required",
                           zh="请说明仍未解决的情况", field="note")  # fmt: skip
    if row.closed_at is None or now >= row.closed_at + NOT_FIXED_WINDOW:
        days = NOT_FIXED_WINDOW.days
        raise Conflict(
            f"'not fixed' may be said within {days} days of closing; call the hotline instead",
            code="window_passed",
            zh=f"结案 {days} 天内才能反映未解决，请拨打热线",
            field="note",
        )
    by = actor(m["tracking"])
    conn.execute(
        text(
            "UPDATE incidents SET state = :s, updated_at = :now, updated_by = :by, rating = NULL, "  # noqa: S608
            f"resident_rating = NULL{set_sql('not_fixed')} WHERE id = :i"
        ),
        {"s": target, "now": now, "by": by, "i": inc},
    )
    # the round's ratings are void: each resident rates again when it closes again
    conn.execute(
        text("UPDATE resident_matters SET rating = NULL, rated_at = NULL WHERE incident_id = :i"),
        {"i": inc},
    )
    conn.execute(
        text("UPDATE resident_matters SET not_fixed_at = :now WHERE id = :m"),
        {"now": now, "m": m["id"]},
    )
    add_event(conn, inc, actor=by, action="not_fixed", from_state=row.state, to_state=target,
              note=note.strip(), at=now)  # fmt: skip
