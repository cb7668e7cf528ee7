"""Recovery: finding runs that stopped moving, and taking the re-drive of each."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from orchestration.journal.engine import write
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import Run, RunStatus, Step, StepStatus, utcnow

__all__ = ["mark_redriven", "stale_runs", "unfinished_runs"]

_LIVE_RUN = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


# A re-drive's message is sent just after the run is marked (the sweeper marks, plans, then
# sends); a reading of the queue this much later than the mark tells whether it has left.
_SEND_MARGIN = timedelta(seconds=1)


def stale_runs(
    engine: Engine,
    stale_after_s: float,
    limit: int = 100,
    *,
    moved_past: datetime | None = None,
    redrives_moved_past: datetime | None = None,
) -> list[str]:
    """Live runs that stopped moving, oldest first.

    A run stopped moving when a step's lease lapsed (its worker died: found at once), when a
    re-drive was not taken by its deadline (see :func:`mark_redriven`), or when it has queued
    work, no live lease and nothing happened to it for ``stale_after_s`` (a message was lost:
    the broker was flushed, or a dead worker held it unstarted). Activity
    counts step creation, claims, outcomes and re-drives, so a step that waits for its
    predecessors, or a run just re-driven, is not taken for lost.

    When the caller read how far the broker's queues have moved (``moved_past``: every message
    sent before it has been taken; ``redrives_moved_past``: the same for the re-drive lane), a
    message that may still be waiting is not taken for lost: the idle rule counts from the
    oldest waiting message rather than from now, and a re-drive is sent again only once its
    lane has moved past it. Without a reading (a broker that cannot be read that way) the
    rules count from now.
    """
    now = utcnow()
    reference = now if moved_past is None else min(now, moved_past)
    cutoff = reference - timedelta(seconds=stale_after_s)
    lapsed = and_(Step.status == StepStatus.RUNNING, Step.lease_expires_at < now)
    other = aliased(Step)
    moving = (
        exists()
        .where(
            other.run_id == Step.run_id,
            or_(
                and_(other.status == StepStatus.RUNNING, other.lease_expires_at >= now),
                other.created_at > cutoff,
                other.started_at > cutoff,
                other.finished_at > cutoff,
            ),
        )
        .correlate(Step)
    )
    # A re-drive hands a lapsed lease back with a deadline for the re-drive to be taken; past
    # it the re-drive's message was lost (a worker took it and died before claiming the step).
    lost_redrive = and_(
        Step.status == StepStatus.PENDING,
        Step.lease_expires_at.is_not(None),
        Step.lease_expires_at < now,
    )
    if redrives_moved_past is not None:
        lost_redrive = and_(lost_redrive, Run.redriven_at < redrives_moved_past - _SEND_MARGIN)
    idle = and_(
        Step.status == StepStatus.PENDING,
        Run.updated_at < cutoff,
        or_(Run.redriven_at.is_(None), Run.redriven_at < cutoff),
        ~moving,
    )
    query = (
        select(Step.run_id)
        .join(Run, Run.id == Step.run_id)
        .where(or_(lapsed, lost_redrive, idle), Run.status.in_(_LIVE_RUN))
        .distinct()
        .limit(limit)
    )
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(query)]


def mark_redriven(
    engine: Engine, run_id: str, not_within_s: float, retake_s: float, max_retake_s: float
) -> bool:
    """Take the re-drive of a run unless one happened within ``not_within_s``.

    In the same transaction the run's lapsed leases are handed back (the steps become pending
    again), so a sweeper that looks next finds nothing lapsed. A handed-back step keeps a
    deadline ``retake_s`` ahead in ``lease_expires_at``: a worker that takes the re-drive claims
    the step long before it; one that took it and died leaves the step pending past it, and
    the next sweep re-drives the run again with twice the gap (2, 4, 8 s at the defaults), so
    a run whose re-drives keep landing on dying workers is sent again within seconds while a
    re-drive that waits behind a backlog is repeated only a few times. Once the gap would pass
    ``max_retake_s`` the deadline is cleared and the run falls back to the idle rule's cadence.
    Two sweepers racing on one run both call this; exactly one gets True.

    Returns:
        True when the caller must re-drive the run.
    """
    now = utcnow()
    with write(engine) as connection:
        previous = connection.execute(
            select(Run.redriven_at).where(Run.id == run_id)
        ).scalar_one_or_none()
        result = connection.execute(
            update(Run)
            .where(
                Run.id == run_id,
                or_(
                    Run.redriven_at.is_(None),
                    Run.redriven_at < now - timedelta(seconds=not_within_s),
                ),
            )
            .values(redriven_at=now)
        )
        if result.rowcount != 1:
            return False
        missed = connection.execute(
            select(Step.seq, Step.lease_expires_at).where(
                Step.run_id == run_id,
                Step.status == StepStatus.PENDING,
                Step.lease_expires_at < now,
            )
        ).all()
        for seq, deadline in missed:
            gap = _next_gap(previous, deadline, retake_s, max_retake_s)
            connection.execute(
                update(Step)
                .where(Step.run_id == run_id, Step.seq == seq)
                .values(lease_expires_at=None if gap is None else now + gap)
            )
        connection.execute(
            update(Step)
            .where(
                Step.run_id == run_id,
                Step.status == StepStatus.RUNNING,
                Step.lease_expires_at < now,
            )
            .values(
                status=StepStatus.PENDING,
                lease_owner=None,
                lease_expires_at=now + timedelta(seconds=retake_s),
            )
        )
    return True


def _next_gap(
    redriven_at: datetime | None, deadline: datetime | None, retake_s: float, max_retake_s: float
) -> timedelta | None:
    """The deadline of a re-drive sent again: twice the missed one's gap, None past the cap.

    The missed deadline was set ``gap`` after the re-drive that set it (the run's
    ``redriven_at`` before this one), so the gap is read back from the two times.
    """
    if redriven_at is None or deadline is None:
        return timedelta(seconds=retake_s)
    gap = max(2 * (deadline - redriven_at), timedelta(seconds=retake_s))
    return None if gap > timedelta(seconds=max_retake_s) else gap


def unfinished_runs(engine: Engine, limit: int = 100) -> list[RunRecord]:
    """Runs that have not ended (queued, running or waiting for a person), oldest first."""
    live = [*_LIVE_RUN, RunStatus.WAITING_FOR_APPROVAL.value]
    query = select(Run).where(Run.status.in_(live)).order_by(Run.created_at).limit(limit)
    with engine.connect() as connection:
        return [RunRecord.of(row) for row in connection.execute(query)]
