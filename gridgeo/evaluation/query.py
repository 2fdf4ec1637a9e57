"""The sums of :mod:`gridgeo.evaluation.figures` for groups and periods, in one statement.

**Which incidents are read.** A period ``[start, end)`` concerns the incidents that have any of
their times in it (the facts of :mod:`gridgeo.incidents.facts`, or their original limits) or
were open at its end. Nearly all of them were reported from 30 days before it on, and are read
by ``reported_at``; the few others either lived longer than 30 days (to their last change or
limit: the partial index ``ix_incidents_long_lived`` of migration 0014, which no report enters)
or are open now (the index on ``state``). Nothing else needs reading, however long the history.

**One pass for many periods.** Each incident's times are put in buckets of the periods asked
for (``width_bucket`` over their bounds: 0 before the first, n+1 after the last). The incidents
are first summed by group *and by that tuple of buckets* — few tuples, since an incident's times
mostly share a bucket — then each sum is credited to the bucket of the time it counts by: a
trend of twelve months costs one pass, not twelve. The medians are taken per bucket directly.
The group totals (a NULL key) come from the same pass (``GROUPING SETS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput
from gridgeo.incidents.policy import OPEN_STATES, OVERDUE, sql_list

WINDOW = timedelta(days=30)  # as the predicate of ix_incidents_long_lived
LIFE = "greatest(i.updated_at, i.accept_due, i.resolve_due)"
BY = ("area", "department", "worker", "category")
KEYS = {
    "area": "left(g.code, :key_len)",
    "department": "CAST(i.department_id AS text)",
    # a person the incident was dispatched to (grid:<code> being the grid's workers), not a
    # department dispatched to as a whole
    "worker": "i.assignee",
    "category": "i.category",
    "all": "''",  # one group: the total
}
FILTERS = {
    "area": "true",
    "department": "i.department_id IS NOT NULL",
    "worker": "i.assignee IS NOT NULL AND i.assignee IS DISTINCT FROM "
    "(SELECT d.name FROM departments d WHERE d.id = i.department_id)",
    "category": "true",
    "all": "true",
}
OPEN = sql_list(OPEN_STATES)

# bucket columns: (name, the time it holds)
ANCHORS = (
    ("br", "i.reported_at"),
    ("ba", "i.accepted_at"),
    ("bd", "i.dispatched_at"),
    ("bs", "i.resolved_at"),
    ("bc", "CASE WHEN i.state = 'closed' THEN i.closed_at END"),
    ("bo", "i.reopened_at"),
    ("be", "i.escalated_at"),
    ("bt", "i.returned_at"),
    ("bdue", "CASE WHEN i.resolve_due <= :now OR i.state = 'closed' THEN i.resolve_due END"),
    ("bad", "CASE WHEN i.accept_due <= :now OR i.accepted_at IS NOT NULL THEN i.accept_due END"),
    ("bset", f"CASE WHEN i.state NOT IN ({OPEN}) THEN i.resolved_at END"),  # resolved, stays so
)
# what is summed over incidents: (aggregate, value, condition), e.g. count(*) FILTER (WHERE …)
CELL_SUMS: dict[str, tuple[str, str, str | None]] = {
    "n": ("count", "*", None),
    "accept_s": ("sum", "accept_s", None),
    "resolve_s": ("sum", "resolve_s", None),
    "closed_now": ("count", "*", "closed"),
    "on_time": ("count", "*", "closed AND on_time"),
    "extended": ("count", "*", "extended"),
    "accept_on_time": ("count", "*", "accept_on_time"),
    "rated": ("count", "rating", None),
    "rating_sum": ("sum", "rating", None),
    "satisfied": ("count", "*", "rating >= 4"),
    "resident_rated": ("count", "*", "by_residents"),
    "decided": ("count", "*", "closed AND decided"),
    "decided_rated": ("count", "rating", "closed AND decided"),
    "decided_rating_sum": ("sum", "rating", "closed AND decided"),
    "in_grid": ("count", "*", "closed AND level = 0"),
    "in_community": ("count", "*", "closed AND level <= :community_steps"),
}
# each sum of figures.SUMS: (what is summed, the bucket of the time it counts by)
CREDIT = {
    "reported": ("n", "br"), "accepted": ("n", "ba"), "accept_s": ("accept_s", "ba"),
    "dispatched": ("n", "bd"), "resolved": ("n", "bs"), "resolve_s": ("resolve_s", "bs"),
    "closed": ("n", "bc"), "rated": ("rated", "bc"), "rating_sum": ("rating_sum", "bc"),
    "satisfied": ("satisfied", "bc"), "in_grid": ("in_grid", "bc"),
    "resident_rated": ("resident_rated", "bc"), "decided": ("decided", "bc"),
    "decided_rated": ("decided_rated", "bc"), "decided_rating_sum": ("decided_rating_sum", "bc"),
    "in_community": ("in_community", "bc"), "reopened": ("n", "bo"), "escalated": ("n", "be"),
    "returned": ("n", "bt"), "due": ("n", "bdue"), "due_closed": ("closed_now", "bdue"),
    "on_time": ("on_time", "bdue"), "extended": ("extended", "bdue"),
    "accept_due": ("n", "bad"), "accept_on_time": ("accept_on_time", "bad"),
}  # fmt: skip
OPEN_AT_END = "br <= {k} AND (bset IS NULL OR bset > {k})"  # reported by then, not resolved

# The incidents a period concerns, with the bucket of each of their times. An incident reported
# in the 30 days before the first period counts only if it has a time or a limit from its start
# on, or is open: the others settled before it (their last change and limits are earlier).
# Matters decided by a meeting come by a join, not a correlated EXISTS: a subquery in the select
# list is parallel-restricted and kept a trend's summing out of the parallel workers (the first
# year's trend at 1,000,000 incidents: 2.4 s → 1.4–1.8 s under load 12, bench/evaluation.py).
REL = """
SELECT {key} AS key, {anchors},
    extract(epoch FROM i.accepted_at - i.reported_at) AS accept_s,
    extract(epoch FROM i.resolved_at - i.reported_at) AS resolve_s,
    i.state = 'closed' AS closed, i.resolved_at <= i.resolve_due AS on_time,
    i.extended_due IS NOT NULL AS extended, i.accepted_at <= i.accept_due AS accept_on_time,
    coalesce(i.resident_rating, i.rating) AS rating, i.resident_rating IS NOT NULL AS by_residents,
    i.deliberation AND md.incident_id IS NOT NULL AS decided,
    i.escalation_level AS level
FROM incidents i JOIN grids g ON g.id = i.grid_id
LEFT JOIN (SELECT DISTINCT incident_id FROM meeting_decisions) md ON md.incident_id = i.id
WHERE starts_with(g.code, :parent) AND {areas} AND {filter} AND (
    (i.reported_at >= :lo AND i.reported_at < :hi
        AND (i.reported_at >= :start OR {life} >= :start OR i.state IN ({open})))
    OR (i.reported_at < :lo AND {life} >= :start AND {life} - i.reported_at > interval '30 days')
    OR (i.reported_at < :lo AND i.state IN ({open})))
"""
# One period: every sum straight from the incidents, with the medians, in one pass.
ONE = """
SELECT key, 1 AS k, {direct}, count(*) FILTER (WHERE {open_at_end}) AS open_at_end,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY accept_s) FILTER (WHERE ba = 1) AS accept_median_s,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY resolve_s) FILTER (WHERE bs = 1)
        AS resolve_median_s
FROM ({rel}) rel GROUP BY GROUPING SETS ((key), ())
"""
# Many periods (a trend, no medians): summed by group and tuple of buckets, then credited.
MANY = """
SELECT key, k, {credits}, sum(n) FILTER (WHERE {open_at_end}) AS open_at_end
FROM (SELECT key, {buckets}, {cell_sums} FROM ({rel}) rel GROUP BY key, {buckets}) cells
CROSS JOIN generate_series(1, :n) k
GROUP BY GROUPING SETS ((key, k), (k))
"""

SNAPSHOT = """
SELECT key, count(*) AS open_now, count(*) FILTER (WHERE overdue) AS overdue_now FROM (
    SELECT {key} AS key, {overdue} AS overdue FROM incidents i JOIN grids g ON g.id = i.grid_id
    WHERE i.state IN ({open}) AND starts_with(g.code, :parent) AND {areas} AND {filter}
) o GROUP BY GROUPING SETS ((key), ())
"""
AREAS = (
    "(CAST(:areas AS text[]) IS NULL OR EXISTS "
    "(SELECT 1 FROM unnest(CAST(:areas AS text[])) a WHERE starts_with(g.code, a)))"
)


@dataclass(frozen=True)
class Scope:
    """What is grouped and which incidents count.

    Attributes:
        by: ``area``, ``department``, ``worker`` or ``category``.
        parent: only incidents in grids under this code ("" for all).
        key_len: for ``area``, the code length of the level the areas are of.
        areas: the caller's areas (None: all).
        community_steps: escalation levels from the grid to the community (大事不出社区).
    """

    by: str
    parent: str = ""
    key_len: int = 0
    areas: tuple[str, ...] | None = None
    community_steps: int = 1

    def params(self) -> dict[str, Any]:
        """The statement parameters this scope sets."""
        return {"parent": self.parent, "key_len": self.key_len, "community_steps":
                self.community_steps, "areas": None if self.areas is None else list(self.areas)}  # fmt: skip


def _agg(name: str, bucket: str | None = None, k: str = "1") -> str:
    """The aggregate of CELL_SUMS[name], limited to the incidents whose ``bucket`` is ``k``."""
    agg, value, cond = CELL_SUMS[name]
    where = [c for c in (f"{bucket} = {k}" if bucket else None, cond) if c]
    return f"{agg}({value})" + (f" FILTER (WHERE {' AND '.join(where)})" if where else "")


def sql_of(scope: Scope, n: int, medians: bool) -> str:
    """The statement of ``scope`` over ``n`` periods (:data:`ONE` or :data:`MANY`)."""
    if scope.by not in KEYS:
        raise InvalidInput(f"by must be one of {', '.join(BY)}", field="by")
    rel = REL.format(
        key=KEYS[scope.by],
        anchors=", ".join(f"width_bucket({t}, CAST(:bounds AS timestamptz[])) AS {b}"
                          for b, t in ANCHORS),  # fmt: skip
        areas=AREAS, filter=FILTERS[scope.by], life=LIFE, open=OPEN,
    )  # fmt: skip
    if medians:
        if n != 1:
            raise ValueError("medians are for one period")
        direct = ", ".join(f"{_agg(c, b)} AS {name}" for name, (c, b) in CREDIT.items())
        return ONE.format(rel=rel, direct=direct, open_at_end=OPEN_AT_END.format(k=1))
    return MANY.format(
        rel=rel, buckets=", ".join(b for b, _ in ANCHORS),
        cell_sums=", ".join(f"{_agg(name)} AS {name}" for name in CELL_SUMS),
        credits=", ".join(f"sum({c}) FILTER (WHERE {b} = k) AS {s}" for s, (c, b) in CREDIT.items()),
        open_at_end=OPEN_AT_END.format(k="k"),
    )  # fmt: skip


def period_sums(
    conn: Connection,
    scope: Scope,
    bounds: Sequence[datetime],
    now: datetime,
    *,
    medians: bool = False,
) -> dict[tuple[str | None, int], dict[str, Any]]:
    """The sums of each group and period between consecutive ``bounds``.

    Args:
        conn: a connection.
        scope: the grouping and the incidents that count.
        bounds: the periods' bounds, ascending (n periods: n + 1 bounds).
        now: the time of the evaluation.
        medians: with the medians of the times (one period only; a trend shows means).

    Returns:
        (group key, period number from 1) → sums; the key None holds the scope's total.
    """
    if len(bounds) < 2:
        raise ValueError("at least one period (two bounds)")
    params = scope.params() | {
        "bounds": list(bounds), "n": len(bounds) - 1, "lo": bounds[0] - WINDOW,
        "hi": bounds[-1], "start": bounds[0], "now": now,
    }  # fmt: skip
    # Planned for each call (the rest of the transaction too): the best plan for a month and
    # for a year differ, and a prepared statement's generic plan, chosen after a few months,
    # made a year's trend three times slower (bench/evaluation.py).
    conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    rows = conn.execute(text(sql_of(scope, len(bounds) - 1, medians)), params).mappings()
    return {(r["key"], int(r["k"])): dict(r) for r in rows}


def snapshot_sums(
    conn: Connection, scope: Scope, now: datetime
) -> dict[str | None, dict[str, int]]:
    """Open and overdue incidents now, per group (None: the total)."""
    sql = SNAPSHOT.format(key=KEYS[scope.by], overdue=OVERDUE, open=OPEN, areas=AREAS,
                          filter=FILTERS[scope.by])  # fmt: skip
    rows = conn.execute(text(sql), scope.params() | {"now": now}).mappings()
    return {r["key"]: {"open_now": r["open_now"], "overdue_now": r["overdue_now"]} for r in rows}
