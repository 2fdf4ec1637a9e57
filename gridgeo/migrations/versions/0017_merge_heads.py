"""Join the two branches of the schema (evaluation 0014; category flags and codes 0015–0016).

Nothing changes; later revisions build on one head again.

Revision ID: 0017
Revises: 0014, 0016
Create Date: 2026-12-05
"""

revision = "0017"
down_revision = ("0014", "0016")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
