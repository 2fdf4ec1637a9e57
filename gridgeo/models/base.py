"""The declarative base and the column shapes the tables share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    DateTime,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, mapped_column

SRID = 4326

# Column shapes the tables share.
Id = Annotated[int, mapped_column(BigInteger, primary_key=True, autoincrement=True)]
Now = Annotated[datetime, mapped_column(server_default=func.now())]
Clock = Annotated[datetime, mapped_column(server_default=text("clock_timestamp()"))]
Detail = Annotated[dict[str, Any], mapped_column(server_default=text("'{}'::jsonb"))]


def geometry(kind: str) -> Geometry:
    """A geometry type in EPSG:4326; its GiST index is declared by name with the table."""
    return Geometry(kind, srid=SRID, spatial_index=False)


class Base(DeclarativeBase):
    """Declarative base of all gridgeo tables."""

    type_annotation_map = {
        str: Text,
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
    }
