"""Approvals decided each on its own, in-process (no broker) on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.errors import ApprovalConflict, ApprovalError, ApprovalNotFound
from orchestration.journal import Journal
from orchestration.journal.approvals import ApprovalDecision, get_approval, list_approvals
from orchestration.journal.payloads import ToolPayload
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.reducer import loop
from orchestration.reducer.loop import Dispatch
from orchestration.reducer.sweeper import sweep
from orchestration.runtime import Runtime
from tests.agents.toolbox.tools import count_effects
from tests.conftest import AGENT_DIRS
from tests.support import drain

TWO = 'CALL guarded_effect {"label": "first"}\nCALL guarded_effect {"label": "second"}'


@pytest.fixture
def rt(journal: Journal, tmp_path: Path) -> Runtime:
    settings = load_settings(
        database_url=journal.url, agents_dir=AGENT_DIRS, data_dir=tmp_path, lease_seconds=30
    )
    return open_runtime(settings)


def test_two_approvals_of_one_turn_wait_together_and_are_decided_in_any_order(
    rt: Runtime,
) -> None:
    run = rt.create_run("gatekeeper", TWO)
    drain(rt, run.id)
    assert rt.journal.get_run(run.id).status == RunStatus.WAITING_FOR_APPROVAL
    first, second = list_approvals(rt.journal, tenant=run.tenant, run_id=run.id)
    assert (first.tool, second.tool) == ("guarded_effect", "guarded_effect")
    assert first.state == second.state == "pending"

    # The second is rejected first: the run keeps waiting for the other one.
    plan = loop.decide_approval(
        rt, second.id, ApprovalDecision(approved=False, reviewer="bob", reason="not this one")
    )
    assert plan == (plan[0], None) and not plan[0].resumed
    assert rt.journal.get_run(run.id).status == RunStatus.WAITING_FOR_APPROVAL
    decided, resumed = loop.decide_approval(
        rt, first.id, ApprovalDecision(approved=True, reviewer="ann")
    )
    assert decided.resumed and resumed is not None
    assert [kind for kind, _ in resumed.serial] == [StepKind.TOOL, StepKind.TOOL]
    drain(rt, run.id, resumed)

    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED
    assert count_effects(rt.journal.url, run.id, "first") == 1
    assert count_effects(rt.journal.url, run.id, "second") == 0
    rejected = rt.journal.step(run.id, second.seq + 1)
    assert rejected.result == ToolPayload.rejection("not this one")
    record = ApprovalDecision.of(rt.journal.step(run.id, first.seq).result)
    assert record.reviewer == "ann" and record.approved and record.decided_at is not None


def test_deciding_twice_answers_with_the_first_decision(rt: Runtime) -> None:
    run = rt.create_run("gatekeeper", 'CALL guarded_effect {"label": "once"}')
    drain(rt, run.id)
    (waiting,) = list_approvals(rt.journal, tenant=None, run_id=run.id)
    loop.decide_approval(rt, waiting.id, ApprovalDecision(approved=True, reviewer="ann"))
    with pytest.raises(ApprovalConflict, match="already approved by ann") as caught:
        loop.decide_approval(
            rt, waiting.id, ApprovalDecision(approved=False, reviewer="bob", reason="late")
        )
    assert isinstance(caught.value.decision, ApprovalDecision)
    assert caught.value.decision.reviewer == "ann"


def test_deciding_on_a_cancelled_run_says_it_ended(rt: Runtime) -> None:
    run = rt.create_run("gatekeeper", 'CALL guarded_effect {"label": "never"}')
    drain(rt, run.id)
    (waiting,) = list_approvals(rt.journal, tenant=None, run_id=run.id)
    rt.journal.finish_run(run.id, RunStatus.CANCELLED, error="cancelled")
    assert list_approvals(rt.journal, tenant=None, run_id=run.id) == []
    with pytest.raises(ApprovalConflict, match="its run is cancelled"):
        loop.decide_approval(rt, waiting.id, ApprovalDecision(approved=True, reviewer="ann"))
    assert count_effects(rt.journal.url, run.id) == 0


def test_another_tenants_approval_is_not_found(rt: Runtime) -> None:
    run = rt.create_run("gatekeeper", 'CALL guarded_effect {"label": "x"}', tenant="acme")
    drain(rt, run.id)
    (waiting,) = list_approvals(rt.journal, tenant="acme", run_id=run.id)
    assert list_approvals(rt.journal, tenant="globex") == []
    with pytest.raises(ApprovalNotFound):
        get_approval(rt.journal, waiting.id, "globex")
    with pytest.raises(ApprovalNotFound):
        loop.decide_approval(
            rt, waiting.id, ApprovalDecision(approved=True, reviewer="eve"), tenant="globex"
        )
    with pytest.raises(ApprovalNotFound):
        get_approval(rt.journal, "not-an-id", None)


def test_edited_arguments_are_checked_against_the_tool(rt: Runtime) -> None:
    run = rt.create_run(
        "gatekeeper", 'CALL guarded_effect {"label": "asked"}\nCALL strict_effect {"label": "s"}'
    )
    drain(rt, run.id)
    guarded, strict = list_approvals(rt.journal, tenant=None, run_id=run.id)
    with pytest.raises(ApprovalError, match="label"):
        loop.decide_approval(
            rt, guarded.id, ApprovalDecision(approved=True, reviewer="a", arguments='{"x": 1}')
        )
    with pytest.raises(ApprovalError, match="does not allow edited arguments"):
        loop.decide_approval(
            rt, strict.id, ApprovalDecision(approved=True, reviewer="a", arguments='{"label": "t"}')
        )
    loop.decide_approval(
        rt, guarded.id, ApprovalDecision(approved=True, reviewer="a", arguments='{"label": "ed"}')
    )
    _, plan = loop.decide_approval(rt, strict.id, ApprovalDecision(approved=True, reviewer="a"))
    drain(rt, run.id, plan)
    assert count_effects(rt.journal.url, run.id, "ed") == 1
    assert count_effects(rt.journal.url, run.id, "asked") == 0


def _sweep_until(
    rt: Runtime, run_id: str, done: Callable[[list[Dispatch]], bool]
) -> list[Dispatch]:
    """Sweep (as every worker does each interval) until ``done`` holds, within 10 s."""
    deadline = time.monotonic() + 10
    while True:
        plans = [p for p in sweep(rt) if p.run_id == run_id]
        if done(plans):
            return plans
        assert time.monotonic() < deadline, "the approval timeout never fired"
        time.sleep(0.05)


def test_an_approval_past_its_timeout_is_rejected_by_the_sweeper(rt: Runtime) -> None:
    run = rt.create_run("gatekeeper", 'CALL hasty_effect {"label": "late"}')
    drain(rt, run.id)
    (waiting,) = list_approvals(rt.journal, tenant=None, run_id=run.id)
    (plan,) = _sweep_until(rt, run.id, bool)
    drain(rt, run.id, plan)
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED
    decision = ApprovalDecision.of(rt.journal.step(run.id, waiting.seq).result)
    assert decision.reviewer == "timeout" and not decision.approved
    assert count_effects(rt.journal.url, run.id) == 0


def test_an_approval_past_a_fail_timeout_fails_the_run(rt: Runtime) -> None:
    run = rt.create_run("gatekeeper", 'CALL strict_effect {"label": "late"}')
    drain(rt, run.id)
    (waiting,) = list_approvals(rt.journal, tenant=None, run_id=run.id)
    _sweep_until(rt, run.id, lambda _: rt.journal.get_run(run.id).status.terminal)
    ended = rt.journal.get_run(run.id)
    assert ended.status == RunStatus.FAILED
    assert ended.error is not None and "approval_timeout=fail" in ended.error
    assert rt.journal.step(run.id, waiting.seq).status == StepStatus.FAILED
    with pytest.raises(ApprovalConflict, match="its run is failed"):
        loop.decide_approval(rt, waiting.id, ApprovalDecision(approved=True, reviewer="ann"))


def test_read_only_calls_of_the_turn_do_not_wait_for_the_person(rt: Runtime) -> None:
    script = 'CALL sleep_read {"seconds": 0}\nCALL guarded_effect {"label": "g"}'
    run = rt.create_run("gatekeeper", script)
    first = loop.run_turn(rt, run.id, 1, "t")
    assert first.dispatch is not None
    assert first.dispatch.parallel == (2,) and first.dispatch.next_turn is None
    assert first.dispatch.serial == ((StepKind.APPROVAL, 3),)
    drain(rt, run.id, first.dispatch)
    assert rt.journal.step(run.id, 2).status == StepStatus.SUCCEEDED
    (waiting,) = list_approvals(rt.journal, tenant=None, run_id=run.id)
    _, plan = loop.decide_approval(rt, waiting.id, ApprovalDecision(approved=True, reviewer="a"))
    assert plan is not None and plan.parallel == () and plan.serial == ((StepKind.TOOL, 4),)
    drain(rt, run.id, plan)
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED
