"""Who may call what: every role × endpoint family, tokens, keys, rate limits, bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from api.auth import declared_roles
from gridgeo.accounts import add_user
from gridgeo.tokens import issue
from tests.helpers import add_strip

DISTRICT, STREET_A, STREET_B = "110101", "110101001", "110101002"
COMM_A, GRID_A = "110101001001", "110101001001001"
COMM_B, GRID_B = "110101002001", "110101002001001"
PW = "right-password-1"


@pytest.fixture
def city(conn):
    add_strip(conn, DISTRICT, "district", 0, 2)
    add_strip(conn, STREET_A, "street", 0, 1, DISTRICT)
    add_strip(conn, STREET_B, "street", 1, 2, DISTRICT)
    add_strip(conn, COMM_A, "community", 0, 1, STREET_A)
    add_strip(conn, COMM_B, "community", 1, 2, STREET_B)
    add_strip(conn, GRID_A, "grid", 0, 1, COMM_A)
    add_strip(conn, GRID_B, "grid", 1, 2, COMM_B)
    conn.execute(
        text(
            "INSERT INTO households (location, household_count, address, external_id) VALUES "
            "(ST_Point(0.5, 0.5, 4326), 120, '和平路1号', 'EXT-A'),"
            "(ST_Point(1.5, 0.5, 4326), 80, '和平路2号', 'EXT-B')"
        )
    )
    from gridgeo.bulk_assign import assign_households

    assign_households(conn)


@pytest.fixture
def users(conn, city):
    """Authorization headers per role; the scoped roles work in street A."""
    plan = {
        "admin": [],
        "planner": [STREET_A],
        "dispatcher": [STREET_A],
        "patrol": [GRID_A],
        "viewer": [STREET_A],
    }
    out = {}
    for role, areas in plan.items():
        acc = add_user(conn, name=role, role=role, areas=areas, password=PW, actor="test")
        tok = issue(conn, acc.id, "session", timedelta(minutes=5))
        out[role] = {"Authorization": f"Bearer {tok.token}"}
    return out


ROLES = ["admin", "planner", "dispatcher", "patrol", "viewer"]


def test_every_route_declares_its_callers(client):
    undeclared = [
        f"{sorted(r.methods)} {r.path}"
        for r in client.app.routes
        if isinstance(r, APIRoute) and declared_roles(r.dependant) is None
    ]
    assert undeclared == []


@pytest.mark.parametrize(
    "path",
    [
        "/levels",
        "/grids",
        f"/grids/{GRID_A}",
        "/locate?lon=0.5&lat=0.5",
        "/households",
        "/map",
        "/auth/me",
        "/admin/users",
    ],
)
def test_anonymous_gets_401_except_health(client, users, path):
    assert client.get("/health").status_code == 200
    r = client.get(path)
    assert r.status_code == 401, (path, r.text)
    assert r.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize("role", ROLES)
def test_grids_allowed_in_area_denied_outside(client, users, role):
    h = users[role]
    inside = GRID_A
    assert client.get(f"/grids/{inside}", headers=h).status_code == 200
    listed = {f["properties"]["code"] for f in client.get("/grids", headers=h).json()["features"]}
    if role == "admin":
        assert GRID_B in listed
        assert client.get(f"/grids/{GRID_B}", headers=h).status_code == 200
        return
    assert GRID_B not in listed and DISTRICT not in listed
    hidden = client.get(f"/grids/{GRID_B}", headers=h)
    missing = client.get("/grids/110101009009009", headers=h)
    # outside the area: 403 whether or not the grid exists, with the same message
    assert hidden.status_code == missing.status_code == 403
    assert hidden.json()["message"] == missing.json()["message"]
    assert client.get("/grids", params={"parent": STREET_B}, headers=h).status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_households_only_for_planner_and_patrol_in_area(client, users, role):
    h = users[role]
    r = client.get("/households", params={"grid": GRID_A}, headers=h)
    if role in ("planner", "patrol"):
        assert r.status_code == 200
        assert [f["properties"]["external_id"] for f in r.json()["features"]] == ["EXT-A"]
        everything = client.get("/households", headers=h).json()["features"]
        assert {f["properties"]["external_id"] for f in everything} == {"EXT-A"}
        assert client.get("/households", params={"grid": GRID_B}, headers=h).status_code == 403
    else:
        assert r.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_locate_levels_me_for_every_role(client, users, role):
    h = users[role]
    assert client.get("/locate", params={"lon": 0.5, "lat": 0.5}, headers=h).status_code == 200
    assert client.get("/levels", headers=h).status_code == 200
    me = client.get("/auth/me", headers=h).json()
    assert me["role"] == role


@pytest.mark.parametrize("role", ROLES)
def test_admin_endpoints_only_for_admin(client, users, role):
    h = users[role]
    r = client.get("/admin/users", headers=h)
    body = {"name": f"new_{role}", "role": "viewer", "areas": [STREET_A], "password": "pw-123456"}
    created = client.post("/admin/users", json=body, headers=h)
    if role == "admin":
        assert r.status_code == 200 and {u["name"] for u in r.json()} >= set(ROLES)
        assert created.status_code == 201
    else:
        assert r.status_code == 403 and created.status_code == 403


def test_viewer_never_sees_household_level_data(client, users):
    h = users["viewer"]
    blobs = [
        client.get("/grids", headers=h).text,
        client.get(f"/grids/{GRID_A}", headers=h).text,
        client.get("/map", headers=h).text,
        client.get("/households", headers=h).text,
        client.get("/locate", params={"lon": 0.5, "lat": 0.5}, headers=h).text,
    ]
    for blob in blobs:
        assert "EXT-A" not in blob and "和平路" not in blob and "external_id" not in blob
    # but the aggregate count is there
    assert client.get(f"/grids/{GRID_A}", headers=h).json()["properties"]["households"] == 120


def test_public_maps_switch(client, users):
    assert client.get("/map").status_code == 401
    client.app.state.settings = client.app.state.settings.replace(public_maps=True)
    r = client.get("/map")
    assert r.status_code == 200 and "EXT-A" not in r.text
    assert client.get("/grids").status_code == 401  # only the maps open up


def test_login_token_logout(client, users):
    r = client.post("/auth/token", data={"username": "planner", "password": PW})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/auth/me", headers=h).json()["name"] == "planner"
    assert client.post("/auth/logout", headers=h).status_code == 200
    assert client.get("/auth/me", headers=h).status_code == 401


def test_wrong_password_expired_forged_tokens_are_401(client, conn, users):
    assert (
        client.post(
            "/auth/token", data={"username": "planner", "password": "nope-nope"}
        ).status_code
        == 401
    )
    assert (
        client.post("/auth/token", data={"username": "ghost", "password": "nope-nope"}).status_code
        == 401
    )
    uid = conn.execute(text("SELECT id FROM users WHERE name = 'planner'")).scalar()
    expired = issue(conn, uid, "session", timedelta(seconds=-1))
    assert (
        client.get("/auth/me", headers={"Authorization": f"Bearer {expired.token}"}).status_code
        == 401
    )
    forged = "ggs_" + "A" * 43
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert (
        client.get("/auth/me", headers={"Authorization": "Bearer x' OR '1'='1"}).status_code == 401
    )


def test_disabled_account_tokens_stop_at_once(client, users):
    h = users["patrol"]
    assert client.get("/auth/me", headers=h).status_code == 200
    r = client.patch("/admin/users/patrol", json={"disabled": True}, headers=users["admin"])
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get("/auth/me", headers=h).status_code == 401
    assert (
        client.post("/auth/token", data={"username": "patrol", "password": PW}).status_code == 401
    )


def test_api_keys_shown_once_hashed_and_revocable(client, conn, users):
    r = client.post("/admin/users/planner/keys", json={"label": "etl"}, headers=users["admin"])
    assert r.status_code == 201
    key, key_id = r.json()["api_key"], r.json()["id"]
    stored = conn.execute(
        text("SELECT token_hash FROM tokens WHERE id = :i"), {"i": key_id}
    ).scalar()
    assert key.encode() not in bytes(stored)
    listed = client.get("/admin/users/planner/keys", headers=users["admin"]).json()
    assert key not in json.dumps(listed, default=str)
    assert client.get("/auth/me", headers={"X-API-Key": key}).json()["name"] == "planner"
    assert client.delete(f"/auth/keys/{key_id}", headers=users["admin"]).status_code == 200
    assert client.get("/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_failed_logins_are_rate_limited_per_account(client, users):
    for _ in range(5):
        r = client.post("/auth/token", data={"username": "viewer", "password": "wrong-pass"})
        assert r.status_code == 401
    r = client.post("/auth/token", data={"username": "viewer", "password": PW})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_failed_logins_are_rate_limited_per_address(client, users):
    client.app.state.settings = client.app.state.settings.replace(login_failures_per_address=3)
    for i in range(3):
        client.post("/auth/token", data={"username": f"nobody{i}", "password": "wrong-pass"})
    r = client.post("/auth/token", data={"username": "admin", "password": PW})
    assert r.status_code == 429


def test_audit_records_who_changed_what(client, conn, users):
    client.post(
        "/admin/users",
        json={"name": "audited", "role": "viewer", "areas": [STREET_A], "password": "pw-123456"},
        headers=users["admin"],
    )
    row = conn.execute(
        text("SELECT actor, action FROM audit_log WHERE entity_id = 'audited'")
    ).one()
    assert tuple(row) == ("admin", "user.add")


INJECTIONS = ["1' OR '1'='1", "'; DROP TABLE grids; --", "110101%", "\\x00", "é' UNION SELECT 1--"]


@pytest.mark.parametrize("bad", INJECTIONS)
def test_sql_injection_in_every_string_parameter_is_harmless(client, conn, users, bad):
    h = users["admin"]
    hp = users["planner"]
    responses = [
        client.get(f"/grids/{bad}", headers=h),
        client.get("/grids", params={"level": bad}, headers=h),
        client.get("/grids", params={"parent": bad}, headers=h),
        client.get("/grids", params={"bbox": bad}, headers=h),
        client.get("/households", params={"grid": bad}, headers=hp),
        client.get("/households", params={"bbox": bad}, headers=hp),
        client.get("/locate", params={"lon": bad, "lat": 1}, headers=h),
        client.post("/auth/token", data={"username": bad, "password": bad}),
        client.patch(f"/admin/users/{bad}", json={"disabled": True}, headers=h),
        client.post(
            "/admin/users", json={"name": bad, "role": bad, "password": "x" * 9}, headers=h
        ),
    ]
    for r in responses:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text)
    assert conn.execute(text("SELECT count(*) FROM grids")).scalar() == 7


def test_oversized_and_malformed_bodies_are_4xx(client, users):
    h = {**users["admin"], "Content-Type": "application/json"}
    big = b'{"name": "' + b"x" * (10 * 1024 * 1024 + 10) + b'"}'
    r = client.post("/admin/users", content=big, headers=h)
    assert r.status_code == 413 and "limit" in r.json()["message"]
    r = client.post("/admin/users", content=b'{"name": "a", ', headers=h)
    assert r.status_code == 422 and r.json()["message"]
    r = client.post("/admin/users", content=b"[1, 2]", headers=h)
    assert r.status_code == 422


def test_validation_messages_never_echo_passwords(client, users):
    r = client.post(
        "/admin/users",
        json={"name": "x", "role": "viewer", "password": "short"},
        headers=users["admin"],
    )
    assert r.status_code == 422 and "short" not in r.text


def test_browser_session_cookie_for_pages_only(client, users):
    page = client.get("/map", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fmap"
    assert "登录" in client.get("/login").text
    r = client.post("/auth/token?session=true", data={"username": "viewer", "password": PW})
    assert r.status_code == 200
    cookie = r.cookies.get("gridgeo_session")
    assert cookie and "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    # the cookie opens read-only pages and data ...
    assert client.get("/map").status_code == 200
    assert client.get("/auth/me").json()["name"] == "viewer"
    # ... but never a change: a POST with only the cookie carries no credential
    assert client.post("/auth/logout").status_code == 401
    # a plain token request sets no cookie
    client.cookies.clear()
    r = client.post("/auth/token", data={"username": "viewer", "password": PW})
    assert "set-cookie" not in r.headers
