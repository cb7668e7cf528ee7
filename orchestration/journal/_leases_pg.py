"""The hot path on PostgreSQL: each claim and each outcome is one statement, one round trip.

Data-modifying CTEs let one statement take a lease and read what the step needs (its run and the
steps before it), or record an outcome together with the steps a turn asks for and the run's new
counters. PostgreSQL runs every part of a statement on one snapshot and commits it atomically,
so these keep the same guarantees as :class:`orchestration.journal._leases.PortableLeases`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, RowMapping, text

from orchestration.errors import JournalError
from orchestration.journal._leases import LeaseLost, PortableLeases, not_claimed
from orchestration.journal.payloads import encode
from orchestration.journal.records import (
    Claimed,
    ClaimOutcome,
    ContextEntry,
    RunRecord,
    StepOutcome,
    StepRecord,
    TurnResult,
)
from orchestration.journal.runs import TERMINAL
from orchestration.journal.tables import RunStatus, StepStatus, utcnow
from orchestration.storable_text import journal_json, storable

__all__ = ["PostgresLeases"]

# The run's columns the claim returns: every field of RunRecord, so the two cannot drift apart.
_RUN_COLUMNS = tuple(RunRecord.__dataclass_fields__)

_CLAIM = text(
    """
    WITH claimed AS (
        UPDATE steps
        SET status = 'running', lease_owner = :owner, lease_expires_at = :expires,
            attempt = attempt + 1, started_at = :now
        WHERE run_id = :run_id AND seq = :seq
          AND (status = 'pending' OR (status = 'running' AND lease_expires_at < :now))
        RETURNING *
    ), started AS (
        UPDATE runs SET status = 'running', updated_at = :now
        WHERE CAST(:seq AS integer) = 1 AND id = :run_id AND status = 'queued'
          AND EXISTS (SELECT 1 FROM claimed)
        RETURNING id
    ), relaxed AS (
        SELECT set_config('synchronous_commit', 'off', true)
    )
    SELECT c.*, """
    + ", ".join(f"r.{name} AS r_{name}" for name in _RUN_COLUMNS)
    + """, EXISTS (SELECT 1 FROM started) AS r_started,
        (SELECT json_agg(json_build_object(
                    'seq', w.seq, 'kind', w.kind, 'name', w.name, 'call_id', w.call_id,
                    'result', w.result, 'status', w.status, 'error', w.error)
                ORDER BY w.seq DESC)
         FROM (SELECT seq, kind, name, call_id, result, status, error FROM steps s
               WHERE s.run_id = c.run_id AND s.seq < c.seq AND s.seq >= c.seq - :window
               ORDER BY s.seq DESC LIMIT :window) w) AS r_window
    FROM claimed c
    JOIN runs r ON r.id = c.run_id
    CROSS JOIN relaxed
    """
)

_STEP = text("SELECT * FROM steps WHERE run_id = :run_id AND seq = :seq")

_FINISH = """
    UPDATE steps
    SET status = :status, result = CAST(:result AS json), error = :error,
        finished_at = :finished_at, lease_owner = NULL, lease_expires_at = NULL{extra}
    WHERE run_id = :run_id AND seq = :seq AND lease_owner = :owner AND status = 'running'
    RETURNING run_id
"""

_COMPLETE_STEP = text(_FINISH.format(extra=""))

_PARK = text(
    "WITH parked AS ("
    + _FINISH.format(extra="")
    + """), woke AS (
        UPDATE runs SET status = 'waiting_for_approval', updated_at = :now
        WHERE id = :run_id AND status IN ('queued', 'running')
          AND EXISTS (SELECT 1 FROM parked)
        RETURNING id
    )
    SELECT count(*) FROM parked
    """
)

_TERMINAL_SQL = ", ".join(f"'{status}'" for status in TERMINAL)
_ENDS = f"CAST(:final AS text) IS NOT NULL AND status NOT IN ({_TERMINAL_SQL})"

_COMPLETE_TURN = text(
    "WITH done AS ("
    + _FINISH.format(
        extra=""",
        input_tokens = :input_tokens, output_tokens = :output_tokens,
        cost_usd = CAST(:cost AS numeric), model = :model, deployment = :deployment,
        requested_model = :requested_model, request_hash = :request_hash"""
    )
    + """), added AS (
        INSERT INTO steps (run_id, seq, turn, kind, name, call_id, arguments, status, attempt,
                           input_tokens, output_tokens, created_at)
        SELECT d.run_id, n.seq, n.turn, n.kind, n.name, n.call_id, n.arguments, 'pending', 0,
               0, 0, :now
        FROM done d
        CROSS JOIN json_to_recordset(CAST(:steps AS json))
            AS n(seq int, turn int, kind text, name text, call_id text, arguments text)
        RETURNING seq
    ), moved AS (
        UPDATE runs
        SET next_seq = :next_seq, turns = turns + 1, tool_error_streak = :streak,
            input_tokens = input_tokens + :input_tokens,
            output_tokens = output_tokens + :output_tokens,
            cost_usd = cost_usd + CAST(:cost AS numeric), updated_at = :now,
            """
    + f"""status = CASE WHEN {_ENDS} THEN 'succeeded' ELSE status END,
            output = CASE WHEN {_ENDS} THEN CAST(:final AS text) ELSE output END,
            finished_at = CASE WHEN {_ENDS} THEN :now ELSE finished_at END
        WHERE id = :run_id AND EXISTS (SELECT 1 FROM done)
        RETURNING id
    )
    SELECT count(*) FROM done
    """
)


def _run(row: RowMapping) -> RunRecord:
    values = {name: row[f"r_{name}"] for name in _RUN_COLUMNS}
    values["status"] = RunStatus.RUNNING if row["r_started"] else RunStatus(values["status"])
    return RunRecord(**values)


def _outcome_params(
    run_id: str, seq: int, owner: str, outcome: StepOutcome, now: datetime
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "seq": seq,
        "owner": owner,
        "status": outcome.status.value,
        # Raw SQL binds no column types: the journal's encodings are applied here (tables.py).
        "result": None if outcome.result is None else journal_json(encode(outcome.result)),
        "error": storable(outcome.error),
        "finished_at": None if outcome.status == StepStatus.WAITING else now,
        "now": now,
    }


class PostgresLeases(PortableLeases):
    """:class:`PortableLeases` with its claim and outcomes in one statement each.

    Each of those statements runs in autocommit mode: PostgreSQL makes a single statement a
    transaction of its own, so BEGIN and COMMIT would only add two round trips.

    A claim commits without waiting for its WAL flush (``synchronous_commit`` off for that one
    transaction, set inside the statement; ~0.15 ms less a claim here). A database crash can then
    lose a claim, never half of one, and a lost claim is a lost lease: the step runs again, as it
    would after the same crash with the claim flushed, since the worker's outcome could not be
    recorded either. Outcomes, and the effects recorded with them, keep waiting for the flush.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.single = engine.execution_options(isolation_level="AUTOCOMMIT")

    def claim(
        self, run_id: str, seq: int, owner: str, lease_s: float, window: int = 0
    ) -> ClaimOutcome:
        """One statement: take the lease, read the run and ``window`` earlier steps."""
        now = utcnow()
        params = {
            "run_id": run_id,
            "seq": seq,
            "owner": owner,
            "now": now,
            "expires": now + timedelta(seconds=lease_s),
            "window": window,
        }
        with self.single.connect() as connection:
            row = connection.execute(_CLAIM, params).first()
            if row is None:
                found = connection.execute(_STEP, params).first()
        if row is None:
            if found is None:
                raise JournalError(f"run {run_id} has no step {seq}; was it deleted?")
            return not_claimed(StepRecord.of(found), now)
        entries = tuple(ContextEntry.of(item) for item in row.r_window or ())
        return Claimed(step=StepRecord.of(row), run=_run(row._mapping), window=entries)

    def complete_step(self, run_id: str, seq: int, owner: str, outcome: StepOutcome) -> None:
        """One statement: record the outcome if the caller still holds the lease.

        Raises:
            LeaseLost: another worker took the step over; nothing was recorded.
        """
        params = _outcome_params(run_id, seq, owner, outcome, utcnow())
        with self.single.connect() as connection:
            recorded = connection.execute(_COMPLETE_STEP, params).first()
        if recorded is None:
            raise LeaseLost(f"run {run_id} step {seq}: lease lost by {owner}; outcome dropped")

    def park(self, run_id: str, seq: int, owner: str) -> None:
        """One statement: park the approval step and its run.

        Raises:
            LeaseLost: another worker took the step over; nothing was recorded.
        """
        outcome = StepOutcome(StepStatus.WAITING, None)
        with self.single.connect() as connection:
            parked = connection.execute(
                _PARK, _outcome_params(run_id, seq, owner, outcome, utcnow())
            ).scalar_one()
        if parked != 1:
            raise LeaseLost(f"run {run_id} step {seq}: lease lost by {owner}; outcome dropped")

    def complete_turn(self, run_id: str, seq: int, owner: str, turn: TurnResult) -> None:
        """One statement: the answer, the steps it asks for and the run's new counters.

        Raises:
            LeaseLost: another worker took the step over; nothing was recorded.
        """
        now = utcnow()
        params = _outcome_params(
            run_id, seq, owner, StepOutcome(StepStatus.SUCCEEDED, turn.result), now
        )
        params |= {
            "input_tokens": turn.input_tokens,
            "output_tokens": turn.output_tokens,
            "cost": turn.cost_usd,
            "model": turn.model,
            "deployment": turn.deployment,
            "requested_model": turn.requested_model,
            "request_hash": turn.request_hash,
            "steps": journal_json(
                [
                    {
                        "seq": new.seq,
                        "turn": new.turn,
                        "kind": new.kind.value,
                        "name": new.name,
                        "call_id": new.call_id,
                        "arguments": new.arguments,
                    }
                    for new in turn.steps
                ]
            ),
            "next_seq": turn.next_seq,
            "streak": turn.tool_error_streak,
            "final": storable(turn.final_answer),
        }
        with self.single.connect() as connection:
            done = connection.execute(_COMPLETE_TURN, params).scalar_one()
        if done != 1:
            raise LeaseLost(f"run {run_id} step {seq}: lease lost by {owner}; outcome dropped")
