"""Approvals: the steps that wait for a person, and the decisions that wake their runs."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from orchestration.errors import ApprovalError
from orchestration.journal.engine import write
from orchestration.journal.records import ApprovalDecision, RunRecord, StepRecord
from orchestration.journal.runs import get_run
from orchestration.journal.tables import Run, RunStatus, Step, StepKind, StepStatus, utcnow

__all__ = ["decide_approval", "waiting_approvals"]


def decide_approval(
    engine: Engine, run_id: str, seq: int, decision: ApprovalDecision, tenant: str | None = None
) -> RunRecord:
    """Record a person's decision on a waiting approval step and wake its run.

    Raises:
        ApprovalError: the step is not an approval waiting for a decision.
        RunNotFound: no such run for that tenant.
    """
    run = get_run(engine, run_id, tenant)
    now = utcnow()
    with write(engine) as connection:
        decided = connection.execute(
            update(Step)
            .where(
                Step.run_id == run_id,
                Step.seq == seq,
                Step.kind == StepKind.APPROVAL,
                Step.status == StepStatus.WAITING,
            )
            .values(status=StepStatus.SUCCEEDED, result=decision.as_result(), finished_at=now)
        )
        if decided.rowcount != 1:
            raise ApprovalError(
                f"run {run.id} step {seq} is not waiting for approval. Fix: check "
                f"`chordline status {run.id}` for the step that waits."
            )
        connection.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == RunStatus.WAITING_FOR_APPROVAL)
            .values(status=RunStatus.RUNNING, updated_at=now)
        )
    return get_run(engine, run_id)


def waiting_approvals(engine: Engine, run_id: str) -> list[StepRecord]:
    """The approval steps of a run that wait for a person."""
    query = select(Step).where(
        Step.run_id == run_id,
        Step.kind == StepKind.APPROVAL,
        Step.status == StepStatus.WAITING,
    )
    with engine.connect() as connection:
        return [StepRecord.of(row) for row in connection.execute(query)]
