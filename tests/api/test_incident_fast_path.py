"""POST /incidents in one statement (token included), answering the same JSON as GET."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH
from sqlalchemy import Connection, event, text

from gridgeo.incidents.report_sql import REPORT_SQL, fold
from tests.api.incident_city import GRID_A, GRID_B, INSIDE_A, make_users


@pytest.fixture
def users(conn):
    return make_users(conn)


@contextmanager
def statements(conn: Connection) -> Iterator[list[str]]:
    """The SQL statements run on ``conn`` (the test rig's savepoints left out)."""
    seen: list[str] = []

    def before(_c, _cursor, sql, *_args) -> None:
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.append(sql)

    event.listen(conn, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", before)


def post(client, headers, key=None, **fields):
    data = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": "sanitation", **fields}
    return client.post(
        "/incidents", json=data, headers=headers | ({"Idempotency-Key": key} if key else {})
    )


def test_token_account_and_report_in_one_statement(client, users, conn):
    with statements(conn) as seen:
        r = post(client, users["patrol"], key="k-1", accuracy_m=10)
    assert r.status_code == 201, r.text
    assert len(seen) == 1, seen  # the token with its account, and the report
    assert r.json()["reporter"] == "patrol" and r.json()["timeline"][0]["actor"] == "patrol"


def test_the_report_statement_fits_psycopgs_query_cache():
    """Longer, psycopg would parse the 4 KB statement again on every report."""
    assert len(REPORT_SQL.encode()) <= MAX_CACHED_STATEMENT_LENGTH
    assert fold("SELECT  a ,( b )\n FROM t WHERE x = ', ' AND y = ' (  ) '") == (
        "SELECT a,(b)FROM t WHERE x = ', ' AND y = ' (  ) '"
    )


def test_bad_credentials_come_before_a_bad_body_and_nothing_is_stored(client, users, conn):
    count = "SELECT count(*) FROM incidents"
    before = conn.execute(text(count)).scalar_one()
    bad = {"lon": "x", "lat": 1}
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Bearer ggs_not-a-token"}, 401),
        ({"X-API-Key": "ggk_not-a-key"}, 401),
        (users["viewer"], 403),
    ):
        for body in (bad, {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": "sanitation"}):
            r = client.post("/incidents", json=body, headers=headers)
            assert r.status_code == status, (headers, body, r.text)
    # a form (with photos) is not even read for an unknown caller: a broken one is still a 401
    broken = {"Content-Type": "multipart/form-data; boundary=xyz"}
    for headers, status in (({}, 401), (users["viewer"], 403), (users["patrol"], 422)):
        r = client.post("/incidents", content=b"--xyz\r\nbroken", headers=broken | headers)
        assert r.status_code == status, (headers, r.text)
    r = client.post("/incidents", json=bad, headers=users["patrol"])
    assert r.status_code == 422 and r.json()["problems"][0].startswith("lon: "), r.text
    assert conn.execute(text(count)).scalar_one() == before


def test_a_revoked_token_is_refused_at_once(client, users, conn):
    assert post(client, users["patrol"]).status_code == 201
    conn.execute(text("UPDATE tokens SET revoked_at = now()"))
    r = post(client, users["patrol"], key="after")
    assert r.status_code == 401 and "revoked" in r.json()["message"]


CASES = {
    "plain": {},
    "boundary": {"lon": 116.3999, "accuracy_m": 50},
    "zero accuracy": {"accuracy_m": 0},
    "outside": {"lat": 39.951},
    "gcj02": {"coord_system": "gcj02", "description": "路灯"},
}


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_201_answers_the_same_json_as_get(client, users, fields):
    first = post(client, users["dispatcher"], **fields)  # a second one is a likely duplicate
    for r in (first, post(client, users["dispatcher"], key="k", **fields)):
        assert r.status_code == 201, r.text
        again = client.get(f"/incidents/{r.json()['id']}", headers=users["dispatcher"])
        assert r.content == again.content  # the same fields, values and order
    assert "duplicate" in r.json()["flags"]


def test_major_and_replay_answer_the_same_json_as_get(client, users):
    r = post(client, users["patrol"], key="m", major=True)
    assert r.status_code == 201 and r.json()["escalation_level"] == 1
    replay = post(client, users["patrol"], key="m", major=True)
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    get = client.get(f"/incidents/{r.json()['id']}", headers=users["patrol"]).content
    assert r.content == replay.content == get


def test_report_is_audited_once(client, users, conn):
    r = post(client, users["patrol"], key="a")
    post(client, users["patrol"], key="a")
    rows = conn.execute(
        text(
            "SELECT actor, entity, entity_id, detail FROM audit_log WHERE action = 'incident.report'"
        )
    ).all()
    assert [tuple(x) for x in rows] == [
        ("patrol", "incidents", str(r.json()["id"]), {"to_state": "reported"})
    ]


def test_replay_comes_before_the_area_check_and_the_category_before_the_replay(client, users):
    first = post(client, users["patrol"], key="r")
    # the same key from grid B (outside the patrol's area) or far away: the original
    for where in ({"lon": 116.45}, {"lat": 39.97}):
        again = post(client, users["patrol"], key="r", **where)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert post(client, users["patrol"], lon=116.45).status_code == 403
    bad = post(client, users["patrol"], key="r", category="ufo")
    assert bad.status_code == 400 and "unknown category 'ufo'" in bad.json()["message"]


def test_a_category_retired_or_added_is_seen_at_once(client, users):
    admin = users["admin"]
    r = client.patch("/admin/incident-categories/sanitation", json={"active": False}, headers=admin)
    assert r.status_code == 200, r.text
    gone = post(client, users["patrol"])
    assert gone.status_code == 400 and "no longer in use" in gone.json()["message"]
    new = {"key": "noise", "label_zh": "噪音", "label_en": "Noise", "accept_minutes": 30,
           "resolve_minutes": 60}  # fmt: skip
    assert client.post("/admin/incident-categories", json=new, headers=admin).status_code == 201
    assert post(client, users["patrol"], category="noise").status_code == 201


def test_scoped_account_reports_only_in_its_areas(client, users):
    assert post(client, users["patrol_b"], lon=116.45).json()["grid"] == GRID_B
    assert post(client, users["patrol_b"]).status_code == 403
    assert post(client, users["admin"]).json()["grid"] == GRID_A


@pytest.mark.parametrize("ctype", ["application/json", "multipart/form-data; boundary=xyz"])
def test_client_gone_mid_body_is_a_400_not_a_crash(client, users, ctype):
    """Starlette's ClientDisconnect must not reach uvicorn ("Exception in ASGI application")."""
    auth = users["patrol"]["Authorization"].encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/incidents", "raw_path": b"/incidents", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", ctype.encode()),
                    (b"content-length", b"500"), (b"authorization", auth)],
    }  # fmt: skip
    incoming = [
        {"type": "http.request", "body": b'--xyz\r\n{"lon": 116.3', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    async def call() -> None:
        await client.app(scope, receive, send)

    client.portal.call(call)  # raises if the exception escaped the app
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
