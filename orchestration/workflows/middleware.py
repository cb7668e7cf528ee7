"""Step middleware for child runs of workflows: the workflow-wide budget, and waking the parent.

:class:`WorkflowBudget` checks, before each LLM call of a child run, the steps, tokens and
dollars of all the workflow's children together against the workflow's budgets.
:class:`WakeParent` hears a child's last turn and asks for its parent's advance; the callback
is the worker's (it enqueues ``chordline.workflow.advance``), so this module needs no broker.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestration.errors import BudgetExceeded
from orchestration.journal import Journal
from orchestration.llm.fallbacks import ChainOutcome
from orchestration.reducer.endings import ends_run
from orchestration.reducer.middleware import Middleware, ModelCall, ModelNext, StepInput, StepNext
from orchestration.reducer.planning import Progress
from orchestration.workflows.budget import check_workflow

__all__ = ["WakeParent", "WorkflowBudget"]


class WorkflowBudget(Middleware):
    """Refuses a child run's call that could pass its workflow's steps, tokens or dollars.

    Args:
        journal: the journal (the parent's budgets and the children's totals).
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Check the workflow's totals against the call's estimate, then call."""
        parent_id = call.at.run.parent_id
        if parent_id is None:
            return call_next(call)
        check = check_workflow(
            self.journal, parent_id, extra_steps=0,
            prompt_tokens=call.prompt_tokens, estimated_usd=call.estimated_usd,
        )  # fmt: skip
        if check.reason is not None:
            raise BudgetExceeded(f"workflow {check.parent.agent} budget: {check.reason}")
        return call_next(call)


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
