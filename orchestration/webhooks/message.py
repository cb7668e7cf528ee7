"""What the approval webhook sends: the ``approval.waiting`` event, its JSON body, its headers
and their HMAC signature.

The body names the approval, its run, tenant, agent and tool, the call's arguments (redacted as
traces are: personal data and secrets replaced) and the console link a person follows to decide.
Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from orchestration.journal.approvals import ApprovalView
    from orchestration.observability import Redactor

__all__ = [
    "APPROVAL_WAITING",
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "ApprovalWaiting",
    "approval_link",
    "approval_waiting",
    "sign",
]

APPROVAL_WAITING = "approval.waiting"
"""The event a webhook POST announces: a tool call started waiting for a person."""

SIGNATURE_HEADER = "X-Chordline-Signature"
"""``sha256=<hex>``: the HMAC-SHA256 of the body under ``CHORDLINE_APPROVAL_WEBHOOK_SECRET``."""

DELIVERY_HEADER = "X-Chordline-Delivery"
"""The approval id, the same on every try (and as ``Idempotency-Key``): a receiver dedupes by it."""


@dataclass(frozen=True)
class ApprovalWaiting:
    """The ``approval.waiting`` event of one approval.

    Attributes:
        approval_id: the approval (``<run_id>.<seq>``), what the console and the API decide by.
        run_id: its run.
        tenant: the run's tenant.
        agent: the run's agent.
        tool: the tool the call waits to run.
        arguments: the call's arguments, redacted (a JSON object).
        requested_at: when the call started waiting.
        link: where a person opens it in the console.
    """

    approval_id: str
    run_id: str
    tenant: str
    agent: str
    tool: str
    arguments: dict[str, Any]
    requested_at: datetime
    link: str

    def body(self) -> bytes:
        """The JSON body, as sent and as signed."""
        return json.dumps(
            {
                "event": APPROVAL_WAITING,
                "approval_id": self.approval_id,
                "run_id": self.run_id,
                "tenant": self.tenant,
                "agent": self.agent,
                "tool": self.tool,
                "arguments": self.arguments,
                "requested_at": self.requested_at.isoformat(),
                "link": self.link,
            },
            ensure_ascii=False,
        ).encode()

    def headers(self, secret: str | None) -> dict[str, str]:
        """The request's headers: JSON, the event, the approval id to dedupe by and, with a
        ``secret``, the body's signature."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Chordline-Webhook",
            "X-Chordline-Event": APPROVAL_WAITING,
            DELIVERY_HEADER: self.approval_id,
            "Idempotency-Key": self.approval_id,
        }
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, self.body())
        return headers


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` under ``secret``, as a receiver recomputes
    it (compare with :func:`hmac.compare_digest`)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def approval_link(console_url: str, approval_id: str) -> str:
    """The console's page of one approval: ``<console_url>/approvals#<approval_id>``."""
    return f"{console_url.rstrip('/')}/approvals#{quote(approval_id, safe='.-_~')}"


def approval_waiting(
    view: ApprovalView, agent: str, redactor: Redactor, console_url: str
) -> ApprovalWaiting:
    """The event announcing ``view``, its arguments passed through ``redactor``.

    Arguments that are not a JSON object (a model may send broken JSON; the call then fails when
    it runs) are sent as ``{"_text": <the redacted text>}``, so ``arguments`` is always an object.
    """
    return ApprovalWaiting(
        approval_id=view.id,
        run_id=view.run_id,
        tenant=view.tenant,
        agent=agent,
        tool=view.tool,
        arguments=_arguments(view.arguments, redactor),
        requested_at=view.requested_at,
        link=approval_link(console_url, view.id),
    )


def _arguments(text: str | None, redactor: Redactor) -> dict[str, Any]:
    if not text:
        return {}
    try:
        decoded = json.loads(text)
    except ValueError:
        return {"_text": redactor.text(text)}
    if not isinstance(decoded, dict):
        return {"_text": redactor.text(text)}
    redacted: dict[str, Any] = redactor.data(decoded)
    return redacted
