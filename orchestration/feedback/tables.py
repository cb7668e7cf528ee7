"""Feedback's table: what people thought of a run (migration ``feedback``), on the journal's
metadata.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "RunFeedback",
]


class RunFeedback(Base):
    """One giver's feedback on one run: a later one by the same giver replaces it.

    ``score`` is 1 (up), -1 (down) or a grade from 0 to 1; ``giver`` is the API key's name (or
    the CLI's ``--giver``). The row goes with its run when the cleanup deletes the run.
    """

    __tablename__ = "run_feedback"

    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    giver: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
