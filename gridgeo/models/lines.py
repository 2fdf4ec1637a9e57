"""The line layer: roads and rivers grids are drawn along (0009)."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import WKBElement
from sqlalchemy import (
    CheckConstraint,
    Index,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base, Id, geometry

# --- The line layer (0009) --------------------------------------------------------------------


class Line(Base):
    """A road, river or railway that boundaries should follow (以街路巷河为界)."""

    __tablename__ = "lines"

    id: Mapped[Id]
    kind: Mapped[str]
    name: Mapped[str] = mapped_column(server_default="")
    source: Mapped[str] = mapped_column(server_default="")
    geom: Mapped[WKBElement] = mapped_column(geometry("MULTILINESTRING"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("kind IN ('road', 'river', 'rail')", name="lines_kind_known"),
        Index("idx_lines_geom", "geom", postgresql_using="gist"),
        Index("ix_lines_kind", "kind"),
    )
