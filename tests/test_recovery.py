"""Crashes and stops of real worker processes on real Redis and PostgreSQL.

Every wait polls the journal with a deadline; every assertion names the behaviour: how soon a
killed worker's step is taken over, how often a tool really ran, how many effects landed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from orchestration.client import Client
from orchestration.config import Settings
from orchestration.journal.records import StepRecord
from orchestration.journal.tables import RunStatus, StepStatus
from tests.agents.toolbox.tools import count_effects
from tests.support import Worker, WorkerPool

pytestmark = pytest.mark.slow

TOOL_SEQ = 2  # a one-call script: turn 1, the tool call, turn 3


def _step_when(
    client: Client, run_id: str, ready: Callable[[StepRecord], bool], timeout_s: float = 30
) -> StepRecord:
    deadline = time.monotonic() + timeout_s
    while True:
        steps = client.runtime.journal.steps(run_id, after=TOOL_SEQ - 1, upto=TOOL_SEQ)
        if steps and ready(steps[0]):
            return steps[0]
        assert time.monotonic() < deadline, f"step {TOOL_SEQ} of {run_id}: {steps}"
        time.sleep(0.05)


def _holder(workers: WorkerPool, step: StepRecord) -> Worker:
    (holder,) = [w for w in workers.alive() if w.owns(step.lease_owner)]
    return holder


def test_a_worker_killed_during_a_30s_tool_call_is_taken_over_within_10s(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=1)
    workers.start(service_env, concurrency=1)
    client = Client(service_settings)
    assert service_settings.visibility_timeout >= 3600  # recovery must not come from Redis
    run = client.submit("toolbox", 'CALL keyed_effect {"label": "long", "seconds": 30}')
    step = _step_when(client, run.id, lambda s: s.status == StepStatus.RUNNING)
    assert step.started_at is not None and step.lease_expires_at is not None
    first_expiry = step.lease_expires_at
    # The holder renews its lease while the tool runs: the expiry moves past the first one.
    renewed = _step_when(
        client, run.id, lambda s: (s.lease_expires_at or first_expiry) > first_expiry
    )
    assert renewed.attempt == 1
    holder = _holder(workers, renewed)
    killed_at = datetime.now(UTC)
    holder.kill()
    taken = _step_when(client, run.id, lambda s: s.attempt == 2, timeout_s=30)
    assert taken.started_at is not None
    recovery_s = (taken.started_at - killed_at).total_seconds()
    assert 0 < recovery_s <= 10.0, f"taken over {recovery_s:.1f}s after the kill"
    assert not holder.owns(taken.lease_owner)
    finished = client.wait(run.id, timeout_s=60)
    assert finished.status == RunStatus.SUCCEEDED
    assert count_effects(service_settings.journal_url, run.id, "long") == 1


def test_a_step_longer_than_the_visibility_timeout_runs_once(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    env = dict(
        service_env, CHORDLINE_VISIBILITY_TIMEOUT="10", CHORDLINE_UNACKED_RESTORE_INTERVAL="1"
    )
    pool = [workers.start(env, concurrency=1), workers.start(env, concurrency=1)]
    client = Client(service_settings)
    run = client.submit("toolbox", 'CALL record_effect {"label": "vt", "seconds": 16}')
    finished = client.wait(run.id, timeout_s=90)
    assert finished.status == RunStatus.SUCCEEDED
    # Redis did hand the tool's message out again while the step ran (past its 10 s) ...
    receipts = sum(w.output().count("Task chordline.tool.call[") for w in pool)
    received = sum(
        line.endswith("received")
        for w in pool
        for line in w.output().splitlines()
        if "Task chordline.tool.call[" in line
    )
    assert received >= 2, f"no redelivery seen ({receipts} tool task log lines)"
    # ... and the step still ran once: one claim, one raw execution of the tool.
    step = client.runtime.journal.step(run.id, TOOL_SEQ)
    assert (step.status, step.attempt) == (StepStatus.SUCCEEDED, 1)
    assert count_effects(service_settings.journal_url, run.id, "vt") == 1


def test_sigterm_finishes_the_step_in_hand_then_exits(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    env = dict(service_env, CHORDLINE_SHUTDOWN_TIMEOUT_SECONDS="20")
    stopping = workers.start(env, concurrency=1)
    client = Client(service_settings)
    run = client.submit("toolbox", 'CALL record_effect {"label": "term", "seconds": 5}')
    _step_when(client, run.id, lambda s: s.status == StepStatus.RUNNING)
    asked = time.monotonic()
    code = stopping.terminate(timeout=30)
    took = time.monotonic() - asked
    assert code == 0, stopping.output()[-2000:]
    assert took < 20, f"took {took:.1f}s to stop"
    step = client.runtime.journal.step(run.id, TOOL_SEQ)
    assert (step.status, step.attempt) == (StepStatus.SUCCEEDED, 1), "the step in hand finished"
    # The next turn, enqueued as the worker stopped, waits in Redis for the next worker.
    workers.start(env, concurrency=1)
    assert client.wait(run.id, timeout_s=30).status == RunStatus.SUCCEEDED
    assert client.runtime.journal.step(run.id, TOOL_SEQ).attempt == 1
    assert count_effects(service_settings.journal_url, run.id, "term") == 1


def test_sigterm_during_a_step_longer_than_the_budget_exits_in_time_and_loses_nothing(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    env = dict(service_env, CHORDLINE_SHUTDOWN_TIMEOUT_SECONDS="6")
    workers.start(env, concurrency=1)
    workers.start(env, concurrency=1)
    client = Client(service_settings)
    run = client.submit("toolbox", 'CALL keyed_effect {"label": "budget", "seconds": 15}')
    step = _step_when(client, run.id, lambda s: s.status == StepStatus.RUNNING)
    holder = _holder(workers, step)
    asked = time.monotonic()
    holder.terminate(timeout=30)
    took = time.monotonic() - asked
    assert took <= 6 + 0.5, f"took {took:.1f}s to stop with a 6 s budget"
    finished = client.wait(run.id, timeout_s=60)
    assert finished.status == RunStatus.SUCCEEDED
    step = client.runtime.journal.step(run.id, TOOL_SEQ)
    assert step.attempt == 2, "the cancelled step was run again by the other worker"
    assert count_effects(service_settings.journal_url, run.id, "budget") == 1
