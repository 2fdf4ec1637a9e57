"""Named grid workers, the per-area workload standard, and the one rule for worker counts.

The rule (the view ``grid_staff``, the only place that decides it): the effective worker count
of a grid is the number of its named workers marked ``full_time`` when it has at least one,
else the stored count ``grids.workers``. A roster kept by name thus overrides the plain count;
grids whose staff are only counted keep working as before. Part-time helpers (building heads,
volunteers) are stored but never count toward the standard.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# keep in step with gridgeo.workers.ROLES
ROLE_KEYS = (
    "grid_head",
    "grid_admin",
    "patrol_visitor",
    "mediator",
    "building_group_head",
    "building_head",
    "unit_head",
    "other",
)

GRID_STAFF = """
CREATE VIEW grid_staff AS
SELECT g.id AS grid_id,
       g.code,
       CASE WHEN coalesce(w.full_time, 0) > 0 THEN w.full_time ELSE g.workers END AS workers,
       coalesce(w.named, 0) AS named,
       coalesce(w.full_time, 0) AS named_full_time
FROM grids g
LEFT JOIN (
    SELECT grid_id, count(*) AS named, count(*) FILTER (WHERE full_time) AS full_time
    FROM workers GROUP BY grid_id
) w ON w.grid_id = g.id
WHERE g.valid_to IS NULL
"""


def upgrade() -> None:
    roles = ", ".join(f"'{r}'" for r in ROLE_KEYS)
    op.create_table(
        "workers",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "grid_id", sa.BigInteger, sa.ForeignKey("grids.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("full_time", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("phone", sa.Text),
        sa.Column("external_id", sa.Text, unique=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_by", sa.Text),
        sa.CheckConstraint(f"role IN ({roles})", name="workers_role"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="workers_name_nonempty"),
    )
    op.create_index("ix_workers_grid_id", "workers", ["grid_id"])
    op.create_table(
        "workload_config",
        sa.Column("area_code", sa.Text, primary_key=True),
        sa.Column("households_per_worker", sa.Integer, nullable=False),
        sa.Column("band", sa.Float, nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_by", sa.Text),
        sa.CheckConstraint("households_per_worker > 0", name="workload_config_standard_pos"),
        sa.CheckConstraint("band > 0 AND band < 1", name="workload_config_band_range"),
        sa.CheckConstraint("area_code ~ '^[0-9]+$'", name="workload_config_code_digits"),
    )
    op.execute(GRID_STAFF)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS grid_staff")
    op.drop_table("workload_config")
    op.drop_index("ix_workers_grid_id", table_name="workers")
    op.drop_table("workers")
