"""Admin tasks of the knowledge subsystem: embedding rebuilds and fine-tunes (admin queue).

Each hands straight to ``admin_jobs``; the fine-tune follow-up reschedules itself with a
countdown instead of sleeping.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import admin_jobs
from orchestration import canvas
from orchestration.config import current_settings
from workers.app import app

__all__ = ["finetune", "finetune_follow", "rebuild_embeddings_task"]


@app.task(name=canvas.TASK_REBUILD_EMBEDDINGS)
def rebuild_embeddings_task(agent: str | None = None, full: bool = False) -> list[dict[str, Any]]:
    """Rebuild the knowledge bases' embeddings (Beat, nightly)."""
    reports = admin_jobs.rebuild_embeddings(current_settings(), agent=agent, full=full)
    return [dataclasses.asdict(r) for r in reports]


@app.task(name=canvas.TASK_FINETUNE)
def finetune(agent: str) -> dict[str, Any]:
    """Export, upload and start a fine-tuning job for ``agent``; its checks follow."""
    started = admin_jobs.start_finetune(current_settings(), agent)
    return {
        "job_id": started.job.job_id,
        "examples": started.export.examples,
        "tokens": started.export.tokens,
    }


@app.task(name=canvas.TASK_FINETUNE_FOLLOW)
def finetune_follow(job_id: str, checks: int) -> dict[str, Any]:
    """Check a fine-tuning job once; schedule the next check while it is still running."""
    return dataclasses.asdict(admin_jobs.follow_finetune(current_settings(), job_id, checks))
