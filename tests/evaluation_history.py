"""A small constructed history for the evaluation, made through the real actions.

The city of tests/api/incident_city.py: district 110101, community A (grid A) in street A,
community B (grid B) in street B. Fifteen incidents, told in the order they happen, with the
November 2026 figures worked out by hand in tests/db/test_evaluation.py. Times are Beijing
time (+08:00), the evaluation's time zone.

| # | grid | category | story |
|---|---|---|---|
| 1 | A | sanitation | on time all through, rated 5 |
| 2 | A | sanitation | closed rated 2, reopened, resolved again after the limit, rated 4 |
| 3 | A | safety_hazard | not accepted: escalated twice (street), accepted late, closed late |
| 4 | A | broken_facility | dispatched to a department, extension approved, resolved after the original limit |
| 5 | A | sanitation | closed with no rating (resident not reached) |
| 6 | A→B | sanitation | moved to grid B by a plan, closed there |
| 7 | A | dispute | reported under the 48 h limit, resolved in 35 h: on time, though the limit became 24 h |
| 8 | B | dispute | reported under the new 24 h limit, resolved in 27 h: late |
| 9 | A | sanitation | accepted, never resolved: due, not closed, overdue now |
| 10 | A | sanitation | dispatched to a department, returned (回退), dispatched to a worker, on time |
| 11 | A | sanitation | reported 31 October, resolved and closed 1 November |
| 12 | B | sanitation | reported 30 November 20:00, not accepted: due in December |
| 13 | A | sanitation | all in October |
| 14 | A | sanitation | reported in September, escalated to the district, resolved in November |
| 15 | B | sanitation | reported in September, escalated to the district, still open |
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, text

from gridgeo.accounts import Account
from gridgeo.incidents.catalog import update_category
from gridgeo.incidents.escalation import escalate_overdue
from gridgeo.incidents.flow import transition
from gridgeo.incidents.moves import move_incidents
from gridgeo.incidents.report import Report, report
from gridgeo.workers import add_worker
from tests.api.incident_city import GRID_A, GRID_B, build_city

CST = timezone(timedelta(hours=8))
ADMIN = Account(0, "admin", "admin", ())
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=CST)
POINT = {"A": (116.35, 39.90), "B": (116.45, 39.90)}


def at(month: int, day: int, hour: float) -> datetime:
    """A time of 2026 in Beijing."""
    return datetime(2026, month, day, tzinfo=CST) + timedelta(hours=hour)


def build_history(conn: Connection) -> dict[int, int]:
    """Build the city and the fifteen incidents; story number → incident id."""
    build_city(conn)
    # story 10's handler: a dispatch names one of the grid's workers (gridgeo/incidents/handlers.py)
    add_worker(conn, GRID_A, {"name": "张伟", "role": "grid_head"}, "test")
    ids: dict[int, int] = {}

    def rep(n: int, grid: str, category: str, when: datetime) -> None:
        lon, lat = POINT[grid]
        r = Report(lon, lat, category, description=f"incident {n}", idempotency_key=f"h{n}")
        ids[n], created = report(conn, r, account=ADMIN, now=when, snap_m=200)
        assert created

    def act(n: int, action: str, when: datetime, **extra: object) -> None:
        note = str(extra.pop("note", "done" if action in ("resolve", "reopen") else ""))
        transition(conn, ids[n], account=ADMIN, action=action, now=when, note=note, **extra)

    def loop(n: int, start: datetime, resolve: datetime, close: datetime, rating: int | None):
        act(n, "start", start)
        act(n, "resolve", resolve)
        act(n, "verify", resolve + timedelta(hours=1))
        act(n, "close", close, rating=rating, note="" if rating else "居民未接电话")

    # September: two incidents left open escalate to the district (the top)
    rep(14, "A", "sanitation", at(9, 15, 9))
    act(14, "accept", at(9, 15, 10))
    act(14, "start", at(9, 15, 11))
    rep(15, "B", "sanitation", at(9, 20, 9))
    act(15, "accept", at(9, 20, 9.5))
    for k, day in enumerate((21, 22, 23)):
        moved = escalate_overdue(conn, at(9, day, 9 + (k + 1) / 60))
        assert [m[0] for m in moved] == [ids[14], ids[15]], moved
    # October
    rep(13, "A", "sanitation", at(10, 10, 9))
    act(13, "accept", at(10, 10, 10))
    loop(13, at(10, 10, 11), at(10, 10, 15), at(10, 10, 17), 5)
    rep(11, "A", "sanitation", at(10, 31, 20))
    act(11, "accept", at(10, 31, 21))
    act(11, "start", at(10, 31, 22))
    # November
    act(11, "resolve", at(11, 1, 10))
    act(11, "verify", at(11, 1, 11))
    act(11, "close", at(11, 1, 12), rating=5)
    rep(1, "A", "sanitation", at(11, 2, 9))
    act(1, "accept", at(11, 2, 10))
    loop(1, at(11, 2, 11), at(11, 2, 14), at(11, 2, 16), 5)
    act(14, "resolve", at(11, 3, 9))
    act(14, "verify", at(11, 3, 10))
    act(14, "close", at(11, 3, 11), rating=1)
    rep(2, "A", "sanitation", at(11, 5, 9))
    act(2, "accept", at(11, 5, 9.5))
    loop(2, at(11, 5, 10), at(11, 5, 12), at(11, 5, 14), 2)
    act(2, "reopen", at(11, 6, 9), note="垃圾又堆起来了")
    loop(2, at(11, 6, 10), at(11, 6, 12), at(11, 6, 14), 4)
    rep(3, "A", "safety_hazard", at(11, 10, 9))  # 30 min to accept, 8 h to resolve
    assert [m[0] for m in escalate_overdue(conn, at(11, 10, 9 + 31 / 60))] == [ids[3]]
    assert [m[:3] for m in escalate_overdue(conn, at(11, 10, 10 + 2 / 60))] == [
        (ids[3], "110101001", 2)
    ]
    act(3, "accept", at(11, 10, 10.5))
    loop(3, at(11, 10, 11), at(11, 10, 20), at(11, 11, 9), 3)
    rep(7, "A", "dispute", at(11, 12, 9))  # 60 min to accept, 2880 to resolve
    act(7, "accept", at(11, 12, 9.5))
    act(7, "start", at(11, 12, 10))
    update_category(conn, "dispute", changes={"resolve_minutes": 1440}, actor="test")
    rep(8, "B", "dispute", at(11, 13, 9))  # now 1440 minutes to resolve
    act(8, "accept", at(11, 13, 10.5))
    act(7, "resolve", at(11, 13, 20))
    act(7, "verify", at(11, 13, 21))
    act(7, "close", at(11, 14, 10), rating=4)
    loop(8, at(11, 13, 11), at(11, 14, 12), at(11, 14, 15), 2)
    rep(4, "A", "broken_facility", at(11, 15, 9))  # 4 h to accept, 72 h to resolve
    act(4, "dispatch", at(11, 15, 10), department="住房和城乡建设局")
    act(4, "start", at(11, 15, 11))
    act(4, "request_extension", at(11, 16, 9), note="需采购配件")
    act(4, "approve_extension", at(11, 16, 10), until=at(11, 20, 9))
    act(4, "resolve", at(11, 19, 9))
    act(4, "verify", at(11, 19, 10))
    act(4, "close", at(11, 19, 11), rating=5)
    rep(5, "A", "sanitation", at(11, 20, 9))
    act(5, "accept", at(11, 20, 10))
    loop(5, at(11, 20, 11), at(11, 20, 15), at(11, 20, 17), None)
    rep(10, "A", "sanitation", at(11, 22, 9))
    act(10, "dispatch", at(11, 22, 10), department="城市管理局")
    act(10, "return", at(11, 22, 11), note="非本单位职责")
    act(10, "dispatch", at(11, 22, 12), assignee="张伟")
    loop(10, at(11, 22, 13), at(11, 22, 16), at(11, 22, 18), 5)
    rep(6, "A", "sanitation", at(11, 25, 9))
    act(6, "accept", at(11, 25, 10))
    grid_b = conn.execute(text("SELECT id FROM current_grids WHERE code = :c"), {"c": GRID_B})
    move_incidents(conn, {ids[6]: grid_b.scalar_one()}, actor="plan", action="move",
                   now=at(11, 25, 12))  # fmt: skip
    loop(6, at(11, 25, 13), at(11, 25, 18), at(11, 26, 9), 4)
    rep(9, "A", "sanitation", at(11, 28, 9))
    act(9, "accept", at(11, 28, 9.5))
    rep(12, "B", "sanitation", at(11, 30, 20))
    return ids
