"""Test rig: a private PostGIS cluster for the session; each test rolls back its transaction.

The cluster is started in a temporary folder (as an unprivileged user when run as root) and
stopped at the end. ``GRIDGEO_TEST_DATABASE_URL`` points the tests at another server instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from gridgeo.db import ensure_postgis, make_engine, run_migrations
from gridgeo.embedded import EmbeddedCluster

DATA = Path(__file__).resolve().parent / "data"  # the tests' own data (tests/data/README.md)
PROVIDENCE_ZIP = DATA / "providence" / "Providence_blocks.zip"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> None:
    """Argon2 at production strength costs ~0.1 s a hash; tests make many accounts."""
    from argon2 import PasswordHasher

    from gridgeo.accounts import use_hasher

    use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Base URL (no database name) of the session's PostgreSQL server."""
    external = os.environ.get("GRIDGEO_TEST_DATABASE_URL")
    if external:
        yield external.rsplit("/", 1)[0]
        return
    tmp = Path(tempfile.mkdtemp(prefix="gridgeo-test-"))
    os.chmod(tmp, 0o755)
    cluster = EmbeddedCluster(tmp, fast=True)
    url = cluster.start()
    try:
        yield url
    finally:
        cluster.destroy()
        shutil.rmtree(tmp, ignore_errors=True)  # the server's log too: nothing left in /tmp


def _database(server_url: str, name: str) -> Engine:
    admin = make_engine(server_url, pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = server_url.replace("/gridgeo?", f"/{name}?", 1)
    engine = make_engine(url, pool_size=4)
    ensure_postgis(engine)
    run_migrations(engine)
    return engine


@pytest.fixture(scope="session")
def engine(pg_server: str) -> Iterator[Engine]:
    """An empty, migrated database."""
    eng = _database(pg_server, "gridgeo_test")
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture(scope="session")
def demo_engine(pg_server: str) -> Iterator[Engine]:
    """A database with the demo city and its demo accounts loaded (committed; read-only use)."""
    from cli.demo import add_demo_accounts
    from gridgeo.demo.city import load_demo

    eng = _database(pg_server, "gridgeo_demo")
    with eng.begin() as connection:
        load_demo(connection)
        add_demo_accounts(connection)
    yield eng
    eng.dispose()


@pytest.fixture
def demo_conn(demo_engine: Engine) -> Iterator[Connection]:
    """A connection to the demo database in a transaction rolled back after the test."""
    with demo_engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()
