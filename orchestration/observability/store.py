"""Observability's SQL: the ``alerts`` table, and the reads of ``runs`` and ``steps`` that the
figures of ``chordline stats`` and the alert rules are computed from.

The only module of observability that speaks SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update

from orchestration.journal.tables import Run, Step, utcnow
from orchestration.observability.tables import Alert

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = [
    "RunFigures",
    "alert_fired_since",
    "insert_alert",
    "mark_delivery",
    "run_figures",
    "step_seconds",
    "tenant_spend",
]


def insert_alert(
    journal: Journal,
    *,
    rule: str,
    subject: str,
    value: float,
    threshold: float,
    message: str,
    fired: datetime,
) -> int:
    """Write one alert; returns its id."""
    with journal.engine.begin() as connection:
        alert_id: int = connection.execute(
            insert(Alert)
            .values(
                rule=rule,
                subject=subject,
                value=value,
                threshold=threshold,
                message=message,
                fired_at=fired,
            )
            .returning(Alert.id)
        ).scalar_one()
    return alert_id


def alert_fired_since(journal: Journal, rule: str, subject: str, since: datetime) -> bool:
    """True when ``rule`` fired for ``subject`` at or after ``since``."""
    query = select(Alert.id).where(
        Alert.rule == rule, Alert.subject == subject, Alert.fired_at >= since
    )
    with journal.engine.connect() as connection:
        return connection.execute(query.limit(1)).first() is not None


def mark_delivery(journal: Journal, alert_id: int, error: str | None) -> None:
    """Record that the webhook got the alert (``error`` None), or why it did not."""
    values = {"delivered_at": utcnow()} if error is None else {"delivery_error": error[:2000]}
    with journal.engine.begin() as connection:
        connection.execute(update(Alert).where(Alert.id == alert_id).values(**values))


@dataclass(frozen=True)
class RunFigures:
    """What the figures read of one run."""

    agent: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: Decimal | None
    error: str | None


def run_figures(journal: Journal, since: datetime, agent: str | None = None) -> list[RunFigures]:
    """The runs created at or after ``since`` (of one agent, when given)."""
    query = select(
        Run.agent,
        Run.status,
        Run.created_at,
        Run.finished_at,
        Run.input_tokens,
        Run.output_tokens,
        Run.cost_usd,
        Run.error,
    ).where(Run.created_at >= since)
    if agent is not None:
        query = query.where(Run.agent == agent)
    with journal.engine.connect() as connection:
        return [RunFigures(*row) for row in connection.execute(query)]


def step_seconds(
    journal: Journal, since: datetime, agent: str | None = None
) -> list[tuple[str, float]]:
    """Each finished step of the runs created at or after ``since``: its agent and how long
    it took from claim to outcome."""
    query = (
        select(Run.agent, Step.started_at, Step.finished_at)
        .join(Run, Run.id == Step.run_id)
        .where(Run.created_at >= since, Step.started_at.is_not(None), Step.finished_at.is_not(None))
    )
    if agent is not None:
        query = query.where(Run.agent == agent)
    with journal.engine.connect() as connection:
        return [
            (name, (ended - started).total_seconds())
            for name, started, ended in connection.execute(query)
            if started is not None and ended is not None
        ]


def tenant_spend(journal: Journal, since: datetime) -> dict[str, Decimal]:
    """What each tenant's LLM steps cost since ``since`` (the steps' own journaled cost)."""
    query = (
        select(Run.tenant, func.coalesce(func.sum(Step.cost_usd), 0))
        .join(Run, Run.id == Step.run_id)
        .where(Step.finished_at >= since)
        .group_by(Run.tenant)
    )
    with journal.engine.connect() as connection:
        return {row[0]: Decimal(str(row[1])) for row in connection.execute(query)}
