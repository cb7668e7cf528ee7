"""Runs and their steps: creating a run, reading runs and steps, ending a run, deleting old ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from orchestration.errors import JournalError, RunNotFound
from orchestration.journal.engine import write
from orchestration.journal.records import ContextEntry, NewRun, RunRecord, StepRecord
from orchestration.journal.tables import Run, RunStatus, Step, StepKind, StepStatus, utcnow

__all__ = [
    "LIVE",
    "TERMINAL",
    "RunExtras",
    "agent_runs",
    "context_entries",
    "create_run",
    "delete_ended_before",
    "finish_run",
    "get_run",
    "live_runs",
    "read_window",
    "run_by_idempotency_key",
    "run_extras",
    "step",
    "steps",
    "touch_run",
]

TERMINAL = tuple(status.value for status in RunStatus if status.terminal)
LIVE = tuple(status.value for status in RunStatus if not status.terminal)


@dataclass(frozen=True)
class RunExtras:
    """The columns of a run only the HTTP API reads."""

    metadata: dict[str, Any] | None
    idempotency_key: str | None
    request_hash: str | None


def create_run(engine: Engine, new: NewRun) -> RunRecord:
    """Record a new run and its first step (an LLM turn). Idempotent on ``run_id``."""
    now = utcnow()
    try:
        with write(engine) as connection:
            connection.execute(
                insert(Run).values(
                    id=new.run_id,
                    tenant=new.tenant,
                    agent=new.agent,
                    agent_version=new.agent_version,
                    prompt_hash=new.prompt_hash,
                    model=new.model,
                    tool_schemas_hash=new.tool_schemas_hash,
                    status=RunStatus.QUEUED,
                    input=new.input,
                    next_seq=2,
                    turns=0,
                    tool_error_streak=0,
                    max_steps=new.max_steps,
                    max_tokens=new.max_tokens,
                    max_usd=new.max_usd,
                    input_tokens=0,
                    output_tokens=0,
                    cost_usd=Decimal(0),
                    trace_id=new.trace_id,
                    run_metadata=new.metadata,
                    idempotency_key=new.idempotency_key,
                    request_hash=new.request_hash,
                    kind=new.kind,
                    parent_id=new.parent_id,
                    stage=new.stage,
                    session=new.session,
                    created_at=now,
                    updated_at=now,
                )
            )
            connection.execute(
                insert(Step).values(
                    run_id=new.run_id,
                    seq=1,
                    turn=0,
                    kind=StepKind.LLM,
                    name="turn",
                    status=StepStatus.PENDING,
                    attempt=0,
                    input_tokens=0,
                    output_tokens=0,
                    created_at=now,
                )
            )
    except IntegrityError:
        pass  # a redelivered submit: the run exists already
    return get_run(engine, new.run_id)


def get_run(engine: Engine, run_id: str, tenant: str | None = None) -> RunRecord:
    """Return a run, only if it belongs to ``tenant`` when one is given.

    Raises:
        RunNotFound: no such run for that tenant.
    """
    query = select(Run).where(Run.id == run_id)
    if tenant is not None:
        query = query.where(Run.tenant == tenant)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        raise RunNotFound(f"no run {run_id!r}. Fix: list runs with `chordline runs`.")
    return RunRecord.of(row)


def agent_runs(engine: Engine, agent: str) -> list[RunRecord]:
    """Every run of ``agent``, oldest first."""
    query = select(Run).where(Run.agent == agent).order_by(Run.created_at)
    with engine.connect() as connection:
        return [RunRecord.of(row) for row in connection.execute(query)]


def live_runs(engine: Engine, tenant: str) -> int:
    """How many of the tenant's runs have not ended."""
    query = select(func.count()).where(Run.tenant == tenant, Run.status.in_(LIVE))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def run_by_idempotency_key(engine: Engine, tenant: str, key: str) -> RunRecord | None:
    """The tenant's run created with this Idempotency-Key, if any."""
    query = select(Run).where(Run.tenant == tenant, Run.idempotency_key == key)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else RunRecord.of(row)


def run_extras(engine: Engine, run_id: str) -> RunExtras:
    """A run's metadata and idempotency columns (all None for an unknown run)."""
    query = select(Run.run_metadata, Run.idempotency_key, Run.request_hash).where(Run.id == run_id)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return RunExtras(None, None, None)
    return RunExtras(row[0], row[1], row[2])


def touch_run(engine: Engine, run_id: str) -> None:
    """Mark the run as moving now (what the sweeper reads to leave it alone)."""
    with write(engine) as connection:
        connection.execute(update(Run).where(Run.id == run_id).values(updated_at=utcnow()))


def delete_ended_before(engine: Engine, cutoff: datetime) -> tuple[int, int]:
    """Delete the runs that ended before ``cutoff`` with their steps; live runs stay.

    Returns:
        How many runs and how many steps were deleted.
    """
    old_runs = select(Run.id).where(Run.status.in_(TERMINAL), Run.finished_at < cutoff)
    with write(engine) as connection:
        steps_gone = connection.execute(delete(Step).where(Step.run_id.in_(old_runs))).rowcount
        runs_gone = connection.execute(delete(Run).where(Run.id.in_(old_runs))).rowcount
    return int(runs_gone or 0), int(steps_gone or 0)


def finish_run(
    engine: Engine,
    run_id: str,
    status: RunStatus,
    *,
    output: str | None = None,
    error: str | None = None,
) -> bool:
    """Move a live run to a final status; False when it had already ended."""
    now = utcnow()
    with write(engine) as connection:
        result = connection.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.not_in(TERMINAL))
            .values(status=status, output=output, error=error, finished_at=now, updated_at=now)
        )
    return int(result.rowcount) == 1


def step(engine: Engine, run_id: str, seq: int) -> StepRecord:
    """One step by its key.

    Raises:
        JournalError: the run has no such step.
    """
    with engine.connect() as connection:
        found = connection.execute(
            select(Step).where(Step.run_id == run_id, Step.seq == seq)
        ).first()
    if found is None:
        raise JournalError(f"run {run_id} has no step {seq}")
    return StepRecord.of(found)


def steps(engine: Engine, run_id: str, after: int = 0, upto: int | None = None) -> list[StepRecord]:
    """Steps with ``after < seq <= upto`` in order (the whole run by default)."""
    query = select(Step).where(Step.run_id == run_id, Step.seq > after).order_by(Step.seq)
    if upto is not None:
        query = query.where(Step.seq <= upto)
    with engine.connect() as connection:
        return [StepRecord.of(row) for row in connection.execute(query)]


def context_entries(engine: Engine, run_id: str, before: int, limit: int) -> list[ContextEntry]:
    """Up to ``limit`` steps before ``before``, newest first, with only what a conversation
    needs: one indexed range read whose cost does not grow with the run."""
    with engine.connect() as connection:
        return read_window(connection, run_id, before, limit)


def read_window(connection: Connection, run_id: str, before: int, limit: int) -> list[ContextEntry]:
    """:func:`context_entries` on a connection the caller holds (inside its transaction)."""
    if limit <= 0:
        return []
    query = (
        select(Step.seq, Step.kind, Step.name, Step.call_id, Step.result, Step.status, Step.error)
        # Seqs are contiguous: the range itself is bounded, whatever plan the database picks.
        .where(Step.run_id == run_id, Step.seq < before, Step.seq >= before - limit)
        .order_by(Step.seq.desc())
        .limit(limit)
    )
    return [ContextEntry.of(row) for row in connection.execute(query)]
