"""Approval steps: park the run with no worker waiting; record a person's decision."""

from __future__ import annotations

from orchestration.agents.versions import PinnedTool
from orchestration.errors import ApprovalError, ToolError
from orchestration.journal.records import ApprovalDecision
from orchestration.reducer.claims import run_claimed
from orchestration.reducer.middleware import StepInput
from orchestration.reducer.pinning import dispatch_agent
from orchestration.reducer.planning import Dispatch, Progress
from orchestration.reducer.recovery import redrive_plan
from orchestration.runtime import Runtime

__all__ = ["decide", "run_approval"]


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
    decision: ApprovalDecision,
    *,
    tenant: str | None = None,
) -> Dispatch | None:
    """Record a person's decision on a waiting tool call and say what to enqueue next.

    Args:
        rt: the runtime.
        run_id: the run.
        seq: the waiting approval step.
        decision: what the person decided (edited arguments are checked against the tool).
        tenant: when given, the run must belong to it.

    Raises:
        ApprovalError: no such waiting approval, or edited arguments that fail the schema.
    """
    run = rt.journal.get_run(run_id, tenant)
    if decision.arguments is not None:
        step = rt.journal.step(run_id, seq)
        tool = dispatch_agent(rt, run).tool(step.name)
        try:
            # A tool whose code this worker lacks is validated where it runs.
            if tool is not None and not isinstance(tool, PinnedTool):
                tool.validate(decision.arguments)
        except ToolError as exc:
            raise ApprovalError(f"edited arguments rejected: {exc}") from None
    rt.journal.decide_approval(run_id, seq, decision, tenant)
    return redrive_plan(rt, run_id)
