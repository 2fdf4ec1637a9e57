"""The schema as the migrations build it (all heads), mapped with SQLAlchemy 2 + GeoAlchemy2.

This is Alembic's target metadata (``gridgeo/migrations/env.py``): every table, column (type,
nullability, server default), key, unique and CHECK constraint and index the migrations in
``gridgeo/migrations/versions/`` leave, under the names they give. The migrations are the
source; this module follows them. A migration that changes the schema changes this module in
the same commit, else ``tests/db/test_models_schema.py`` fails (it compares the two through
Alembic's autogenerate and through PostgreSQL's catalog).

Not here, since they are not tables: the views (``current_grids``, migration 0012; ``grid_staff``, migration 0004: the rule for a
grid's effective worker count; a view added later goes in this list, not in the metadata), the
triggers and functions that keep ``grid_parts`` and ``grid_versions``, and the seed rows of
``levels``, ``incident_categories`` and ``departments``.

Most of the code reads and writes these tables with SQL text; the classes are the schema's
map, not an obligatory data layer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326

# Column shapes the tables share.
Id = Annotated[int, mapped_column(BigInteger, primary_key=True, autoincrement=True)]
Now = Annotated[datetime, mapped_column(server_default=func.now())]
Clock = Annotated[datetime, mapped_column(server_default=text("clock_timestamp()"))]
Detail = Annotated[dict[str, Any], mapped_column(server_default=text("'{}'::jsonb"))]


def _geometry(kind: str) -> Geometry:
    """A geometry type in EPSG:4326; its GiST index is declared by name with the table."""
    return Geometry(kind, srid=SRID, spatial_index=False)


class Base(DeclarativeBase):
    """Declarative base of all gridgeo tables."""

    type_annotation_map = {
        str: Text,
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
    }


# --- The area hierarchy (0001; created_by / updated_by from 0002) ---------------------------


class Level(Base):
    """One level of the area hierarchy (district 区 → street 街道 → community 社区 → grid 网格)."""

    __tablename__ = "levels"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(unique=True)
    depth: Mapped[int] = mapped_column(SmallInteger, unique=True)
    code_width: Mapped[int] = mapped_column(SmallInteger)
    label_zh: Mapped[str]
    label_en: Mapped[str]

    __table_args__ = (
        CheckConstraint("depth >= 0", name="levels_depth_nonneg"),
        CheckConstraint("code_width > 0", name="levels_code_width_pos"),
    )


class Grid(Base):
    """An area at any level: its boundary, code, parent and plain worker count.

    Every version of a boundary stays a row: the current one has ``valid_to IS NULL`` and its
    code is unique among current rows. Triggers keep ``grid_parts`` and ``grid_versions``.
    """

    __tablename__ = "grids"

    id: Mapped[Id]
    code: Mapped[str]
    name: Mapped[str]
    level_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("levels.id"))
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grids.id", ondelete="RESTRICT")
    )
    geom: Mapped[WKBElement] = mapped_column(_geometry("MULTIPOLYGON"))
    workers: Mapped[int] = mapped_column(server_default="0")
    version: Mapped[int] = mapped_column(server_default="1")
    valid_from: Mapped[Now]
    valid_to: Mapped[datetime | None]
    created_at: Mapped[Now]
    updated_at: Mapped[Now]
    created_by: Mapped[str | None]
    updated_by: Mapped[str | None]

    level: Mapped[Level] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("workers >= 0", name="grids_workers_nonneg"),
        CheckConstraint("code ~ '^[0-9]+$'", name="grids_code_digits"),
        Index("idx_grids_geom", "geom", postgresql_using="gist"),
        Index("ix_grids_parent_id", "parent_id"),
        Index("grids_code_current", "code", unique=True, postgresql_where=text("valid_to IS NULL")),
    )


class GridPart(Base):
    """A piece of a current grid's boundary (``ST_Subdivide``), kept by a trigger for lookup."""

    __tablename__ = "grid_parts"

    id: Mapped[Id]
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grids.id", ondelete="CASCADE"))
    depth: Mapped[int] = mapped_column(SmallInteger)
    code: Mapped[str]
    geom: Mapped[WKBElement] = mapped_column(_geometry("POLYGON"))
    # the order of the leaf rule (gridgeo/rules.py), generated by the function of migration 0012
    leaf_key: Mapped[str] = mapped_column(
        Text(collation="C"), Computed("gridgeo_leaf_key(depth, code)", persisted=True)
    )

    __table_args__ = (
        Index("idx_grid_parts_geom", "geom", postgresql_using="gist"),
        Index("ix_grid_parts_grid_id", "grid_id"),
    )


# --- Households and their grid (0001, 0003) ---------------------------------------------------


class Household(Base):
    """A located building or dwelling carrying one or more households."""

    __tablename__ = "households"

    id: Mapped[Id]
    location: Mapped[WKBElement] = mapped_column(_geometry("POINT"))
    household_count: Mapped[int] = mapped_column(server_default="1")
    address: Mapped[str | None]
    external_id: Mapped[str | None]
    created_at: Mapped[Now]
    created_by: Mapped[str | None]
    updated_by: Mapped[str | None]

    __table_args__ = (
        CheckConstraint("household_count > 0", name="households_count_pos"),
        Index("idx_households_location", "location", postgresql_using="gist"),
        Index(
            "households_external_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )


class HouseholdGrid(Base):
    """The grid each household is assigned to, in a narrow table of its own.

    Mapped as migration 0003 leaves it. A full reassignment (``gridgeo.bulk_assign``) builds a
    new table and swaps it in under the same name, key, index and foreign keys, but adds the
    foreign keys ``NOT VALID``: its rows come from the grid parts in the same transaction.
    """

    __tablename__ = "household_grid"

    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grids.id", ondelete="CASCADE"))
    assigned_at: Mapped[Now]

    __table_args__ = (Index("ix_household_grid_grid_id", "grid_id"),)


# --- Accounts and the audit log (0002) --------------------------------------------------------


class User(Base):
    """An account: its role and password hash (none for an account that logs in by key)."""

    __tablename__ = "users"

    id: Mapped[Id]
    name: Mapped[str] = mapped_column(unique=True)
    role: Mapped[str]
    password_hash: Mapped[str | None]
    disabled: Mapped[bool] = mapped_column(server_default=false())
    demo_password: Mapped[bool] = mapped_column(server_default=false())
    created_at: Mapped[Now]
    created_by: Mapped[str | None]

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'planner', 'dispatcher', 'patrol', 'viewer')", name="users_role"
        ),
        CheckConstraint("name ~ '^[A-Za-z0-9_.@-]{1,64}$'", name="users_name"),
    )


class UserArea(Base):
    """An area (by code) an account is limited to; an account with none sees everything."""

    __tablename__ = "user_areas"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    area_code: Mapped[str] = mapped_column(primary_key=True)


class Token(Base):
    """A login session or an API key, stored as the hash of its secret."""

    __tablename__ = "tokens"

    id: Mapped[Id]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str]
    token_hash: Mapped[bytes] = mapped_column(unique=True)
    label: Mapped[str | None]
    created_at: Mapped[Now]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("kind IN ('session', 'api_key')", name="tokens_kind"),
        Index("ix_tokens_user_id", "user_id"),
    )


class LoginFailure(Base):
    """A failed login, by account name and address, for throttling."""

    __tablename__ = "login_failures"

    id: Mapped[Id]
    at: Mapped[Now]
    username: Mapped[str]
    address: Mapped[str]

    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )


class AuditEntry(Base):
    """One audited action: who did what to which entity, with details."""

    __tablename__ = "audit_log"

    id: Mapped[Id]
    at: Mapped[Now]
    actor: Mapped[str]
    action: Mapped[str]
    entity: Mapped[str]
    entity_id: Mapped[str | None]
    detail: Mapped[Detail]

    # BRIN since 0011: the log only grows, in time order
    __table_args__ = (Index("ix_audit_log_at", "at", postgresql_using="brin"),)


# --- Workers and the workload standard (0004) -------------------------------------------------


class Worker(Base):
    """A named grid worker (网格员); full-time ones replace the plain count (view grid_staff)."""

    __tablename__ = "workers"

    id: Mapped[Id]
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grids.id", ondelete="CASCADE"))
    name: Mapped[str]
    role: Mapped[str]
    full_time: Mapped[bool] = mapped_column(server_default=true())
    phone: Mapped[str | None]
    external_id: Mapped[str | None] = mapped_column(unique=True)
    created_at: Mapped[Now]
    created_by: Mapped[str | None]
    updated_at: Mapped[Now]
    updated_by: Mapped[str | None]

    __table_args__ = (
        CheckConstraint(
            "role IN ('grid_head', 'grid_admin', 'patrol_visitor', 'mediator', "
            "'building_group_head', 'building_head', 'unit_head', 'other')",
            name="workers_role",
        ),
        CheckConstraint("length(btrim(name)) > 0", name="workers_name_nonempty"),
        Index("ix_workers_grid_id", "grid_id"),
    )


class WorkloadConfig(Base):
    """The workload standard of an area: households per worker and the tolerated band."""

    __tablename__ = "workload_config"

    area_code: Mapped[str] = mapped_column(primary_key=True)
    households_per_worker: Mapped[int]
    band: Mapped[float]
    updated_at: Mapped[Now]
    updated_by: Mapped[str | None]

    __table_args__ = (
        CheckConstraint("households_per_worker > 0", name="workload_config_standard_pos"),
        CheckConstraint("band > 0 AND band < 1", name="workload_config_band_range"),
        CheckConstraint("area_code ~ '^[0-9]+$'", name="workload_config_code_digits"),
    )


# --- Incidents (0001, 0005, 0008, 0010, 0013, 0014) -----------------------------------------------


class IncidentCategory(Base):
    """A kind of incident with its time limits to accept and to resolve."""

    __tablename__ = "incident_categories"

    key: Mapped[str] = mapped_column(primary_key=True)
    label_zh: Mapped[str]
    label_en: Mapped[str]
    accept_minutes: Mapped[int]
    resolve_minutes: Mapped[int]
    active: Mapped[bool] = mapped_column(server_default=true())

    __table_args__ = (
        CheckConstraint(
            "accept_minutes > 0 AND resolve_minutes > 0", name="incident_categories_limits"
        ),
    )


class Department(Base):
    """A department that incidents are handed to, with the categories it handles."""

    __tablename__ = "departments"

    id: Mapped[Id]
    name: Mapped[str] = mapped_column(unique=True)
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    active: Mapped[bool] = mapped_column(server_default=true())


class Incident(Base):
    """A located incident: its grid, state, escalation, limits and who reported it."""

    __tablename__ = "incidents"

    id: Mapped[Id]
    location: Mapped[WKBElement] = mapped_column(_geometry("POINT"))
    grid_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grids.id", ondelete="SET NULL")
    )
    category: Mapped[str]
    description: Mapped[str] = mapped_column(server_default="")
    reported_at: Mapped[Now]
    created_by: Mapped[str | None]
    updated_by: Mapped[str | None]
    state: Mapped[str] = mapped_column(server_default="reported")
    major: Mapped[bool] = mapped_column(server_default=false())
    accuracy_m: Mapped[float | None]
    coord_system: Mapped[str] = mapped_column(server_default="wgs84")
    orig_lon: Mapped[float | None]
    orig_lat: Mapped[float | None]
    candidate_grid_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    duplicate_of: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="SET NULL")
    )
    escalation_level: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    queue_area: Mapped[str | None]
    accept_due: Mapped[datetime | None]
    resolve_due: Mapped[datetime | None]
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    reporter: Mapped[str | None]
    idempotency_key: Mapped[str | None]
    assignee: Mapped[str | None]
    department_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("departments.id"))
    updated_at: Mapped[Now]
    media_url: Mapped[str | None]
    # the limits of the level it is queued at (migration 0013; gridgeo/incidents/policy.py)
    level_accept_due: Mapped[datetime | None]
    level_resolve_due: Mapped[datetime | None]
    # extension (延期) and the timeline's facts the evaluation counts by (migration 0014;
    # gridgeo/incidents/facts.py)
    extended_due: Mapped[datetime | None]
    extension_requested_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopened_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "state IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', "
            "'verified', 'closed')",
            name="incidents_state",
        ),
        CheckConstraint("rating BETWEEN 1 AND 5", name="incidents_rating"),
        CheckConstraint(
            "coord_system IN ('wgs84', 'gcj02', 'bd09')", name="incidents_coord_system"
        ),
        CheckConstraint(
            "media_url IS NULL OR (media_url ~ '^https?://[^/?#]+' AND length(media_url) <= 2000)",
            name="incidents_media_url_http",
        ),
        Index("idx_incidents_location", "location", postgresql_using="gist"),
        Index("ix_incidents_grid_id", "grid_id"),
        Index(
            "incidents_idempotency",
            "reporter",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_incidents_state", "state"),
        Index("ix_incidents_reported_at", "reported_at"),
        Index(
            "ix_incidents_long_lived",
            text("greatest(updated_at, accept_due, resolve_due)"),
            postgresql_where=text(
                "greatest(updated_at, accept_due, resolve_due) - reported_at > interval '30 days'"
            ),
        ),
        Index(
            "ix_incidents_extension_pending",
            "extension_requested_at",
            postgresql_where=text("extension_requested_at IS NOT NULL"),
        ),
    )


class IncidentEvent(Base):
    """One step of an incident's timeline: who did what, from which state to which."""

    __tablename__ = "incident_events"

    id: Mapped[Id]
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE")
    )
    at: Mapped[Now]
    actor: Mapped[str]
    action: Mapped[str]
    from_state: Mapped[str | None]
    to_state: Mapped[str | None]
    note: Mapped[str] = mapped_column(server_default="")

    __table_args__ = (Index("ix_incident_events_incident_id", "incident_id", "id"),)


class IncidentPhoto(Base):
    """A photo of an incident (a report's or a resolution's); the file lives outside the DB.

    The file is content-addressed under the photo folder by its SHA-256
    (``photos/ab/cd/<sha256>.<ext>``); a row is written in the same transaction as the event
    it belongs to, after the file is in place, so no row ever points at a missing file.
    """

    __tablename__ = "incident_photos"

    id: Mapped[Id]
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE")
    )
    event_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incident_events.id", ondelete="SET NULL")
    )
    sha256: Mapped[str]
    bytes: Mapped[int]
    mime: Mapped[str]
    width: Mapped[int]
    height: Mapped[int]
    gps_removed: Mapped[bool] = mapped_column(server_default=false())
    taken_by: Mapped[str]
    at: Mapped[Now]

    __table_args__ = (
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="incident_photos_sha256"),
        CheckConstraint(
            "mime IN ('image/jpeg', 'image/png', 'image/webp')", name="incident_photos_mime"
        ),
        CheckConstraint("bytes > 0 AND width > 0 AND height > 0", name="incident_photos_positive"),
        UniqueConstraint("incident_id", "sha256", name="incident_photos_once"),
        Index("ix_incident_photos_sha256", "sha256"),
        Index("ix_incident_photos_event_id", "event_id"),
    )


# --- Versions, changes and plans (0006, 0007) -------------------------------------------------


class Change(Base):
    """One change to the stored grids: who, when, why; the versions it made point to it."""

    __tablename__ = "changes"

    id: Mapped[Id]
    at: Mapped[Clock]
    actor: Mapped[str]
    message: Mapped[str]
    kind: Mapped[str]
    detail: Mapped[Detail]

    __table_args__ = (
        CheckConstraint("btrim(message) <> ''", name="changes_message_given"),
        CheckConstraint("kind ~ '^[a-z_]+$'", name="changes_kind_word"),
        Index("ix_changes_at", "at"),
    )


class GridVersion(Base):
    """One version of a grid, the current one included (``valid_to IS NULL``); kept by triggers.

    ``grid_id`` has no foreign key: the history outlives deleted grids.
    """

    __tablename__ = "grid_versions"

    id: Mapped[Id]
    grid_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str]
    name: Mapped[str]
    level_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("levels.id"))
    parent_code: Mapped[str | None]
    geom: Mapped[WKBElement] = mapped_column(_geometry("MULTIPOLYGON"))
    workers: Mapped[int] = mapped_column(server_default="0")
    version: Mapped[int]
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    changed_by: Mapped[str | None]
    change_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("changes.id"))
    closed_by: Mapped[str | None]
    closed_change_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("changes.id"))

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="grid_versions_range"),
        Index("idx_grid_versions_geom", "geom", postgresql_using="gist"),
        Index("ix_grid_versions_code", "code", "version"),
        Index("ix_grid_versions_level_from", "level_id", "valid_from"),
        Index("ix_grid_versions_change_id", "change_id"),
        Index(
            "grid_versions_open", "grid_id", unique=True, postgresql_where=text("valid_to IS NULL")
        ),
        Index("ix_grid_versions_grid_id", "grid_id"),
    )


class Plan(Base):
    """A draft redraw of the boundaries under one area, checked and previewed before commit."""

    __tablename__ = "plans"

    id: Mapped[Id]
    area_code: Mapped[str]
    title: Mapped[str]
    status: Mapped[str] = mapped_column(server_default="open")
    source: Mapped[str] = mapped_column(server_default="editor")
    created_by: Mapped[str]
    opened_at: Mapped[Clock]
    updated_at: Mapped[Clock]
    revision: Mapped[int] = mapped_column(server_default="0")
    change_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("changes.id"))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None]
    detail: Mapped[Detail]

    __table_args__ = (
        CheckConstraint("status IN ('open', 'committed', 'discarded')", name="plans_status_known"),
        CheckConstraint("btrim(title) <> ''", name="plans_title_given"),
        Index("ix_plans_status", "status", "area_code"),
    )


class PlanGrid(Base):
    """A grid a plan changes, creates or retires; ``base_version`` is the version it started from.

    ``grid_id`` (no foreign key) is the stored grid, NULL for a grid the plan creates.
    """

    __tablename__ = "plan_grids"

    id: Mapped[Id]
    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("plans.id", ondelete="CASCADE"))
    grid_id: Mapped[int | None] = mapped_column(BigInteger)
    base_version: Mapped[int | None]
    action: Mapped[str]
    code: Mapped[str]
    name: Mapped[str]
    level_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("levels.id"))
    parent_code: Mapped[str | None]
    workers: Mapped[int] = mapped_column(server_default="0")
    geom: Mapped[WKBElement | None] = mapped_column(_geometry("MULTIPOLYGON"))

    __table_args__ = (
        CheckConstraint("action IN ('change', 'create', 'retire')", name="plan_grids_action"),
        CheckConstraint("action = 'retire' OR geom IS NOT NULL", name="plan_grids_geom_given"),
        CheckConstraint("code ~ '^[0-9]+$'", name="plan_grids_code_digits"),
        Index("idx_plan_grids_geom", "geom", postgresql_using="gist"),
        Index(
            "plan_grids_grid",
            "plan_id",
            "grid_id",
            unique=True,
            postgresql_where=text("grid_id IS NOT NULL"),
        ),
        Index(
            "plan_grids_code",
            "plan_id",
            "code",
            unique=True,
            postgresql_where=text("action <> 'retire'"),
        ),
    )


class PlanEdit(Base):
    """One edit of a plan, numbered, with what it replaced so that it can be undone."""

    __tablename__ = "plan_edits"

    id: Mapped[Id]
    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("plans.id", ondelete="CASCADE"))
    seq: Mapped[int]
    op: Mapped[str]
    args: Mapped[dict[str, Any]]
    summary: Mapped[str] = mapped_column(server_default="")
    undo: Mapped[list[Any]] = mapped_column(JSONB)  # the rows the edit replaced
    by: Mapped[str]
    at: Mapped[Clock]

    __table_args__ = (UniqueConstraint("plan_id", "seq", name="plan_edits_seq"),)


# --- The line layer (0009) --------------------------------------------------------------------


class Line(Base):
    """A road, river or railway that boundaries should follow (以街路巷河为界)."""

    __tablename__ = "lines"

    id: Mapped[Id]
    kind: Mapped[str]
    name: Mapped[str] = mapped_column(server_default="")
    source: Mapped[str] = mapped_column(server_default="")
    geom: Mapped[WKBElement] = mapped_column(_geometry("MULTILINESTRING"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("kind IN ('road', 'river', 'rail')", name="lines_kind_known"),
        Index("idx_lines_geom", "geom", postgresql_using="gist"),
        Index("ix_lines_kind", "kind"),
    )
