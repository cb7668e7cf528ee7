"""The tasks: each one hands straight to ``orchestration`` and enqueues what it says is next."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery import Task
from celery.signals import (
    beat_init,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutting_down,
)

from orchestration import ChordlineError, Limits, canvas
from orchestration.bootstrap import preload_runtime
from orchestration.config import current_settings
from orchestration.journal import JOURNAL_DOWN
from orchestration.reducer import (
    Progress,
    SweeperMiddleware,
    run_approval,
    run_tool,
    run_turn,
)
from orchestration.run_request import parse_run_request
from orchestration.runtime import Runtime
from workers import telemetry
from workers.app import app, shutdown_plan
from workers.runtime import after_fork, redrive_stuck, redrive_workflows, runtime

__all__ = ["StepDeferred", "await_approval", "run_agent", "sweep", "tool_call", "turn"]

log = logging.getLogger("chordline.worker")

# Errors of a journal that does not answer (a database restart): the step is tried again later.
_JOURNAL_DOWN = JOURNAL_DOWN


class StepDeferred(Exception):
    """The step cannot run yet: another worker's lease on it is live (``busy``), or the turn
    waits for the previous turn's calls (``not_ready``). Raised so Celery retries the task."""


# Celery's own retry policy for every step task: a journal that does not answer, a busy lease
# or a turn not ready yet is retried with exponential backoff (1 s, 2 s, 4 s, then at most
# 5 s) and full jitter, so deliveries that failed together do not come back together. The
# sweeper re-drives from the journal if even 1000 tries were not enough.
_STEP_RETRIES: dict[str, Any] = {
    "autoretry_for": (*_JOURNAL_DOWN, StepDeferred),
    "retry_backoff": True,
    "retry_backoff_max": 5,
    "retry_jitter": True,
    "max_retries": 1000,
}

StepRunner = Callable[[Runtime, str, int, str], Progress]


def _owner(task: Task[Any, Any]) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{task.request.id}"


def _follow(progress: Progress) -> dict[str, Any]:
    if progress.status in ("busy", "not_ready"):
        raise StepDeferred(f"{progress.run_id} step {progress.seq} is {progress.status}")
    if progress.dispatch is not None and not progress.dispatch.empty:
        canvas.dispatch(app, progress.dispatch)
    return progress.as_task_result()


def _progress(task: Task[Any, Any], runner: StepRunner, run_id: str, seq: int) -> Progress:
    try:
        return runner(runtime(), run_id, seq, _owner(task))
    except _JOURNAL_DOWN as exc:
        log.warning("journal unreachable at %s step %s; retrying: %s", run_id, seq, exc)
        raise


def _run_step(task: Task[Any, Any], runner: StepRunner, run_id: str, seq: int) -> dict[str, Any]:
    return _follow(_progress(task, runner, run_id, seq))


def _announce(progress: Progress) -> None:
    """Enqueue the approval webhook of a step parked just now, or found parked (its message
    delivered again after a crash between the park and the enqueue); the webhook's own task
    sends it at most once. The run is parked whatever happens here."""
    parked = progress.status == "waiting" or (
        progress.status == "already_done" and progress.result is None
    )
    if not parked or current_settings().approvals.approval_webhook_url is None:
        return
    try:
        canvas.send_approval_webhook(app, progress.run_id, progress.seq)
    except Exception as exc:  # any broker trouble: the run waits on, only unannounced
        log.warning(
            "could not enqueue the approval webhook of %s step %s: %s",
            progress.run_id,
            progress.seq,
            exc,
        )


@app.task(name=canvas.TASK_TURN, bind=True, **_STEP_RETRIES)
def turn(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Run one LLM turn of a run."""
    return _run_step(self, run_turn, run_id, seq)


@app.task(name=canvas.TASK_TOOL, bind=True, **_STEP_RETRIES)
def tool_call(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Run one tool call of a run."""
    return _run_step(self, run_tool, run_id, seq)


@app.task(name=canvas.TASK_APPROVAL, bind=True, **_STEP_RETRIES)
def await_approval(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Park a run until a person decides on a tool call; announce it to the approval webhook."""
    progress = _progress(self, run_approval, run_id, seq)
    _announce(progress)
    return _follow(progress)


@app.task(name=canvas.TASK_RUN, bind=True, throws=(ChordlineError,), Request=telemetry.RunRequest)
def run_agent(
    self: Task[Any, Any],
    /,
    agent: object = None,
    input: object = None,
    **fields: object,
) -> dict[str, Any]:
    """Start a run from a plain ``send_task``; the task id becomes the run id (idempotent).

    The arguments are checked with the one run-request contract before anything is stored; a
    bad one fails the task with a message naming the field and the fix (``throws`` makes the
    worker log it as one line, without a traceback).
    """
    rt = runtime()
    request = parse_run_request({"agent": agent, "input": input, **fields}, rt.settings.api)
    limits = Limits(request.max_steps, request.max_tokens, request.max_usd)
    run = rt.create_run(
        request.agent,
        request.input,
        tenant=request.tenant,
        limits=limits,
        run_id=self.request.id,
        metadata=request.metadata,
        session=request.session,
    )
    canvas.start_run(app, run.id, run.agent)
    return {"run_id": run.id, "status": run.status.value}


@app.task(name=canvas.TASK_SWEEP)
def sweep() -> dict[str, Any]:
    """Re-drive live runs that stopped moving."""
    return {"redriven": redrive_stuck()}


@worker_init.connect
def _preload(**_: Any) -> None:
    # Before the pool forks: each child would otherwise import the agents and the database
    # driver again at its first step (tenths of a second of CPU each, while the worker starts).
    preload_runtime(current_settings())


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked child must not share the parent's database sockets.
    after_fork()


@worker_ready.connect
def _on_ready(**_: Any) -> None:
    # The main process's runtime: its middleware sweeps and checks for the whole worker.
    runtime().middleware.worker_start(runtime())
    ready: Path | None = current_settings().worker_ready_file
    if ready is not None:
        ready.parent.mkdir(parents=True, exist_ok=True)
        ready.write_text(str(os.getpid()))


@beat_init.connect
def _on_beat_init(**_: Any) -> None:
    # Beat sweeps in its own process rather than by sending a sweep task: a task waits for a
    # free worker slot (and expires unserved while every worker is busy or being replaced),
    # and a worker's own sweeper dies with it. Beat is the one process a deployment keeps
    # out of the workers' churn, so stuck runs are found every interval whatever the workers do.
    interval = current_settings().sweep_interval_seconds
    rt = runtime()
    for redrive in (redrive_stuck, redrive_workflows):
        SweeperMiddleware(redrive, interval).worker_start(rt)


@worker_shutting_down.connect
def _on_shutting_down(how: str = "", **_: Any) -> None:
    runtime().middleware.worker_stop(runtime())
    if how != "Warm":
        return
    # Celery's warm shutdown waits for the steps in hand without a limit; when its share of the
    # budget is spent we ask for a cold shutdown (SIGQUIT): a soft phase, then cancel and exit.
    plan = shutdown_plan(current_settings())
    timer = threading.Timer(plan.warm_s, os.kill, args=(os.getpid(), signal.SIGQUIT))
    timer.daemon = True
    timer.start()
