"""Incident photos (files outside the database, content-addressed); active categories/departments.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_photos",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.BigInteger,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "event_id",
            sa.BigInteger,
            sa.ForeignKey("incident_events.id", ondelete="SET NULL"),
        ),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("mime", sa.Text, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("gps_removed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("taken_by", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="incident_photos_sha256"),
        sa.CheckConstraint(
            "mime IN ('image/jpeg', 'image/png', 'image/webp')", name="incident_photos_mime"
        ),
        sa.CheckConstraint(
            "bytes > 0 AND width > 0 AND height > 0", name="incident_photos_positive"
        ),
        sa.UniqueConstraint("incident_id", "sha256", name="incident_photos_once"),
    )
    op.create_index("ix_incident_photos_sha256", "incident_photos", ["sha256"])
    op.create_index("ix_incident_photos_event_id", "incident_photos", ["event_id"])
    for table in ("incident_categories", "departments"):
        op.add_column(
            table, sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    for table in ("departments", "incident_categories"):
        op.drop_column(table, "active")
    op.drop_table("incident_photos")
