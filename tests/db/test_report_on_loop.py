"""POST /incidents on the app's own async pool (api.statements), on committed data.

The API tests run the app inside their transaction, so the hot path there runs its statement
on the test's connection. Here nothing is overridden: the report goes through psycopg's async
pool, commits before it answers, fails cleanly when the commit fails, and recovers when the
server drops the pool's connections.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from gridgeo.db import Database
from gridgeo.settings import get_settings
from tests.api.incident_city import GRID_A, INSIDE_A, make_users
from tests.conftest import _database

REPORT = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": "sanitation", "accuracy_m": 10}


@pytest.fixture(scope="module")
def own_engine(pg_server: str) -> Iterator[Engine]:
    eng = _database(pg_server, "gridgeo_report_on_loop")
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def users(own_engine: Engine) -> dict[str, dict[str, str]]:
    with own_engine.begin() as conn:
        return make_users(conn)


@pytest.fixture
def client(own_engine: Engine, users) -> Iterator[TestClient]:
    settings = get_settings(database_url=str(own_engine.url), map_tiles="", escalation_interval_s=0)
    app = create_app(settings, Database(own_engine))
    with TestClient(app, raise_server_exceptions=False) as c:  # a 500 is answered, as served
        yield c


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM incidents")).scalar_one())


def test_report_on_the_pool_is_stored_and_answered_as_get(client, users, own_engine):
    before = _count(own_engine)
    r = client.post("/incidents", json=REPORT, headers=users["patrol"] | {"Idempotency-Key": "p1"})
    assert r.status_code == 201, r.text
    assert r.json()["grid"] == GRID_A and r.headers["location"] == f"/incidents/{r.json()['id']}"
    assert client.app.state.statements.pool.get_stats()["connections_num"] >= 1  # the pool ran it
    assert _count(own_engine) == before + 1
    got = client.get(f"/incidents/{r.json()['id']}", headers=users["patrol"])
    assert got.content == r.content
    again = client.post(
        "/incidents", json=REPORT, headers=users["patrol"] | {"Idempotency-Key": "p1"}
    )
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    assert _count(own_engine) == before + 1
    assert client.post("/incidents", json=REPORT, headers=users["viewer"]).status_code == 403


def test_a_failed_commit_is_an_error_and_stores_nothing(client, users, own_engine):
    """The statement commits before the answer: a commit that fails is never a 201."""
    with own_engine.begin() as conn:
        conn.execute(
            text(
                """
                CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$;
                CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON incidents
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
                """
            )
        )
    before = _count(own_engine)
    try:
        r = client.post("/incidents", json=REPORT, headers=users["patrol"])
        assert r.status_code == 500 and "disk" not in r.text  # no internals leak
        assert _count(own_engine) == before
    finally:
        with own_engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_at_commit ON incidents"))
            conn.execute(text("DROP FUNCTION refuse_at_commit()"))
    assert client.post("/incidents", json=REPORT, headers=users["patrol"]).status_code == 201


def test_connections_dropped_by_the_server_give_a_503_then_the_pool_recovers(
    client, users, own_engine
):
    key = {"Idempotency-Key": "drop-1"}
    for _ in range(3):  # several pooled connections
        assert client.post("/incidents", json=REPORT, headers=users["patrol"]).status_code == 201
    with own_engine.begin() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'gridgeo-statements' AND datname = current_database()"
            )
        ).scalar_one()
    assert killed >= 1
    statuses = []
    for _ in range(5):
        r = client.post("/incidents", json=REPORT, headers=users["patrol"] | key)
        statuses.append(r.status_code)
        if r.status_code == 503:
            assert "send it again" in r.json()["message"]
    # at most the one request on a dead connection fails; the retry under the same key stores
    # the report once, and the following retries replay it
    assert statuses[0] in (201, 503) and 503 not in statuses[1:], statuses
    assert statuses.count(201) == 1 and set(statuses[statuses.index(201) + 1 :]) == {200}
