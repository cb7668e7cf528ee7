"""The periodic alert check, on the admin queue (Beat schedules it when a rule is set)."""

from __future__ import annotations

from typing import Any

from orchestration.config import current_settings
from orchestration.journal import open_journal
from orchestration.observability import check_alerts, redactor_for
from workers.app import app

__all__ = ["TASK_CHECK_ALERTS", "check_alerts_task"]

TASK_CHECK_ALERTS = "chordline.admin.check_alerts"


@app.task(name=TASK_CHECK_ALERTS)
def check_alerts_task() -> dict[str, Any]:
    """Check the alert rules; record, log and POST each new breach."""
    settings = current_settings()
    journal = open_journal(settings.journal_url)
    fired = check_alerts(settings.observability, journal, redactor_for(settings))
    return {"fired": [{"rule": a.rule, "subject": a.subject, "id": a.id} for a in fired]}
