"""The Celery Beat schedule: the sweeper on the agents queue, admin jobs on their own queue."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from orchestration.canvas import PRIORITY_RECOVERY, TASK_FINETUNE, TASK_REBUILD_EMBEDDINGS
from orchestration.config import Settings, current_settings

__all__ = ["admin_entries", "schedule"]


def schedule() -> dict[str, dict[str, Any]]:
    """Beat entries, built from the settings."""
    settings = current_settings()
    return _sweeper(settings) | admin_entries(settings)


def _cron(expression: str) -> crontab:
    minute, hour, day_of_month, month, day_of_week = expression.split()
    return crontab(minute, hour, day_of_week, day_of_month, month)


def admin_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """The admin queue's entries: the nightly embedding rebuild and any scheduled fine-tunes."""
    entries: dict[str, dict[str, Any]] = {
        "rebuild-embeddings": {
            "task": TASK_REBUILD_EMBEDDINGS,
            "schedule": _cron(settings.knowledge_rebuild_cron),
            "options": {"queue": "admin"},
        },
    }
    for agent in filter(None, (a.strip() for a in settings.finetune_agents.split(","))):
        entries[f"finetune-{agent}"] = {
            "task": TASK_FINETUNE,
            "schedule": _cron(settings.finetune_cron),
            "args": (agent,),
            "options": {"queue": "admin"},
        }
    return entries


def _sweeper(settings: Settings) -> dict[str, dict[str, Any]]:
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
    }
