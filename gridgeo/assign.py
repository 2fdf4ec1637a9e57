"""Point → leaf grid and chain of ancestors; bulk (re)assignment of households.

The rule for a point on a shared edge (documented in the README): among the grids whose
boundary *covers* the point, the deepest level wins, then the smallest code. Every point
covered by some grid therefore gets exactly one leaf, and its ancestors follow from the
parent links, so the chain is always consistent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput

LOCATE_SQL = text(
    """
WITH RECURSIVE pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
leaf AS (
    SELECT p.grid_id FROM grid_parts p, pt
    WHERE ST_Covers(p.geom, pt.g)
    ORDER BY p.depth DESC, p.code
    LIMIT 1
),
chain AS (
    SELECT g.id, g.parent_id FROM grids g JOIN leaf ON g.id = leaf.grid_id
    UNION ALL
    SELECT g.id, g.parent_id FROM grids g JOIN chain c ON g.id = c.parent_id
)
SELECT g.code, g.name, l.key, l.depth
FROM chain c JOIN grids g ON g.id = c.id JOIN levels l ON l.id = g.level_id
ORDER BY l.depth
"""
)

# Nearest grid to a point outside every grid: 32 candidates from the KNN index, ranked cheaply
# by planar distance with longitude scaled by cos(latitude); only the best 8 get the (costly)
# geodesic distance. Ties on a shared boundary go to the deepest level, then the smallest code.
NEAREST_SQL = text(
    """
WITH pt AS NOT MATERIALIZED (
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g, cos(radians(:lat)) AS k
),
cand AS (
    SELECT p.grid_id, p.depth, p.code, p.geom FROM grid_parts p, pt
    ORDER BY p.geom <-> pt.g LIMIT 32
),
near AS (
    SELECT c.*, pt.g AS pg FROM cand c, pt
    ORDER BY ST_Distance(ST_Scale(c.geom, pt.k, 1), ST_Scale(pt.g, pt.k, 1)), c.depth DESC, c.code
    LIMIT 8
)
SELECT n.code, g.name, l.key, ST_Distance(n.geom::geography, n.pg::geography) AS metres
FROM near n JOIN grids g ON g.id = n.grid_id JOIN levels l ON l.id = g.level_id
ORDER BY metres, n.depth DESC, n.code
LIMIT 1
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
            raise InvalidInput(f"{name} must be a finite number, got {value!r}", field=name)
        if not -bound <= value <= bound:
            raise InvalidInput(
                f"{name} {value} is out of range [-{bound:g}, {bound:g}] (WGS84 degrees)",
                field=name,
            )


def locate(conn: Connection, lon: float, lat: float) -> Location:
    """Find the leaf grid covering a point and its chain of ancestors in one query.

    Args:
        conn: a database connection.
        lon: WGS84 longitude.
        lat: WGS84 latitude.

    Returns:
        The chain from the top level down to the leaf; when the point is outside every grid,
        an empty chain and the nearest grid with its distance in metres.
    """
    check_lon_lat(lon, lat)
    rows = conn.execute(LOCATE_SQL, {"lon": lon, "lat": lat}).all()
    if rows:
        return Location(lon, lat, tuple(ChainItem(r[0], r[1], r[2], r[3]) for r in rows))
    near = conn.execute(NEAREST_SQL, {"lon": lon, "lat": lat}).first()
    nearest = Nearest(near[0], near[1], near[2], float(near[3])) if near else None
    return Location(lon, lat, (), nearest)
