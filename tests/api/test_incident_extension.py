"""Extension (延期) and return (回退) over HTTP, and the timeline's facts they keep.

An extension is asked for by the handler with a reason and approved by a dispatcher with a new
limit (or refused with a reason); the original limit stays, the incident runs against the new
one (no overdue, no escalation before it). A return sends a dispatched incident back to the
dispatcher with a reason. The times kept on the incident (gridgeo.incidents.facts) agree with
its timeline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from gridgeo.incidents.facts import FACTS, derived_sql
from tests.api.incident_city import make_users
from tests.api.test_incidents_api import T0, body, post, set_clock


@pytest.fixture
def users(conn):
    return make_users(conn)


def act(client, headers, incident_id, action, **data):
    """One action with exactly the fields given (no defaults filled in)."""
    data = {"action": action, **data}
    return client.post(f"/incidents/{incident_id}/transitions", json=data, headers=headers)


def _in_progress(client, users) -> int:
    set_clock(client, T0)
    i = post(client, users["patrol"], body()).json()["id"]  # sanitation: 1440 min to resolve
    for action in ("accept", "start"):
        assert act(client, users["patrol"], i, action).status_code == 200
    return i


def _queue(client, users, queue):
    r = client.get(f"/incidents?queue={queue}", headers=users["admin"])
    return [x["id"] for x in r.json()["incidents"]]


def test_extension_asked_approved_keeps_the_original_limit(client, users):
    i = _in_progress(client, users)
    original = datetime.fromisoformat(client.get(f"/incidents/{i}", headers=users["admin"])
                                      .json()["resolve_due"])  # fmt: skip
    # a reason is needed; a decision needs a request
    assert act(client, users["patrol"], i, "request_extension").status_code == 400
    r = act(client, users["dispatcher"], i, "approve_extension", until="2026-05-05T08:00:00Z")
    assert r.status_code == 409 and "no extension was asked for" in r.json()["message"]
    set_clock(client, T0 + timedelta(hours=20))
    r = act(client, users["patrol"], i, "request_extension", note="需协调物业",
            until="2026-05-04T08:00:00Z")  # fmt: skip
    assert r.status_code == 200 and r.json()["extension_requested_at"]
    assert r.json()["timeline"][-1]["note"] == "→ 2026-05-04T08:00+00:00: 需协调物业"
    assert _queue(client, users, "extension") == [i]
    again = act(client, users["patrol"], i, "request_extension", note="再次")
    assert again.status_code == 409 and "waiting for a decision" in again.json()["message"]
    # a new limit is needed, later than the one in force
    assert act(client, users["dispatcher"], i, "approve_extension").status_code == 400
    early = act(client, users["dispatcher"], i, "approve_extension", until="2026-05-01T20:00:00Z")
    assert early.status_code == 400 and "later than" in early.json()["message"]
    assert act(client, users["patrol"], i, "approve_extension",
               until="2026-05-04T08:00:00Z").status_code == 403  # fmt: skip
    r = act(client, users["dispatcher"], i, "approve_extension", until="2026-05-04T08:00:00Z")
    assert r.status_code == 200, r.text
    inc = r.json()
    assert datetime.fromisoformat(inc["resolve_due"]) == original  # on record, unchanged
    assert (
        inc["extended_due"] == inc["due_at"] == inc["level_due_at"] == "2026-05-04T08:00:00+00:00"
    )
    assert inc["extension_requested_at"] is None and _queue(client, users, "extension") == []
    # past the original limit, before the new one: neither overdue nor escalated
    set_clock(client, T0 + timedelta(days=2))
    assert i not in _queue(client, users, "overdue")
    assert client.post("/incidents/escalate", headers=users["admin"]).json()["escalated"] == []
    set_clock(client, datetime.fromisoformat("2026-05-04T08:01:00+00:00"))
    assert i in _queue(client, users, "overdue")
    moved = client.post("/incidents/escalate", headers=users["admin"]).json()["escalated"]
    assert [e["id"] for e in moved] == [i]


def test_extension_refused_with_a_reason(client, users):
    i = _in_progress(client, users)
    act(client, users["patrol"], i, "request_extension", note="材料未到")
    assert act(client, users["dispatcher"], i, "refuse_extension").status_code == 400  # why?
    r = act(client, users["dispatcher"], i, "refuse_extension", note="可按时完成")
    assert r.status_code == 200 and r.json()["extension_requested_at"] is None
    assert r.json()["extended_due"] is None
    assert [e["action"] for e in r.json()["timeline"]][-2:] == [
        "request_extension", "refuse_extension"]  # fmt: skip
    # resolving settles a request left waiting
    act(client, users["patrol"], i, "request_extension", note="再申请")
    r = act(client, users["patrol"], i, "resolve", note="已清理")
    assert r.json()["extension_requested_at"] is None and r.json()["resolved_at"]


def test_return_sends_a_dispatched_incident_back(client, users):
    set_clock(client, T0)
    i = post(client, users["patrol"], body()).json()["id"]
    act(client, users["dispatcher"], i, "dispatch", department="城市管理局")
    assert act(client, users["patrol"], i, "return").status_code == 400  # a reason is needed
    assert act(client, users["viewer"], i, "return", note="x").status_code == 403
    r = act(client, users["patrol"], i, "return", note="非本单位职责")
    assert r.status_code == 200, r.text
    inc = r.json()
    assert inc["state"] == "accepted" and inc["department"] is None and inc["assignee"] is None
    assert inc["timeline"][-1]["note"] == "非本单位职责"
    r = act(client, users["patrol"], i, "return", note="again")
    assert r.status_code == 409  # only a dispatched incident goes back


def test_facts_kept_by_the_actions_are_those_of_the_timeline(client, users, conn):
    set_clock(client, T0)
    i = post(client, users["patrol"], body(category="safety_hazard")).json()["id"]  # 30 min
    set_clock(client, T0 + timedelta(minutes=31))
    client.post("/incidents/escalate", headers=users["admin"])
    steps = [("accept", {}), ("dispatch", {"department": "公安派出所"}),
             ("return", {"note": "非本所"}), ("dispatch", {}), ("start", {}),
             ("resolve", {"note": "已处理"}), ("verify", {}), ("close", {"rating": 4}),
             ("reopen", {"note": "又出现"}), ("dispatch", {}), ("start", {}),
             ("resolve", {"note": "再处理"})]  # fmt: skip
    for n, (action, extra) in enumerate(steps):
        set_clock(client, T0 + timedelta(hours=1 + n))
        assert act(client, users["admin"], i, action, **extra).status_code == 200, action
    cols = ", ".join(FACTS)
    kept = conn.execute(text(f"SELECT {cols} FROM incidents WHERE id = :i"), {"i": i}).one()
    derived = conn.execute(text(f"SELECT {cols} FROM ({derived_sql()}) f"), {"ids": [i]}).one()
    assert tuple(kept) == tuple(derived)
    at = dict(zip(FACTS, kept, strict=True))
    assert at["accepted_at"] == T0 + timedelta(hours=1)  # the first acceptance
    assert at["dispatched_at"] == T0 + timedelta(hours=2)  # the first dispatch
    assert at["returned_at"] == T0 + timedelta(hours=3)
    assert at["resolved_at"] == T0 + timedelta(hours=12)  # the last resolution
    assert at["closed_at"] == T0 + timedelta(hours=8) and at["reopened_at"] == T0 + timedelta(
        hours=9
    )
    assert at["escalated_at"] == T0 + timedelta(minutes=31)


def test_close_without_a_rating_needs_a_note(client, users):
    i = _in_progress(client, users)
    for action, extra in (("resolve", {"note": "已清理"}), ("verify", {})):
        act(client, users["admin"], i, action, **extra)
    r = act(client, users["dispatcher"], i, "close")
    assert r.status_code == 400 and "rating" in r.json()["message"]
    r = act(client, users["dispatcher"], i, "close", note="居民电话未接通")
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["rating"] is None
