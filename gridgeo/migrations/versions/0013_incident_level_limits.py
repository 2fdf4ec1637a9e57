"""Incidents keep their original time limits beside the limits of the level they are queued at.

Until now each escalation reset ``accept_due``/``resolve_due``, so an incident escalated for
lateness stopped counting as overdue and no on-time rate could be computed. From here on
``accept_due``/``resolve_due`` are the limits as first set (never moved), and escalation acts on
the new ``level_accept_due``/``level_resolve_due`` (see gridgeo/incidents/policy.py).

Existing rows: the level limits take the values the incident has now; the original limits are
set again from the report time and the category's current minutes for incidents that were
escalated (the limits first set were not recorded elsewhere).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("incidents", sa.Column("level_accept_due", TS))
    op.add_column("incidents", sa.Column("level_resolve_due", TS))
    op.execute(
        """
        UPDATE incidents i SET level_accept_due = i.accept_due, level_resolve_due = i.resolve_due,
            accept_due = CASE WHEN i.escalation_level > 0
                THEN i.reported_at + make_interval(mins => c.accept_minutes) ELSE i.accept_due END,
            resolve_due = CASE WHEN i.escalation_level > 0
                THEN i.reported_at + make_interval(mins => c.resolve_minutes) ELSE i.resolve_due END
        FROM incident_categories c WHERE c.key = i.category
        """
    )


def downgrade() -> None:
    op.execute(
        "UPDATE incidents SET accept_due = level_accept_due, resolve_due = level_resolve_due"
    )
    op.drop_column("incidents", "level_resolve_due")
    op.drop_column("incidents", "level_accept_due")
