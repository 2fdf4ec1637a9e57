"""Warm the evaluation when a server starts, in the background: the settled months of the trends.

The first dashboard a server shows asks for a year's trend of the leader's area; where no
server has kept its settled months yet (a new database, ``evaluation_settled`` emptied), that
trend sums all twelve — 0.9–2.3 s at 1,000,000 incidents, which also slows every request
alongside it (bench/evaluation.py). :func:`warm` sums them once when the server starts, for
everything and for each top-level area (the scopes a district leader's or an administrator's
dashboard asks for), into the app's cache and the table (:mod:`gridgeo.evaluation.cache`); a
server whose table holds them reads them in a few milliseconds. The current months are not kept
(they change with every action) and are not summed ahead.

It runs in a thread of its own on a connection of its own, after the server is ready: nothing
waits for it, and a failure only leaves the work to the first request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from gridgeo.evaluation.cache import SettledCache
from gridgeo.evaluation.evaluate import trend
from gridgeo.evaluation.periods import buckets, last_months, zone
from gridgeo.levels import load_hierarchy

log = logging.getLogger("gridgeo.evaluation.warm")

MAX_TOP_AREAS = 20  # a city of more districts leaves the rest to their first request
MONTHS = 13  # the dashboard's year to last month and the API's year to this month


def scopes_to_warm(conn: Connection) -> list[str]:
    """The scopes to warm: everything (``""``) and each top-level area.

    At most :data:`MAX_TOP_AREAS` areas; none without incidents (nothing to sum).
    """
    if not conn.execute(text("SELECT EXISTS (SELECT FROM incidents)")).scalar():
        return []
    tops = conn.execute(
        text(
            "SELECT g.code FROM current_grids g JOIN levels l ON l.id = g.level_id "
            "WHERE l.depth = 0 ORDER BY g.code LIMIT :n"
        ),
        {"n": MAX_TOP_AREAS},
    ).scalars()
    return ["", *tops]


def warm_scope(
    conn: Connection, parent: str, *, now: datetime, timezone: str, cache: SettledCache
) -> int:
    """Sum and keep the settled months of the last :data:`MONTHS` under ``parent``.

    Returns:
        How many settled months were summed (0 when memory or the table held them all).
    """
    months = buckets(last_months(now, zone(timezone), MONTHS), "month")
    before = cache.misses - cache.stored_hits
    trend(conn, load_hierarchy(conn), buckets=months, now=now, parent=parent or None,
          cache=cache)  # fmt: skip
    return max(0, (cache.misses - cache.stored_hits) - before)


def warm(conn: Connection, *, now: datetime, timezone: str, cache: SettledCache) -> dict[str, Any]:
    """:func:`warm_scope` for every scope of :func:`scopes_to_warm`, on one connection.

    Args:
        conn: a connection (the caller commits what was kept in the table, or not).
        now: the time of the evaluation.
        timezone: the evaluation's time zone (its months).
        cache: the app's cache of settled sums.

    Returns:
        ``{"scopes", "seconds", "summed"}``: the scopes warmed, the time taken, and how many
        settled months were summed (0 when the table held them all).
    """
    start = time.perf_counter()
    scopes = scopes_to_warm(conn)
    summed = sum(warm_scope(conn, p, now=now, timezone=timezone, cache=cache) for p in scopes)
    return {"scopes": scopes, "seconds": round(time.perf_counter() - start, 3), "summed": summed}


def start_warming(
    engine: Engine,
    *,
    clock: Callable[[], datetime],
    timezone: str,
    cache: SettledCache,
) -> threading.Thread:
    """Run :func:`warm_scope` for each scope in a daemon thread, on connections of its own.

    Each scope is a transaction of its own, as a request's (so another worker process that
    writes the same rows waits for one scope at most, not for the whole warm-up, and a failed
    commit is rolled back as a request's is); an error is logged, never raised.
    """

    def run() -> None:
        try:
            start, now, summed = time.perf_counter(), clock(), 0
            with engine.connect() as conn:
                scopes = scopes_to_warm(conn)
            for parent in scopes:
                with engine.begin() as conn:
                    summed += warm_scope(conn, parent, now=now, timezone=timezone, cache=cache)
            log.info("evaluation warmed: %d scopes, %d settled months summed, %.2f s",
                     len(scopes), summed, time.perf_counter() - start)  # fmt: skip
        except Exception:  # the first request does the work instead
            log.warning("warming the evaluation failed", exc_info=True)

    thread = threading.Thread(target=run, name="gridgeo-evaluation-warm", daemon=True)
    thread.start()
    return thread
