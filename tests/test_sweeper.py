"""The sweeper and exactly-once effects, driven in-process on SQLite and PostgreSQL.

Crashes are simulated by changing durable state the way a dead worker leaves it (a claimed step
whose lease lapses, an effect committed without its outcome) and calling the recovery path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agents.support_triage.store import refunds, refunds_engine
from orchestration.agents.tools import ToolContext
from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.journal import Journal
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.reducer import loop
from orchestration.reducer.sweeper import sweep
from orchestration.runtime import Runtime
from tests.agents.toolbox.tools import count_effects
from tests.conftest import AGENT_DIRS
from tests.support import drain


@pytest.fixture
def rt(journal: Journal, tmp_path: Path) -> Runtime:
    settings = load_settings(
        database_url=journal.url,
        agents_dir=AGENT_DIRS,
        data_dir=tmp_path,
        lease_seconds=30,
        stale_after_seconds=0.5,
        # A re-drive's deadline is a sweep interval: far enough that a loaded machine does not
        # see a hand-back as lost between a sweep and the test's next look.
        sweep_interval_seconds=60,
    )
    return open_runtime(settings)


def _until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_two_sweepers_at_once_redrive_each_run_once(rt: Runtime) -> None:
    runs = [rt.create_run("toolbox", 'CALL sleep_read {"seconds": 0}') for _ in range(5)]
    for run in runs:
        rt.journal.claim(run.id, 1, "dead-worker", lease_s=0.01)
    _until(lambda: len(rt.journal.stale_runs(60)) == len(runs))
    barrier = threading.Barrier(2)
    found: list[list[str]] = [[], []]

    def sweeper(index: int) -> None:
        barrier.wait()
        found[index] = [plan.run_id for plan in sweep(rt)]

    threads = [threading.Thread(target=sweeper, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    redriven = found[0] + found[1]
    assert sorted(redriven) == sorted(run.id for run in runs), found
    # The re-drive handed the lapsed leases back: a third sweeper finds nothing to do.
    assert rt.journal.stale_runs(60) == []
    assert sweep(rt) == []
    for run in runs:
        step = rt.journal.step(run.id, 1)
        assert (step.status, step.lease_owner) == (StepStatus.PENDING, None)


def test_a_lost_message_is_redriven_but_a_step_waiting_on_a_live_lease_is_not(
    rt: Runtime,
) -> None:
    lost = rt.create_run("toolbox", 'CALL sleep_read {"seconds": 0}')
    busy = rt.create_run("toolbox", 'CALL record_effect {"label": "busy"}')
    first = loop.run_turn(rt, busy.id, 1, "w")
    assert first.dispatch is not None
    ((kind, seq),) = first.dispatch.serial
    assert kind == StepKind.TOOL
    rt.journal.claim(busy.id, seq, "alive", lease_s=60)
    # ``busy`` has a pending next turn behind a step whose lease is live: it is moving.
    _until(lambda: lost.id in rt.journal.stale_runs(rt.settings.journal.stale_after_seconds))
    assert rt.journal.stale_runs(rt.settings.journal.stale_after_seconds) == [lost.id]
    (plan,) = sweep(rt)
    assert (plan.run_id, plan.next_turn) == (lost.id, 1)
    # Just re-driven counts as activity: no second re-drive before stale_after passes again.
    assert sweep(rt) == []
    drain(rt, lost.id, plan)
    assert rt.journal.get_run(lost.id).status == RunStatus.SUCCEEDED


def _refund_rows(url: str, run_id: str) -> int:
    query = select(func.count()).select_from(refunds).where(refunds.c.run_id == run_id)
    with refunds_engine(url).connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_a_refund_whose_worker_died_after_the_effect_is_not_issued_twice(rt: Runtime) -> None:
    run = rt.create_run("support-triage", "jane.doe@example.com: ORD-1042 arrived cracked, refund")
    drain(rt, run.id)
    (waiting,) = rt.journal.waiting_approvals(run.id)
    plan = loop.decide(rt, run.id, waiting.seq, approved=True, reviewer="ann")
    assert plan is not None and plan.serial == ((StepKind.TOOL, waiting.seq + 1),)
    refund_seq = waiting.seq + 1
    # A worker claims the refund, issues it, and dies before recording the outcome.
    claimed = rt.journal.claim(run.id, refund_seq, "doomed", lease_s=0.05)
    assert claimed.step.status == StepStatus.RUNNING
    step = rt.journal.step(run.id, refund_seq)
    tool = rt.registry.get("support-triage").tool("issue_refund")
    assert tool is not None
    context = ToolContext(
        run_id=run.id,
        seq=refund_seq,
        tenant=run.tenant,
        attempt=step.attempt,
        database_url=rt.journal.url,
        data_dir=rt.settings.core.data_dir,
        journal=rt.journal,
        knowledge=rt.settings.knowledge,
        llm=rt.settings.llm,
    )
    first = tool.invoke(tool.validate(step.arguments or "{}"), context, rt.tool_threads)
    assert first["status"] == "issued"
    _until(lambda: run.id in rt.journal.stale_runs(60))
    (again,) = sweep(rt)
    drain(rt, run.id, again)
    finished = rt.journal.get_run(run.id)
    assert finished.status == RunStatus.SUCCEEDED
    refund = rt.journal.step(run.id, refund_seq)
    assert refund.attempt == 2
    assert refund.result is not None and refund.result.output["status"] == "already issued"
    assert _refund_rows(rt.journal.url, run.id) == 1


def test_a_keyed_effect_redriven_after_its_lease_lapsed_lands_once(rt: Runtime) -> None:
    run = rt.create_run("toolbox", 'CALL keyed_effect {"label": "k"}')
    first = loop.run_turn(rt, run.id, 1, "w")
    assert first.dispatch is not None
    ((_, seq),) = first.dispatch.serial
    # Two takeovers in a row, each running the tool to completion but never recording it.
    for owner in ("dead-1", "dead-2"):
        rt.journal.claim(run.id, seq, owner, lease_s=0.05)
        step = rt.journal.step(run.id, seq)
        tool = rt.registry.get("toolbox").tool("keyed_effect")
        assert tool is not None
        context = ToolContext(
            run_id=run.id,
            seq=seq,
            tenant=run.tenant,
            attempt=step.attempt,
            database_url=rt.journal.url,
            data_dir=rt.settings.core.data_dir,
            journal=rt.journal,
            knowledge=rt.settings.knowledge,
            llm=rt.settings.llm,
        )
        tool.invoke(tool.validate(step.arguments or "{}"), context, rt.tool_threads)
        _until(lambda: run.id in rt.journal.stale_runs(60))
        assert rt.journal.mark_redriven(run.id, not_within_s=0, retake_s=60, max_retake_s=60)
    drain(rt, run.id, loop.redrive_plan(rt, run.id))
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED
    assert rt.journal.step(run.id, seq).attempt == 3
    assert count_effects(rt.journal.url, run.id, "k") == 1
