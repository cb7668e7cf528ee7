"""Approval steps: park the run with no worker waiting; record a person's decision.

Every approval a turn asks for waits at once and is decided on its own; the decision that
leaves none open wakes the run (see :mod:`orchestration.journal.approvals`).
"""

from __future__ import annotations

import json

from orchestration.agents.versions import PinnedTool
from orchestration.errors import ApprovalError, ToolError
from orchestration.journal.approvals import (
    ApprovalDecision,
    Decided,
    approval_id,
    get_approval,
    record_decision,
)
from orchestration.journal.tables import utcnow
from orchestration.reducer._claims import run_claimed
from orchestration.reducer._pinning import dispatch_agent
from orchestration.reducer._recovery import redrive_plan
from orchestration.reducer.planning import Dispatch, Progress
from orchestration.runtime import Runtime, StepInput
from orchestration.storable_text import FIX, find_unstorable

__all__ = ["decide", "decide_approval", "run_approval"]


def run_approval(rt: Runtime, run_id: str, seq: int, owner: str) -> Progress:
    """Park the run at an approval gate; no worker waits for the person."""
    return run_claimed(rt, run_id, seq, owner, _park)


def _park(at: StepInput) -> Progress:
    at.rt.journal.wait_for_approval(at.step.run_id, at.step.seq, at.owner)
    return Progress(at.step.run_id, at.step.seq, "waiting")


def decide(
    rt: Runtime,
    run_id: str,
    seq: int,
    *,
    approved: bool,
    reviewer: str,
    reason: str = "",
    arguments: str | None = None,
    tenant: str | None = None,
) -> Dispatch | None:
    """Decide the approval step ``seq`` of ``run_id`` (see :func:`decide_approval`).

    Returns:
        The run's next steps when this decision was its last one open, else None.
    """
    verdict = ApprovalDecision(
        approved=approved, reviewer=reviewer, reason=reason, arguments=arguments
    )
    return decide_approval(rt, approval_id(run_id, seq), verdict, tenant=tenant)[1]


def decide_approval(
    rt: Runtime, approval: str, decision: ApprovalDecision, *, tenant: str | None = None
) -> tuple[Decided, Dispatch | None]:
    """Record a person's decision on one waiting tool call and say what to enqueue next.

    Args:
        rt: the runtime.
        approval: the approval's id (``<run_id>.<seq>``).
        decision: approve or reject, who, why, and any edited JSON arguments; it is recorded
            with the time it is recorded at (edited arguments only on an approval).
        tenant: when given, the run must belong to it.

    Returns:
        What was recorded, and the run's next steps when this decision was its last one open.

    Raises:
        ApprovalNotFound: no such approval for that tenant.
        ApprovalConflict: decided already, or its run has ended.
        ApprovalError: edited arguments the tool refuses or that fail its schema, or a reason
            or arguments holding text the journal cannot store (a lone surrogate, a NUL).
    """
    _check_storable(decision)
    view = get_approval(rt.journal, approval, tenant)
    edited = decision.arguments if decision.approved else None
    if edited is not None:
        _check_edit(rt, view.run_id, view.tool, edited)
    stamped = decision.model_copy(update={"decided_at": utcnow(), "arguments": edited})
    decided = record_decision(rt.journal, approval, stamped, tenant)
    return decided, redrive_plan(rt, view.run_id) if decided.resumed else None


def _check_storable(decision: ApprovalDecision) -> None:
    """Refuse a reason or edited arguments the journal could not store, naming the field."""
    fields: dict[str, object] = {"reason": decision.reason, "reviewer": decision.reviewer}
    if decision.arguments is not None:
        try:
            fields["arguments"] = json.loads(decision.arguments)
        except ValueError:
            fields["arguments"] = decision.arguments  # not JSON: the tool's check names it
    for name, value in fields.items():
        found = find_unstorable(value, name)
        if found is not None:
            where, reason = found
            shown = reason if where == name else f"{where} {reason}"
            raise ApprovalError(f"{name}: {shown}. Fix: {FIX}.")


def _check_edit(rt: Runtime, run_id: str, tool_name: str, arguments: str) -> None:
    tool = dispatch_agent(rt, rt.journal.get_run(run_id)).tool(tool_name)
    if tool is None or isinstance(tool, PinnedTool):
        # An unknown tool fails when it runs; one whose code this worker lacks is validated
        # where it runs.
        return
    if not tool.allow_edits:
        raise ApprovalError(
            f"tool {tool.name} does not allow edited arguments. Fix: approve the call as "
            "asked, or reject it with a reason the model can act on."
        )
    try:
        tool.validate(arguments)
    except ToolError as exc:
        raise ApprovalError(f"arguments: edited arguments rejected: {exc}") from None
