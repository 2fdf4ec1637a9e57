"""An incident's timeline summed up: the times the evaluation counts by, kept on its row.

The evaluation (:mod:`gridgeo.evaluation`) asks of a period how many incidents were accepted,
resolved, closed, reopened… in it, and how long they took. Counting the timeline's events for
that is a join of every event of the period to its incident; instead each incident carries the
few times that matter (migration 0014), written by the action that sets them, in the same
``UPDATE`` as the state. A report writes none of them, so the figures cost a report nothing.

:data:`FACTS` says once which action sets which time, and whether the first or the last such
action counts; from it come both the ``SET`` fragment of one action (:func:`set_sql`) and the
statement that derives every fact from the timeline (:func:`refresh_facts`: for rows written in
bulk, and for the tests that hold the two renderings equal).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from gridgeo.incidents.policy import ACCEPTING, REOPENING, RESOLVING, sql_list

# column → (which action counts: "first" or "last", the actions that set it)
FACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "accepted_at": ("first", ACCEPTING),  # the end of the wait for acceptance
    "dispatched_at": ("first", ("dispatch",)),
    "resolved_at": ("last", RESOLVING),  # after a reopen, the resolution that stood
    "closed_at": ("last", ("close",)),
    "reopened_at": ("last", REOPENING),  # rework: the desk's reopen or a resident's "not fixed"
    "escalated_at": ("last", ("escalate",)),
    "returned_at": ("last", ("return",)),
}


def set_sql(action: str, at: str = ":now") -> str:
    """The ``SET`` items (each starting ", ") that ``action`` at ``at`` makes; "" if none."""
    items = []
    for column, (which, actions) in FACTS.items():
        if action in actions:
            value = at if which == "last" else f"coalesce({column}, {at})"
            items.append(f", {column} = {value}")
    return "".join(items)


def derived_sql() -> str:
    """SQL of ``(incident_id, <fact>…)`` computed from the timeline of ``:ids``."""
    cols = ", ".join(
        f"{'min' if which == 'first' else 'max'}(at) FILTER (WHERE action IN "
        f"({sql_list(actions)})) AS {column}"
        for column, (which, actions) in FACTS.items()
    )
    return (
        f"SELECT incident_id, {cols} FROM incident_events "  # noqa: S608 - constants
        "WHERE incident_id = ANY(CAST(:ids AS bigint[])) GROUP BY incident_id"
    )


def refresh_facts(conn: Connection, ids: Sequence[int]) -> int:
    """Set the facts of the incidents ``ids`` from their timelines; how many rows changed."""
    sets = ", ".join(f"{c} = f.{c}" for c in FACTS)
    sql = f"UPDATE incidents i SET {sets} FROM ({derived_sql()}) f WHERE f.incident_id = i.id"  # noqa: S608
    return int(conn.execute(text(sql), {"ids": list(ids)}).rowcount)
