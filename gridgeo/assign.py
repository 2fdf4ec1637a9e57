"""Locating one point: its leaf grid and chain of ancestors, or the nearest grid outside.

The rules themselves (which grid wins a point on a shared edge, the chain, the nearest grid)
are stated once in :mod:`gridgeo.rules`; every point covered by some grid gets exactly one
leaf, and its ancestors follow from the parent links, so the chain is always consistent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput

# the rules of gridgeo/rules.py: the leaf covering the point and its chain; else the nearest
LOCATE_SQL = text(
    """
SELECT c.code, c.name, c.level, c.depth
FROM gridgeo_leaf(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) leaf
CROSS JOIN LATERAL gridgeo_chain(leaf.grid_id) c
ORDER BY c.depth
"""
)
NEAREST_SQL = text(
    """
SELECT n.code, g.name, l.key, n.metres
FROM gridgeo_nearest(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) n
JOIN grids g ON g.id = n.grid_id JOIN levels l ON l.id = g.level_id
"""
)


@dataclass(frozen=True)
class ChainItem:
    """One grid in a located chain."""

    code: str
    name: str
    level: str
    depth: int


@dataclass(frozen=True)
class Nearest:
    """The nearest grid to a point outside every grid."""

    code: str
    name: str
    level: str
    distance_m: float


@dataclass(frozen=True)
class Location:
    """The result of locating a point: a chain top→leaf, or the nearest grid when outside."""

    lon: float
    lat: float
    chain: tuple[ChainItem, ...]
    nearest: Nearest | None = None

    @property
    def leaf(self) -> ChainItem | None:
        """The leaf grid, or None when the point is outside every grid."""
        return self.chain[-1] if self.chain else None


def check_lon_lat(lon: float, lat: float) -> None:
    """Refuse coordinates that are not finite WGS84 longitude/latitude.

    Raises:
        InvalidInput: naming the bad coordinate.
    """
    for name, value, bound in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInput(
                f"{name} must be a finite number, got {value!r}",
                code="coordinate_invalid",
                zh=f"{'经度' if name == 'lon' else '纬度'}必须是有限的数字",
                field=name,
            )
        if not -bound <= value <= bound:
            raise InvalidInput(
                f"{name} {value} is out of range [-{bound:g}, {bound:g}] (WGS84 degrees)",
                code="coordinate_out_of_range",
                zh=f"{'经度' if name == 'lon' else '纬度'} {value} 超出范围"
                f"（-{bound:g} 至 {bound:g} 度，WGS84）",
                field=name,
            )


def locate(
    conn: Connection,
    lon: float,
    lat: float,
    *,
    building: str | None = None,
    unit: str | None = None,
) -> Location:
    """Find the leaf grid covering a point and its chain of ancestors in one query.

    Args:
        conn: a database connection.
        lon: WGS84 longitude.
        lat: WGS84 latitude.
        building: a building's code: then the building's point and its ``unit``'s explicit
            assignment decide (``gridgeo_place``), not (lon, lat).
        unit: the unit's number in that building.

    Returns:
        The chain from the top level down to the leaf; when the point is outside every grid,
        an empty chain and the nearest grid with its distance in metres.
    """
    check_lon_lat(lon, lat)
    if building is not None or unit is not None:
        from gridgeo.buildings.place import place_chain

        held = place_chain(conn, building, unit)
        if held:
            return Location(lon, lat, tuple(ChainItem(r[0], r[1], r[2], r[3]) for r in held))
    rows = conn.execute(LOCATE_SQL, {"lon": lon, "lat": lat}).all()
    if rows:
        return Location(lon, lat, tuple(ChainItem(r[0], r[1], r[2], r[3]) for r in rows))
    near = conn.execute(NEAREST_SQL, {"lon": lon, "lat": lat}).first()
    nearest = Nearest(near[0], near[1], near[2], float(near[3])) if near else None
    return Location(lon, lat, (), nearest)
