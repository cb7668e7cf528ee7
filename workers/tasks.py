"""The tasks: each one hands straight to ``orchestration`` and enqueues what it says is next."""

from __future__ import annotations

import functools
import logging
import os
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

from celery import Task
from celery.signals import worker_process_init, worker_ready

from orchestration import canvas, loop, sweeper
from orchestration.config import current_settings
from orchestration.journal import open_journal
from orchestration.runtime import Limits, Runtime
from workers.app import app

__all__ = ["await_approval", "run_agent", "sweep", "tool_call", "turn"]

log = logging.getLogger("chordline.worker")

_MAX_WAIT_S = 5.0


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


@app.task(name=canvas.TASK_TURN, bind=True)
def turn(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Run one LLM turn of a run."""
    return _follow(self, loop.run_turn(runtime(), run_id, seq, _owner(self)))


@app.task(name=canvas.TASK_TOOL, bind=True)
def tool_call(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Run one tool call of a run."""
    return _follow(self, loop.run_tool(runtime(), run_id, seq, _owner(self)))


@app.task(name=canvas.TASK_APPROVAL, bind=True)
def await_approval(self: Task[Any, Any], run_id: str, seq: int) -> dict[str, Any]:
    """Park a run until a person decides on a tool call."""
    return _follow(self, loop.run_approval(runtime(), run_id, seq, _owner(self)))


@app.task(name=canvas.TASK_RUN, bind=True)
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
    canvas.start_run(app, run.id)
    return {"run_id": run.id, "status": run.status.value}


def _redrive_stuck() -> list[str]:
    plans = sweeper.sweep(runtime())
    for plan in plans:
        canvas.dispatch(app, plan)
    return [plan.run_id for plan in plans]


@app.task(name=canvas.TASK_SWEEP)
def sweep() -> dict[str, Any]:
    """Re-drive live runs that stopped moving."""
    return {"redriven": _redrive_stuck()}


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked child must not share the parent's database sockets.
    open_journal(current_settings().journal_url).engine.dispose(close=False)


@worker_ready.connect
def _on_ready(**_: Any) -> None:
    settings = current_settings()
    redriven = _redrive_stuck()
    if redriven:
        log.info("re-drove %d stuck run(s) at start-up", len(redriven))
    ready: Path | None = settings.worker_ready_file
    if ready is not None:
        ready.parent.mkdir(parents=True, exist_ok=True)
        ready.write_text(str(os.getpid()))
