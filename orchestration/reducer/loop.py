"""The agent loop as a reducer over the journal, with no broker in sight.

Each function runs one step: it claims the step's lease, reads what it needs from the journal,
does the work, records the outcome in one transaction and returns a :class:`Progress` telling the
task layer what to enqueue next. An LLM answer is journaled before anything acts on it, so a
replay after a crash reads the recorded answer and never asks the model again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from orchestration.agents.definition import Agent
from orchestration.agents.tools import Tool, ToolContext
from orchestration.errors import ApprovalError, ToolError
from orchestration.journal import LeaseLost, StepOutcome, TurnResult
from orchestration.journal.approvals import (
    ApprovalDecision,
    Decided,
    approval_id,
    get_approval,
    record_decision,
)
from orchestration.journal.records import (
    Busy,
    Done,
    StepRecord,
    ToolCallRequest,
)
from orchestration.journal.tables import RunStatus, StepKind, StepStatus, utcnow
from orchestration.llm import pricing
from orchestration.llm.breakers import board_for
from orchestration.llm.fallbacks import ChainOutcome, ask_chain
from orchestration.llm.providers import ModelReply
from orchestration.reducer.middleware import ModelCall, StepInput, ToolInvocation
from orchestration.reducer.planning import Dispatch, Progress, plan_dispatch
from orchestration.reducer.spend import ledger_for
from orchestration.reducer.turns import PreparedTurn, Stop, prepare_turn
from orchestration.runtime import Runtime

__all__ = [
    "Dispatch",
    "Progress",
    "decide",
    "decide_approval",
    "plan_dispatch",
    "redrive_plan",
    "run_approval",
    "run_tool",
    "run_turn",
]

log = logging.getLogger("chordline.loop")


def redrive_plan(rt: Runtime, run_id: str) -> Dispatch | None:
    """What to enqueue to move a live run on, read from the journal (sweeper, approvals)."""
    run = rt.journal.get_run(run_id)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return None
    head = rt.journal.step(run_id, run.next_seq - 1)
    if head.kind != StepKind.LLM:
        return None
    agent = rt.registry.get(run.agent)
    turn_steps = rt.journal.steps(run_id, after=head.turn, upto=head.seq)
    return plan_dispatch(agent, run_id, turn_steps)


# -- leases --------------------------------------------------------------------------------


def _claim(rt: Runtime, run_id: str, seq: int, owner: str) -> StepInput | Progress:
    outcome = rt.journal.claim(run_id, seq, owner, rt.settings.lease_seconds)
    if isinstance(outcome, Done):
        return Progress(run_id, seq, "already_done", result=outcome.step.result)
    if isinstance(outcome, Busy):
        return Progress(run_id, seq, "busy", retry_in_s=outcome.retry_in_s)
    if outcome.run.status.terminal:
        rt.journal.complete_step(run_id, seq, owner, StepOutcome(StepStatus.SKIPPED, None))
        return Progress(run_id, seq, "skipped")
    return StepInput(rt, outcome.step, outcome.run, owner)


def _through_middleware(
    rt: Runtime, run_id: str, seq: int, owner: str, body: Callable[[StepInput], Progress]
) -> Progress:
    """Claim the step, then run ``body`` inside every middleware's ``step`` hook."""
    claimed = _claim(rt, run_id, seq, owner)
    if isinstance(claimed, Progress):
        return claimed
    return rt.middleware.step(claimed, body)


# -- LLM turns -----------------------------------------------------------------------------


def run_turn(rt: Runtime, run_id: str, seq: int, owner: str) -> Progress:
    """Run the LLM turn at ``seq``: ask the chain, journal its answer, plan what follows."""
    return _through_middleware(rt, run_id, seq, owner, _turn)


def _turn(at: StepInput) -> Progress:
    rt, step, run, owner = at.rt, at.step, at.run, at.owner
    run_id, seq = step.run_id, step.seq
    # The steps the previous turn asked for: all must have an outcome before this turn runs.
    previous = rt.journal.steps(run_id, after=step.turn, upto=seq - 1) if seq > 1 else []
    if any(not s.status.final for s in previous):
        rt.journal.release(run_id, seq, owner)
        return Progress(run_id, seq, "not_ready", retry_in_s=0.1)
    agent = rt.registry.get(run.agent)
    prepared = prepare_turn(rt, agent, run, step, previous)
    if isinstance(prepared, Stop):
        return _end(rt, step, owner, prepared)
    try:
        outcome = rt.middleware.model_call(
            ModelCall(at, prepared.chain, prepared.request, prepared.estimated_usd),
            lambda call: ask_chain(
                call.chain,
                call.request,
                settings=rt.settings,
                board=board_for(rt.settings),
                cache=lambda digest: _cached(rt, run.tenant, digest),
            ),
        )
        if outcome.reply is None or outcome.deployment is None:
            return _fail_turn(rt, step, owner, outcome)
        return _record_turn(
            rt, agent=agent, step=step, owner=owner, prepared=prepared, outcome=outcome
        )
    finally:
        # The step's real cost is journaled (or nothing was spent): free the estimate.
        ledger = ledger_for(rt.settings)
        if prepared.reservation is not None and ledger is not None:
            ledger.release(prepared.reservation)


def _record_turn(
    rt: Runtime,
    *,
    agent: Agent,
    step: StepRecord,
    owner: str,
    prepared: PreparedTurn,
    outcome: ChainOutcome,
) -> Progress:
    reply, deployment = outcome.reply, outcome.deployment
    if reply is None or deployment is None:
        raise ValueError("a turn is recorded only with an answer")
    run_id, seq = step.run_id, step.seq
    calls = tuple(_call_request(agent, c.call_id, c.name, c.arguments) for c in reply.tool_calls)
    returned = reply.model or deployment.model
    requested = returned if deployment.offline else deployment.model
    # The provider bills the model that answered, which drift may make another one.
    cost = pricing.cost_of(deployment.provider, returned, reply.usage)
    record = reply.to_record() | outcome.to_record()
    record |= {
        "compacted": prepared.conversation.compacted,
        "compaction": prepared.conversation.compaction(),
        "requested_model": requested,
        "returned_model": returned,
        "drift": returned != requested,
        "cost_usd": None if cost is None else str(cost),
        "prices": pricing.PRICES_VERSION,
    }
    if returned != requested:
        log.warning(
            "model drift on run %s step %s: asked %s for %s, %s answered",
            run_id, seq, deployment.provider, requested, returned,
        )  # fmt: skip
    final = None if calls else (reply.text or "")
    turn = TurnResult(
        result=record,
        input_tokens=reply.usage.input_tokens,
        output_tokens=reply.usage.output_tokens,
        cost_usd=cost,
        model=returned,
        calls=calls,
        final_answer=final,
        deployment=deployment.name,
        requested_model=requested,
        request_hash=prepared.request_hash,
    )
    try:
        updated = rt.journal.complete_turn(run_id, seq, owner, turn)
    except LeaseLost:
        return Progress(run_id, seq, "busy", retry_in_s=rt.settings.lease_seconds)
    if final is not None:
        return Progress(run_id, seq, "ran", result=record)
    turn_steps = rt.journal.steps(run_id, after=seq, upto=updated.next_seq - 1)
    return Progress(run_id, seq, "ran", dispatch=plan_dispatch(agent, run_id, turn_steps))


def _cached(rt: Runtime, tenant: str, digest: str) -> ModelReply | None:
    found = rt.journal.cached_answer(tenant, digest)
    return None if found is None else ModelReply.from_record(found)


def _fail_turn(rt: Runtime, step: StepRecord, owner: str, outcome: ChainOutcome) -> Progress:
    """No deployment answered: record every attempt on the step and fail the run with why."""
    reason = str(outcome.error) if outcome.error else "no deployment answered"
    try:
        rt.journal.complete_step(
            step.run_id,
            step.seq,
            owner,
            StepOutcome(StepStatus.FAILED, outcome.to_record(), reason),
        )
    except LeaseLost:
        return Progress(step.run_id, step.seq, "busy", retry_in_s=rt.settings.lease_seconds)
    rt.journal.finish_run(step.run_id, RunStatus.FAILED, error=reason)
    return Progress(step.run_id, step.seq, "ran")


def _call_request(agent: Agent, call_id: str, name: str, arguments: str) -> ToolCallRequest:
    tool = agent.tool(name)
    return ToolCallRequest(
        call_id=call_id,
        name=name[:128],
        arguments=arguments,
        read_only=tool.read_only if tool else True,
        requires_approval=tool.requires_approval if tool else False,
    )


def _end(rt: Runtime, step: StepRecord, owner: str, stop: Stop) -> Progress:
    rt.journal.complete_step(
        step.run_id,
        step.seq,
        owner,
        StepOutcome(StepStatus.SKIPPED, {"stopped": stop.status.value}, stop.reason),
    )
    rt.journal.finish_run(step.run_id, stop.status, error=stop.reason)
    return Progress(step.run_id, step.seq, "skipped")


# -- tool calls ----------------------------------------------------------------------------


def run_tool(rt: Runtime, run_id: str, seq: int, owner: str) -> Progress:
    """Run the tool call at ``seq``; any failure is recorded for the model, never raised."""
    return _through_middleware(rt, run_id, seq, owner, _tool)


def _tool(at: StepInput) -> Progress:
    rt, step, owner = at.rt, at.step, at.owner
    run_id, seq = step.run_id, step.seq
    outcome = _call_tool(at)
    try:
        rt.journal.complete_step(run_id, seq, owner, outcome)
    except LeaseLost:
        return Progress(run_id, seq, "busy", retry_in_s=rt.settings.lease_seconds)
    return Progress(run_id, seq, "ran", result=outcome.result)


def _call_tool(at: StepInput) -> StepOutcome:
    rt, step, run = at.rt, at.step, at.run
    agent = rt.registry.get(run.agent)
    tool = agent.tool(step.name)
    limit = rt.settings.tool_error_max_chars
    if tool is None:
        known = ", ".join(t.name for t in agent.tools)
        message = f"unknown tool {step.name!r}; available tools: {known}"
        return StepOutcome(StepStatus.FAILED, None, message[:limit])
    arguments = step.arguments or "{}"
    if tool.requires_approval:
        decision = ApprovalDecision.of(rt.journal.step(step.run_id, step.seq - 1).result)
        if not decision.approved:
            reason = decision.reason or "no reason given"
            return StepOutcome(StepStatus.SKIPPED, {"output": {"rejected": True, "reason": reason}})
        arguments = decision.arguments or arguments
    context = ToolContext(
        run_id=step.run_id,
        seq=step.seq,
        tenant=run.tenant,
        attempt=step.attempt,
        database_url=rt.settings.journal_url,
        data_dir=rt.settings.data_dir,
    )
    return rt.middleware.tool_call(
        ToolInvocation(at, tool.name, arguments),
        lambda call: _invoke(tool, call.arguments, context, limit),
    )


def _invoke(tool: Tool, arguments: str, context: ToolContext, limit: int) -> StepOutcome:
    try:
        value = tool.invoke(tool.validate(arguments), context)
    except ToolError as exc:
        return StepOutcome(StepStatus.FAILED, None, str(exc)[:limit])
    return StepOutcome(StepStatus.SUCCEEDED, {"output": value})


# -- approvals -----------------------------------------------------------------------------


def run_approval(rt: Runtime, run_id: str, seq: int, owner: str) -> Progress:
    """Park the run at an approval gate; no worker waits for the person."""
    return _through_middleware(rt, run_id, seq, owner, _park)


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
        ApprovalError: edited arguments the tool refuses or that fail its schema.
    """
    view = get_approval(rt.journal, approval, tenant)
    edited = decision.arguments if decision.approved else None
    if edited is not None:
        _check_edit(rt, view.run_id, view.tool, edited)
    stamped = decision.model_copy(update={"decided_at": utcnow(), "arguments": edited})
    decided = record_decision(rt.journal, approval, stamped, tenant)
    return decided, redrive_plan(rt, view.run_id) if decided.resumed else None


def _check_edit(rt: Runtime, run_id: str, tool_name: str, arguments: str) -> None:
    tool = rt.registry.get(rt.journal.get_run(run_id).agent).tool(tool_name)
    if tool is None:
        return  # an unknown tool fails when it runs, whatever the arguments
    if not tool.allow_edits:
        raise ApprovalError(
            f"tool {tool.name} does not allow edited arguments. Fix: approve the call as "
            "asked, or reject it with a reason the model can act on."
        )
    try:
        tool.validate(arguments)
    except ToolError as exc:
        raise ApprovalError(f"arguments: edited arguments rejected: {exc}") from None
