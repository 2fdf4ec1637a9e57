"""What a worker's phone map shows around their own grids: neighbours' outlines and the streets.

The phone page (``/report``) has no internet base map, so a worker orients by the grids next
to their own and by the roads and rivers that grid boundaries follow (以街路巷河为界). The access
rule is stated here once:

- the account's own leaf grids (those at or below its areas; every grid for an admin) are
  shown and marked ``own``;
- other leaf grids are shown only when they lie within ``radius_m`` (``GRIDGEO_NEIGHBOUR_RADIUS_M``)
  of one of the account's areas, and then only as an outline, a code and a name: no
  households, workers, incidents or people of those grids;
- the line layer (roads, rivers, railways: public geography) is shown wherever the view is.

Everything is bounded by the view (``bbox``, at most :data:`MAX_SPAN_DEG` a side) and
generalised for the zoom (simplified to :func:`gridgeo.tiles.tolerance`, about half a screen
pixel; coordinates to :func:`precision`; roads shorter than :data:`MIN_LINE_PX` pixels left
out), so a phone receives kilobytes to tens of kilobytes, not the city (bench/phone_map.py).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput
from gridgeo.levels import Hierarchy
from gridgeo.tiles import tolerance

MAX_SPAN_DEG = 0.5  # a side of the view: about 45 km; a phone map at zoom 12 shows ~0.1°
MIN_ZOOM = 10
MAX_ZOOM = 20
MAX_GRIDS = 800  # more than a 0.5° view holds in a dense city; beyond it, say truncated
# A road shorter than this many screen pixels at the zoom is left out (rivers never): at the
# widest view (z12, ~30 m a pixel) the demo city's alleys went from 1,675 lines and 323 kB to
# the main streets; at z16 (~2 m a pixel) only stubs under ~50 m go.
MIN_LINE_PX = 24

_OWN_ALL = "true"
_OWN_AREAS = "g.code LIKE ANY(CAST(:areas AS text[]))"

# Candidates are the leaf grids meeting the view; a neighbour must also lie within the radius
# of one of the account's areas (a bounding-box prefilter, then the geodesic distance). A name
# goes at the centre of the grid's largest inscribed circle (its widest spot, as polylabel
# places labels): an L-shaped grid's interior point may sit in a narrow arm.
GRIDS = """
WITH env AS (SELECT ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) AS e),
mine AS (
    SELECT g.geom, ST_Expand(ST_Envelope(g.geom),
                             :radius / (111320.0 * cos(radians(ST_Y(ST_Centroid(g.geom))))),
                             :radius / 110574.0) AS reach
    FROM current_grids g WHERE g.code = ANY(CAST(:codes AS text[]))
),
shown AS (
    SELECT g.code, g.name, g.geom, ({own}) AS own
    FROM current_grids g, env
    WHERE g.level_id = :leaf AND g.geom && env.e
      AND (({own}) OR EXISTS (
          SELECT 1 FROM mine m
          WHERE g.geom && m.reach
            AND ST_DWithin(g.geom::geography, m.geom::geography, :radius)))
    ORDER BY own DESC, g.code
    LIMIT :limit
)
SELECT json_build_object(
    'type', 'Feature',
    'id', s.code,
    'geometry', ST_AsGeoJSON(ST_Simplify(s.geom, :tolerance, true), :precision)::json,
    'properties', json_build_object(
        'code', s.code, 'name', s.name, 'own', s.own,
        'label', json_build_array(round(ST_X(p.pt)::numeric, :precision),
                                  round(ST_Y(p.pt)::numeric, :precision))))
FROM shown s CROSS JOIN LATERAL (
    SELECT (ST_MaximumInscribedCircle(s.geom)).center AS pt  -- exact: a valid polygon
) p
ORDER BY s.own DESC, s.code
"""  # {own} is one of two fixed fragments; values are bound

# Lines are clipped to the view (a long river is not sent whole) and simplified for the zoom.
LINES = """
WITH env AS (SELECT ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) AS e),
clipped AS (
    SELECT l.id, l.kind, l.name, ST_Simplify(ST_ClipByBox2D(l.geom, env.e), :tolerance) AS geom
    FROM lines l, env
    WHERE l.geom && env.e AND (l.kind = 'river' OR ST_Length(l.geom) >= :min_length)
)
SELECT json_build_object(
    'type', 'Feature',
    'geometry', ST_AsGeoJSON(c.geom, :precision)::json,
    'properties', json_build_object('kind', c.kind, 'name', c.name))
FROM clipped c
WHERE c.geom IS NOT NULL AND NOT ST_IsEmpty(c.geom)
ORDER BY c.kind, c.id
"""


def precision(z: int) -> int:
    """Decimals of a degree worth sending at zoom ``z``: one finer than the simplification."""
    return min(7, math.ceil(-math.log10(tolerance(z))) + 1)


def check_view(bbox: tuple[float, float, float, float], z: int) -> None:
    """Refuse a view a phone map would not ask for.

    Raises:
        InvalidInput: a side over :data:`MAX_SPAN_DEG` degrees (field ``bbox``) or a zoom
            outside :data:`MIN_ZOOM`..:data:`MAX_ZOOM` (field ``z``).
    """
    width, height = bbox[2] - bbox[0], bbox[3] - bbox[1]
    if max(width, height) > MAX_SPAN_DEG:
        raise InvalidInput(
            f"bbox spans {width:.3f}° × {height:.3f}°; the surroundings of a phone map may "
            f"span at most {MAX_SPAN_DEG}° a side: zoom in",
            field="bbox",
            code="view_too_large",
            zh=f"范围 {width:.3f}° × {height:.3f}° 过大，周边地图每边最多 {MAX_SPAN_DEG}°：请放大地图",
        )
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        raise InvalidInput(
            f"z must be between {MIN_ZOOM} and {MAX_ZOOM}, got {z}",
            field="z",
            zh=f"缩放级别 z 必须在 {MIN_ZOOM} 到 {MAX_ZOOM} 之间，收到 {z}",
        )


def surroundings(
    conn: Connection,
    hierarchy: Hierarchy,
    *,
    bbox: tuple[float, float, float, float],
    z: int,
    areas: tuple[str, ...] | None,
    radius_m: float,
) -> dict[str, Any]:
    """The own grids, the neighbouring grids' outlines and the lines in a phone's view.

    Args:
        conn: database connection.
        hierarchy: the level chain (the leaf level is drawn).
        bbox: the view, ``(minlon, minlat, maxlon, maxlat)`` in WGS84.
        z: the map's zoom; boundaries and lines are simplified to half a pixel at it, and
            roads shorter than :data:`MIN_LINE_PX` pixels at it are left out.
        areas: the account's area codes; None for an account not limited by area (admin),
            whose grids are all its own.
        radius_m: how far from the account's areas a neighbour may lie (metres).

    Returns:
        ``{"radius_m", "grids", "lines", "truncated"}``: ``grids`` a FeatureCollection whose
        features carry only ``code``, ``name``, ``own`` and ``label`` (the grid's widest
        spot, for its name); ``lines`` a FeatureCollection of ``kind`` and ``name``; ``truncated``
        when more than :data:`MAX_GRIDS` grids met the view (own grids come first).

    Raises:
        InvalidInput: see :func:`check_view`.
    """
    check_view(bbox, z)
    view = dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    common = view | {"tolerance": tolerance(z), "precision": precision(z)}
    params: dict[str, Any] = common | {
        "leaf": hierarchy.levels[-1].id,
        "codes": list(areas or ()),
        "radius": float(radius_m),
        "limit": MAX_GRIDS + 1,
    }
    own = _OWN_ALL
    if areas is not None:
        own = _OWN_AREAS
        params["areas"] = [a + "%" for a in areas]
    grids = list(conn.execute(text(GRIDS.format(own=own)), params).scalars())
    truncated = len(grids) > MAX_GRIDS
    min_length = MIN_LINE_PX * 360.0 / (256 * 2**z)  # degrees of longitude
    lines = list(conn.execute(text(LINES), common | {"min_length": min_length}).scalars())
    return {
        "radius_m": float(radius_m),
        "grids": {"type": "FeatureCollection", "features": grids[:MAX_GRIDS]},
        "lines": {"type": "FeatureCollection", "features": lines},
        "truncated": truncated,
    }
