"""Residents raise and rate matters (居民提事·评事); deliberation; volunteers (党员领单).

- ``resident_matters``: what a resident sent from ``/resident`` without an account, until a
  dispatcher accepts, merges or rejects it (``gridgeo/residents/``); the private link's token
  is stored as its SHA-256 only; the phone number and client address are personal data, removed
  by the purge after the retention (``purged_at``).
- ``resident_matter_photos``: its photos (files in the photo store, by checksum, as incident
  photos are), copied onto the incident when the matter is accepted or merged.
- ``incidents.resident_rating``: the mean of the residents' ratings of an incident (the
  evaluation's satisfaction uses it where there is one; ``rating`` stays the dispatcher's, the
  rating of the verification).
- ``incidents.deliberation`` (网格议事·会议定事), ``parent_id`` (a linked task of a decided
  matter, 联动办事) and ``meeting_decisions`` (a community meeting's recorded decision).
- ``incidents.volunteer_open``, ``volunteer``: a request open to volunteers and who claimed it;
  the role ``volunteer`` (志愿者/党员, scoped to a community).

Revision ID: 0019
Revises: 0018 (the integrator chains it after 0018)
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
OLD_ROLES = "role IN ('admin', 'planner', 'dispatcher', 'patrol', 'viewer')"
NEW_ROLES = "role IN ('admin', 'planner', 'dispatcher', 'patrol', 'viewer', 'volunteer')"


def upgrade() -> None:
    op.create_table(
        "resident_matters",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tracking", sa.Text, nullable=False, unique=True),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("state", sa.Text, nullable=False, server_default="submitted"),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("area_code", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("phone", sa.Text),
        sa.Column("client_address", sa.Text),
        sa.Column("idempotency_key", sa.Text, unique=True),
        sa.Column("submitted_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("decided_at", TS),
        sa.Column("decided_by", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="SET NULL")),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("comment", sa.Text),
        sa.Column("rated_at", TS),
        sa.Column("not_fixed_at", TS),
        sa.Column("purged_at", TS),
        sa.CheckConstraint(
            "state IN ('submitted', 'accepted', 'merged', 'rejected')",
            name="resident_matters_state",
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="resident_matters_rating"),
        sa.CheckConstraint(
            "state IN ('submitted', 'rejected') OR incident_id IS NOT NULL",
            name="resident_matters_incident",
        ),
    )
    op.create_index(
        "idx_resident_matters_location", "resident_matters", ["location"], postgresql_using="gist"
    )
    op.create_index("ix_resident_matters_incident_id", "resident_matters", ["incident_id"])
    op.create_index(
        "ix_resident_matters_submitted",
        "resident_matters",
        ["submitted_at"],
        postgresql_where=sa.text("state = 'submitted'"),
    )
    op.create_index(
        "ix_resident_matters_address", "resident_matters", ["client_address", "submitted_at"]
    )
    op.create_index("ix_resident_matters_phone", "resident_matters", ["phone", "submitted_at"])
    op.create_table(
        "resident_matter_photos",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "matter_id",
            sa.BigInteger,
            sa.ForeignKey("resident_matters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("mime", sa.Text, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("gps_removed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="resident_matter_photos_sha256"),
        sa.UniqueConstraint("matter_id", "sha256", name="resident_matter_photos_once"),
    )
    op.add_column("incidents", sa.Column("resident_rating", sa.Float))
    op.add_column(
        "incidents",
        sa.Column("deliberation", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "incidents",
        sa.Column("parent_id", sa.BigInteger, sa.ForeignKey("incidents.id", ondelete="SET NULL")),
    )
    op.add_column(
        "incidents",
        sa.Column("volunteer_open", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("incidents", sa.Column("volunteer", sa.Text))
    op.create_check_constraint(
        "incidents_resident_rating", "incidents", "resident_rating BETWEEN 1 AND 5"
    )
    op.create_index(
        "ix_incidents_parent_id",
        "incidents",
        ["parent_id"],
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.create_index(
        "ix_incidents_volunteer_open",
        "incidents",
        ["id"],
        postgresql_where=sa.text("volunteer_open"),
    )
    op.create_table(
        "meeting_decisions",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.BigInteger,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("attendance", sa.Integer, nullable=False),
        sa.Column("votes_for", sa.Integer, nullable=False),
        sa.Column("votes_against", sa.Integer, nullable=False),
        sa.Column("abstain", sa.Integer, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "attendance >= 0 AND votes_for >= 0 AND votes_against >= 0 AND abstain >= 0 "
            "AND votes_for + votes_against + abstain <= attendance",
            name="meeting_decisions_votes",
        ),
    )
    op.create_index("ix_meeting_decisions_incident_id", "meeting_decisions", ["incident_id"])
    op.drop_constraint("users_role", "users")
    op.create_check_constraint("users_role", "users", NEW_ROLES)


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE role = 'volunteer'")
    op.drop_constraint("users_role", "users")
    op.create_check_constraint("users_role", "users", OLD_ROLES)
    op.drop_table("meeting_decisions")
    op.drop_index("ix_incidents_volunteer_open", table_name="incidents")
    op.drop_index("ix_incidents_parent_id", table_name="incidents")
    op.drop_constraint("incidents_resident_rating", "incidents")
    for column in ("volunteer", "volunteer_open", "parent_id", "deliberation", "resident_rating"):
        op.drop_column("incidents", column)
    op.drop_table("resident_matter_photos")
    op.drop_table("resident_matters")
