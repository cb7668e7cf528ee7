"""Budgets, checked before any spending: steps, tokens and dollars per run and per workflow,
dollars per tenant per UTC day. Pure functions of the figures they are given.

Dollars are checked against an estimate of the call about to be made: the prompt's tokens at the
uncached input price plus the full output cap (``CHORDLINE_LLM_MAX_OUTPUT_TOKENS``) at the output
price, at the dearest priced deployment of the chain. That is the most the call can cost, so a
call that could pass a budget is not made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from orchestration.journal.records import RunRecord

__all__ = [
    "BudgetCheck",
    "Totals",
    "WorkflowCheck",
    "check_before_call",
    "check_tenant_day",
    "check_workflow",
]


@dataclass(frozen=True)
class BudgetCheck:
    """The verdict on one planned call: ``reason`` is None when it may go ahead."""

    reason: str | None

    @property
    def allowed(self) -> bool:
        """True when the call stays inside every budget."""
        return self.reason is None


def _usd(amount: Decimal | None) -> str:
    """Dollars without trailing zeros (the journal stores six decimals)."""
    if amount is None:
        return "unknown"
    text = f"{amount.normalize():f}"
    return text if "." in text else text + ".0"


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
            f"max_usd={_usd(run.max_usd)}: ${_usd(run.cost_usd)} spent "
            f"+ ~${_usd(estimated_usd)} for this call"
        )
    return BudgetCheck(None)


def check_tenant_day(
    tenant: str,
    cap: Decimal | None,
    spent_today: Decimal,
    estimated_usd: Decimal | None,
    in_flight: Decimal = Decimal(0),
) -> BudgetCheck:
    """Decide whether the tenant's daily budget leaves room for the planned call.

    Args:
        tenant: the run's tenant.
        cap: the tenant's daily cap in USD (None: no cap).
        spent_today: what the tenant's LLM steps cost since 00:00 UTC, over all workers.
        estimated_usd: the call's estimated cost (None: unknown price, only the spend so far
            is checked).
        in_flight: what calls of the tenant's still in the air have reserved.

    Returns:
        A verdict quoting the figures when the call would pass the cap.
    """
    if cap is None:
        return BudgetCheck(None)
    planned = estimated_usd or Decimal(0)
    if spent_today + in_flight + planned > cap:
        flying = f" + ${_usd(in_flight)} in flight" if in_flight else ""
        return BudgetCheck(
            f"tenant {tenant} daily budget ${_usd(cap)}: ${_usd(spent_today)} spent today (UTC)"
            f"{flying} + ~${_usd(planned)} for this call"
        )
    return BudgetCheck(None)


@dataclass(frozen=True)
class Totals:
    """What a workflow's children spent together."""

    steps: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal

    @property
    def tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class WorkflowCheck:
    """The verdict on a workflow's budgets.

    Attributes:
        parent: the workflow run (its budgets).
        spent: its children's totals.
        reason: why the next call or child may not go ahead (None: it may).
    """

    parent: RunRecord
    spent: Totals
    reason: str | None


def check_workflow(
    parent: RunRecord,
    spent: Totals,
    *,
    extra_steps: int,
    prompt_tokens: int = 0,
    estimated_usd: Decimal | None = None,
) -> WorkflowCheck:
    """Check the workflow's steps, tokens and dollars, counting all its children together.

    Args:
        parent: the workflow run.
        spent: what its children spent so far.
        extra_steps: steps about to be added to what the children have (0 for a call of a step
            already journaled, 1 for a child's first step).
        prompt_tokens: the estimated prompt of the call about to be made.
        estimated_usd: the estimated cost of that call.
    """
    as_run = replace(
        parent,
        input_tokens=spent.input_tokens,
        output_tokens=spent.output_tokens,
        cost_usd=spent.cost_usd,
    )
    verdict = check_before_call(as_run, spent.steps + extra_steps, prompt_tokens, estimated_usd)
    return WorkflowCheck(parent, spent, verdict.reason)
