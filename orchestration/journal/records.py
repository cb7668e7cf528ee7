"""Typed, frozen views of journal rows, handed between modules instead of ORM objects or dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row

from orchestration.journal.payloads import StepPayload, TurnPayload, decode
from orchestration.journal.tables import Run, RunStatus, Step, StepKind, StepStatus

__all__ = [
    "Busy",
    "ClaimOutcome",
    "Claimed",
    "ContextEntry",
    "Done",
    "NewRun",
    "NewStep",
    "RunRecord",
    "StepOutcome",
    "StepRecord",
    "ToolCallRequest",
    "TurnResult",
]


@dataclass(frozen=True)
class NewRun:
    """What a submit writes: the run and everything it will run with."""

    run_id: str
    tenant: str
    agent: str
    agent_version: str
    prompt_hash: str
    model: str
    tool_schemas_hash: str
    input: str
    max_steps: int
    max_tokens: int | None
    max_usd: Decimal | None
    trace_id: str | None = None
    metadata: dict[str, Any] | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    kind: str = "agent"
    parent_id: str | None = None
    stage: str | None = None
    session: str | None = None


@dataclass(frozen=True)
class RunRecord:
    """A run as the journal holds it."""

    id: str
    tenant: str
    agent: str
    agent_version: str
    prompt_hash: str
    model: str
    status: RunStatus
    input: str
    output: str | None
    error: str | None
    next_seq: int
    turns: int
    tool_error_streak: int
    max_steps: int
    max_tokens: int | None
    max_usd: Decimal | None
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None
    trace_id: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    kind: str = "agent"
    parent_id: str | None = None
    stage: str | None = None
    session: str | None = None

    @classmethod
    def of(cls, row: Run | Row[Any]) -> RunRecord:
        """Copy a journal row (ORM object or Core row) into a record."""
        return cls(
            id=row.id,
            tenant=row.tenant,
            agent=row.agent,
            agent_version=row.agent_version,
            prompt_hash=row.prompt_hash,
            model=row.model,
            status=RunStatus(row.status),
            input=row.input,
            output=row.output,
            error=row.error,
            next_seq=row.next_seq,
            turns=row.turns,
            tool_error_streak=row.tool_error_streak,
            max_steps=row.max_steps,
            max_tokens=row.max_tokens,
            max_usd=row.max_usd,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cost_usd=row.cost_usd,
            trace_id=row.trace_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
            kind=row.kind,
            parent_id=row.parent_id,
            stage=row.stage,
            session=row.session,
        )


@dataclass(frozen=True)
class StepRecord:
    """A step as the journal holds it."""

    run_id: str
    seq: int
    turn: int
    kind: StepKind
    name: str
    call_id: str | None
    arguments: str | None
    result: StepPayload | None
    status: StepStatus
    attempt: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None
    model: str | None
    error: str | None
    deployment: str | None = None
    requested_model: str | None = None
    request_hash: str | None = None

    @classmethod
    def of(cls, row: Step | Row[Any]) -> StepRecord:
        """Copy a journal row (ORM object or Core row) into a record, its result decoded."""
        kind = StepKind(row.kind)
        return cls(
            run_id=row.run_id,
            seq=row.seq,
            turn=row.turn,
            kind=kind,
            name=row.name,
            call_id=row.call_id,
            arguments=row.arguments,
            result=decode(kind, row.result),
            status=StepStatus(row.status),
            attempt=row.attempt,
            lease_owner=row.lease_owner,
            lease_expires_at=row.lease_expires_at,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cost_usd=row.cost_usd,
            model=row.model,
            error=row.error,
            deployment=row.deployment,
            requested_model=row.requested_model,
            request_hash=row.request_hash,
        )

    @property
    def drift(self) -> bool:
        """True when the model that answered is not the model that was asked for."""
        return bool(self.requested_model and self.model and self.model != self.requested_model)

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class ContextEntry:
    """The part of a step the model's conversation is built from (a slim read)."""

    seq: int
    kind: StepKind
    name: str
    call_id: str | None
    result: StepPayload | None
    status: StepStatus
    error: str | None

    @classmethod
    def of(cls, row: Row[Any] | Mapping[str, Any]) -> ContextEntry:
        """Read an entry from a row (or a JSON object) of those columns, its result decoded."""
        values = row if isinstance(row, Mapping) else row._mapping
        kind = StepKind(values["kind"])
        return cls(
            seq=values["seq"],
            kind=kind,
            name=values["name"],
            call_id=values["call_id"],
            result=decode(kind, values["result"]),
            status=StepStatus(values["status"]),
            error=values["error"],
        )


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call the model asked for, journaled before anything acts on it."""

    call_id: str
    name: str
    arguments: str
    read_only: bool
    requires_approval: bool


@dataclass(frozen=True)
class NewStep:
    """A step a turn asks for, journaled with the turn's answer (pending until it runs)."""

    seq: int
    turn: int
    kind: StepKind
    name: str
    call_id: str | None = None
    arguments: str | None = None

    @property
    def status(self) -> StepStatus:
        """A new step is pending."""
        return StepStatus.PENDING


@dataclass(frozen=True)
class StepOutcome:
    """What a finished step records besides a turn's counters: its status, its payload (a tool's
    output, an approval's decision, a stop, a turn's attempts when none answered) and why it
    failed or was skipped."""

    status: StepStatus
    result: StepPayload | None
    error: str | None = None


@dataclass(frozen=True)
class TurnResult:
    """What a finished LLM turn records, with the steps it creates and the run's new counters.

    Attributes:
        steps: the steps the answer asks for (empty with a final answer).
        next_seq: the run's next free step number once ``steps`` are in.
        tool_error_streak: the run's count of consecutive turns whose tool calls all failed.
    """

    result: TurnPayload
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None
    model: str
    steps: tuple[NewStep, ...]
    next_seq: int
    final_answer: str | None
    tool_error_streak: int = 0
    deployment: str | None = None
    requested_model: str | None = None
    request_hash: str | None = None


@dataclass(frozen=True)
class Claimed:
    """The caller holds the step's lease and must run it.

    Attributes:
        step: the step, as claimed.
        run: its run.
        window: the run's steps before this one, newest first, as many as the claim asked for
            (an LLM turn's conversation and the previous turn's outcomes; a tool's approval).
    """

    step: StepRecord
    run: RunRecord
    window: tuple[ContextEntry, ...] = ()


@dataclass(frozen=True)
class Done:
    """The step already has a final outcome; the caller returns it and does nothing else."""

    step: StepRecord


@dataclass(frozen=True)
class Busy:
    """Another worker holds a live lease on the step."""

    step: StepRecord
    retry_in_s: float


ClaimOutcome = Claimed | Done | Busy
