"""Workflows through real worker processes on real Redis and PostgreSQL: concurrent branches,
the journal waking the parent, and a worker killed mid-workflow."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from orchestration.client import Client
from orchestration.config import Settings
from orchestration.journal.payloads import ToolPayload
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import RunStatus, StepStatus
from orchestration.workflows import store
from tests.agents.toolbox.tools import count_effects
from tests.support import WorkerPool
from tests.test_workflows import WORKFLOW_DIRS

pytestmark = pytest.mark.slow


@pytest.fixture
def env(service_env: dict[str, str]) -> dict[str, str]:
    return dict(service_env, CHORDLINE_WORKFLOWS_DIR=WORKFLOW_DIRS)


@pytest.fixture
def client(service_settings: Settings) -> Client:
    return Client(service_settings.model_copy(update={"workflows_dir": WORKFLOW_DIRS}))


def _poll(read: Callable[[], StepRecord | None], what: str, timeout_s: float = 60) -> StepRecord:
    deadline = time.monotonic() + timeout_s
    while True:
        found = read()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _children(client: Client, parent_id: str) -> list[RunRecord]:
    return store.child_runs(client.runtime.journal, parent_id)


def test_ticket_triage_runs_its_three_analyses_at_once_then_synthesises(
    env: dict[str, str], client: Client, workers: WorkerPool
) -> None:
    workers.start(env, concurrency=2)
    workers.start(env, concurrency=2)
    ticket = "We were charged twice for the March invoice, please refund it"
    parent = client.submit("ticket-triage", ticket)
    done = client.wait(parent.id, timeout_s=60)
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert "category billing" in (done.output or "")
    kids = {c.stage: c for c in _children(client, parent.id)}
    assert sorted(kids) == ["1", "2", "3", "s"]
    branches = [kids["1"], kids["2"], kids["3"]]
    # The three analyses were started together, before any of them ended (a sequence would
    # start each after the one before it ended); test_branches_run_on_workers_at_the_same_time
    # shows that such branches then run at the same time.
    ends = [b.finished_at for b in branches]
    assert all(ends)
    assert max(b.created_at for b in branches) < min(e for e in ends if e)
    # The synthesis was started by the last branch's end, not before.
    assert kids["s"].created_at >= max(e for e in ends if e)


def test_branches_run_on_workers_at_the_same_time(
    env: dict[str, str], client: Client, workers: WorkerPool
) -> None:
    # Each branch waits at one meeting point until all three have arrived, which only branches
    # running at the same time can do; one left waiting alone gives up and reports it.
    workers.start(env, concurrency=2)
    workers.start(env, concurrency=2)
    label = f"meet-{uuid.uuid4().hex[:12]}"
    script = f'CALL rendezvous {{"label": "{label}", "parties": 3, "within_s": 30}}'
    parent = client.submit("effects-fanout", script)
    done = client.wait(parent.id, timeout_s=90)
    assert done.status == RunStatus.SUCCEEDED, done.error
    kids = {c.stage: c for c in _children(client, parent.id)}
    meetings = [
        step.result.output if isinstance(step.result, ToolPayload) else None
        for stage in ("1", "2", "3")
        for step in client.runtime.journal.steps(kids[stage].id)
        if step.name == "rendezvous"
    ]
    assert len(meetings) == 3
    assert all(isinstance(m, dict) and m["met"] is True for m in meetings), meetings


def test_a_worker_killed_mid_workflow_loses_nothing_and_runs_nothing_twice(
    env: dict[str, str], client: Client, workers: WorkerPool
) -> None:
    first = workers.start(env, concurrency=2)
    script = 'CALL keyed_effect {"label": "fx", "seconds": 2}'
    parent = client.submit("effects-fanout", script)

    def running_step() -> StepRecord | None:
        for child in _children(client, parent.id):
            for step in client.runtime.journal.steps(child.id):
                if step.status == StepStatus.RUNNING and step.name == "keyed_effect":
                    return step
        return None

    step = _poll(running_step, "a branch's effect to be running")
    assert first.owns(step.lease_owner)
    first.kill()  # SIGKILL of the worker's whole process group, mid-effect
    workers.start(env, concurrency=2)
    done = client.wait(parent.id, timeout_s=90)
    assert done.status == RunStatus.SUCCEEDED, done.error
    kids = _children(client, parent.id)
    assert sorted(c.stage or "" for c in kids) == ["1", "2", "3", "s"]  # each child once
    assert all(c.status == RunStatus.SUCCEEDED for c in kids)
    for child in kids:
        assert count_effects(client.settings.journal_url, child.id, "fx") == 1
    taken_over = client.runtime.journal.step(step.run_id, step.seq)
    assert taken_over.status == StepStatus.SUCCEEDED and taken_over.attempt == 2


def test_the_sweeper_advances_a_workflow_whose_wake_up_was_lost(
    env: dict[str, str], client: Client, workers: WorkerPool
) -> None:
    # The parent is journaled but its first advance is never enqueued (as when the submitting
    # process dies between the two): only the sweeper can move it.
    from orchestration.workflows import start_workflow

    flow = client.workflows.get("effects-fanout")
    parent_id = start_workflow(client.runtime, flow, 'CALL sleep_read {"seconds": 0}')
    quick = dict(env, CHORDLINE_STALE_AFTER_SECONDS="1", CHORDLINE_SWEEP_INTERVAL_SECONDS="0.5")
    workers.start(quick, concurrency=2)
    done = client.wait(parent_id, timeout_s=60)
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert sorted(c.stage or "" for c in _children(client, parent_id)) == ["1", "2", "3", "s"]
