"""The plans API over HTTP: roles and areas, edit errors, preview, commit, 409, history, revert."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from tests.plan_city import A, B, C, S, add_plan_city, box, households_of

NEW = C + "005"


@pytest.fixture
def city(conn: Connection) -> None:
    add_plan_city(conn)


def split(code: str, frac: float = 0.5) -> dict[str, Any]:
    x0, y0, x1, y1 = box(code)
    x = x0 + frac * (x1 - x0)
    return {
        "op": "split",
        "code": code,
        "line": {"type": "LineString", "coordinates": [[x, y0 - 1e-4], [x, y1 + 1e-4]]},
    }


def open_plan(client: TestClient, headers: dict[str, str], area: str = C) -> int:
    r = client.post("/plans", json={"area": area, "title": "split A"}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/plans/{r.json()['id']}"
    return int(r.json()["id"])


def test_split_preview_commit_history_revert(
    client: TestClient, login_as: Any, conn: Connection, city: None
) -> None:
    planner = login_as("planner", S)
    pid = open_plan(client, planner)
    r = client.post(f"/plans/{pid}/edits", json=split(A), headers=planner)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changed"] == [A, NEW] and body["edit"]["seq"] == 1
    states = {f["properties"]["code"]: f["properties"]["state"] for f in body["draft"]["features"]}
    assert states[A] == "changed" and states[NEW] == "created" and states[B] == "unchanged"

    p = client.get(f"/plans/{pid}/preview", headers=planner).json()
    assert p["ok"] and p["impact"]["households_moved"] == 50
    assert p["changed_area"]["type"] in ("Polygon", "MultiPolygon")

    r = client.post(f"/plans/{pid}/commit", json={"message": "A is too big"}, headers=planner)
    assert r.status_code == 200, r.text
    change_id = r.json()["change_id"]
    assert r.json()["plan"]["status"] == "committed"
    assert households_of(conn, NEW) == 50

    hist = client.get(f"/grids/{A}/history", headers=planner).json()["features"]
    assert [f["properties"]["version"] for f in hist] == [1, 2]
    assert hist[1]["properties"]["message"] == "A is too big"
    assert client.get(f"/changes/{change_id}", headers=planner).json()["kind"] == "plan"

    r = client.post(f"/changes/{change_id}/revert", json={"message": "too early"}, headers=planner)
    assert r.status_code == 200, r.text
    assert households_of(conn, A) == 100
    r = client.post(f"/changes/{change_id}/revert", json={"message": "again"}, headers=planner)
    assert r.status_code == 409 and A in r.json()["grids"]


def test_roles_and_areas(client: TestClient, login_as: Any, conn: Connection, city: None) -> None:
    body = {"area": C, "title": "x"}
    assert client.post("/plans", json=body).status_code == 401
    assert client.post("/plans", json=body, headers=login_as("patrol", C)).status_code == 403
    assert client.post("/plans", json=body, headers=login_as("viewer", C)).status_code == 403
    from tests.helpers import add_box

    add_box(conn, "370705002", "street", 120.1, 36.1, 120.2, 36.2, "370705")
    elsewhere = login_as("planner", "370705002")
    r = client.post("/plans", json=body, headers=elsewhere)
    assert r.status_code == 403
    pid = open_plan(client, login_as("planner", C))
    assert client.get(f"/plans/{pid}", headers=elsewhere).status_code == 403
    r = client.post(f"/plans/{pid}/edits", json=split(A), headers=elsewhere)
    assert r.status_code == 403
    listed = client.get("/plans", headers=elsewhere).json()["plans"]
    assert pid not in [p["id"] for p in listed]
    assert pid in [p["id"] for p in client.get("/plans", headers=login_as("admin")).json()["plans"]]


def test_bad_edit_is_a_400_naming_the_grid_and_changes_nothing(
    client: TestClient, login_as: Any, city: None
) -> None:
    planner = login_as("planner", C)
    pid = open_plan(client, planner)
    x0, y0, x1, y1 = box(A)
    unclosed = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]}
    r = client.post(
        f"/plans/{pid}/edits",
        json={"op": "replace", "code": A, "geometry": unclosed},
        headers=planner,
    )
    assert r.status_code == 400
    assert r.json()["message"].startswith(f"grid {A}: the polygon exterior ring is not closed")
    r = client.post(f"/plans/{pid}/edits", json={"op": "merge", "codes": [A]}, headers=planner)
    assert r.status_code == 400 and "two or more" in r.json()["message"]
    plan = client.get(f"/plans/{pid}", headers=planner).json()
    assert plan["edits"] == []
    assert all(f["properties"]["state"] == "unchanged" for f in plan["draft"]["features"])
    r = client.post(f"/plans/{pid}/commit", json={"message": ""}, headers=planner)
    assert r.status_code in (400, 422) and "message" in r.text
    assert client.get("/plans/99999", headers=planner).status_code == 404


def test_topology_errors_block_commit_with_located_problems(
    client: TestClient, login_as: Any, city: None
) -> None:
    planner = login_as("planner", C)
    pid = open_plan(client, planner)
    x0, y0, x1, y1 = box(A)
    small = [[x0, y0], [x1 - 5e-4, y0], [x1 - 5e-4, y1], [x0, y1], [x0, y0]]
    client.post(
        f"/plans/{pid}/edits",
        json={"op": "replace", "code": A, "geometry": {"type": "Polygon", "coordinates": [small]}},
        headers=planner,
    )
    p = client.get(f"/plans/{pid}/preview", headers=planner).json()
    assert not p["ok"] and p["errors"] == 1
    gap = p["problems"][0]
    assert gap["kind"] == "gap" and gap["location"] and gap["geometry"]["type"] == "Polygon"
    r = client.post(f"/plans/{pid}/commit", json={"message": "gap"}, headers=planner)
    assert r.status_code == 400 and r.json()["problems"][0]["kind"] == "gap"
    r = client.delete(f"/plans/{pid}/edits/last", headers=planner)
    assert r.status_code == 200 and "undid" in r.json()["edit"]["summary"]
    r = client.post(f"/plans/{pid}/discard", headers=planner)
    assert r.json()["plan"]["status"] == "discarded"


def test_concurrent_plans_second_commit_is_409(
    client: TestClient, login_as: Any, city: None
) -> None:
    planner = login_as("planner", C)
    first, second = open_plan(client, planner), open_plan(client, planner)
    client.post(f"/plans/{first}/edits", json=split(A), headers=planner)
    client.post(f"/plans/{second}/edits", json=split(A, 0.3), headers=planner)
    assert client.post(f"/plans/{first}/commit", json={"message": "1"}, headers=planner).is_success
    r = client.post(f"/plans/{second}/commit", json={"message": "2"}, headers=planner)
    assert r.status_code == 409
    assert r.json()["grids"][0] == A and "Nothing was applied" in r.json()["message"]
    assert client.get(f"/plans/{second}", headers=planner).json()["plan"]["status"] == "open"


def test_revert_needs_every_touched_grid_in_the_callers_areas(
    client: TestClient, login_as: Any, conn: Connection, city: None
) -> None:
    planner = login_as("planner", C)
    pid = open_plan(client, planner)
    client.post(f"/plans/{pid}/edits", json=split(A), headers=planner)
    change = client.post(f"/plans/{pid}/commit", json={"message": "x"}, headers=planner).json()
    from tests.helpers import add_box

    add_box(conn, "370705002", "street", 120.1, 36.1, 120.2, 36.2, "370705")
    elsewhere = login_as("planner", "370705002")
    r = client.post(
        f"/changes/{change['change_id']}/revert", json={"message": "no"}, headers=elsewhere
    )
    assert r.status_code == 403
    assert households_of(conn, NEW) == 50  # nothing reverted
