"""The sweeper: finds live runs that stopped moving and re-drives them from the journal.

A run stops moving when a worker died holding a step (its lease lapses) or when a message was
lost (a step sat pending past ``stale_after_seconds``). Re-driving enqueues what the journal says
is next; the steps' leases make a duplicate enqueue harmless, and ``mark_redriven`` makes two
sweepers racing on one run re-drive it once.
"""

from __future__ import annotations

from orchestration.loop import Dispatch, redrive_plan
from orchestration.runtime import Runtime

__all__ = ["sweep"]


def sweep(rt: Runtime, limit: int = 100) -> list[Dispatch]:
    """Claim the re-drive of each stuck run and return what to enqueue for it."""
    plans: list[Dispatch] = []
    stale_after = rt.settings.stale_after_seconds
    for run_id in rt.journal.stale_runs(stale_after, limit=limit):
        if not rt.journal.mark_redriven(run_id, not_within_s=stale_after):
            continue
        plan = redrive_plan(rt, run_id)
        if plan is not None and not plan.empty:
            plans.append(plan)
    return plans
