"""Every table of Chordline's database, gathered on the journal's one metadata.

The journal defines ``runs`` and ``steps`` and the declarative base; each subsystem defines its
own tables in its ``tables`` module on that base, and keeps every query of them in its ``store``
module. Subsystems import the journal, never the reverse, so nothing below this module knows
the whole schema: whatever compares the schema with the migrations (the schema test, an
autogenerate, which hands it to the migrations' environment as ``target_metadata``) reads
:data:`metadata` here, once every subsystem's tables are on it.
"""

from __future__ import annotations

from orchestration.agents import tables as agents_tables
from orchestration.api import tables as api_tables
from orchestration.evals import tables as evals_tables
from orchestration.feedback import tables as feedback_tables
from orchestration.journal import tables as journal_tables
from orchestration.knowledge import tables as knowledge_tables
from orchestration.llm import tables as llm_tables
from orchestration.memory import tables as memory_tables
from orchestration.observability import tables as observability_tables
from orchestration.rollouts import tables as rollouts_tables
from orchestration.webhooks import tables as webhooks_tables

__all__ = ["TABLE_MODULES", "metadata"]

TABLE_MODULES = (
    journal_tables,
    agents_tables,
    api_tables,
    evals_tables,
    feedback_tables,
    knowledge_tables,
    llm_tables,
    memory_tables,
    observability_tables,
    rollouts_tables,
    webhooks_tables,
)
"""The modules that define tables, the journal's first."""

metadata = journal_tables.Base.metadata
"""Every table, as the latest migration creates them."""
