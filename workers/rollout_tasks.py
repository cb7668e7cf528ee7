"""The rollout check on the admin queue: Beat runs it every ``CHORDLINE_ROLLOUT_CHECK_SECONDS``."""

from __future__ import annotations

from typing import Any

from orchestration.config import current_settings
from orchestration.journal import open_journal
from orchestration.rollouts import check_all
from workers.app import app

__all__ = ["rollout_check"]


@app.task(name="chordline.admin.rollout_check")
def rollout_check() -> list[dict[str, Any]]:
    """Check every active canary rollout once; roll back, advance or hold each."""
    settings = current_settings()
    results = check_all(settings.rollouts, open_journal(settings.journal_url))
    return [
        {
            "rollout": r.rollout.id,
            "agent": r.rollout.agent,
            "variant": r.rollout.variant,
            "decision": r.decision.kind,
            "percent": r.rollout.percent,
            "reason": r.decision.reason,
        }
        for r in results
    ]
