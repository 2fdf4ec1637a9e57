"""``GET /locate``: one statement on the event loop, the same answers as ``locate()``.

The statement (``gridgeo.assign.LOCATE_AS_CALLER_SQL``) authenticates the caller and locates
the point at once; a building, or a request that will be refused, goes the usual way. These
tests count the statements the app's hot path runs, so that a regression to the slow path
fails, and compare every answer with ``locate()`` on points inside, on shared edges and
vertices, and outside.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from api.app import create_app
from gridgeo.assign import LOCATE_AS_CALLER_SQL, locate
from gridgeo.db import Database
from gridgeo.settings import get_settings
from tests.api.conftest import SavepointStatements, in_transaction
from tests.helpers import G1, G2, D, add_strip_city


class Counted(SavepointStatements):
    """The test's statements, counting the locate statements run."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.located = 0

    async def one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        self.located += sql == LOCATE_AS_CALLER_SQL
        return await super().one(sql, params)


@pytest.fixture
def counted(engine: Engine, conn: Connection) -> Iterator[tuple[TestClient, Counted]]:
    savepoint = contextmanager(in_transaction(conn))
    statements = Counted(savepoint)
    app = create_app(
        get_settings(database_url=str(engine.url), map_tiles=""),
        Database(engine),
        transaction=savepoint,
        statements=statements,
    )
    with TestClient(app) as client:
        yield client, statements


def _expected(conn: Connection, x: float, y: float) -> tuple[int, dict[str, Any]]:
    loc = locate(conn, x, y)
    if loc.chain:
        chain = [{"code": c.code, "name": c.name, "level": c.level} for c in loc.chain]
        return 200, {"lon": x, "lat": y, "grid": chain[-1], "chain": chain}
    n = loc.nearest
    assert n is not None
    near = {"code": n.code, "name": n.name, "level": n.level, "distance_m": round(n.distance_m, 1)}
    return 404, {"lon": x, "lat": y, "nearest": near}


def test_locate_answers_as_locate_in_one_statement(counted, conn, login_as) -> None:
    client, statements = counted
    add_strip_city(conn)  # G1 | G2 | G3 on x = 0..1 | 1..2 | 2..3, y = 0..1
    client.headers.update(login_as("viewer", D))
    rng = np.random.default_rng(7)
    points = [(float(x), float(y)) for x, y in rng.uniform(-0.5, 3.5, (60, 2))]
    points += [(1.0, 0.5), (2.0, 0.25), (1.0, 1.0), (0.0, 0.0), (3.0, 0.5), (1.5, 1.0)]
    points += [(116, 39), (-3.25, 0.5), (1.5, -0.001)]
    outside = 0
    for x, y in points:
        r = client.get("/locate", params={"lon": x, "lat": y})
        status, want = _expected(conn, x, y)
        assert r.status_code == status, (x, y, r.text)
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        if status == 200:
            assert body == want
        else:
            outside += 1
            assert {k: body[k] for k in want} == want
            assert body["code"] == "outside_every_grid"
            assert set(body["messages"]) == {"en", "zh"} and "网格" in body["messages"]["zh"]
    assert statements.located == len(points)  # every one by the one statement
    assert 10 < outside < len(points) - 10
    # on the shared edge x = 1 the smaller code wins, with the whole chain
    body = client.get("/locate", params={"lon": 1.0, "lat": 0.5}).json()
    assert body["grid"]["code"] == G1 and body["chain"][0]["code"] == D
    assert client.get("/locate", params={"lon": 1.5, "lat": 0.5}).json()["grid"]["code"] == G2


def test_locate_callers_and_bad_input(counted, conn, login_as) -> None:
    client, statements = counted
    add_strip_city(conn)
    viewer = login_as("viewer", D)
    at = {"lon": 0.5, "lat": 0.5}
    assert client.get("/locate", params=at).status_code == 401
    r = client.get("/locate", params=at, headers={"Authorization": "Bearer ggs_nonsense"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    r = client.get("/locate", params=at, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.get("/locate", params=at, headers=login_as("volunteer", D)).status_code == 403
    # the login cookie of a browser is honoured (a GET is safe), a stale one is not
    token = viewer["Authorization"].removeprefix("Bearer ")
    client.cookies.set("gridgeo_session", token)
    assert client.get("/locate", params=at).json()["grid"]["code"] == G1
    client.cookies.set("gridgeo_session", "ggs_stale")
    assert client.get("/locate", params=at).status_code == 401
    client.cookies.clear()
    # bad coordinates: 401 first for a stranger, then 400/422 naming the field
    assert client.get("/locate", params={"lon": 200, "lat": 1}).status_code == 401
    r = client.get("/locate", params={"lon": 200, "lat": 1}, headers=viewer)
    assert r.status_code == 400 and "lon" in r.json()["message"]
    assert r.json()["code"] == "coordinate_out_of_range"
    r = client.get("/locate", params={"lon": 1, "lat": "nan"}, headers=viewer)
    assert r.status_code == 400 and r.json()["code"] == "coordinate_invalid"
    r = client.get("/locate", params={"lon": "abc", "lat": 1}, headers=viewer)
    assert r.status_code == 422 and "lon" in r.json()["message"]
    r = client.get("/locate", params={"lat": 1}, headers=viewer)
    assert r.status_code == 422 and "lon" in r.json()["message"]
    # the one statement refused the unknown token, the volunteer and the stale cookie
    assert statements.located == 4
