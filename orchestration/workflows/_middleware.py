"""Step middleware for child runs of workflows: waking the parent.

:class:`WakeParent` hears a child's last turn and asks for its parent's advance; the callback
is the worker's (it enqueues ``chordline.workflow.advance``), so this module needs no broker.
The workflow-wide budget is :class:`orchestration.budgets.WorkflowBudget`.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestration.reducer.endings import ends_run
from orchestration.reducer.planning import Progress
from orchestration.runtime import Middleware, StepInput, StepNext

__all__ = ["WakeParent"]


class WakeParent(Middleware):
    """Asks for the parent's advance when a child run's last turn is recorded.

    A wake that is lost (the worker died just after the child's end was journaled) is made up
    by the workflow sweeper; a wake too many is harmless (an advance is idempotent).

    Args:
        wake: called with the parent's and the child's run ids.
    """

    def __init__(self, wake: Callable[[str, str], None]) -> None:
        self.wake = wake

    def step(self, item: StepInput, call_next: StepNext) -> Progress:
        """Run the step; wake the parent when it ended a child run."""
        progress = call_next(item)
        parent_id = item.run.parent_id
        if parent_id is not None and ends_run(item, progress):
            self.wake(parent_id, item.run.id)
        return progress
