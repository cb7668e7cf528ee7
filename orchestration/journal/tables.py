"""The journal's tables: runs and steps (SQLAlchemy 2 typed models), and the declarative
:class:`Base` whose metadata every subsystem's ``tables`` module adds its own tables to.

The schema is created by the Alembic migrations in ``orchestration/journal/migrations``; these
classes, with the subsystems' (all gathered by :mod:`orchestration.tables`), describe it and
must stay in step with the latest migration (a test compares them).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
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

from orchestration.storable_text import storable

__all__ = [
    "Base",
    "Run",
    "RunKind",
    "RunStatus",
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


class StorableText(TypeDecorator[str]):
    """Text that tools and models write (an answer, an error, a call's arguments): a lone
    surrogate or NUL in it is stored as U+FFFD, as the journal's JSON encoding does, instead of
    failing the step (neither can be encoded, nor held by PostgreSQL's text)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable(value)


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
    output: Mapped[str | None] = mapped_column(StorableText)
    error: Mapped[str | None] = mapped_column(StorableText)
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
        # The console's live listings ask what changed lately (migration "console").
        Index("ix_runs_tenant_updated", "tenant", "updated_at"),
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
    arguments: Mapped[str | None] = mapped_column(StorableText)
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
    error: Mapped[str | None] = mapped_column(StorableText)
    deployment: Mapped[str | None] = mapped_column(String(160))
    requested_model: Mapped[str | None] = mapped_column(String(128))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_steps_run_seq"),
        Index("ix_steps_status_lease", "status", "lease_expires_at"),
        Index("ix_steps_request_hash", "request_hash"),
        Index("ix_steps_finished_at", "finished_at"),
    )


class RunKind(enum.StrEnum):
    """What a run is: one agent's run, or a workflow's parent run over agent runs."""

    AGENT = "agent"
    WORKFLOW = "workflow"
