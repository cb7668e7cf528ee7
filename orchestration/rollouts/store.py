"""The rollouts tables: starting a rollout, moving it between stages, its events, run variants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from orchestration.errors import RolloutError
from orchestration.journal.engine import write
from orchestration.journal.subsystem_tables import Rollout, RolloutEvent, RunVariant
from orchestration.journal.tables import utcnow
from orchestration.rollouts.plan import RolloutEvent as EventRecord
from orchestration.rollouts.plan import RolloutPlan, RolloutRecord, RolloutStatus

__all__ = [
    "Assignment",
    "active_agents",
    "active_rollout",
    "add_event",
    "assign",
    "events",
    "latest_rollout",
    "move",
    "routing_rollout",
    "start_rollout",
]


def start_rollout(
    engine: Engine, plan: RolloutPlan, variant_version: str, now: datetime
) -> RolloutRecord:
    """Record a new rollout at its first stage.

    Raises:
        RolloutError: the agent has an active rollout already.
    """
    current = active_rollout(engine, plan.agent)
    if current is not None:
        raise RolloutError(
            f"{plan.agent} has an active rollout of {current.variant} at {current.percent}% "
            f"(id {current.id}). Fix: `chordline rollout stop {plan.agent}` first."
        )
    rollout_id = str(uuid.uuid4())
    reason = f"started at {plan.steps[0]}%"
    with write(engine) as connection:
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
    found = latest_rollout(engine, plan.agent)
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


def active_rollout(engine: Engine, agent: str) -> RolloutRecord | None:
    """The agent's active rollout, if any (at most one is active at a time)."""
    query = select(Rollout).where(Rollout.agent == agent, Rollout.status == RolloutStatus.ACTIVE)
    with engine.connect() as connection:
        row = connection.execute(query.order_by(Rollout.created_at.desc())).first()
    return None if row is None else RolloutRecord.of(row)


def routing_rollout(engine: Engine, agent: str) -> RolloutRecord | None:
    """The rollout that routes the agent's new runs: its newest one, when active or completed
    (a completed rollout keeps its variant at its final percentage until the code changes)."""
    query = (
        select(Rollout).where(Rollout.agent == agent).order_by(Rollout.created_at.desc()).limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None or row.status not in (RolloutStatus.ACTIVE, RolloutStatus.COMPLETED):
        return None
    return RolloutRecord.of(row)


def latest_rollout(engine: Engine, agent: str) -> RolloutRecord | None:
    """The agent's newest rollout, whatever its status."""
    query = select(Rollout).where(Rollout.agent == agent).order_by(Rollout.created_at.desc())
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else RolloutRecord.of(row)


def active_agents(engine: Engine) -> list[str]:
    """The agents with an active rollout."""
    query = select(Rollout.agent).where(Rollout.status == RolloutStatus.ACTIVE).distinct()
    with engine.connect() as connection:
        return sorted(str(row.agent) for row in connection.execute(query))


def move(
    engine: Engine,
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
    with write(engine) as connection:
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


def add_event(engine: Engine, rollout: RolloutRecord, event: EventRecord) -> None:
    """Record an event that moves nothing (a check that held the stage)."""
    with write(engine) as connection:
        connection.execute(_event(rollout.id, event))


def events(engine: Engine, rollout_id: str, limit: int = 20) -> list[EventRecord]:
    """The rollout's newest events first."""
    query = (
        select(RolloutEvent)
        .where(RolloutEvent.rollout_id == rollout_id)
        .order_by(RolloutEvent.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [EventRecord.of(row) for row in connection.execute(query)]


@dataclass(frozen=True)
class Assignment:
    """Which variant serves a run, and the rollout stage that routed it (None outside one)."""

    variant: str
    rollout_id: str | None = None
    stage: int | None = None


def assign(
    engine: Engine, run_id: str, agent: str, version: str, assignment: Assignment
) -> Assignment:
    """Record which variant serves ``run_id``; a run assigned already keeps its first one
    (a redelivered submit must not switch sides)."""
    try:
        with write(engine) as connection:
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
        with engine.connect() as connection:
            row = connection.execute(select(RunVariant).where(RunVariant.run_id == run_id)).one()
        return Assignment(row.variant, row.rollout_id, row.stage)
    return assignment
