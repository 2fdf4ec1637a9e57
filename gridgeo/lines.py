"""The line layer: roads, rivers and railways that grid boundaries follow (以街路巷河为界).

Lines are stored as MultiLineStrings in EPSG:4326 (table ``lines``, migration 0009). Balancing
reads the lines that cross an area and cuts the area into blocks along them
(:mod:`gridgeo.balance.lines`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput

KINDS = ("road", "river", "rail")
ALIASES = {
    "road": "road",
    "street": "road",
    "alley": "road",
    "道路": "road",
    "路": "road",
    "街": "road",
    "巷": "road",
    "river": "river",
    "canal": "river",
    "stream": "river",
    "河": "river",
    "河流": "river",
    "水系": "river",
    "rail": "rail",
    "railway": "rail",
    "railroad": "rail",
    "铁路": "rail",
}

INSERT = text(
    """
    INSERT INTO lines (kind, name, source, geom)
    VALUES (:kind, :name, :source, ST_Multi(ST_GeomFromWKB(:wkb, 4326)))
    """
)
AREA_LINES = text(
    """
    SELECT ST_AsBinary(l.geom)
    FROM lines l JOIN current_grids g ON ST_Intersects(l.geom, g.geom)
    WHERE g.code = :c
    ORDER BY l.id
    """
)
TOUCHING = text(
    """
    SELECT count(*) FROM unnest(CAST(:wkb AS bytea[])) AS w(b)
    WHERE EXISTS (
        SELECT 1 FROM current_grids g
        WHERE ST_Intersects(g.geom, ST_GeomFromWKB(w.b, 4326))
    )
    """
)


def normalise_kind(value: object) -> str | None:
    """The kind key (road, river, rail) of a value, English or Chinese; None if unknown."""
    if value is None:
        return None
    return ALIASES.get(str(value).strip().lower())


def store_lines(
    conn: Connection,
    geoms: Sequence[BaseGeometry] | np.ndarray,
    kinds: Sequence[str],
    names: Sequence[str],
    *,
    source: str = "",
) -> int:
    """Insert lines (EPSG:4326 LineStrings or MultiLineStrings) in the caller's transaction.

    Raises:
        InvalidInput: a kind outside :data:`KINDS`, or a geometry that is not a line.
    """
    geoms = np.asarray(geoms, dtype=object)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InvalidInput(f"unknown line kind '{bad[0]}': use one of {', '.join(KINDS)}")
    types = shapely.get_type_id(geoms)
    if len(geoms) and not np.isin(types, (1, 5)).all():
        raise InvalidInput("only LineString and MultiLineString geometries can be stored")
    rows = [
        {"kind": k, "name": str(n or ""), "source": source, "wkb": shapely.to_wkb(g)}
        for g, k, n in zip(geoms, kinds, names, strict=True)
    ]
    if rows:
        conn.execute(INSERT, rows)
    return len(rows)


def delete_source(conn: Connection, source: str) -> int:
    """Delete the lines imported from ``source``; returns how many."""
    result = conn.execute(text("DELETE FROM lines WHERE source = :s"), {"s": source})
    return int(result.rowcount or 0)


def area_lines(conn: Connection, code: str) -> list[BaseGeometry]:
    """The stored lines that intersect the current area ``code`` (EPSG:4326, unclipped)."""
    return [shapely.from_wkb(bytes(r[0])) for r in conn.execute(AREA_LINES, {"c": code})]


def count_touching_areas(conn: Connection, geoms: Sequence[BaseGeometry] | np.ndarray) -> int:
    """How many of ``geoms`` (EPSG:4326) intersect at least one current stored area."""
    wkb = [shapely.to_wkb(g) for g in geoms]
    return int(conn.execute(TOUCHING, {"wkb": wkb}).scalar() or 0) if wkb else 0
