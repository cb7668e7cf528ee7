"""Approvals as the journal holds them: each one decided on its own, the decision a typed record.

An approval is an approval step; its id is ``<run_id>.<seq>``. Every approval a turn asks for
waits at once and is decided independently; the decision that leaves none undecided wakes the
run, in the same transaction that records it (the run's row is locked first, so two decisions
racing on one run cannot both think the other is still open).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, Engine, Row, func, select, update

from orchestration.errors import ApprovalConflict, ApprovalNotFound
from orchestration.journal.payloads import ApprovalDecision, decode, encode
from orchestration.journal.records import StepRecord
from orchestration.journal.tables import Run, RunStatus, Step, StepKind, StepStatus, utcnow

__all__ = [
    "ApprovalDecision",
    "ApprovalView",
    "Decided",
    "approval_id",
    "fail_waiting",
    "get_approval",
    "list_approvals",
    "parse_approval_id",
    "record_decision",
    "waiting_approvals",
    "waiting_since",
]


class _Journaled(Protocol):
    """What these functions read of the journal facade (which imports this module)."""

    @property
    def engine(self) -> Engine:
        """The journal's engine."""
        ...


ApprovalState = Literal["pending", "approved", "rejected", "expired", "closed"]


@dataclass(frozen=True)
class ApprovalView:
    """One approval: the call waiting (or that waited) for a person, and its decision."""

    id: str
    run_id: str
    seq: int
    tenant: str
    tool: str
    arguments: str | None
    state: ApprovalState
    run_status: RunStatus
    requested_at: datetime
    decision: ApprovalDecision | None


@dataclass(frozen=True)
class Decided:
    """What recording a decision did: the approval now, and whether the run moves on."""

    approval: ApprovalView
    resumed: bool


def approval_id(run_id: str, seq: int) -> str:
    """The public id of the approval step ``seq`` of ``run_id``."""
    return f"{run_id}.{seq}"


def parse_approval_id(value: str) -> tuple[str, int]:
    """Split an approval id into run id and seq.

    Raises:
        ApprovalNotFound: not an approval id.
    """
    run_id, _, seq = value.rpartition(".")
    if not run_id or not seq.isdigit() or len(seq) > 9:
        raise ApprovalNotFound(
            f"no approval {value!r}. Fix: list approvals with `chordline approvals` or "
            "GET /v1/approvals; an id looks like <run_id>.<seq>."
        )
    return run_id, int(seq)


def _state(row: Row[Any]) -> ApprovalState:
    status = StepStatus(row.status)
    if status in (StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING):
        return "closed" if RunStatus(row.run_status).terminal else "pending"
    if status == StepStatus.FAILED:
        return "expired"
    if status == StepStatus.SKIPPED or not row.result:
        return "closed"
    decision = _decision(row.result)
    return "approved" if decision.approved else "rejected"


def _decision(result: dict[str, Any] | None) -> ApprovalDecision:
    return ApprovalDecision.of(decode(StepKind.APPROVAL, result))


def _view(row: Row[Any]) -> ApprovalView:
    decided = StepStatus(row.status) == StepStatus.SUCCEEDED and row.result
    return ApprovalView(
        id=approval_id(row.run_id, row.seq),
        run_id=row.run_id,
        seq=row.seq,
        tenant=row.tenant,
        tool=row.name,
        arguments=row.arguments,
        state=_state(row),
        run_status=RunStatus(row.run_status),
        requested_at=row.started_at or row.created_at,
        decision=_decision(row.result) if decided else None,
    )


def _query() -> Any:
    return (
        select(
            Step.run_id,
            Step.seq,
            Step.name,
            Step.arguments,
            Step.status,
            Step.result,
            Step.created_at,
            Step.started_at,
            Run.tenant,
            Run.status.label("run_status"),
        )
        .join(Run, Run.id == Step.run_id)
        .where(Step.kind == StepKind.APPROVAL)
    )


def list_approvals(
    journal: _Journaled,
    *,
    tenant: str | None,
    state: ApprovalState | None = "pending",
    run_id: str | None = None,
    limit: int = 100,
) -> list[ApprovalView]:
    """Approvals, oldest first: by default those waiting for a decision on live runs.

    Args:
        journal: the journal.
        tenant: only this tenant's (None: every tenant's; the CLI's operator view).
        state: only approvals in this state (None: any).
        run_id: only this run's.
        limit: at most this many.
    """
    query = _query().order_by(Step.created_at, Step.run_id, Step.seq)
    if tenant is not None:
        query = query.where(Run.tenant == tenant)
    if run_id is not None:
        query = query.where(Step.run_id == run_id)
    if state == "pending":
        query = query.where(
            Step.status == StepStatus.WAITING,
            Run.status.not_in([s.value for s in RunStatus if s.terminal]),
        )
    with journal.engine.connect() as connection:
        rows = connection.execute(query.limit(limit if state in (None, "pending") else 10_000))
        views = [_view(row) for row in rows]
    if state not in (None, "pending"):
        views = [v for v in views if v.state == state][:limit]
    return views


def get_approval(journal: _Journaled, value: str, tenant: str | None) -> ApprovalView:
    """One approval by id, only if it belongs to ``tenant`` when one is given.

    Raises:
        ApprovalNotFound: no such approval for that tenant (the same answer either way).
    """
    run_id, seq = parse_approval_id(value)
    query = _query().where(Step.run_id == run_id, Step.seq == seq)
    if tenant is not None:
        query = query.where(Run.tenant == tenant)
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        raise ApprovalNotFound(
            f"no approval {value!r}. Fix: list approvals with `chordline approvals` or "
            "GET /v1/approvals."
        )
    return _view(row)


def _lock_run(connection: Connection, run_id: str) -> Row[Any] | None:
    query: Any = select(Run.id, Run.tenant, Run.status).where(Run.id == run_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row: Row[Any] | None = connection.execute(query).first()
    return row


def record_decision(
    journal: _Journaled, value: str, decision: ApprovalDecision, tenant: str | None
) -> Decided:
    """Record a decision on one approval; wake the run when it was the last one undecided.

    Args:
        journal: the journal.
        value: the approval id.
        decision: the decision.
        tenant: when given, the approval's run must belong to it.

    Raises:
        ApprovalNotFound: no such approval for that tenant.
        ApprovalConflict: decided already (carrying the first decision), its run has ended, or
            it is not waiting yet.
    """
    run_id, seq = parse_approval_id(value)
    now = utcnow()
    with journal.engine.execution_options(chordline_writes=True).begin() as connection:
        run = _lock_run(connection, run_id)
        if run is None or (tenant is not None and run.tenant != tenant):
            raise ApprovalNotFound(f"no approval {value!r}. Fix: list them with GET /v1/approvals.")
        step = connection.execute(
            select(Step.kind, Step.status, Step.result).where(
                Step.run_id == run_id, Step.seq == seq
            )
        ).first()
        if step is None or step.kind != StepKind.APPROVAL:
            raise ApprovalNotFound(f"no approval {value!r}. Fix: list them with GET /v1/approvals.")
        _refuse_undecidable(value, RunStatus(run.status), StepStatus(step.status), step.result)
        connection.execute(
            update(Step)
            .where(Step.run_id == run_id, Step.seq == seq)
            .values(status=StepStatus.SUCCEEDED, result=encode(decision), finished_at=now)
        )
        undecided = connection.execute(
            select(func.count()).where(
                Step.run_id == run_id,
                Step.kind == StepKind.APPROVAL,
                Step.status.in_([StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING]),
            )
        ).scalar_one()
        if undecided == 0:
            connection.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RunStatus.WAITING_FOR_APPROVAL)
                .values(status=RunStatus.RUNNING, updated_at=now)
            )
    return Decided(get_approval(journal, value, None), resumed=undecided == 0)


def _refuse_undecidable(
    value: str, run_status: RunStatus, status: StepStatus, result: dict[str, Any] | None
) -> None:
    if status == StepStatus.SUCCEEDED and result:
        first = _decision(result)
        verb = "approved" if first.approved else "rejected"
        raise ApprovalConflict(
            f"approval {value} was already {verb} by {first.reviewer or 'someone'}"
            f"{' at ' + first.decided_at.isoformat() if first.decided_at else ''}; a decision "
            "stands once made. Fix: nothing to do (check the run's status).",
            decision=first,
        )
    if run_status.terminal:
        raise ApprovalConflict(
            f"approval {value} can no longer be decided: its run is {run_status.value}. Fix: "
            "nothing runs any more; start a new run if the work is still needed."
        )
    if status.final:
        raise ApprovalConflict(
            f"approval {value} is closed ({status.value}): it timed out or its run moved on."
        )
    if status == StepStatus.RUNNING:
        raise ApprovalConflict(
            f"approval {value} is being parked by a worker right now. Fix: try again in a moment."
        )


def waiting_since(journal: _Journaled, limit: int = 500) -> list[ApprovalView]:
    """Approvals waiting on live runs, every tenant's, oldest first (for the timeout sweep)."""
    return list_approvals(journal, tenant=None, state="pending", limit=limit)


def waiting_approvals(engine: Engine, run_id: str) -> list[StepRecord]:
    """The approval steps of a run that wait for a person."""
    query = select(Step).where(
        Step.run_id == run_id,
        Step.kind == StepKind.APPROVAL,
        Step.status == StepStatus.WAITING,
    )
    with engine.connect() as connection:
        return [StepRecord.of(row) for row in connection.execute(query)]


def fail_waiting(engine: Engine, run_id: str, seq: int, error: str) -> bool:
    """Fail approval step ``seq`` while it still waits (a timeout whose policy fails the run);
    False when it no longer waits (decided, or closed, in the meantime)."""
    with engine.execution_options(chordline_writes=True).begin() as connection:
        closed = connection.execute(
            update(Step)
            .where(Step.run_id == run_id, Step.seq == seq, Step.status == StepStatus.WAITING)
            .values(status=StepStatus.FAILED, error=error, finished_at=utcnow())
        )
    return int(closed.rowcount) == 1
