"""Incidents, their categories, departments, timeline and photos (0001, 0005, 0008, 0010, 0013, 0014)."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base, Id, Now, geometry

# --- Incidents (0001, 0005, 0008, 0010) -------------------------------------------------------


class IncidentCategory(Base):
    """A kind of incident with its time limits to accept and to resolve."""

    __tablename__ = "incident_categories"

    key: Mapped[str] = mapped_column(primary_key=True)
    label_zh: Mapped[str]
    label_en: Mapped[str]
    accept_minutes: Mapped[int]
    resolve_minutes: Mapped[int]
    active: Mapped[bool] = mapped_column(server_default=true())
    # Open311 public read mode shows the descriptions of public categories only (0015)
    public: Mapped[bool] = mapped_column(server_default=false())
    # a national classification code (gridgeo/incidents/codes.py), Open311's service_code (0016)
    code: Mapped[str | None] = mapped_column(unique=True)

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
    location: Mapped[WKBElement] = mapped_column(geometry("POINT"))
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
    # reported at a building / unit (0018): the unit's grid decides (gridgeo_place)
    building_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("buildings.id", ondelete="SET NULL")
    )
    unit_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("building_units.id", ondelete="SET NULL")
    )

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
