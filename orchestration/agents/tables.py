"""The stored agent versions (migration ``rollouts``), on the journal's metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "AgentVersion",
]


class AgentVersion(Base):
    """One agent version by content hash: what a worker rebuilds a pinned run's requests from.

    Written once, when the first run of the version is created; never changed.
    """

    __tablename__ = "agent_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128))
    variant: Mapped[str] = mapped_column(String(64))
    prompt_template: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(128))
    fallbacks: Mapped[list[str]] = mapped_column(JSON)
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
