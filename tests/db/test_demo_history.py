"""The demo's year of history keeps the real rules: what the code would have made of it.

A smaller year than the demo's (15 reports a day) on the demo city: the escalation job finds
nothing left to escalate; every step of every timeline is a transition the policy allows, from
the state the step before left; the facts kept on the rows are those of the timelines; the
Python rendering of the limit rule agrees with its SQL; and the dashboard has a story to tell.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, text

from gridgeo.demo.city import load_demo
from gridgeo.demo.history_load import load_history
from gridgeo.evaluation import evaluate
from gridgeo.evaluation.periods import month, zone
from gridgeo.incidents.escalation import escalate_overdue
from gridgeo.incidents.facts import FACTS, derived_sql
from gridgeo.incidents.flow import check_transition
from gridgeo.incidents.policy import ESCALATION_ACTOR, RULES, due, due_sql
from gridgeo.levels import load_hierarchy
from tests.conftest import _database

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def history(pg_server: str) -> Engine:
    eng = _database(pg_server, "gridgeo_demo_history")
    with eng.begin() as conn:
        load_demo(conn)
        out = load_history(conn, NOW, per_day=15)
    assert 4500 < out["history_incidents"] < 6500 and out["named_workers"] == 784
    yield eng
    eng.dispose()


@pytest.fixture
def conn(history: Engine):
    with history.connect() as c:
        trans = c.begin()
        yield c
        trans.rollback()


def test_the_escalation_job_finds_nothing_left(conn: Connection) -> None:
    assert escalate_overdue(conn, NOW) == []
    # and an hour later only what fell due in that hour
    later = conn.execute(
        text(f"SELECT count(*) FROM incidents i WHERE {due_sql(level=True)} <= :t"),
        {"t": NOW + timedelta(hours=1)},
    ).scalar_one()
    assert len(escalate_overdue(conn, NOW + timedelta(hours=1))) <= later


def test_every_step_is_a_transition_the_policy_allows(conn: Connection) -> None:
    reporter = dict(conn.execute(text("SELECT id, reporter FROM incidents")).all())
    rows = conn.execute(
        text(
            "SELECT e.incident_id, e.action, e.from_state, e.to_state, e.actor, i.state "
            "FROM incident_events e JOIN incidents i ON i.id = e.incident_id ORDER BY e.incident_id, e.at, e.id"
        )
    ).all()
    state: dict[int, str] = {}
    for incident, action, src, dst, actor, _ in rows:
        if action == "report":
            assert incident not in state and dst == "reported"
        elif action == "escalate":  # by the job, or at once for a major incident
            assert src == dst == state[incident] and actor in (ESCALATION_ACTOR, reporter[incident])
        else:
            assert action in RULES and src == state[incident], (incident, action, src)
            assert check_transition(action, src, "admin") == dst
        state[incident] = dst
    finals = dict(conn.execute(text("SELECT id, state FROM incidents")).all())
    assert state == finals


def test_facts_are_those_of_the_timelines(conn: Connection) -> None:
    ids = list(conn.execute(text("SELECT id FROM incidents ORDER BY id")).scalars())
    cols = ", ".join(FACTS)
    kept = conn.execute(text(f"SELECT id, {cols} FROM incidents ORDER BY id")).all()
    derived = conn.execute(
        text(f"SELECT incident_id, {cols} FROM ({derived_sql()}) f ORDER BY incident_id"),
        {"ids": ids},
    ).all()
    assert [tuple(r) for r in kept] == [tuple(r) for r in derived]


def test_the_limit_rule_in_python_is_the_sql(conn: Connection) -> None:
    rows = conn.execute(
        text(
            f"SELECT i.state, i.level_accept_due, i.level_resolve_due, {due_sql('i', level=True)} "
            "FROM incidents i ORDER BY i.reported_at DESC LIMIT 3000"
        )
    ).all()
    states = {r[0] for r in rows}
    assert len(states) >= 4, states
    for state, accept, resolve, sql in rows:
        assert due(state, {"accept": accept, "resolve": resolve}) == sql


def test_the_year_tells_a_story(conn: Connection) -> None:
    h = load_hierarchy(conn)
    november = month(2026, 11, zone())
    out = evaluate(conn, h, period=november, now=NOW, level="community")
    grades = {r["grade"] for r in out["rows"] if r["grade"]}
    assert len(grades) >= 3, grades  # some communities better than others
    total = out["total"]
    assert 0.85 < total["closure_rate"] <= 1.0 and 0.5 < total["on_time_rate"] < 0.98
    assert 0 < total["extension_rate"] < 0.1 and 0 < total["rework_rate"] < 0.1
    assert 3.5 < total["mean_rating"] < 4.8 and total["rated_share"] < 1.0
    deps = evaluate(conn, h, period=november, now=NOW, by="department")
    slow = {r["name"]: r["resolve_hours_median"] for r in deps["rows"]}
    assert slow["住房和城乡建设局"] > slow["城市管理局"]  # the housing bureau is slowest
    months = conn.execute(
        text("SELECT count(DISTINCT date_trunc('month', reported_at)) FROM incidents")
    ).scalar_one()
    assert months >= 12
