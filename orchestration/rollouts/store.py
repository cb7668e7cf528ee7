"""The rollouts' SQL: starting a rollout, moving it between stages, its events, run variants,
the runs each stage routed, and the eval figures a check compares.

The only module of the rollouts that speaks SQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, String, column, insert, inspect, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import DateTime

from orchestration.errors import RolloutError
from orchestration.journal.engine import write
from orchestration.journal.tables import Run, RunStatus, utcnow
from orchestration.rollouts.plan import RolloutEvent as EventRecord
from orchestration.rollouts.plan import RolloutPlan, RolloutRecord, RolloutStatus
from orchestration.rollouts.tables import Rollout, RolloutEvent, RunVariant

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = [
    "Assignment",
    "StageRun",
    "active_agents",
    "active_rollout",
    "add_event",
    "assign",
    "events",
    "latest_eval_metrics",
    "latest_rollout",
    "move",
    "routing_rollout",
    "stage_runs",
    "start_rollout",
]


def start_rollout(
    journal: Journal, plan: RolloutPlan, variant_version: str, now: datetime
) -> RolloutRecord:
    """Record a new rollout at its first stage.

    Raises:
        RolloutError: the agent has an active rollout already.
    """
    current = active_rollout(journal, plan.agent)
    if current is not None:
        raise RolloutError(
            f"{plan.agent} has an active rollout of {current.variant} at {current.percent}% "
            f"(id {current.id}). Fix: `chordline rollout stop {plan.agent}` first."
        )
    rollout_id = str(uuid.uuid4())
    reason = f"started at {plan.steps[0]}%"
    with write(journal.engine) as connection:
        connection.execute(
            insert(Rollout).values(
                id=rollout_id,
                agent=plan.agent,
                variant=plan.variant,
                variant_version=variant_version,
                status=RolloutStatus.ACTIVE,
                steps=list(plan.steps),
                stage=0,
                percent=plan.steps[0],
                min_runs=plan.min_runs,
                dwell_seconds=plan.dwell_seconds,
                sticky=plan.sticky,
                thresholds=plan.thresholds.to_json(),
                reason=reason,
                stage_started_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        started = EventRecord("start", 0, plan.steps[0], reason, False, now)
        connection.execute(_event(rollout_id, started))
    found = latest_rollout(journal, plan.agent)
    if found is None:  # pragma: no cover - just written in this transaction
        raise RolloutError(f"rollout {rollout_id} vanished")
    return found


def _event(rollout_id: str, event: EventRecord) -> Any:
    return insert(RolloutEvent).values(
        rollout_id=rollout_id,
        kind=event.kind,
        stage=event.stage,
        percent=event.percent,
        reason=event.reason,
        metrics=event.metrics,
        alert=event.alert,
        at=event.at,
    )


def active_rollout(journal: Journal, agent: str) -> RolloutRecord | None:
    """The agent's active rollout, if any (at most one is active at a time)."""
    query = select(Rollout).where(Rollout.agent == agent, Rollout.status == RolloutStatus.ACTIVE)
    with journal.engine.connect() as connection:
        row = connection.execute(query.order_by(Rollout.created_at.desc())).first()
    return None if row is None else RolloutRecord.of(row)


def routing_rollout(journal: Journal, agent: str) -> RolloutRecord | None:
    """The rollout that routes the agent's new runs: its newest one, when active or completed
    (a completed rollout keeps its variant at its final percentage until the code changes)."""
    query = (
        select(Rollout).where(Rollout.agent == agent).order_by(Rollout.created_at.desc()).limit(1)
    )
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None or row.status not in (RolloutStatus.ACTIVE, RolloutStatus.COMPLETED):
        return None
    return RolloutRecord.of(row)


def latest_rollout(journal: Journal, agent: str) -> RolloutRecord | None:
    """The agent's newest rollout, whatever its status."""
    query = select(Rollout).where(Rollout.agent == agent).order_by(Rollout.created_at.desc())
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else RolloutRecord.of(row)


def active_agents(journal: Journal) -> list[str]:
    """The agents with an active rollout."""
    query = select(Rollout.agent).where(Rollout.status == RolloutStatus.ACTIVE).distinct()
    with journal.engine.connect() as connection:
        return sorted(str(row.agent) for row in connection.execute(query))


def move(
    journal: Journal,
    rollout: RolloutRecord,
    *,
    kind: str,
    status: RolloutStatus,
    stage: int,
    percent: int,
    reason: str,
    now: datetime,
    metrics: dict[str, Any] | None = None,
    alert: bool = False,
) -> bool:
    """Move an active rollout to ``stage``/``percent``/``status`` with its event, in one
    transaction; False when it was no longer at the stage the caller read (another checker
    moved it first)."""
    with write(journal.engine) as connection:
        result = connection.execute(
            update(Rollout)
            .where(
                Rollout.id == rollout.id,
                Rollout.status == RolloutStatus.ACTIVE,
                Rollout.stage == rollout.stage,
            )
            .values(
                status=status,
                stage=stage,
                percent=percent,
                reason=reason,
                stage_started_at=now if stage != rollout.stage else rollout.stage_started_at,
                updated_at=now,
            )
        )
        if int(result.rowcount) != 1:
            return False
        event = EventRecord(kind, stage, percent, reason, alert, now, metrics)
        connection.execute(_event(rollout.id, event))
    return True


def add_event(journal: Journal, rollout: RolloutRecord, event: EventRecord) -> None:
    """Record an event that moves nothing (a check that held the stage)."""
    with write(journal.engine) as connection:
        connection.execute(_event(rollout.id, event))


def events(journal: Journal, rollout_id: str, limit: int = 20) -> list[EventRecord]:
    """The rollout's newest events first."""
    query = (
        select(RolloutEvent)
        .where(RolloutEvent.rollout_id == rollout_id)
        .order_by(RolloutEvent.id.desc())
        .limit(limit)
    )
    with journal.engine.connect() as connection:
        return [EventRecord.of(row) for row in connection.execute(query)]


@dataclass(frozen=True)
class Assignment:
    """Which variant serves a run, and the rollout stage that routed it (None outside one)."""

    variant: str
    rollout_id: str | None = None
    stage: int | None = None


def assign(
    journal: Journal, run_id: str, agent: str, version: str, assignment: Assignment
) -> Assignment:
    """Record which variant serves ``run_id``; a run assigned already keeps its first one
    (a redelivered submit must not switch sides)."""
    try:
        with write(journal.engine) as connection:
            connection.execute(
                insert(RunVariant).values(
                    run_id=run_id,
                    agent=agent,
                    variant=assignment.variant,
                    agent_version=version,
                    rollout_id=assignment.rollout_id,
                    stage=assignment.stage,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        with journal.engine.connect() as connection:
            row = connection.execute(select(RunVariant).where(RunVariant.run_id == run_id)).one()
        return Assignment(row.variant, row.rollout_id, row.stage)
    return assignment


# -- what a check measures ------------------------------------------------------------------


@dataclass(frozen=True)
class StageRun:
    """A run a rollout routed at one stage: its side, version, status, times and cost."""

    variant: str
    agent_version: str
    status: RunStatus
    created_at: datetime
    finished_at: datetime | None
    cost_usd: Decimal | None


def stage_runs(journal: Journal, rollout_id: str, stage: int) -> list[StageRun]:
    """The runs the rollout routed while at ``stage``, in the order they were routed."""
    query = (
        select(
            RunVariant.variant,
            RunVariant.agent_version,
            Run.status,
            Run.created_at,
            Run.finished_at,
            Run.cost_usd,
        )
        .join(Run, Run.id == RunVariant.run_id)
        .where(RunVariant.rollout_id == rollout_id, RunVariant.stage == stage)
        .order_by(RunVariant.created_at)
    )
    with journal.engine.connect() as connection:
        return [
            StageRun(
                row.variant,
                row.agent_version,
                RunStatus(row.status),
                row.created_at,
                row.finished_at,
                row.cost_usd,
            )
            for row in connection.execute(query)
        ]


# The eval job's table, named here rather than imported: the rollouts read one column of it
# and need nothing else of the evals.
_EVAL_RESULTS = table(
    "eval_results",
    column("agent", String),
    column("agent_version", String),
    column("metrics", JSON),
    column("created_at", DateTime(timezone=True)),
)


def latest_eval_metrics(journal: Journal, agent: str, version: str) -> Any:
    """The metrics of the newest eval of ``agent`` at ``version`` (None: no such eval, or no
    ``eval_results`` table in this database)."""
    if not inspect(journal.engine).has_table("eval_results"):
        return None
    query = (
        select(_EVAL_RESULTS.c.metrics)
        .where(_EVAL_RESULTS.c.agent == agent, _EVAL_RESULTS.c.agent_version == version)
        .order_by(_EVAL_RESULTS.c.created_at.desc())
        .limit(1)
    )
    with journal.engine.connect() as connection:
        return connection.execute(query).scalar()
