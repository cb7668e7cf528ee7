"""The journal on SQLite and PostgreSQL: leases, idempotent creation, bounded reads, schema."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, select

from orchestration.errors import ApprovalError, RunNotFound
from orchestration.journal import Journal, LeaseLost, RunFilter, StepOutcome, TurnResult
from orchestration.journal.approvals import ApprovalDecision
from orchestration.journal.payloads import ModelReply, ToolPayload, TurnPayload
from orchestration.journal.records import (
    Busy,
    Claimed,
    Done,
    NewRun,
    ToolCallRequest,
)
from orchestration.journal.tables import Run, RunStatus, StepKind, StepStatus
from orchestration.reducer.planning import steps_for_calls
from orchestration.tables import metadata
from tests.support import idle_since


def _new(run_id: str = "run-1", tenant: str = "acme") -> NewRun:
    return NewRun(
        run_id=run_id,
        tenant=tenant,
        agent="support-triage",
        agent_version="v1",
        prompt_hash="p" * 64,
        model="scripted:planner-1",
        tool_schemas_hash="t" * 64,
        input="hello",
        max_steps=10,
        max_tokens=None,
        max_usd=Decimal("0.5"),
    )


def _turn(
    *calls: ToolCallRequest, final: str | None = None, at: int = 1, next_seq: int = 2
) -> TurnResult:
    steps, next_seq = steps_for_calls(at, next_seq, calls)
    return TurnResult(
        result=TurnPayload(ModelReply(final)),
        input_tokens=10,
        output_tokens=5,
        cost_usd=Decimal("0.001"),
        model="planner-1",
        steps=steps,
        next_seq=next_seq,
        final_answer=final,
    )


def _call(name: str, *, approval: bool = False) -> ToolCallRequest:
    return ToolCallRequest(
        f"id-{name}", name, "{}", read_only=not approval, requires_approval=approval
    )


def test_schema_matches_models(journal: Journal) -> None:
    def ours(_obj: object, _name: str | None, type_: str, reflected: bool, other: object) -> bool:
        # Tools keep tables of their own in the same database (refunds, test effects).
        return not (type_ == "table" and reflected and other is None)

    with journal.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": ours})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_create_run_is_idempotent_and_starts_with_a_pending_turn(journal: Journal) -> None:
    first = journal.create_run(_new())
    again = journal.create_run(_new())
    assert first.id == again.id == "run-1"
    steps = journal.steps("run-1")
    assert [(s.seq, s.kind, s.status) for s in steps] == [(1, StepKind.LLM, StepStatus.PENDING)]
    assert first.status == RunStatus.QUEUED


def test_tenant_scoping_hides_other_tenants_runs(journal: Journal) -> None:
    journal.create_run(_new(tenant="acme"))
    assert journal.get_run("run-1", tenant="acme").tenant == "acme"
    with pytest.raises(RunNotFound):
        journal.get_run("run-1", tenant="globex")
    assert journal.list_runs(RunFilter(tenant="globex")).runs == ()


def test_claim_gives_one_owner_then_done_with_recorded_result(journal: Journal) -> None:
    journal.create_run(_new())
    first = journal.claim("run-1", 1, "worker-a", lease_s=30)
    second = journal.claim("run-1", 1, "worker-b", lease_s=30)
    assert isinstance(first, Claimed)
    assert first.run.status == RunStatus.RUNNING  # the first turn's claim starts the run
    assert journal.get_run("run-1").status == RunStatus.RUNNING
    assert isinstance(second, Busy)
    journal.complete_turn("run-1", 1, "worker-a", _turn(final="done"))
    third = journal.claim("run-1", 1, "worker-b", lease_s=30)
    assert isinstance(third, Done)
    assert third.step.result == TurnPayload(ModelReply("done"))
    assert third.step.attempt == 1
    run = journal.get_run("run-1")
    assert (run.status, run.output, run.input_tokens, run.output_tokens) == (
        RunStatus.SUCCEEDED,
        "done",
        10,
        5,
    )


def test_lapsed_lease_is_taken_over_and_the_old_owner_cannot_record(journal: Journal) -> None:
    journal.create_run(_new())
    assert isinstance(journal.claim("run-1", 1, "dead", lease_s=0.05), Claimed)
    deadline = time.monotonic() + 5
    taken = journal.claim("run-1", 1, "alive", lease_s=30)
    while not isinstance(taken, Claimed) and time.monotonic() < deadline:
        time.sleep(0.01)  # the lease lapses with time: look again shortly, not in a hot loop
        taken = journal.claim("run-1", 1, "alive", lease_s=30)
    assert isinstance(taken, Claimed)
    assert taken.step.attempt == 2
    with pytest.raises(LeaseLost):
        journal.complete_turn("run-1", 1, "dead", _turn(final="stale"))
    journal.complete_turn("run-1", 1, "alive", _turn(final="fresh"))
    assert journal.get_run("run-1").output == "fresh"


def test_turn_creates_approval_tool_and_next_turn_steps_atomically(journal: Journal) -> None:
    journal.create_run(_new())
    journal.claim("run-1", 1, "w", lease_s=30)
    journal.complete_turn("run-1", 1, "w", _turn(_call("read"), _call("refund", approval=True)))
    run = journal.get_run("run-1")
    steps = journal.steps("run-1")
    assert [(s.seq, s.kind, s.name, s.turn) for s in steps] == [
        (1, StepKind.LLM, "turn", 0),
        (2, StepKind.TOOL, "read", 1),
        (3, StepKind.APPROVAL, "refund", 1),
        (4, StepKind.TOOL, "refund", 1),
        (5, StepKind.LLM, "turn", 1),
    ]
    assert run.next_seq == 6
    unfinished = [s for s in journal.steps("run-1", after=1, upto=4) if not s.status.final]
    assert len(unfinished) == 3


def test_approval_parks_the_run_until_decided(journal: Journal) -> None:
    journal.create_run(_new())
    journal.claim("run-1", 1, "w", lease_s=30)
    journal.complete_turn("run-1", 1, "w", _turn(_call("refund", approval=True)))
    journal.claim("run-1", 2, "w", lease_s=30)
    journal.wait_for_approval("run-1", 2, "w")
    assert journal.get_run("run-1").status == RunStatus.WAITING_FOR_APPROVAL
    assert isinstance(journal.claim("run-1", 2, "other", lease_s=30), Done)
    with pytest.raises(ApprovalError):
        journal.decide_approval("run-1", 3, ApprovalDecision(approved=True, reviewer="ann"))
    run = journal.decide_approval("run-1", 2, ApprovalDecision(approved=True, reviewer="ann"))
    assert run.status == RunStatus.RUNNING
    assert ApprovalDecision.of(journal.step("run-1", 2).result) == ApprovalDecision(
        approved=True, reviewer="ann"
    )
    with pytest.raises(ApprovalError):
        journal.decide_approval("run-1", 2, ApprovalDecision(approved=False, reviewer="ann"))


def test_complete_step_records_outcome_only_for_the_lease_holder(journal: Journal) -> None:
    journal.create_run(_new())
    journal.claim("run-1", 1, "w", lease_s=30)
    journal.complete_turn("run-1", 1, "w", _turn(_call("read")))
    journal.claim("run-1", 2, "w", lease_s=30)
    with pytest.raises(LeaseLost):
        journal.complete_step(
            "run-1", 2, "intruder", StepOutcome(StepStatus.SUCCEEDED, ToolPayload({}))
        )
    journal.complete_step("run-1", 2, "w", StepOutcome(StepStatus.FAILED, None, "boom"))
    step = journal.step("run-1", 2)
    assert (step.status, step.error) == (StepStatus.FAILED, "boom")


def test_recent_steps_reads_a_bounded_window(journal: Journal) -> None:
    journal.create_run(_new())
    seq = 1
    for _ in range(40):
        claimed = journal.claim("run-1", seq, "w", lease_s=30)
        assert isinstance(claimed, Claimed)
        turn = _turn(_call("read"), at=seq, next_seq=claimed.run.next_seq)
        journal.complete_turn("run-1", seq, "w", turn)
        journal.claim("run-1", seq + 1, "w", lease_s=30)
        journal.complete_step(
            "run-1", seq + 1, "w", StepOutcome(StepStatus.SUCCEEDED, ToolPayload({}))
        )
        seq = turn.next_seq - 1
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(journal.engine, "before_cursor_execute", count)
    try:
        newest = [entry.seq for entry in journal.context_entries("run-1", before=seq, limit=5)]
    finally:
        event.remove(journal.engine, "before_cursor_execute", count)
    assert newest == [seq - 1, seq - 2, seq - 3, seq - 4, seq - 5]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, "reading five steps must be one bounded query"
    assert "LIMIT" in selects[0].upper()


def test_stale_runs_and_single_redrive(journal: Journal) -> None:
    journal.create_run(_new())
    journal.claim("run-1", 1, "dead", lease_s=0.01)
    deadline = time.monotonic() + 5
    while "run-1" not in journal.stale_runs(stale_after_s=60) and time.monotonic() < deadline:
        time.sleep(0.01)  # the lease lapses with time: look again shortly, not in a hot loop
    assert journal.stale_runs(stale_after_s=60) == ["run-1"]
    assert journal.mark_redriven("run-1", not_within_s=60, retake_s=60, max_retake_s=60) is True
    assert journal.mark_redriven("run-1", not_within_s=60, retake_s=60, max_retake_s=60) is False


def test_finish_run_never_reopens_an_ended_run(journal: Journal) -> None:
    journal.create_run(_new())
    assert journal.finish_run("run-1", RunStatus.CANCELLED, error="stop")
    assert not journal.finish_run("run-1", RunStatus.SUCCEEDED, output="late")
    assert journal.get_run("run-1").status == RunStatus.CANCELLED


def _statements(journal: Journal) -> tuple[list[str], Callable[[], None]]:
    """Statements sent to the database from now on, and how to stop counting."""
    sent: list[str] = []

    def count(*args: object) -> None:
        sent.append(str(args[2]).strip().split()[0].upper())

    event.listen(journal.engine, "before_cursor_execute", count)
    return sent, lambda: event.remove(journal.engine, "before_cursor_execute", count)


def test_postgres_hot_path_is_one_statement_per_claim_and_per_outcome(pg_journal: Journal) -> None:
    journal = pg_journal
    journal.create_run(_new())
    sent, stop = _statements(journal)
    try:
        claimed = journal.claim("run-1", 1, "w", lease_s=30, window=50)
        assert sent == ["WITH"], "a claim is one statement"
        assert isinstance(claimed, Claimed) and claimed.run.status == RunStatus.RUNNING
        journal.complete_turn("run-1", 1, "w", _turn(_call("a"), _call("b")))
        assert sent == ["WITH", "WITH"], "recording a turn and its steps is one statement"
        tool = journal.claim("run-1", 2, "w", lease_s=30, window=1)
        journal.complete_step(
            "run-1", 2, "w", StepOutcome(StepStatus.SUCCEEDED, ToolPayload({"ok": 1}))
        )
        assert sent == ["WITH", "WITH", "WITH", "UPDATE"]
    finally:
        stop()
    assert isinstance(tool, Claimed)
    assert [e.seq for e in tool.window] == [1]
    later = journal.claim("run-1", 4, "w", lease_s=30, window=50)
    assert isinstance(later, Claimed)
    assert [(e.seq, e.kind, e.status) for e in later.window] == [
        (3, StepKind.TOOL, StepStatus.PENDING),
        (2, StepKind.TOOL, StepStatus.SUCCEEDED),
        (1, StepKind.LLM, StepStatus.SUCCEEDED),
    ]
    assert later.window[1].result == ToolPayload({"ok": 1})
    assert journal.get_run("run-1").next_seq == 5


def test_a_redrive_nobody_claims_is_sent_again_with_a_doubling_gap(journal: Journal) -> None:
    journal.create_run(_new())
    journal.claim("run-1", 1, "dead", lease_s=0.01)
    _wait_until(lambda: journal.stale_runs(stale_after_s=60) == ["run-1"])
    gaps = []
    for _ in range(3):
        assert journal.mark_redriven("run-1", not_within_s=0, retake_s=0.05, max_retake_s=0.3)
        handed_back = journal.step("run-1", 1)
        assert (handed_back.status, handed_back.lease_owner) == (StepStatus.PENDING, None)
        assert handed_back.lease_expires_at is not None, "the hand-back keeps a deadline"
        redriven_at = _redriven_at(journal, "run-1")
        gaps.append(round((handed_back.lease_expires_at - redriven_at).total_seconds(), 3))
        # Unclaimed past the deadline (the worker that took the re-drive died): stale again.
        _wait_until(lambda: journal.stale_runs(stale_after_s=60) == ["run-1"])
    assert gaps == [0.05, 0.1, 0.2]
    # The next gap (0.4 s) would pass the cap: the deadline goes and the idle rule takes over.
    assert journal.mark_redriven("run-1", not_within_s=0, retake_s=0.05, max_retake_s=0.3)
    assert journal.step("run-1", 1).lease_expires_at is None
    assert journal.stale_runs(stale_after_s=60) == [], "only the idle rule re-drives it now"


def _redriven_at(journal: Journal, run_id: str) -> datetime:
    with journal.engine.connect() as connection:
        value = connection.execute(select(Run.redriven_at).where(Run.id == run_id)).scalar_one()
    assert value is not None
    return value


def test_a_redrive_claimed_before_its_deadline_is_not_sent_again(journal: Journal) -> None:
    journal.create_run(_new())
    journal.claim("run-1", 1, "dead", lease_s=0.01)
    _wait_until(lambda: journal.stale_runs(stale_after_s=60) == ["run-1"])
    assert journal.mark_redriven("run-1", not_within_s=0, retake_s=0.05, max_retake_s=1) is True
    claimed = journal.claim("run-1", 1, "alive", lease_s=60)
    assert isinstance(claimed, Claimed) and claimed.step.attempt == 2
    time.sleep(0.1)  # past the hand-back's deadline: the claim replaced it with a live lease
    assert journal.stale_runs(stale_after_s=60) == []


def test_an_idle_run_whose_message_may_still_wait_in_the_queue_is_not_taken_for_lost(
    journal: Journal,
) -> None:
    journal.create_run(_new())
    then = idle_since(journal, "run-1", 60)
    assert journal.stale_runs(stale_after_s=10) == ["run-1"], "by the clock alone: lost"
    # The oldest message still waiting was sent 5 s after the run last moved: its own message
    # may be that one, or behind it.
    waiting = then + timedelta(seconds=5)
    assert journal.stale_runs(stale_after_s=10, moved_past=waiting) == []
    # Once the queue has moved more than the stale limit past the run, its message is gone.
    moved = then + timedelta(seconds=11)
    assert journal.stale_runs(stale_after_s=10, moved_past=moved) == ["run-1"]


def test_a_redrive_still_waiting_in_its_lane_is_not_sent_again(journal: Journal) -> None:
    journal.create_run(_new())
    journal.claim("run-1", 1, "dead", lease_s=0.01)
    _wait_until(lambda: journal.stale_runs(stale_after_s=60) == ["run-1"])
    assert journal.mark_redriven("run-1", not_within_s=0, retake_s=0.01, max_retake_s=60)
    redriven_at = _redriven_at(journal, "run-1")
    # Past its deadline and unclaimed: by the clock alone it was lost with a dying worker.
    _wait_until(lambda: journal.stale_runs(stale_after_s=60) == ["run-1"])
    # But the re-drive lane's oldest message is the re-drive itself (or one sent after it).
    assert journal.stale_runs(stale_after_s=60, redrives_moved_past=redriven_at) == []
    # The lane has moved well past it: it was taken, and the taker died before claiming.
    moved = redriven_at + timedelta(seconds=5)
    assert journal.stale_runs(stale_after_s=60, redrives_moved_past=moved) == ["run-1"]


def _wait_until(done: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)
