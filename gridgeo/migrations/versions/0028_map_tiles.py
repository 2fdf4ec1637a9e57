"""Overview tiles kept in the database (gridgeo/tiles.py, ``TileStore``).

The all-levels tiles of the overview zooms (z ≤ 12) cost the most to make (each sums the
households of thousands of grids) and are the first a map page asks for. They are kept here,
each valid for the data version it was made from (``gridgeo.tiles.data_version``), so that a
restarted service or a second worker process serves them without rendering; a tile made from
an older version is made again and replaced.

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "map_tiles",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column(
            "made_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )


def downgrade() -> None:
    op.drop_table("map_tiles")
