"""Workflow tasks: advancing a workflow run when a child ends, and sweeping stuck workflows."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from orchestration import canvas
from orchestration.journal import JOURNAL_DOWN
from orchestration.workflows import advance, load_workflows, workflow_dirs
from workers.app import app
from workers.runtime import redrive_workflows, runtime

__all__ = ["advance_workflow", "sweep_workflows"]

log = logging.getLogger("chordline.worker")


@app.task(name=canvas.TASK_WORKFLOW_ADVANCE, bind=True)
def advance_workflow(self: Task[Any, Any], parent_id: str, child_id: str = "") -> dict[str, Any]:
    """Start a workflow's next children, or end it (idempotent: any number of deliveries)."""
    rt = runtime()
    try:
        flows = load_workflows(workflow_dirs(rt.settings.workflows.workflows_dir))
        moved = advance(rt, flows, parent_id)
    except JOURNAL_DOWN as exc:
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
