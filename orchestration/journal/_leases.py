"""Leases and outcomes: the hot path of every step, in portable SQLAlchemy Core.

A step is claimed with a lease, and only the lease holder records its outcome. Each operation is
one transaction; :mod:`orchestration.journal._leases_pg` does the same on PostgreSQL in one
statement each. This implementation serves SQLite (and any other database).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from orchestration.errors import JournalError
from orchestration.journal.engine import write
from orchestration.journal.payloads import encode
from orchestration.journal.records import (
    Busy,
    Claimed,
    ClaimOutcome,
    Done,
    RunRecord,
    StepOutcome,
    StepRecord,
    TurnResult,
)
from orchestration.journal.runs import TERMINAL, read_window
from orchestration.journal.tables import Run, RunStatus, Step, StepStatus, utcnow

__all__ = ["LeaseLost", "PortableLeases", "not_claimed", "step_rows"]

_LIVE_RUN = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


class LeaseLost(JournalError):
    """The worker's lease on a step lapsed and another worker took the step over."""


def not_claimed(step: StepRecord, now: datetime) -> ClaimOutcome:
    """What a claim that took no lease found: an outcome already recorded, or a live lease."""
    if step.status.final or step.status == StepStatus.WAITING:
        return Done(step=step)
    expires = step.lease_expires_at or now
    return Busy(step=step, retry_in_s=max((expires - now).total_seconds(), 0.05))


def step_rows(turn: TurnResult, run_id: str, now: datetime) -> list[dict[str, Any]]:
    """The rows of the steps a turn asks for."""
    return [
        {
            "run_id": run_id,
            "seq": new.seq,
            "turn": new.turn,
            "kind": new.kind,
            "name": new.name,
            "call_id": new.call_id,
            "arguments": new.arguments,
            "status": StepStatus.PENDING,
            "attempt": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "created_at": now,
        }
        for new in turn.steps
    ]


class PortableLeases:
    """Claims, renewals and outcomes in a few Core statements per transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(
        self, run_id: str, seq: int, owner: str, lease_s: float, window: int = 0
    ) -> ClaimOutcome:
        """Take the lease on a step that is pending or whose lease lapsed.

        Args:
            run_id: the run.
            seq: the step.
            owner: who takes the lease.
            lease_s: the lease's length.
            window: how many earlier steps of the run to return with a successful claim.

        Returns:
            :class:`Claimed` when the caller must run the step, :class:`Done` when it already
            has an outcome, :class:`Busy` when another worker's lease is live.
        """
        now = utcnow()
        with write(self.engine) as connection:
            claimed = connection.execute(
                update(Step)
                .where(
                    Step.run_id == run_id,
                    Step.seq == seq,
                    or_(
                        Step.status == StepStatus.PENDING,
                        and_(Step.status == StepStatus.RUNNING, Step.lease_expires_at < now),
                    ),
                )
                .values(
                    status=StepStatus.RUNNING,
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_s),
                    attempt=Step.attempt + 1,
                    started_at=now,
                )
                .returning(*Step.__table__.columns)
            ).first()
            if claimed is None:
                found = connection.execute(
                    select(Step).where(Step.run_id == run_id, Step.seq == seq)
                ).first()
                if found is None:
                    raise JournalError(f"run {run_id} has no step {seq}; was it deleted?")
                return not_claimed(StepRecord.of(found), now)
            if seq == 1:
                connection.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
                    .values(status=RunStatus.RUNNING, updated_at=now)
                )
            run = connection.execute(select(Run).where(Run.id == run_id)).one()
            return Claimed(
                step=StepRecord.of(claimed),
                run=RunRecord.of(run),
                window=tuple(read_window(connection, run_id, seq, window)),
            )

    def renew(self, run_id: str, seq: int, owner: str, lease_s: float) -> bool:
        """Extend a lease the caller holds; False when it was lost."""
        now = utcnow()
        with write(self.engine) as connection:
            result = connection.execute(
                update(Step)
                .where(
                    Step.run_id == run_id,
                    Step.seq == seq,
                    Step.lease_owner == owner,
                    Step.status == StepStatus.RUNNING,
                )
                .values(lease_expires_at=now + timedelta(seconds=lease_s))
            )
        return int(result.rowcount) == 1

    def release(self, run_id: str, seq: int, owner: str) -> None:
        """Give a claimed step back unrun; the claim does not count as an attempt."""
        with write(self.engine) as connection:
            connection.execute(
                update(Step)
                .where(Step.run_id == run_id, Step.seq == seq, Step.lease_owner == owner)
                .values(
                    status=StepStatus.PENDING,
                    lease_owner=None,
                    lease_expires_at=None,
                    attempt=Step.attempt - 1,
                    started_at=None,
                )
            )

    def complete_step(self, run_id: str, seq: int, owner: str, outcome: StepOutcome) -> None:
        """Record a tool or approval step's outcome, if the caller still holds its lease.

        Raises:
            LeaseLost: another worker took the step over; nothing was recorded.
        """
        with write(self.engine) as connection:
            _finish_leased(connection, run_id, seq, owner, outcome, utcnow())

    def park(self, run_id: str, seq: int, owner: str) -> None:
        """Park an approval step and its run until a person decides; no worker waits.

        Raises:
            LeaseLost: another worker took the step over; nothing was recorded.
        """
        now = utcnow()
        with write(self.engine) as connection:
            _finish_leased(
                connection, run_id, seq, owner, StepOutcome(StepStatus.WAITING, None), now
            )
            connection.execute(
                update(Run)
                .where(Run.id == run_id, Run.status.in_(_LIVE_RUN))
                .values(status=RunStatus.WAITING_FOR_APPROVAL, updated_at=now)
            )

    def complete_turn(self, run_id: str, seq: int, owner: str, turn: TurnResult) -> None:
        """Record an LLM answer and, in the same transaction, the steps it asks for and the
        run's new counters (and its answer, when final).

        Raises:
            LeaseLost: another worker took the step over; nothing was recorded.
        """
        now = utcnow()
        with write(self.engine) as connection:
            _finish_leased(
                connection,
                run_id,
                seq,
                owner,
                StepOutcome(StepStatus.SUCCEEDED, turn.result),
                now,
                turn=turn,
            )
            rows = step_rows(turn, run_id, now)
            if rows:
                connection.execute(insert(Step), rows)
            values: dict[str, Any] = {
                "next_seq": turn.next_seq,
                "turns": Run.turns + 1,
                "tool_error_streak": turn.tool_error_streak,
                "input_tokens": Run.input_tokens + turn.input_tokens,
                "output_tokens": Run.output_tokens + turn.output_tokens,
                "updated_at": now,
            }
            if turn.cost_usd is None:
                values["cost_usd"] = None
            else:
                values["cost_usd"] = Run.cost_usd + turn.cost_usd
            connection.execute(update(Run).where(Run.id == run_id).values(**values))
            if turn.final_answer is not None:
                connection.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.status.not_in(TERMINAL))
                    .values(status=RunStatus.SUCCEEDED, output=turn.final_answer, finished_at=now)
                )


def _finish_leased(  # noqa: PLR0917  (the step's key, its holder and what it records)
    connection: Connection,
    run_id: str,
    seq: int,
    owner: str,
    outcome: StepOutcome,
    now: datetime,
    turn: TurnResult | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": outcome.status,
        "result": encode(outcome.result),
        "error": outcome.error,
        "finished_at": None if outcome.status == StepStatus.WAITING else now,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if turn is not None:
        values |= {
            "input_tokens": turn.input_tokens,
            "output_tokens": turn.output_tokens,
            "cost_usd": turn.cost_usd,
            "model": turn.model,
            "deployment": turn.deployment,
            "requested_model": turn.requested_model,
            "request_hash": turn.request_hash,
        }
    result = connection.execute(
        update(Step)
        .where(
            Step.run_id == run_id,
            Step.seq == seq,
            Step.lease_owner == owner,
            Step.status == StepStatus.RUNNING,
        )
        .values(**values)
    )
    if result.rowcount != 1:
        raise LeaseLost(f"run {run_id} step {seq}: lease lost by {owner}; outcome dropped")
