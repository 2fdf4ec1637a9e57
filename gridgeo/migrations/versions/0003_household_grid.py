"""Assignments of households to grids in their own narrow table.

Why: a bulk (re)assignment rewrote every household row, and each row version cost entries in
every index of ``households`` (the GiST on points above all) and a foreign-key check: 17 s of
21 s for a million points. A narrow table can be rebuilt whole and swapped in.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "household_grid",
        sa.Column(
            "household_id",
            sa.BigInteger,
            sa.ForeignKey("households.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "grid_id", sa.BigInteger, sa.ForeignKey("grids.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "assigned_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.execute(
        "INSERT INTO household_grid (household_id, grid_id, assigned_at) "
        "SELECT id, grid_id, coalesce(assigned_at, now()) FROM households WHERE grid_id IS NOT NULL"
    )
    op.create_index("ix_household_grid_grid_id", "household_grid", ["grid_id"])
    op.drop_index("ix_households_grid_id", table_name="households")
    op.drop_column("households", "assigned_at")
    op.drop_column("households", "grid_id")


def downgrade() -> None:
    op.add_column(
        "households",
        sa.Column("grid_id", sa.BigInteger, sa.ForeignKey("grids.id", ondelete="SET NULL")),
    )
    op.add_column("households", sa.Column("assigned_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE households h SET grid_id = a.grid_id, assigned_at = a.assigned_at "
        "FROM household_grid a WHERE a.household_id = h.id"
    )
    op.create_index("ix_households_grid_id", "households", ["grid_id"])
    op.drop_table("household_grid")
