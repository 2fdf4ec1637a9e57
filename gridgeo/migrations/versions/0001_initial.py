"""Initial schema: levels, grids (+ subdivided parts), households, incidents.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

DEFAULT_LEVELS = [
    # key, depth, code width, zh, en  (Beijing DB11/T 2157-2023: 6 + 3 + 3 + 3 digits)
    ("district", 0, 6, "区", "District"),
    ("street", 1, 3, "街道", "Street"),
    ("community", 2, 3, "社区", "Community"),
    ("grid", 3, 3, "网格", "Grid"),
]

PARTS_TRIGGER = """
CREATE FUNCTION gridgeo_refresh_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM grid_parts WHERE grid_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.valid_to IS NULL THEN
        INSERT INTO grid_parts (grid_id, depth, code, geom)
        SELECT NEW.id, l.depth, NEW.code, (ST_Dump(ST_Subdivide(NEW.geom, 64))).geom
        FROM levels l WHERE l.id = NEW.level_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER grids_parts AFTER INSERT OR DELETE OR UPDATE OF geom, code, level_id, valid_to
ON grids FOR EACH ROW EXECUTE FUNCTION gridgeo_refresh_parts();
"""


def upgrade() -> None:
    levels = op.create_table(
        "levels",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("depth", sa.SmallInteger, nullable=False, unique=True),
        sa.Column("code_width", sa.SmallInteger, nullable=False),
        sa.Column("label_zh", sa.Text, nullable=False),
        sa.Column("label_en", sa.Text, nullable=False),
        sa.CheckConstraint("depth >= 0", name="levels_depth_nonneg"),
        sa.CheckConstraint("code_width > 0", name="levels_code_width_pos"),
    )
    op.bulk_insert(
        levels,
        [
            {"key": k, "depth": d, "code_width": w, "label_zh": zh, "label_en": en}
            for k, d, w, zh, en in DEFAULT_LEVELS
        ],
    )
    op.create_table(
        "grids",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level_id", sa.SmallInteger, sa.ForeignKey("levels.id"), nullable=False),
        sa.Column("parent_id", sa.BigInteger, sa.ForeignKey("grids.id", ondelete="RESTRICT")),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("workers", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("valid_from", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("valid_to", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("workers >= 0", name="grids_workers_nonneg"),
        sa.CheckConstraint("code ~ '^[0-9]+$'", name="grids_code_digits"),
    )
    op.create_index("idx_grids_geom", "grids", ["geom"], postgresql_using="gist")
    op.create_index("ix_grids_parent_id", "grids", ["parent_id"])
    op.create_index(
        "grids_code_current",
        "grids",
        ["code"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "grid_parts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "grid_id",
            sa.BigInteger,
            sa.ForeignKey("grids.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("depth", sa.SmallInteger, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("POLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
    )
    op.create_index("idx_grid_parts_geom", "grid_parts", ["geom"], postgresql_using="gist")
    op.create_index("ix_grid_parts_grid_id", "grid_parts", ["grid_id"])
    op.execute(PARTS_TRIGGER)

    op.create_table(
        "households",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "location",
            geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("household_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("address", sa.Text),
        sa.Column("external_id", sa.Text),
        sa.Column("grid_id", sa.BigInteger, sa.ForeignKey("grids.id", ondelete="SET NULL")),
        sa.Column("assigned_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("household_count > 0", name="households_count_pos"),
    )
    op.create_index("idx_households_location", "households", ["location"], postgresql_using="gist")
    op.create_index("ix_households_grid_id", "households", ["grid_id"])
    op.create_index(
        "households_external_id",
        "households",
        ["external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "location",
            geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("grid_id", sa.BigInteger, sa.ForeignKey("grids.id", ondelete="SET NULL")),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("reported_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("idx_incidents_location", "incidents", ["location"], postgresql_using="gist")
    op.create_index("ix_incidents_grid_id", "incidents", ["grid_id"])


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("households")
    op.execute("DROP TRIGGER IF EXISTS grids_parts ON grids")
    op.execute("DROP FUNCTION IF EXISTS gridgeo_refresh_parts()")
    op.drop_table("grid_parts")
    op.drop_table("grids")
    op.drop_table("levels")
