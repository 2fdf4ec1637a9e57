"""Matters that need deciding (网格议事 · 会议定事 · 联动办事), step by step on the timeline.

Some matters are decisions, not repairs — an elevator for an old building, parking, a fee. The
desk marks such a matter for deliberation; the grid records its discussions (the notes and who
took part); a community meeting records its decision (date, attendance, for / against /
abstain, the decision); the desk links the tasks that carry it out — incidents of their own
(``parent_id``), worked and closed as any incident — and the matter itself closes only when
they are closed (:func:`gridgeo.incidents.flow.transition` refuses it before). Residents who
raised it rate the result by their link as for any matter. Who may take each step from which
state is :data:`gridgeo.incidents.policy.DELIBERATION_RULES`; each step is a timeline entry.
The evaluation counts the matters decided and their ratings (:mod:`gridgeo.evaluation.figures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.errors import Conflict, InvalidInput
from gridgeo.incidents.flow import add_event, check_transition, lock_incident, transition
from gridgeo.incidents.policy import ACTION_WORDS, DELIBERATION_RULES, MAX_DESCRIPTION
from gridgeo.incidents.report import Report, report_incident


@dataclass(frozen=True)
class Decision:
    """A community meeting's decision (会议定事)."""

    held_on: date
    attendance: int
    votes_for: int
    votes_against: int
    abstain: int
    decision: str


def _step(conn: Connection, incident_id: int, account: Account, action: str) -> str:
    """Lock the incident, check the step; its state."""
    row = lock_incident(conn, incident_id, account)
    state = str(row[0])
    check_transition(action, state, account.role, DELIBERATION_RULES)
    if action != "deliberate":
        marked = conn.execute(
            text("SELECT deliberation FROM incidents WHERE id = :i"), {"i": incident_id}
        ).scalar_one()
        if not marked:
            raise Conflict(
                f"incident {incident_id} is not marked for deliberation; mark it first",
                code="not_deliberation",
                zh=f"事件 {incident_id} 未标为议事事项，请先标记",
                field="action",
            )
    return state


def mark(conn: Connection, incident_id: int, *, account: Account, now: datetime,
         note: str = "") -> None:  # fmt: skip
    """Mark a matter for deliberation (标为议事)."""
    state = _step(conn, incident_id, account, "deliberate")
    conn.execute(
        text("UPDATE incidents SET deliberation = true, updated_at = :now, updated_by = :by "
             "WHERE id = :i"),
        {"i": incident_id, "now": now, "by": account.name},
    )  # fmt: skip
    add_event(conn, incident_id, actor=account.name, action="deliberate", from_state=state,
              to_state=state, note=note, at=now)  # fmt: skip


def discuss(conn: Connection, incident_id: int, *, account: Account, now: datetime,
            participants: Sequence[str], notes: str) -> None:  # fmt: skip
    """Record a grid discussion: its notes and who took part (网格议事).

    Raises:
        InvalidInput: no notes, or nobody took part.
    """
    state = _step(conn, incident_id, account, "discuss")
    people = [p.strip() for p in participants if p.strip()]
    if not notes.strip() or not people:
        raise InvalidInput(
            "a discussion needs its notes and who took part",
            code="discussion_incomplete",
            zh="议事记录须填写议事内容和参与人",
            field="notes" if not notes.strip() else "participants",
        )
    note = f"{'、'.join(people)}: {notes.strip()}"
    if len(note) > MAX_DESCRIPTION:
        raise InvalidInput(f"the notes are longer than {MAX_DESCRIPTION} characters", field="notes")
    add_event(conn, incident_id, actor=account.name, action="discuss", from_state=state,
              to_state=state, note=note, at=now)  # fmt: skip


def decide(conn: Connection, incident_id: int, *, account: Account, now: datetime,
           decision: Decision) -> int:  # fmt: skip
    """Record the community meeting's decision (会议定事); its id.

    Raises:
        InvalidInput: no decision text, negative counts, or more votes than people present.
    """
    state = _step(conn, incident_id, account, "decide")
    d = decision
    if not d.decision.strip():
        raise InvalidInput("the decision's text is needed", code="decision_required",
                           zh="须填写会议决定内容", field="decision")  # fmt: skip
    counts = (d.attendance, d.votes_for, d.votes_against, d.abstain)
    if min(counts) < 0 or d.votes_for + d.votes_against + d.abstain > d.attendance:
        raise InvalidInput(
            f"votes ({d.votes_for} for, {d.votes_against} against, {d.abstain} abstaining) "
            f"must be counts and add up to at most the attendance ({d.attendance})",
            code="votes_exceed_attendance",
            zh=f"赞成 {d.votes_for}、反对 {d.votes_against}、弃权 {d.abstain} 之和不能超过到会人数 "
            f"{d.attendance}",
            field="attendance",
        )
    new_id = conn.execute(
        text(
            "INSERT INTO meeting_decisions (incident_id, held_on, attendance, votes_for, "
            "votes_against, abstain, decision, recorded_by, at) VALUES (:i, :d, :n, :f, :a, :x, "
            ":text, :by, :now) RETURNING id"
        ),
        {"i": incident_id, "d": d.held_on, "n": d.attendance, "f": d.votes_for,
         "a": d.votes_against, "x": d.abstain, "text": d.decision.strip(), "by": account.name,
         "now": now},
    ).scalar_one()  # fmt: skip
    note = (f"{d.held_on.isoformat()} · {d.attendance} · {d.votes_for}/{d.votes_against}/"
            f"{d.abstain}: {d.decision.strip()}")  # fmt: skip
    add_event(conn, incident_id, actor=account.name, action="decide", from_state=state,
              to_state=state, note=note, at=now)  # fmt: skip
    return int(new_id)


def link_task(conn: Connection, incident_id: int, *, account: Account, now: datetime,
              category: str, description: str, snap_m: float) -> int:  # fmt: skip
    """A linked task (联动办事): a new incident at the matter's place, the matter its parent.

    Raises:
        Conflict: no meeting decision recorded yet.
    """
    state = _step(conn, incident_id, account, "link_task")
    row = conn.execute(
        text("SELECT ST_X(location) AS lon, ST_Y(location) AS lat, EXISTS (SELECT FROM "
             "meeting_decisions m WHERE m.incident_id = i.id) AS decided FROM incidents i "
             "WHERE id = :i"),
        {"i": incident_id},
    ).one()  # fmt: skip
    if not row.decided:
        raise Conflict(
            "record the meeting's decision before linking the tasks that carry it out",
            code="not_decided",
            zh="请先记录会议决定，再派发联动任务",
            field="action",
        )
    r = Report(float(row.lon), float(row.lat), category, description)
    task = report_incident(conn, r, account=account, now=now, snap_m=snap_m).id
    conn.execute(text("UPDATE incidents SET parent_id = :p WHERE id = :t"),
                 {"p": incident_id, "t": task})  # fmt: skip
    transition(conn, task, account=account, action="accept", now=now)  # the desk's own task
    add_event(conn, incident_id, actor=account.name, action="link_task", from_state=state,
              to_state=state, note=f"#{task} {description}".strip(), at=now)  # fmt: skip
    return task


def summary(conn: Connection, incident_id: int, *, account: Account) -> dict[str, Any]:
    """The deliberation of a matter: marked, its discussions, decisions and linked tasks."""
    lock_incident(conn, incident_id, account)  # the area check (a short lock: a read)
    marked = conn.execute(text("SELECT deliberation FROM incidents WHERE id = :i"),
                          {"i": incident_id}).scalar_one()  # fmt: skip
    steps = conn.execute(
        text("SELECT at, actor, action, note FROM incident_events WHERE incident_id = :i "
             "AND action IN ('deliberate', 'discuss', 'decide', 'link_task') ORDER BY at, id"),
        {"i": incident_id},
    ).mappings()  # fmt: skip
    decisions = conn.execute(
        text("SELECT id, held_on, attendance, votes_for, votes_against, abstain, decision, "
             "recorded_by, at FROM meeting_decisions WHERE incident_id = :i ORDER BY id"),
        {"i": incident_id},
    ).mappings()  # fmt: skip
    tasks = conn.execute(
        text("SELECT id, category, description, state, closed_at FROM incidents "
             "WHERE parent_id = :i ORDER BY id"),
        {"i": incident_id},
    ).mappings()  # fmt: skip
    return {
        "incident": incident_id,
        "deliberation": bool(marked),
        "steps": [dict(s) | {"words": ACTION_WORDS[s["action"]]} for s in steps],
        "decisions": [dict(d) for d in decisions],
        "tasks": [dict(t) for t in tasks],
    }
