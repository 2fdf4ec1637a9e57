"""The spatial rules, once, as SQL functions every statement composes (see gridgeo/rules.py).

- ``gridgeo_leaf_key(depth, code)``: the order in which covering grids win a point — the
  deepest level first, then the smallest code. Stored per part as ``grid_parts.leaf_key``
  (a generated column, byte-ordered), so that sorting by it costs what sorting by a column does.
- ``gridgeo_leaf(point)``: the leaf grid covering a point (the first by that order).
- ``gridgeo_chain(grid_id)``: a grid and its ancestors, with code, name, level and depth.
- ``gridgeo_ancestor_code(grid_id, steps)``: the code ``steps`` levels above a grid (the top
  when the chain is shorter): the queue area of an incident escalated ``steps`` times.
- ``gridgeo_nearest(point)``: the grid nearest to a point outside every grid, with metres.
- the view ``current_grids``: the grids as they are now (``valid_to IS NULL``).

The table functions are SQL, STABLE, not STRICT and a single SELECT: PostgreSQL inlines them
into the calling statement (they plan as the subqueries they replace; checked with EXPLAIN in
tests/db/test_rules.py), so composing them costs nothing.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# the order of the leaf rule (a schema object grid_parts.leaf_key is generated from)
LEAF_KEY = """
CREATE FUNCTION gridgeo_leaf_key(depth integer, code text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lpad((1000 - depth)::text, 4, '0') || code;
"""

UP = (
    LEAF_KEY
    + """
ALTER TABLE grid_parts ADD COLUMN leaf_key text COLLATE "C" NOT NULL
    GENERATED ALWAYS AS (gridgeo_leaf_key(depth, code)) STORED;

CREATE VIEW current_grids AS SELECT * FROM grids WHERE valid_to IS NULL;

CREATE FUNCTION gridgeo_leaf(pt geometry)
    RETURNS TABLE (grid_id bigint, code text, depth smallint)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT p.grid_id, p.code, p.depth FROM grid_parts p
    WHERE ST_Covers(p.geom, pt)
    ORDER BY p.leaf_key LIMIT 1
$$;

CREATE FUNCTION gridgeo_chain(grid bigint)
    RETURNS TABLE (id bigint, parent_id bigint, code text, name text, level text,
                   depth smallint)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 6 AS $$
    WITH RECURSIVE up AS (
        SELECT g.id, g.parent_id, g.code, g.name, g.level_id FROM grids g WHERE g.id = grid
        UNION ALL
        SELECT g.id, g.parent_id, g.code, g.name, g.level_id
        FROM grids g JOIN up ON g.id = up.parent_id
    )
    SELECT up.id, up.parent_id, up.code, up.name, l.key, l.depth
    FROM up JOIN levels l ON l.id = up.level_id
$$;

CREATE FUNCTION gridgeo_ancestor_code(grid bigint, steps integer) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.code FROM (
        SELECT c.code, row_number() OVER (ORDER BY c.depth DESC) - 1 AS k
        FROM gridgeo_chain(grid) c
    ) s
    ORDER BY s.k <= greatest(steps, 0) DESC, s.k DESC LIMIT 1
$$;

CREATE FUNCTION gridgeo_nearest(pt geometry)
    RETURNS TABLE (grid_id bigint, code text, depth smallint, metres double precision)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    -- 32 candidates from the KNN index, ranked cheaply by planar distance with longitude
    -- scaled by cos(latitude); only the best 8 get the (costly) geodesic distance
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
)

DOWN = """
DROP FUNCTION IF EXISTS gridgeo_nearest(geometry);
DROP FUNCTION IF EXISTS gridgeo_ancestor_code(bigint, integer);
DROP FUNCTION IF EXISTS gridgeo_chain(bigint);
DROP FUNCTION IF EXISTS gridgeo_leaf(geometry);
DROP VIEW IF EXISTS current_grids;
ALTER TABLE grid_parts DROP COLUMN IF EXISTS leaf_key;
DROP FUNCTION IF EXISTS gridgeo_leaf_key(integer, text);
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
