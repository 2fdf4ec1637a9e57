"""Plans' records: open, find, list and discard a plan, its edit log, and who may act on it.

The draft itself (the grids a plan changes, loaded and saved) is :mod:`boundaries.plans.drafts`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from boundaries.plans.summaries import summary_parts
from gridgeo.errors import Conflict, Forbidden, InvalidInput, NotFound
from gridgeo.rules import current_grid_id

PLAN_COLUMNS = (
    "id, area_code, title, status, source, created_by, opened_at, updated_at, revision, "
    "change_id, closed_at, closed_by, detail"
)


def plan_row(conn: Connection, plan_id: int, lock: bool = False) -> dict[str, Any]:
    """The plan row ``plan_id`` (locked FOR UPDATE with ``lock``).

    Raises:
        NotFound: no such plan.
    """
    sql = f"SELECT {PLAN_COLUMNS} FROM plans WHERE id = :id"  # noqa: S608 - fixed columns
    sql += " FOR UPDATE" if lock else ""
    row = conn.execute(text(sql), {"id": plan_id}).mappings().first()
    if row is None:
        raise NotFound(f"no plan has the id {plan_id}", field="plan_id")
    return dict(row)


def get_plan(conn: Connection, plan_id: int) -> dict[str, Any]:
    """A plan's record.

    Raises:
        NotFound: no such plan.
    """
    return plan_row(conn, plan_id)


def list_plans(
    conn: Connection, *, status: str | None = None, areas: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Plans, newest first, optionally of one status and within the given areas."""
    where, params = ["true"], {}
    if status is not None:
        if status not in ("open", "committed", "discarded"):
            raise InvalidInput(
                f"unknown plan status '{status}'; statuses: open, committed, discarded",
                field="status",
            )
        where.append("status = :status")
        params["status"] = status
    if areas is not None:
        where.append("area_code LIKE ANY(CAST(:areas AS text[]))")
        params["areas"] = [a + "%" for a in areas]  # type: ignore[assignment]
    clause = " AND ".join(where)
    sql = f"SELECT {PLAN_COLUMNS} FROM plans WHERE {clause} ORDER BY id DESC"  # noqa: S608
    return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def open_plan(
    conn: Connection,
    area_code: str,
    title: str,
    actor: str,
    *,
    source: str = "editor",
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open a plan over the subtree of ``area_code``.

    Raises:
        NotFound: no current grid has the code. InvalidInput: a blank title, or an area with no
            grids below it (open the plan on its parent).
    """
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("a plan needs a title saying what it is for", field="title")
    area_id = current_grid_id(conn, area_code, "area")
    kids = conn.execute(
        text("SELECT count(*) FROM current_grids WHERE parent_id = :id"),
        {"id": area_id},
    ).scalar_one()
    if not kids:
        raise InvalidInput(
            f"area {area_code} has no grids below it; open the plan on its parent to redraw it",
            field="area",
        )
    row = (
        conn.execute(
            text(
                "INSERT INTO plans (area_code, title, created_by, source, detail) "  # noqa: S608
                f"VALUES (:a, :t, :by, :s, CAST(:d AS jsonb)) RETURNING {PLAN_COLUMNS}"
            ),
            {
                "a": area_code,
                "t": title.strip(),
                "by": actor,
                "s": source,
                "d": json.dumps(detail or {}, ensure_ascii=False, default=str),
            },
        )
        .mappings()
        .one()
    )
    return dict(row)


def require_open(plan: dict[str, Any]) -> None:
    """Refuse to change a plan that is committed or discarded.

    Raises:
        Conflict: the plan is not open.
    """
    if plan["status"] != "open":
        raise Conflict(
            f"plan {plan['id']} is {plan['status']}; open a new plan to make further changes",
            plan_id=plan["id"],
            status=plan["status"],
        )


def discard_plan(conn: Connection, plan_id: int, actor: str) -> dict[str, Any]:
    """Discard an open plan (its rows stay on record).

    Raises:
        NotFound, Conflict: no such plan, or not open.
    """
    plan = plan_row(conn, plan_id, lock=True)
    require_open(plan)
    conn.execute(
        text(
            "UPDATE plans SET status = 'discarded', closed_at = clock_timestamp(), "
            "closed_by = :by, updated_at = clock_timestamp() WHERE id = :id"
        ),
        {"id": plan_id, "by": actor},
    )
    return plan_row(conn, plan_id)


def list_edits(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """The plan's edits in order: seq, op, summary, by, at, args, summary_parts.

    ``summary_parts``: the summary's parts (:func:`boundaries.plans.summaries.summary_parts`),
    for a page to say it in its language.
    """
    rows = conn.execute(
        text(
            "SELECT seq, op, summary, by, at, args FROM plan_edits WHERE plan_id = :id ORDER BY seq"
        ),
        {"id": plan_id},
    ).mappings()
    return [dict(r) | {"summary_parts": summary_parts(r["summary"])} for r in rows]


def plan_summary(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan's record as JSON-able values."""
    out = dict(plan)
    for key in ("opened_at", "updated_at", "closed_at"):
        if isinstance(out.get(key), datetime):
            out[key] = out[key].isoformat()
    return out


def check_plan_area(account_covers: Any, plan: dict[str, Any]) -> None:
    """Refuse an account whose areas do not cover the plan's area.

    Args:
        account_covers: the account's ``covers(code)`` method.
        plan: the plan's record.

    Raises:
        Forbidden: the area is outside the account's areas.
    """
    if not account_covers(plan["area_code"]):
        raise Forbidden(f"plan {plan['id']} is over area {plan['area_code']}, outside your areas")
