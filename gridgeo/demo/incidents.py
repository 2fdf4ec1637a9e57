"""Incidents of the demo city, so that its incident maps and queues are not empty.

Deterministic: the same seed gives the same incidents. They go through the real closed loop
(:func:`gridgeo.incidents.report.report` and :func:`gridgeo.incidents.flow.transition`) at times spread
over the last two weeks, so their timelines, states and overdue flags are what the service
itself would have made: some just reported, some dispatched or in progress (a few overdue and
escalated), some resolved, verified or closed with a rating.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection, text

from gridgeo.accounts import get_account
from gridgeo.incidents.escalation import escalate_overdue
from gridgeo.incidents.flow import transition
from gridgeo.incidents.report import Report, report

DESCRIPTIONS = {
    "sanitation": "楼道堆放杂物，垃圾未及时清运",
    "safety_hazard": "消防通道被占用",
    "dispute": "邻里噪音纠纷，需要调解",
    "broken_facility": "路灯不亮，夜间通行不便",
    "other": "居民反映的其他问题",
}
# the path an incident takes, and how many of the demo's incidents stop after each step
PATH = ("accept", "dispatch", "start", "resolve", "verify", "close")
STOPS = (0.18, 0.10, 0.14, 0.16, 0.12, 0.10, 0.20)  # after 0 … 6 steps


def seed_demo_incidents(
    conn: Connection, now: datetime, *, snap_m: float, n: int = 240, seed: int = 2026
) -> dict[str, int]:
    """Report ``n`` incidents at demo buildings and take each some way round the loop.

    Args:
        conn: a connection in the caller's transaction, on a database with the demo city and
            its demo accounts (``admin``, ``patrol``).
        now: the present; reports are spread over the 14 days before it.
        snap_m: how far outside every grid a report may lie (``incidents.incident_snap_m``).
        n: how many incidents.
        seed: random seed.

    Returns:
        ``{"incidents": n, "open": …, "overdue_escalations": …}``.
    """
    rng = np.random.default_rng(seed)
    admin = get_account(conn, "admin")
    categories = [
        k for k in conn.execute(text("SELECT key FROM incident_categories ORDER BY key")).scalars()
    ]
    points = conn.execute(
        text("SELECT ST_X(location), ST_Y(location) FROM households ORDER BY id")
    ).all()
    picks = rng.choice(len(points), size=n, replace=len(points) < n)
    stops = rng.choice(len(STOPS), size=n, p=np.array(STOPS) / sum(STOPS))
    made = 0
    for k in range(n):
        lon, lat = points[int(picks[k])]
        lon += float(rng.normal(0, 0.00015))
        lat += float(rng.normal(0, 0.00015))
        category = categories[int(rng.integers(len(categories)))]
        at = now - timedelta(hours=float(rng.uniform(1, 14 * 24)))
        r = Report(lon=lon, lat=lat, category=category,
                   description=DESCRIPTIONS.get(category, DESCRIPTIONS["other"]),
                   accuracy_m=float(rng.uniform(5, 30)), idempotency_key=f"demo-{seed}-{k}")  # fmt: skip
        incident_id, created = report(conn, r, account=admin, now=at, snap_m=snap_m)
        made += int(created)
        if not created:  # seeded before (same key): leave it as it is
            continue
        t = at
        for step in PATH[: int(stops[k])]:
            t += timedelta(minutes=float(rng.uniform(10, 600)))
            if t >= now:
                break
            transition(
                conn,
                incident_id,
                account=admin,
                action=step,
                now=t,
                note="已处理" if step == "resolve" else "",
                rating=int(rng.integers(3, 6)) if step == "close" else None,
            )
    escalated = escalate_overdue(conn, now=now) if made else []
    open_count = conn.execute(
        text(
            "SELECT count(*) FROM incidents WHERE state IN "
            "('reported', 'accepted', 'dispatched', 'in_progress')"
        )
    ).scalar_one()
    return {"incidents": made, "open": int(open_count), "overdue_escalations": len(escalated)}
