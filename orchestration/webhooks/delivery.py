"""Delivering the approval webhook: one POST per try, its outcome, and when to try again.

An approval that starts waiting is announced by a task of its own on the ``tools`` queue
(``chordline.approvals.webhook``), enqueued once the parked step is committed, never by the
step: a slow or dead receiver never holds a run. Each try is one call of
:func:`deliver_approval`, which

* does nothing when no webhook is set, or when the approval no longer waits (decided, timed
  out, its run ended): a person who already acted needs no page;
* claims the approval's delivery row (:mod:`orchestration.webhooks.store`), so a second task for
  the same approval (its step's message delivered again) sends nothing while the first holds
  it or once it was delivered; the receiver can also dedupe by ``Idempotency-Key``;
* POSTs with a short timeout, and answers ``retry`` (with the delay) on a connection error, a
  timeout, 408, 429 or 5xx until :data:`WEBHOOK_ATTEMPTS` tries are spent; any other answer
  ends it.

The URL is a secret: a log line or a recorded error names only its origin
(``https://hooks.example.com``), never its path, query or credentials, and passes through the
redactor.
"""

from __future__ import annotations

import base64
import http.client
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from orchestration.config import ApprovalSettings
from orchestration.config.urls import url_origin
from orchestration.errors import ApprovalNotFound
from orchestration.journal.approvals import get_approval, parse_approval_id
from orchestration.webhooks import store
from orchestration.webhooks.message import ApprovalWaiting, approval_waiting

if TYPE_CHECKING:
    from orchestration.journal import Journal
    from orchestration.observability import Redactor

__all__ = [
    "WEBHOOK_ATTEMPTS",
    "WEBHOOK_TIMEOUT_S",
    "Outcome",
    "TryResult",
    "deliver_approval",
    "retry_delay",
]

log = logging.getLogger("chordline.webhooks")

WEBHOOK_ATTEMPTS = 5
"""POSTs of one approval's webhook, retries included."""

WEBHOOK_TIMEOUT_S = 5.0
"""How long one POST may take, connecting included."""

_BACKOFF_BASE_S = 1.0
_BACKOFF_MAX_S = 30.0
# A hold older than this belongs to a sender whose message was lost (the tries of one sender
# span well under a minute), so another sender may take the delivery over.
_STALE_AFTER_S = 600.0
_RETRIED_STATUSES = frozenset({408, 425, 429})

Outcome = Literal["delivered", "retry", "failed", "dropped", "skipped"]


@dataclass(frozen=True)
class TryResult:
    """What one try came to.

    Attributes:
        outcome: ``delivered`` (2xx), ``retry`` (try again in ``retry_in_s``), ``failed`` (the
            tries ran out or the receiver refused it), ``dropped`` (the approval no longer
            waits), ``skipped`` (no webhook set, or another sender holds or finished it).
        attempt: the number of this try (0 when none was made).
        detail: why, for a log line: redacted, the URL reduced to its origin.
        retry_in_s: the delay before the next try, for ``retry``.
    """

    outcome: Outcome
    attempt: int = 0
    detail: str = ""
    retry_in_s: float = 0.0


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed try ``attempt``: 1, 2, 4, 8, ... at most 30."""
    return float(min(_BACKOFF_BASE_S * 2 ** (attempt - 1), _BACKOFF_MAX_S))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a hop: a POST must not turn into a GET elsewhere."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body``; the HTTP status (an error status included).

    Raises:
        OSError: no answer: refused, reset, timed out, name not resolved.
        http.client.HTTPException: an answer that is not HTTP.
        ValueError: a URL urllib cannot use.
    """
    parts = urlsplit(url)
    if parts.username is not None:
        # urllib would take ``user:password@`` for part of the host (and name it in its error):
        # the credentials travel as Basic auth, as a browser sends them.
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers = headers | {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        host = parts.netloc.rpartition("@")[2]
        url = urlunsplit(parts._replace(netloc=host))
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=WEBHOOK_TIMEOUT_S) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def deliver_approval(
    hook: ApprovalSettings,
    console_url: str,
    journal: Journal,
    redactor: Redactor,
    approval: str,
    *,
    sender: str,
) -> TryResult:
    """Try once to POST approval ``approval``'s ``approval.waiting`` event to the webhook.

    Args:
        hook: the webhook's URL and signing secret.
        console_url: the console's base URL, for the event's link.
        journal: the journal.
        redactor: what hides personal data in the arguments and secrets in errors.
        approval: the approval id (``<run_id>.<seq>``).
        sender: who sends it (the task's id, the same on its every retry).

    Returns:
        What the try came to; ``retry`` carries the delay before the next one.
    """
    if hook.approval_webhook_url is None:
        return TryResult("skipped", detail="no CHORDLINE_APPROVAL_WEBHOOK_URL")
    run_id, seq = parse_approval_id(approval)
    try:
        view = get_approval(journal, approval, None)
    except ApprovalNotFound:
        return TryResult("skipped", detail="no such approval")
    if view.state != "pending":
        detail = f"the approval is {view.state}"
        store.finish(journal, run_id, seq, sender, "dropped", error=detail)
        return TryResult("dropped", detail=detail)
    attempt = store.claim(journal, run_id, seq, sender, _STALE_AFTER_S)
    if attempt is None:
        return TryResult("skipped", detail="delivered already, or another task sends it")
    event = approval_waiting(view, journal.get_run(run_id).agent, redactor, console_url)
    secret = hook.approval_webhook_secret
    return _post_event(
        event,
        journal,
        redactor,
        url=hook.approval_webhook_url.get_secret_value(),
        secret=None if secret is None else secret.get_secret_value(),
        sender=sender,
        attempt=attempt,
    )


def _post_event(
    event: ApprovalWaiting,
    journal: Journal,
    redactor: Redactor,
    *,
    url: str,
    secret: str | None,
    sender: str,
    attempt: int,
) -> TryResult:
    """POST ``event`` once (try ``attempt`` of the claimed delivery) and record what came of it."""
    approval = event.approval_id
    run_id, seq = parse_approval_id(approval)
    where = url_origin(url)
    try:
        status = _post(url, event.body(), event.headers(secret))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = redactor.text(_why(exc))
        return _failed_try(journal, approval, sender, attempt, f"POST to {where}: {error}")
    if 200 <= status < 300:
        store.finish(journal, run_id, seq, sender, "delivered")
        log.info("approval webhook for %s delivered to %s (try %d)", approval, where, attempt)
        return TryResult("delivered", attempt, f"HTTP {status}")
    detail = f"POST to {where}: HTTP {status}"
    if status >= 500 or status in _RETRIED_STATUSES:
        return _failed_try(journal, approval, sender, attempt, detail)
    store.finish(journal, run_id, seq, sender, "failed", error=detail)
    log.warning("approval webhook for %s refused, not retried: %s", approval, detail)
    return TryResult("failed", attempt, detail)


def _why(exc: Exception) -> str:
    """What went wrong, in a line: urllib's wrapper unwrapped (``ConnectionRefusedError: [Errno
    111] Connection refused``); only an OSError's text is kept, the others may quote the URL."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, OSError):
        exc = exc.reason
    said = f": {exc}" if isinstance(exc, OSError) else ""
    return f"{type(exc).__name__}{said}"


def _failed_try(
    journal: Journal, approval: str, sender: str, attempt: int, detail: str
) -> TryResult:
    """A try that may succeed later: retried until the tries run out."""
    run_id, seq = parse_approval_id(approval)
    if attempt >= WEBHOOK_ATTEMPTS:
        store.finish(journal, run_id, seq, sender, "failed", error=detail)
        log.warning(
            "approval webhook for %s not delivered after %d tries: %s", approval, attempt, detail
        )
        return TryResult("failed", attempt, detail)
    store.note_error(journal, run_id, seq, sender, detail)
    delay = retry_delay(attempt)
    log.warning(
        "approval webhook for %s: %s; try %d of %d again in %gs",
        approval,
        detail,
        attempt + 1,
        WEBHOOK_ATTEMPTS,
        delay,
    )
    return TryResult("retry", attempt, detail, delay)
