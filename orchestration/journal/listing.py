"""Listing runs for people and scripts: one filter, one page, one cursor, for every face.

``chordline runs`` pages by number (with a total count); ``GET /v1/runs`` pages by cursor. Both
go through :func:`list_runs` with a :class:`RunFilter`, newest first, ties broken by id, so a
page by number and a page by cursor hold the same runs in the same order. Also here: a run id
from a short prefix, and the models that served runs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select

from orchestration.errors import RunNotFound, RunRequestError
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import Run, RunStatus, Step, StepKind

__all__ = [
    "RunFilter",
    "RunPage",
    "last_change",
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

    A face that serves a tenant (the HTTP API) always sets ``tenant``: one tenant never sees
    another's runs.

    Attributes:
        tenant: only this tenant's runs.
        agent: only runs of this agent.
        statuses: only runs in one of these statuses.
        since: only runs created at or after this instant (``chordline runs --since``).
        created_after: only runs created strictly after this instant.
        created_before: only runs created strictly before this instant.
        text: only runs whose input holds this text (any case).

    A time without a zone is read as UTC.
    """

    tenant: str | None = None
    agent: str | None = None
    statuses: tuple[RunStatus, ...] = ()
    since: datetime | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    text: str | None = None


@dataclass(frozen=True)
class RunPage:
    """One page of a listing, newest first.

    Attributes:
        runs: the runs on this page.
        next_cursor: the cursor of the page after this one (None: this is the last).
        page: the page number, from 1 (a page reached by cursor counts as 1).
        per_page: runs per page.
        total: runs matching the filter on all pages, when counted (else None).
    """

    runs: tuple[RunRecord, ...]
    next_cursor: str | None
    page: int
    per_page: int
    total: int | None = None

    @property
    def pages(self) -> int | None:
        """How many pages the filter's runs fill (at least 1), when counted."""
        return None if self.total is None else max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """True when a later page holds more runs."""
        return self.next_cursor is not None


def _utc(value: datetime) -> datetime:
    # A time without a zone is read as UTC (the journal refuses naive datetimes).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _cursor(run: RunRecord) -> str:
    raw = f"{run.created_at.isoformat()}|{run.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, run_id = raw.partition("|")
        return _utc(datetime.fromisoformat(at)), run_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise RunRequestError(
            "cursor: not a cursor this API gave out. Fix: pass the next_cursor of the previous "
            "page unchanged, or leave it out for the first page.",
            field="cursor",
        ) from None


def _conditions(where: RunFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.tenant is not None:
        conditions.append(Run.tenant == where.tenant)
    if where.agent is not None:
        conditions.append(Run.agent == where.agent)
    if where.statuses:
        conditions.append(Run.status.in_([s.value for s in where.statuses]))
    if where.since is not None:
        conditions.append(Run.created_at >= _utc(where.since))
    if where.created_after is not None:
        conditions.append(Run.created_at > _utc(where.created_after))
    if where.created_before is not None:
        conditions.append(Run.created_at < _utc(where.created_before))
    if where.text:
        conditions.append(Run.input.icontains(where.text, autoescape=True))
    return conditions


def list_runs(
    engine: Engine,
    where: RunFilter,
    *,
    per_page: int = 20,
    page: int = 1,
    cursor: str | None = None,
    count: bool = False,
) -> RunPage:
    """The runs matching ``where``, newest first (ties by id), one page of them.

    Args:
        engine: the journal's engine.
        where: the filter.
        per_page: runs per page.
        page: the page, from 1 (ignored with a cursor).
        cursor: the ``next_cursor`` of the page before (instead of a page number).
        count: also count the runs matching the filter on all pages.

    Raises:
        RunRequestError: the cursor is not one a listing gave out.
    """
    conditions = _conditions(where)
    query = select(Run).where(*conditions)
    if cursor:
        at, run_id = _after(cursor)
        page = 1
        query = query.where(or_(Run.created_at < at, and_(Run.created_at == at, Run.id < run_id)))
    else:
        query = query.offset((page - 1) * per_page)
    # One more than a page: whether another page follows, without counting.
    query = query.order_by(Run.created_at.desc(), Run.id.desc()).limit(per_page + 1)
    with engine.connect() as connection:
        rows = [RunRecord.of(row) for row in connection.execute(query)]
        total = None
        if count:
            counted = select(func.count()).select_from(Run).where(*conditions)
            total = int(connection.execute(counted).scalar_one())
    runs = tuple(rows[:per_page])
    following = _cursor(runs[-1]) if len(rows) > per_page and runs else None
    return RunPage(runs, following, page, per_page, total)


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


def last_change(engine: Engine, tenant: str | None) -> datetime | None:
    """When a run (of ``tenant``, or of any tenant) last changed: what a live listing polls
    (one row from the ``(tenant, updated_at)`` index)."""
    query = select(func.max(Run.updated_at))
    if tenant is not None:
        query = query.where(Run.tenant == tenant)
    with engine.connect() as connection:
        found = connection.execute(query).scalar()
    return None if found is None else _utc(found)
