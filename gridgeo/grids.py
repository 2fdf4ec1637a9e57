"""Read access to grids as GeoJSON, with households, workers and load rolled up the tree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from gridgeo.errors import NotFound
from gridgeo.levels import Hierarchy
from gridgeo.rules import current_grid_id

# Households per leaf, rolled up to any requested code by prefix (codes are hierarchical).
ROLLUP = """
leafsum AS (
    SELECT g.code, sum(s.households)::bigint AS n
    FROM grid_households s JOIN grids g ON g.id = s.grid_id GROUP BY g.code
),
lens AS (SELECT DISTINCT length(code) AS len FROM req),
hh AS (
    SELECT left(s.code, lens.len) AS code, sum(s.n)::bigint AS n
    FROM leafsum s, lens GROUP BY 1
),
wk AS (
    SELECT left(s.code, lens.len) AS code, sum(s.workers)::bigint AS n
    FROM grid_staff s, lens WHERE length(s.code) >= lens.len GROUP BY 1
)
"""

FEATURES = """
SELECT json_build_object(
    'type', 'Feature',
    'id', r.code,
    'geometry', ST_AsGeoJSON(r.geom, :precision)::json,
    'properties', json_build_object(
        'code', r.code, 'name', r.name, 'level', r.level, 'parent_code', r.parent_code,
        'workers', coalesce(wk.n, 0), 'households', coalesce(hh.n, 0),
        'load', CASE WHEN coalesce(wk.n, 0) > 0
                     THEN round(coalesce(hh.n, 0)::numeric / wk.n, 1) END))
FROM req r LEFT JOIN hh ON hh.code = r.code LEFT JOIN wk ON wk.code = r.code
ORDER BY r.code
"""


def _req(where: list[str], simplify: bool) -> str:
    geom = "ST_SimplifyPreserveTopology(g.geom, :tolerance)" if simplify else "g.geom"
    clause = " AND ".join(["true", *where])
    return f"""
    req AS (
        SELECT g.id, g.code, g.name, l.key AS level, p.code AS parent_code, {geom} AS geom
        FROM current_grids g JOIN levels l ON l.id = g.level_id
        LEFT JOIN grids p ON p.id = g.parent_id
        WHERE {clause}
    )"""  # noqa: S608 - fixed fragments; values are bound


def list_grids(
    conn: Connection,
    hierarchy: Hierarchy,
    *,
    level: str | None = None,
    parent: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    simplify_m: float = 0.0,
    precision: int = 7,
    areas: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Grids as a GeoJSON FeatureCollection.

    Args:
        conn: database connection.
        hierarchy: the level chain (validates ``level``).
        level: only grids of this level.
        parent: only direct children of the grid with this code.
        bbox: only grids whose boundary box meets ``(minlon, minlat, maxlon, maxlat)``.
        simplify_m: simplify boundaries to about this many metres (0: exact).
        precision: decimals of the output coordinates.
        areas: only grids at or below these codes (None: no restriction).

    Raises:
        InvalidInput: unknown level. NotFound: unknown parent code.
    """
    where: list[str] = []
    params: dict[str, Any] = {"precision": precision, "tolerance": simplify_m / 111_000.0}
    if level is not None:
        params["level_id"] = hierarchy.get(level).id
        where.append("g.level_id = :level_id")
    if parent is not None:
        params["parent_id"] = current_grid_id(conn, parent, "parent")
        where.append("g.parent_id = :parent_id")
    if bbox is not None:
        params.update(dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))
        where.append("g.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)")
    if areas is not None:
        params["areas"] = [a + "%" for a in areas]
        where.append("g.code LIKE ANY(CAST(:areas AS text[]))")
    sql = f"WITH {_req(where, simplify_m > 0)}, {ROLLUP} {FEATURES}"
    features = conn.execute(text(sql), params).scalars().all()
    return {"type": "FeatureCollection", "features": list(features)}


def get_grid(conn: Connection, hierarchy: Hierarchy, code: str) -> dict[str, Any]:
    """One grid as a GeoJSON Feature with the codes of its ancestors and children.

    Raises:
        NotFound: when no current grid has ``code``.
    """
    sql = f"WITH {_req(['g.code = :code'], False)}, {ROLLUP} {FEATURES}"
    feature = conn.execute(text(sql), {"code": code, "precision": 7, "tolerance": 0}).scalar()
    if feature is None:
        raise NotFound(f"no grid has the code '{code}'", field="code")
    ancestors = (
        conn.execute(
            text(
                """
            SELECT c.code FROM current_grids g CROSS JOIN LATERAL gridgeo_chain(g.id) c
            WHERE g.code = :code AND c.id <> g.id ORDER BY c.depth
            """
            ),
            {"code": code},
        )
        .scalars()
        .all()
    )
    children = (
        conn.execute(
            text(
                """
            SELECT c.code FROM current_grids c JOIN current_grids p ON p.id = c.parent_id
            WHERE p.code = :code ORDER BY c.code
            """
            ),
            {"code": code},
        )
        .scalars()
        .all()
    )
    feature["properties"]["ancestors"] = list(ancestors)
    feature["properties"]["children"] = list(children)
    return dict(feature)
