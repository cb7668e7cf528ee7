"""Budgets, enforced before anything is spent: the run's steps, tokens and dollars, the
workflow's (all its children together) and the tenant's UTC day.

Pure checks (:mod:`~orchestration.budgets._checks`) decide from the figures; the spend ledger
(:mod:`~orchestration.budgets._spend`) reserves what calls in flight may cost across workers; the
middlewares (:mod:`~orchestration.budgets._middleware`) put both around each LLM call. Names are
imported on first use, so reading a workflow's totals loads neither Redis nor the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.budgets._checks import (
        BudgetCheck,
        Totals,
        WorkflowCheck,
        check_before_call,
        check_tenant_day,
        check_workflow,
    )
    from orchestration.budgets._middleware import RunBudget, TenantDayBudget, WorkflowBudget
    from orchestration.budgets._spend import (
        Ledger,
        NullLedger,
        Reservation,
        SpendLedger,
        open_ledger,
    )

__all__ = [
    "BudgetCheck",
    "Ledger",
    "NullLedger",
    "Reservation",
    "RunBudget",
    "SpendLedger",
    "TenantDayBudget",
    "Totals",
    "WorkflowBudget",
    "WorkflowCheck",
    "check_before_call",
    "check_tenant_day",
    "check_workflow",
    "open_ledger",
]

_HOME = {
    **dict.fromkeys(
        (
            "BudgetCheck",
            "Totals",
            "WorkflowCheck",
            "check_before_call",
            "check_tenant_day",
            "check_workflow",
        ),
        "orchestration.budgets._checks",
    ),
    **dict.fromkeys(
        ("RunBudget", "TenantDayBudget", "WorkflowBudget"), "orchestration.budgets._middleware"
    ),
    **dict.fromkeys(
        ("Ledger", "NullLedger", "Reservation", "SpendLedger", "open_ledger"),
        "orchestration.budgets._spend",
    ),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
