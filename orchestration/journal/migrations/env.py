"""Alembic environment: runs the journal's migrations on the connection it is handed."""

from __future__ import annotations

from alembic import context

from orchestration.journal import subsystem_tables
from orchestration.journal.tables import Base

# Every table on the metadata, the subsystems' too.
_ = subsystem_tables

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
