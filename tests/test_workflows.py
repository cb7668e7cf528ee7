"""Workflows of agents: the plan, parent and child runs in the journal, policies and budgets,
driven in process on SQLite and PostgreSQL (no broker)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.bootstrap import open_runtime
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.errors import AgentNotFound, WorkflowError
from orchestration.journal import Journal
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunKind, RunStatus
from orchestration.runtime import Limits, Runtime
from orchestration.workflows import (
    Advanced,
    ChildState,
    Workflow,
    WorkflowRegistry,
    advance,
    agent,
    load_workflows,
    parallel,
    plan,
    sequence,
    start_workflow,
    store,
    workflow_dirs,
)
from tests.conftest import AGENT_DIRS
from tests.support import ROOT, drain

WORKFLOW_DIRS = f"{ROOT / 'workflows'}{os.pathsep}{ROOT / 'tests' / 'workflows'}"
SLEEP = 'CALL sleep_read {"seconds": 0}'


@pytest.fixture
def wf_settings(journal: Journal, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=journal.url,
        agents_dir=AGENT_DIRS,
        workflows_dir=WORKFLOW_DIRS,
        data_dir=tmp_path,
        lease_seconds=30,
    )


@pytest.fixture
def rt(wf_settings: Settings) -> Runtime:
    return open_runtime(wf_settings)


@pytest.fixture
def flows() -> WorkflowRegistry:
    return load_workflows(workflow_dirs(WORKFLOW_DIRS))


def run_to_end(rt: Runtime, flows: WorkflowRegistry, parent_id: str) -> list[Advanced]:
    """Advance the workflow and run each child it starts to rest, as the workers would."""
    moves: list[Advanced] = []
    for _ in range(20):
        moved = advance(rt, flows, parent_id)
        moves.append(moved)
        if rt.journal.get_run(parent_id).status.terminal:
            return moves
        for child in moved.started:
            drain(rt, child)
    raise AssertionError(f"workflow {parent_id} did not end: {moves}")


def by_stage(rt: Runtime, parent_id: str) -> dict[str, RunRecord]:
    return {c.stage or "": c for c in store.child_runs(rt.journal, parent_id)}


# -- the plan (pure) --------------------------------------------------------------------------


def _done(stage: str, output: str) -> ChildState:
    return ChildState(stage, f"run-{stage}", RunStatus.SUCCEEDED, output, None)


def test_a_sequence_feeds_each_answer_to_the_next_stage() -> None:
    flow = Workflow("s", sequence(agent("a"), agent("b"), agent("c")))
    assert [(s.stage, s.input) for s in plan(flow, "q", {}).starts] == [("1", "q")]
    second = plan(flow, "q", {"1": _done("1", "answer a")})
    assert [(s.stage, s.agent, s.input) for s in second.starts] == [("2", "b", "answer a")]
    running = {"1": _done("1", "A"), "2": ChildState("2", "r", RunStatus.RUNNING, None, None)}
    assert plan(flow, "q", running).starts == () and plan(flow, "q", running).finish is None
    end = plan(flow, "q", {"1": _done("1", "A"), "2": _done("2", "B"), "3": _done("3", "C")})
    assert end.finish is not None and end.finish.status == RunStatus.SUCCEEDED
    assert end.finish.output == "C"


def test_a_parallel_starts_every_branch_at_once_then_the_synthesis_over_all_answers() -> None:
    flow = Workflow(
        "p",
        parallel(agent("u", label="urgency"), agent("c"), agent("r"), synthesis=agent("s")),
    )
    first = plan(flow, "ticket", {})
    assert [(s.stage, s.agent) for s in first.starts] == [("1", "u"), ("2", "c"), ("3", "r")]
    answers = {"1": _done("1", "high"), "2": _done("2", "billing"), "3": _done("3", "refund")}
    (synthesis,) = plan(flow, "ticket", answers).starts
    assert synthesis.stage == "s" and synthesis.agent == "s"
    assert synthesis.input.startswith("ticket")
    assert "## urgency\nhigh" in synthesis.input and "## r\nrefund" in synthesis.input


def test_a_failed_branch_fails_the_workflow_or_is_named_missing_by_its_policy() -> None:
    failed = ChildState("3", "x", RunStatus.FAILED, None, "tool exploded")
    strict = Workflow("f", parallel(agent("a"), agent("b"), agent("c"), synthesis=agent("s")))
    answers = {"1": _done("1", "A"), "2": _done("2", "B"), "3": failed}
    end = plan(strict, "t", answers).finish
    assert end is not None and end.status == RunStatus.FAILED
    assert end.error is not None and "stage 3 (c) failed: tool exploded" in end.error
    lenient = Workflow(
        "l",
        parallel(agent("a"), agent("b"), agent("c", on_failure="continue"), synthesis=agent("s")),
    )
    (synthesis,) = plan(lenient, "t", answers).starts
    assert "## c\nFAILED, continuing without it: stage 3 (c) failed: tool exploded" in (
        synthesis.input
    )


def test_bad_definitions_say_what_to_fix() -> None:
    with pytest.raises(WorkflowError, match="at least two branches"):
        parallel(agent("a"), synthesis=agent("s"))
    with pytest.raises(WorkflowError, match="on_failure='fail' or on_failure='continue'"):
        agent("a", on_failure="retry")  # type: ignore[arg-type]
    with pytest.raises(WorkflowError, match="no stages"):
        sequence()


# -- in the journal ---------------------------------------------------------------------------


def test_research_pipeline_runs_three_agents_in_order_each_on_the_last_answer(
    rt: Runtime, flows: WorkflowRegistry
) -> None:
    parent_id = start_workflow(
        rt, flows.get("research-pipeline"), "Research report: evidence on remote work?"
    )
    run_to_end(rt, flows, parent_id)
    parent = rt.journal.get_run(parent_id)
    assert parent.kind == RunKind.WORKFLOW and parent.status == RunStatus.SUCCEEDED
    stages = by_stage(rt, parent_id)
    assert [(k, c.agent) for k, c in sorted(stages.items())] == [
        ("1", "research-report"),
        ("2", "analysis"),
        ("3", "report-writer"),
    ]
    assert stages["2"].input == stages["1"].output
    assert stages["3"].input == stages["2"].output
    assert parent.output == stages["3"].output and "REPORT" in (parent.output or "")
    assert all(
        c.status == RunStatus.SUCCEEDED and c.parent_id == parent_id for c in stages.values()
    )
    # The parent carries its children's totals.
    assert parent.input_tokens == sum(c.input_tokens for c in stages.values())
    assert parent.next_seq - 1 == sum(c.next_seq - 1 for c in stages.values())


def test_ticket_triage_synthesises_the_three_branches(rt: Runtime, flows: WorkflowRegistry) -> None:
    ticket = "Our API server is down and customers cannot log in, please help ASAP"
    parent_id = start_workflow(rt, flows.get("ticket-triage"), ticket)
    moves = run_to_end(rt, flows, parent_id)
    assert len(moves[0].started) == 3  # the three analyses are started together
    parent = rt.journal.get_run(parent_id)
    assert parent.status == RunStatus.SUCCEEDED
    assert "urgency high" in (parent.output or "")
    assert "category technical" in (parent.output or "")
    assert "page the on-call engineer" in (parent.output or "")


def test_an_advance_repeated_or_raced_creates_each_child_once(
    rt: Runtime, flows: WorkflowRegistry
) -> None:
    parent_id = start_workflow(rt, flows.get("effects-fanout"), SLEEP)
    first = advance(rt, flows, parent_id)
    again = advance(rt, flows, parent_id)  # a duplicate wake-up while the branches run
    assert len(first.started) == 3 and again.started == ()
    for child in first.started:
        drain(rt, child)
    woken = [advance(rt, flows, parent_id) for _ in range(3)]  # one wake-up per branch
    assert [len(w.started) for w in woken] == [1, 0, 0]
    drain(rt, woken[0].started[0])
    assert advance(rt, flows, parent_id).finished == RunStatus.SUCCEEDED
    assert advance(rt, flows, parent_id) == Advanced(parent_id)
    assert sorted(by_stage(rt, parent_id)) == ["1", "2", "3", "s"]


def test_a_failing_branch_under_continue_is_named_in_the_synthesis_input(
    rt: Runtime, flows: WorkflowRegistry
) -> None:
    parent_id = start_workflow(rt, flows.get("fragile-pipeline"), "CALL explode {}")
    run_to_end(rt, flows, parent_id)
    stages = by_stage(rt, parent_id)
    assert stages["1/2"].status == RunStatus.FAILED  # the strict agent gives up
    assert "## shaky\nFAILED, continuing without it: stage 1/2 (shaky) failed" in (
        stages["1/s"].input
    )
    assert stages["2"].input == stages["1/s"].output
    assert rt.journal.get_run(parent_id).status == RunStatus.SUCCEEDED


def test_the_step_budget_applies_to_all_children_together(
    rt: Runtime, flows: WorkflowRegistry
) -> None:
    parent_id = start_workflow(rt, flows.get("two-steps"), SLEEP)  # max_steps=4
    run_to_end(rt, flows, parent_id)
    stages = by_stage(rt, parent_id)
    assert stages["1"].status == RunStatus.SUCCEEDED and stages["1"].next_seq - 1 == 3
    assert stages["2"].max_steps == 1  # what the workflow had left, not the agent's 40
    parent = rt.journal.get_run(parent_id)
    assert parent.status == RunStatus.SUCCEEDED and parent.next_seq - 1 <= 4
    # With two steps for the whole workflow the first child stops, and no second one starts.
    capped = start_workflow(rt, flows.get("two-steps"), SLEEP, limits=Limits(max_steps=2))
    run_to_end(rt, flows, capped)
    assert sorted(by_stage(rt, capped)) == ["1"]
    assert by_stage(rt, capped)["1"].status == RunStatus.BUDGET_EXCEEDED
    parent = rt.journal.get_run(capped)
    assert parent.status == RunStatus.BUDGET_EXCEEDED
    assert parent.error is not None and "max_steps=2" in parent.error


def test_the_token_budget_stops_parallel_branches_before_they_spend_it(
    rt: Runtime, flows: WorkflowRegistry
) -> None:
    probe = start_workflow(rt, flows.get("effects-fanout"), SLEEP)
    run_to_end(rt, flows, probe)
    one_branch = by_stage(rt, probe)["1"]
    per_branch = one_branch.input_tokens + one_branch.output_tokens
    cap = int(per_branch * 1.5)
    parent_id = start_workflow(
        rt, flows.get("effects-fanout"), SLEEP, limits=Limits(max_tokens=cap)
    )
    run_to_end(rt, flows, parent_id)
    parent = rt.journal.get_run(parent_id)
    assert parent.status == RunStatus.BUDGET_EXCEEDED
    stopped = [c for c in by_stage(rt, parent_id).values() if c.error and "workflow" in c.error]
    assert stopped, "a branch is refused by the workflow's budget, not its own"
    last_call = max(c.output_tokens for c in by_stage(rt, parent_id).values())
    assert parent.input_tokens + parent.output_tokens <= cap + last_call


def test_cancel_cancels_the_children_and_nothing_starts_after(
    rt: Runtime, wf_settings: Settings, flows: WorkflowRegistry, tmp_path: Path
) -> None:
    client = Client(wf_settings)
    parent_id = start_workflow(rt, flows.get("effects-fanout"), SLEEP)
    started = advance(rt, flows, parent_id).started
    assert client.cancel(parent_id, reason="changed my mind")
    kids = by_stage(rt, parent_id)
    assert {c.status for c in kids.values()} == {RunStatus.CANCELLED}
    for child in started:
        drain(rt, child)  # their queued turns find the run ended and skip
    assert advance(rt, flows, parent_id) == Advanced(parent_id)
    assert sorted(by_stage(rt, parent_id)) == ["1", "2", "3"]
    view = client.get(parent_id)
    assert [c.stage for c in view.children] == ["1", "2", "3"]


def test_submitting_an_unknown_agent_in_a_workflow_names_it(rt: Runtime) -> None:
    flow = Workflow("ghost", sequence(agent("toolbox"), agent("no-such-agent")))
    with pytest.raises(AgentNotFound, match="no-such-agent"):
        start_workflow(rt, flow, "x")


def test_a_workflow_changed_mid_run_fails_with_the_reason(
    rt: Runtime, flows: WorkflowRegistry
) -> None:
    parent_id = start_workflow(rt, flows.get("two-steps"), SLEEP)
    changed = Workflow("two-steps", sequence(agent("toolbox")), max_steps=4)
    registry = WorkflowRegistry({"two-steps": changed}, ())
    moved = advance(rt, registry, parent_id)
    assert moved.finished == RunStatus.FAILED
    assert "changed since the run started" in (rt.journal.get_run(parent_id).error or "")


def test_a_stage_whose_agent_is_gone_fails_the_workflow_with_the_reason(rt: Runtime) -> None:
    flow = Workflow("ghost", sequence(agent("no-such-agent")))
    parent = store.create_workflow_run(
        rt.journal,
        run_id="ghost-1",
        tenant="t",
        workflow=flow,
        text="x",
        session=None,
        max_steps=10,
        max_tokens=None,
        max_usd=None,
    )
    moved = advance(rt, WorkflowRegistry({"ghost": flow}, ()), parent.id)
    assert moved.finished == RunStatus.FAILED
    error = rt.journal.get_run(parent.id).error or ""
    assert "stage 1 (no-such-agent) cannot start" in error and "unknown agent" in error


def test_a_workflow_named_like_an_agent_is_refused_at_submit(
    rt: Runtime, wf_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "clashing"
    folder.mkdir()
    (folder / "toolbox.py").write_text(
        "from orchestration.workflows import Workflow, agent, sequence\n"
        "workflow = Workflow(name='toolbox', root=sequence(agent('counter')))\n"
    )
    client = Client(wf_settings.model_copy(update={"workflows_dir": str(folder)}))
    with pytest.raises(WorkflowError, match="names both an agent and a workflow"):
        client.submit("toolbox", "x")
