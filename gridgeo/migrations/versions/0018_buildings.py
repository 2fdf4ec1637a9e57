"""Buildings and units (楼栋/单元) below the grid, their heads, and units assigned to a grid.

Tables:

- ``building_groups`` (楼组): a named set of buildings of a community.
- ``buildings`` (楼栋): a stable ``code``, number (楼号), name, compound (小区), floors, kind,
  group, footprint polygon or point (EPSG:4326).
- ``building_units`` (单元): a building's stairwells; ``households`` is the count the building
  data declared for the unit (0 when unknown). The figures count ``households`` rows, never this
  column (see below).
- ``households`` gain ``building_id``, ``unit_id``, ``floor``, ``room``. How counts per unit
  are kept: every figure sums ``households.household_count``. Data with one row per household
  gives one row each (count 1); data with counts per unit gives **one carrier row per unit**
  (``external_id`` ``unit:<building code>:<unit number>``, at the building's point, carrying the
  unit's count); data with a count per building only gives one row for the building
  (``unit_id`` NULL). An address list imported for a unit replaces its carrier row, so a unit
  is never counted twice.
- ``unit_grids``: the explicit, versioned record "unit U belongs to grid G" for units assigned
  to a grid other than the one that geometrically holds their building. Rows are closed
  (``valid_to``) and opened by a plan commit, stamped with the change, like grid versions; a
  revert restores the rows the change closed. The current ones (``valid_to IS NULL``) are the
  view ``current_unit_grids`` (at most one per unit, only to current grids).
- ``plan_units``: a plan's edit "move units of building B to grid G" (the grid by its code in
  the draft); committing the plan turns them into ``unit_grids`` rows.
- ``incidents`` gain ``building_id`` and ``unit_id``: a report made at a building (and unit)
  is placed by the building's point and the unit's assignment, and moves with the unit.
- ``building_heads``: 楼组长, 楼长, 单元长, named people attached to exactly one group, building
  or unit. Part-time unless ``full_time``. They never enter ``grid_staff``: only full-time grid
  workers (``workers``) count toward the standard; a head who is also a grid worker links the
  worker row (``worker_id``), and that row is what counts.

The rule, extended once: ``gridgeo_place(point, unit_id)`` is the grid of a household or
point: the unit's explicit current assignment when a unit is given and has one, otherwise
``gridgeo_leaf(point)`` (migration 0012). SQL, STABLE, a single SELECT: inlined by callers.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE building_groups (
    id bigserial PRIMARY KEY,
    community_code text,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT building_groups_name_nonempty CHECK (length(btrim(name)) > 0)
);
CREATE UNIQUE INDEX building_groups_community_name ON building_groups (community_code, name);

CREATE TABLE buildings (
    id bigserial PRIMARY KEY,
    code text NOT NULL UNIQUE,
    number text,
    name text,
    compound text,
    community_code text,
    kind text,
    floors integer,
    group_id bigint REFERENCES building_groups (id) ON DELETE SET NULL,
    geom geometry(Geometry, 4326) NOT NULL,
    external_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    CONSTRAINT buildings_code_nonempty CHECK (length(btrim(code)) > 0),
    CONSTRAINT buildings_floors_pos CHECK (floors IS NULL OR floors > 0),
    CONSTRAINT buildings_geom_kind CHECK (
        GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON'))
);
CREATE INDEX idx_buildings_geom ON buildings USING gist (geom);
CREATE INDEX ix_buildings_group_id ON buildings (group_id);
CREATE INDEX ix_buildings_community_code ON buildings (community_code);

CREATE TABLE building_units (
    id bigserial PRIMARY KEY,
    building_id bigint NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
    number text NOT NULL,
    households integer NOT NULL DEFAULT 0,
    floors integer,
    CONSTRAINT building_units_households_nonneg CHECK (households >= 0),
    CONSTRAINT building_units_floors_pos CHECK (floors IS NULL OR floors > 0),
    CONSTRAINT building_units_building_id_number_key UNIQUE (building_id, number)
);

ALTER TABLE households
    ADD COLUMN building_id bigint REFERENCES buildings (id) ON DELETE SET NULL,
    ADD COLUMN unit_id bigint REFERENCES building_units (id) ON DELETE SET NULL,
    ADD COLUMN floor integer,
    ADD COLUMN room text;
CREATE INDEX ix_households_building_id ON households (building_id)
    WHERE building_id IS NOT NULL;
CREATE INDEX ix_households_unit_id ON households (unit_id) WHERE unit_id IS NOT NULL;

ALTER TABLE incidents
    ADD COLUMN building_id bigint REFERENCES buildings (id) ON DELETE SET NULL,
    ADD COLUMN unit_id bigint REFERENCES building_units (id) ON DELETE SET NULL;

CREATE TABLE unit_grids (
    id bigserial PRIMARY KEY,
    unit_id bigint NOT NULL REFERENCES building_units (id) ON DELETE CASCADE,
    grid_id bigint NOT NULL REFERENCES grids (id) ON DELETE CASCADE,
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to timestamptz,
    change_id bigint REFERENCES changes (id),
    closed_change_id bigint REFERENCES changes (id),
    created_by text,
    CONSTRAINT unit_grids_range CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX unit_grids_open ON unit_grids (unit_id) WHERE valid_to IS NULL;
CREATE INDEX ix_unit_grids_grid_id ON unit_grids (grid_id);
CREATE INDEX ix_unit_grids_change_id ON unit_grids (change_id);
CREATE INDEX ix_unit_grids_closed_change_id ON unit_grids (closed_change_id);

CREATE TABLE plan_units (
    id bigserial PRIMARY KEY,
    plan_id bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    unit_id bigint NOT NULL REFERENCES building_units (id) ON DELETE CASCADE,
    grid_code text NOT NULL,
    CONSTRAINT plan_units_code_digits CHECK (grid_code ~ '^[0-9]+$'),
    CONSTRAINT plan_units_plan_id_unit_id_key UNIQUE (plan_id, unit_id)
);

CREATE TABLE building_heads (
    id bigserial PRIMARY KEY,
    role text NOT NULL,
    name text NOT NULL,
    phone text,
    full_time boolean NOT NULL DEFAULT false,
    group_id bigint REFERENCES building_groups (id) ON DELETE CASCADE,
    building_id bigint REFERENCES buildings (id) ON DELETE CASCADE,
    unit_id bigint REFERENCES building_units (id) ON DELETE CASCADE,
    worker_id bigint REFERENCES workers (id) ON DELETE SET NULL,
    external_id text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT building_heads_name_nonempty CHECK (length(btrim(name)) > 0),
    CONSTRAINT building_heads_target CHECK (
        (role = 'building_group_head' AND group_id IS NOT NULL AND building_id IS NULL
            AND unit_id IS NULL)
        OR (role = 'building_head' AND building_id IS NOT NULL AND group_id IS NULL
            AND unit_id IS NULL)
        OR (role = 'unit_head' AND unit_id IS NOT NULL AND group_id IS NULL
            AND building_id IS NULL))
);
CREATE INDEX ix_building_heads_group_id ON building_heads (group_id);
CREATE INDEX ix_building_heads_building_id ON building_heads (building_id);
CREATE INDEX ix_building_heads_unit_id ON building_heads (unit_id);

CREATE VIEW current_unit_grids AS
    SELECT ug.unit_id, ug.grid_id, g.code, l.depth, ug.valid_from, ug.change_id
    FROM unit_grids ug
    JOIN grids g ON g.id = ug.grid_id AND g.valid_to IS NULL
    JOIN levels l ON l.id = g.level_id
    WHERE ug.valid_to IS NULL;

CREATE FUNCTION gridgeo_place(pt geometry, unit bigint)
    RETURNS TABLE (grid_id bigint, code text, depth smallint)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT s.grid_id, s.code, s.depth FROM (
        SELECT u.grid_id, u.code, u.depth, 0 AS k FROM current_unit_grids u
        WHERE u.unit_id = unit
        UNION ALL
        SELECT f.grid_id, f.code, f.depth, 1 FROM gridgeo_leaf(pt) f
    ) s
    ORDER BY s.k LIMIT 1
$$;
"""

DOWN = """
DROP FUNCTION IF EXISTS gridgeo_place(geometry, bigint);
DROP VIEW IF EXISTS current_unit_grids;
DROP TABLE IF EXISTS building_heads;
DROP TABLE IF EXISTS plan_units;
DROP TABLE IF EXISTS unit_grids;
ALTER TABLE incidents DROP COLUMN IF EXISTS unit_id, DROP COLUMN IF EXISTS building_id;
ALTER TABLE households DROP COLUMN IF EXISTS room, DROP COLUMN IF EXISTS floor,
    DROP COLUMN IF EXISTS unit_id, DROP COLUMN IF EXISTS building_id;
DROP TABLE IF EXISTS building_units;
DROP TABLE IF EXISTS buildings;
DROP TABLE IF EXISTS building_groups;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
