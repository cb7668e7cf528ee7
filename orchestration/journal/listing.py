"""Reading runs back for people and scripts: filtered, paged listings and the models that served.

Plain SQLAlchemy Core queries on :attr:`Journal.engine`, separate from the journal's write path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from orchestration.errors import RunNotFound
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import Run, RunStatus, Step, StepKind

__all__ = [
    "RunFilter",
    "RunPage",
    "list_runs",
    "resolve_run_id",
    "served_models",
    "served_models_of_steps",
]

# A prefix shorter than this matches too many runs to be worth looking up.
_MIN_PREFIX = 4


@dataclass(frozen=True)
class RunFilter:
    """Which runs to list; an empty field does not filter.

    Attributes:
        tenant: only this tenant's runs.
        agent: only runs of this agent.
        statuses: only runs in one of these statuses.
        since: only runs created at or after this instant (timezone-aware).
    """

    tenant: str | None = None
    agent: str | None = None
    statuses: tuple[RunStatus, ...] = ()
    since: datetime | None = None


@dataclass(frozen=True)
class RunPage:
    """One page of a listing, newest first.

    Attributes:
        runs: the runs on this page.
        page: the page number, from 1.
        per_page: runs per page.
        total: runs matching the filter on all pages.
    """

    runs: tuple[RunRecord, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the filter's runs fill (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """True when a later page holds more runs."""
        return self.page < self.pages


def list_runs(engine: Engine, where: RunFilter, *, page: int = 1, per_page: int = 20) -> RunPage:
    """The runs matching ``where``, newest first, one page of them.

    Args:
        engine: the journal's engine.
        where: the filter.
        page: the page, from 1.
        per_page: runs per page.

    Returns:
        The page with the total count of matching runs.
    """
    conditions = []
    if where.tenant is not None:
        conditions.append(Run.tenant == where.tenant)
    if where.agent is not None:
        conditions.append(Run.agent == where.agent)
    if where.statuses:
        conditions.append(Run.status.in_([s.value for s in where.statuses]))
    if where.since is not None:
        conditions.append(Run.created_at >= where.since)
    query = (
        select(Run)
        .where(*conditions)
        .order_by(Run.created_at.desc(), Run.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    counted = select(func.count()).select_from(Run).where(*conditions)
    with engine.connect() as connection:
        rows = [RunRecord.of(row) for row in connection.execute(query)]
        total = connection.execute(counted).scalar_one()
    return RunPage(tuple(rows), page, per_page, int(total))


def resolve_run_id(engine: Engine, given: str, tenant: str | None = None) -> str:
    """The full id of the run ``given`` names: its whole id, or a unique prefix of it.

    Listings at 80 columns show short ids, so the commands that take a run id accept them.

    Raises:
        RunNotFound: no run, or several runs, start with ``given``.
    """
    exact = select(Run.id).where(Run.id == given)
    prefixed = select(Run.id).where(Run.id.startswith(given, autoescape=True)).limit(2)
    if tenant is not None:
        exact = exact.where(Run.tenant == tenant)
        prefixed = prefixed.where(Run.tenant == tenant)
    with engine.connect() as connection:
        if connection.execute(exact).first() is not None or len(given) < _MIN_PREFIX:
            return given
        found = list(connection.execute(prefixed).scalars())
    if len(found) > 1:
        raise RunNotFound(
            f"several runs start with {given!r}. Fix: give more of the id "
            "(`chordline runs --wide` shows whole ids)."
        )
    return found[0] if found else given


def _served_label(deployment: str | None, model: str) -> str:
    provider = (deployment or "").split(":", 1)[0]
    return f"{provider}:{model}" if provider else model


def served_models_of_steps(steps: Sequence[StepRecord]) -> tuple[str, ...]:
    """The models that answered a run's LLM turns, as ``provider:model``, in first-use order."""
    seen: dict[str, None] = {}
    for step in steps:
        if step.kind == StepKind.LLM and step.model:
            seen.setdefault(_served_label(step.deployment, step.model), None)
    return tuple(seen)


def served_models(engine: Engine, run_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """For each run, the models that answered its LLM turns (none yet: an empty tuple)."""
    served: dict[str, dict[str, None]] = {run_id: {} for run_id in run_ids}
    if not run_ids:
        return {}
    query = (
        select(Step.run_id, Step.deployment, Step.model)
        .where(Step.run_id.in_(run_ids), Step.kind == StepKind.LLM, Step.model.is_not(None))
        .order_by(Step.run_id, Step.seq)
    )
    with engine.connect() as connection:
        for run_id, deployment, model in connection.execute(query):
            if model:
                served[run_id].setdefault(_served_label(deployment, model), None)
    return {run_id: tuple(models) for run_id, models in served.items()}
