"""Tool steps: validate the model's arguments, invoke the tool, record what it returned.

A failure of any kind (unknown tool, arguments that are not JSON or fail the schema, an
exception, a timeout) is recorded for the model to read, never raised.
"""

from __future__ import annotations

from orchestration.agents import Agent, Tool, ToolContext
from orchestration.agents.tool_threads import ToolThreads
from orchestration.errors import ToolError
from orchestration.journal import LeaseLost, StepOutcome
from orchestration.journal.payloads import ApprovalDecision, ToolPayload
from orchestration.journal.tables import StepKind, StepStatus
from orchestration.reducer._claims import run_claimed
from orchestration.reducer._pinning import Unservable, hold_or_fail, pinned_agent, unservable_tool
from orchestration.reducer.planning import Progress
from orchestration.runtime import Runtime, StepInput, ToolInvocation

__all__ = ["run_tool"]


def run_tool(rt: Runtime, run_id: str, seq: int, owner: str) -> Progress:
    """Run the tool call at ``seq``; any failure is recorded for the model, never raised."""
    # The step before a gated call is its approval: the claim reads it with the step.
    return run_claimed(rt, run_id, seq, owner, _tool, window=1)


def _tool(at: StepInput) -> Progress:
    rt, step = at.rt, at.step
    agent = pinned_agent(rt, at.run)
    if isinstance(agent, Unservable):
        return hold_or_fail(at, agent)
    lacking = unservable_tool(agent, at.run, step.name)
    if lacking is not None:
        return hold_or_fail(at, lacking)
    outcome = _call_tool(at, agent)
    try:
        rt.journal.complete_step(step.run_id, step.seq, at.owner, outcome)
    except LeaseLost:
        return Progress(step.run_id, step.seq, "busy", retry_in_s=rt.settings.journal.lease_seconds)
    return Progress(step.run_id, step.seq, "ran", result=outcome.result)


def _decision(at: StepInput) -> ApprovalDecision:
    gate = at.window[0] if at.window else None
    if gate is None or gate.kind != StepKind.APPROVAL or gate.seq != at.step.seq - 1:
        return ApprovalDecision.of(None)
    return ApprovalDecision.of(gate.result)


def _call_tool(at: StepInput, agent: Agent) -> StepOutcome:
    rt, step, run = at.rt, at.step, at.run
    tool = agent.tool(step.name)
    limit = rt.settings.loop.tool_error_max_chars
    if tool is None:
        known = ", ".join(t.name for t in agent.tools)
        message = f"unknown tool {step.name!r}; available tools: {known}"
        return StepOutcome(StepStatus.FAILED, None, message[:limit])
    arguments = step.arguments or "{}"
    if tool.requires_approval:
        decision = _decision(at)
        if not decision.approved:
            reason = decision.reason or "no reason given"
            return StepOutcome(StepStatus.SKIPPED, ToolPayload.rejection(reason))
        arguments = decision.arguments or arguments
    context = ToolContext(
        run_id=step.run_id,
        seq=step.seq,
        tenant=run.tenant,
        attempt=step.attempt,
        database_url=rt.journal.url,
        data_dir=rt.settings.core.data_dir,
        journal=rt.journal,
        knowledge=rt.settings.knowledge,
        llm=rt.settings.llm,
    )
    return rt.middleware.tool_call(
        ToolInvocation(at, tool.name, arguments),
        lambda call: _invoke(tool, call.arguments, context, limit, rt.tool_threads),
    )


def _invoke(
    tool: Tool, arguments: str, context: ToolContext, limit: int, threads: ToolThreads
) -> StepOutcome:
    try:
        value = tool.invoke(tool.validate(arguments), context, threads)
    except ToolError as exc:
        return StepOutcome(StepStatus.FAILED, None, str(exc)[:limit])
    return StepOutcome(StepStatus.SUCCEEDED, ToolPayload(value))
