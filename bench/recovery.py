"""Recovery: SIGKILL the worker holding a step; time until that step completes elsewhere.

Two workers and Beat run on Redis + PostgreSQL. A run's one tool call naps for a second; once a
worker has claimed it, the benchmark kills that worker's whole process group. The message stays
unacknowledged in Redis until the visibility timeout (the baseline: what bare Celery with acks
late would wait before redelivering); Chordline's sweeper re-drives the step once its lease
lapses. The time includes re-running the one-second call.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from bench.processes import Proc
from bench.report import Row, Table
from bench.session import Session
from orchestration.config import Settings
from orchestration.journal.tables import StepStatus

__all__ = ["run"]

TARGET_S = 10.0
_NAP_S = 1.0
# CHORDLINE_SHUTDOWN_TIMEOUT_SECONDS for the stop row; its step naps three times as long.
_STOP_BUDGET_S = 6.0


@dataclass(frozen=True)
class _Config:
    label: str
    env: dict[str, str]


@dataclass(frozen=True)
class _Recovered:
    total_s: float
    reclaimed_s: float


def _holder(session: Session, run_id: str, procs: list[Proc], timeout: float) -> Proc:
    """Wait until a worker claimed step 2 (the nap); return the worker that holds it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = session.journal.steps(run_id, after=1, upto=2)
        step = steps[0] if steps else None
        if step is not None and step.status == StepStatus.RUNNING and step.lease_owner:
            pid = int(step.lease_owner.split(":")[1])
            for proc in procs:
                if proc.owns(pid):
                    return proc
        time.sleep(0.01)
    raise TimeoutError(f"no worker claimed run {run_id} step 2 within {timeout:g}s")


def _measure(session: Session, config: _Config) -> _Recovered:
    env = session.chordline_env(**config.env)
    workers = [session.chordline_worker(f"recovery-{i}", concurrency=1, env=env) for i in (1, 2)]
    beat = session.beat(env)
    try:
        for worker in workers:
            worker.wait_ready()
        (run_id,) = session.submit("sleeper", "CALL nap " + json.dumps({"seconds": _NAP_S}))
        holder = _holder(session, run_id, workers, timeout=30)
        killed_at = time.time()
        holder.kill()
        session.wait([run_id], timeout=600)
        step = session.journal.step(run_id, 2)
        assert step.finished_at is not None and step.started_at is not None
        return _Recovered(
            total_s=step.finished_at.timestamp() - killed_at,
            reclaimed_s=step.started_at.timestamp() - killed_at,
        )
    finally:
        session.stop(beat, *workers)


def _stop_s(session: Session) -> float:
    """SIGTERM the worker holding a step longer than its shutdown budget; seconds to its exit."""
    env = session.chordline_env(shutdown_timeout_seconds=str(_STOP_BUDGET_S))
    worker = session.chordline_worker("stopping", concurrency=1, env=env)
    try:
        worker.wait_ready()
        text = "CALL nap " + json.dumps({"seconds": 3 * _STOP_BUDGET_S})
        (run_id,) = session.submit("sleeper", text)
        _holder(session, run_id, [worker], timeout=30)
        asked = time.monotonic()
        worker.terminate()
        worker.process.wait(timeout=120)
        return time.monotonic() - asked
    finally:
        session.stop(worker)


def run(session: Session) -> Table:
    """Measure and return the table."""
    session.stop_shared()
    defaults = Settings.model_fields
    lease_default = float(defaults["lease_seconds"].default)
    sweep_default = float(defaults["sweep_interval_seconds"].default)
    visibility = float(session.settings.visibility_timeout)
    configs = [
        _Config(
            "lease 3 s, sweep every 1 s",
            {"lease_seconds": "3", "sweep_interval_seconds": "1", "stale_after_seconds": "3"},
        )
    ]
    if session.size.recovery_defaults:
        configs.append(
            _Config(f"defaults (lease {lease_default:g} s, sweep every {sweep_default:g} s)", {})
        )
    rows: list[Row] = []
    for config in configs:
        recovered = _measure(session, config)
        rows.append(
            Row(
                f"kill -> step done, {config.label}",
                recovered.total_s,
                visibility,
                f"< {TARGET_S:g} s",
                recovered.total_s < TARGET_S,
            )
        )
        rows.append(Row(f"kill -> step re-claimed, {config.label}", recovered.reclaimed_s))
    stop_s = _stop_s(session)
    rows.append(
        Row(
            f"SIGTERM -> exit, a {3 * _STOP_BUDGET_S:g} s step, {_STOP_BUDGET_S:g} s budget",
            stop_s,
            target=f"<= {_STOP_BUDGET_S:g} s",
            passed=stop_s <= _STOP_BUDGET_S,
        )
    )
    return Table(
        title="5. Recovery after SIGKILL of the worker holding a step (s)",
        baseline="Redis visibility timeout",
        rows=rows,
        notes=[
            "two workers (prefork 1) + `chordline beat`; the step naps "
            f"{_NAP_S:g} s, so 'done' includes re-running it; the baseline is "
            "CHORDLINE_VISIBILITY_TIMEOUT, after which Redis would redeliver the message.",
            "SIGTERM -> exit: one worker holding a step longer than its "
            "CHORDLINE_SHUTDOWN_TIMEOUT_SECONDS; the worker cancels the step and requeues its "
            "message (another worker takes it over, as after a kill) and must have exited "
            "within the budget.",
        ],
    )
