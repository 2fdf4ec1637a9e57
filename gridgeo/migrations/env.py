"""Alembic environment: runs on a connection handed over by gridgeo.db.run_migrations."""

from alembic import context
from geoalchemy2 import alembic_helpers

from gridgeo.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=alembic_helpers.include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
)
with context.begin_transaction():
    context.run_migrations()
