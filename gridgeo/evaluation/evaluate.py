"""The evaluation of a period: a table of groups with their figures, a trend, the states.

Areas are the current ones of a level under a parent (all of them, with or without incidents,
so that a ranking or a map leaves none out); an incident counts for the area of the grid it is
in now — after a regrid or a plan's move, the new one. Departments, workers and categories are
those with incidents. Workers are people, named: only roles that see names may list them
(:func:`gridgeo.incidents.policy.sees_names`); everything else is aggregates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import Forbidden, InvalidInput
from gridgeo.evaluation.cache import SettledCache, sums_of
from gridgeo.evaluation.figures import DEFAULT_WEIGHTS, figures
from gridgeo.evaluation.periods import Period
from gridgeo.evaluation.query import Scope, snapshot_sums
from gridgeo.incidents.policy import STATES
from gridgeo.levels import Hierarchy

NAMES_HIDDEN = "workers are named: this account does not see names"


def community_steps(hierarchy: Hierarchy) -> int:
    """Escalation levels from the grid to the community (1 without a ``community`` level)."""
    keys = [s.key for s in hierarchy.levels]
    if "community" not in keys:
        return 1
    return max(1, len(keys) - 1 - keys.index("community"))


def scope_of(
    hierarchy: Hierarchy,
    *,
    by: str,
    level: str | None,
    parent: str | None,
    areas: tuple[str, ...] | None,
) -> tuple[Scope, str | None]:
    """The scope of a request and the level key of its areas (None unless ``by='area'``).

    ``parent`` defaults to the caller's one area (else everything); ``level`` to the level
    below the parent (the top level without a parent).

    Raises:
        InvalidInput: an unknown level, a parent of no level, or a level not below the parent.
    """
    if parent is None and areas is not None and len(areas) == 1:
        parent = areas[0]
    parent = parent or ""
    if parent and areas is not None and any(parent.startswith(a) for a in areas):
        # the caller sees all of the parent: the same scope as an unrestricted caller's, so
        # the settled sums kept for one are found for the other (gridgeo/evaluation/cache.py)
        areas = None
    key_level = None
    key_len = 0
    if by == "area":
        if parent:
            above = hierarchy.level_of_code(parent)
            if above is None:
                raise InvalidInput(f"'{parent}' is not the code of an area", field="parent")
            below = hierarchy.levels[min(above.depth + 1, len(hierarchy.levels) - 1)]
        else:
            above, below = None, hierarchy.levels[0]
        spec = hierarchy.get(level) if level else below
        if above is not None and spec.depth < above.depth:
            raise InvalidInput(
                f"level '{spec.key}' is above the parent {parent} ({above.key})", field="level"
            )
        key_level, key_len = spec.key, spec.code_length
    scope = Scope(by=by, parent=parent, key_len=key_len, areas=areas,
                  community_steps=community_steps(hierarchy))  # fmt: skip
    return scope, key_level


def _labels(conn: Connection, scope: Scope, key_level: str | None) -> dict[str, str]:
    """Names of the groups: every current area of the level under the parent, or the keys."""
    if scope.by == "area":
        sql = (
            "SELECT g.code, g.name FROM current_grids g JOIN levels l ON l.id = g.level_id "
            "WHERE l.key = :level AND starts_with(g.code, :parent) AND (CAST(:areas AS text[]) "
            "IS NULL OR EXISTS (SELECT 1 FROM unnest(CAST(:areas AS text[])) a "
            "WHERE starts_with(g.code, a) OR starts_with(a, g.code))) ORDER BY g.code"
        )
        rows = conn.execute(text(sql), scope.params() | {"level": key_level}).all()
        return {r[0]: r[1] for r in rows}
    if scope.by == "department":
        return {str(r[0]): r[1] for r in conn.execute(text("SELECT id, name FROM departments"))}
    if scope.by == "category":
        return dict(conn.execute(text("SELECT key, label_zh FROM incident_categories")).all())
    return {}


def evaluate(
    conn: Connection,
    hierarchy: Hierarchy,
    *,
    period: Period,
    now: datetime,
    by: str = "area",
    level: str | None = None,
    parent: str | None = None,
    areas: tuple[str, ...] | None = None,
    names: bool = True,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    cache: SettledCache | None = None,
) -> dict[str, Any]:
    """The figures of each group and of them all for ``period``, ranked by score.

    Args:
        conn: a connection.
        hierarchy: the levels.
        period: the period.
        now: the time of the evaluation (what is due, open and overdue is judged at it).
        by: ``area`` (of ``level`` under ``parent``), ``department``, ``worker`` or
            ``category`` (of the incidents under ``parent``).
        level: the level of the areas (default: the one below ``parent``).
        parent: an area code (default: the caller's one area, else everything).
        areas: the caller's areas (None: all).
        names: whether the caller sees names (else ``by='worker'`` is refused).
        weights: the score's weights.
        cache: where the sums of settled periods are kept (:mod:`gridgeo.evaluation.cache`).

    Returns:
        ``{"period", "by", "level", "parent", "weights", "rows": [{"key", "name", "rank",
        <figures>}], "total": {<figures>}}``; rows ranked by score (unscored last, by key).

    Raises:
        Forbidden: workers for a caller who does not see names. InvalidInput: a bad scope.
    """
    if by == "worker" and not names:
        raise Forbidden(NAMES_HIDDEN)
    scope, key_level = scope_of(hierarchy, by=by, level=level, parent=parent, areas=areas)
    sums = sums_of(conn, scope, [period.start, period.end], now, medians=True, cache=cache)
    snap = snapshot_sums(conn, scope, now)
    labels = _labels(conn, scope, key_level)
    keys = (
        set(labels)
        if by == "area"
        else {k for k, _ in sums if k is not None} | set(k for k in snap if k is not None)
    )
    rows = []
    for key in keys:
        f = figures(sums.get((key, 1), {}) | snap.get(key, {}), weights)
        rows.append({"key": key, "name": labels.get(key, key)} | f)
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), r["key"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank if row["score"] is not None else None
    total = figures(sums.get((None, 1), {}) | snap.get(None, {}), weights)
    return {
        "period": period.to_dict(),
        "by": by,
        "level": key_level,
        "parent": scope.parent or None,
        "weights": dict(weights),
        "rows": rows,
        "total": total,
    }


def trend(
    conn: Connection,
    hierarchy: Hierarchy,
    *,
    buckets: list[Period],
    now: datetime,
    parent: str | None = None,
    areas: tuple[str, ...] | None = None,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    cache: SettledCache | None = None,
) -> list[dict[str, Any]]:
    """The figures of everything under ``parent`` in each of ``buckets`` (consecutive).

    Means, no medians; the settled buckets from ``cache`` (:mod:`gridgeo.evaluation.cache`).
    """
    scope, _ = scope_of(hierarchy, by="all", level=None, parent=parent, areas=areas)
    bounds = [b.start for b in buckets] + [buckets[-1].end]
    sums = sums_of(conn, scope, bounds, now, cache=cache)
    return [
        {"period": b.to_dict()} | figures(sums.get((None, k), {}), weights)
        for k, b in enumerate(buckets, start=1)
    ]


def state_counts(
    conn: Connection,
    *,
    period: Period,
    parent: str | None = None,
    areas: tuple[str, ...] | None = None,
) -> dict[str, int]:
    """The incidents reported in ``period`` under ``parent``, by the state they are in now."""
    sql = (
        "SELECT i.state, count(*) FROM incidents i JOIN grids g ON g.id = i.grid_id "
        "WHERE i.reported_at >= :start AND i.reported_at < :end "
        "AND starts_with(g.code, :parent) AND (CAST(:areas AS text[]) IS NULL OR EXISTS "
        "(SELECT 1 FROM unnest(CAST(:areas AS text[])) a WHERE starts_with(g.code, a))) "
        "GROUP BY 1"
    )
    params = {"start": period.start, "end": period.end, "parent": parent or "",
              "areas": None if areas is None else list(areas)}  # fmt: skip
    found: dict[str, int] = {str(k): int(v) for k, v in conn.execute(text(sql), params).all()}
    return {s: int(found.get(s, 0)) for s in STATES}
