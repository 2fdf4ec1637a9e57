"""Locate in one planned call, and the nearest grid's ties settled (issue 19; issue 20's ties).

- ``gridgeo_nearest(point)`` keeps its three steps (the 32 parts nearest in planar degrees,
  of them the 8 nearest with longitude scaled by cos(latitude), of them the fewest geodesic
  metres) and changes two things:

  * **Ties are settled, not left to the last bits.** Grids of several levels that share the
    nearest edge are equally near, but PostGIS measures each of them on its own and the
    metres may differ by a few nanometres (then round to different 1e-8 m steps). Every
    candidate within 1e-7 m (0.1 µm) of the fewest metres is now a tie, and the leaf key
    breaks it: the deepest level, then the smallest code — the order of the leaf rule, and
    what :mod:`gridgeo.batch.join` does (``TIE_M``), so the batch and the database now agree
    point for point.
  * **The geodesic metres are measured only for the candidates that can be nearest**: the
    first of the 8, and each other whose lower bound does not exceed the first's metres. The
    bound is the scaled planar distance ``s`` (degrees) times 110,574 m (a degree of latitude
    at the equator, the least a degree measures anywhere on WGS84, east–west being longer),
    times the cos(latitude) lost across ``s`` (poleward, a scaled degree of longitude
    shrinks), less 0.1 % and less 10 m for an edge's great-circle bulge: a geodesic edge lies
    off the straight one in degrees by up to its bulge (0.45 m on a 5.6 km east–west edge at
    36.5 N; 10 m on one of ~26 km, longer than any edge of a subdivided part we have seen).
    Exact, then: no answer changes (``tests/db/test_locate.py`` compares with all 8 measured,
    and the 5,000 benchmark points with 0012). Measured (10,000
    grids, generic plans): 8 geodesic distances at ~30 µs each were half of what an outside
    point cost; 4 remain (the 4 levels sharing the nearest edge): 0.29 ms instead of ~0.36 ms
    in the database, 0.485 vs 0.502 ms p50 seen by the client (the KNN step and the call
    itself are the rest).

- ``gridgeo_locate(lon, lat)``: the leaf's chain (top first, ``metres`` NULL), or, when no
  grid covers the point, the nearest grid alone with its metres — the rules of 0012 composed,
  nothing restated. PL/pgSQL, so that PostgreSQL plans its two statements once per connection
  (``plan_cache_mode = force_generic_plan`` for them), and only the branch a point needs runs.
  The inline statement it replaces was planned for its values on a connection's first five
  calls (and on every call of a statement not prepared): 0.53 ms each, more than running it
  (0.13 ms inside, 0.42 ms outside; EXPLAIN ANALYZE, 10,000 grids). Once prepared, both cost
  the same (interleaved A/B, 10,000 points each: p50 0.153 vs 0.157 ms, p99 0.56 ms).

Revision ID: 0026
Revises: 0021
Create Date: 2026-12-05
"""

from alembic import op

revision = "0026"
down_revision = "0021"
branch_labels = None
depends_on = None

#: metres within which two candidates are equally near (as gridgeo.batch.join.TIE_M)
TIE_M = 1e-7
#: metres in a degree of latitude at the equator, the least anywhere (a(1 - e²) π / 180, WGS84)
M_PER_DEG = 110574.0
#: metres a great-circle edge may bulge away from its straight line in degrees (0.45 m for a
#: 5.6 km east-west edge at 36.5 N; 10 m for one of ~26 km)
BULGE_M = 10.0

NEAREST = f"""
CREATE OR REPLACE FUNCTION gridgeo_nearest(pt geometry)
    RETURNS TABLE (grid_id bigint, code text, depth smallint, metres double precision)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    -- 1. the 32 parts nearest in planar degrees (the KNN index); 2. of them the 8 nearest
    -- with longitude scaled by cos(latitude) (s), ties by leaf key; 3. the fewest geodesic
    -- metres, measured for the first of the 8 and for those that its metres do not rule out
    -- (a lower bound from s: {M_PER_DEG:g} m per degree, the meridian's least, times the
    -- cos(latitude) lost across s, less {BULGE_M:g} m for an edge's great-circle bulge); the
    -- candidates within {TIE_M:g} m of the fewest are a tie (grids of several levels share the
    -- nearest edge), which the leaf key breaks: the deepest, then the smallest code.
    WITH cand AS (
        SELECT p.grid_id, p.code, p.depth, p.leaf_key, p.geom FROM grid_parts p
        ORDER BY p.geom <-> pt LIMIT 32
    ),
    scaled AS (
        SELECT c.*, row_number() OVER (ORDER BY c.s, c.leaf_key) AS r
        FROM (
            SELECT c.*, ST_Distance(ST_Scale(c.geom, cos(radians(ST_Y(pt))), 1),
                                    ST_Scale(pt, cos(radians(ST_Y(pt))), 1)) AS s
            FROM cand c
        ) c
        ORDER BY c.s, c.leaf_key LIMIT 8
    ),
    first AS MATERIALIZED (
        SELECT n.grid_id, n.code, n.depth, n.leaf_key,
               ST_Distance(n.geom::geography, pt::geography) AS m
        FROM scaled n WHERE n.r = 1
    ),
    near AS MATERIALIZED (
        SELECT * FROM first
        UNION ALL
        SELECT n.grid_id, n.code, n.depth, n.leaf_key,
               ST_Distance(n.geom::geography, pt::geography)
        FROM scaled n CROSS JOIN first f
        WHERE n.r > 1
          AND n.s * {M_PER_DEG * 0.999}
                * least(1.0, cos(radians(abs(ST_Y(pt)) + n.s)) / cos(radians(ST_Y(pt))))
              <= f.m + {BULGE_M} + {TIE_M}
    )
    SELECT n.grid_id, n.code, n.depth, n.m FROM near n
    WHERE n.m <= (SELECT min(m) FROM near) + {TIE_M}
    ORDER BY n.leaf_key LIMIT 1
$$;
"""  # noqa: S608 - the constants of this module

# the nearest function as migration 0012 made it (for the downgrade)
NEAREST_0012 = """
CREATE OR REPLACE FUNCTION gridgeo_nearest(pt geometry)
    RETURNS TABLE (grid_id bigint, code text, depth smallint, metres double precision)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    WITH cand AS (
        SELECT p.grid_id, p.code, p.depth, p.leaf_key, p.geom FROM grid_parts p
        ORDER BY p.geom <-> pt LIMIT 32
    ),
    near AS (
        SELECT c.* FROM cand c
        ORDER BY ST_Distance(ST_Scale(c.geom, cos(radians(ST_Y(pt))), 1),
                             ST_Scale(pt, cos(radians(ST_Y(pt))), 1)), c.leaf_key
        LIMIT 8
    )
    SELECT n.grid_id, n.code, n.depth, ST_Distance(n.geom::geography, pt::geography)
    FROM near n
    ORDER BY 4, n.leaf_key LIMIT 1
$$;
"""

LOCATE = """
CREATE FUNCTION gridgeo_locate(lon double precision, lat double precision)
    RETURNS TABLE (code text, name text, level text, depth smallint, metres double precision)
    LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 4
    SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    pt geometry := ST_SetSRID(ST_MakePoint(lon, lat), 4326);
    leaf bigint;
BEGIN
    SELECT f.grid_id INTO leaf FROM gridgeo_leaf(pt) f;
    IF leaf IS NOT NULL THEN
        RETURN QUERY
            SELECT c.code, c.name, c.level, c.depth, NULL::double precision
            FROM gridgeo_chain(leaf) c ORDER BY c.depth;
    ELSE
        RETURN QUERY
            SELECT n.code, g.name, l.key, n.depth, n.metres
            FROM gridgeo_nearest(pt) n
            JOIN grids g ON g.id = n.grid_id JOIN levels l ON l.id = g.level_id;
    END IF;
END
$$;
"""


def upgrade() -> None:
    op.execute(NEAREST)
    op.execute(LOCATE)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gridgeo_locate(double precision, double precision)")
    op.execute(NEAREST_0012)
