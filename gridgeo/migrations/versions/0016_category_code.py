"""Categories may carry a national classification code (CJ/T 214, GB/T 30428.2, GB/T 47678.5).

Digital urban management and the 12345 hotline exchange events by these codes; Open311 uses a
category's code as its ``service_code`` when it has one (gridgeo/incidents/codes.py checks
their structure).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident_categories", sa.Column("code", sa.Text))
    op.create_unique_constraint("incident_categories_code_key", "incident_categories", ["code"])


def downgrade() -> None:
    op.drop_constraint("incident_categories_code_key", "incident_categories")
    op.drop_column("incident_categories", "code")
