"""The desk's API (issue 16, 17): dispatch to a worker of the grid, list filters, late by server.

The city of tests/api/incident_city.py: the account ``patrol`` covers grid A, ``patrol_b``
grid B; a named worker is added to each grid. The list answers ``overdue``, ``late`` and
``marks`` judged at the app's clock, and filters by them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gridgeo.incidents.marks import MARKS
from gridgeo.workers import add_worker
from tests.api.incident_city import GRID_A, GRID_B, INSIDE_A, make_users

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def users(conn):
    return make_users(conn)


@pytest.fixture
def staff(conn, users):
    """A named worker in each grid (users builds the city first)."""
    a = add_worker(conn, GRID_A, {"name": "王芳", "role": "grid_head", "external_id": "W-A1"}, "t")
    b = add_worker(conn, GRID_B, {"name": "李强", "role": "grid_admin"}, "t")
    return a, b


def set_clock(client, when):
    client.app.state.clock = lambda: when


def report(client, headers, description="垃圾堆放", category="sanitation"):
    data = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": category,
            "description": description}  # fmt: skip
    r = client.post("/incidents", json=data, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def act(client, headers, i, action, **extra):
    return client.post(f"/incidents/{i}/transitions", json={"action": action, **extra},
                       headers=headers)  # fmt: skip


def test_the_handlers_of_an_incident_are_the_workers_of_its_grid(client, users, staff):
    set_clock(client, T0)
    i = report(client, users["patrol"])
    r = client.get(f"/incidents/{i}/handlers", headers=users["dispatcher"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grid"] == GRID_A and body["grid_name"] == f"区域{GRID_A}"
    got = [(h["kind"], h["name"], h["account"], h["code"]) for h in body["handlers"]]
    # the grid's named worker, then the patrol account covering it; not grid B's people
    assert got == [("worker", "王芳", None, "W-A1"), ("account", "patrol", "patrol", GRID_A)]
    assert (
        body["handlers"][0]["role_zh"] == "网格长" and body["handlers"][0]["id"] == staff[0]["id"]
    )
    # the desk's roles only; outside the dispatcher's areas as any other refusal
    assert client.get(f"/incidents/{i}/handlers", headers=users["viewer"]).status_code == 403
    assert client.get(f"/incidents/{i}/handlers", headers=users["patrol"]).status_code == 403


def test_dispatch_to_a_worker_of_the_grid_makes_them_the_handler(client, users, staff, conn):
    set_clock(client, T0)
    i = report(client, users["patrol"])
    r = act(client, users["dispatcher"], i, "dispatch", worker=staff[0]["id"])
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == "王芳" and r.json()["state"] == "dispatched"
    j = report(client, users["patrol"], "另一处")
    r = act(client, users["dispatcher"], j, "dispatch", assignee="patrol")
    assert r.status_code == 200 and r.json()["assignee"] == "patrol"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"assignee": "patrol_b"}, "assignee"),  # an account of grid B
        ({"assignee": "李强"}, "assignee"),  # a worker of grid B, by name
        ({"assignee": "dispatcher"}, "assignee"),  # covers the grid, but not a handler's role
        ({"assignee": "随便写的名字"}, "assignee"),  # nobody
        ({"department": "城市管理局", "assignee": "patrol_b"}, "assignee"),
    ],
)
def test_a_worker_outside_the_grid_is_refused_in_both_languages(
    client, users, staff, conn, extra, field
):
    set_clock(client, T0)
    i = report(client, users["patrol"])
    r = act(client, users["dispatcher"], i, "dispatch", **extra)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["code"] == "not_a_grid_worker" and err["field"] == field
    assert GRID_A in err["messages"]["en"] and "not a worker of grid" in err["messages"]["en"]
    assert "不是网格" in err["messages"]["zh"] and GRID_A in err["messages"]["zh"]
    # nothing changed
    state = conn.execute(text("SELECT state, assignee FROM incidents WHERE id = :i"), {"i": i})
    assert tuple(state.one()) == ("reported", None)


def test_a_worker_of_another_grid_by_id_is_refused(client, users, staff):
    i = report(client, users["patrol"])
    r = act(client, users["dispatcher"], i, "dispatch", worker=staff[1]["id"])
    assert r.status_code == 400 and r.json()["field"] == "worker"
    r = act(client, users["dispatcher"], i, "dispatch", worker=999_999)
    assert r.status_code == 400 and r.json()["code"] == "not_a_grid_worker"


def test_rows_say_overdue_late_and_marks_as_the_server_judges(client, users, conn):
    set_clock(client, T0)
    old = report(client, users["patrol"], "旧的")
    fresh = report(client, users["patrol"], "新的")  # at the same place: a likely duplicate
    # the old one: its limits passed a day ago (original limits, as a report set them)
    conn.execute(
        text("UPDATE incidents SET accept_due = :t, resolve_due = :t, reopened_at = :t "
             "WHERE id = :i"),
        {"t": T0 - timedelta(days=1), "i": old},
    )  # fmt: skip
    rows = client.get("/incidents?queue=dispatch", headers=users["dispatcher"]).json()["incidents"]
    by = {r["id"]: r for r in rows}
    assert by[old]["overdue"] is True and by[old]["late"] is True
    assert by[fresh]["overdue"] is False and by[fresh]["late"] is False
    assert by[old]["marks"] == ["overdue", "late", "reopened"] and by[fresh]["marks"] == [
        "duplicate"
    ]
    assert by[old]["grid_name"] == f"区域{GRID_A}" and by[old]["description"] == "旧的"
    one = client.get(f"/incidents/{old}?judge=true", headers=users["dispatcher"]).json()
    assert one["late"] is True and one["marks"] == by[old]["marks"]
    # the app's clock decides: two days earlier nothing is late yet
    set_clock(client, T0 - timedelta(days=2))
    row = client.get(f"/incidents/{old}?judge=true", headers=users["dispatcher"]).json()
    assert row["late"] is False and row["overdue"] is False
    # without judge: the same JSON as a report's 201 (tests/api/test_incident_fast_path.py)
    assert "late" not in client.get(f"/incidents/{old}", headers=users["dispatcher"]).json()


def test_filters_by_overdue_and_by_flags(client, users, conn):
    set_clock(client, T0)
    plain = report(client, users["patrol"], "普通")
    late = report(client, users["patrol"], "超时的")
    back = report(client, users["patrol"], "回退过")
    conn.execute(text("UPDATE incidents SET resolve_due = :t WHERE id = :i"),
                 {"t": T0 - timedelta(hours=1), "i": late})  # fmt: skip
    assert (
        act(client, users["dispatcher"], back, "dispatch", department="城市管理局").status_code
        == 200
    )
    assert act(client, users["patrol"], back, "return", note="非本单位职责").status_code == 200

    def ids(query):
        r = client.get(f"/incidents?queue=dispatch&{query}", headers=users["dispatcher"])
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["incidents"]}

    assert ids("overdue=true") == {late}
    assert ids("overdue=false") == {plain, back}
    assert ids("flags=returned") == {back}
    assert ids("flags=late,overdue") == {late}
    assert ids("flags=returned,overdue") == set()
    assert ids("flags=returned&overdue=false") == {back}
    r = client.get("/incidents?flags=returned,nonsense", headers=users["dispatcher"])
    assert r.status_code == 400 and r.json()["code"] == "unknown_flag"
    assert r.json()["field"] == "flags" and "nonsense" in r.json()["messages"]["zh"]


def test_every_mark_is_a_filter_that_runs(client, users):
    report(client, users["patrol"])
    for key in MARKS:
        r = client.get(f"/incidents?flags={key}", headers=users["dispatcher"])
        assert r.status_code == 200, (key, r.text)
        assert all(key in x["marks"] for x in r.json()["incidents"])
