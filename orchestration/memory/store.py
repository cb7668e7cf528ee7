"""Memory's SQL: the only module that reads or writes ``memory_facts``, and memory's columns of
``runs`` (a run's session and the memory it loaded) with the runs and steps episodic memory reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, null, select, update
from sqlalchemy.exc import IntegrityError

from orchestration.journal.engine import write
from orchestration.journal.payloads import decode
from orchestration.journal.tables import Run, RunStatus, Step, StepKind, StepStatus, utcnow
from orchestration.memory._episodic import Episode, tool_outcome
from orchestration.memory._facts import Fact, words
from orchestration.memory.tables import MemoryFact

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = [
    "JournalFactStore",
    "episodes",
    "record_memory_once",
    "recorded_memory",
    "scrub_runs",
    "session_run_ids",
    "session_runs",
]

_MAX_EPISODES = 200


class JournalFactStore:
    """Facts in the journal's ``memory_facts`` table, recalled by word overlap.

    Args:
        journal: the journal.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def add(self, fact: Fact) -> bool:
        """Insert the fact unless its id exists."""
        try:
            with write(self.journal.engine) as connection:
                connection.execute(
                    insert(MemoryFact).values(
                        id=fact.id,
                        tenant=fact.tenant,
                        session=fact.session,
                        fact=fact.fact,
                        run_id=fact.run_id,
                        created_at=fact.created_at or utcnow(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def facts(self, tenant: str, session: str) -> list[Fact]:
        """Every fact of the session, oldest first."""
        query = (
            select(MemoryFact)
            .where(MemoryFact.tenant == tenant, MemoryFact.session == session)
            .order_by(MemoryFact.created_at, MemoryFact.id)
        )
        with self.journal.engine.connect() as connection:
            return [
                Fact(row.id, row.tenant, row.session, row.fact, row.run_id, row.created_at)
                for row in connection.execute(query)
            ]

    def recall(self, tenant: str, session: str, query: str, limit: int) -> list[Fact]:
        """Facts sharing the most content words with ``query``, then the newest; facts that
        share none are not recalled."""
        wanted = words(query)
        scored = [(len(wanted & words(f.fact)), f) for f in self.facts(tenant, session)]
        related = [pair for pair in scored if pair[0] > 0]
        related.sort(key=lambda pair: (pair[0], pair[1].created_at), reverse=True)
        return [fact for _, fact in related[:limit]]

    def delete(self, tenant: str, session: str) -> int:
        """Delete the session's facts."""
        with write(self.journal.engine) as connection:
            result = connection.execute(
                delete(MemoryFact).where(MemoryFact.tenant == tenant, MemoryFact.session == session)
            )
        return int(result.rowcount)


# -- episodic memory: the session's earlier runs -------------------------------------------


def episodes(
    journal: Journal,
    tenant: str,
    session: str,
    *,
    since: datetime,
    before: datetime,
    exclude: Sequence[str] = (),
) -> list[Episode]:
    """The session's runs that succeeded between ``since`` and ``before``, oldest first.

    Args:
        journal: the journal.
        tenant: whose session.
        session: the session.
        since: the retention cut-off.
        before: only runs created before this (the current run's start).
        exclude: run ids to leave out (the current run, those in working memory).
    """
    query = (
        select(Run.id, Run.created_at, Run.input, Run.output)
        .where(
            Run.tenant == tenant,
            Run.session == session,
            # A workflow is one episode (its parent run), not one per agent it ran.
            Run.parent_id.is_(None),
            Run.status == RunStatus.SUCCEEDED,
            Run.created_at >= since,
            Run.created_at < before,
        )
        .order_by(Run.created_at.desc())
        .limit(_MAX_EPISODES)
    )
    with journal.engine.connect() as connection:
        rows = [row for row in connection.execute(query) if row.id not in set(exclude)]
        ids = [row.id for row in rows]
        tools: dict[str, list[str]] = {run_id: [] for run_id in ids}
        if ids:
            steps = connection.execute(
                select(Step.run_id, Step.name, Step.result, Step.error, Step.status)
                .where(Step.run_id.in_(ids), Step.kind == StepKind.TOOL)
                .order_by(Step.run_id, Step.seq)
            )
            for step in steps:
                result = decode(StepKind.TOOL, step.result)
                failed = step.status == StepStatus.FAILED
                tools[step.run_id].append(tool_outcome(step.name, result, step.error, failed))
    return [
        Episode(row.id, row.created_at, row.input, row.output or "", tuple(tools[row.id]))
        for row in reversed(rows)
    ]


# -- a session as a whole: its runs, exported or scrubbed -----------------------------------


def session_run_ids(journal: Journal, tenant: str, session: str) -> list[str]:
    """The session's runs, and the child runs of its workflow runs."""
    query = select(Run.id).where(Run.tenant == tenant, Run.session == session)
    with journal.engine.connect() as connection:
        ids = [row[0] for row in connection.execute(query)]
        if ids:
            children = select(Run.id).where(Run.parent_id.in_(ids))
            ids += [row[0] for row in connection.execute(children)]
    return list(dict.fromkeys(ids))  # a child of the session's workflow is in it too


def session_runs(journal: Journal, tenant: str, session: str) -> tuple[dict[str, Any], ...]:
    """The session's runs, oldest first: input, answer, status, time and the memory loaded."""
    query = (
        select(Run.id, Run.agent, Run.status, Run.created_at, Run.input, Run.output, Run.memory)
        .where(Run.tenant == tenant, Run.session == session)
        .order_by(Run.created_at)
    )
    with journal.engine.connect() as connection:
        return tuple(
            {
                "run_id": row.id,
                "agent": row.agent,
                "status": row.status,
                "created_at": row.created_at.isoformat(),
                "input": row.input,
                "answer": row.output,
                "memory_loaded": row.memory,
            }
            for row in connection.execute(query)
        )


def scrub_runs(journal: Journal, run_ids: Sequence[str], *, marker: str) -> None:
    """Empty the runs of their content (their input becomes ``marker``) and of the session;
    ids, statuses, timings and costs stay for the audit trail."""
    with write(journal.engine) as connection:
        connection.execute(
            update(Step)
            .where(Step.run_id.in_(run_ids))
            .values(arguments=None, result=null(), error=None)
        )
        connection.execute(
            update(Run)
            .where(Run.id.in_(run_ids))
            .values(input=marker, output=None, error=None, memory=null(), session=None)
        )


# -- the memory a run loaded, recorded on it -----------------------------------------------


def recorded_memory(journal: Journal, run_id: str) -> dict[str, Any] | None:
    """The memory recorded on the run, if any."""
    with journal.engine.connect() as connection:
        found: dict[str, Any] | None = connection.execute(
            select(Run.memory).where(Run.id == run_id)
        ).scalar()
    return found


def record_memory_once(journal: Journal, run_id: str, record: dict[str, Any]) -> None:
    """Record ``record`` on the run unless a memory is recorded there already."""
    with write(journal.engine) as connection:
        connection.execute(
            update(Run).where(Run.id == run_id, Run.memory.is_(None)).values(memory=record)
        )
