"""Outbound webhooks: the approval webhook, which tells a team that a tool call waits for a
person (``CHORDLINE_APPROVAL_WEBHOOK_URL``), so they can route it to chat or a pager.

:mod:`.message` builds the ``approval.waiting`` event and its signature, :mod:`.delivery` sends
it one try at a time (the worker's task retries it), :mod:`.store` records each approval's
delivery so it is sent once. Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.webhooks.delivery import (
        WEBHOOK_ATTEMPTS,
        WEBHOOK_TIMEOUT_S,
        Outcome,
        TryResult,
        deliver_approval,
        retry_delay,
    )
    from orchestration.webhooks.message import (
        APPROVAL_WAITING,
        DELIVERY_HEADER,
        SIGNATURE_HEADER,
        ApprovalWaiting,
        approval_link,
        approval_waiting,
        sign,
    )
    from orchestration.webhooks.store import DeliveryRecord, DeliveryState, delivery_of

__all__ = [
    "APPROVAL_WAITING",
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "WEBHOOK_ATTEMPTS",
    "WEBHOOK_TIMEOUT_S",
    "ApprovalWaiting",
    "DeliveryRecord",
    "DeliveryState",
    "Outcome",
    "TryResult",
    "approval_link",
    "approval_waiting",
    "deliver_approval",
    "delivery_of",
    "retry_delay",
    "sign",
]

_HOME = {
    **dict.fromkeys(
        (
            "WEBHOOK_ATTEMPTS",
            "WEBHOOK_TIMEOUT_S",
            "Outcome",
            "TryResult",
            "deliver_approval",
            "retry_delay",
        ),
        "orchestration.webhooks.delivery",
    ),
    **dict.fromkeys(
        (
            "APPROVAL_WAITING",
            "DELIVERY_HEADER",
            "SIGNATURE_HEADER",
            "ApprovalWaiting",
            "approval_link",
            "approval_waiting",
            "sign",
        ),
        "orchestration.webhooks.message",
    ),
    **dict.fromkeys(
        ("DeliveryRecord", "DeliveryState", "delivery_of"), "orchestration.webhooks.store"
    ),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
