"""Deliberation (网格议事 · 会议定事 · 联动办事) and volunteers (党员领单) over HTTP (issue 21).

A resident's matter marked for deliberation goes through a grid discussion, a recorded meeting
decision, a linked task tracked to closure and the resident's rating, each on its timeline, and
the evaluation counts it decided; a volunteer claims and completes a request.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from gridgeo.accounts import add_user
from gridgeo.tokens import issue
from tests.api.incident_city import GRID_A, INSIDE_A, make_users
from tests.api.test_residents_api import (
    T0,
    at,
    close_loop,
    follow,
    queued,
    raise_one,
    resident_client,
)


@pytest.fixture
def client(engine, conn, tmp_path):
    yield from resident_client(engine, conn, tmp_path)


@pytest.fixture
def users(conn):
    out = make_users(conn)
    for name, areas in (("volunteer_b", ["110101002001"]),):
        acc = add_user(conn, name=name, role="volunteer", areas=areas, password="pw-12345678",
                       actor="t")  # fmt: skip
        out[name] = {
            "Authorization": f"Bearer {issue(conn, acc.id, 'session', timedelta(minutes=5)).token}"
        }
    return out


def step(client, users, incident, name, who="dispatcher", **body):
    return client.post(f"/incidents/{incident}/deliberation/{name}", json=body, headers=users[who])


def test_a_matter_is_deliberated_decided_carried_out_and_rated(client, users, conn):
    token = raise_one(client, photo=False, description="3号楼想加装电梯").json()["token"]
    [m] = queued(client, users)
    matter = client.post(f"/resident/queue/{m['id']}/decision", json={"action": "accept"},
                         headers=users["dispatcher"]).json()["incident"]  # fmt: skip
    r = step(client, users, matter, "discuss", "patrol", participants=["楼长"], notes="x")
    assert r.status_code == 409 and r.json()["code"] == "not_deliberation"
    assert step(client, users, matter, "deliberate", "patrol").status_code == 403
    assert step(client, users, matter, "deliberate", note="需居民议定").status_code == 200
    r = step(client, users, matter, "discuss", "patrol", participants=["楼长", "住户代表"],
             notes="多数住户同意，一楼有顾虑")  # fmt: skip
    assert r.status_code == 200, r.text
    assert (
        step(
            client, users, matter, "link_task", category="facilities", description="安装"
        ).status_code
        == 409
    )  # no decision yet
    r = step(client, users, matter, "decide", held_on="2026-05-03", attendance=30, votes_for=31,
             votes_against=0, abstain=0, decision="x")  # fmt: skip
    assert r.status_code == 400 and r.json()["field"] == "attendance"
    r = step(client, users, matter, "decide", held_on="2026-05-03", attendance=30, votes_for=24,
             votes_against=4, abstain=2, decision="同意加装电梯，费用按楼层分摊")  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["decisions"][0]["votes_for"] == 24
    r = step(client, users, matter, "link_task", category="sanitation", description="清理施工场地")
    assert r.status_code == 200, r.text
    task = r.json()["task"]
    assert r.json()["tasks"] == [{"id": task, "category": "sanitation",
                                  "description": "清理施工场地", "state": "accepted",
                                  "closed_at": None}]  # fmt: skip
    steps = [s["action"] for s in r.json()["steps"]]
    assert steps == ["deliberate", "discuss", "decide", "link_task"]
    # the matter closes only once its task is closed
    for action, who, extra in (("start", "patrol", {}), ("resolve", "patrol", {"note": "已议定"}),
                               ("verify", "dispatcher", {})):  # fmt: skip
        assert client.post(f"/incidents/{matter}/transitions", json={"action": action, **extra},
                           headers=users[who]).status_code == 200  # fmt: skip
    r = client.post(f"/incidents/{matter}/transitions", json={"action": "close", "rating": 4},
                    headers=users["dispatcher"])  # fmt: skip
    assert r.status_code == 409 and r.json()["code"] == "tasks_open"
    close_loop(client, users, task)
    r = client.post(f"/incidents/{matter}/transitions", json={"action": "close", "rating": 4},
                    headers=users["dispatcher"])  # fmt: skip
    assert r.status_code == 200, r.text
    # the resident rates the result; the steps are on the matter's public timeline
    at(client, T0 + timedelta(hours=1))
    r = client.post("/resident/matter/rating", json={"rating": 5},
                    headers={"X-Matter-Token": token})  # fmt: skip
    assert r.status_code == 200, r.text
    actions = [e["action"] for e in follow(client, token)["timeline"]]
    for a in ("deliberate", "discuss", "decide", "link_task", "close", "rate"):
        assert a in actions, actions
    timeline = client.get(f"/incidents/{matter}", headers=users["viewer"]).json()["timeline"]
    assert {"deliberate", "discuss", "decide", "link_task"} <= {e["action"] for e in timeline}
    seen = client.get(f"/incidents/{matter}/deliberation", headers=users["viewer"]).json()
    assert all(s["actor"] is None for s in seen["steps"])
    r = client.get("/evaluation", params={"from": "2026-05-01", "to": "2026-05-01",
                                          "level": "grid"}, headers=users["admin"])  # fmt: skip
    total = json.dumps(r.json()["total"])
    assert '"decided": 1' in total and '"decided_mean_rating": 5.0' in total, total


def test_a_volunteer_claims_and_completes_a_request(client, users, conn):
    inc = client.post("/incidents", json={"lon": INSIDE_A[0], "lat": INSIDE_A[1],
                      "category": "sanitation", "description": "帮独居老人清理楼道"},
                      headers=users["patrol"]).json()["id"]  # fmt: skip
    assert client.post(f"/incidents/{inc}/transitions", json={"action": "accept"},
                       headers=users["patrol"]).status_code == 200  # fmt: skip
    vol = lambda action, who="volunteer", **b: client.post(  # noqa: E731
        f"/volunteer/requests/{inc}/{action}", json=b, headers=users[who]
    )
    assert vol("claim").status_code == 409  # not open to volunteers yet
    assert vol("open_to_volunteers").status_code == 403  # the desk opens it
    assert vol("open_to_volunteers", "dispatcher").status_code == 200
    listed = client.get("/volunteer/requests", headers=users["volunteer"]).json()["requests"]
    assert [r["id"] for r in listed] == [inc] and listed[0]["grid"] == GRID_A
    assert "reporter" not in listed[0]
    other = client.get("/volunteer/requests", headers=users["volunteer_b"]).json()["requests"]
    assert other == []  # another community's volunteer does not see it
    assert vol("claim", "volunteer_b").status_code == 403
    r = vol("claim")
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    assert vol("volunteer_done", note="").status_code == 400
    r = vol("volunteer_done", note="已清理，老人满意")
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    row = conn.execute(text("SELECT state, volunteer, assignee, resolved_at FROM incidents "
                            "WHERE id = :i"), {"i": inc}).one()  # fmt: skip
    assert row.volunteer == row.assignee == "volunteer" and row.resolved_at is not None
    timeline = client.get(f"/incidents/{inc}", headers=users["dispatcher"]).json()["timeline"]
    assert [e["action"] for e in timeline][-3:] == ["open_to_volunteers", "claim", "volunteer_done"]
    # volunteers see only what names them: not the staff's incident lists
    assert client.get("/incidents", headers=users["volunteer"]).status_code == 403
    assert client.get("/auth/me", headers=users["volunteer"]).json()["role"] == "volunteer"
