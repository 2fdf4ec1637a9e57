"""Plans: drafts of boundary redraws over one area, checked and previewed before commit.

A plan (``plans``) covers the subtree of one area. Its draft is the set of ``plan_grids``
rows: one per grid it changes, creates or retires (a grid it does not touch stays as stored).
Each edit a planner makes is logged in ``plan_edits`` with the rows it replaced, so an edit
can be undone. ``base_version`` is the version of a stored grid when the plan first touched
it; a commit refuses (409) when any touched grid has moved on since the plan was opened.

This revision also joins the feature branches (workers, incidents, versions) into one head.

Revision ID: 0007
Revises: 0004, 0005, 0006
Create Date: 2026-11-22
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = ("0004", "0005", "0006")
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("area_code", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("source", sa.Text, nullable=False, server_default="editor"),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("opened_at", TS, nullable=False, server_default=sa.text("clock_timestamp()")),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.text("clock_timestamp()")),
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
        sa.Column("change_id", sa.BigInteger, sa.ForeignKey("changes.id")),
        sa.Column("closed_at", TS),
        sa.Column("closed_by", sa.Text),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint(
            "status IN ('open', 'committed', 'discarded')", name="plans_status_known"
        ),
        sa.CheckConstraint("btrim(title) <> ''", name="plans_title_given"),
    )
    op.create_index("ix_plans_status", "plans", ["status", "area_code"])
    op.create_table(
        "plan_grids",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "plan_id",
            sa.BigInteger,
            sa.ForeignKey("plans.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("grid_id", sa.BigInteger),  # the stored grid; NULL for a grid the plan creates
        sa.Column("base_version", sa.Integer),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level_id", sa.SmallInteger, sa.ForeignKey("levels.id"), nullable=False),
        sa.Column("parent_code", sa.Text),
        sa.Column("workers", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
        ),
        sa.CheckConstraint("action IN ('change', 'create', 'retire')", name="plan_grids_action"),
        sa.CheckConstraint("action = 'retire' OR geom IS NOT NULL", name="plan_grids_geom_given"),
        sa.CheckConstraint("code ~ '^[0-9]+$'", name="plan_grids_code_digits"),
    )
    op.create_index("idx_plan_grids_geom", "plan_grids", ["geom"], postgresql_using="gist")
    op.create_index(
        "plan_grids_grid",
        "plan_grids",
        ["plan_id", "grid_id"],
        unique=True,
        postgresql_where=sa.text("grid_id IS NOT NULL"),
    )
    op.create_index(
        "plan_grids_code",
        "plan_grids",
        ["plan_id", "code"],
        unique=True,
        postgresql_where=sa.text("action <> 'retire'"),
    )
    op.create_table(
        "plan_edits",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "plan_id",
            sa.BigInteger,
            sa.ForeignKey("plans.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("op", sa.Text, nullable=False),
        sa.Column("args", JSONB, nullable=False),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("undo", JSONB, nullable=False),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False, server_default=sa.text("clock_timestamp()")),
        sa.UniqueConstraint("plan_id", "seq", name="plan_edits_seq"),
    )


def downgrade() -> None:
    op.drop_table("plan_edits")
    op.drop_table("plan_grids")
    op.drop_table("plans")
