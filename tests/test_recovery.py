"""Crashes and stops of real worker processes on real Redis and PostgreSQL.

Every wait polls the journal with a generous deadline that only a hang reaches; every assertion
names the behaviour: who took a killed worker's step over, how often a tool really ran, how many
effects landed. How soon (recovery and stop times) is measured by ``python -m bench``.
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


def test_a_worker_killed_during_a_30s_tool_call_is_taken_over_by_another_before_it_ends(
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
    # Taken over from the journal (lease lapse, then a sweep): Redis alone would redeliver only
    # after the hour-long visibility timeout, far beyond this ceiling.
    taken = _step_when(client, run.id, lambda s: s.attempt == 2, timeout_s=120)
    assert taken.started_at is not None and taken.started_at > killed_at
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
    code = stopping.terminate(timeout=60)
    assert code == 0, stopping.output()[-2000:]
    step = client.runtime.journal.step(run.id, TOOL_SEQ)
    assert (step.status, step.attempt) == (StepStatus.SUCCEEDED, 1), "the step in hand finished"
    # The next turn, enqueued as the worker stopped, waits in Redis for the next worker.
    workers.start(env, concurrency=1)
    assert client.wait(run.id, timeout_s=30).status == RunStatus.SUCCEEDED
    assert client.runtime.journal.step(run.id, TOOL_SEQ).attempt == 1
    assert count_effects(service_settings.journal_url, run.id, "term") == 1


def test_sigterm_during_a_step_longer_than_the_budget_cancels_it_and_loses_nothing(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    env = dict(service_env, CHORDLINE_SHUTDOWN_TIMEOUT_SECONDS="6")
    workers.start(env, concurrency=1)
    workers.start(env, concurrency=1)
    client = Client(service_settings)
    run = client.submit("toolbox", 'CALL keyed_effect {"label": "budget", "seconds": 15}')
    step = _step_when(client, run.id, lambda s: s.status == StepStatus.RUNNING)
    holder = _holder(workers, step)
    # The worker ends the step itself when its budget runs out (a cold shutdown that cancels
    # the step and requeues its message): it exits on its own, not by the SIGKILL that
    # terminate() sends at its ceiling (-9); that it did not wait out the 15 s call shows in
    # the step's second attempt below.
    code = holder.terminate(timeout=60)
    assert code != -9, holder.output()[-2000:]
    finished = client.wait(run.id, timeout_s=60)
    assert finished.status == RunStatus.SUCCEEDED
    step = client.runtime.journal.step(run.id, TOOL_SEQ)
    assert step.attempt == 2, "the cancelled step was run again by the other worker"
    assert count_effects(service_settings.journal_url, run.id, "budget") == 1


def test_beat_hands_a_killed_workers_step_back_while_every_worker_is_busy(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    # No worker sweeps, and the one worker left is busy with a long call: a sweep sent as a
    # task would wait for its slot. Beat sweeps in its own process, so the step is handed back
    # while that call still runs.
    env = dict(service_env, CHORDLINE_WORKER_SWEEPS="false")
    workers.start(env, concurrency=1)
    workers.start(env, concurrency=1)
    workers.start_beat(env)
    client = Client(service_settings)
    killed = client.submit("toolbox", 'CALL keyed_effect {"label": "killed", "seconds": 30}')
    holder = _holder(workers, _step_when(client, killed.id, lambda s: s.lease_owner is not None))
    busy = client.submit("toolbox", 'CALL keyed_effect {"label": "busy", "seconds": 60}')
    _step_when(client, busy.id, lambda s: s.status == StepStatus.RUNNING)
    holder.kill()
    handed_back = _step_when(
        client, killed.id, lambda s: s.status == StepStatus.PENDING and s.attempt == 1, 60
    )
    assert handed_back.lease_owner is None
    still = client.runtime.journal.step(busy.id, TOOL_SEQ)
    assert still.status == StepStatus.RUNNING, "the hand-back waited for the busy worker"
