"""The anchors of ``bench/incidents_load.py``: the product app plus two bench-only routes.

Run with ``uvicorn --factory bench.anchor_app:create_anchor_app`` and ``GRIDGEO_DATABASE_URL``.
The app is :func:`api.app.create_app` (same middleware, error handlers and uvicorn settings as
``gridgeo serve``) with two routes added here, never in the product:

* ``GET /bench/hello``: a constant JSON answer: the stack's ceiling;
* ``POST /bench/minimal``: the same locate + insert as ``POST /incidents`` in one raw psycopg
  statement (autocommit) on a small pool of connections, with no validation, no auth, no
  idempotency check, no duplicate search and no audit event.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import psycopg
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from api.app import create_app
from gridgeo.db import libpq_conninfo
from gridgeo.settings import get_settings

# The leaf rule of gridgeo/rules.py (gridgeo_leaf), then one insert: the minimum a report costs.
MINIMAL_SQL = """
INSERT INTO incidents (location, grid_id, category, description, reported_at, state,
    accuracy_m, reporter, idempotency_key, queue_area, updated_at)
SELECT pt.g, leaf.grid_id, %(category)s, '', now(), 'reported', %(accuracy_m)s, 'bench-anchor',
    %(key)s, leaf.code, now()
FROM (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g) pt
CROSS JOIN LATERAL gridgeo_leaf(pt.g) leaf
RETURNING id, queue_area
"""


class RawPool:
    """At most ``size`` autocommit psycopg connections, opened on first use."""

    def __init__(self, conninfo: str, size: int) -> None:
        self.conninfo = conninfo
        self._idle: list[psycopg.Connection[Any]] = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()

    def one(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run one statement on a pooled connection; its first row."""
        with self._slots:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = psycopg.connect(self.conninfo, autocommit=True)
            try:
                row = conn.execute(sql, params).fetchone()
            except BaseException:
                conn.close()
                raise
            with self._lock:
                self._idle.append(conn)
            return row


def create_anchor_app() -> FastAPI:
    """The product app from the environment, plus ``/bench/hello`` and ``/bench/minimal``."""
    settings = get_settings()
    app = create_app(settings)
    # as many connections as the product's engine may open (pool_size + max_overflow)
    database = settings.database
    pool = RawPool(libpq_conninfo(database.database_url), 2 * database.pool_size)

    async def hello() -> Response:
        return Response(b'{"hello":"world"}', media_type="application/json")

    async def minimal(request: Request) -> Response:
        data = json.loads(await request.body())
        params = {"lon": data["lon"], "lat": data["lat"], "category": data["category"],
                  "accuracy_m": data.get("accuracy_m"),
                  "key": request.headers.get("idempotency-key")}  # fmt: skip
        row = await run_in_threadpool(pool.one, MINIMAL_SQL, params)
        if row is None:
            return Response(b'{"detail":"outside every grid"}', status_code=422)
        body = json.dumps({"id": row[0], "grid": row[1]}).encode()
        return Response(body, status_code=201, media_type="application/json")

    app.add_api_route("/bench/hello", hello, methods=["GET"])
    app.add_api_route("/bench/minimal", minimal, methods=["POST"])
    # first in the table, as the product's POST /incidents is (api.app): no route matching
    # through the other routers for either
    routes = app.router.routes
    routes[0:0] = [routes.pop(), routes.pop()][::-1]
    return app
