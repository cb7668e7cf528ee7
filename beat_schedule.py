"""The Celery Beat schedule: the sweeper on the agents queue, admin jobs on their own queue."""

from __future__ import annotations

from typing import Any

from orchestration.canvas import PRIORITY_RECOVERY
from orchestration.config import current_settings

__all__ = ["schedule"]


def schedule() -> dict[str, dict[str, Any]]:
    """Beat entries, built from the settings."""
    settings = current_settings()
    entries: dict[str, dict[str, Any]] = {
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
    rules = (
        settings.alert_error_rate,
        settings.alert_p95_latency_seconds,
        settings.alert_cost_per_run_usd,
        settings.alert_tenant_daily_usd,
    )
    if any(rule is not None for rule in rules):
        entries["check-alerts"] = {
            "task": "chordline.admin.check_alerts",
            "schedule": settings.alert_check_seconds,
            # A check that waited a whole interval is superseded by the next one.
            "options": {"queue": "admin", "expires": settings.alert_check_seconds},
        }
    return entries
