from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from api.app import create_app
from api.deps import get_conn
from gridgeo.db import Database
from gridgeo.settings import get_settings


def in_transaction(conn: Connection) -> Callable[[], Iterator[Connection]]:
    """A ``get_conn`` override: each request runs in a savepoint of the test's transaction."""

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


def app_in_transaction(engine: Engine, conn: Connection, **settings: Any) -> FastAPI:
    """The app on ``engine`` whose requests run in ``conn``'s transaction (rolled back later).

    ``settings`` override settings by name (``photo_max_bytes=…``); offline (no base map).
    """
    options: dict[str, Any] = {"database_url": str(engine.url), "map_tiles": ""} | settings
    app = create_app(get_settings(**options), Database(engine))
    app.dependency_overrides[get_conn] = in_transaction(conn)
    return app


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
