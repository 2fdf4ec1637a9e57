"""Versions of the grids, the changes that made them, and plans (0006, 0007)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base, Clock, Detail, Id, geometry

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
    geom: Mapped[WKBElement] = mapped_column(geometry("MULTIPOLYGON"))
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
    geom: Mapped[WKBElement | None] = mapped_column(geometry("MULTIPOLYGON"))

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
