"""Named workers and the workload standard per area (0004)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base, Id, Now

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
