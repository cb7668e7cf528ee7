"""Alembic environment: runs the journal's migrations on the connection it is handed.

Run only by Alembic (``chordline db upgrade``, or a SQLite journal upgrading itself), never
imported by the journal's modules: it reads the whole schema from :mod:`orchestration.tables`,
which sits above the subsystems whose tables it gathers.
"""

from __future__ import annotations

from alembic import context

from orchestration.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
