"""ORM models of the grid store (SQLAlchemy 2 + GeoAlchemy2)."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326


class Base(DeclarativeBase):
    """Declarative base of all gridgeo tables."""


class Level(Base):
    """One level of the area hierarchy (district 区 → street 街道 → community 社区 → grid 网格)."""

    __tablename__ = "levels"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    depth: Mapped[int] = mapped_column(SmallInteger, unique=True)
    code_width: Mapped[int] = mapped_column(SmallInteger)
    label_zh: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("depth >= 0", name="levels_depth_nonneg"),
        CheckConstraint("code_width > 0", name="levels_code_width_pos"),
    )


class Grid(Base):
    """An area at any level; the current version of its boundary.

    ``version``, ``valid_from`` and ``valid_to`` leave room for boundary versioning: a current
    row has ``valid_to IS NULL`` and codes are unique among current rows.
    """

    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    level_id: Mapped[int] = mapped_column(ForeignKey("levels.id"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("grids.id", ondelete="RESTRICT"), index=True
    )
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    workers: Mapped[int] = mapped_column(Integer, server_default="0")
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    level: Mapped[Level] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("workers >= 0", name="grids_workers_nonneg"),
        CheckConstraint("code ~ '^[0-9]+$'", name="grids_code_digits"),
        Index("grids_code_current", "code", unique=True, postgresql_where=text("valid_to IS NULL")),
    )


class GridPart(Base):
    """A piece of a grid's boundary from ``ST_Subdivide``, kept by a trigger for fast lookup."""

    __tablename__ = "grid_parts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), index=True)
    depth: Mapped[int] = mapped_column(SmallInteger)
    code: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=True), nullable=False)


class Household(Base):
    """A located building or dwelling carrying one or more households."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    location = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    household_count: Mapped[int] = mapped_column(Integer, server_default="1")
    address: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("household_count > 0", name="households_count_pos"),
        Index(
            "households_external_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )


class HouseholdGrid(Base):
    """The grid a household is assigned to (kept apart so bulk reassignment can swap it whole).

    The foreign keys may be ``NOT VALID`` after a bulk swap: rows are derived from the grid
    parts in the same transaction, so they are valid by construction; new rows are checked.
    """

    __tablename__ = "household_grid"

    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Incident(Base):
    """A located incident reported in a grid (extended by the incident issue)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    location = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("grids.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class IncidentPhoto(Base):
    """A photo of an incident (a report's or a resolution's); the file lives outside the DB.

    The file is content-addressed under the photo folder by its SHA-256
    (``photos/ab/cd/<sha256>.<ext>``); a row is written in the same transaction as the event
    it belongs to, after the file is in place, so no row ever points at a missing file.
    """

    __tablename__ = "incident_photos"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # incident_events.id
    sha256: Mapped[str] = mapped_column(Text, index=True)
    bytes: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    gps_removed: Mapped[bool] = mapped_column(server_default=text("false"))
    taken_by: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Line(Base):
    """A road, river or railway that boundaries should follow (以街路巷河为界); migration 0009."""

    __tablename__ = "lines"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, server_default="")
    source: Mapped[str] = mapped_column(Text, server_default="")
    geom = mapped_column(
        Geometry("MULTILINESTRING", srid=SRID, spatial_index=False), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('road', 'river', 'rail')", name="lines_kind_known"),
        Index("idx_lines_geom", "geom", postgresql_using="gist"),
        Index("ix_lines_kind", "kind"),
    )
