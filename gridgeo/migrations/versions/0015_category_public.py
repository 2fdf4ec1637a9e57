"""Categories may be marked public: Open311's public read mode shows their descriptions.

``GRIDGEO_OPEN311_PUBLIC=true`` lets anonymous GeoReport readers list requests without personal
data; a request's description is shown only when its category is marked public (off for every
existing category: a resident's words may name people).

Revision ID: 0015
Revises: 0013 (0014 is another branch; the app upgrades to all heads)
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "incident_categories",
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("incident_categories", "public")
