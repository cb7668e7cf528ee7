"""Chaos-test tools. ``charge`` logs every raw execution and makes its effect once per step.

``chaos_executions`` gets a row each time ``charge`` starts, whatever happens next (so it counts
how often the tool really ran); ``chaos_charges`` gets the effect, keyed by the step's
idempotency key, so a repeated execution finds the charge already made.
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
)
from sqlalchemy.exc import IntegrityError

from orchestration import ToolContext, tool

metadata = MetaData()
executions = Table(
    "chaos_executions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
charges = Table(
    "chaos_charges",
    metadata,
    Column("idempotency_key", String(64), primary_key=True),
    Column("run_id", String(36), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("amount", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)


@functools.cache
def chaos_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine, checkfirst=True)
    return engine


class Item(BaseModel):
    item: str = Field(min_length=1, max_length=32)
    seconds: float = Field(0, ge=0, le=30)


class Charge(BaseModel):
    amount: int = Field(ge=1)
    seconds: float = Field(0, ge=0, le=30)


@tool(read_only=True, timeout_s=60)
def lookup(args: Item, ctx: ToolContext) -> dict[str, object]:
    """Look an item up (changes nothing)."""
    time.sleep(args.seconds)
    return {"item": args.item, "price": len(args.item) * 3}


@tool(timeout_s=60)
def charge(args: Charge, ctx: ToolContext) -> dict[str, object]:
    """Charge an amount once per step, whatever is redelivered or re-driven."""
    engine = chaos_engine(ctx.database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(executions).values(run_id=ctx.run_id, seq=ctx.seq, attempt=ctx.attempt, at=now)
        )
    time.sleep(args.seconds)
    row = {
        "idempotency_key": ctx.idempotency_key,
        "run_id": ctx.run_id,
        "seq": ctx.seq,
        "amount": args.amount,
        "at": datetime.now(UTC),
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(charges).values(**row))
    except IntegrityError:
        return {"amount": args.amount, "status": "already charged"}
    return {"amount": args.amount, "status": "charged"}
