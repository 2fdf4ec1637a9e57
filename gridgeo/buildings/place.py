"""A place given as a building and unit: its ids and its grid by the one rule.

Used by a report made at a building (``POST /incidents`` with ``building`` and ``unit``) and by
locate with a unit: the building's point (a point on its footprint) and the unit's explicit
assignment go through ``gridgeo_place`` (migration 0018, :mod:`gridgeo.rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput

PLACE_SQL = text(
    """
SELECT b.id AS building_id, u.id AS unit_id, f.grid_id, f.code,
       (SELECT array_agg(x.number ORDER BY x.number) FROM building_units x
        WHERE x.building_id = b.id) AS numbers
FROM buildings b
LEFT JOIN building_units u ON u.building_id = b.id AND u.number = :unit
LEFT JOIN LATERAL gridgeo_place(ST_PointOnSurface(b.geom), u.id) f ON true
WHERE b.code = :building
"""
)


@dataclass(frozen=True)
class Place:
    """A building (and unit) and the grid that holds it (None: outside every grid)."""

    building_id: int
    unit_id: int | None
    grid_id: int | None
    grid_code: str | None


def place_of(conn: Connection, building: str, unit: str | None = None) -> Place:
    """The ids of a building (by code) and unit (by number) and their grid.

    Raises:
        InvalidInput: no building has the code, or the building has no such unit.
    """
    row = conn.execute(PLACE_SQL, {"building": building, "unit": unit}).mappings().first()
    if row is None:
        raise InvalidInput(
            f"no building has the code '{building}'",
            code="unknown_building",
            zh=f"没有编号为“{building}”的楼栋",
            field="building",
        )
    if unit is not None and row["unit_id"] is None:
        known = ", ".join(row["numbers"] or []) or "none"
        raise InvalidInput(
            f"building '{building}' has no unit '{unit}'; its units are: {known}",
            code="unknown_unit",
            zh=f"楼栋“{building}”没有“{unit}”单元；该楼的单元：{'、'.join(row['numbers'] or []) or '无'}",
            field="unit",
        )
    return Place(
        int(row["building_id"]),
        int(row["unit_id"]) if row["unit_id"] is not None else None,
        int(row["grid_id"]) if row["grid_id"] is not None else None,
        row["code"],
    )


CHAIN_SQL = text(
    """
SELECT c.code, c.name, c.level, c.depth FROM gridgeo_chain(:g) c ORDER BY c.depth
"""
)


def place_chain(conn: Connection, building: str | None, unit: str | None) -> list[Any]:
    """The chain (code, name, level, depth) of the grid holding a building's unit; [] if none.

    Raises:
        InvalidInput: a unit without a building, an unknown building or unit.
    """
    if building is None:
        raise InvalidInput(
            "a unit needs its building: send building with unit",
            code="unit_without_building",
            zh="填写单元时须同时填写楼栋",
            field="building",
        )
    place = place_of(conn, building, unit)
    if place.grid_id is None:
        return []
    return list(conn.execute(CHAIN_SQL, {"g": place.grid_id}).all())
