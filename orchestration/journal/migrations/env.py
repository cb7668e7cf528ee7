"""Alembic environment: runs the journal's migrations on the connection it is handed.

Run only by Alembic (``chordline db upgrade``, or a SQLite journal upgrading itself). Migrating
reads the migration scripts alone; the metadata matters only to a comparison or an
autogenerate, which must hand over every table in the ``target_metadata`` attribute:
:data:`orchestration.tables.metadata`. The journal imports no subsystem, so its own metadata,
the default here, may lack the tables of subsystems not yet imported.
"""

from __future__ import annotations

from alembic import context

from orchestration.journal.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=context.config.attributes.get("target_metadata", Base.metadata),
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
