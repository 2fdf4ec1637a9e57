"""POST /balance: roles, area scoping and bad input (nothing is stored)."""

import pytest
from sqlalchemy import text

from gridgeo.bulk_assign import assign_households
from tests.helpers import C1, C2, S1, S2, add_strip_city


@pytest.fixture
def city(conn):
    add_strip_city(conn)
    conn.execute(  # 40 buildings of 30 households in C1, none in C2
        text(
            "INSERT INTO households (location, household_count) "
            "SELECT ST_Point(0.05 + 0.1 * (i % 20) + 0.001 * (i % 7), "
            "                0.2 + 0.5 * (i / 20) + 0.001 * (i % 5), 4326), 30 "
            "FROM generate_series(0, 39) i"
        )
    )
    assign_households(conn)


def _stored(conn) -> tuple:
    return (
        conn.execute(text("SELECT count(*) FROM grids")).scalar(),
        conn.execute(text("SELECT count(*), sum(grid_id) FROM household_grid")).one(),
    )


def test_planner_gets_a_proposal(client, city, conn, login_as):
    before = _stored(conn)
    r = client.post("/balance", json={"area": C1}, headers=login_as("planner", S1))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection"
    s = body["summary"]
    assert s["k"] == 3 and s["k_source"] == "workers" and s["households"] == 1200
    assert len(body["features"]) == 3
    assert s["max_abs_deviation"] <= 0.1 and s["feasible"]
    assert {"households", "deviation", "polsby_popper"} <= set(body["features"][0]["properties"])
    r = client.post("/balance", json={"area": C1, "k": 4}, headers=login_as("admin"))
    assert r.status_code == 200 and r.json()["summary"]["k"] == 4
    assert _stored(conn) == before


@pytest.mark.parametrize("role", ["viewer", "dispatcher", "patrol"])
def test_other_roles_denied(client, city, login_as, role):
    headers = login_as(role, S1)
    assert client.post("/balance", json={"area": C1}, headers=headers).status_code == 403


def test_planner_outside_area_denied_and_anonymous_401(client, city, login_as):
    r = client.post("/balance", json={"area": C1}, headers=login_as("planner", S2))
    assert r.status_code == 403
    assert client.post("/balance", json={"area": C1}).status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"area": "110101009009"}, 404),
        ({"area": C1, "k": 0}, 422),
        ({"area": C1, "k": -2}, 422),
        ({"area": C1, "target": 0}, 422),
        ({"area": C2}, 400),
        ({"area": C1, "band": 1.5}, 422),
    ],
)
def test_bad_input(client, city, conn, login_as, body, status):
    before = _stored(conn)
    r = client.post("/balance", json=body, headers=login_as("admin"))
    assert r.status_code == status, r.text
    assert r.json()["message"]
    assert _stored(conn) == before


def test_zero_workers_needs_k(client, city, conn, login_as):
    conn.execute(text("UPDATE grids SET workers = 0 WHERE code LIKE :c"), {"c": C1 + "%"})
    r = client.post("/balance", json={"area": C1}, headers=login_as("admin"))
    assert r.status_code == 400 and "workers" in r.json()["message"]
    r = client.post("/balance", json={"area": C1, "target": 300}, headers=login_as("admin"))
    assert r.status_code == 200 and r.json()["summary"]["k"] == 4
