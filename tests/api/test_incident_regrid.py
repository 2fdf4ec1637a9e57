"""Regrid: the dispatcher settles a boundary incident's grid among its candidate grids."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from gridgeo.accounts import add_user
from gridgeo.tokens import issue
from tests.api.incident_city import COMM_A, COMM_B, GRID_A, GRID_B, STREET_B, make_users

# 10 m west of the boundary between A and B (lon 116.40); a 50 m circle reaches B
EDGE = {"lon": 116.3999, "lat": 39.90, "category": "sanitation", "accuracy_m": 50}


@pytest.fixture
def users(conn):
    return make_users(conn)


def report(client, headers, **extra):
    r = client.post("/incidents", json=EDGE | extra, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["candidates"] == [GRID_A, GRID_B] and "boundary" in r.json()["flags"]
    return r.json()


def act(client, headers, incident_id, **data):
    body = {"action": "regrid", **data}
    return client.post(f"/incidents/{incident_id}/transitions", json=body, headers=headers)


def test_admin_moves_a_boundary_incident_to_the_other_candidate(client, users, conn):
    inc = report(client, users["patrol"])
    r = act(client, users["admin"], inc["id"], grid=GRID_B, note="摊位在马路对面")
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["grid"] == GRID_B and moved["queue_area"] == GRID_B
    assert [c["code"] for c in moved["chain"]][-2:] == [COMM_B, GRID_B]
    assert moved["state"] == "reported" and "boundary" not in moved["flags"]
    assert moved["candidates"] == [GRID_A, GRID_B]  # what the circle reached, kept
    last = moved["timeline"][-1]
    assert last["action"] == "regrid" and last["actor"] == "admin"
    assert last["note"] == f"{GRID_A} → {GRID_B}: 摊位在马路对面"
    assert last["from_state"] == last["to_state"] == "reported"
    audited = conn.execute(
        text("SELECT count(*) FROM audit_log WHERE action = 'incident.regrid' AND entity_id = :i"),
        {"i": str(inc["id"])},
    ).scalar()
    assert audited == 1
    # the incident is now in grid B's to-do list, and no longer in grid A's
    b_queue = client.get("/incidents?queue=grid", headers=users["patrol_b"]).json()["incidents"]
    a_queue = client.get("/incidents?queue=grid", headers=users["patrol"]).json()["incidents"]
    assert inc["id"] in [i["id"] for i in b_queue]
    assert inc["id"] not in [i["id"] for i in a_queue]


def test_the_dispatcher_confirms_the_grid_once(client, users):
    inc = report(client, users["patrol"])
    r = act(client, users["dispatcher"], inc["id"], grid=GRID_A)
    assert r.status_code == 200, r.text
    assert r.json()["grid"] == GRID_A and "boundary" not in r.json()["flags"]
    assert r.json()["timeline"][-1]["note"] == f"{GRID_A} confirmed"
    again = act(client, users["dispatcher"], inc["id"], grid=GRID_A)
    assert again.status_code == 400 and "already" in again.json()["message"]


def test_bad_regrids_are_refused_and_change_nothing(client, users):
    inc = report(client, users["patrol"])
    cases = [
        (users["dispatcher"], {"grid": GRID_B}, 403, "outside this account's areas"),
        (users["admin"], {"grid": COMM_A}, 400, "not one of"),
        (users["admin"], {"grid": "nosuchgrid"}, 400, f"({GRID_A}, {GRID_B})"),
        (users["admin"], {}, 400, "needs the grid"),
        (users["patrol"], {"grid": GRID_A}, 403, "not permitted"),
    ]
    for headers, data, status, words in cases:
        r = act(client, headers, inc["id"], **data)
        assert r.status_code == status and words in r.json()["message"], (data, r.text)
    now = client.get(f"/incidents/{inc['id']}", headers=users["admin"]).json()
    assert now["grid"] == GRID_A and "boundary" in now["flags"] and len(now["timeline"]) == 1


def test_an_escalated_incident_keeps_its_level_above_the_new_grid(client, users):
    inc = report(client, users["patrol"], major=True)  # major: at the community's queue
    got = client.get(f"/incidents/{inc['id']}", headers=users["admin"]).json()
    assert got["escalation_level"] == 1 and got["queue_area"] == COMM_A
    r = act(client, users["admin"], inc["id"], grid=GRID_B)
    assert r.status_code == 200, r.text
    assert r.json()["escalation_level"] == 1 and r.json()["queue_area"] == COMM_B


def test_a_grid_dispatch_follows_the_grid_a_department_does_not(client, users):
    to_grid = report(client, users["patrol"])
    to_dep = report(client, users["patrol"], category="broken_facility")
    r = client.post(
        f"/incidents/{to_grid['id']}/transitions", json={"action": "dispatch"},
        headers=users["admin"],
    )  # fmt: skip
    assert r.json()["assignee"] == f"grid:{GRID_A}"
    deps = client.get("/departments", headers=users["admin"]).json()
    name = next(d["name"] for d in deps if "broken_facility" in d["categories"])
    r = client.post(
        f"/incidents/{to_dep['id']}/transitions",
        json={"action": "dispatch", "department": name}, headers=users["admin"],
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert act(client, users["admin"], to_grid["id"], grid=GRID_B).json()["assignee"] == (
        f"grid:{GRID_B}"
    )
    assert act(client, users["admin"], to_dep["id"], grid=GRID_B).json()["assignee"] == name


def test_a_street_dispatcher_of_b_cannot_take_an_incident_of_a(client, users, conn):
    acc = add_user(conn, name="disp_b", role="dispatcher", areas=[STREET_B],
                   password="pw-12345678", actor="t")  # fmt: skip
    tok = issue(conn, acc.id, "session", timedelta(minutes=5)).token
    inc = report(client, users["patrol"])
    r = act(client, {"Authorization": f"Bearer {tok}"}, inc["id"], grid=GRID_B)
    assert r.status_code == 403  # the incident is in A, outside street B: not theirs to move
