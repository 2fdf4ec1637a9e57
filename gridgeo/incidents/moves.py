"""Moving incidents to another grid: one definition, for a dispatcher's regrid and a plan commit.

An incident that moves takes, in one statement: its new grid; the queue of its escalation
level above that grid (``gridgeo_ancestor_code``: a grid-level incident is queued at its new
grid, one escalated twice at the new grid's street); the new grid's worker when it was
dispatched to the old grid's (``grid:<code>``; a named worker or department keeps it); and an
entry on its timeline saying old → new. An incident whose grid stays but whose queue area was
redrawn (a community re-coded, say) gets its queue put right the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, text

from gridgeo.audit import record

MOVE_SQL = """
WITH m AS (
    SELECT i.id, i.state, i.queue_area AS old_queue, og.code AS old_code, ng.id AS new_id,
           ng.code AS new_code, gridgeo_ancestor_code(ng.id, i.escalation_level) AS queue
    FROM unnest(CAST(:ids AS bigint[]), CAST(:grids AS bigint[])) t(id, grid_id)
    JOIN incidents i ON i.id = t.id
    JOIN grids og ON og.id = i.grid_id
    JOIN grids ng ON ng.id = t.grid_id
    FOR UPDATE OF i
),
moved AS (
    UPDATE incidents i SET grid_id = m.new_id, queue_area = m.queue,
        assignee = CASE WHEN i.assignee = 'grid:' || m.old_code THEN 'grid:' || m.new_code
                        ELSE i.assignee END,
        updated_at = :now, updated_by = :actor
    FROM m WHERE i.id = m.id
    RETURNING i.id
),
ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_state, to_state, note)
    SELECT m.id, :now, :actor, :action, m.state, m.state,
           concat_ws(': ',
               CASE WHEN m.old_code <> m.new_code THEN m.old_code || ' → ' || m.new_code
                    WHEN m.old_queue IS DISTINCT FROM m.queue
                    THEN 'queue ' || coalesce(m.old_queue, '—') || ' → ' || m.queue
                    ELSE m.new_code || ' confirmed' END,
               nullif(CAST(:note AS text), ''))
    FROM m JOIN moved USING (id)
    RETURNING incident_id, id
)
SELECT incident_id, id FROM ev ORDER BY incident_id
"""


def move_incidents(
    conn: Connection,
    moves: Mapping[int, int],
    *,
    actor: str,
    action: str,
    now: datetime,
    note: str = "",
) -> dict[int, int]:
    """Move each incident of ``moves`` (incident id → grid id) to its grid, as one statement.

    Args:
        conn: connection in the caller's transaction.
        moves: the incidents and the grids they go to (the grid may be the one they are in:
            the queue is then put right and the timeline says so).
        actor: who is recorded as moving them.
        action: the timeline's action (``regrid`` by a dispatcher, ``move`` by a plan).
        now: the time of the move.
        note: words added to each timeline entry (the dispatcher's note, the plan's id).

    Returns:
        incident id → the id of its new timeline entry.
    """
    if not moves:
        return {}
    ids = sorted(moves)
    rows = conn.execute(
        text(MOVE_SQL),
        {"ids": ids, "grids": [moves[i] for i in ids], "now": now, "actor": actor,
         "action": action, "note": note},
    ).all()  # fmt: skip
    one = str(ids[0]) if len(ids) == 1 else None
    record(conn, actor, f"incident.{action}", "incidents", one, ids=ids)
    return {int(r[0]): int(r[1]) for r in rows}
