"""Long-term memory's table: the facts agents chose to remember (migration ``workflows``), on
the journal's metadata. Sessions and the memory a run loaded are columns of ``runs``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "MemoryFact",
]


class MemoryFact(Base):
    """A fact an agent chose to remember for a session (long-term memory, the journal store)."""

    __tablename__ = "memory_facts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    session: Mapped[str] = mapped_column(String(128))
    fact: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_memory_facts_session", "tenant", "session"),)
