from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from api.app import create_app
from gridgeo.db import Database
from gridgeo.settings import get_settings


def in_transaction(conn: Connection) -> Callable[[], Iterator[Connection]]:
    """The app's transactions in the test's: each request runs in a savepoint of it."""

    def test_conn() -> Iterator[Connection]:
        nested = conn.begin_nested()
        try:
            yield conn
        except Exception:
            nested.rollback()
            raise
        else:
            if nested.is_active:
                nested.commit()

    return test_conn


class SavepointStatements:
    """The hot statements of the app, in the test's transaction: each in a savepoint."""

    def __init__(self, make_conn: Callable[[], AbstractContextManager[Connection]]) -> None:
        self.make_conn = make_conn

    def _one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        with self.make_conn() as conn:
            row = conn.exec_driver_sql(sql, dict(params)).mappings().first()
            return dict(row) if row is not None else None

    async def one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row of ``sql`` on the test's connection (on a worker thread)."""
        return await run_in_threadpool(self._one, sql, params)

    async def batched(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """As :meth:`one`: a test's statements are in its transaction already."""
        return await self.one(sql, params)

    async def close(self) -> None:
        """Nothing to release: the test owns the connection."""


def app_in_transaction(engine: Engine, conn: Connection, **settings: Any) -> FastAPI:
    """The app on ``engine`` whose requests run in ``conn``'s transaction (rolled back later).

    ``settings`` override settings by name (``photo_max_bytes=…``); offline (no base map).
    """
    options: dict[str, Any] = {"database_url": str(engine.url), "map_tiles": ""} | settings
    savepoint = contextmanager(in_transaction(conn))
    return create_app(
        get_settings(**options),
        Database(engine),
        transaction=savepoint,
        statements=SavepointStatements(savepoint),
    )


@pytest.fixture
def client(engine: Engine, conn: Connection) -> Iterator[TestClient]:
    """An API client whose requests run in the test's transaction (rolled back afterwards)."""
    with TestClient(app_in_transaction(engine, conn)) as c:
        yield c


@pytest.fixture
def login_as(conn):
    """Create an account of a role scoped to areas and return its Authorization header."""
    from datetime import timedelta

    from gridgeo.accounts import add_user
    from gridgeo.tokens import issue

    made = {"n": 0}

    def make(role: str, *areas: str, ttl_s: float = 600) -> dict[str, str]:
        made["n"] += 1
        acc = add_user(
            conn,
            name=f"t{made['n']}_{role}",
            role=role,
            areas=list(areas),
            password="test-password-1",
            actor="test",
        )
        tok = issue(conn, acc.id, "session", timedelta(seconds=ttl_s))
        return {"Authorization": f"Bearer {tok.token}"}

    return make
