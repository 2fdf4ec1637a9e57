"""Extension (延期) and return (回退); each incident's timeline summed up for the evaluation.

- ``extended_due``: the resolve limit an approved extension set (the original ``resolve_due``
  never moves); ``extension_requested_at``: a request waiting for a dispatcher's decision.
- The facts of the timeline the evaluation counts by (gridgeo/incidents/facts.py): when an
  incident was first accepted and first dispatched, last resolved, closed, reopened, escalated
  and returned. Set by the transitions themselves, never by a report (a report's row has none),
  so that no figure slows a report down; existing rows are filled from their timelines here.
- ``ix_incidents_long_lived``: the few incidents whose life (to their last change or limit)
  spans more than 30 days. A period's figures read the incidents reported from 30 days before
  it by ``reported_at`` and these few by this index (gridgeo/evaluation/query.py). A report's
  row is never in it (its last change is its report, its limits are days), so it costs a
  report nothing.
- ``ix_incidents_extension_pending``: the desk's queue of extension requests.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
COLUMNS = (
    "extended_due",
    "extension_requested_at",
    "accepted_at",
    "dispatched_at",
    "resolved_at",
    "closed_at",
    "reopened_at",
    "escalated_at",
    "returned_at",
)
LIFE = "greatest(updated_at, accept_due, resolve_due)"


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("incidents", sa.Column(name, TS))
    # as gridgeo.incidents.facts.FACTS says it, frozen here
    op.execute(
        """
        UPDATE incidents i SET accepted_at = f.a, dispatched_at = f.d, resolved_at = f.r,
            closed_at = f.c, reopened_at = f.o, escalated_at = f.e, returned_at = f.t
        FROM (SELECT incident_id,
                min(at) FILTER (WHERE action IN ('accept', 'dispatch')) AS a,
                min(at) FILTER (WHERE action = 'dispatch') AS d,
                max(at) FILTER (WHERE action = 'resolve') AS r,
                max(at) FILTER (WHERE action = 'close') AS c,
                max(at) FILTER (WHERE action = 'reopen') AS o,
                max(at) FILTER (WHERE action = 'escalate') AS e,
                max(at) FILTER (WHERE action = 'return') AS t
              FROM incident_events GROUP BY incident_id) f
        WHERE f.incident_id = i.id
        """
    )
    op.create_index(
        "ix_incidents_long_lived",
        "incidents",
        [sa.text(LIFE)],
        postgresql_where=sa.text(f"{LIFE} - reported_at > interval '30 days'"),
    )
    op.create_index(
        "ix_incidents_extension_pending",
        "incidents",
        ["extension_requested_at"],
        postgresql_where=sa.text("extension_requested_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_extension_pending", table_name="incidents")
    op.drop_index("ix_incidents_long_lived", table_name="incidents")
    for name in reversed(COLUMNS):
        op.drop_column("incidents", name)
