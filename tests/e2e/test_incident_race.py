"""Racing retries over real HTTP: many connections POST one Idempotency-Key at the same moment.

Against the live server (uvicorn on loopback, the demo city): exactly one incident is stored
per key and every reply carries its id; one reply is 201, the others 200 replays.
"""

from __future__ import annotations

import threading
import uuid

import httpx
from sqlalchemy import text

from tests.e2e.conftest import token
from tests.e2e.test_report_page import GRID, _inside

CLIENTS = 32
ROUNDS = 5


def _race(url: str, headers: dict[str, str], body: dict, key: str) -> list[httpx.Response]:
    start = threading.Barrier(CLIENTS)
    replies: list[httpx.Response] = []
    lock = threading.Lock()

    def one() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:  # a connection of its own
            c.get("/health")  # connected before the start line
            start.wait()
            r = c.post("/incidents", json=body, headers={**headers, "Idempotency-Key": key})
            with lock:
                replies.append(r)

    threads = [threading.Thread(target=one) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def test_concurrent_retries_store_one_incident(live_server, demo_engine):
    lon, lat = _inside(demo_engine, GRID)
    headers = {"Authorization": f"Bearer {token(live_server, 'patrol', 'patrol-demo-2026')}"}
    tag = uuid.uuid4().hex[:10]
    for n in range(ROUNDS):
        key = f"race-{tag}-{n}"
        body = {"lon": lon, "lat": lat, "category": "other", "description": f"race {key}"}
        replies = _race(live_server, headers, body, key)
        assert len(replies) == CLIENTS
        assert all(r.status_code in (200, 201) for r in replies), [r.text for r in replies]
        assert sorted(r.status_code for r in replies) == [200] * (CLIENTS - 1) + [201]
        ids = {r.json()["id"] for r in replies}
        assert len(ids) == 1
        with demo_engine.connect() as conn:
            stored = conn.execute(
                text(
                    "SELECT i.id, count(e.id) FROM incidents i JOIN incident_events e "
                    "ON e.incident_id = i.id WHERE i.reporter = 'patrol' AND "
                    "i.idempotency_key = :k GROUP BY i.id"
                ),
                {"k": key},
            ).all()
        assert [tuple(s) for s in stored] == [(ids.pop(), 1)]  # one incident, one report event
