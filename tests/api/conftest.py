from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.deps import get_conn
from gridgeo.db import Database
from gridgeo.settings import Settings


@pytest.fixture
def client(engine: Engine, conn) -> Iterator[TestClient]:
    """An API client whose requests run in the test's transaction (rolled back afterwards)."""
    app = create_app(Settings(database_url=str(engine.url), map_tiles=""), Database(engine))

    def test_conn() -> Iterator:
        nested = conn.begin_nested()
        try:
            yield conn
        except Exception:
            nested.rollback()
            raise
        else:
            if nested.is_active:
                nested.commit()

    app.dependency_overrides[get_conn] = test_conn
    with TestClient(app) as c:
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
