"""Households per grid, kept as the assignment changes (``grid_households``).

Why: every count of households per grid (the workload report, the grid list, the grid tiles)
summed ``households.household_count`` over ``household_grid`` joined to ``households`` for
each request. At 10,000,000 households that join took 13.7 s for every grid, 11.5 s for the
790 grids of one z14 tile and 30 s for a z12 tile (2026-12-05, load 14): the households' rows
are read at random. The sum is now kept per grid, by statement triggers on ``household_grid``
(one statement's rows at a time, from its transition tables), and each assignment row carries
its household's weight (``household_grid.households``: the ``household_count`` it was assigned
with, kept equal by a trigger on ``households``), so that a deleted assignment can still be
subtracted after its household is gone.

A full reassignment swaps ``household_grid`` for a new table: it re-creates these triggers on
it from their definitions (``pg_get_triggerdef``) and writes the sums at once
(:mod:`gridgeo.bulk_assign`).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

FUNCTIONS = r"""
CREATE FUNCTION gridgeo_household_grid_weight() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- an assignment written without its weight takes its household's count
    NEW.households := (SELECT h.household_count FROM households h WHERE h.id = NEW.household_id);
    RETURN NEW;
END $$;

CREATE FUNCTION gridgeo_grid_households_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- grids deleted in the same statement (their assignments cascade) are gone: skipped
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM grid_households;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO grid_households AS s (grid_id, households, points)
        SELECT n.grid_id, sum(n.households), count(*) FROM gh_new n
        WHERE EXISTS (SELECT 1 FROM grids g WHERE g.id = n.grid_id) GROUP BY 1
        ON CONFLICT (grid_id) DO UPDATE SET households = s.households + EXCLUDED.households,
                                            points = s.points + EXCLUDED.points;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE grid_households s SET households = s.households - d.h, points = s.points - d.c
        FROM (SELECT grid_id, sum(households) AS h, count(*) AS c FROM gh_old GROUP BY 1) d
        WHERE s.grid_id = d.grid_id;
        DELETE FROM grid_households s WHERE s.points = 0
            AND s.grid_id IN (SELECT grid_id FROM gh_old);
    ELSE
        INSERT INTO grid_households AS s (grid_id, households, points)
        SELECT d.grid_id, sum(d.h), sum(d.c) FROM (
            SELECT grid_id, households::bigint AS h, 1 AS c FROM gh_new
            UNION ALL
            SELECT grid_id, -households::bigint, -1 FROM gh_old
        ) d
        WHERE EXISTS (SELECT 1 FROM grids g WHERE g.id = d.grid_id)
        GROUP BY 1 HAVING sum(d.h) <> 0 OR sum(d.c) <> 0
        ON CONFLICT (grid_id) DO UPDATE SET households = s.households + EXCLUDED.households,
                                            points = s.points + EXCLUDED.points;
        DELETE FROM grid_households s WHERE s.points = 0
            AND s.grid_id IN (SELECT grid_id FROM gh_old);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION gridgeo_household_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE household_grid SET households = NEW.household_count WHERE household_id = NEW.id;
    RETURN NULL;
END $$;
"""

# On household_grid: the full reassignment re-creates these on the table it swaps in.
TRIGGERS = """
CREATE TRIGGER household_grid_weight BEFORE INSERT ON household_grid
    FOR EACH ROW WHEN (NEW.households IS NULL) EXECUTE FUNCTION gridgeo_household_grid_weight();
CREATE TRIGGER grid_households_insert AFTER INSERT ON household_grid
    REFERENCING NEW TABLE AS gh_new
    FOR EACH STATEMENT EXECUTE FUNCTION gridgeo_grid_households_apply();
CREATE TRIGGER grid_households_delete AFTER DELETE ON household_grid
    REFERENCING OLD TABLE AS gh_old
    FOR EACH STATEMENT EXECUTE FUNCTION gridgeo_grid_households_apply();
CREATE TRIGGER grid_households_update AFTER UPDATE ON household_grid
    REFERENCING OLD TABLE AS gh_old NEW TABLE AS gh_new
    FOR EACH STATEMENT EXECUTE FUNCTION gridgeo_grid_households_apply();
CREATE TRIGGER grid_households_truncate AFTER TRUNCATE ON household_grid
    FOR EACH STATEMENT EXECUTE FUNCTION gridgeo_grid_households_apply();
"""


def upgrade() -> None:
    op.execute("ALTER TABLE household_grid ADD COLUMN households integer")
    op.execute(
        "UPDATE household_grid a SET households = h.household_count "
        "FROM households h WHERE h.id = a.household_id"
    )
    op.execute("ALTER TABLE household_grid ALTER COLUMN households SET NOT NULL")
    op.execute(
        """
        CREATE TABLE grid_households (
            grid_id bigint PRIMARY KEY REFERENCES grids (id) ON DELETE CASCADE,
            households bigint NOT NULL,
            points bigint NOT NULL
        )
        """
    )
    op.execute(
        "INSERT INTO grid_households (grid_id, households, points) "
        "SELECT grid_id, sum(households), count(*) FROM household_grid GROUP BY grid_id"
    )
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)
    op.execute(
        """
        CREATE TRIGGER households_count_changed AFTER UPDATE OF household_count ON households
            FOR EACH ROW WHEN (OLD.household_count IS DISTINCT FROM NEW.household_count)
            EXECUTE FUNCTION gridgeo_household_count_changed()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER households_count_changed ON households")
    for name in ("weight", "insert", "delete", "update", "truncate"):
        trigger = "household_grid_weight" if name == "weight" else f"grid_households_{name}"
        op.execute(f"DROP TRIGGER {trigger} ON household_grid")
    op.execute("DROP FUNCTION gridgeo_household_count_changed()")
    op.execute("DROP FUNCTION gridgeo_grid_households_apply()")
    op.execute("DROP FUNCTION gridgeo_household_grid_weight()")
    op.execute("DROP TABLE grid_households")
    op.execute("ALTER TABLE household_grid DROP COLUMN households")
