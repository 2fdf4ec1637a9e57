"""Residents' matters and their photos; community meetings' decisions (0019)."""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base, Id, Now, geometry


class ResidentMatter(Base):
    """What a resident raised without an account, until a dispatcher decides (居民提事).

    The private link's token is kept as its SHA-256 only; ``phone`` and ``client_address``
    are personal data, removed by the purge after the retention (``purged_at``).
    """

    __tablename__ = "resident_matters"

    id: Mapped[Id]
    tracking: Mapped[str] = mapped_column(unique=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    state: Mapped[str] = mapped_column(server_default="submitted")
    location: Mapped[WKBElement | None] = mapped_column(geometry("POINT"))
    accuracy_m: Mapped[float | None]
    area_code: Mapped[str]
    category: Mapped[str]
    description: Mapped[str] = mapped_column(server_default="")
    phone: Mapped[str | None]
    client_address: Mapped[str | None]
    idempotency_key: Mapped[str | None] = mapped_column(unique=True)
    submitted_at: Mapped[Now]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None]
    reason: Mapped[str | None]
    incident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="SET NULL")
    )
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None]
    rated_at: Mapped[datetime | None]
    not_fixed_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "state IN ('submitted', 'accepted', 'merged', 'rejected')",
            name="resident_matters_state",
        ),
        CheckConstraint("rating BETWEEN 1 AND 5", name="resident_matters_rating"),
        CheckConstraint(
            "state IN ('submitted', 'rejected') OR incident_id IS NOT NULL",
            name="resident_matters_incident",
        ),
        Index("idx_resident_matters_location", "location", postgresql_using="gist"),
        Index("ix_resident_matters_incident_id", "incident_id"),
        Index(
            "ix_resident_matters_submitted",
            "submitted_at",
            postgresql_where=text("state = 'submitted'"),
        ),
        Index("ix_resident_matters_address", "client_address", "submitted_at"),
        Index("ix_resident_matters_phone", "phone", "submitted_at"),
    )


class ResidentMatterPhoto(Base):
    """A photo of a matter; the file is in the photo store by its checksum."""

    __tablename__ = "resident_matter_photos"

    id: Mapped[Id]
    matter_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("resident_matters.id", ondelete="CASCADE")
    )
    sha256: Mapped[str]
    bytes: Mapped[int]
    mime: Mapped[str]
    width: Mapped[int]
    height: Mapped[int]
    gps_removed: Mapped[bool] = mapped_column(server_default=false())

    __table_args__ = (
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="resident_matter_photos_sha256"),
        UniqueConstraint("matter_id", "sha256", name="resident_matter_photos_once"),
    )


class MeetingDecision(Base):
    """A community meeting's decision on a matter for deliberation (会议定事)."""

    __tablename__ = "meeting_decisions"

    id: Mapped[Id]
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE")
    )
    held_on: Mapped[date]
    attendance: Mapped[int]
    votes_for: Mapped[int]
    votes_against: Mapped[int]
    abstain: Mapped[int]
    decision: Mapped[str]
    recorded_by: Mapped[str]
    at: Mapped[Now]

    __table_args__ = (
        CheckConstraint(
            "attendance >= 0 AND votes_for >= 0 AND votes_against >= 0 AND abstain >= 0 "
            "AND votes_for + votes_against + abstain <= attendance",
            name="meeting_decisions_votes",
        ),
        Index("ix_meeting_decisions_incident_id", "incident_id"),
    )
