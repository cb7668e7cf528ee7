"""The Celery Beat schedule: the admin jobs on their own queue.

Beat also sweeps for stuck runs and workflows, in its own process every
``CHORDLINE_SWEEP_INTERVAL_SECONDS`` (``workers.tasks``), not through a scheduled task.

The admin jobs' times are crontabs from the settings (UTC): the nightly eval of every agent
(``CHORDLINE_NIGHTLY_EVAL_CRON``) and the cleanup of old runs and eval results
(``CHORDLINE_CLEANUP_CRON``). With Redis attached, Beat runs celery-redbeat's scheduler, whose
lock in Redis lets one Beat process schedule while any other started by mistake waits for it.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from orchestration.canvas import (
    TASK_CLEANUP,
    TASK_FINETUNE,
    TASK_NIGHTLY_EVAL,
    TASK_REBUILD_EMBEDDINGS,
)
from orchestration.config import Settings, current_settings
from orchestration.errors import ConfigError

__all__ = [
    "REDBEAT_PREFIX",
    "admin_entries",
    "alert_entries",
    "beat_config",
    "parse_crontab",
    "schedule",
]

REDBEAT_PREFIX = "chordline:redbeat"
# Beat wakes at least this often; redbeat renews its lock each time. A standby Beat takes over
# once the lock lapses (_LOCK_TIMEOUT_S) after the active one died.
_MAX_LOOP_S = 5
_LOCK_TIMEOUT_S = 30


def parse_crontab(text: str, variable: str) -> crontab:
    """``minute hour day-of-month month day-of-week`` as a Celery crontab (UTC).

    Raises:
        ConfigError: naming ``variable``, its value and the fix.
    """
    minute, hour, day_of_month, month, day_of_week = text.split()
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month,
            day_of_week=day_of_week,
        )
    except ValueError as exc:
        raise ConfigError(
            f"{variable}={text!r} is not a crontab ({exc}). Fix: set {variable} to five "
            "fields 'minute hour day-of-month month day-of-week', e.g. '0 2 * * *'."
        ) from None


def schedule() -> dict[str, dict[str, Any]]:
    """Beat entries, built from the settings."""
    settings = current_settings()
    return _entries(settings) | admin_entries(settings) | alert_entries(settings)


def _entries(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "nightly-eval": {
            "task": TASK_NIGHTLY_EVAL,
            "schedule": parse_crontab(settings.nightly_eval_cron, "CHORDLINE_NIGHTLY_EVAL_CRON"),
            "options": {"queue": "admin"},
        },
        "cleanup": {
            "task": TASK_CLEANUP,
            "schedule": parse_crontab(settings.cleanup_cron, "CHORDLINE_CLEANUP_CRON"),
            "options": {"queue": "admin"},
        },
        "check-canary-rollouts": {
            "task": "chordline.admin.rollout_check",
            "schedule": settings.rollout_check_seconds,
            # One check is enough: a later one reads fresher figures.
            "options": {"queue": "admin", "expires": settings.rollout_check_seconds},
        },
    }


def beat_config(settings: Settings) -> dict[str, Any]:
    """Beat's scheduler: redbeat (schedule and lock in Redis) when Redis is attached, else
    Celery's file-based default (one process, the embedded quick start)."""
    if settings.redis_url is None:
        return {}
    return {
        "beat_scheduler": "redbeat.RedBeatScheduler",
        "redbeat_redis_url": settings.redis_url,
        "redbeat_key_prefix": REDBEAT_PREFIX,
        "redbeat_lock_key": f"{REDBEAT_PREFIX}:lock",
        "redbeat_lock_timeout": _LOCK_TIMEOUT_S,
        "beat_max_loop_interval": _MAX_LOOP_S,
    }


def admin_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """The knowledge entries on the admin queue: the nightly embedding rebuild and any
    scheduled fine-tunes (``CHORDLINE_FINETUNE_AGENTS``)."""
    entries: dict[str, dict[str, Any]] = {
        "rebuild-embeddings": {
            "task": TASK_REBUILD_EMBEDDINGS,
            "schedule": parse_crontab(
                settings.knowledge_rebuild_cron, "CHORDLINE_KNOWLEDGE_REBUILD_CRON"
            ),
            "options": {"queue": "admin"},
        },
    }
    for agent in filter(None, (a.strip() for a in settings.finetune_agents.split(","))):
        entries[f"finetune-{agent}"] = {
            "task": TASK_FINETUNE,
            "schedule": parse_crontab(settings.finetune_cron, "CHORDLINE_FINETUNE_CRON"),
            "args": (agent,),
            "options": {"queue": "admin"},
        }
    return entries


def alert_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """The alert check on the admin queue, when any alert rule is set."""
    rules = (
        settings.alert_error_rate,
        settings.alert_p95_latency_seconds,
        settings.alert_cost_per_run_usd,
        settings.alert_tenant_daily_usd,
    )
    if all(rule is None for rule in rules):
        return {}
    return {
        "check-alerts": {
            "task": "chordline.admin.check_alerts",
            "schedule": settings.alert_check_seconds,
            # A check that waited a whole interval is superseded by the next one.
            "options": {"queue": "admin", "expires": settings.alert_check_seconds},
        }
    }
