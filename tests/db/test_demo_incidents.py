"""The demo's incidents: through the real closed loop, every state present, in the right grids."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from cli.demo import add_demo_accounts
from gridgeo.demo.city import load_demo
from gridgeo.demo.incidents import seed_demo_incidents
from tests.conftest import _database

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_demo_incidents_cover_the_loop(pg_server: str) -> None:
    eng: Engine = _database(pg_server, "gridgeo_demo_incidents")
    try:
        with eng.begin() as conn:
            load_demo(conn)
            add_demo_accounts(conn)
            out = seed_demo_incidents(conn, NOW, n=120, snap_m=200.0)
        assert out["incidents"] == 120 and 0 < out["open"] < 120
        with eng.connect() as conn:
            states = dict(
                conn.execute(text("SELECT state, count(*) FROM incidents GROUP BY 1")).all()
            )
            assert set(states) == {
                "reported", "accepted", "dispatched", "in_progress", "resolved", "verified", "closed"
            }  # fmt: skip
            # each incident is in the leaf grid its point lies in, and its timeline starts at the report
            wrong = conn.execute(
                text(
                    "SELECT count(*) FROM incidents i JOIN grids g ON g.id = i.grid_id "
                    "WHERE i.escalation_level = 0 AND NOT ST_Covers(g.geom, i.location)"
                )
            ).scalar_one()
            assert wrong == 0
            first = (
                conn.execute(
                    text(
                        "SELECT DISTINCT ON (incident_id) action FROM incident_events "
                        "ORDER BY incident_id, at, id"
                    )
                )
                .scalars()
                .all()
            )
            assert set(first) == {"report"} and len(first) == 120
            closed = conn.execute(
                text("SELECT count(*) FROM incidents WHERE state = 'closed' AND rating IS NULL")
            ).scalar_one()
            assert closed == 0
        with eng.begin() as conn:  # the same seed again stores nothing new (idempotency keys)
            assert seed_demo_incidents(conn, NOW, n=120, snap_m=200.0)["incidents"] == 0
    finally:
        eng.dispose()
