"""The reducer, driven in-process (no broker) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.journal import Journal
from orchestration.journal.payloads import ToolPayload
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.reducer import loop
from orchestration.runtime import Limits, Runtime
from tests.agents.toolbox.tools import count_effects
from tests.conftest import AGENT_DIRS
from tests.support import drain


@pytest.fixture
def rt(journal: Journal, tmp_path: Path) -> Runtime:
    settings = load_settings(
        database_url=journal.url, agents_dir=AGENT_DIRS, data_dir=tmp_path, lease_seconds=30
    )
    return open_runtime(settings)


def test_support_triage_fans_out_lookups_then_waits_for_refund_approval(rt: Runtime) -> None:
    run = rt.create_run(
        "support-triage", "I am jane.doe@example.com; order ORD-1042 is cracked, refund please"
    )
    first = loop.run_turn(rt, run.id, 1, "t")
    assert first.dispatch is not None
    names = {rt.journal.step(run.id, s).name for s in first.dispatch.parallel}
    assert names == {"lookup_customer", "lookup_orders", "search_kb"}
    assert first.dispatch.serial == ()
    drain(rt, run.id, first.dispatch)
    run = rt.journal.get_run(run.id)
    assert run.status == RunStatus.WAITING_FOR_APPROVAL
    (waiting,) = rt.journal.waiting_approvals(run.id)
    assert json.loads(waiting.arguments or "{}")["amount_usd"] == 1249.0
    assert run.agent_version == rt.registry.get("support-triage").version


def test_approval_resumes_and_the_refund_lands_once(rt: Runtime) -> None:
    run = rt.create_run("toolbox", 'CALL guarded_effect {"label": "refund"}')
    drain(rt, run.id)
    (waiting,) = rt.journal.waiting_approvals(run.id)
    plan = loop.decide(rt, run.id, waiting.seq, approved=True, reviewer="ann")
    assert plan is not None and plan.serial == ((StepKind.TOOL, waiting.seq + 1),)
    for kind, seq in plan.serial:
        assert kind == StepKind.TOOL
        loop.run_tool(rt, run.id, seq, "t")
        again = loop.run_tool(rt, run.id, seq, "t2")
        assert again.status == "already_done"
    assert plan.next_turn is not None
    loop.run_turn(rt, run.id, plan.next_turn, "t")
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED
    assert count_effects(rt.journal.url, run.id, "refund") == 1


def test_rejection_goes_back_to_the_model_and_nothing_happens(rt: Runtime) -> None:
    run = rt.create_run("toolbox", 'CALL guarded_effect {"label": "refund"}')
    drain(rt, run.id)
    (waiting,) = rt.journal.waiting_approvals(run.id)
    plan = loop.decide(rt, run.id, waiting.seq, approved=False, reviewer="ann", reason="too big")
    assert plan is not None
    loop.run_tool(rt, run.id, waiting.seq + 1, "t")
    step = rt.journal.step(run.id, waiting.seq + 1)
    assert step.status == StepStatus.SKIPPED
    assert step.result == ToolPayload.rejection("too big")
    assert count_effects(rt.journal.url, run.id) == 0


def test_bad_tool_calls_go_back_to_the_model_then_fail_the_run(rt: Runtime) -> None:
    script = "\n\n".join(
        ["CALL no_such_tool {}", "CALL sleep_read {not json", 'CALL sleep_read {"seconds": -1}']
    )
    run = rt.create_run("toolbox", script)
    drain(rt, run.id)
    run = rt.journal.get_run(run.id)
    errors = [s.error for s in rt.journal.steps(run.id) if s.kind == StepKind.TOOL]
    assert (
        errors[0] == "unknown tool 'no_such_tool'; available tools: explode, sleep_read, "
        "slow_timeout, record_effect, keyed_effect, guarded_effect, rendezvous, odd_text, echo"
    )
    assert errors[1] is not None and errors[1].startswith("arguments for sleep_read are not valid")
    assert errors[2] is not None and "seconds" in errors[2] and "greater than or equal" in errors[2]
    assert run.status == RunStatus.FAILED
    assert run.error is not None
    assert run.error.startswith("3 consecutive turns whose tool calls all failed")


def test_a_turn_of_malformed_calls_is_a_chance_to_recover(rt: Runtime) -> None:
    # Three parallel calls with broken arguments in one turn, then a valid call: the model reads
    # its three errors back and corrects itself; one bad turn is not three strikes.
    script = "\n\n".join(
        [
            "CALL sleep_read {not json\nCALL sleep_read {still not\nCALL sleep_read {nope",
            'CALL sleep_read {"seconds": 0}',
        ]
    )
    run = rt.create_run("toolbox", script)
    drain(rt, run.id)
    run = rt.journal.get_run(run.id)
    tools = [s for s in rt.journal.steps(run.id) if s.kind == StepKind.TOOL]
    assert [s.status for s in tools] == [StepStatus.FAILED] * 3 + [StepStatus.SUCCEEDED]
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.tool_error_streak == 0


def test_the_error_limit_is_per_agent(rt: Runtime) -> None:
    # The toolbox agent allows the default 3; "strict" gives up after one failed turn.
    strict = rt.registry.get("strict-toolbox")
    assert strict.max_tool_errors == 1
    run = rt.create_run("strict-toolbox", 'CALL sleep_read {bad\n\nCALL sleep_read {"seconds": 0}')
    drain(rt, run.id)
    run = rt.journal.get_run(run.id)
    assert run.status == RunStatus.FAILED
    assert run.error is not None and run.error.startswith("1 consecutive turns")


def test_tool_exception_and_timeout_are_reported_compactly(rt: Runtime) -> None:
    run = rt.create_run("toolbox", 'CALL explode {}\nCALL slow_timeout {"seconds": 2}')
    drain(rt, run.id)
    by_name = {s.name: s for s in rt.journal.steps(run.id) if s.kind == StepKind.TOOL}
    assert by_name["explode"].error == "explode raised RuntimeError: kaboom"
    assert by_name["slow_timeout"].error == "slow_timeout timed out after 0.5s"
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED


def test_a_success_resets_the_error_streak(rt: Runtime) -> None:
    script = "\n\n".join(
        ["CALL explode {}", "CALL explode {}", 'CALL sleep_read {"seconds": 0}', "CALL explode {}"]
    )
    run = rt.create_run("toolbox", script)
    drain(rt, run.id)
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED


def test_max_steps_stops_the_run_with_budget_exceeded(rt: Runtime) -> None:
    run = rt.create_run("counter", "tick 50 times", limits=Limits(max_steps=7))
    drain(rt, run.id)
    run = rt.journal.get_run(run.id)
    assert run.status == RunStatus.BUDGET_EXCEEDED
    assert run.error == "max_steps=7 reached at step 9"
    assert len(rt.journal.steps(run.id)) == 9


def test_research_report_runs_three_searches_in_one_turn(rt: Runtime) -> None:
    run = rt.create_run("research-report", "Research report: heat pumps in cold climates")
    first = loop.run_turn(rt, run.id, 1, "t")
    assert first.dispatch is not None and len(first.dispatch.parallel) == 3
    drain(rt, run.id, first.dispatch)
    run = rt.journal.get_run(run.id)
    assert run.status == RunStatus.SUCCEEDED
    assert run.output is not None
    assert "Field performance of air-source heat pumps below -15 C" in run.output
    assert "Team note: heat pump retrofit checklist" in run.output


def test_a_recorded_llm_answer_is_replayed_not_asked_again(rt: Runtime) -> None:
    run = rt.create_run("counter", "tick 2 times")
    first = loop.run_turn(rt, run.id, 1, "t")
    replay = loop.run_turn(rt, run.id, 1, "t2")
    assert first.status == "ran" and replay.status == "already_done"
    assert replay.result == rt.journal.step(run.id, 1).result
    assert rt.journal.get_run(run.id).turns == 1


def test_a_turn_that_must_wait_does_not_count_an_attempt(rt: Runtime) -> None:
    run = rt.create_run("toolbox", 'CALL sleep_read {"seconds": 0}')
    first = loop.run_turn(rt, run.id, 1, "t")
    assert first.dispatch is not None and first.dispatch.next_turn is not None
    early = loop.run_turn(rt, run.id, first.dispatch.next_turn, "t")
    assert early.status == "not_ready"
    turn = rt.journal.step(run.id, first.dispatch.next_turn)
    assert (turn.status, turn.attempt, turn.started_at) == (StepStatus.PENDING, 0, None)


def test_cancelled_run_skips_what_was_not_started(rt: Runtime) -> None:
    run = rt.create_run("counter", "tick 5 times")
    first = loop.run_turn(rt, run.id, 1, "t")
    assert first.dispatch is not None
    assert rt.journal.finish_run(run.id, RunStatus.CANCELLED, error="cancelled")
    drain(rt, run.id, first.dispatch)
    statuses = [s.status for s in rt.journal.steps(run.id)]
    assert statuses == [StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.SKIPPED]
    assert rt.journal.get_run(run.id).status == RunStatus.CANCELLED
