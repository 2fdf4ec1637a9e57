"""The reliability invariant on a real server: phones with outboxes, retries, a restart.

A small version of ``bench/incidents_reliability.py`` (same phones, same check): 5 phones send
300 located reports, 10 % of them more than once with the same Idempotency-Key (replayed after
the answer, cut off after sending, or raced on two connections), and the uvicorn subprocess
gets SIGTERM and is started again halfway. Exactly one incident per key must be stored, in the
grid ``locate`` gives, and every answer for a key must name it.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from bench.common import free_port
from bench.incidents_reliability import print_report, reliability_run
from bench.servers import ServerProcess
from gridgeo.db import ensure_postgis, make_engine, run_migrations
from tests.helpers import add_strip_city

NAME = "gridgeo_reliability"


@pytest.fixture
def strip_db(pg_server: str) -> Iterator[tuple[str, Engine]]:
    """A committed database of its own with the three-grid strip city (a server writes it)."""
    admin = make_engine(pg_server, pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{NAME}"'))
    url = pg_server.replace("/gridgeo?", f"/{NAME}?", 1)
    engine = make_engine(url, pool_size=2)
    ensure_postgis(engine)
    run_migrations(engine)
    with engine.begin() as conn:
        add_strip_city(conn)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
        admin.dispose()


def test_no_report_lost_or_duplicated_across_a_restart(strip_db, tmp_path):
    url, engine = strip_db
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGEO_")}
    env["GRIDGEO_DATABASE_URL"] = url
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    server = ServerProcess(cmd, env, port, tmp_path / "server.log")
    server.start(timeout_s=60)
    try:
        result = reliability_run(
            server, engine, clients=5, reports=300, retried=0.10, restarts=1,
            sig=signal.SIGTERM, seed=7,
        )  # fmt: skip
    finally:
        server.stop()
    print_report(result)
    check = result["verify"]
    assert check["ok"], (check["failures"], check["samples"], server.tail())
    assert check["stored"] == 300
    assert check["kinds"] == {"plain": 270, "replay": 10, "lost": 10, "race": 10}
    assert [r["exit_code"] for r in result["restarts"]] in (
        [0],
        [-signal.SIGTERM],
    )  # uvicorn re-raises
    assert (
        result["latency"]["attempts"]["HTTP 201"]
        == 300 - check["lost_requests_stored_before_retry"]
    )
