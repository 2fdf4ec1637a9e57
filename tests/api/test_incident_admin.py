"""Admin endpoints for incident categories and linked departments."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.api.incident_city import INSIDE_A, make_users


@pytest.fixture
def users(conn):
    return make_users(conn)


NOISE = {"key": "noise", "label_zh": "噪音扰民", "label_en": "Noise", "accept_minutes": 20,
         "resolve_minutes": 120}  # fmt: skip


def report(client, headers, category):
    data = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": category}
    return client.post("/incidents", json=data, headers=headers)


def audit(conn, action):
    return conn.execute(text("SELECT count(*) FROM audit_log WHERE action = :a"), {"a": action})


def test_category_lifecycle(client, users, conn):
    h = users["admin"]
    r = client.post("/admin/incident-categories", json=NOISE, headers=h)
    assert r.status_code == 201, r.text
    assert r.json() == {**NOISE, "active": True, "public": False, "code": None}
    assert "noise" in [c["key"] for c in client.get("/categories", headers=h).json()]
    inc = report(client, users["patrol"], "noise")
    assert inc.status_code == 201, inc.text
    # the time limit of the new category applies
    assert inc.json()["accept_due"].startswith("20") and inc.json()["category"] == "noise"
    dup = client.post("/admin/incident-categories", json={**NOISE, "label_zh": "别的"}, headers=h)
    assert dup.status_code == 409 and "already exists" in dup.json()["message"]

    r = client.patch("/admin/incident-categories/noise", json={"accept_minutes": 15}, headers=h)
    assert r.status_code == 200 and r.json()["accept_minutes"] == 15
    r = client.patch("/admin/incident-categories/noise", json={"active": False}, headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    assert "noise" not in [c["key"] for c in client.get("/categories", headers=h).json()]
    listed = client.get("/admin/incident-categories", headers=h).json()
    assert {c["key"]: c["active"] for c in listed}["noise"] is False
    refused = report(client, users["patrol"], "noise")
    assert refused.status_code == 400
    assert "'noise' is no longer in use" in refused.json()["message"]
    # the old incident keeps its category
    old = client.get(f"/incidents/{inc.json()['id']}", headers=h).json()
    assert old["category"] == "noise"
    # a retired key cannot be taken again: it is reactivated instead
    again = client.post("/admin/incident-categories", json=NOISE, headers=h)
    assert again.status_code == 409
    r = client.patch("/admin/incident-categories/noise", json={"active": True}, headers=h)
    assert (
        r.json()["active"] is True and report(client, users["patrol"], "noise").status_code == 201
    )
    r = client.patch("/admin/incident-categories/noise", json={"public": True}, headers=h)
    assert r.status_code == 200 and r.json()["public"] is True
    assert audit(conn, "category.add").scalar() == 1
    assert audit(conn, "category.update").scalar() == 4


@pytest.mark.parametrize(
    "change,status,word",
    [
        ({"key": "Noise!"}, 400, "category key"),
        ({"accept_minutes": 0}, 400, "accept_minutes"),
        ({"resolve_minutes": 10**9}, 400, "resolve_minutes"),
        ({"label_zh": "  "}, 400, "label_zh"),
        ({"label_en": None}, 422, "label_en"),
    ],
)
def test_bad_category_is_refused(client, users, conn, change, status, word):
    r = client.post("/admin/incident-categories", json={**NOISE, **change}, headers=users["admin"])
    assert r.status_code == status, r.text
    assert word in r.json()["message"]
    assert conn.execute(text("SELECT count(*) FROM incident_categories")).scalar() == 5


def test_unknown_category_and_field(client, users):
    h = users["admin"]
    r = client.patch("/admin/incident-categories/ufo", json={"active": False}, headers=h)
    assert r.status_code == 404 and "ufo" in r.json()["message"]
    r = client.patch("/admin/incident-categories/dispute", json={"label_en": ""}, headers=h)
    assert r.status_code == 400 and "label_en" in r.json()["message"]


def test_department_lifecycle(client, users, conn):
    h = users["admin"]
    r = client.post("/admin/departments", json={"name": "消防救援站",
                    "categories": ["safety_hazard", "safety_hazard"]}, headers=h)  # fmt: skip
    assert r.status_code == 201, r.text
    dep = r.json()
    assert dep["categories"] == ["safety_hazard"] and dep["active"] is True
    dup = client.post("/admin/departments", json={"name": "消防救援站"}, headers=h)
    assert dup.status_code == 409 and "already exists" in dup.json()["message"]
    bad = client.post("/admin/departments", json={"name": "x", "categories": ["ufo"]}, headers=h)
    assert bad.status_code == 400 and "unknown categories: ufo" in bad.json()["message"]
    clash = client.patch(f"/admin/departments/{dep['id']}", json={"name": "司法所"}, headers=h)
    assert clash.status_code == 409 and "司法所" in clash.json()["message"]

    # dispatch to it, then retire it: no new dispatches
    i = report(client, users["patrol"], "safety_hazard").json()["id"]
    act = {"action": "dispatch", "department": "消防救援站"}
    assert client.post(f"/incidents/{i}/transitions", json=act, headers=h).status_code == 200
    r = client.patch(f"/admin/departments/{dep['id']}",
                     json={"active": False, "categories": ["safety_hazard", "dispute"]},
                     headers=h)  # fmt: skip
    assert r.status_code == 200 and r.json()["active"] is False
    assert r.json()["categories"] == ["dispute", "safety_hazard"]
    assert "消防救援站" not in [d["name"] for d in client.get("/departments", headers=h).json()]
    assert {d["name"] for d in client.get("/admin/departments", headers=h).json()} >= {"消防救援站"}
    j = report(client, users["patrol"], "dispute").json()["id"]
    r = client.post(f"/incidents/{j}/transitions", json={**act}, headers=h)
    assert r.status_code == 400 and "inactive department" in r.json()["message"]
    assert client.get(f"/incidents/{i}", headers=h).json()["department"] == "消防救援站"
    assert client.patch("/admin/departments/999999", json={}, headers=h).status_code == 404


@pytest.mark.parametrize("role", ["planner", "dispatcher", "patrol", "viewer"])
def test_only_admins(client, users, role):
    h = users[role]
    assert client.post("/admin/incident-categories", json=NOISE, headers=h).status_code == 403
    assert client.patch("/admin/departments/1", json={}, headers=h).status_code == 403
    assert client.get("/admin/departments", headers=h).status_code == 403
    assert client.post("/admin/departments", json={"name": "x"}).status_code == 401
