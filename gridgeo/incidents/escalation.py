"""The escalation job: every N seconds, overdue incidents move one level up the hierarchy.

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

from sqlalchemy import Engine, text

from gridgeo.clock import Clock, utcnow
from gridgeo.incidents.flow import ESCALATION_ACTOR, escalate_overdue

log = logging.getLogger("gridgeo.incidents.escalation")

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
