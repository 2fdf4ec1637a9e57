"""Line layer: roads, rivers and railways that grid boundaries should follow (以街路巷河为界).

Balancing cuts an area into blocks along these lines; proposed grids are unions of whole
blocks where the households allow.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-24
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lines",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("MULTILINESTRING", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.CheckConstraint("kind IN ('road', 'river', 'rail')", name="lines_kind_known"),
    )
    op.create_index("idx_lines_geom", "lines", ["geom"], postgresql_using="gist")
    op.create_index("ix_lines_kind", "lines", ["kind"])


def downgrade() -> None:
    op.drop_table("lines")
