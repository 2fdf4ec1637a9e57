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
from gridgeo.tokens import RESOLVE_SQL

# the rules of gridgeo/rules.py for one point, in one call (gridgeo_locate, migration 0026):
# the leaf's chain top first, or the nearest grid alone with its metres. Its two statements
# run on generic plans made once per connection; the inline statement it replaced was planned
# for its values on each connection's first five calls (0.53 ms each, more than running it:
# 0.13 ms inside, 0.42 ms outside; EXPLAIN ANALYZE, 10,000 grids).
LOCATE_SQL = text("SELECT code, name, level, depth, metres FROM gridgeo_locate(:lon, :lat)")

#: ``GET /locate`` in one statement on the event loop (api.statements): the caller's token
#: (gridgeo.tokens.RESOLVE_SQL) and the point's chain as JSON built by PostgreSQL, top first,
#: with the leaf apart; ``metres`` is set when the one grid is the nearest (no grid covers the
#: point). No row: the token is unknown, expired or revoked.
LOCATE_AS_CALLER_SQL = """
WITH who AS (@RESOLVE@)
SELECT who.*, loc.chain, loc.leaf, loc.metres
FROM who CROSS JOIN LATERAL (
    SELECT json_agg(json_build_object('code', l.code, 'name', l.name, 'level', l.level)
                    ORDER BY l.depth)::text AS chain,
           (array_agg(json_build_object('code', l.code, 'name', l.name, 'level', l.level)::text
                      ORDER BY l.depth DESC))[1] AS leaf,
           max(l.metres) AS metres
    FROM gridgeo_locate(%(lon)s, %(lat)s) l
) loc
""".replace("@RESOLVE@", RESOLVE_SQL)
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
    rows = conn.execute(LOCATE_SQL, {"lon": float(lon), "lat": float(lat)}).all()
    if rows and rows[0][4] is not None:  # the nearest grid: no leaf covers the point
        near = rows[0]
        return Location(lon, lat, (), Nearest(near[0], near[1], near[2], float(near[4])))
    return Location(lon, lat, tuple(ChainItem(r[0], r[1], r[2], r[3]) for r in rows))
