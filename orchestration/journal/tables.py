"""The journal's tables: runs and steps (SQLAlchemy 2 typed models).

The schema is created by the Alembic migrations in ``orchestration/journal/migrations``; these
classes describe it and must stay in step with the latest migration (a test compares them).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AgentVersion",
    "ApiKey",
    "Base",
    "EvalResult",
    "FinetuneJob",
    "LLMCacheEntry",
    "MemoryFact",
    "ModelCandidate",
    "Release",
    "Rollout",
    "RolloutEvent",
    "Run",
    "RunKind",
    "RunStatus",
    "RunVariant",
    "Step",
    "StepKind",
    "StepStatus",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the journal; use utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RunStatus(enum.StrEnum):
    """Where a run is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING_FOR_APPROVAL = "waiting_for_approval"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BUDGET_EXCEEDED = "budget_exceeded"

    @property
    def terminal(self) -> bool:
        """True once the run can make no more progress."""
        return self in _TERMINAL_RUN


_TERMINAL_RUN = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.BUDGET_EXCEEDED}
)


class StepKind(enum.StrEnum):
    """What a step does."""

    LLM = "llm"
    TOOL = "tool"
    APPROVAL = "approval"


class StepStatus(enum.StrEnum):
    """Where a step is in its life. ``succeeded``, ``failed`` and ``skipped`` are final."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def final(self) -> bool:
        """True once the step's outcome is recorded for good."""
        return self in (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED)


class Base(DeclarativeBase):
    """Declarative base of the journal."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


class Run(Base):
    """One agent job: what ran, with what, for whom, and how it ended."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    agent: Mapped[str] = mapped_column(String(128))
    agent_version: Mapped[str] = mapped_column(String(64))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    tool_schemas_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default=RunStatus.QUEUED)
    input: Mapped[str] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    next_seq: Mapped[int] = mapped_column(Integer, default=2)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    tool_error_streak: Mapped[int] = mapped_column(Integer, default=0)
    max_steps: Mapped[int] = mapped_column(Integer)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    max_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6), default=Decimal(0))
    trace_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    redriven_at: Mapped[datetime | None]
    # The HTTP API's: a caller's small JSON object, and the Idempotency-Key with its body's hash.
    run_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Workflows and sessions (migration "workflows"): a workflow run is a parent whose children
    # are agent runs, each at one stage of it; a session groups the runs of one conversation.
    kind: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    parent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    stage: Mapped[str | None] = mapped_column(String(64))
    session: Mapped[str | None] = mapped_column(String(128), index=True)
    memory: Mapped[dict[str, Any] | None]

    __table_args__ = (
        Index("ix_runs_status_updated", "status", "updated_at"),
        Index("ix_runs_tenant_created", "tenant", "created_at"),
        UniqueConstraint("tenant", "idempotency_key", name="uq_runs_tenant_idempotency"),
    )


class Step(Base):
    """One step of a run: an LLM turn, a tool call or an approval, unique by (run_id, seq)."""

    __tablename__ = "steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    turn: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    call_id: Mapped[str | None] = mapped_column(String(128))
    arguments: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.PENDING)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    model: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    deployment: Mapped[str | None] = mapped_column(String(160))
    requested_model: Mapped[str | None] = mapped_column(String(128))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_steps_run_seq"),
        Index("ix_steps_status_lease", "status", "lease_expires_at"),
        Index("ix_steps_request_hash", "request_hash"),
        Index("ix_steps_finished_at", "finished_at"),
    )


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


class RunKind(enum.StrEnum):
    """What a run is: one agent's run, or a workflow's parent run over agent runs."""

    AGENT = "agent"
    WORKFLOW = "workflow"


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
