"""Run budgets, checked before any spending: steps, tokens and dollars."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orchestration.records import RunRecord

__all__ = ["BudgetCheck", "check_before_call"]


@dataclass(frozen=True)
class BudgetCheck:
    """The verdict on one planned call: ``reason`` is None when it may go ahead."""

    reason: str | None

    @property
    def allowed(self) -> bool:
        """True when the call stays inside every budget."""
        return self.reason is None


def check_before_call(
    run: RunRecord, seq: int, estimated_tokens: int, estimated_usd: Decimal | None
) -> BudgetCheck:
    """Decide whether the LLM call of step ``seq`` may be made.

    Args:
        run: the run with its totals so far.
        seq: the step about to run.
        estimated_tokens: the prompt's estimated tokens.
        estimated_usd: the call's estimated cost, None when the price is unknown.

    Returns:
        A verdict whose reason quotes the figures when the call would pass a budget.
    """
    if seq > run.max_steps:
        return BudgetCheck(f"max_steps={run.max_steps} reached at step {seq}")
    spent = run.input_tokens + run.output_tokens
    if run.max_tokens is not None and spent + estimated_tokens > run.max_tokens:
        return BudgetCheck(
            f"max_tokens={run.max_tokens}: {spent} spent + ~{estimated_tokens} for this call"
        )
    known = run.max_usd is not None and estimated_usd is not None and run.cost_usd is not None
    if known and run.cost_usd + estimated_usd > run.max_usd:  # type: ignore[operator]
        return BudgetCheck(
            f"max_usd={run.max_usd}: ${run.cost_usd} spent + ~${estimated_usd} for this call"
        )
    return BudgetCheck(None)
