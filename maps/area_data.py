"""Read-only SQL of the one-area page: households aggregated per building spot, figures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

MAX_SPOTS = 5000
# ~10 m: households at one building (or a few metres apart) become one counted spot.
SNAP_DEG = 0.0001

SPOTS = """
SELECT json_build_object('type', 'Feature',
    'geometry', ST_AsGeoJSON(ST_Centroid(ST_Collect(h.location)), 6)::json,
    'properties', json_build_object('households', sum(h.household_count)::int))
FROM households h JOIN household_grid a ON a.household_id = h.id
JOIN grids g ON g.id = a.grid_id
WHERE starts_with(g.code, :code)
GROUP BY ST_SnapToGrid(h.location, :snap)
ORDER BY sum(h.household_count) DESC
LIMIT :limit
"""


def household_spots(conn: Connection, code: str, limit: int = MAX_SPOTS) -> dict[str, Any]:
    """Households of an area summed per ~10 m spot (a building): counts, never households.

    Returns:
        A FeatureCollection of points with ``households``; ``truncated`` when the area has
        more than ``limit`` spots (the largest are kept).
    """
    rows = conn.execute(text(SPOTS), {"code": code, "snap": SNAP_DEG, "limit": limit + 1}).scalars()
    features = list(rows)
    return {
        "type": "FeatureCollection",
        "features": features[:limit],
        "truncated": len(features) > limit,
    }
