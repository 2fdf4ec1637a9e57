"""Overview tiles kept in the database (0028)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, func
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base


class MapTile(Base):
    """One all-levels tile (MVT, gzipped or not), valid for the data version it was made from."""

    __tablename__ = "map_tiles"

    key: Mapped[str] = mapped_column(primary_key=True)
    version: Mapped[str]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
