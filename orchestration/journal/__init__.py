"""The run journal: the source of truth for every run and step.

Every write that moves a run forward is one transaction, guarded by the step's lease, so a worker
that lost its lease (it was presumed dead and another took over) can never record an outcome.
Reads touch a bounded range of ``(run_id, seq)`` so a run's next step costs the same at step
1,000 as at step 10.

:class:`Journal` is the one facade; each concern lives in a module of its own: ``engine``
(connections), ``schema`` (migrations), ``tables`` and ``records`` (rows and their typed views),
``payloads`` (what each kind of step records, and the one codec of its JSON), ``runs`` (runs and
steps), ``listing`` (the one run listing every face pages through), ``leases`` and ``leases_pg``
(the hot path: claims and outcomes), ``approvals``, ``recovery`` and ``history`` (a tenant's
spend, cached answers).

The journal knows only its own tables. Each subsystem keeps its tables (``tables.py``, on the
journal's metadata) and its SQL (``store.py``) in its own package, and imports the journal, never
the reverse; :mod:`orchestration.tables` gathers every table for whatever compares the schema
with the migrations.
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal

from orchestration.journal import _history, _recovery, _schema, approvals, listing, runs
from orchestration.journal._leases import LeaseLost, PortableLeases
from orchestration.journal._leases_pg import PostgresLeases
from orchestration.journal.approvals import ApprovalDecision
from orchestration.journal.engine import (
    JOURNAL_DOWN,
    STATEMENT_FAILED,
    VALUE_REFUSED,
    connect_engine,
    is_postgres,
    load_driver,
)
from orchestration.journal.listing import RunFilter, RunPage
from orchestration.journal.payloads import ModelReply
from orchestration.journal.records import (
    ClaimOutcome,
    ContextEntry,
    NewRun,
    RunRecord,
    StepOutcome,
    StepRecord,
    TurnResult,
)
from orchestration.journal.runs import RunExtras
from orchestration.journal.tables import RunStatus

__all__ = [
    "JOURNAL_DOWN",
    "STATEMENT_FAILED",
    "VALUE_REFUSED",
    "Journal",
    "LeaseLost",
    "RunExtras",
    "RunFilter",
    "RunPage",
    "StepOutcome",
    "TurnResult",
    "load_driver",
    "open_journal",
]


class Journal:
    """Reads and writes runs and steps.

    Args:
        url: a SQLAlchemy URL (SQLite or PostgreSQL with psycopg).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = connect_engine(url)
        self.leases = (
            PostgresLeases(self.engine)
            if is_postgres(self.engine)
            else (PortableLeases(self.engine))
        )

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite file (a developer's own journal, migrated by whoever opens it)."""
        return self.engine.dialect.name == "sqlite"

    def dispose(self, *, close: bool = True) -> None:
        """Drop the pool's connections (``close=False`` in a forked child: leave the parent's
        sockets to the parent)."""
        self.engine.dispose(close=close)

    # -- schema ---------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Bring the schema to the latest migration (idempotent)."""
        _schema.upgrade(self.engine)

    def ensure_schema(self, *, upgrade: bool) -> None:
        """Check the schema is current, upgrading it when ``upgrade`` (else JournalError)."""
        _schema.ensure_schema(self.engine, self.url, migrate=upgrade)

    def ping(self) -> None:
        """Check the database answers (else BackendUnreachable naming it and the fix)."""
        _schema.ping(self.engine, self.url)

    def attach(self) -> None:
        """Check the database answers and its schema is current, as every process does first.

        A SQLite journal is a developer's own file, so it is brought up to date; a shared
        database is migrated by the one-off ``chordline db upgrade``, never by whoever starts
        first.

        Raises:
            BackendUnreachable: the database does not answer (naming it and the fix).
            JournalError: a shared database's schema is behind (naming the fix).
        """
        self.ping()
        self.ensure_schema(upgrade=self.is_sqlite)

    # -- runs and steps -------------------------------------------------------------------

    def create_run(self, new: NewRun) -> RunRecord:
        """Record a new run and its first step; idempotent on ``run_id``."""
        return runs.create_run(self.engine, new)

    def get_run(self, run_id: str, tenant: str | None = None) -> RunRecord:
        """A run, only if it belongs to ``tenant`` when one is given (else RunNotFound)."""
        return runs.get_run(self.engine, run_id, tenant)

    def list_runs(
        self,
        where: RunFilter | None = None,
        *,
        per_page: int = 20,
        page: int = 1,
        cursor: str | None = None,
        count: bool = False,
    ) -> RunPage:
        """One page of the runs matching ``where``, newest first: by page number, or after a
        cursor (see :func:`orchestration.journal.listing.list_runs`)."""
        return listing.list_runs(
            self.engine,
            where or RunFilter(),
            per_page=per_page,
            page=page,
            cursor=cursor,
            count=count,
        )

    def resolve_run_id(self, given: str, tenant: str | None = None) -> str:
        """The whole id of the run ``given`` names: its id, or a unique prefix of it."""
        return listing.resolve_run_id(self.engine, given, tenant)

    def served_models(self, run_ids: list[str]) -> dict[str, tuple[str, ...]]:
        """For each run, the models that answered its LLM turns, as ``provider:model``."""
        return listing.served_models(self.engine, run_ids)

    def agent_runs(self, agent: str) -> list[RunRecord]:
        """Every run of ``agent``, oldest first."""
        return runs.agent_runs(self.engine, agent)

    def live_runs(self, tenant: str) -> int:
        """How many of the tenant's runs have not ended."""
        return runs.live_runs(self.engine, tenant)

    def run_by_idempotency_key(self, tenant: str, key: str) -> RunRecord | None:
        """The tenant's run created with this Idempotency-Key, if any."""
        return runs.run_by_idempotency_key(self.engine, tenant, key)

    def last_change(self, tenant: str | None = None) -> datetime | None:
        """When a run of ``tenant`` (or of any tenant) last changed, if any ever did."""
        return listing.last_change(self.engine, tenant)

    def run_extras(self, run_id: str) -> RunExtras:
        """A run's metadata and idempotency columns (the HTTP API's)."""
        return runs.run_extras(self.engine, run_id)

    def touch_run(self, run_id: str) -> None:
        """Mark the run as moving now, so the sweeper leaves it alone for a while."""
        runs.touch_run(self.engine, run_id)

    def delete_ended_before(self, cutoff: datetime) -> tuple[int, int]:
        """Delete runs that ended before ``cutoff`` with their steps; (runs, steps) deleted."""
        return runs.delete_ended_before(self.engine, cutoff)

    def finish_run(
        self, run_id: str, status: RunStatus, *, output: str | None = None, error: str | None = None
    ) -> bool:
        """Move a live run to a final status; False when it had already ended."""
        return runs.finish_run(self.engine, run_id, status, output=output, error=error)

    def step(self, run_id: str, seq: int) -> StepRecord:
        """One step by its key."""
        return runs.step(self.engine, run_id, seq)

    def steps(self, run_id: str, after: int = 0, upto: int | None = None) -> list[StepRecord]:
        """Steps with ``after < seq <= upto`` in order (the whole run by default)."""
        return runs.steps(self.engine, run_id, after, upto)

    def context_entries(self, run_id: str, before: int, limit: int) -> list[ContextEntry]:
        """Up to ``limit`` steps before ``before``, newest first, slim."""
        return runs.context_entries(self.engine, run_id, before, limit)

    # -- leases and outcomes (the hot path) ----------------------------------------------

    def claim(
        self, run_id: str, seq: int, owner: str, lease_s: float, window: int = 0
    ) -> ClaimOutcome:
        """Take a step's lease, with its run and ``window`` earlier steps (Claimed/Done/Busy)."""
        return self.leases.claim(run_id, seq, owner, lease_s, window)

    def renew(self, run_id: str, seq: int, owner: str, lease_s: float) -> bool:
        """Extend a lease the caller holds; False when it was lost."""
        return self.leases.renew(run_id, seq, owner, lease_s)

    def release(self, run_id: str, seq: int, owner: str) -> None:
        """Give a claimed step back unrun; the claim does not count as an attempt."""
        self.leases.release(run_id, seq, owner)

    def complete_step(self, run_id: str, seq: int, owner: str, outcome: StepOutcome) -> None:
        """Record a tool or approval step's outcome (else LeaseLost)."""
        self.leases.complete_step(run_id, seq, owner, outcome)

    def complete_turn(self, run_id: str, seq: int, owner: str, turn: TurnResult) -> None:
        """Record an LLM answer with the steps it asks for, in one transaction (else LeaseLost)."""
        self.leases.complete_turn(run_id, seq, owner, turn)

    def wait_for_approval(self, run_id: str, seq: int, owner: str) -> None:
        """Park an approval step and its run until a person decides (else LeaseLost)."""
        self.leases.park(run_id, seq, owner)

    # -- approvals ------------------------------------------------------------------------

    def decide_approval(
        self, run_id: str, seq: int, decision: ApprovalDecision, tenant: str | None = None
    ) -> RunRecord:
        """Record a person's decision on approval step ``seq``; the run wakes once every
        approval of its turn is decided (see :mod:`orchestration.journal.approvals`)."""
        approvals.record_decision(self, approvals.approval_id(run_id, seq), decision, tenant)
        return self.get_run(run_id)

    def fail_waiting_approval(self, run_id: str, seq: int, error: str) -> bool:
        """Fail approval step ``seq`` if it still waits; False when it no longer does."""
        return approvals.fail_waiting(self.engine, run_id, seq, error)

    def waiting_approvals(self, run_id: str) -> list[StepRecord]:
        """The approval steps of a run that wait for a person."""
        return approvals.waiting_approvals(self.engine, run_id)

    # -- history --------------------------------------------------------------------------

    def tenant_spend_since(self, tenant: str, since: datetime) -> Decimal:
        """Dollars the tenant's LLM steps cost since ``since``."""
        return _history.tenant_spend_since(self.engine, tenant, since)

    def cached_answer(self, tenant: str, request_hash: str) -> ModelReply | None:
        """The newest recorded answer of the tenant's to a request with this hash."""
        return _history.cached_answer(self.engine, tenant, request_hash)

    # -- recovery -------------------------------------------------------------------------

    def stale_runs(
        self,
        stale_after_s: float,
        limit: int = 100,
        *,
        moved_past: datetime | None = None,
        redrives_moved_past: datetime | None = None,
    ) -> list[str]:
        """Live runs that stopped moving, oldest first; ``moved_past`` and
        ``redrives_moved_past`` say how far the broker's queues have moved, when known."""
        return _recovery.stale_runs(
            self.engine,
            stale_after_s,
            limit,
            moved_past=moved_past,
            redrives_moved_past=redrives_moved_past,
        )

    def mark_redriven(
        self, run_id: str, not_within_s: float, retake_s: float, max_retake_s: float
    ) -> bool:
        """Take the re-drive of a run unless one happened within ``not_within_s``; the steps
        handed back must be claimed within ``retake_s`` or the run is re-driven again, with
        the gap doubling up to ``max_retake_s``."""
        return _recovery.mark_redriven(self.engine, run_id, not_within_s, retake_s, max_retake_s)

    def unfinished_runs(self, limit: int = 100) -> list[RunRecord]:
        """Runs that have not ended, oldest first."""
        return _recovery.unfinished_runs(self.engine, limit)


@functools.cache
def open_journal(url: str) -> Journal:
    """One :class:`Journal` (and connection pool) per URL per process."""
    return Journal(url)
