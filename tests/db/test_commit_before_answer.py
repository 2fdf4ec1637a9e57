"""An answer is sent only after the request's transaction has committed.

A phone drops a report from its outbox when it gets 201: were the answer sent before the
commit, a failed commit would lose the report. Here every commit of the app's engine fails;
the client must see an error, and nothing must be stored.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from api.app import create_app
from gridgeo.accounts import add_user
from gridgeo.db import Database
from gridgeo.settings import get_settings
from tests.conftest import _database


@pytest.fixture(scope="module")
def own_engine(pg_server: str) -> Iterator[Engine]:
    eng = _database(pg_server, "gridgeo_commit_order")
    with eng.begin() as conn:
        add_user(conn, name="alice", role="admin", areas=[], password="alice-password-1",
                 actor="test")  # fmt: skip
    yield eng
    eng.dispose()


def test_a_failed_commit_is_an_error_not_a_success(own_engine: Engine) -> None:
    app = create_app(
        get_settings(database_url=str(own_engine.url), map_tiles="", escalation_interval_s=0),
        Database(own_engine),
    )
    order: list[str] = []

    def fail_commit(_conn: object) -> None:
        order.append("commit")
        raise RuntimeError("the disk is full")

    event.listen(own_engine, "commit", fail_commit)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            r = client.post(
                "/auth/token", data={"username": "alice", "password": "alice-password-1"}
            )
            order.append(f"answer {r.status_code}")
    finally:
        event.remove(own_engine, "commit", fail_commit)
    assert order[-2:] == ["commit", "answer 500"]
    with own_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tokens")).scalar_one() == 0
    with TestClient(app) as client:  # and with commits working, the same login succeeds
        r = client.post("/auth/token", data={"username": "alice", "password": "alice-password-1"})
        assert r.status_code == 200
