"""The tables of the subsystems built on the journal: API keys (HTTP API), eval results,
releases and the LLM response cache (evals), memory facts (sessions), fine-tune jobs and model
candidates (knowledge), agent versions and canary rollouts (rollouts).

They share the journal's declarative base, so one set of migrations creates them all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "AgentVersion",
    "Alert",
    "ApiKey",
    "EvalResult",
    "FinetuneJob",
    "LLMCacheEntry",
    "MemoryFact",
    "ModelCandidate",
    "Release",
    "Rollout",
    "RolloutEvent",
    "RunVariant",
]


class ApiKey(Base):
    """A tenant's API key: only its SHA-256 is stored; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


# -- evals, releases and the LLM response cache (migration ``evals``) ------------------------


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


class LLMCacheEntry(Base):
    """An LLM answer to one full request (deployments, messages, tools, params) of a tenant."""

    __tablename__ = "llm_response_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    deployment: Mapped[str] = mapped_column(String(160))
    reply: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_llm_response_cache_created", "created_at"),)


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


# -- agent versions and canary rollouts (issue 13) ---------------------------------------------


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


# -- alerts (migration ``observe``) ---------------------------------------------------------


class Alert(Base):
    """A threshold a rule found crossed (observability), and whether its webhook got it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(160))
    value: Mapped[float] = mapped_column(Numeric(18, 6, asdecimal=False))
    threshold: Mapped[float] = mapped_column(Numeric(18, 6, asdecimal=False))
    message: Mapped[str] = mapped_column(Text)
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    delivery_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_alerts_rule_subject_fired", "rule", "subject", "fired_at"),)
