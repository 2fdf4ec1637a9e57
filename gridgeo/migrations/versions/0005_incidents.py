"""Incidents: states, flags, escalation, idempotency; timeline, categories, departments.

Forks from 0003 beside 0004 (workload); the app upgrades to all heads.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
STATES = ("reported", "accepted", "dispatched", "in_progress", "resolved", "verified", "closed")

CATEGORIES = [
    # key, zh, en, minutes to accept, minutes to resolve
    ("sanitation", "环境卫生", "Sanitation", 120, 1440),
    ("safety_hazard", "治安隐患", "Safety hazard", 30, 480),
    ("dispute", "矛盾纠纷", "Dispute", 60, 2880),
    ("broken_facility", "设施损坏", "Broken facility", 240, 4320),
    ("other", "其他", "Other", 240, 4320),
]

DEPARTMENTS = [
    ("城市管理局", ["sanitation", "broken_facility"]),
    ("公安派出所", ["safety_hazard", "dispute"]),
    ("司法所", ["dispute"]),
    ("住房和城乡建设局", ["broken_facility"]),
]

NEW_COLUMNS = [
    sa.Column("state", sa.Text, nullable=False, server_default="reported"),
    sa.Column("major", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("accuracy_m", sa.Float),
    sa.Column("coord_system", sa.Text, nullable=False, server_default="wgs84"),
    sa.Column("orig_lon", sa.Float),
    sa.Column("orig_lat", sa.Float),
    sa.Column("candidate_grid_ids", ARRAY(sa.BigInteger), nullable=False, server_default="{}"),
    sa.Column("flags", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("duplicate_of", sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="SET NULL")),
    sa.Column("escalation_level", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("queue_area", sa.Text),
    sa.Column("accept_due", TS),
    sa.Column("resolve_due", TS),
    sa.Column("rating", sa.SmallInteger),
    sa.Column("reporter", sa.Text),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("assignee", sa.Text),
    sa.Column("department_id", sa.BigInteger),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
]


def upgrade() -> None:
    categories = op.create_table(
        "incident_categories",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("label_zh", sa.Text, nullable=False),
        sa.Column("label_en", sa.Text, nullable=False),
        sa.Column("accept_minutes", sa.Integer, nullable=False),
        sa.Column("resolve_minutes", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "accept_minutes > 0 AND resolve_minutes > 0", name="incident_categories_limits"
        ),
    )
    op.bulk_insert(
        categories,
        [
            {"key": k, "label_zh": zh, "label_en": en, "accept_minutes": a, "resolve_minutes": r}
            for k, zh, en, a, r in CATEGORIES
        ],
    )
    departments = op.create_table(
        "departments",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("categories", ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    op.bulk_insert(departments, [{"name": n, "categories": c} for n, c in DEPARTMENTS])
    for column in NEW_COLUMNS:
        op.add_column("incidents", column)
    op.create_foreign_key(
        "incidents_department_id_fkey", "incidents", "departments", ["department_id"], ["id"]
    )
    op.create_check_constraint(
        "incidents_state", "incidents", "state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")"
    )
    op.create_check_constraint("incidents_rating", "incidents", "rating BETWEEN 1 AND 5")
    op.create_check_constraint(
        "incidents_coord_system", "incidents", "coord_system IN ('wgs84', 'gcj02', 'bd09')"
    )
    op.create_index(
        "incidents_idempotency",
        "incidents",
        ["reporter", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index("ix_incidents_state", "incidents", ["state"])
    op.create_index("ix_incidents_reported_at", "incidents", ["reported_at"])
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.BigInteger,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_incident_events_incident_id", "incident_events", ["incident_id", "id"])


def downgrade() -> None:
    op.drop_table("incident_events")
    op.drop_index("ix_incidents_reported_at", table_name="incidents")
    op.drop_index("ix_incidents_state", table_name="incidents")
    op.drop_index("incidents_idempotency", table_name="incidents")
    op.drop_constraint("incidents_coord_system", "incidents")
    op.drop_constraint("incidents_rating", "incidents")
    op.drop_constraint("incidents_state", "incidents")
    op.drop_constraint("incidents_department_id_fkey", "incidents")
    for column in reversed(NEW_COLUMNS):
        op.drop_column("incidents", column.name)
    op.drop_table("departments")
    op.drop_table("incident_categories")
