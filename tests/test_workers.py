"""Real worker processes on real Redis and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from celery.result import AsyncResult

from orchestration.client import Client
from orchestration.config import Settings
from orchestration.journal.payloads import ToolPayload, encode
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from tests.agents.toolbox.tools import count_effects
from tests.support import ROOT, WorkerPool


def test_support_triage_cli_on_redis_and_postgres(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=2)
    workers.start(service_env, concurrency=2)
    text = "jane.doe@example.com here: order ORD-1042 arrived cracked, please refund"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "submit",
            "support-triage",
            text,
            "--wait",
            "--timeout",
            "60",
        ],
        env={**service_env, "PATH": "/usr/bin:/bin", "COLUMNS": "120"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "waiting for approval: step" in done.stdout
    assert "Timeline" in done.stdout
    client = Client(service_settings)
    (run,) = client.runtime.journal.list_runs().runs
    assert run.status == RunStatus.WAITING_FOR_APPROVAL
    lookups = [
        s for s in client.runtime.journal.steps(run.id) if s.kind == StepKind.TOOL and s.turn == 1
    ]
    assert {s.name for s in lookups} == {"lookup_customer", "lookup_orders", "search_kb"}
    assert all(s.status == StepStatus.SUCCEEDED for s in lookups)
    client.decide(run.id, approved=True, reviewer="test")
    finished = client.wait(run.id, timeout_s=30)
    assert finished.status == RunStatus.SUCCEEDED
    assert (
        finished.output is not None and "refund of $1249.00 for ORD-1042 issued" in finished.output
    )


def test_read_only_calls_of_one_turn_run_at_the_same_time_on_workers(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    # Each call waits at one meeting point until all three have arrived, which only calls
    # running at the same time can do; one left waiting alone gives up and says so.
    workers.start(service_env, concurrency=2)
    workers.start(service_env, concurrency=2)
    client = Client(service_settings)
    label = f"meet-{uuid.uuid4().hex[:12]}"
    meet = f'CALL rendezvous {{"label": "{label}", "parties": 3, "within_s": 60}}'
    run = client.submit("toolbox", "\n".join([meet] * 3))
    done = client.wait(run.id, timeout_s=120)
    assert done.status == RunStatus.SUCCEEDED, done.error
    calls = [s for s in client.runtime.journal.steps(run.id) if s.name == "rendezvous"]
    assert [s.turn for s in calls] == [1, 1, 1]
    meetings = [s.result.output if isinstance(s.result, ToolPayload) else None for s in calls]
    shown = [(s.result, s.started_at, s.lease_owner, s.attempt) for s in calls]
    assert all(isinstance(m, dict) and m["met"] is True for m in meetings), shown


def test_same_step_message_published_twice_executes_once(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=1)
    workers.start(service_env, concurrency=1)
    client = Client(service_settings)
    run = client.runtime.create_run("toolbox", 'CALL record_effect {"label": "x", "seconds": 1.5}')
    # Run the first turn by hand so that nothing but our two messages drives step 2.
    from orchestration.reducer import loop

    progress = loop.run_turn(client.runtime, run.id, 1, "test")
    assert progress.dispatch is not None
    (kind, seq) = progress.dispatch.serial[0]
    assert kind == StepKind.TOOL
    task_id = str(uuid.uuid4())
    for _ in range(2):
        client.app.send_task("chordline.tool.call", args=(run.id, seq), task_id=task_id)
    deadline = time.monotonic() + 30
    while client.runtime.journal.step(run.id, seq).status != StepStatus.SUCCEEDED:
        assert time.monotonic() < deadline, "step never completed"
        time.sleep(0.05)
    # A third delivery after completion returns the recorded result and does nothing else.
    recorded = client.runtime.journal.step(run.id, seq).result
    late = client.app.send_task("chordline.tool.call", args=(run.id, seq))
    assert late.get(timeout=30) == {
        "run_id": run.id,
        "seq": seq,
        "status": "already_done",
        "result": encode(recorded),
    }
    first = AsyncResult(task_id, app=client.app).get(timeout=30)
    assert first["status"] in ("ran", "already_done")
    step = client.runtime.journal.step(run.id, seq)
    assert step.attempt == 1
    assert step.result == ToolPayload({"label": "x", "status": "recorded"})
    assert count_effects(service_settings.journal_url, run.id, "x") == 1


def test_runs_started_by_a_plain_send_task(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=2)
    client = Client(service_settings)
    result = client.app.send_task(
        "chordline.agent.run",
        args=("research-report", "Research report on sodium-ion batteries for grid storage"),
        kwargs={"tenant": "acme"},
    )
    started = result.get(timeout=30)
    run = client.wait(started["run_id"], timeout_s=60)
    assert (run.status, run.tenant, run.id) == (RunStatus.SUCCEEDED, "acme", result.id)
    assert run.output is not None and "Sodium-ion batteries for stationary storage" in run.output


@pytest.mark.slow
def test_a_hundred_turn_run_completes_with_every_step_run_once(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=2)
    client = Client(service_settings)
    run = client.submit("counter", "tick 100 times")
    run = client.wait(run.id, timeout_s=180)
    assert run.status == RunStatus.SUCCEEDED
    steps = client.runtime.journal.steps(run.id)
    assert len(steps) == 201
    assert [s.attempt for s in steps] == [1] * 201
    assert [s.seq for s in steps] == list(range(1, 202))
    assert [
        s.result.output["seq"] if s.result else None for s in steps if s.kind == StepKind.TOOL
    ] == [s.seq for s in steps if s.kind == StepKind.TOOL]
