"""This worker process's runtime, opened once, and the middleware only a worker adds to it: its
sweepers (stuck runs, stuck workflows), its start-up checks and the wake-up of a workflow run
when a child ends.

The step tasks (:mod:`workers.tasks`) and the workflow tasks (:mod:`workers.workflow_tasks`)
both import it; it imports neither.
"""

from __future__ import annotations

import functools

from orchestration import canvas
from orchestration.bootstrap import open_runtime
from orchestration.config import Settings, current_settings
from orchestration.reducer import StartupChecks, SweeperMiddleware
from orchestration.runtime import Middleware, Runtime
from orchestration.workflows import WakeParent, stuck_workflows
from workers.app import app

__all__ = ["after_fork", "redrive_stuck", "redrive_workflows", "runtime", "worker_middleware"]


@functools.cache
def runtime() -> Runtime:
    """This process's runtime, opened on first use (after any fork), with the worker's own
    middleware (see :func:`worker_middleware`)."""
    settings = current_settings()
    return open_runtime(settings, *worker_middleware(settings))


def after_fork() -> None:
    """In a forked pool child: leave the parent's database connections to the parent.

    A child forked after the parent opened its runtime (one that replaces a dead child) inherits
    that runtime: its journal gets a pool of its own, the parent's sockets untouched (the Redis
    clients reconnect by themselves in a new process). A child forked before has nothing to
    drop; it opens its own runtime on its first task.
    """
    if runtime.cache_info().currsize:
        runtime().journal.dispose(close=False)


def worker_middleware(settings: Settings) -> list[Middleware]:
    """A worker's own middleware, innermost: its sweeper of stuck runs, its start-up checks,
    the wake-up of a workflow run when its child ends, and the sweeper of workflows whose
    wake-up was lost."""
    return [
        SweeperMiddleware(
            redrive_stuck, settings.sweep_interval_seconds, periodic=settings.worker_sweeps
        ),
        StartupChecks(),
        WakeParent(_wake),
        SweeperMiddleware(
            redrive_workflows, settings.sweep_interval_seconds, periodic=settings.worker_sweeps
        ),
    ]


def redrive_stuck() -> list[str]:
    """Re-drive live runs that stopped moving; returns their ids."""
    return canvas.redrive_stuck(app, runtime())


def redrive_workflows() -> list[str]:
    """Advance the workflows whose wake-up was lost; returns their ids."""
    parents = stuck_workflows(runtime())
    for parent_id in parents:
        canvas.advance_workflow(app, parent_id, recovery=True)
    return parents


def _wake(parent_id: str, child_id: str) -> None:
    canvas.advance_workflow(app, parent_id, child_id)
