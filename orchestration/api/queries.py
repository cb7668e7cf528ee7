"""The journal reads the HTTP API adds: filtered, cursor-paginated run listings, a tenant's live
runs, idempotency look-ups and a run's metadata (SQLAlchemy Core on ``journal.engine``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from orchestration.errors import RunRequestError
from orchestration.journal import Journal
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import Run, RunStatus

__all__ = [
    "RunExtras",
    "RunFilter",
    "by_idempotency_key",
    "extras_of",
    "live_runs",
    "page_of_runs",
]

_LIVE = [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING_FOR_APPROVAL]


@dataclass(frozen=True)
class RunFilter:
    """What ``GET /v1/runs`` narrows by; every field optional."""

    status: RunStatus | None = None
    agent: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class RunExtras:
    """The columns of a run only the API reads."""

    metadata: dict[str, Any] | None
    idempotency_key: str | None
    request_hash: str | None


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


def page_of_runs(
    journal: Journal, tenant: str, where: RunFilter, *, limit: int, cursor: str | None
) -> tuple[list[RunRecord], str | None]:
    """One page of the tenant's runs, newest first, and the cursor of the next page (or None).

    Raises:
        RunRequestError: the cursor is not one this API gave out.
    """
    query = select(Run).where(Run.tenant == tenant)
    if where.status is not None:
        query = query.where(Run.status == where.status)
    if where.agent is not None:
        query = query.where(Run.agent == where.agent)
    if where.created_after is not None:
        query = query.where(Run.created_at > _utc(where.created_after))
    if where.created_before is not None:
        query = query.where(Run.created_at < _utc(where.created_before))
    if cursor:
        at, run_id = _after(cursor)
        query = query.where(or_(Run.created_at < at, and_(Run.created_at == at, Run.id < run_id)))
    query = query.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit + 1)
    with journal.engine.connect() as connection:
        runs = [RunRecord.of(row) for row in connection.execute(query)]
    more = len(runs) > limit
    runs = runs[:limit]
    return runs, _cursor(runs[-1]) if more and runs else None


def live_runs(journal: Journal, tenant: str) -> int:
    """How many of the tenant's runs have not ended."""
    query = select(func.count()).where(
        Run.tenant == tenant, Run.status.in_([s.value for s in _LIVE])
    )
    with journal.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def by_idempotency_key(journal: Journal, tenant: str, key: str) -> RunRecord | None:
    """The tenant's run created with this Idempotency-Key, if any."""
    query = select(Run).where(Run.tenant == tenant, Run.idempotency_key == key)
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else RunRecord.of(row)


def extras_of(journal: Journal, run_id: str) -> RunExtras:
    """A run's metadata and idempotency columns."""
    query = select(Run.run_metadata, Run.idempotency_key, Run.request_hash).where(Run.id == run_id)
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return RunExtras(None, None, None)
    return RunExtras(row[0], row[1], row[2])
