"""The approval webhook's task, on the tools queue: one POST per try, retried by Celery with
backoff, the outcome recorded by :mod:`orchestration.webhooks`."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from orchestration import canvas
from orchestration.config import current_settings
from orchestration.journal import JOURNAL_DOWN
from orchestration.observability import redactor_for
from orchestration.webhooks import deliver_approval
from workers.app import app
from workers.runtime import runtime

__all__ = ["WebhookRetry", "approval_webhook"]

log = logging.getLogger("chordline.webhooks")

# The POSTs are bounded by the delivery's own count of tries (WEBHOOK_ATTEMPTS); this bounds the
# retries of a journal that does not answer, one every few seconds.
_MAX_RETRIES = 100
_JOURNAL_RETRY_S = 3.0


class WebhookRetry(Exception):
    """The try did not deliver and will be repeated (its message names only the URL's origin)."""


@app.task(name=canvas.TASK_APPROVAL_WEBHOOK, bind=True, max_retries=_MAX_RETRIES)
def approval_webhook(self: Task[Any, Any], approval: str) -> dict[str, Any]:
    """POST that approval ``approval`` waits for a person to CHORDLINE_APPROVAL_WEBHOOK_URL."""
    settings = current_settings()
    try:
        tried = deliver_approval(
            settings.approvals,
            settings.api.console_base_url,
            runtime().journal,
            redactor_for(settings),
            approval,
            sender=str(self.request.id),
        )
    except JOURNAL_DOWN as exc:
        log.warning("journal unreachable sending the approval webhook of %s: %s", approval, exc)
        raise self.retry(countdown=_JOURNAL_RETRY_S, exc=WebhookRetry("journal down")) from None
    if tried.outcome == "retry":
        raise self.retry(countdown=tried.retry_in_s, exc=WebhookRetry(tried.detail))
    return {"approval": approval, "outcome": tried.outcome, "tries": tried.attempt}
