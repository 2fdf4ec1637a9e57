"""The desk page shell and the table of actions every client can read."""

from __future__ import annotations

from gridgeo.incidents.policy import RULES, STATES
from tests.api.incident_city import make_users


def test_desk_page_is_public_html(client):
    r = client.get("/desk")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "desk-static/desk.js" in r.text
    assert client.get("/desk-static/desk.js").status_code == 200


def test_incident_actions_mirror_the_rules(client, conn):
    assert client.get("/incident-actions").status_code == 401
    users = make_users(conn)
    r = client.get("/incident-actions", headers=users["viewer"])
    assert r.status_code == 200
    body = r.json()
    assert body["states"] == list(STATES)
    assert set(body["actions"]) == set(RULES)
    close = body["actions"]["close"]
    assert close == {"from": ["verified"], "to": "closed", "roles": ["dispatcher", "admin"],
                     "needs_note": False, "pending": None}  # fmt: skip
    assert body["actions"]["mark_major"]["to"] is None
    assert body["actions"]["approve_extension"]["pending"] is True
    assert body["actions"]["request_extension"]["pending"] is False
    assert body["actions"]["resolve"]["needs_note"] is True
