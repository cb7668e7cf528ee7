"""Admin tasks on the ``admin`` queue: each hands straight to its job in ``admin_jobs``."""

from __future__ import annotations

import dataclasses
from typing import Any

import admin_jobs
from orchestration import canvas
from orchestration.config import current_settings
from workers.app import app

__all__ = ["cleanup", "nightly_eval"]


@app.task(name=canvas.TASK_NIGHTLY_EVAL)
def nightly_eval() -> dict[str, Any]:
    """Evaluate every agent with a dataset against its baseline (alerts on regression)."""
    outcomes = admin_jobs.nightly_eval(current_settings())
    return {"evals": [dataclasses.asdict(o) for o in outcomes]}


@app.task(name=canvas.TASK_CLEANUP)
def cleanup() -> dict[str, Any]:
    """Delete runs and eval results past their retention, and expired cached answers."""
    return dataclasses.asdict(admin_jobs.cleanup(current_settings()))
