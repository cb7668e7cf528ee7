"""The agent loop as a reducer over the journal, with no broker in sight.

Each ``run_*`` function runs one step: it claims the step's lease (reading with the claim what
the step needs), passes it through the step middleware, does the work, records the outcome in
one transaction and returns a :class:`Progress` telling the task layer what to enqueue next.
An LLM answer is journaled before anything acts on it, so a replay after a crash reads the
recorded answer and never asks the model again. Tool and approval steps live in
:mod:`~orchestration.reducer._tool_calls` and :mod:`~orchestration.reducer._approvals`; this
module runs LLM turns and gathers the entry points.
"""

from __future__ import annotations

import dataclasses
import logging

from orchestration.agents import Agent
from orchestration.errors import BudgetExceeded
from orchestration.journal import LeaseLost, StepOutcome, TurnResult
from orchestration.journal.records import StepRecord, ToolCallRequest
from orchestration.journal.tables import RunStatus, StepStatus
from orchestration.llm import pricing
from orchestration.llm.fallbacks import ChainOutcome, ask_chain
from orchestration.reducer._approvals import decide, decide_approval, run_approval
from orchestration.reducer._claims import end_run, run_claimed
from orchestration.reducer._pinning import Unservable, hold_or_fail, pinned_agent
from orchestration.reducer._recovery import redrive_plan
from orchestration.reducer._tool_calls import run_tool
from orchestration.reducer._turns import PreparedTurn, Stop, prepare_turn
from orchestration.reducer.planning import Dispatch, Progress, plan_dispatch, steps_for_calls
from orchestration.runtime import ModelCall, Runtime, StepInput

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


def run_turn(rt: Runtime, run_id: str, seq: int, owner: str) -> Progress:
    """Run the LLM turn at ``seq``: ask the chain, journal its answer, plan what follows."""
    return run_claimed(rt, run_id, seq, owner, _turn, window=rt.look_back)


def _previous_ready(at: StepInput) -> bool:
    """True when every step the previous turn asked for has its outcome."""
    step = at.step
    asked = step.seq - 1 - step.turn if step.seq > 1 else 0
    seen = [e for e in at.window if e.seq > step.turn]
    if len(seen) < asked:  # a turn that asked for more than the claim read: read them all
        rest = at.rt.journal.steps(step.run_id, after=step.turn, upto=step.seq - 1)
        return all(s.status.final for s in rest)
    return all(e.status.final for e in seen)


def _turn(at: StepInput) -> Progress:
    rt, step, run, owner = at.rt, at.step, at.run, at.owner
    if not _previous_ready(at):
        rt.journal.release(step.run_id, step.seq, owner)
        return Progress(step.run_id, step.seq, "not_ready", retry_in_s=0.1)
    agent = pinned_agent(rt, run)
    if isinstance(agent, Unservable):
        return hold_or_fail(at, agent)
    prepared = prepare_turn(
        rt.settings.loop, rt.providers, agent=agent, run=run, step=step, window=at.window
    )
    if isinstance(prepared, Stop):
        return end_run(rt, step, owner, prepared)
    call = ModelCall(
        at, prepared.chain, prepared.request, prepared.prompt_tokens, prepared.estimated_usd
    )
    try:
        outcome = rt.middleware.model_call(
            call,
            lambda asked: ask_chain(
                asked.chain,
                asked.request,
                providers=rt.providers,
                board=rt.breakers,
                cache=lambda digest: rt.journal.cached_answer(run.tenant, digest),
            ),
        )
    except BudgetExceeded as exc:
        return end_run(rt, step, owner, Stop(RunStatus.BUDGET_EXCEEDED, exc.reason))
    if outcome.reply is None or outcome.deployment is None:
        return _fail_turn(rt, step, owner, outcome)
    return _record_turn(at, agent, prepared, outcome)


def _record_turn(
    at: StepInput, agent: Agent, prepared: PreparedTurn, outcome: ChainOutcome
) -> Progress:
    rt, step, run = at.rt, at.step, at.run
    reply, deployment = outcome.reply, outcome.deployment
    if reply is None or deployment is None:
        raise ValueError("a turn is recorded only with an answer")
    calls = tuple(_call_request(agent, c.call_id, c.name, c.arguments) for c in reply.tool_calls)
    returned = reply.model or deployment.model
    requested = returned if deployment.offline else deployment.model
    # The provider bills the model that answered, which drift may make another one.
    cost = pricing.cost_of(deployment.provider, returned, reply.usage)
    record = dataclasses.replace(
        outcome.payload(),
        reply=reply,
        compacted=prepared.conversation.compacted,
        compaction=prepared.conversation.compaction(),
        requested_model=requested,
        returned_model=returned,
        drift=returned != requested,
        cost_usd=cost,
        prices=pricing.PRICES_VERSION,
    )
    if returned != requested:
        log.warning(
            "model drift on run %s step %s: asked %s for %s, %s answered",
            run.id,
            step.seq,
            deployment.provider,
            requested,
            returned,
        )
    new_steps, next_seq = steps_for_calls(step.seq, run.next_seq, calls)
    final = None if calls else (reply.text or "")
    turn = TurnResult(
        result=record,
        input_tokens=reply.usage.input_tokens,
        output_tokens=reply.usage.output_tokens,
        cost_usd=cost,
        model=returned,
        steps=new_steps,
        next_seq=next_seq,
        final_answer=final,
        tool_error_streak=prepared.tool_error_streak,
        deployment=deployment.name,
        requested_model=requested,
        request_hash=prepared.request_hash,
    )
    try:
        rt.journal.complete_turn(run.id, step.seq, at.owner, turn)
    except LeaseLost:
        return Progress(run.id, step.seq, "busy", retry_in_s=rt.settings.journal.lease_seconds)
    if final is not None:
        return Progress(run.id, step.seq, "ran", result=record)
    # Planned from the steps just written: nothing is read back.
    return Progress(run.id, step.seq, "ran", dispatch=plan_dispatch(agent, run.id, new_steps))


def _fail_turn(rt: Runtime, step: StepRecord, owner: str, outcome: ChainOutcome) -> Progress:
    """No deployment answered: record every attempt on the step and fail the run with why."""
    reason = str(outcome.error) if outcome.error else "no deployment answered"
    try:
        rt.journal.complete_step(
            step.run_id,
            step.seq,
            owner,
            StepOutcome(StepStatus.FAILED, outcome.payload(), reason),
        )
    except LeaseLost:
        return Progress(step.run_id, step.seq, "busy", retry_in_s=rt.settings.journal.lease_seconds)
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
