"""The knowledge subsystem's SQL: fine-tuning jobs as they are followed, and the model
candidates they leave. The only module of the knowledge subsystem that speaks SQL (its tables:
:mod:`orchestration.knowledge.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from orchestration.journal.tables import utcnow
from orchestration.knowledge.tables import FinetuneJob, ModelCandidate

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["Candidate", "JobRow", "candidates", "find_job", "insert_job", "record_check"]


@dataclass(frozen=True)
class Candidate:
    """A model recorded for an agent to be evaluated; never pinned automatically."""

    agent: str
    model: str
    source: str


@dataclass(frozen=True)
class JobRow:
    """What is recorded of a fine-tuning job."""

    id: str
    agent: str
    status: str
    checks: int
    fine_tuned_model: str | None


def insert_job(
    journal: Journal,
    *,
    job_id: str,
    agent: str,
    base_model: str,
    training_file: str,
    examples: int,
    status: str,
    now: datetime,
) -> None:
    """Record a job just submitted (no check made yet)."""
    with journal.engine.begin() as connection:
        connection.execute(
            insert(FinetuneJob).values(
                id=job_id,
                agent=agent,
                base_model=base_model,
                training_file=training_file,
                examples=examples,
                status=status,
                checks=0,
                created_at=now,
                updated_at=now,
            )
        )


def find_job(journal: Journal, job_id: str) -> JobRow | None:
    """The recorded job, if it was submitted from here."""
    with journal.engine.connect() as connection:
        row = connection.execute(select(FinetuneJob).where(FinetuneJob.id == job_id)).first()
    if row is None:
        return None
    return JobRow(row.id, row.agent, row.status, row.checks, row.fine_tuned_model)


def record_check(
    journal: Journal,
    job: JobRow,
    *,
    expected_checks: int,
    status: str,
    model: str | None,
    error: str | None,
) -> bool:
    """Record what one check found, only if no other check was recorded since the caller read
    ``expected_checks``; a job that succeeded leaves its model as a candidate of its agent, in
    the same transaction. False when another check got there first."""
    with journal.engine.begin() as connection:
        moved = connection.execute(
            update(FinetuneJob)
            .where(FinetuneJob.id == job.id, FinetuneJob.checks == expected_checks)
            .values(
                status=status,
                fine_tuned_model=model,
                error=error,
                checks=expected_checks + 1,
                updated_at=utcnow(),
            )
        ).rowcount
        if moved == 1 and status == "succeeded" and model:
            _record_candidate(connection, job.agent, model, f"finetune:{job.id}")
    return bool(moved == 1)


def _record_candidate(connection: Connection, agent: str, model: str, source: str) -> None:
    try:
        with connection.begin_nested():
            connection.execute(
                insert(ModelCandidate).values(
                    agent=agent, model=model, source=source, created_at=utcnow()
                )
            )
    except IntegrityError:
        return  # recorded before: a candidate is a fact, not an event


def candidates(journal: Journal, agent: str | None = None) -> list[Candidate]:
    """The recorded candidates, newest first (of one agent if named)."""
    query = select(ModelCandidate).order_by(ModelCandidate.id.desc())
    if agent is not None:
        query = query.where(ModelCandidate.agent == agent)
    with journal.engine.connect() as connection:
        return [Candidate(r.agent, r.model, r.source) for r in connection.execute(query)]
