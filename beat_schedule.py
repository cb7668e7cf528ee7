"""The Celery Beat schedule: the sweeper on the agents queue, admin jobs on their own queue."""

from __future__ import annotations

from typing import Any

from orchestration.config import current_settings

__all__ = ["schedule"]


def schedule() -> dict[str, dict[str, Any]]:
    """Beat entries, built from the settings."""
    settings = current_settings()
    return {
        "sweep-stuck-runs": {
            "task": "chordline.runs.sweep",
            "schedule": settings.sweep_interval_seconds,
            "options": {"queue": "agents", "expires": settings.sweep_interval_seconds},
        },
    }
