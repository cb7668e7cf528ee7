"""What a tenant's history answers: its spend since a time, and answers to repeated requests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func, select

from orchestration.journal.payloads import ModelReply, TurnPayload, decode
from orchestration.journal.tables import Run, Step, StepKind, StepStatus

__all__ = ["cached_answer", "tenant_spend_since"]


def tenant_spend_since(engine: Engine, tenant: str, since: datetime) -> Decimal:
    """Dollars the tenant's LLM steps cost since ``since``, across every worker (steps of
    unknown cost count as 0 here: the price table warns about those)."""
    query = (
        select(func.coalesce(func.sum(Step.cost_usd), 0))
        .join(Run, Run.id == Step.run_id)
        .where(Run.tenant == tenant, Step.kind == StepKind.LLM, Step.finished_at >= since)
    )
    with engine.connect() as connection:
        return Decimal(str(connection.execute(query).scalar_one()))


def cached_answer(engine: Engine, tenant: str, request_hash: str) -> ModelReply | None:
    """The newest recorded answer of the tenant's to a request with this hash."""
    query = (
        select(Step.result)
        .join(Run, Run.id == Step.run_id)
        .where(
            Step.request_hash == request_hash,
            Step.status == StepStatus.SUCCEEDED,
            Run.tenant == tenant,
        )
        .order_by(Step.finished_at.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        found = connection.execute(query).first()
    if found is None:
        return None
    turn = decode(StepKind.LLM, found[0])
    return turn.reply if isinstance(turn, TurnPayload) else None
