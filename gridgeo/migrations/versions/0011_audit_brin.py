"""The audit log's time index as BRIN: the log only grows, in time order.

A B-tree on ``audit_log.at`` took an entry (and a write to its hottest page) for every audited
change, the incident reports included; a BRIN index keeps one summary per range of pages, costs
next to nothing to keep up and still narrows a query by time to the pages of that time.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.create_index("ix_audit_log_at", "audit_log", ["at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
