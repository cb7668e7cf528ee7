"""The workflow sweeper: finds workflow runs whose children all ended but which did not move."""

from __future__ import annotations

from orchestration.runtime import Runtime
from orchestration.workflows import store

__all__ = ["stuck_workflows"]


def stuck_workflows(rt: Runtime, limit: int = 100) -> list[str]:
    """Claim the re-drive of each stuck workflow run; returns the ids to advance.

    A workflow is stuck when no child of it is live and nothing moved it for
    ``CHORDLINE_STALE_AFTER_SECONDS``: the wake-up of its last child was lost. Sweepers racing
    on one workflow take its re-drive once (the same conditional update as agent runs).
    """
    settings = rt.settings.journal
    window = min(settings.stale_after_seconds, settings.sweep_interval_seconds)
    found = store.stale_workflows(rt.journal, settings.stale_after_seconds, limit)
    retake = settings.sweep_interval_seconds
    return [
        run_id
        for run_id in found
        if rt.journal.mark_redriven(
            run_id,
            not_within_s=window,
            retake_s=retake,
            max_retake_s=settings.stale_after_seconds,
        )
    ]
