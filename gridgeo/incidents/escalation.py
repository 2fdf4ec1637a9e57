"""Escalation: incidents past their level's limit move one level up the hierarchy.

An incident not accepted within its category's accept limit, or not resolved within its
resolve limit, goes from the grid's queue to the community's, then the street's, then the
district's (the ancestor of its grid as many levels up as it has been escalated:
``gridgeo_ancestor_code``); each step resets the missed limit *of the level* from now and is
recorded on the timeline. The original limits stay (see :mod:`gridgeo.incidents.policy`).

The job runs :func:`escalate_overdue` every N seconds.

Each run is one transaction that first takes a transaction-level PostgreSQL advisory lock
(``pg_try_advisory_xact_lock``): when several server processes (workers, or two hosts on one
database) run the job, one escalates and the others skip that round, so no incident is moved
twice for one missed limit. The lock is released with the transaction, also when a process dies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, text

from gridgeo.audit import record
from gridgeo.clock import Clock, utcnow
from gridgeo.incidents.facts import set_sql
from gridgeo.incidents.policy import ESCALATION_ACTOR, ESCALATION_DUE, missed_sql

log = logging.getLogger("gridgeo.incidents.escalation")

ESCALATE_SQL = """
WITH due AS (
    SELECT i.id, i.state, c.accept_minutes, c.resolve_minutes, {why} AS why,
           gridgeo_ancestor_code(i.grid_id, i.escalation_level + 1) AS up_code
    FROM incidents i JOIN incident_categories c ON c.key = i.category
    WHERE {where}
    FOR UPDATE OF i
),
moved AS (
    UPDATE incidents i SET
        escalation_level = i.escalation_level + 1,
        queue_area = d.up_code,
        level_accept_due = CASE WHEN d.why = 'accept' THEN CAST(:now AS timestamptz)
            + make_interval(mins => d.accept_minutes) ELSE i.level_accept_due END,
        level_resolve_due = CASE WHEN d.why = 'resolve' THEN CAST(:now AS timestamptz)
            + make_interval(mins => d.resolve_minutes) ELSE i.level_resolve_due END,
        updated_at = :now{facts}
    FROM due d WHERE i.id = d.id AND d.up_code IS DISTINCT FROM i.queue_area
    RETURNING i.id, i.state, i.queue_area, i.escalation_level, d.why
),
ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_state, to_state, note)
    SELECT id, :now, :actor, 'escalate', state, state,
           concat(CAST(:reason_prefix AS text), why, ' → level ', escalation_level, ' queue ',
                  queue_area)
    FROM moved
)
SELECT id, queue_area, escalation_level FROM moved ORDER BY id
"""  # an incident queued at the top already stays there (its ancestor one level up is itself)


def escalate_overdue(
    conn: Connection, now: datetime, actor: str = ESCALATION_ACTOR
) -> list[tuple[int, str, int]]:
    """Move every open incident past a limit of its level one level up the hierarchy.

    Args:
        conn: connection in the caller's transaction.
        now: the current time (injectable for tests and replays).
        actor: who is recorded as escalating.

    Returns:
        (incident id, new queue area code, new level) of each escalated incident.
    """
    sql = ESCALATE_SQL.format(why=missed_sql(), where=ESCALATION_DUE, facts=set_sql("escalate"))
    rows = conn.execute(text(sql), {"now": now, "actor": actor, "reason_prefix": "overdue: "}).all()
    if rows:
        record(conn, actor, "incident.escalate", "incidents", None, ids=[r[0] for r in rows])
    return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


def escalate_one(
    conn: Connection, incident_id: int, *, actor: str, reason: str, now: datetime
) -> None:
    """Move one incident a level up at once (a major incident leaves the grid's queue)."""
    sql = ESCALATE_SQL.format(
        why="CAST(:reason AS text)", where="i.id = :id", facts=set_sql("escalate")
    )
    params = {"now": now, "actor": actor, "id": incident_id, "reason": reason, "reason_prefix": ""}
    conn.execute(text(sql), params)


LOCK_KEY = 0x6772_6964_6573_6331  # "gridesc1": the advisory lock of the escalation job


def escalate_once(
    engine: Engine, now: datetime, actor: str = ESCALATION_ACTOR, *, commit: bool = True
) -> list[tuple[int, str, int]] | None:
    """One run of the job in its own transaction (rolled back when not ``commit``: a dry run).

    Returns:
        (incident id, new queue area, new level) of each escalated incident; None when another
        process holds the job's lock (it is escalating right now).
    """
    with engine.connect() as conn, conn.begin() as trans:
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}).scalar():
            return None
        moved = escalate_overdue(conn, now, actor=actor)
        if not commit:
            trans.rollback()
        return moved


class EscalationJob:
    """Runs :func:`escalate_once` every ``interval_s`` seconds until stopped."""

    def __init__(self, engine: Engine, interval_s: float, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.clock = clock
        self.runs = 0  # rounds run here (not skipped for another process's lock)
        self.escalated = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Sleep, escalate, repeat; an error is logged and the next round tried."""
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval_s)
                return
            except TimeoutError:
                pass
            try:
                moved = await asyncio.to_thread(escalate_once, self.engine, self.clock())
            except Exception:  # the job must outlive a database outage
                log.exception("escalation round failed; retrying in %s s", self.interval_s)
                continue
            if moved is not None:
                self.runs += 1
                self.escalated += len(moved)
                if moved:
                    log.info("escalated %d overdue incidents", len(moved))

    def stop(self) -> None:
        """Ask the loop to end after the round in progress."""
        self._stop.set()


@asynccontextmanager
async def escalation_job(
    engine: Engine, interval_s: float, clock: Clock = utcnow
) -> AsyncIterator[EscalationJob | None]:
    """Run the job in the background for the life of the block (nothing when ``interval_s`` ≤ 0).

    On exit the round in progress finishes (its transaction commits or rolls back) before the
    block ends, so the engine can be closed safely afterwards.
    """
    if interval_s <= 0:
        yield None
        return
    job = EscalationJob(engine, interval_s, clock)
    task = asyncio.create_task(job.run(), name="gridgeo-escalation")
    try:
        yield job
    finally:
        job.stop()
        await task
