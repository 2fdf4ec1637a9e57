"""Incidents over HTTP: report, idempotency, datums, boundaries, duplicates, the loop, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gridgeo.accounts import ROLES
from gridgeo.coords import wgs84_to_bd09, wgs84_to_gcj02
from gridgeo.incidents.policy import RULES
from tests.api.incident_city import (
    COMM_A,
    DISTRICT,
    GRID_A,
    GRID_B,
    INSIDE_A,
    STREET_A,
    count,
    make_users,
)


@pytest.fixture
def users(conn):
    return make_users(conn)


T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def body(lon=INSIDE_A[0], lat=INSIDE_A[1], category="sanitation", **extra):
    return {"lon": lon, "lat": lat, "category": category, "description": "垃圾堆放", **extra}


def post(client, headers, data, key=None):
    h = dict(headers)
    if key:
        h["Idempotency-Key"] = key
    return client.post("/incidents", json=data, headers=h)


def set_clock(client, when):
    client.app.state.clock = lambda: when


def test_report_returns_incident_with_chain_and_timeline(client, users):
    r = post(client, users["patrol"], body(accuracy_m=10))
    assert r.status_code == 201, r.text
    inc = r.json()
    assert r.headers["location"] == f"/incidents/{inc['id']}"
    assert inc["grid"] == GRID_A and inc["state"] == "reported"
    assert [c["code"] for c in inc["chain"]] == [DISTRICT, STREET_A, COMM_A, GRID_A]
    assert [c["level"] for c in inc["chain"]] == ["district", "street", "community", "grid"]
    assert inc["flags"] == [] and inc["candidates"] == [GRID_A]
    assert inc["reporter"] == "patrol" and inc["queue_area"] == GRID_A
    assert [e["action"] for e in inc["timeline"]] == ["report"]
    assert inc["accept_due"] and inc["resolve_due"]


def test_idempotent_retry_returns_the_original(client, users, conn):
    first = post(client, users["patrol"], body(), key="phone-1-0001")
    again = post(client, users["patrol"], body(description="changed"), key="phone-1-0001")
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["description"] == "垃圾堆放"
    assert count(conn) == 1 and count(conn, "incident_events") == 1
    # the same key from another reporter is another incident
    other = post(client, users["dispatcher"], body(), key="phone-1-0001")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("system,forward", [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_chinese_datums_are_stored_as_wgs84(client, users, system, forward):
    lon, lat = forward(*INSIDE_A)
    r = post(client, users["patrol"], body(lon=lon, lat=lat, coord_system=system))
    assert r.status_code == 201, r.text
    inc = r.json()
    assert inc["lon"] == pytest.approx(INSIDE_A[0], abs=1e-6)
    assert inc["lat"] == pytest.approx(INSIDE_A[1], abs=1e-6)
    assert inc["coord_system"] == system
    assert inc["original"] == {"lon": lon, "lat": lat}


def test_gcj02_point_near_a_boundary_lands_in_the_right_grid(client, users):
    # 100 m west of the boundary in WGS84: as raw GCJ-02 it would lie in grid B
    wgs = (116.40 - 0.0012, 39.90)
    gcj = wgs84_to_gcj02(*wgs)
    assert gcj[0] > 116.40
    r = post(client, users["patrol"], body(lon=gcj[0], lat=gcj[1], coord_system="gcj02"))
    assert r.status_code == 201 and r.json()["grid"] == GRID_A


def test_accuracy_circle_across_a_boundary_flags_candidates(client, users):
    r = post(client, users["patrol"], body(lon=116.3999, lat=39.90, accuracy_m=50))
    inc = r.json()
    assert r.status_code == 201 and inc["grid"] == GRID_A
    assert inc["candidates"] == [GRID_A, GRID_B] and "boundary" in inc["flags"]
    small = post(client, users["patrol"], body(lon=116.3999, lat=39.90, accuracy_m=3)).json()
    assert small["candidates"] == [GRID_A] and "boundary" not in small["flags"]


def test_outside_near_is_snapped_far_is_refused(client, users, conn):
    near = post(client, users["dispatcher"], body(lon=116.35, lat=39.951))  # ~110 m north
    assert near.status_code == 201, near.text
    assert near.json()["grid"] == GRID_A and "outside" in near.json()["flags"]
    far = post(client, users["dispatcher"], body(lon=116.35, lat=39.97))  # ~2.2 km
    assert far.status_code == 400
    msg = far.json()["message"]
    assert "outside every grid" in msg and "nearest grid" in msg and "200 m" in msg
    assert count(conn) == 1


def test_likely_duplicate_is_linked_not_merged(client, users):
    a = post(client, users["patrol"], body()).json()
    b = post(client, users["patrol"], body(lon=INSIDE_A[0] + 0.0003)).json()  # ~26 m
    assert b["id"] != a["id"] and b["duplicate_of"] == a["id"] and "duplicate" in b["flags"]
    other = post(client, users["patrol"], body(category="dispute")).json()
    assert other["duplicate_of"] is None
    far = post(client, users["patrol"], body(lon=INSIDE_A[0] + 0.002)).json()  # ~170 m
    assert far["duplicate_of"] is None


def test_duplicate_is_the_nearest_open_one_past_a_busy_corner(client, users, conn):
    lon, lat = INSIDE_A
    # a busy corner: 30 incidents right at the point, none of which qualifies (another
    # category, or closed), then two open sanitation incidents 35 m and 17 m east
    for i in range(30):
        post(client, users["patrol"], body(category="dispute" if i % 2 else "other"))
    closed = post(client, users["patrol"], body()).json()
    conn.execute(text("UPDATE incidents SET state = 'closed' WHERE id = :id"), {"id": closed["id"]})
    far = post(client, users["patrol"], body(lon=lon + 0.0004)).json()  # ~34 m
    near = post(client, users["patrol"], body(lon=lon + 0.0002)).json()  # ~17 m
    assert near["duplicate_of"] == far["id"]
    new = post(client, users["patrol"], body()).json()
    assert new["duplicate_of"] == near["id"] and "duplicate" in new["flags"]
    # nearest on the map is not enough: 0.0005° north is 55 m, 0.00055° east only 47 m
    north = post(client, users["patrol"], body(lat=lat + 0.0005, category="broken_facility"))
    east = post(client, users["patrol"], body(lon=lon + 0.00055, category="broken_facility"))
    assert north.json()["duplicate_of"] is None and east.json()["duplicate_of"] is None
    here = post(client, users["patrol"], body(category="broken_facility")).json()
    assert here["duplicate_of"] == east.json()["id"]


def test_duplicate_window_is_24_hours(client, users):
    set_clock(client, T0)
    a = post(client, users["patrol"], body()).json()
    set_clock(client, T0 + timedelta(hours=25))
    b = post(client, users["patrol"], body()).json()
    assert a["id"] != b["id"] and b["duplicate_of"] is None


def test_patrol_reports_only_in_own_area(client, users):
    r = post(client, users["patrol_b"], body())
    assert r.status_code == 403
    assert post(client, users["viewer"], body()).status_code == 403
    assert client.post("/incidents", json=body()).status_code == 401


@pytest.mark.parametrize(
    "data,status,word",
    [
        (body(lon=200.0), 400, "lon"),
        (body(lat=-91.0), 400, "lat"),
        (body(accuracy_m=5000), 400, "accuracy_m"),
        (body(accuracy_m=-1), 400, "accuracy_m"),
        (body(category="ufo"), 400, "unknown category"),
        (body(description="x" * 1_000_000), 400, "description"),
        (body(coord_system="wgs72"), 400, "coord_system"),
        ({"lat": 39.9, "category": "sanitation"}, 422, "lon"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(client, users, conn, data, status, word):
    r = post(client, users["patrol"], data)
    assert r.status_code == status, r.text
    assert word in r.json()["message"]
    assert count(conn) == 0 and count(conn, "incident_events") == 0


def test_nan_coordinates_are_refused(client, users, conn):
    raw = '{"lon": NaN, "lat": 39.9, "category": "sanitation"}'
    h = {**users["patrol"], "Content-Type": "application/json"}
    r = client.post("/incidents", content=raw, headers=h)
    assert 400 <= r.status_code < 500 and "lon" in r.json()["message"]
    assert count(conn) == 0


# ---- the state machine over HTTP -------------------------------------------------------------

PATH = {
    "reported": [],
    "accepted": ["accept"],
    "dispatched": ["accept", "dispatch"],
    "in_progress": ["accept", "dispatch", "start"],
    "resolved": ["accept", "dispatch", "start", "resolve"],
    "verified": ["accept", "dispatch", "start", "resolve", "verify"],
    "closed": ["accept", "dispatch", "start", "resolve", "verify", "close"],
}
EXTRA = {"resolve": {"note": "已清理"}, "close": {"rating": 5}, "reopen": {"note": "又堆了"},
         "regrid": {"grid": GRID_A}, "request_extension": {"note": "需协调物业"},
         "approve_extension": {"until": (datetime.now(UTC) + timedelta(days=30)).isoformat()},
         "refuse_extension": {"note": "可按时完成"}, "return": {"note": "非本单位职责"}}  # fmt: skip


def act(client, headers, incident_id, action, **extra):
    data = {"action": action, **EXTRA.get(action, {}), **extra}
    return client.post(f"/incidents/{incident_id}/transitions", json=data, headers=headers)


def make_in_state(client, users, state, pending=False):
    # by the boundary with A, its circle reaching B: a candidate grid, for regrid
    inc = post(client, users["patrol"], body(lon=116.3999, accuracy_m=50)).json()
    for action in PATH[state] + (["request_extension"] if pending else []):
        r = act(client, users["admin"], inc["id"], action)
        assert r.status_code == 200, r.text
    return inc["id"]


def test_the_closed_loop_with_timeline(client, users):
    set_clock(client, T0)
    i = post(client, users["patrol"], body()).json()["id"]
    steps = [
        ("patrol", "accept", {}),
        ("dispatcher", "dispatch", {"department": "城市管理局"}),
        ("patrol", "start", {}),
        ("patrol", "resolve", {}),
        ("dispatcher", "verify", {"note": "现场核实"}),
        ("dispatcher", "close", {}),
    ]
    for role, action, extra in steps:
        r = act(client, users[role], i, action, **extra)
        assert r.status_code == 200, (action, r.text)
    inc = r.json()
    assert inc["state"] == "closed" and inc["rating"] == 5 and inc["department"] == "城市管理局"
    tl = inc["timeline"]
    assert [e["action"] for e in tl] == ["report", "accept", "dispatch", "start", "resolve",
                                         "verify", "close"]  # fmt: skip
    assert [e["actor"] for e in tl][:3] == ["patrol", "patrol", "dispatcher"]
    assert tl[4]["note"] == "已清理" and tl[4]["from_state"] == "in_progress"
    assert all(e["at"] for e in tl)
    r = act(client, users["dispatcher"], i, "reopen")
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    assert r.json()["rating"] is None


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(RULES))
def test_each_transition_by_role(client, users, action, role):
    i = make_in_state(client, users, RULES[action].sources[-1], bool(RULES[action].pending))
    r = act(client, users[role], i, action)
    if role in RULES[action].roles:
        assert r.status_code == 200, r.text
        assert r.json()["timeline"][-1]["action"] in (action, "escalate")
    else:
        assert r.status_code == 403, r.text


@pytest.mark.parametrize("action", sorted(RULES))
def test_each_transition_refused_from_a_wrong_state(client, users, conn, action):
    wrong = next(s for s in PATH if s not in RULES[action].sources)
    i = make_in_state(client, users, wrong)
    events = count(conn, "incident_events")
    r = act(client, users["admin"], i, action)
    assert r.status_code == 409 and f"cannot {action}" in r.json()["message"]
    assert count(conn, "incident_events") == events


def test_transition_needs_note_rating_and_a_fitting_department(client, users):
    i = make_in_state(client, users, "in_progress")
    assert act(client, users["patrol"], i, "resolve", note=" ").status_code == 400
    j = make_in_state(client, users, "verified")
    assert act(client, users["dispatcher"], j, "close", rating=9).status_code == 400
    k = make_in_state(client, users, "accepted")
    r = act(client, users["dispatcher"], k, "dispatch", department="司法所")
    assert r.status_code == 400 and "does not handle" in r.json()["message"]
    assert act(client, users["dispatcher"], k, "dispatch", department="无此单位").status_code == 400


def test_area_denial_is_the_same_for_hidden_and_missing(client, users):
    i = make_in_state(client, users, "reported")
    hidden = act(client, users["patrol_b"], i, "accept")
    missing = act(client, users["patrol_b"], 999999, "accept")
    assert hidden.status_code == missing.status_code == 403
    assert hidden.json()["message"] == missing.json()["message"]
    assert client.get(f"/incidents/{i}", headers=users["patrol_b"]).status_code == 403
    assert client.get("/incidents/999999", headers=users["admin"]).status_code == 404


def test_viewer_lists_without_names(client, users):
    i = make_in_state(client, users, "accepted")
    rows = client.get("/incidents", headers=users["viewer"]).json()["incidents"]
    assert [r["id"] for r in rows] == [i] and rows[0]["reporter"] is None
    one = client.get(f"/incidents/{i}", headers=users["viewer"]).json()
    assert one["reporter"] is None and {e["actor"] for e in one["timeline"]} == {None}
    assert client.get("/incidents", headers=users["patrol_b"]).json()["incidents"] == []
    summary = client.get("/incidents/summary", headers=users["viewer"]).json()
    assert summary == [{"category": "sanitation", "state": "accepted", "count": 1}]


def test_list_filters(client, users):
    set_clock(client, T0)
    a = post(client, users["patrol"], body()).json()["id"]
    b = post(client, users["dispatcher"], body(category="dispute", lon=116.36)).json()["id"]
    act(client, users["patrol"], a, "accept")
    h = users["dispatcher"]

    def ids(q):
        r = client.get("/incidents" + q, headers=h)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["incidents"]]

    assert ids("") == [a, b]
    assert ids("?state=accepted") == [a]
    assert ids("?category=dispute") == [b]
    assert ids(f"?area={GRID_A}") == [a, b]
    assert ids("?bbox=116.355,39.89,116.37,39.91") == [b]
    assert ids("?since=2026-05-01T09:00:00Z") == []
    assert ids("?limit=1&after=" + str(a)) == [b]
    assert client.get(f"/incidents?area={GRID_B}", headers=h).status_code == 403
    assert client.get("/incidents?state=lost", headers=h).status_code == 400


def test_escalation_with_an_injected_clock(client, users):
    set_clock(client, T0)
    i = post(client, users["patrol"], body(category="safety_hazard")).json()["id"]  # 30 min
    quiet_body = post(client, users["patrol"], body(category="dispute", lon=116.36)).json()
    quiet, quiet_queue = quiet_body["id"], quiet_body["queue_area"]

    def escalate(minutes):
        set_clock(client, T0 + timedelta(minutes=minutes))
        r = client.post("/incidents/escalate", headers=users["admin"])
        assert r.status_code == 200, r.text
        return [(e["id"], e["queue_area"], e["level"]) for e in r.json()["escalated"]]

    assert escalate(29) == []
    assert escalate(31) == [(i, COMM_A, 1)]
    grid_q = client.get("/incidents?queue=grid", headers=users["patrol"]).json()["incidents"]
    assert [x["id"] for x in grid_q] == [quiet]
    # the worker's list: located in the grid, whatever queue, the queue named beside its code
    located = client.get("/incidents?queue=located", headers=users["patrol"]).json()["incidents"]
    assert {x["id"]: x["queue_area"] for x in located} == {i: COMM_A, quiet: quiet_queue}
    assert all(x["queue_name"] and x["grid_name"] for x in located)
    comm_q = client.get("/incidents?queue=dispatch", headers=users["dispatcher_comm"]).json()
    assert i in [x["id"] for x in comm_q["incidents"]]
    assert escalate(40) == []  # the limit restarts at each level
    assert escalate(62) == [(i, STREET_A, 2), (quiet, COMM_A, 1)]  # a dispute: 60 min
    comm_q = client.get("/incidents?queue=dispatch", headers=users["dispatcher_comm"]).json()
    assert i not in [x["id"] for x in comm_q["incidents"]]
    assert escalate(93) == [(i, DISTRICT, 3)]
    assert escalate(200) == [(quiet, STREET_A, 2)]  # i is at the top: no further
    inc = client.get(f"/incidents/{i}", headers=users["admin"]).json()
    notes = [e["note"] for e in inc["timeline"] if e["action"] == "escalate"]
    assert len(notes) == 3 and all(n.startswith("overdue: accept") for n in notes)
    overdue = client.get("/incidents?queue=overdue", headers=users["admin"]).json()["incidents"]
    # both are past their original limits, wherever they are queued now (quiet's level got a
    # fresh limit at 200; its lateness stays on record)
    assert {x["id"] for x in overdue} == {i, quiet}
    assert client.post("/incidents/escalate", headers=users["dispatcher"]).status_code == 403


def test_accepted_but_unresolved_escalates_and_resolved_does_not(client, users):
    set_clock(client, T0)
    i = post(client, users["patrol"], body(category="safety_hazard")).json()["id"]  # 480 min
    j = post(client, users["patrol"], body(category="safety_hazard", lon=116.37)).json()["id"]
    for x in (i, j):
        act(client, users["patrol"], x, "accept")
        act(client, users["patrol"], x, "start")
    act(client, users["patrol"], j, "resolve")
    set_clock(client, T0 + timedelta(minutes=481))
    moved = client.post("/incidents/escalate", headers=users["admin"]).json()["escalated"]
    assert [(e["id"], e["level"]) for e in moved] == [(i, 1)]


def test_major_goes_to_the_community_at_once(client, users):
    inc = post(client, users["patrol"], body(major=True)).json()
    assert inc["major"] and inc["escalation_level"] == 1 and inc["queue_area"] == COMM_A
    other = post(client, users["patrol"], body(category="dispute")).json()
    r = act(client, users["planner"], other["id"], "mark_major", note="聚集")
    assert r.status_code == 200
    assert r.json()["queue_area"] == COMM_A and r.json()["major"]
    assert [e["action"] for e in r.json()["timeline"]] == ["report", "mark_major", "escalate"]


def test_categories_and_departments(client, users):
    cats = client.get("/categories", headers=users["viewer"]).json()
    assert {c["key"]: c["label_zh"] for c in cats}["sanitation"] == "环境卫生"
    assert {c["label_zh"] for c in cats} == {"环境卫生", "治安隐患", "矛盾纠纷", "设施损坏", "其他"}
    deps = client.get("/departments", headers=users["viewer"]).json()
    assert any(d["name"] == "城市管理局" and "sanitation" in d["categories"] for d in deps)


def test_report_timing(client, users):
    import time

    t = time.perf_counter()
    for k in range(20):
        assert post(client, users["patrol"], body(lon=116.31 + k * 0.001)).status_code == 201
    per = (time.perf_counter() - t) / 20
    print(f"\nPOST /incidents in the test client: {per * 1000:.1f} ms each")
    assert per < 1.0


def test_due_at_is_the_overdue_queue_rule_for_one_incident(client, users):
    """Clients compare due_at with their clock; that must agree with the overdue queue."""
    set_clock(client, T0)
    ids = [post(client, users["patrol"], body(lon=116.31 + n / 100)).json()["id"] for n in range(4)]
    act(client, users["admin"], ids[1], "accept")
    for action in ("accept", "start", "resolve"):
        act(client, users["admin"], ids[2], action)
    got = {x["id"]: x for x in client.get("/incidents", headers=users["admin"]).json()["incidents"]}
    assert got[ids[0]]["due_at"] == got[ids[0]]["accept_due"]  # reported: the accept limit
    assert got[ids[1]]["due_at"] == got[ids[1]]["resolve_due"]  # accepted: the resolve limit
    assert got[ids[2]]["due_at"] is None  # resolved: none
    for minutes in (60, 121, 1441):  # sanitation: 120 min to accept, 1440 to resolve
        now = T0 + timedelta(minutes=minutes)
        set_clock(client, now)
        queue = client.get("/incidents?queue=overdue", headers=users["admin"]).json()["incidents"]
        late = {
            i for i, x in got.items() if x["due_at"] and datetime.fromisoformat(x["due_at"]) <= now
        }
        assert {x["id"] for x in queue} == late, minutes
        assert all(x["due_at"] for x in queue)
