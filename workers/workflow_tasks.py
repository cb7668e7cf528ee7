"""Workflow tasks: advancing a workflow run when a child ends, and sweeping stuck workflows."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from orchestration import canvas
from orchestration.config import Settings
from orchestration.reducer.lifecycle import SweeperMiddleware
from orchestration.reducer.middleware import Middleware
from orchestration.workflows import (
    WakeParent,
    advance,
    load_workflows,
    stuck_workflows,
    workflow_dirs,
)
from workers.app import app
from workers.tasks import runtime

__all__ = [
    "advance_workflow",
    "redrive_workflows",
    "sweep_workflows",
    "workflow_middleware",
]

log = logging.getLogger("chordline.worker")


def _wake(parent_id: str, child_id: str) -> None:
    canvas.advance_workflow(app, parent_id, child_id)


def redrive_workflows() -> list[str]:
    """Advance the workflows whose wake-up was lost; returns their ids."""
    parents = stuck_workflows(runtime())
    for parent_id in parents:
        canvas.advance_workflow(app, parent_id, recovery=True)
    return parents


def workflow_middleware(settings: Settings) -> list[Middleware]:
    """The worker's workflow middleware: wake a parent when its child ends, and sweep for
    workflows whose wake-up was lost."""
    return [
        WakeParent(_wake),
        SweeperMiddleware(
            redrive_workflows, settings.sweep_interval_seconds, periodic=settings.worker_sweeps
        ),
    ]


@app.task(name=canvas.TASK_WORKFLOW_ADVANCE, bind=True)
def advance_workflow(self: Task[Any, Any], parent_id: str, child_id: str = "") -> dict[str, Any]:
    """Start a workflow's next children, or end it (idempotent: any number of deliveries)."""
    rt = runtime()
    try:
        moved = advance(rt, load_workflows(workflow_dirs(rt.settings.workflows_dir)), parent_id)
    except (OperationalError, InterfaceError) as exc:
        log.warning("journal unreachable advancing workflow %s; retrying: %s", parent_id, exc)
        raise self.retry(countdown=1.0, max_retries=1000, exc=exc) from exc
    for run_id in moved.started:
        canvas.start_run(app, run_id)
    return {
        "run_id": parent_id,
        "woken_by": child_id or None,
        "started": list(moved.started),
        "finished": moved.finished.value if moved.finished else None,
    }


@app.task(name=canvas.TASK_WORKFLOW_SWEEP)
def sweep_workflows() -> dict[str, Any]:
    """Advance workflow runs whose children all ended but which did not move."""
    return {"redriven": redrive_workflows()}
