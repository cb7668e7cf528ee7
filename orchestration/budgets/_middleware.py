"""Budgets as step middleware: nothing is spent that a budget does not leave room for.

:class:`RunBudget` checks the run's steps, tokens and dollars (pure, from the claimed run);
:class:`TenantDayBudget` checks the tenant's UTC day across every worker: today's spend from
the journal plus what calls in flight reserved in the ledger, holding a reservation of its own
while its call is in the air; :class:`WorkflowBudget` checks, before each LLM call of a child
run, the steps, tokens and dollars of all the workflow's children together against the
workflow's budgets. A refusal raises :class:`BudgetExceeded`, which ends the run.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from orchestration.budgets._checks import (
    Totals,
    check_before_call,
    check_tenant_day,
    check_workflow,
)
from orchestration.budgets._spend import Ledger, Reservation
from orchestration.config import BudgetSettings
from orchestration.errors import BudgetExceeded
from orchestration.journal import Journal
from orchestration.journal.tables import utcnow
from orchestration.llm.fallbacks import ChainOutcome
from orchestration.reducer.planning import Progress
from orchestration.runtime import Middleware, ModelCall, ModelNext, StepInput, StepNext

__all__ = ["RunBudget", "TenantDayBudget", "WorkflowBudget"]


class RunBudget(Middleware):
    """Refuses a call that could pass the run's max_steps, max_tokens or max_usd."""

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Check the run's budgets against the call's estimate, then call."""
        verdict = check_before_call(
            call.at.run, call.at.step.seq, call.prompt_tokens, call.estimated_usd
        )
        if verdict.reason is not None:
            raise BudgetExceeded(verdict.reason)
        return call_next(call)


class TenantDayBudget(Middleware):
    """Refuses a call that could pass the tenant's daily cap, reserving its estimate until the
    step's outcome (with the call's real cost) is journaled.

    Args:
        settings: where the caps come from.
        journal: today's recorded spend.
        ledger: reservations of calls in flight (the null ledger without Redis).
    """

    def __init__(self, settings: BudgetSettings, journal: Journal, ledger: Ledger) -> None:
        self.settings = settings
        self.journal = journal
        self.ledger = ledger
        self._held: dict[tuple[str, int], Reservation] = {}

    def step(self, item: StepInput, call_next: StepNext) -> Progress:
        """Run the step; free its reservation once its outcome is recorded (or it failed)."""
        try:
            return call_next(item)
        finally:
            reservation = self._held.pop((item.step.run_id, item.step.seq), None)
            if reservation is not None:
                self.ledger.release(reservation)

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Check and reserve the tenant's day, call, then free the reservation."""
        run = call.at.run
        cap = self.settings.tenant_daily_cap(run.tenant)
        if cap is None:
            return call_next(call)
        now = utcnow()
        spent = self.journal.tenant_spend_since(
            run.tenant, now.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        verdict = check_tenant_day(run.tenant, cap, spent, call.estimated_usd)
        if verdict.reason is not None:
            raise BudgetExceeded(verdict.reason)
        reservation = self.ledger.reserve(
            run.tenant,
            now,
            amount=call.estimated_usd or Decimal(0),
            cap=cap,
            spent=spent,
            label=f"{run.id}:{call.at.step.seq}",
        )
        if not reservation.granted:
            verdict = check_tenant_day(run.tenant, cap, spent, call.estimated_usd, reservation.held)
            raise BudgetExceeded(verdict.reason or "tenant daily budget reached")
        self._held[(run.id, call.at.step.seq)] = reservation
        return call_next(call)


class WorkflowBudget(Middleware):
    """Refuses a child run's call that could pass its workflow's steps, tokens or dollars.

    Args:
        journal: the journal (the parent's budgets).
        totals: what the children of a workflow run spent together, by the workflow's run id.
    """

    def __init__(self, journal: Journal, totals: Callable[[str], Totals]) -> None:
        self.journal = journal
        self.totals = totals

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Check the workflow's totals against the call's estimate, then call."""
        parent_id = call.at.run.parent_id
        if parent_id is None:
            return call_next(call)
        check = check_workflow(
            self.journal.get_run(parent_id),
            self.totals(parent_id),
            extra_steps=0,
            prompt_tokens=call.prompt_tokens,
            estimated_usd=call.estimated_usd,
        )
        if check.reason is not None:
            raise BudgetExceeded(f"workflow {check.parent.agent} budget: {check.reason}")
        return call_next(call)
