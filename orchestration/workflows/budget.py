"""A workflow's budgets against what all its children spent together."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from orchestration.journal import Journal
from orchestration.journal.records import RunRecord
from orchestration.reducer.budget import check_before_call
from orchestration.workflows import store

__all__ = ["WorkflowCheck", "check_workflow"]


@dataclass(frozen=True)
class WorkflowCheck:
    """The verdict on a workflow's budgets.

    Attributes:
        parent: the workflow run (its budgets).
        spent: its children's totals.
        reason: why the next call or child may not go ahead (None: it may).
    """

    parent: RunRecord
    spent: store.Totals
    reason: str | None


def check_workflow(
    journal: Journal,
    parent_id: str,
    *,
    extra_steps: int,
    prompt_tokens: int = 0,
    estimated_usd: Decimal | None = None,
) -> WorkflowCheck:
    """Check the workflow's steps, tokens and dollars, counting all its children together.

    Args:
        journal: the journal.
        parent_id: the workflow run.
        extra_steps: steps about to be added to what the children have (0 for a call of a step
            already journaled, 1 for a child's first step).
        prompt_tokens: the estimated prompt of the call about to be made.
        estimated_usd: the estimated cost of that call.
    """
    parent = journal.get_run(parent_id)
    spent = store.totals(journal.engine, parent_id)
    as_run = replace(
        parent,
        input_tokens=spent.input_tokens,
        output_tokens=spent.output_tokens,
        cost_usd=spent.cost_usd,
    )
    verdict = check_before_call(as_run, spent.steps + extra_steps, prompt_tokens, estimated_usd)
    return WorkflowCheck(parent, spent, verdict.reason)
