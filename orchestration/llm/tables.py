"""The LLM response cache's table (migration ``evals``), on the journal's metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "LLMCacheEntry",
]


class LLMCacheEntry(Base):
    """An LLM answer to one full request (deployments, messages, tools, params) of a tenant."""

    __tablename__ = "llm_response_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    deployment: Mapped[str] = mapped_column(String(160))
    reply: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_llm_response_cache_created", "created_at"),)
