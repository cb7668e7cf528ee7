"""The shop's refunds table and its SQL: the only module of this agent that speaks SQL.

The shop database is, here, the journal's: ``support_refunds`` is created once, on first use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

__all__ = ["Refund", "issue_once", "metadata", "refunds", "refunds_engine"]

metadata = MetaData()
refunds = Table(
    "support_refunds",
    metadata,
    Column("idempotency_key", String(64), primary_key=True),
    Column("run_id", String(36), nullable=False),
    Column("order_id", String(16), nullable=False),
    Column("amount_usd", Numeric(10, 2), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@functools.cache
def refunds_engine(url: str) -> Engine:
    """The shop database (here: the journal's), with the refunds table created once."""
    engine = create_engine(url)
    metadata.create_all(engine, checkfirst=True)
    return engine


@dataclass(frozen=True)
class Refund:
    """A refund as stored, and whether this call issued it or found it issued already."""

    idempotency_key: str
    order_id: str
    amount_usd: Decimal
    issued: bool


def issue_once(
    url: str,
    *,
    idempotency_key: str,
    run_id: str,
    order_id: str,
    amount_usd: float,
    reason: str,
    created_at: datetime,
) -> Refund:
    """Store the refund under its idempotency key unless a refund is stored there already.

    The idempotency key is the primary key: a redelivered or re-driven call finds the refund
    already issued and reports it instead of refunding twice.
    """
    engine = refunds_engine(url)
    row = {
        "idempotency_key": idempotency_key,
        "run_id": run_id,
        "order_id": order_id,
        "amount_usd": amount_usd,
        "reason": reason,
        "created_at": created_at,
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(refunds).values(**row))
        issued = True
    except IntegrityError:
        issued = False
    with engine.connect() as connection:
        stored = connection.execute(
            select(refunds).where(refunds.c.idempotency_key == idempotency_key)
        ).one()
    return Refund(stored.idempotency_key, stored.order_id, stored.amount_usd, issued)
