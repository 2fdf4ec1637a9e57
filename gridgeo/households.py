"""Paged read access to household points (personal data: callers check who may see them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput
from gridgeo.rules import current_grid_id

MAX_LIMIT = 5000


def list_households(
    conn: Connection,
    *,
    grid: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 100,
    after: int = 0,
    areas: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Households as a GeoJSON FeatureCollection, in id order, paged by keyset.

    Args:
        conn: database connection.
        grid: only households assigned to this grid or any grid below it.
        bbox: only households inside ``(minlon, minlat, maxlon, maxlat)``.
        limit: page size (1..5000).
        after: return ids greater than this (the ``next_after`` of the previous page).
        areas: only households assigned to grids at or below these codes (None: all).

    Returns:
        A FeatureCollection with ``next_after`` (None on the last page).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}", field="limit")
    where = ["h.id > :after"]
    params: dict[str, Any] = {"after": after, "limit": limit}
    if grid is not None:
        current_grid_id(conn, grid, "grid")
        where.append("g.code LIKE :prefix")
        params["prefix"] = grid + "%"
    if areas is not None:
        params["areas"] = [a + "%" for a in areas]
        where.append("g.code LIKE ANY(CAST(:areas AS text[]))")
    if bbox is not None:
        params.update(dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))
        where.append("h.location && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)")
    rows = conn.execute(
        text(
            f"""
            SELECT h.id, json_build_object(
                'type', 'Feature', 'id', h.id,
                'geometry', ST_AsGeoJSON(h.location, 7)::json,
                'properties', json_build_object(
                    'id', h.id, 'households', h.household_count, 'address', h.address,
                    'external_id', h.external_id, 'grid', g.code))
            FROM households h LEFT JOIN household_grid a ON a.household_id = h.id
            LEFT JOIN grids g ON g.id = a.grid_id
            WHERE {" AND ".join(where)}
            ORDER BY h.id LIMIT :limit
            """  # noqa: S608 - fixed fragments, values bound
        ),
        params,
    ).all()
    features = [r[1] for r in rows]
    next_after = rows[-1][0] if len(rows) == limit else None
    return {"type": "FeatureCollection", "features": features, "next_after": next_after}
