"""The evals' tables: eval results and release records (migration ``evals``), on the journal's
metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "EvalResult",
    "Release",
]


class EvalResult(Base):
    """One eval of an agent: what was evaluated (version, dataset, pins) and what it scored."""

    __tablename__ = "eval_results"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128))
    agent_version: Mapped[str] = mapped_column(String(64))
    dataset_hash: Mapped[str] = mapped_column(String(64))
    models: Mapped[dict[str, Any]]
    k: Mapped[int] = mapped_column(Integer)
    tenant: Mapped[str] = mapped_column(String(64))
    # True for the nightly eval and other admin runs (their runs carry the admin tenant).
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    metrics: Mapped[dict[str, Any]]
    cases: Mapped[dict[str, Any]]
    regression: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_eval_results_agent_created", "agent", "created_at"),)


class Release(Base):
    """A release record: the commit, the lock's hash, and each agent's version and eval."""

    __tablename__ = "releases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    git_commit: Mapped[str] = mapped_column(String(64))
    lock_hash: Mapped[str] = mapped_column(String(64))
    agents: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
