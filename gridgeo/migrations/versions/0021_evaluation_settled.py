"""The sums of settled periods, kept in the database (gridgeo/evaluation/cache.py).

A restarted service (or a second worker process) then reads a settled month's sums instead of
summing it again. Each row is valid for the *version* of its period: the count and summed life
of the long-lived incidents that overlap the period; it is replaced when that changes.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_settled",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("sums", JSONB, nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )


def downgrade() -> None:
    op.drop_table("evaluation_settled")
