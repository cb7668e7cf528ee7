"""Telling, from a step's progress, whether the step may have ended its run."""

from __future__ import annotations

from orchestration.journal.tables import StepKind
from orchestration.reducer.planning import Progress
from orchestration.runtime import StepInput

__all__ = ["ends_run"]


def ends_run(item: StepInput, progress: Progress) -> bool:
    """True when the step may have ended its run: an LLM turn that was recorded (or stopped)
    with nothing to enqueue after it (a final answer, a failure, a budget stop). Only such a
    turn ends a run on its own; a cancel ends it from outside."""
    if item.step.kind != StepKind.LLM or progress.status not in ("ran", "skipped"):
        return False
    return progress.dispatch is None or progress.dispatch.empty
