"""Incidents keep the media URL an Open311 client posts (GeoReport v2 ``media_url``).

Also joins the heads 0008 (photos) and 0009 (lines) into one.

Revision ID: 0010
Revises: 0008, 0009
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = ("0008", "0009")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("media_url", sa.Text, nullable=True))
    op.create_check_constraint(
        "incidents_media_url_http",
        "incidents",
        "media_url IS NULL OR (media_url ~ '^https?://[^/?#]+' AND length(media_url) <= 2000)",
    )


def downgrade() -> None:
    op.drop_constraint("incidents_media_url_http", "incidents", type_="check")
    op.drop_column("incidents", "media_url")
