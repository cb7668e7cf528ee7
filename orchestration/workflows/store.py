"""A workflow run in the journal: the parent row, its children, their totals, and recovery.

The parent is a row of ``runs`` with ``kind = 'workflow'`` and no steps; its children are
ordinary agent runs whose ``parent_id`` names it and whose ``stage`` is their place in the
definition. This module is the only one of the workflows that speaks SQL.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from orchestration.budgets import Totals
from orchestration.journal.engine import write
from orchestration.journal.records import RunRecord
from orchestration.journal.runs import TERMINAL
from orchestration.journal.tables import Run, RunKind, RunStatus, utcnow
from orchestration.workflows._dsl import Workflow
from orchestration.workflows._plan import ChildState, Finish

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = [
    "cancel_children",
    "child_runs",
    "children",
    "create_workflow_run",
    "finish_workflow",
    "mark_moving",
    "stale_workflows",
    "totals",
]

_LIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value, RunStatus.WAITING_FOR_APPROVAL.value)


def create_workflow_run(
    journal: Journal,
    *,
    run_id: str,
    tenant: str,
    workflow: Workflow,
    text: str,
    session: str | None,
    max_steps: int,
    max_tokens: int | None,
    max_usd: Decimal | None,
) -> RunRecord:
    """Record a workflow's parent run (no steps: its children do the work). Idempotent."""
    now = utcnow()
    try:
        with write(journal.engine) as connection:
            connection.execute(
                insert(Run).values(
                    id=run_id,
                    tenant=tenant,
                    agent=workflow.name,
                    agent_version=workflow.version,
                    prompt_hash=workflow.version,
                    model="workflow",
                    tool_schemas_hash="",
                    status=RunStatus.QUEUED,
                    input=text,
                    next_seq=1,
                    turns=0,
                    tool_error_streak=0,
                    max_steps=max_steps,
                    max_tokens=max_tokens,
                    max_usd=max_usd,
                    input_tokens=0,
                    output_tokens=0,
                    cost_usd=Decimal(0),
                    created_at=now,
                    updated_at=now,
                    kind=RunKind.WORKFLOW,
                    session=session,
                )
            )
    except IntegrityError:
        pass  # a redelivered submit
    return journal.get_run(run_id)


def child_runs(journal: Journal, parent_id: str) -> list[RunRecord]:
    """A workflow's child runs, oldest first."""
    query = select(Run).where(Run.parent_id == parent_id).order_by(Run.created_at, Run.stage)
    with journal.engine.connect() as connection:
        return [RunRecord.of(row) for row in connection.execute(query)]


def children(journal: Journal, parent_id: str) -> dict[str, ChildState]:
    """A workflow's children by stage, as the planner reads them."""
    query = select(Run.id, Run.stage, Run.status, Run.output, Run.error).where(
        Run.parent_id == parent_id
    )
    with journal.engine.connect() as connection:
        return {
            row.stage: ChildState(row.stage, row.id, RunStatus(row.status), row.output, row.error)
            for row in connection.execute(query)
            if row.stage
        }


def totals(journal: Journal, parent_id: str) -> Totals:
    """Steps, tokens and dollars of all the workflow's children together."""
    query = select(
        func.coalesce(func.sum(Run.next_seq - 1), 0),
        func.coalesce(func.sum(Run.input_tokens), 0),
        func.coalesce(func.sum(Run.output_tokens), 0),
        func.coalesce(func.sum(Run.cost_usd), 0),
    ).where(Run.parent_id == parent_id)
    with journal.engine.connect() as connection:
        steps, tokens_in, tokens_out, cost = connection.execute(query).one()
    return Totals(int(steps), int(tokens_in), int(tokens_out), Decimal(cost or 0))


def mark_moving(journal: Journal, parent_id: str) -> None:
    """Record that the workflow moved (queued becomes running); the sweeper counts it."""
    now = utcnow()
    with write(journal.engine) as connection:
        connection.execute(
            update(Run)
            .where(Run.id == parent_id, Run.status.not_in(TERMINAL))
            .values(status=RunStatus.RUNNING, updated_at=now)
        )


def finish_workflow(journal: Journal, parent_id: str, finish: Finish, spent: Totals) -> bool:
    """End a live workflow run with its children's totals; False when it had ended."""
    now = utcnow()
    with write(journal.engine) as connection:
        result = connection.execute(
            update(Run)
            .where(Run.id == parent_id, Run.status.not_in(TERMINAL))
            .values(
                status=finish.status,
                output=finish.output,
                error=finish.error,
                input_tokens=spent.input_tokens,
                output_tokens=spent.output_tokens,
                cost_usd=spent.cost_usd,
                next_seq=spent.steps + 1,
                finished_at=now,
                updated_at=now,
            )
        )
    return int(result.rowcount) == 1


def cancel_children(journal: Journal, parent_id: str, reason: str) -> int:
    """Cancel the workflow's children that have not ended; returns how many."""
    now = utcnow()
    with write(journal.engine) as connection:
        result = connection.execute(
            update(Run)
            .where(Run.parent_id == parent_id, Run.status.in_(_LIVE))
            .values(status=RunStatus.CANCELLED, error=reason, finished_at=now, updated_at=now)
        )
    return int(result.rowcount)


def stale_workflows(journal: Journal, stale_after_s: float, limit: int = 100) -> list[str]:
    """Live workflow runs none of whose children is live and which did not move for
    ``stale_after_s``: a child's wake-up was lost (its worker died between recording the
    child's end and enqueuing the advance) or the first advance never ran."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    child = aliased(Run)
    live_child = exists().where(child.parent_id == Run.id, child.status.in_(_LIVE))
    query = (
        select(Run.id)
        .where(
            Run.kind == RunKind.WORKFLOW,
            Run.status.in_((RunStatus.QUEUED.value, RunStatus.RUNNING.value)),
            Run.updated_at < cutoff,
            or_(Run.redriven_at.is_(None), Run.redriven_at < cutoff),
            ~live_child,
        )
        .order_by(Run.updated_at)
        .limit(limit)
    )
    with journal.engine.connect() as connection:
        return [row[0] for row in connection.execute(query)]
