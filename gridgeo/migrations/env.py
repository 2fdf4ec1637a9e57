"""Alembic environment: runs on a connection handed over by gridgeo.db.run_migrations.

The target metadata is gridgeo.models, which maps the schema these migrations build;
tests/db/test_models_schema.py compares the two the way autogenerate does here.
"""

from alembic import context
from geoalchemy2 import alembic_helpers

from gridgeo.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    compare_type=True,
    compare_server_default=True,
    # CHECK constraints are compared (by name) only through this opt-in plugin
    autogenerate_plugins=["alembic.autogenerate.*", "alembic.ext.checkconstraint_byname"],
    include_object=alembic_helpers.include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
)
with context.begin_transaction():
    context.run_migrations()
