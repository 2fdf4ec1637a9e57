"""Incidents follow their grids: a plan that retires a grid moves its open incidents (grid,
queue, assignee, timeline) and escalation goes on from there; lateness is judged against the
original limits, wherever an incident is queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from boundaries.plans.commit import commit_plan
from gridgeo.accounts import Account
from gridgeo.incidents.escalation import escalate_overdue
from gridgeo.incidents.queries import get_incident, list_incidents
from gridgeo.incidents.report import Report, report
from gridgeo.levels import Hierarchy, load_hierarchy
from maps.incident_data import IncidentFilter, incident_points
from tests.plan_city import A, B, C, S, add_plan_city, box
from tests.plan_ops import edit, new_plan

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ADMIN = Account(0, "admin", "admin", ())


@pytest.fixture
def city(conn: Connection) -> Hierarchy:
    add_plan_city(conn)
    return load_hierarchy(conn)


def _in(code: str) -> tuple[float, float]:
    x0, y0, x1, y1 = box(code)
    return x0 + (x1 - x0) * 0.4, y0 + (y1 - y0) * 0.6


def _report(conn: Connection, code: str, category: str = "sanitation") -> int:
    lon, lat = _in(code)
    new_id, created = report(conn, Report(lon, lat, category), account=ADMIN, now=T0, snap_m=200)
    assert created
    conn.execute(
        text("UPDATE incidents SET assignee = :a WHERE id = :i"), {"a": f"grid:{code}", "i": new_id}
    )
    return new_id


def _row(conn: Connection, incident_id: int) -> dict:
    return dict(
        conn.execute(
            text(
                "SELECT g.code AS grid, g.valid_to IS NULL AS current, i.queue_area, i.assignee, "
                "i.escalation_level FROM incidents i JOIN grids g ON g.id = i.grid_id "
                "WHERE i.id = :i"
            ),
            {"i": incident_id},
        )
        .mappings()
        .one()
    )


def test_a_plan_that_retires_a_grid_moves_its_open_incident_and_escalation_goes_on(
    conn: Connection, city: Hierarchy
) -> None:
    moved = _report(conn, B)  # reported, not accepted, in the grid the plan retires
    stays = _report(conn, A)
    assert _row(conn, moved)["queue_area"] == B

    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "merge", "codes": [A, B], "name": "南片"})
    out = commit_plan(conn, city, pid, "planner", "merge the south", snap_m=0.5)
    assert out["incidents_moved"] == 1

    row = _row(conn, moved)
    assert row == {"grid": A, "current": True, "queue_area": A, "assignee": f"grid:{A}",
                   "escalation_level": 0}  # fmt: skip
    assert _row(conn, stays)["queue_area"] == A
    timeline = get_incident(conn, moved, account=ADMIN)["timeline"]
    assert [e["action"] for e in timeline] == ["report", "move"]
    assert timeline[-1]["actor"] == "planner"
    assert timeline[-1]["note"] == f"{B} → {A}: change {out['change_id']}"
    assert timeline[-1]["from_state"] == timeline[-1]["to_state"] == "reported"

    # sanitation: 120 minutes to accept; the surviving grid's queue hands it up to its community
    up = escalate_overdue(conn, T0 + timedelta(minutes=121))
    assert (moved, C, 1) in up and (stays, C, 1) in up
    assert escalate_overdue(conn, T0 + timedelta(minutes=122)) == []  # the level's new limit
    assert (moved, S, 2) in escalate_overdue(conn, T0 + timedelta(minutes=242))


def test_a_plan_moves_an_escalated_incident_queued_at_a_retired_grid(
    conn: Connection, city: Hierarchy
) -> None:
    """An incident escalated once is queued at its community; moving keeps it a level up."""
    inc = _report(conn, B)
    escalate_overdue(conn, T0 + timedelta(minutes=121))
    assert _row(conn, inc)["queue_area"] == C
    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "merge", "codes": [A, B]})
    commit_plan(conn, city, pid, "planner", "merge", snap_m=0.5)
    assert _row(conn, inc) | {"assignee": None} == {
        "grid": A, "current": True, "queue_area": C, "assignee": None, "escalation_level": 1
    }  # fmt: skip


def test_an_escalated_incident_past_its_original_limit_is_overdue_and_ringed(
    conn: Connection, city: Hierarchy
) -> None:
    late = _report(conn, A)  # sanitation: accept within 120 min
    fresh = _report(conn, B, "broken_facility")  # 240 min to accept
    now = T0 + timedelta(minutes=130)
    assert [i for i, _, _ in escalate_overdue(conn, now)] == [late]
    # the community's queue has a fresh limit, but the incident stays late
    inc = get_incident(conn, late, account=ADMIN)
    assert inc["due_at"] == T0 + timedelta(minutes=120)
    assert inc["level_due_at"] == now + timedelta(minutes=120)
    overdue = list_incidents(conn, areas=None, now=now, queue="overdue")
    assert [i["id"] for i in overdue] == [late]
    points = incident_points(conn, IncidentFilter(overdue=True), areas=None, now=now)
    assert [p["id"] for p in points["incidents"]] == [late]
    ringed = incident_points(conn, IncidentFilter(), areas=None, now=now)
    assert {p["id"]: p["overdue"] for p in ringed["incidents"]} == {late: True, fresh: False}


def test_notes_the_system_writes_come_back_as_parts_with_names(
    conn: Connection, city: Hierarchy
) -> None:
    """Issue 16: escalation's and moves' notes, written by their SQL, read back as parts."""
    from gridgeo.incidents.notes import note_parts

    inc = _report(conn, B)
    escalate_overdue(conn, T0 + timedelta(minutes=121))
    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "merge", "codes": [A, B]})
    change = commit_plan(conn, city, pid, "planner", "merge", snap_m=0.5)["change_id"]
    timeline = get_incident(conn, inc, account=ADMIN)["timeline"]
    parts = {e["action"]: e["note_parts"] for e in timeline}
    name = conn.execute(text("SELECT name FROM current_grids WHERE code = :c"), {"c": C}).scalar()
    assert parts["escalate"] == {
        "kind": "escalated", "why": "accept", "overdue": True, "level": 1, "queue": C,
        "names": {C: name},
    }  # fmt: skip
    assert parts["move"] is not None and parts["move"]["kind"] == "moved"
    assert (parts["move"]["from"], parts["move"]["to"], parts["move"]["change"]) == (B, A, change)
    assert parts["report"] is None
    # a person's words stay theirs; a regrid's note is kept beside its parts
    assert note_parts("resolve", "done: all clear") is None
    assert note_parts("regrid", "x confirmed: 居民来电") == {
        "kind": "confirmed", "grid": "x", "note": "居民来电"
    }  # fmt: skip
    assert note_parts("escalate", "major → level 1 queue 12")["why"] == "major"  # type: ignore[index]
