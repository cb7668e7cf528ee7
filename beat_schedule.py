"""The Celery Beat schedule: the sweeper on the agents queue, admin jobs on their own queue."""

from __future__ import annotations

from typing import Any

from orchestration.canvas import PRIORITY_RECOVERY
from orchestration.config import current_settings

__all__ = ["schedule"]


def schedule() -> dict[str, dict[str, Any]]:
    """Beat entries, built from the settings."""
    settings = current_settings()
    return {
        "sweep-stuck-runs": {
            "task": "chordline.runs.sweep",
            "schedule": settings.sweep_interval_seconds,
            # Ahead of routine steps (a backlog must not delay recovery), and dropped when stale
            # so that sweeps never pile up while no worker is free.
            "options": {
                "queue": "agents",
                "expires": settings.sweep_interval_seconds,
                "priority": PRIORITY_RECOVERY,
            },
        },
        "check-canary-rollouts": {
            "task": "chordline.admin.rollout_check",
            "schedule": settings.rollout_check_seconds,
            # One check is enough: a later one reads fresher figures.
            "options": {"queue": "admin", "expires": settings.rollout_check_seconds},
        },
    }
