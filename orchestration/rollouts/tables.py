"""The rollouts' tables: canary rollouts, their events and which variant served each run
(migration ``rollouts``), on the journal's metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "Rollout",
    "RolloutEvent",
    "RunVariant",
]


class Rollout(Base):
    """A canary rollout of one agent's variant, stage by stage (``percent`` of new runs)."""

    __tablename__ = "rollouts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128))
    variant: Mapped[str] = mapped_column(String(64))
    variant_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    steps: Mapped[list[int]] = mapped_column(JSON)
    stage: Mapped[int] = mapped_column(Integer)
    percent: Mapped[int] = mapped_column(Integer)
    min_runs: Mapped[int] = mapped_column(Integer)
    dwell_seconds: Mapped[int] = mapped_column(Integer)
    sticky: Mapped[str] = mapped_column(String(16))
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    stage_started_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_rollouts_agent_status", "agent", "status"),)


class RolloutEvent(Base):
    """What happened to a rollout: started, held, advanced, rolled back (with an alert), done."""

    __tablename__ = "rollout_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rollout_id: Mapped[str] = mapped_column(ForeignKey("rollouts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    stage: Mapped[int] = mapped_column(Integer)
    percent: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any] | None]
    alert: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_rollout_events_rollout", "rollout_id", "id"),)


class RunVariant(Base):
    """Which variant served a run, and the rollout stage that routed it there."""

    __tablename__ = "run_variants"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128))
    variant: Mapped[str] = mapped_column(String(64))
    agent_version: Mapped[str] = mapped_column(String(64))
    rollout_id: Mapped[str | None] = mapped_column(String(36))
    stage: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_run_variants_rollout_stage", "rollout_id", "stage"),)
