"""The knowledge subsystem's tables: fine-tuning jobs and model candidates (migration
``knowledge``), on the journal's metadata.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "FinetuneJob",
    "ModelCandidate",
]


class FinetuneJob(Base):
    """A fine-tuning job submitted for an agent, followed until it ends (issue 12)."""

    __tablename__ = "finetune_jobs"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128), index=True)
    base_model: Mapped[str] = mapped_column(String(128))
    training_file: Mapped[str] = mapped_column(String(128))
    examples: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    fine_tuned_model: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelCandidate(Base):
    """A model an agent might run on, recorded for evaluation; never pinned by Chordline."""

    __tablename__ = "model_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(String(128), index=True)
    model: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("agent", "model", name="uq_model_candidates_agent_model"),)
