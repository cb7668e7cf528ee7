"""Observability's table: the alerts the rules fired (migration ``observe``), on the journal's
metadata.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestration.journal.tables import Base, utcnow

__all__ = [
    "Alert",
]


class Alert(Base):
    """A threshold a rule found crossed (observability), and whether its webhook got it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(160))
    value: Mapped[float] = mapped_column(Numeric(18, 6, asdecimal=False))
    threshold: Mapped[float] = mapped_column(Numeric(18, 6, asdecimal=False))
    message: Mapped[str] = mapped_column(Text)
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    delivery_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_alerts_rule_subject_fired", "rule", "subject", "fired_at"),)
