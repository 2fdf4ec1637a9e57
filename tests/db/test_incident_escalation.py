"""The escalation job for real: its own database, committed data, the injectable clock.

Covers one run, the advisory lock between processes, racing runs, the job in the served app
(two apps on one database standing in for two server processes) and ``gridgeo incidents
escalate``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from cli.main import main
from gridgeo.accounts import add_user
from gridgeo.db import Database
from gridgeo.incidents.escalation import LOCK_KEY, escalate_once
from gridgeo.incidents.report import Report, report
from gridgeo.settings import get_settings
from tests.api.incident_city import COMM_A, GRID_A, INSIDE_A, STREET_A, build_city
from tests.conftest import _database

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def esc_engine(pg_server: str) -> Iterator[Engine]:
    eng = _database(pg_server, "gridgeo_escalation")
    with eng.begin() as conn:
        build_city(conn)
    yield eng
    eng.dispose()


@pytest.fixture
def patrol(esc_engine):
    with esc_engine.begin() as conn:
        conn.execute(text("TRUNCATE incidents CASCADE"))
        conn.execute(text("DELETE FROM users"))
        return add_user(conn, name="patrol", role="patrol", areas=[GRID_A], password="pw-12345678",
                        actor="t")  # fmt: skip


def add_incidents(engine, account, n, category="safety_hazard"):  # 30 minutes to accept
    ids = []
    with engine.begin() as conn:
        for k in range(n):
            r = Report(lon=INSIDE_A[0] + k * 0.002, lat=INSIDE_A[1], category=category)
            ids.append(report(conn, r, account=account, now=T0, snap_m=200.0)[0])
    return ids


def levels(engine):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, escalation_level, queue_area FROM incidents"))
        return {r[0]: (r[1], r[2]) for r in rows}


def escalate_events(engine):
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM incident_events WHERE action = 'escalate'")
        ).scalar()


def test_one_run_with_an_injected_clock(esc_engine, patrol):
    [i] = add_incidents(esc_engine, patrol, 1)
    assert escalate_once(esc_engine, T0 + timedelta(minutes=29)) == []
    assert escalate_once(esc_engine, T0 + timedelta(minutes=31)) == [(i, COMM_A, 1)]
    assert levels(esc_engine)[i] == (1, COMM_A)  # committed
    dry = escalate_once(esc_engine, T0 + timedelta(minutes=62), commit=False)
    assert dry == [(i, STREET_A, 2)] and levels(esc_engine)[i] == (1, COMM_A)


def test_a_held_lock_makes_a_run_skip(esc_engine, patrol):
    [i] = add_incidents(esc_engine, patrol, 1)
    with esc_engine.connect() as other:  # another process escalating right now
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        assert escalate_once(esc_engine, T0 + timedelta(hours=1)) is None
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        other.commit()
    assert escalate_once(esc_engine, T0 + timedelta(hours=1)) == [(i, COMM_A, 1)]


def test_racing_runs_escalate_each_incident_once(esc_engine, patrol):
    ids = add_incidents(esc_engine, patrol, 20)
    now = T0 + timedelta(minutes=31)
    start = threading.Barrier(8)
    results: list = []

    def run():
        start.wait()
        for _ in range(5):
            results.append(escalate_once(esc_engine, now))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    moved = [m for r in results if r for m in r]
    assert sorted(m[0] for m in moved) == sorted(ids)  # each once, whoever got the lock
    assert set(levels(esc_engine).values()) == {(1, COMM_A)}
    assert escalate_events(esc_engine) == 20


def _app(engine, interval_s):
    settings = get_settings(
        database_url=str(engine.url), map_tiles="", escalation_interval_s=interval_s
    )
    return create_app(settings, Database(engine))


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_served_app_escalates_by_itself_and_two_apps_do_not_double(esc_engine, patrol):
    ids = add_incidents(esc_engine, patrol, 3)
    a, b = _app(esc_engine, 0.05), _app(esc_engine, 0.05)
    late = T0 + timedelta(minutes=31)  # the clock the routes and the job share
    for app in (a, b):
        app.state.clock = lambda: late
    with TestClient(a), TestClient(b):
        assert _wait(lambda: set(levels(esc_engine).values()) == {(1, COMM_A)})
        # both jobs keep running rounds at the same (frozen) time: nothing moves twice
        assert _wait(lambda: a.state.escalation_job.runs + b.state.escalation_job.runs >= 10)
    assert a.state.escalation_job.escalated + b.state.escalation_job.escalated == len(ids)
    assert escalate_events(esc_engine) == len(ids)
    with esc_engine.connect() as conn:
        actors = conn.execute(
            text("SELECT DISTINCT actor FROM incident_events WHERE action = 'escalate'")
        ).scalars()
        assert list(actors) == ["system:escalation"]


def test_an_interval_of_zero_turns_the_job_off(esc_engine, patrol):
    add_incidents(esc_engine, patrol, 1)
    app = _app(esc_engine, 0)
    app.state.clock = lambda: T0 + timedelta(days=1)
    with TestClient(app):
        time.sleep(0.3)
        assert app.state.escalation_job is None
    assert escalate_events(esc_engine) == 0


def test_the_command_line(esc_engine, patrol, monkeypatch):
    [i] = add_incidents(esc_engine, patrol, 1)
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", esc_engine.url.render_as_string(False))
    runner = CliRunner()
    # a time without an offset is China time (UTC+8): 16:31 there is 08:31 UTC
    dry = runner.invoke(main, ["incidents", "escalate", "--at", "2026-05-01T16:31:00"])
    assert dry.exit_code == 0, dry.output
    assert f"incident {i:>8} → level 1 queue {COMM_A}" in dry.output
    assert "dry run: 1 incidents would be escalated" in dry.output
    assert levels(esc_engine)[i] == (0, GRID_A)
    for at in ("2026-05-01T08:31:00", "2026-05-01T16:29+08:00", "2026-05-01T08:29:59Z"):
        early = runner.invoke(main, ["incidents", "escalate", "--at", at, "--commit"])
        assert early.exit_code == 0 and "0 incidents escalated" in early.output, at
    at = "2026-05-01T16:31:00+08:00"
    done = runner.invoke(main, ["incidents", "escalate", "--at", at, "--commit"])
    assert done.exit_code == 0 and "1 incidents escalated" in done.output
    assert "as of 2026-05-01T08:31:00+00:00" in done.output
    assert levels(esc_engine)[i] == (1, COMM_A)
    with esc_engine.connect() as conn:
        actor = conn.execute(text("SELECT actor FROM incident_events WHERE action = 'escalate'"))
        assert actor.scalar().startswith("cli:")
    bad = runner.invoke(main, ["incidents", "escalate", "--at", "yesterday"])
    assert bad.exit_code == 2 and "--at" in bad.output
    with esc_engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        busy = runner.invoke(main, ["incidents", "escalate", "--commit"])
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    assert busy.exit_code == 3 and "another process" in busy.output
