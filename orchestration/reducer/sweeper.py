"""The sweeper: finds live runs that stopped moving and re-drives them from the journal.

A run stops moving when a worker died holding a step (its lease lapses: found at the next sweep),
when a re-drive went to a worker that died before claiming the step (still unclaimed a sweep
interval later: sent again, the gap doubling), or when a message was lost (queued work and no
activity for ``stale_after_seconds``). Re-driving enqueues what the journal says is next; the
steps' leases make a duplicate enqueue harmless, and ``mark_redriven`` (which also hands the
lapsed leases back) makes sweepers racing on one run re-drive it once. Beat runs it in its own
process, and so does every worker (at start and every sweep interval).
"""

from __future__ import annotations

from orchestration.reducer._recovery import redrive_plan
from orchestration.reducer.planning import Dispatch, QueueHorizon
from orchestration.runtime import Runtime

__all__ = ["sweep"]


def sweep(rt: Runtime, limit: int = 100, horizon: QueueHorizon | None = None) -> list[Dispatch]:
    """Claim the re-drive of each stuck run and return what to enqueue for it.

    ``horizon`` is how far the broker's queues have moved (None: unknown); a run whose message
    may still wait in them is left to it.
    """
    plans: list[Dispatch] = []
    settings = rt.settings.journal
    # The window only has to outlast a race between sweepers: after a re-drive nothing of the
    # run looks lapsed, and an idle run counts the re-drive as activity.
    window = min(settings.stale_after_seconds, settings.sweep_interval_seconds)
    # A re-drive goes ahead of routine work, so the next free slot takes it; one still unclaimed
    # a sweep interval later went to a worker that died, and is sent again (the gap doubling
    # up to the stale limit, past which the idle rule takes over).
    retake = settings.sweep_interval_seconds
    stale = rt.journal.stale_runs(
        settings.stale_after_seconds,
        limit=limit,
        moved_past=horizon.every if horizon else None,
        redrives_moved_past=horizon.recovery if horizon else None,
    )
    for run_id in stale:
        if not rt.journal.mark_redriven(
            run_id,
            not_within_s=window,
            retake_s=retake,
            max_retake_s=settings.stale_after_seconds,
        ):
            continue
        plan = redrive_plan(rt, run_id)
        if plan is not None and not plan.empty:
            plans.append(plan)
    # Approvals left waiting past their tool's approval_timeout follow its policy.
    from orchestration.reducer._approval_timeouts import expire_approvals

    return plans + expire_approvals(rt)
