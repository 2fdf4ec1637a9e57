"""Buildings, units, their heads and units assigned to a grid (0018).

How counts are kept, and the rule ``gridgeo_place``: migration 0018 and docs/buildings.md.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base, Id, Now, geometry

# --- Buildings and units (0018) ---------------------------------------------------------------


class BuildingGroup(Base):
    """A building group (楼组): a named set of buildings of a community."""

    __tablename__ = "building_groups"

    id: Mapped[Id]
    community_code: Mapped[str | None]
    name: Mapped[str]
    created_at: Mapped[Now]

    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="building_groups_name_nonempty"),
        Index("building_groups_community_name", "community_code", "name", unique=True),
    )


class Building(Base):
    """A building (楼栋): footprint polygon or point, number, compound, floors, group."""

    __tablename__ = "buildings"

    id: Mapped[Id]
    code: Mapped[str] = mapped_column(unique=True)
    number: Mapped[str | None]
    name: Mapped[str | None]
    compound: Mapped[str | None]
    community_code: Mapped[str | None]
    kind: Mapped[str | None]
    floors: Mapped[int | None]
    group_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("building_groups.id", ondelete="SET NULL")
    )
    geom: Mapped[WKBElement] = mapped_column(geometry("GEOMETRY"))
    external_id: Mapped[str | None]
    created_at: Mapped[Now]
    updated_at: Mapped[Now]
    created_by: Mapped[str | None]

    __table_args__ = (
        CheckConstraint("length(btrim(code)) > 0", name="buildings_code_nonempty"),
        CheckConstraint("floors IS NULL OR floors > 0", name="buildings_floors_pos"),
        CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')",
            name="buildings_geom_kind",
        ),
        Index("idx_buildings_geom", "geom", postgresql_using="gist"),
        Index("ix_buildings_group_id", "group_id"),
        Index("ix_buildings_community_code", "community_code"),
    )


class BuildingUnit(Base):
    """A unit (单元, a stairwell) of a building; ``households`` is the count its data declared."""

    __tablename__ = "building_units"

    id: Mapped[Id]
    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("buildings.id", ondelete="CASCADE")
    )
    number: Mapped[str]
    households: Mapped[int] = mapped_column(server_default="0")
    floors: Mapped[int | None]

    __table_args__ = (
        CheckConstraint("households >= 0", name="building_units_households_nonneg"),
        CheckConstraint("floors IS NULL OR floors > 0", name="building_units_floors_pos"),
        UniqueConstraint("building_id", "number", name="building_units_building_id_number_key"),
    )


class UnitGrid(Base):
    """A unit assigned to a grid other than the one holding its building; versioned."""

    __tablename__ = "unit_grids"

    id: Mapped[Id]
    unit_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("building_units.id", ondelete="CASCADE")
    )
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grids.id", ondelete="CASCADE"))
    valid_from: Mapped[Now]
    valid_to: Mapped[datetime | None]
    change_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("changes.id"))
    closed_change_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("changes.id"))
    created_by: Mapped[str | None]

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="unit_grids_range"),
        Index("unit_grids_open", "unit_id", unique=True, postgresql_where=text("valid_to IS NULL")),
        Index("ix_unit_grids_grid_id", "grid_id"),
        Index("ix_unit_grids_change_id", "change_id"),
        Index("ix_unit_grids_closed_change_id", "closed_change_id"),
    )


class PlanUnit(Base):
    """A plan's move of a unit to a grid (by its code in the plan's draft)."""

    __tablename__ = "plan_units"

    id: Mapped[Id]
    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("plans.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("building_units.id", ondelete="CASCADE")
    )
    grid_code: Mapped[str]

    __table_args__ = (
        CheckConstraint("grid_code ~ '^[0-9]+$'", name="plan_units_code_digits"),
        UniqueConstraint("plan_id", "unit_id", name="plan_units_plan_id_unit_id_key"),
    )


class BuildingHead(Base):
    """A 楼组长, 楼长 or 单元长 attached to one group, building or unit; part-time by default."""

    __tablename__ = "building_heads"

    id: Mapped[Id]
    role: Mapped[str]
    name: Mapped[str]
    phone: Mapped[str | None]
    full_time: Mapped[bool] = mapped_column(server_default=false())
    group_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("building_groups.id", ondelete="CASCADE")
    )
    building_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("buildings.id", ondelete="CASCADE")
    )
    unit_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("building_units.id", ondelete="CASCADE")
    )
    worker_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("workers.id", ondelete="SET NULL")
    )
    external_id: Mapped[str | None] = mapped_column(unique=True)
    created_at: Mapped[Now]

    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="building_heads_name_nonempty"),
        CheckConstraint(
            "(role = 'building_group_head' AND group_id IS NOT NULL AND building_id IS NULL"
            " AND unit_id IS NULL)"
            " OR (role = 'building_head' AND building_id IS NOT NULL AND group_id IS NULL"
            " AND unit_id IS NULL)"
            " OR (role = 'unit_head' AND unit_id IS NOT NULL AND group_id IS NULL"
            " AND building_id IS NULL)",
            name="building_heads_target",
        ),
        Index("ix_building_heads_group_id", "group_id"),
        Index("ix_building_heads_building_id", "building_id"),
        Index("ix_building_heads_unit_id", "unit_id"),
    )
