"""The run journal: the source of truth for every run and step.

Every write that moves a run forward is one transaction, guarded by the step's lease, so a worker
that lost its lease (it was presumed dead and another took over) can never record an outcome.
Reads touch a bounded range of ``(run_id, seq)`` so a run's next step costs the same at step
1,000 as at step 10.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    event,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased

from orchestration.errors import ApprovalError, BackendUnreachable, JournalError, RunNotFound
from orchestration.journal.records import (
    Busy,
    Claimed,
    ClaimOutcome,
    ContextEntry,
    Done,
    NewRun,
    RunRecord,
    StepRecord,
    ToolCallRequest,
)
from orchestration.journal.tables import Run, RunStatus, Step, StepKind, StepStatus, utcnow

__all__ = ["Journal", "LeaseLost", "StepOutcome", "TurnResult", "open_journal"]

_FINAL = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED)
_LIVE_RUN = (RunStatus.QUEUED, RunStatus.RUNNING)


class LeaseLost(JournalError):
    """The worker's lease on a step lapsed and another worker took the step over."""


@dataclass(frozen=True)
class StepOutcome:
    """What a finished tool or approval step records."""

    status: StepStatus
    result: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class TurnResult:
    """What a finished LLM turn records, with the steps it creates."""

    result: dict[str, Any]
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None
    model: str
    calls: tuple[ToolCallRequest, ...]
    final_answer: str | None
    deployment: str | None = None
    requested_model: str | None = None
    request_hash: str | None = None


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN; we issue BEGIN IMMEDIATE ourselves
        # so two writers queue on the busy timeout instead of deadlocking on lock upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get("chordline_writes", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


class Journal:
    """Reads and writes runs and steps.

    Args:
        url: a SQLAlchemy URL (SQLite or PostgreSQL with psycopg).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        if make_url(url).drivername.startswith("sqlite"):
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)

    def _write(self) -> Any:
        """A write transaction (on SQLite it takes the write lock up front)."""
        return self.engine.execution_options(chordline_writes=True).begin()

    # -- schema ---------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Bring the schema to the latest migration (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self._write() as connection:
            if connection.dialect.name == "postgresql":
                # Several workers may start at once; one migrates while the others wait.
                connection.execute(text("SELECT pg_advisory_xact_lock(7710421)"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def ensure_schema(self, *, upgrade: bool) -> None:
        """Check the schema is at the latest migration, upgrading it when ``upgrade``.

        Raises:
            JournalError: the schema is behind and ``upgrade`` is False.
        """
        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        head = ScriptDirectory.from_config(config).get_current_head()
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current == head:
            return
        if upgrade:
            self.upgrade()
            return
        shown = make_url(self.url).render_as_string(hide_password=True)
        raise JournalError(
            f"journal {shown} is at schema revision {current or 'none'}, this code needs "
            f"{head}. Fix: run `chordline db upgrade` once (a one-off admin process)."
        )

    def ping(self) -> None:
        """Check the database answers.

        Raises:
            BackendUnreachable: naming the URL (password masked) and the fix.
        """
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as exc:
            shown = make_url(self.url).render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise BackendUnreachable(
                f"journal database {shown} is unreachable: {reason}. Fix: start the database "
                "or point CHORDLINE_DATABASE_URL at one that runs."
            ) from None

    # -- runs -----------------------------------------------------------------------------

    def create_run(self, new: NewRun) -> RunRecord:
        """Record a new run and its first step (an LLM turn). Idempotent on ``run_id``."""
        now = utcnow()
        try:
            with self._write() as connection:
                connection.execute(
                    insert(Run).values(
                        id=new.run_id,
                        tenant=new.tenant,
                        agent=new.agent,
                        agent_version=new.agent_version,
                        prompt_hash=new.prompt_hash,
                        model=new.model,
                        tool_schemas_hash=new.tool_schemas_hash,
                        status=RunStatus.QUEUED,
                        input=new.input,
                        next_seq=2,
                        turns=0,
                        tool_error_streak=0,
                        max_steps=new.max_steps,
                        max_tokens=new.max_tokens,
                        max_usd=new.max_usd,
                        input_tokens=0,
                        output_tokens=0,
                        cost_usd=Decimal(0),
                        trace_id=new.trace_id,
                        run_metadata=new.metadata,
                        idempotency_key=new.idempotency_key,
                        request_hash=new.request_hash,
                        created_at=now,
                        updated_at=now,
                    )
                )
                connection.execute(
                    insert(Step).values(
                        _new_step(
                            run_id=new.run_id,
                            seq=1,
                            turn=0,
                            kind=StepKind.LLM,
                            name="turn",
                            now=now,
                        )
                    )
                )
        except IntegrityError:
            pass  # a redelivered submit: the run exists already
        return self.get_run(new.run_id)

    def get_run(self, run_id: str, tenant: str | None = None) -> RunRecord:
        """Return a run, only if it belongs to ``tenant`` when one is given.

        Raises:
            RunNotFound: no such run for that tenant.
        """
        query = select(Run).where(Run.id == run_id)
        if tenant is not None:
            query = query.where(Run.tenant == tenant)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            raise RunNotFound(f"no run {run_id!r}. Fix: list runs with `chordline runs`.")
        return RunRecord.of(row)

    def list_runs(self, tenant: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The newest runs first."""
        query = select(Run).order_by(Run.created_at.desc()).limit(limit)
        if tenant is not None:
            query = query.where(Run.tenant == tenant)
        with self.engine.connect() as connection:
            return [RunRecord.of(row) for row in connection.execute(query)]

    def finish_run(
        self, run_id: str, status: RunStatus, *, output: str | None = None, error: str | None = None
    ) -> bool:
        """Move a live run to a final status; False when it had already ended."""
        now = utcnow()
        with self._write() as connection:
            result = connection.execute(
                update(Run)
                .where(Run.id == run_id, Run.status.not_in([s.value for s in _terminal()]))
                .values(status=status, output=output, error=error, finished_at=now, updated_at=now)
            )
        return int(result.rowcount) == 1

    # -- steps ----------------------------------------------------------------------------

    def step(self, run_id: str, seq: int) -> StepRecord:
        """One step by its key."""
        with self.engine.connect() as connection:
            row = connection.execute(select(Step).where(Step.run_id == run_id, Step.seq == seq))
            found = row.first()
        if found is None:
            raise JournalError(f"run {run_id} has no step {seq}")
        return StepRecord.of(found)

    def steps(self, run_id: str, after: int = 0, upto: int | None = None) -> list[StepRecord]:
        """Steps with ``after < seq <= upto`` in order (the whole run by default)."""
        query = select(Step).where(Step.run_id == run_id, Step.seq > after).order_by(Step.seq)
        if upto is not None:
            query = query.where(Step.seq <= upto)
        with self.engine.connect() as connection:
            return [StepRecord.of(row) for row in connection.execute(query)]

    def context_entries(self, run_id: str, before: int, limit: int) -> list[ContextEntry]:
        """Up to ``limit`` steps before ``before``, newest first, with only what a conversation
        needs: one indexed range read whose cost does not grow with the run."""
        query = (
            select(
                Step.seq, Step.kind, Step.name, Step.call_id, Step.result, Step.status, Step.error
            )
            .where(Step.run_id == run_id, Step.seq < before)
            .order_by(Step.seq.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [
                ContextEntry(
                    seq=row.seq,
                    kind=StepKind(row.kind),
                    name=row.name,
                    call_id=row.call_id,
                    result=row.result,
                    status=StepStatus(row.status),
                    error=row.error,
                )
                for row in connection.execute(query)
            ]

    def claim(self, run_id: str, seq: int, owner: str, lease_s: float) -> ClaimOutcome:
        """Take the lease on a step that is pending or whose lease lapsed.

        Returns:
            :class:`Claimed` when the caller must run the step, :class:`Done` when it already has
            an outcome, :class:`Busy` when another worker's lease is live.
        """
        now = utcnow()
        with self._write() as connection:
            _lease_only(connection)
            claimed = connection.execute(
                update(Step)
                .where(
                    Step.run_id == run_id,
                    Step.seq == seq,
                    or_(
                        Step.status == StepStatus.PENDING,
                        and_(Step.status == StepStatus.RUNNING, Step.lease_expires_at < now),
                    ),
                )
                .values(
                    status=StepStatus.RUNNING,
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_s),
                    attempt=Step.attempt + 1,
                    started_at=now,
                )
            )
            found = connection.execute(
                select(Step).where(Step.run_id == run_id, Step.seq == seq)
            ).first()
            run_row = connection.execute(select(Run).where(Run.id == run_id)).first()
            if claimed.rowcount == 1 and seq == 1 and run_row is not None:
                connection.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
                    .values(status=RunStatus.RUNNING, updated_at=now)
                )
        if found is None or run_row is None:
            raise JournalError(f"run {run_id} has no step {seq}; was it deleted?")
        step = StepRecord.of(found)
        if claimed.rowcount == 1:
            return Claimed(step=step, run=RunRecord.of(run_row))
        if step.status.final or step.status == StepStatus.WAITING:
            return Done(step=step)
        expires = step.lease_expires_at or now
        return Busy(step=step, retry_in_s=max((expires - now).total_seconds(), 0.05))

    def renew(self, run_id: str, seq: int, owner: str, lease_s: float) -> bool:
        """Extend a lease the caller holds; False when it was lost."""
        now = utcnow()
        with self._write() as connection:
            result = connection.execute(
                update(Step)
                .where(
                    Step.run_id == run_id,
                    Step.seq == seq,
                    Step.lease_owner == owner,
                    Step.status == StepStatus.RUNNING,
                )
                .values(lease_expires_at=now + timedelta(seconds=lease_s))
            )
        return int(result.rowcount) == 1

    def release(self, run_id: str, seq: int, owner: str) -> None:
        """Give a claimed step back unrun (its predecessors are not finished yet); the claim
        does not count as an attempt."""
        with self._write() as connection:
            connection.execute(
                update(Step)
                .where(Step.run_id == run_id, Step.seq == seq, Step.lease_owner == owner)
                .values(
                    status=StepStatus.PENDING,
                    lease_owner=None,
                    lease_expires_at=None,
                    attempt=Step.attempt - 1,
                    started_at=None,
                )
            )

    def complete_step(self, run_id: str, seq: int, owner: str, outcome: StepOutcome) -> StepRecord:
        """Record a tool or approval step's outcome, if the caller still holds its lease.

        Raises:
            LeaseLost: another worker took the step over; nothing was recorded.
        """
        now = utcnow()
        with self._write() as connection:
            self._finish_leased(
                connection, run_id=run_id, seq=seq, owner=owner, now=now, outcome=outcome
            )
            # Read back in the same transaction: no second checkout, ping and rollback.
            row = connection.execute(
                select(Step).where(Step.run_id == run_id, Step.seq == seq)
            ).one()
        return StepRecord.of(row)

    def complete_turn(self, run_id: str, seq: int, owner: str, turn: TurnResult) -> RunRecord:
        """Record an LLM answer and, in the same transaction, the steps it asks for.

        Raises:
            LeaseLost: another worker took the step over; nothing was recorded.
        """
        now = utcnow()
        with self._write() as connection:
            self._finish_leased(
                connection,
                run_id=run_id,
                seq=seq,
                owner=owner,
                now=now,
                outcome=StepOutcome(StepStatus.SUCCEEDED, turn.result),
                tokens=(turn.input_tokens, turn.output_tokens),
                cost=turn.cost_usd,
                model=turn.model,
                llm=(turn.deployment, turn.requested_model, turn.request_hash),
            )
            run = connection.execute(select(Run).where(Run.id == run_id)).one()
            rows, next_seq = _steps_for_calls(run_id, seq, run.next_seq, turn.calls, now)
            if rows:
                connection.execute(insert(Step), rows)
            cost = None if run.cost_usd is None or turn.cost_usd is None else run.cost_usd
            values: dict[str, Any] = {
                "next_seq": next_seq,
                "turns": run.turns + 1,
                "input_tokens": run.input_tokens + turn.input_tokens,
                "output_tokens": run.output_tokens + turn.output_tokens,
                "cost_usd": None if cost is None else cost + (turn.cost_usd or 0),
                "updated_at": now,
            }
            if turn.final_answer is not None:
                values |= {
                    "status": RunStatus.SUCCEEDED,
                    "output": turn.final_answer,
                    "finished_at": now,
                }
            connection.execute(update(Run).where(Run.id == run_id).values(**values))
            updated = connection.execute(select(Run).where(Run.id == run_id)).one()
        return RunRecord.of(updated)

    def set_tool_error_streak(self, run_id: str, streak: int) -> None:
        """Store the count of consecutive failed tool calls."""
        with self._write() as connection:
            connection.execute(update(Run).where(Run.id == run_id).values(tool_error_streak=streak))

    def wait_for_approval(self, run_id: str, seq: int, owner: str) -> None:
        """Park an approval step and its run until a person decides; no worker waits."""
        now = utcnow()
        with self._write() as connection:
            self._finish_leased(
                connection,
                run_id=run_id,
                seq=seq,
                owner=owner,
                now=now,
                outcome=StepOutcome(StepStatus.WAITING, None),
            )
            connection.execute(
                update(Run)
                .where(Run.id == run_id, Run.status.in_([s.value for s in _LIVE_RUN]))
                .values(status=RunStatus.WAITING_FOR_APPROVAL, updated_at=now)
            )

    def decide_approval(
        self, run_id: str, seq: int, decision: dict[str, Any], tenant: str | None = None
    ) -> RunRecord:
        """Record a person's decision on a waiting approval step and wake its run.

        Raises:
            ApprovalError: the step is not an approval waiting for a decision.
            RunNotFound: no such run for that tenant.
        """
        run = self.get_run(run_id, tenant)
        now = utcnow()
        with self._write() as connection:
            decided = connection.execute(
                update(Step)
                .where(
                    Step.run_id == run_id,
                    Step.seq == seq,
                    Step.kind == StepKind.APPROVAL,
                    Step.status == StepStatus.WAITING,
                )
                .values(status=StepStatus.SUCCEEDED, result=decision, finished_at=now)
            )
            if decided.rowcount != 1:
                raise ApprovalError(
                    f"run {run.id} step {seq} is not waiting for approval. Fix: check "
                    f"`chordline status {run.id}` for the step that waits."
                )
            connection.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RunStatus.WAITING_FOR_APPROVAL)
                .values(status=RunStatus.RUNNING, updated_at=now)
            )
        return self.get_run(run_id)

    def waiting_approvals(self, run_id: str) -> list[StepRecord]:
        """The approval steps of a run that wait for a person."""
        query = select(Step).where(
            Step.run_id == run_id,
            Step.kind == StepKind.APPROVAL,
            Step.status == StepStatus.WAITING,
        )
        with self.engine.connect() as connection:
            return [StepRecord.of(row) for row in connection.execute(query)]

    # -- spending and the answer cache ---------------------------------------------------

    def tenant_spend_since(self, tenant: str, since: datetime) -> Decimal:
        """Dollars the tenant's LLM steps cost since ``since``, across every worker (steps of
        unknown cost count as 0 here: the price table warns about those)."""
        query = (
            select(func.coalesce(func.sum(Step.cost_usd), 0))
            .join(Run, Run.id == Step.run_id)
            .where(
                Run.tenant == tenant,
                Step.kind == StepKind.LLM,
                Step.finished_at >= since,
            )
        )
        with self.engine.connect() as connection:
            return Decimal(str(connection.execute(query).scalar_one()))

    def cached_answer(self, tenant: str, request_hash: str) -> dict[str, Any] | None:
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
        with self.engine.connect() as connection:
            found = connection.execute(query).first()
        return None if found is None else dict(found[0])

    # -- recovery -------------------------------------------------------------------------

    def stale_runs(self, stale_after_s: float, limit: int = 100) -> list[str]:
        """Live runs that stopped moving, oldest first.

        A run stopped moving when a step's lease lapsed (its worker died: found at once), or when
        it has queued work, no live lease and nothing happened to it for ``stale_after_s`` (a
        message was lost: the broker was flushed, or a dead worker held it unstarted). Activity
        counts step creation, claims, outcomes and re-drives, so a step that waits for its
        predecessors, or a run just re-driven, is not taken for lost.
        """
        now = utcnow()
        cutoff = now - timedelta(seconds=stale_after_s)
        lapsed = and_(Step.status == StepStatus.RUNNING, Step.lease_expires_at < now)
        other = aliased(Step)
        moving = (
            exists()
            .where(
                other.run_id == Step.run_id,
                or_(
                    and_(other.status == StepStatus.RUNNING, other.lease_expires_at >= now),
                    other.created_at > cutoff,
                    other.started_at > cutoff,
                    other.finished_at > cutoff,
                ),
            )
            .correlate(Step)
        )
        idle = and_(
            Step.status == StepStatus.PENDING,
            Run.updated_at < cutoff,
            or_(Run.redriven_at.is_(None), Run.redriven_at < cutoff),
            ~moving,
        )
        query = (
            select(Step.run_id)
            .join(Run, Run.id == Step.run_id)
            .where(or_(lapsed, idle), Run.status.in_([s.value for s in _LIVE_RUN]))
            .distinct()
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [row[0] for row in connection.execute(query)]

    def mark_redriven(self, run_id: str, not_within_s: float) -> bool:
        """Take the re-drive of a run unless one happened within ``not_within_s``.

        In the same transaction the run's lapsed leases are handed back (the steps become pending
        again), so a sweeper that looks next finds nothing lapsed. Two sweepers racing on one run
        both call this; exactly one gets True.

        Returns:
            True when the caller must re-drive the run.
        """
        now = utcnow()
        with self._write() as connection:
            result = connection.execute(
                update(Run)
                .where(
                    Run.id == run_id,
                    or_(
                        Run.redriven_at.is_(None),
                        Run.redriven_at < now - timedelta(seconds=not_within_s),
                    ),
                )
                .values(redriven_at=now)
            )
            if result.rowcount != 1:
                return False
            connection.execute(
                update(Step)
                .where(
                    Step.run_id == run_id,
                    Step.status == StepStatus.RUNNING,
                    Step.lease_expires_at < now,
                )
                .values(status=StepStatus.PENDING, lease_owner=None, lease_expires_at=None)
            )
        return True

    def unfinished_runs(self, limit: int = 100) -> list[RunRecord]:
        """Runs that have not ended (queued, running or waiting for a person), oldest first."""
        live = [*_LIVE_RUN, RunStatus.WAITING_FOR_APPROVAL]
        query = (
            select(Run)
            .where(Run.status.in_([s.value for s in live]))
            .order_by(Run.created_at)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [RunRecord.of(row) for row in connection.execute(query)]

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _finish_leased(
        connection: Connection,
        *,
        run_id: str,
        seq: int,
        owner: str,
        now: Any,
        outcome: StepOutcome,
        tokens: tuple[int, int] = (0, 0),
        cost: Decimal | None = None,
        model: str | None = None,
        llm: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> None:
        result = connection.execute(
            update(Step)
            .where(
                Step.run_id == run_id,
                Step.seq == seq,
                Step.lease_owner == owner,
                Step.status == StepStatus.RUNNING,
            )
            .values(
                status=outcome.status,
                result=outcome.result,
                error=outcome.error,
                finished_at=None if outcome.status == StepStatus.WAITING else now,
                lease_owner=None,
                lease_expires_at=None,
                input_tokens=tokens[0],
                output_tokens=tokens[1],
                cost_usd=cost,
                model=model,
                deployment=llm[0],
                requested_model=llm[1],
                request_hash=llm[2],
            )
        )
        if result.rowcount != 1:
            raise LeaseLost(f"run {run_id} step {seq}: lease lost by {owner}; outcome dropped")


def _lease_only(connection: Connection) -> None:
    """Let a transaction that only takes or moves a lease commit without waiting for its WAL
    flush (PostgreSQL). A database crash can lose such a commit, never part of one, and the
    next outcome's commit flushes it anyway; a lost lease only means the step runs again, which
    a dead worker's step may already do, and its outcome then fails with LeaseLost. Outcomes and
    recorded effects keep waiting for the flush."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL synchronous_commit = off"))


def _terminal() -> Sequence[RunStatus]:
    return [status for status in RunStatus if status.terminal]


def _new_step(
    *,
    run_id: str,
    seq: int,
    turn: int,
    kind: StepKind,
    name: str,
    now: Any,
    call: ToolCallRequest | None = None,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "seq": seq,
        "turn": turn,
        "kind": kind,
        "name": name,
        "call_id": call.call_id if call else None,
        "arguments": call.arguments if call else None,
        "status": StepStatus.PENDING,
        "attempt": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "created_at": now,
    }


def _steps_for_calls(
    run_id: str, turn_seq: int, next_seq: int, calls: Sequence[ToolCallRequest], now: Any
) -> tuple[list[dict[str, Any]], int]:
    """Rows for the steps a turn asks for: per call an optional approval then the tool call,
    then the next LLM turn. Returns the rows and the run's next free seq."""
    rows: list[dict[str, Any]] = []
    seq = next_seq
    for call in calls:
        if call.requires_approval:
            rows.append(
                _new_step(
                    run_id=run_id,
                    seq=seq,
                    turn=turn_seq,
                    kind=StepKind.APPROVAL,
                    name=call.name,
                    now=now,
                    call=call,
                )
            )
            seq += 1
        rows.append(
            _new_step(
                run_id=run_id,
                seq=seq,
                turn=turn_seq,
                kind=StepKind.TOOL,
                name=call.name,
                now=now,
                call=call,
            )
        )
        seq += 1
    if rows:
        rows.append(
            _new_step(
                run_id=run_id, seq=seq, turn=turn_seq, kind=StepKind.LLM, name="turn", now=now
            )
        )
        seq += 1
    return rows, seq


@functools.cache
def open_journal(url: str) -> Journal:
    """One :class:`Journal` (and connection pool) per URL per process."""
    return Journal(url)
