"""Tools whose behaviour tests can observe from outside the worker (the ``test_effects`` table)."""

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
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from orchestration import ToolContext, tool

metadata = MetaData()
effects = Table(
    "test_effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("label", String(64), nullable=False),
    Column("idempotency_key", String(64), unique=True),
    Column("at", DateTime(timezone=True), nullable=False),
)


@functools.cache
def effects_engine(url: str) -> Engine:
    engine = create_engine(url)
    metadata.create_all(engine, checkfirst=True)
    return engine


def count_effects(url: str, run_id: str, label: str | None = None) -> int:
    query = select(func.count()).select_from(effects).where(effects.c.run_id == run_id)
    if label is not None:
        query = query.where(effects.c.label == label)
    with effects_engine(url).connect() as connection:
        return int(connection.execute(query).scalar_one())


class Nothing(BaseModel):
    pass


class Sleep(BaseModel):
    seconds: float = Field(ge=0, le=120)


class Label(BaseModel):
    label: str = Field(min_length=1, max_length=64)
    seconds: float = Field(0, ge=0, le=120)


class Meet(BaseModel):
    label: str = Field(min_length=1, max_length=64)
    parties: int = Field(ge=1, le=16)
    within_s: float = Field(30, gt=0, le=60)


@tool(read_only=True, timeout_s=5)
def explode(args: Nothing, ctx: ToolContext) -> None:
    """Always raise."""
    raise RuntimeError("kaboom")


class Echo(BaseModel):
    text: str  # no length limit: pydantic's check of one cannot read a lone surrogate


class OddText(BaseModel):
    fail: bool = False


ODD_TEXT = "half \ud800 of a pair and a \x00 NUL"


@tool(read_only=True, timeout_s=5)
def odd_text(args: OddText, ctx: ToolContext) -> dict[str, str]:
    """Return (or fail with) text the journal cannot store as it is: a lone surrogate, a NUL."""
    if args.fail:
        raise RuntimeError(ODD_TEXT)
    return {"summary": ODD_TEXT, "\udcff key": "\x00"}


@tool(read_only=True, timeout_s=5)
def echo(args: Echo, ctx: ToolContext) -> dict[str, str]:
    """Return its text as it came (the property test's tool result path)."""
    return {"text": args.text}


@tool(read_only=True, timeout_s=120)
def sleep_read(args: Sleep, ctx: ToolContext) -> dict[str, float]:
    """Sleep, change nothing."""
    time.sleep(args.seconds)
    return {"slept": args.seconds}


@tool(read_only=True, timeout_s=0.5)
def slow_timeout(args: Sleep, ctx: ToolContext) -> dict[str, float]:
    """Sleep past its own timeout when asked to."""
    time.sleep(args.seconds)
    return {"slept": args.seconds}


def _record(args: Label, ctx: ToolContext, key: str | None) -> dict[str, object]:
    time.sleep(args.seconds)
    row = {
        "run_id": ctx.run_id,
        "seq": ctx.seq,
        "label": args.label,
        "idempotency_key": key,
        "at": datetime.now(UTC),
    }
    try:
        with effects_engine(ctx.database_url).begin() as connection:
            connection.execute(insert(effects).values(**row))
    except IntegrityError:
        return {"label": args.label, "status": "already recorded"}
    return {"label": args.label, "status": "recorded"}


@tool(read_only=True, timeout_s=90)
def rendezvous(args: Meet, ctx: ToolContext) -> dict[str, object]:
    """Arrive at the meeting point ``label`` and wait there until ``parties`` steps have arrived.

    Only steps that run at the same time can all meet: one that waits for another which has not
    started yet gives up after ``within_s`` and says so (``met`` false).
    """
    _record(Label(label=args.label), ctx, ctx.idempotency_key)
    deadline = time.monotonic() + args.within_s
    query = select(func.count()).select_from(effects).where(effects.c.label == args.label)
    while True:
        with effects_engine(ctx.database_url).connect() as connection:
            arrived = int(connection.execute(query).scalar_one())
        if arrived >= args.parties or time.monotonic() >= deadline:
            return {"met": arrived >= args.parties, "arrived": arrived}
        time.sleep(0.02)  # the others arrive through the database; look again shortly


@tool(timeout_s=120)
def record_effect(args: Label, ctx: ToolContext) -> dict[str, object]:
    """Insert a row on every execution (no idempotency key): counts raw executions."""
    return _record(args, ctx, None)


@tool(timeout_s=120)
def keyed_effect(args: Label, ctx: ToolContext) -> dict[str, object]:
    """Insert a row keyed by the step's idempotency key: at most one per step."""
    return _record(args, ctx, ctx.idempotency_key)


@tool(requires_approval=True, timeout_s=10)
def guarded_effect(args: Label, ctx: ToolContext) -> dict[str, object]:
    """Insert a keyed row, after a person approves."""
    return _record(args, ctx, ctx.idempotency_key)
