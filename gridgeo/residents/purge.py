"""Personal data of residents' matters removed after the retention (a dry run unless committed).

A matter's phone number and client address are kept while someone may need to call back or
count the day's limit: until the matter is closed (or rejected, or merged into an incident that
closed) and ``resident_phone_retention_days`` more days have passed. Then both are set to NULL
and ``purged_at`` says when. Run by ``gridgeo residents purge --commit`` and by the escalation
job of the served app on each round.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, text

DUE_SQL = """
FROM resident_matters m LEFT JOIN incidents i ON i.id = m.incident_id
WHERE m.purged_at IS NULL AND (m.phone IS NOT NULL OR m.client_address IS NOT NULL)
  AND ((m.state = 'rejected' AND m.decided_at <= :before)
       OR (i.state = 'closed' AND i.closed_at <= :before))
"""


def purge_personal_data(
    conn: Connection, *, now: datetime, retention_days: int, commit: bool
) -> list[str]:
    """The tracking numbers whose phone and address are (with ``commit``: were) removed."""
    params = {"before": now - timedelta(days=retention_days), "now": now}
    due = conn.execute(text("SELECT m.tracking " + DUE_SQL + " ORDER BY m.id"), params)
    tracking = [r[0] for r in due]
    if commit and tracking:
        conn.execute(
            text(
                "UPDATE resident_matters SET phone = NULL, client_address = NULL, purged_at = :now "
                "WHERE tracking = ANY(:t)"
            ),
            {"now": now, "t": tracking},
        )
    return tracking
