"""The tasks: each one hands straight to ``orchestration`` and enqueues what it says is next."""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from celery import Task
from celery.signals import worker_process_init, worker_ready, worker_shutting_down
from sqlalchemy.exc import InterfaceError, OperationalError

from orchestration import canvas
from orchestration.config import Settings, current_settings
from orchestration.journal import open_journal
from orchestration.reducer import loop
from orchestration.runtime import Limits, Runtime
from workers import telemetry
from workers.app import app, shutdown_plan

__all__ = ["await_approval", "run_agent", "sweep", "tool_call", "turn"]

log = logging.getLogger("chordline.worker")

_MAX_WAIT_S = 5.0
# Errors of a journal that does not answer (a database restart): the step is tried again later.
_JOURNAL_DOWN = (OperationalError, InterfaceError)

StepRunner = Callable[[Runtime, str, int, str], loop.Progress]


@functools.cache
def runtime() -> Runtime:
    """This process's runtime, opened on first use (after any fork)."""
    return Runtime.open(current_settings())


def _owner(task: Task[Any, Any]) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{task.request.id}"


def _follow(task: Task[Any, Any], progress: loop.Progress) -> dict[str, Any]:
    if progress.status in ("busy", "not_ready"):
        backoff = progress.retry_in_s * (2 ** min(task.request.retries, 6))
        raise task.retry(countdown=min(backoff, _MAX_WAIT_S), max_retries=1000)
    if progress.dispatch is not None and not progress.dispatch.empty:
        canvas.dispatch(app, progress.dispatch)
    return progress.as_task_result()


def _run_step(task: Task[Any, Any], runner: StepRunner, run_id: str, seq: int) -> dict[str, Any]:
    try:
        progress = runner(runtime(), run_id, seq, _owner(task))
    except _JOURNAL_DOWN as exc:
        log.warning("journal unreachable at %s step %s; retrying: %s", run_id, seq, exc)
        backoff = 0.5 * (2 ** min(task.request.retries, 4))
        raise task.retry(countdown=min(backoff, _MAX_WAIT_S), max_retries=1000, exc=exc) from exc
    return _follow(task, progress)


@app.task(name=canvas.TASK_TURN, bind=True)
def turn(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Run one LLM turn of a run."""
    return _run_step(self, loop.run_turn, run_id, seq)


@app.task(name=canvas.TASK_TOOL, bind=True)
def tool_call(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Run one tool call of a run."""
    return _run_step(self, loop.run_tool, run_id, seq)


@app.task(name=canvas.TASK_APPROVAL, bind=True)
def await_approval(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Park a run until a person decides on a tool call."""
    return _run_step(self, loop.run_approval, run_id, seq)


@app.task(name=canvas.TASK_RUN, bind=True, Request=telemetry.RunRequest)
def run_agent(
    self: Task[Any, Any],
    agent: str,
    input: str,
    *,
    tenant: str | None = None,
    max_steps: int | None = None,
    max_tokens: int | None = None,
    max_usd: str | None = None,
) -> dict[str, Any]:
    """Start a run from a plain ``send_task``; the task id becomes the run id (idempotent)."""
    limits = Limits(max_steps, max_tokens, Decimal(max_usd) if max_usd else None)
    run = runtime().create_run(agent, input, tenant=tenant, limits=limits, run_id=self.request.id)
    canvas.start_run(app, run.id, run.agent)
    return {"run_id": run.id, "status": run.status.value}


def _redrive_stuck() -> list[str]:
    return canvas.redrive_stuck(app, runtime())


@app.task(name=canvas.TASK_SWEEP)
def sweep() -> dict[str, Any]:
    """Re-drive live runs that stopped moving."""
    return {"redriven": _redrive_stuck()}


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked child must not share the parent's database sockets.
    open_journal(current_settings().journal_url).engine.dispose(close=False)


class _Sweeper(threading.Thread):
    """The worker's own sweeper: re-drives stuck runs every sweep interval, no Beat needed."""

    def __init__(self, interval_s: float) -> None:
        super().__init__(name="chordline-sweeper", daemon=True)
        self.interval_s = interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                redriven = _redrive_stuck()
            except Exception as exc:  # broker or journal away: the next sweep tries again
                log.warning("sweep failed (%s: %s); retrying", type(exc).__name__, exc)
                continue
            if redriven:
                log.info("re-drove %d stuck run(s): %s", len(redriven), ", ".join(redriven))


# The main process's sweeper thread (at most one), kept to stop it at shutdown.
_sweepers: list[_Sweeper] = []


def _warn_short_visibility(settings: Settings) -> None:
    """Say so when a step may outlive the broker's visibility timeout (Redis redelivers it)."""
    if settings.embedded:
        return
    tools = [t for name in runtime().registry.names() for t in runtime().registry.get(name).tools]
    longest = max(tools, key=lambda t: t.timeout_s, default=None)
    if longest is not None and longest.timeout_s >= settings.visibility_timeout:
        log.warning(
            "tool %s may run %gs, longer than CHORDLINE_VISIBILITY_TIMEOUT=%ds: Redis will "
            "deliver its message again while it runs (the step's lease keeps it from running "
            "twice). Fix: raise CHORDLINE_VISIBILITY_TIMEOUT above the longest step.",
            longest.name,
            longest.timeout_s,
            settings.visibility_timeout,
        )


@worker_ready.connect
def _on_ready(**_: Any) -> None:
    settings = current_settings()
    _warn_short_visibility(settings)
    try:
        redriven = _redrive_stuck()
    except Exception as exc:  # the periodic sweep catches up
        log.warning("start-up sweep failed (%s: %s)", type(exc).__name__, exc)
        redriven = []
    if redriven:
        log.info("re-drove %d stuck run(s) at start-up", len(redriven))
    if settings.worker_sweeps and not _sweepers:
        _sweepers.append(_Sweeper(settings.sweep_interval_seconds))
        _sweepers[0].start()
    ready: Path | None = settings.worker_ready_file
    if ready is not None:
        ready.parent.mkdir(parents=True, exist_ok=True)
        ready.write_text(str(os.getpid()))


@worker_shutting_down.connect
def _on_shutting_down(how: str = "", **_: Any) -> None:
    for thread in _sweepers:
        thread.stopped.set()
    if how != "Warm":
        return
    # Celery's warm shutdown waits for the steps in hand without a limit; when its share of the
    # budget is spent we ask for a cold shutdown (SIGQUIT): a soft phase, then cancel and exit.
    plan = shutdown_plan(current_settings())
    timer = threading.Timer(plan.warm_s, os.kill, args=(os.getpid(), signal.SIGQUIT))
    timer.daemon = True
    timer.start()
