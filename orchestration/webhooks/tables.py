"""The webhooks' table: one row per approval announced to the approval webhook (migration
``webhooks``), on the journal's metadata.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "ApprovalWebhook",
]


class ApprovalWebhook(Base):
    """The delivery of one approval's ``approval.waiting`` POST: who holds it, how many tries it
    took, and how it ended (``sending``, then ``delivered``, ``failed`` or ``dropped``).

    Keyed like the approval step it announces, so a second delivery of the same approval finds
    the first one's row; no foreign key, so the runs' cleanup deletes runs as before.
    """

    __tablename__ = "approval_webhooks"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
