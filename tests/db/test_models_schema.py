"""gridgeo/models.py maps the schema the migrations build (all heads), nothing more or less.

Two views of the same claim:

- Alembic's autogenerate, as ``alembic revision --autogenerate`` would run it against a
  migrated database, finds nothing to do: no table, column, type, nullability, server default,
  key, unique constraint, index or named CHECK constraint missing on either side.
- Alembic does not compare everything: a CHECK constraint only by name, an index neither by
  method (GiST, BRIN) nor by predicate (partial indexes). So the metadata is also built with
  ``create_all`` in an empty database and the two catalogs are compared as PostgreSQL prints
  them (``format_type``, ``pg_get_expr``, ``pg_get_constraintdef``, ``pg_get_indexdef``),
  which covers all of that; only column order and ``NOT VALID`` are not compared.

Left out on both sides, since they are not tables of ours: relations an extension owns
(PostGIS's ``spatial_ref_sys``; the tables of ``topology``/``tiger`` live in their own
schemas, and only the current schema is compared), views (``grid_staff``), Alembic's
``alembic_version``. Triggers and their functions live in the migrations only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, make_url, text

from gridgeo.db import MIGRATIONS, ensure_postgis, make_engine
from gridgeo.models import Base

# Relations that are ours: plain tables of the current schema that no extension owns.
OURS = """
    c.relnamespace = current_schema()::regnamespace
    AND c.relkind IN ('r', 'p')
    AND c.relname <> 'alembic_version'
    AND NOT EXISTS (
        SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
    )
"""

CATALOG = {
    "column": f"""
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
               CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'NULL' END,
               coalesce('DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE {OURS}
    """,
    # A full reassignment (gridgeo.bulk_assign) leaves household_grid's foreign keys NOT VALID:
    # a state of the rows, not of the schema models.py maps.
    "constraint": f"""
        SELECT c.relname, k.conname, regexp_replace(pg_get_constraintdef(k.oid), ' NOT VALID$', '')
        FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid
        WHERE {OURS}
    """,
    "index": f"""
        SELECT c.relname, i.relname, pg_get_indexdef(i.oid)
        FROM pg_class c
        JOIN pg_index x ON x.indrelid = c.oid
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE {OURS}
    """,
}


def _ours(conn: Connection) -> set[str]:
    return set(conn.execute(text(f"SELECT c.relname FROM pg_class c WHERE {OURS}")).scalars())


def _only(tables: set[str]) -> Callable[..., bool]:
    """Alembic's ``include_object``: tables in the database are compared only if ours."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        return not (type_ == "table" and reflected and compare_to is None and name not in tables)

    return include


def _text(x: Any) -> str:
    """A column type, a server default or a clause as SQL-ish text."""
    x = getattr(x, "arg", x)  # a server default's expression
    return "None" if x is None else str(x)


def _describe(diff: Any) -> str:
    """One line per difference Alembic reports (its raw tuples print as object reprs)."""
    if isinstance(diff, list):  # the modify_* changes of one column come grouped
        return "\n".join(_describe(d) for d in diff)
    op, *args = diff
    if op.startswith("modify_"):
        _, table, column, _, old, new = args
        return f"{op} {table}.{column}: database {_text(old)!r}, models.py {_text(new)!r}"
    if op.endswith("_column"):
        _, table, column = args
        return f"{op} {table}.{column.name} {column.type} nullable={column.nullable}"
    item = args[0]
    if op.endswith("_table"):
        return f"{op} {item.name}"
    columns = ", ".join(_text(c) for c in getattr(item, "expressions", item.columns))
    return f"{op} {item.table.name}.{item.name} ({columns})"


def _autogenerate(conn: Connection) -> list[Any]:
    """What autogenerate would write: differences from the database to models.py."""
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": _only(_ours(conn)),
            # CHECK constraints are compared (by name) only through this opt-in plugin
            "autogenerate_plugins": [
                "alembic.autogenerate.*",
                "alembic.ext.checkconstraint_byname",
            ],
        },
    )
    return list(compare_metadata(context, Base.metadata))


def test_autogenerate_finds_no_difference(conn: Connection) -> None:
    diffs = _autogenerate(conn)
    assert not diffs, "models.py differs from the migrated schema:\n" + "\n".join(
        _describe(d) for d in diffs
    )


def test_a_column_models_py_lacks_is_found(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE grid_parts ADD COLUMN probe text NOT NULL DEFAULT ''"))
    conn.execute(text("CREATE INDEX ix_incidents_probe ON incidents (category)"))
    assert sorted(_describe(d) for d in _autogenerate(conn)) == [
        "remove_column grid_parts.probe TEXT nullable=False",
        "remove_index incidents.ix_incidents_probe (incidents.category)",
    ]


def test_alembic_check_through_env_py_passes(conn: Connection) -> None:
    # env.py as ``alembic check`` runs it: its target metadata and filters find nothing to do
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.check(cfg)  # raises AutogenerateDiffsDetected on any difference


def test_metadata_maps_all_tables(conn: Connection) -> None:
    assert set(Base.metadata.tables) == _ours(conn)


@pytest.fixture(scope="module")
def models_engine(pg_server: str) -> Iterator[Engine]:
    """An empty database with the schema of models.py made by ``create_all``, no migration."""
    admin = make_engine(pg_server, pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text('DROP DATABASE IF EXISTS "gridgeo_models" WITH (FORCE)'))
        c.execute(text('CREATE DATABASE "gridgeo_models"'))
    admin.dispose()
    eng = make_engine(
        make_url(pg_server).set(database="gridgeo_models").render_as_string(False), pool_size=1
    )
    ensure_postgis(eng)
    rules = importlib.import_module("gridgeo.migrations.versions.0012_spatial_rules")
    with eng.begin() as c:
        c.execute(text(rules.LEAF_KEY))  # grid_parts.leaf_key is generated by it
        Base.metadata.create_all(c)
    yield eng
    eng.dispose()


def _catalog(conn: Connection) -> dict[str, set[tuple[str, ...]]]:
    return {kind: {tuple(r) for r in conn.execute(text(sql))} for kind, sql in CATALOG.items()}


def test_create_all_builds_the_migrated_catalog(engine: Engine, models_engine: Engine) -> None:
    with engine.connect() as a, models_engine.connect() as b:
        migrated, modelled = _catalog(a), _catalog(b)
    lines = []
    for kind in CATALOG:
        for row in sorted(migrated[kind] - modelled[kind]):
            lines.append(f"{kind} only in the migrations: {' | '.join(row)}")
        for row in sorted(modelled[kind] - migrated[kind]):
            lines.append(f"{kind} only in models.py:      {' | '.join(row)}")
    assert not lines, "models.py differs from the migrated schema:\n" + "\n".join(lines)
