"""The webhooks' SQL: claiming an approval's delivery, counting its tries, and how it ended.

The only module of the webhooks that speaks SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from orchestration.journal.engine import write
from orchestration.journal.tables import utcnow
from orchestration.webhooks.tables import ApprovalWebhook

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["DeliveryRecord", "DeliveryState", "claim", "delivery_of", "finish", "note_error"]

DeliveryState = Literal["sending", "delivered", "failed", "dropped"]

_ERROR_CHARS = 2000


@dataclass(frozen=True)
class DeliveryRecord:
    """An approval's webhook delivery as the journal holds it.

    Attributes:
        run_id: the approval's run.
        seq: the approval's step.
        state: ``sending`` (a sender holds it, between tries), ``delivered`` (a 2xx answer),
            ``failed`` (the tries ran out, or the receiver refused it), ``dropped`` (the approval
            was decided or closed before it was delivered).
        sender: who holds it: the id of the task that sends it.
        attempts: the POSTs tried so far.
        claimed_at: when its sender last took it.
        finished_at: when it reached a final state.
        last_error: why the last try did not deliver it (redacted).
    """

    run_id: str
    seq: int
    state: DeliveryState
    sender: str
    attempts: int
    claimed_at: datetime
    finished_at: datetime | None
    last_error: str | None


def claim(journal: Journal, run_id: str, seq: int, sender: str, stale_after_s: float) -> int | None:
    """Take an approval's delivery for one more POST, counting it.

    ``sender`` takes it when nobody has, when it holds it already (its own retry, or its own
    message delivered again after a crash), or when another sender's hold is older than
    ``stale_after_s`` (that sender's message was lost).

    Returns:
        The number of this try (1 for the first), or None when the delivery is finished or
        another sender holds it.
    """
    now = utcnow()
    key = (ApprovalWebhook.run_id == run_id, ApprovalWebhook.seq == seq)
    try:
        with write(journal.engine) as connection:
            found = connection.execute(
                select(ApprovalWebhook.state, ApprovalWebhook.sender, ApprovalWebhook.claimed_at)
                .where(*key)
                .with_for_update()
            ).first()
            if found is None:
                connection.execute(
                    insert(ApprovalWebhook).values(
                        run_id=run_id,
                        seq=seq,
                        state="sending",
                        sender=sender,
                        attempts=1,
                        claimed_at=now,
                    )
                )
                return 1
            stale = found.claimed_at < now - timedelta(seconds=stale_after_s)
            if found.state != "sending" or (found.sender != sender and not stale):
                return None
            attempts: int = connection.execute(
                update(ApprovalWebhook)
                .where(*key)
                .values(sender=sender, claimed_at=now, attempts=ApprovalWebhook.attempts + 1)
                .returning(ApprovalWebhook.attempts)
            ).scalar_one()
            return attempts
    except IntegrityError:
        return None  # another sender inserted the row first: it holds the delivery


def note_error(journal: Journal, run_id: str, seq: int, sender: str, error: str) -> None:
    """Record why ``sender``'s try did not deliver, leaving the delivery in its hands."""
    _set(journal, run_id, seq, sender, last_error=error[:_ERROR_CHARS])


def finish(
    journal: Journal,
    run_id: str,
    seq: int,
    sender: str,
    state: DeliveryState,
    *,
    error: str | None = None,
) -> None:
    """End ``sender``'s delivery as ``state`` (with the last try's error, when it failed)."""
    values: dict[str, object] = {"state": state, "finished_at": utcnow()}
    if error is not None:
        values["last_error"] = error[:_ERROR_CHARS]
    _set(journal, run_id, seq, sender, **values)


def _set(journal: Journal, run_id: str, seq: int, sender: str, **values: object) -> None:
    with write(journal.engine) as connection:
        connection.execute(
            update(ApprovalWebhook)
            .where(
                ApprovalWebhook.run_id == run_id,
                ApprovalWebhook.seq == seq,
                ApprovalWebhook.sender == sender,
                ApprovalWebhook.state == "sending",
            )
            .values(**values)
        )


def delivery_of(journal: Journal, run_id: str, seq: int) -> DeliveryRecord | None:
    """The delivery of approval ``seq`` of ``run_id``; None when it was never announced."""
    with journal.engine.connect() as connection:
        row = connection.execute(
            select(ApprovalWebhook).where(
                ApprovalWebhook.run_id == run_id, ApprovalWebhook.seq == seq
            )
        ).first()
    if row is None:
        return None
    return DeliveryRecord(
        run_id=row.run_id,
        seq=row.seq,
        state=row.state,
        sender=row.sender,
        attempts=row.attempts,
        claimed_at=row.claimed_at,
        finished_at=row.finished_at,
        last_error=row.last_error,
    )
