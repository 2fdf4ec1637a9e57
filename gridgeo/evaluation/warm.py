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


def warm(
    conn: Connection,
    *,
    now: datetime,
    timezone: str,
    cache: SettledCache,
) -> dict[str, Any]:
    """Sum and keep the settled months of the last :data:`MONTHS` for the dashboards' scopes.

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
    months = buckets(last_months(now, zone(timezone), MONTHS), "month")
    misses = cache.misses - cache.stored_hits
    scopes: list[str] = []
    hierarchy = load_hierarchy(conn)
    tops = conn.execute(
        text(
            "SELECT g.code FROM current_grids g JOIN levels l ON l.id = g.level_id "
            "WHERE l.depth = 0 ORDER BY g.code LIMIT :n"
        ),
        {"n": MAX_TOP_AREAS},
    ).scalars()
    for parent in ["", *tops]:
        trend(conn, hierarchy, buckets=months, now=now, parent=parent or None, cache=cache)
        scopes.append(parent)
    summed = (cache.misses - cache.stored_hits) - misses
    return {"scopes": scopes, "seconds": round(time.perf_counter() - start, 3), "summed": summed}


def start_warming(
    engine: Engine,
    *,
    clock: Callable[[], datetime],
    timezone: str,
    cache: SettledCache,
) -> threading.Thread:
    """Run :func:`warm` in a daemon thread on a connection of its own.

    It commits only when it summed something (the table keeps it); an error is logged, never
    raised.
    """

    def run() -> None:
        try:
            with engine.connect() as conn:
                done = warm(conn, now=clock(), timezone=timezone, cache=cache)
                if done["summed"]:
                    conn.commit()
            log.info("evaluation warmed: %s", done)
        except Exception:  # the first request does the work instead
            log.warning("warming the evaluation failed", exc_info=True)

    thread = threading.Thread(target=run, name="gridgeo-evaluation-warm", daemon=True)
    thread.start()
    return thread
