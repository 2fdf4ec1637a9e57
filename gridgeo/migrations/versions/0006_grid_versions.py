"""Grid versions and changes: every boundary version kept, with who, when and why.

``grid_versions`` holds every version of every grid, the current one included (its
``valid_to`` is NULL), so history and "as it stood at" queries read one table. Triggers on
``grids`` keep it: an INSERT records a version; an UPDATE of the boundary, name, code, parent
or level closes the open version and records the next; an UPDATE that sets ``valid_to``
(a grid retired by a plan commit) or a DELETE closes it. Each version names the change
(``changes``: actor, message, kind) that made it; the change in force is the transaction-local
setting ``gridgeo.change_id`` (set by ``gridgeo.versions.record_change``), and its time is the
time of every version it opens or closes, so one commit is one instant.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-23
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

TRACKED = (
    "OLD.geom IS DISTINCT FROM NEW.geom OR OLD.name IS DISTINCT FROM NEW.name"
    " OR OLD.code IS DISTINCT FROM NEW.code OR OLD.parent_id IS DISTINCT FROM NEW.parent_id"
    " OR OLD.level_id IS DISTINCT FROM NEW.level_id"
)

FUNCTIONS = """
CREATE FUNCTION gridgeo_change_id() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('gridgeo.change_id', true), '')::bigint
$$;

-- BEFORE INSERT / UPDATE of a tracked column: number the version and stamp its start.
CREATE FUNCTION gridgeo_version_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cid bigint := gridgeo_change_id();
    t timestamptz;
    who text;
BEGIN
    SELECT c.at, c.actor INTO t, who FROM changes c WHERE c.id = cid;
    IF TG_OP = 'INSERT' THEN
        NEW.version := coalesce(
            (SELECT max(v.version) FROM grid_versions v WHERE v.code = NEW.code), 0) + 1;
        NEW.valid_from := coalesce(t, NEW.valid_from);
        NEW.created_by := coalesce(NEW.created_by, who);
    ELSE
        NEW.version := greatest(OLD.version, coalesce(
            (SELECT max(v.version) FROM grid_versions v WHERE v.code = NEW.code), 0)) + 1;
        NEW.valid_from := coalesce(t, now());
        NEW.updated_at := now();
        NEW.updated_by := coalesce(who, NEW.updated_by);
    END IF;
    RETURN NEW;
END $$;

-- AFTER: close the open version and record the new one.
CREATE FUNCTION gridgeo_version_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cid bigint := gridgeo_change_id();
    t timestamptz;
    who text;
    closing timestamptz;
BEGIN
    SELECT c.at, c.actor INTO t, who FROM changes c WHERE c.id = cid;
    t := coalesce(t, now());
    IF TG_OP = 'DELETE' THEN
        closing := t;
    ELSIF TG_OP = 'UPDATE' THEN
        closing := coalesce(NEW.valid_to, t);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE grid_versions
        SET valid_to = greatest(valid_from, closing), closed_by = who, closed_change_id = cid
        WHERE grid_id = OLD.id AND valid_to IS NULL;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.valid_to IS NULL) THEN
        INSERT INTO grid_versions (grid_id, code, name, level_id, parent_code, geom, workers,
                                   version, valid_from, valid_to, changed_by, change_id)
        VALUES (NEW.id, NEW.code, NEW.name, NEW.level_id,
                (SELECT p.code FROM grids p WHERE p.id = NEW.parent_id), NEW.geom, NEW.workers,
                NEW.version, NEW.valid_from, NEW.valid_to, who, cid);
    END IF;
    RETURN NULL;
END $$;

-- Staffing changes are not boundary versions: keep the open version's workers current.
CREATE FUNCTION gridgeo_version_workers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE grid_versions SET workers = NEW.workers WHERE grid_id = NEW.id AND valid_to IS NULL;
    RETURN NULL;
END $$;
"""

TRIGGERS = f"""
CREATE TRIGGER grids_version_stamp_insert BEFORE INSERT ON grids
FOR EACH ROW EXECUTE FUNCTION gridgeo_version_stamp();
CREATE TRIGGER grids_version_stamp_update BEFORE UPDATE OF geom, name, code, parent_id, level_id
ON grids FOR EACH ROW
WHEN (OLD.valid_to IS NULL AND NEW.valid_to IS NULL AND ({TRACKED}))
EXECUTE FUNCTION gridgeo_version_stamp();
CREATE TRIGGER grids_version_record_insert AFTER INSERT ON grids
FOR EACH ROW EXECUTE FUNCTION gridgeo_version_record();
CREATE TRIGGER grids_version_record_update
AFTER UPDATE OF geom, name, code, parent_id, level_id, valid_to ON grids FOR EACH ROW
WHEN (OLD.valid_to IS NULL AND (NEW.valid_to IS NOT NULL OR {TRACKED}))
EXECUTE FUNCTION gridgeo_version_record();
CREATE TRIGGER grids_version_record_delete AFTER DELETE ON grids
FOR EACH ROW WHEN (OLD.valid_to IS NULL) EXECUTE FUNCTION gridgeo_version_record();
CREATE TRIGGER grids_version_workers AFTER UPDATE OF workers ON grids FOR EACH ROW
WHEN (OLD.workers IS DISTINCT FROM NEW.workers AND NEW.valid_to IS NULL)
EXECUTE FUNCTION gridgeo_version_workers();
"""

BACKFILL = """
INSERT INTO grid_versions (grid_id, code, name, level_id, parent_code, geom, workers, version,
                           valid_from, valid_to, changed_by)
SELECT g.id, g.code, g.name, g.level_id, p.code, g.geom, g.workers, g.version,
       g.valid_from, g.valid_to, coalesce(g.updated_by, g.created_by)
FROM grids g LEFT JOIN grids p ON p.id = g.parent_id
"""


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False, server_default=sa.text("clock_timestamp()")),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint("btrim(message) <> ''", name="changes_message_given"),
        sa.CheckConstraint("kind ~ '^[a-z_]+$'", name="changes_kind_word"),
    )
    op.create_index("ix_changes_at", "changes", ["at"])
    op.create_table(
        "grid_versions",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("grid_id", sa.BigInteger, nullable=False),  # no FK: outlives deleted grids
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level_id", sa.SmallInteger, sa.ForeignKey("levels.id"), nullable=False),
        sa.Column("parent_code", sa.Text),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("workers", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_to", TS),
        sa.Column("changed_by", sa.Text),
        sa.Column("change_id", sa.BigInteger, sa.ForeignKey("changes.id")),
        sa.Column("closed_by", sa.Text),
        sa.Column("closed_change_id", sa.BigInteger, sa.ForeignKey("changes.id")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name="grid_versions_range"
        ),
    )
    op.create_index("idx_grid_versions_geom", "grid_versions", ["geom"], postgresql_using="gist")
    op.create_index("ix_grid_versions_code", "grid_versions", ["code", "version"])
    op.create_index("ix_grid_versions_level_from", "grid_versions", ["level_id", "valid_from"])
    op.create_index("ix_grid_versions_change_id", "grid_versions", ["change_id"])
    op.create_index(
        "grid_versions_open",
        "grid_versions",
        ["grid_id"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_index("ix_grid_versions_grid_id", "grid_versions", ["grid_id"])
    op.execute(BACKFILL)
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)


def downgrade() -> None:
    for trigger in (
        "grids_version_stamp_insert",
        "grids_version_stamp_update",
        "grids_version_record_insert",
        "grids_version_record_update",
        "grids_version_record_delete",
        "grids_version_workers",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON grids")
    for function in (
        "gridgeo_version_workers()",
        "gridgeo_version_record()",
        "gridgeo_version_stamp()",
        "gridgeo_change_id()",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_table("grid_versions")
    op.drop_table("changes")
