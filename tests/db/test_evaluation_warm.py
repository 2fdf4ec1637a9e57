"""Warming the evaluation when a server starts (gridgeo/evaluation/warm.py), on the constructed
history: the settled months of the dashboards' trends are summed and kept, for everything and
for each top-level area, and what a dashboard then reads is exactly what it would sum itself."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from gridgeo.evaluation import trend
from gridgeo.evaluation.cache import SettledCache
from gridgeo.evaluation.periods import buckets, last_months, month
from gridgeo.evaluation.warm import MONTHS, warm
from gridgeo.levels import Hierarchy, load_hierarchy
from tests.api.incident_city import DISTRICT
from tests.evaluation_history import CST, NOW, build_history


@pytest.fixture
def hierarchy(conn: Connection) -> Hierarchy:
    build_history(conn)
    return load_hierarchy(conn)


def test_warming_keeps_the_settled_months_a_dashboard_reads(conn, hierarchy):
    cache = SettledCache()
    done = warm(conn, now=NOW, timezone="Asia/Shanghai", cache=cache)
    assert done["scopes"] == ["", DISTRICT]
    # settled: ended 30 days before NOW (5 December), December 2025 to October 2026
    months = buckets(last_months(NOW, CST, MONTHS), "month")
    settled = [m for m in months if m.end <= month(2026, 11, CST).start]
    assert done["summed"] == 2 * len(settled) and len(settled) == MONTHS - 2
    # the dashboard's year to last month, for the district leader and for an administrator
    year = months[:-1]  # December 2025 to November 2026
    for parent in (DISTRICT, None):
        hits = cache.hits
        got = trend(conn, hierarchy, buckets=year, now=NOW, parent=parent, cache=cache)
        assert got == trend(conn, hierarchy, buckets=year, now=NOW, parent=parent)  # exact
        assert cache.hits - hits == len(settled)  # only November summed
    # a second server on the same table sums nothing again
    other = SettledCache()
    again = warm(conn, now=NOW, timezone="Asia/Shanghai", cache=other)
    assert again["summed"] == 0 and other.stored_hits == 2 * len(settled)


def test_a_request_waits_for_the_summing_in_flight_instead_of_summing_again(conn, hierarchy):
    """The warm-up and a first request (or two first requests) need the same settled months:
    the second waits for the first and takes its sums."""
    import threading

    from gridgeo.evaluation.cache import flight_key
    from gridgeo.evaluation.evaluate import scope_of

    year = buckets(last_months(NOW, CST, MONTHS), "month")[:-1]
    plain = trend(conn, hierarchy, buckets=year, now=NOW)
    cache = SettledCache()
    scope, _ = scope_of(hierarchy, by="all", level=None, parent=None, areas=None)
    flight = cache.flight(flight_key(scope, False))
    flight.acquire()  # as the warm-up summing them
    got: dict = {}
    second = threading.Thread(target=lambda: got.update(
        rows=trend(conn, hierarchy, buckets=year, now=NOW, cache=cache)))  # fmt: skip
    second.start()
    for _ in range(500):  # until it has looked in memory and waits
        if cache.misses:
            break
        threading.Event().wait(0.01)
    second.join(0.2)
    assert second.is_alive() and cache.misses == 11  # waiting, not summing
    summed = SettledCache()  # the first summing: kept in memory (and in the table)
    assert trend(conn, hierarchy, buckets=year, now=NOW, cache=summed) == plain
    for key, (version, value) in summed._data.items():
        cache.put(key, version, value)
    flight.release()
    second.join(10)
    assert got["rows"] == plain
    assert cache.stored_hits == 0  # taken from memory after the wait: not read, not summed


def test_a_starting_server_warms_in_a_thread_and_keeps_the_months_in_the_table(pg_server):
    """start_warming (what the app's lifespan starts): on a database of its own, committed; a
    later process reads the months from the table and sums none of them."""
    from sqlalchemy import text

    from gridgeo.evaluation.warm import start_warming
    from tests.conftest import _database

    eng = _database(pg_server, "gridgeo_warm")
    try:
        with eng.begin() as conn:
            build_history(conn)
        cache = SettledCache()
        thread = start_warming(eng, clock=lambda: NOW, timezone="Asia/Shanghai", cache=cache)
        thread.join(60)
        assert not thread.is_alive()
        with eng.connect() as conn:
            kept = conn.execute(text("SELECT count(*) FROM evaluation_settled")).scalar_one()
            assert kept == 2 * (MONTHS - 2)  # everything and the district, December to October
            later = SettledCache()
            year = buckets(last_months(NOW, CST, MONTHS), "month")[:-1]
            got = trend(conn, load_hierarchy(conn), buckets=year, now=NOW, parent=DISTRICT,
                        cache=later)  # fmt: skip
            assert later.stored_hits == MONTHS - 2
            assert got == trend(conn, load_hierarchy(conn), buckets=year, now=NOW, parent=DISTRICT)
    finally:
        eng.dispose()
