"""Residents' matters over HTTP with the real app and PostGIS (issue 21).

Raise without an account (with a photo and a phone number), follow by the private link, the
dispatcher's accept / merge / reject, the loop to closing, the resident's rating in the
evaluation's figures, "not fixed" as rework, the abuse limits, the purge of personal data,
and that no public answer carries a phone number or a name.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from gridgeo.residents.purge import purge_personal_data
from tests.api.conftest import app_in_transaction
from tests.api.incident_city import COMM_A, GRID_A, GRID_B, INSIDE_A, count, make_users

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
PHONE = "13800138000"
NAME = (
    "王小明"  # a name the resident writes: never in a public answer unless the category is public
)


def jpeg(color=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


def resident_client(engine, conn, tmp_path) -> Iterator[TestClient]:
    """The app in the test's transaction, photos in ``tmp_path``, small limits, clock at T0."""
    app = app_in_transaction(engine, conn, data_dir=str(tmp_path), resident_per_address_per_day=5,
                             resident_per_phone_per_day=3)  # fmt: skip
    app.state.clock = lambda: T0
    with TestClient(app) as c:
        yield c


@pytest.fixture
def client(engine, conn, tmp_path) -> Iterator[TestClient]:
    yield from resident_client(engine, conn, tmp_path)


@pytest.fixture
def users(conn):
    return make_users(conn)


def at(client, when):
    client.app.state.clock = lambda: when


def raise_one(client, key="k1", phone=PHONE, photo=True, **fields):
    data = {
        "category": "sanitation",
        "description": f"{NAME}家门口垃圾堆放",
        "lon": str(INSIDE_A[0]),
        "lat": str(INSIDE_A[1]),
        "accuracy_m": "12",
    } | fields
    if phone:
        data["phone"] = phone
    data = {k: v for k, v in data.items() if v is not None}
    files = [("photo", ("a.jpg", jpeg(), "image/jpeg"))] if photo else None
    return client.post("/resident/matters", data=data, files=files,
                       headers={"Idempotency-Key": key})  # fmt: skip


def follow(client, token):
    r = client.get("/resident/matter", headers={"X-Matter-Token": token})
    assert r.status_code == 200, r.text
    return r.json()


def no_personal_data(answer) -> None:
    said = json.dumps(answer, ensure_ascii=False)
    assert PHONE not in said and NAME not in said, said
    for name in ("dispatcher", "patrol", "admin"):
        assert f'"{name}"' not in said, said


def decide(client, users, matter, who="dispatcher", **body):
    return client.post(f"/resident/queue/{matter}/decision", json=body, headers=users[who])


def queued(client, users, who="dispatcher"):
    r = client.get("/resident/queue", headers=users[who])
    assert r.status_code == 200, r.text
    return r.json()["matters"]


def close_loop(client, users, incident, rating=3):
    for action, who, extra in (("start", "patrol", {}), ("resolve", "patrol", {"note": "清运"}),
                               ("verify", "dispatcher", {}),
                               ("close", "dispatcher", {"rating": rating})):  # fmt: skip
        r = client.post(f"/incidents/{incident}/transitions", json={"action": action, **extra},
                        headers=users[who])  # fmt: skip
        assert r.status_code == 200, r.text


def test_raise_follow_accept_close_rate(client, users, conn):
    before = count(conn)
    r = raise_one(client)
    assert r.status_code == 201, r.text
    out = r.json()
    token, tracking = out["token"], out["tracking"]
    assert tracking.startswith("R") and len(token) >= 40
    again = raise_one(client)  # the outbox's retry: the same matter, nothing stored
    assert again.status_code == 200 and again.json()["tracking"] == tracking
    assert again.json()["token"] is None  # the token is shown once (stored hashed)
    assert count(conn) == before  # not an incident before a dispatcher accepts it
    stored = conn.execute(text("SELECT token_hash FROM resident_matters")).scalar_one()
    assert token.encode() not in bytes(stored)
    mine = follow(client, token)
    assert mine["state"] == "submitted" and mine["tracking"] == tracking and mine["photos"] == 1
    no_personal_data({k: v for k, v in mine.items() if k != "description"})
    # the dispatcher of the area sees it with the phone number; a patrol may not
    [m] = queued(client, users)
    assert m["phone"] == PHONE and m["area_code"] == GRID_A and len(m["photos"]) == 1
    assert client.get("/resident/queue", headers=users["patrol"]).status_code == 403
    photo = client.get(m["photos"][0]["url"], headers=users["dispatcher"])
    assert photo.status_code == 200 and photo.content[:3] == b"\xff\xd8\xff"
    # accept: an incident of its grid, the resident (by tracking number) its reporter
    at(client, T0 + timedelta(minutes=30))
    r = decide(client, users, m["id"], action="accept")
    assert r.status_code == 200, r.text
    incident = r.json()["incident"]
    inc = client.get(f"/incidents/{incident}", headers=users["dispatcher"]).json()
    assert inc["state"] == "accepted" and inc["grid"] == GRID_A
    assert inc["reporter"] == f"resident:{tracking}"
    assert len(inc["photos"]) == 1
    seen = client.get(f"/incidents/{incident}", headers=users["viewer"]).json()
    assert seen["reporter"] is None  # reporter hidden from viewers
    assert queued(client, users) == []
    assert decide(client, users, m["id"], action="reject", reason="x").status_code == 409
    mine = follow(client, token)
    assert mine["state"] == "accepted" and mine["incident_state"] == "accepted"
    assert [e["action"] for e in mine["timeline"]] == ["submit", "accept"]
    assert not mine["can_rate"]
    assert client.post("/resident/matter/rating", json={"rating": 5},
                       headers={"X-Matter-Token": token}).status_code == 409  # fmt: skip
    # to closing; the dispatcher's rating is the verification's
    at(client, T0 + timedelta(hours=5))
    close_loop(client, users, incident, rating=3)
    mine = follow(client, token)
    assert mine["incident_state"] == "closed" and mine["can_rate"] and mine["can_say_not_fixed"]
    no_personal_data({k: v for k, v in mine.items() if k != "description"})
    r = client.post("/resident/matter/rating", json={"rating": 5, "comment": "很快"},
                    headers={"X-Matter-Token": token})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["rating"] == 5 and not r.json()["can_rate"]
    row = conn.execute(text("SELECT rating, resident_rating FROM incidents WHERE id = :i"),
                       {"i": incident}).one()  # fmt: skip
    assert row.rating == 3 and row.resident_rating == 5
    # the evaluation uses the resident's rating, and says so
    r = client.get("/evaluation", params={"from": "2026-05-01", "to": "2026-05-01",
                                          "level": "grid"}, headers=users["admin"])  # fmt: skip
    assert r.status_code == 200, r.text
    text_ = json.dumps(r.json()["total"])
    assert '"mean_rating": 5.0' in text_ and '"resident_rated_share": 1.0' in text_, text_


def test_not_fixed_reopens_within_seven_days_as_rework(client, users, conn):
    token = raise_one(client, photo=False).json()["token"]
    [m] = queued(client, users)
    incident = decide(client, users, m["id"], action="accept").json()["incident"]
    close_loop(client, users, incident)
    post = lambda note: client.post("/resident/matter/not-fixed", json={"note": note},  # noqa: E731
                                    headers={"X-Matter-Token": token})  # fmt: skip
    assert post("").status_code == 400
    at(client, T0 + timedelta(days=2))
    r = post("垃圾又堆起来了")
    assert r.status_code == 200, r.text
    assert r.json()["incident_state"] == "accepted" and r.json()["not_fixed_at"]
    row = conn.execute(text("SELECT state, reopened_at, rating FROM incidents WHERE id = :i"),
                       {"i": incident}).one()  # fmt: skip
    assert row.state == "accepted" and row.reopened_at is not None and row.rating is None
    inc = client.get(f"/incidents/{incident}", headers=users["dispatcher"]).json()
    assert inc["timeline"][-1]["action"] == "not_fixed"
    assert inc["timeline"][-1]["note"] == "垃圾又堆起来了"
    # closed again, the window runs from the new closing; after it, no more
    close_loop(client, users, incident)
    at(client, T0 + timedelta(days=10))
    r = post("还是不行")
    assert r.status_code == 409 and r.json()["code"] == "window_passed"


def test_merge_and_reject(client, users, conn):
    staff = client.post("/incidents", json={"lon": INSIDE_A[0], "lat": INSIDE_A[1],
                                            "category": "sanitation"},
                        headers=users["patrol"]).json()["id"]  # fmt: skip
    t1 = raise_one(client, key="a", photo=True).json()["token"]
    t2 = raise_one(client, key="b", photo=False, phone=None).json()["token"]
    m1, m2 = queued(client, users)
    assert staff in m1["nearby"]  # an open incident near it is offered for a merge
    r = decide(client, users, m1["id"], action="merge", incident=staff)
    assert r.status_code == 200 and r.json()["incident"] == staff
    assert follow(client, t1)["state"] == "merged"
    inc = client.get(f"/incidents/{staff}", headers=users["dispatcher"]).json()
    assert inc["timeline"][-1]["action"] == "merge" and len(inc["photos"]) == 1
    r = decide(client, users, m2["id"], action="reject")
    assert r.status_code == 400 and r.json()["field"] == "reason"
    r = decide(client, users, m2["id"], action="reject", reason="不属于网格事项，请拨打 12345")
    assert r.status_code == 200 and r.json()["incident"] is None
    mine = follow(client, t2)
    assert mine["state"] == "rejected" and mine["reason"] == "不属于网格事项，请拨打 12345"


def test_community_only_needs_a_pin_to_accept(client, users):
    r = client.get("/resident/communities", params={"q": COMM_A})
    assert [c["code"] for c in r.json()] == [COMM_A]
    r = raise_one(client, photo=False, lon=None, lat=None, accuracy_m=None, community=COMM_A)
    assert r.status_code == 201, r.text
    [m] = queued(client, users, "dispatcher_comm")
    assert m["lon"] is None and m["area_code"] == COMM_A
    r = decide(client, users, m["id"], "dispatcher_comm", action="accept")
    assert r.status_code == 400 and r.json()["code"] == "position_required"
    r = decide(client, users, m["id"], "dispatcher_comm", action="accept",
               lon=INSIDE_A[0], lat=INSIDE_A[1])  # fmt: skip
    assert r.status_code == 200, r.text


def test_bad_input_is_named(client, users):
    r = raise_one(client, category="nope")
    assert r.status_code == 400 and r.json()["field"] == "category"
    r = raise_one(client, phone="call me")
    assert r.status_code == 400 and r.json()["field"] == "phone"
    r = raise_one(client, lon=None, lat=None, accuracy_m=None)
    assert r.status_code == 400 and r.json()["field"] == "location"
    files = [("photo", (f"{n}.jpg", jpeg((n, 0, 0)), "image/jpeg")) for n in range(4)]
    r = client.post("/resident/matters", files=files, data={"category": "sanitation",
                    "description": "x", "lon": str(INSIDE_A[0]), "lat": str(INSIDE_A[1])})  # fmt: skip
    assert r.status_code == 400 and r.json()["field"] == "photo"
    r = client.post("/resident/matters", files=[("photo", ("x.jpg", b"not a photo", "image/jpeg"))],
                    data={"category": "sanitation", "description": "x",
                          "lon": str(INSIDE_A[0]), "lat": str(INSIDE_A[1])})  # fmt: skip
    assert r.status_code == 400
    assert client.get("/resident/matter", headers={"X-Matter-Token": "x" * 43}).status_code == 404


def test_limits_per_address_and_per_phone(client, users, conn):
    for n in range(3):
        assert raise_one(client, key=f"p{n}", photo=False).status_code == 201
    r = raise_one(client, key="p3", photo=False)
    assert r.status_code == 429 and r.json()["field"] == "phone"
    assert raise_one(client, key="p0", photo=False).status_code == 200  # a retry is no new matter
    for n in range(2):
        assert raise_one(client, key=f"q{n}", photo=False, phone=None).status_code == 201
    r = raise_one(client, key="q2", photo=False, phone=None)
    assert r.status_code == 429 and r.json()["field"] == "address"
    assert "每天" in r.json()["messages"]["zh"]
    at(client, T0 + timedelta(days=1, minutes=1))  # a day later the limits start again
    assert raise_one(client, key="q3", photo=False, phone=None).status_code == 201
    assert count(conn, "resident_matters") == 6


def test_no_public_answer_carries_a_phone_or_a_name(client, users, conn):
    token = raise_one(client).json()["token"]
    [m] = queued(client, users)
    incident = decide(client, users, m["id"], action="accept").json()["incident"]
    close_loop(client, users, incident)
    client.post("/resident/matter/rating", json={"rating": 4, "comment": "谢谢"},
                headers={"X-Matter-Token": token})  # fmt: skip
    mine = follow(client, token)
    no_personal_data({k: v for k, v in mine.items() if k != "description"})
    assert mine["description"].startswith(NAME)  # the resident's own words, to the resident
    settings = client.app.state.settings
    client.app.state.settings = settings.replace(open311_public=True, public_map_of_matters=True)
    r = client.get("/open311/v2/requests.json", params={"extensions": "true"})
    assert r.status_code == 200 and any(int(x["service_request_id"]) == incident for x in r.json())
    no_personal_data(r.json())
    r = client.get("/resident/map.geojson")
    assert r.status_code == 200, r.text
    assert [f["properties"]["state"] for f in r.json()["features"]] == ["closed"]
    no_personal_data(r.json())
    assert "description" not in r.json()["features"][0]["properties"]


def test_public_map_is_off_by_default(client):
    assert client.get("/resident/map.geojson").status_code == 404


def test_purge_removes_phone_and_address_after_retention(client, users, conn):
    raise_one(client, photo=False)
    [m] = queued(client, users)
    incident = decide(client, users, m["id"], action="accept").json()["incident"]
    close_loop(client, users, incident)
    later = T0 + timedelta(days=31)
    assert purge_personal_data(conn, now=T0 + timedelta(days=2), retention_days=30,
                               commit=True) == []  # fmt: skip
    tracking = purge_personal_data(conn, now=later, retention_days=30, commit=False)
    assert len(tracking) == 1
    assert conn.execute(text("SELECT phone FROM resident_matters")).scalar_one() == PHONE  # dry
    purge_personal_data(conn, now=later, retention_days=30, commit=True)
    row = conn.execute(text("SELECT phone, client_address, purged_at FROM resident_matters")).one()
    assert row.phone is None and row.client_address is None and row.purged_at == later
    assert GRID_B  # the other grid's dispatchers never saw it (scoped queue)
