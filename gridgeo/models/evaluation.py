"""What the evaluation keeps of the settled past (0021)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.models.base import Base


class EvaluationSettled(Base):
    """The sums of one settled period of one scope, valid for its period's version."""

    __tablename__ = "evaluation_settled"

    key: Mapped[str] = mapped_column(primary_key=True)
    version: Mapped[str]
    sums: Mapped[Any] = mapped_column(JSONB)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
