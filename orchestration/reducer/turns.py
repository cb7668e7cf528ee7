"""What an LLM turn sends, decided from the journal before anything is spent.

:func:`prepare_turn` resolves the agent's chain of deployments, rebuilds the conversation fitted
to the smallest window in the chain, estimates what the call may cost, and checks every budget
(steps, tokens and dollars of the run, the tenant's day); it returns the request to send, or why
the run must stop instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from orchestration.agents.definition import Agent
from orchestration.config import Settings
from orchestration.errors import ConfigError
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import RunStatus, StepKind, StepStatus, utcnow
from orchestration.llm import pricing
from orchestration.llm.context import Conversation, build_conversation
from orchestration.llm.deployments import Deployment, resolve_chain
from orchestration.llm.fallbacks import request_hash
from orchestration.llm.providers import LLMProvider, ModelRequest, ToolSpec, get_provider
from orchestration.reducer.budget import BudgetCheck, check_before_call, check_tenant_day
from orchestration.reducer.spend import Reservation, ledger_for
from orchestration.runtime import Runtime

__all__ = ["PreparedTurn", "Stop", "prepare_turn"]


@dataclass(frozen=True)
class Stop:
    """The run must end instead of calling the model, with this status and reason."""

    status: RunStatus
    reason: str


@dataclass(frozen=True)
class PreparedTurn:
    """A turn ready to send: the chain to ask, the request, how the conversation was fitted,
    the request's hash (for the cache) and the tenant-day reservation it holds, if any."""

    chain: tuple[Deployment, ...]
    request: ModelRequest
    conversation: Conversation
    request_hash: str
    estimated_usd: Decimal | None = None
    reservation: Reservation | None = None


def prepare_turn(
    rt: Runtime,
    agent: Agent,
    run: RunRecord,
    step: StepRecord,
    previous: Sequence[StepRecord],
) -> PreparedTurn | Stop:
    """Build the model request from the journal, or say why the run must stop instead.

    ``previous`` holds the steps the previous turn asked for (all finished), in order.
    """
    stop = _tool_error_stop(rt, run, previous)
    if stop is not None:
        return Stop(RunStatus.FAILED, stop)
    try:
        chain = resolve_chain(agent, rt.settings)
        sizing = _sizing_provider(chain, rt.settings)
    except ConfigError as exc:
        return Stop(RunStatus.FAILED, str(exc))
    window = min(
        get_provider(d.provider, d.model, rt.settings).context_window
        for d in chain
        if not d.offline
    ) if any(not d.offline for d in chain) else sizing.context_window  # fmt: skip
    tools = tuple(ToolSpec(**t.schema(), keywords=t.keywords) for t in agent.tools)
    fixed_tokens = sizing.count_tokens(agent.system_prompt + str([t.parameters for t in tools]))
    look_back = min(rt.settings.context_max_steps, sizing.max_context_steps or 1 << 30)
    conversation = build_conversation(
        run,
        rt.journal.context_entries(run.id, before=step.seq, limit=look_back),
        budget_tokens=window - fixed_tokens,
        count_tokens=sizing.count_tokens,
        max_tool_chars=rt.settings.tool_output_max_chars,
        reserve_tokens=min(rt.settings.llm_max_output_tokens, window // 4),
    )
    prompt_tokens = fixed_tokens + conversation.tokens
    estimated = _estimate_usd(chain, prompt_tokens, rt.settings.llm_max_output_tokens)
    verdict = check_before_call(run, step.seq, prompt_tokens, estimated)
    reservation = None
    if verdict.reason is None:
        verdict, reservation = _check_tenant_day(rt, run, step, estimated)
    if verdict.reason is not None:
        return Stop(RunStatus.BUDGET_EXCEEDED, verdict.reason)
    request = ModelRequest(
        model=chain[0].model,
        system=agent.system_prompt,
        messages=conversation.messages,
        tools=tools,
        turn=run.turns + 1,
    )
    return PreparedTurn(chain, request, conversation, request_hash(request), estimated, reservation)


def _check_tenant_day(
    rt: Runtime, run: RunRecord, step: StepRecord, estimated: Decimal | None
) -> tuple[BudgetCheck, Reservation | None]:
    """The tenant's daily cap: today's spend from the journal, plus (with Redis) what calls in
    flight on every worker reserved; a granted call holds its own reservation."""
    cap = rt.settings.tenant_daily_cap(run.tenant)
    if cap is None:
        return BudgetCheck(None), None
    now = utcnow()
    spent = rt.journal.tenant_spend_since(
        run.tenant, now.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    verdict = check_tenant_day(run.tenant, cap, spent, estimated)
    ledger = ledger_for(rt.settings)
    if verdict.reason is not None or ledger is None:
        return verdict, None
    reservation = ledger.reserve(
        run.tenant,
        now,
        amount=estimated or Decimal(0),
        cap=cap,
        spent=spent,
        label=f"{run.id}:{step.seq}",
    )
    if reservation.granted:
        return verdict, reservation
    return check_tenant_day(run.tenant, cap, spent, estimated, reservation.held), None


def _sizing_provider(chain: tuple[Deployment, ...], settings: Settings) -> LLMProvider:
    """The provider whose tokenizer sizes the prompt: the first one that calls a model."""
    for deployment in chain:
        if deployment.provider != "cache":
            return get_provider(deployment.provider, deployment.model, settings)
    return get_provider("scripted", "planner-1", settings)


def _estimate_usd(
    chain: tuple[Deployment, ...], prompt_tokens: int, output_tokens: int
) -> Decimal | None:
    """The dearest priced deployment's price for the call (see :mod:`orchestration.reducer.budget`);
    None when no deployment that calls a model has a price."""
    estimates = [
        pricing.estimate(d.provider, d.model, prompt_tokens, output_tokens)
        for d in chain
        if d.provider != "cache"
    ]
    known = [e for e in estimates if e is not None]
    return max(known) if known else None


def _tool_error_stop(rt: Runtime, run: RunRecord, previous: Sequence[StepRecord]) -> str | None:
    """Count consecutive failed tool calls up to this turn; a reason to stop at the cap."""
    streak = run.tool_error_streak
    last_error = ""
    for step in previous:
        if step.kind != StepKind.TOOL:
            continue
        if step.status == StepStatus.FAILED:
            streak += 1
            last_error = step.error or ""
        elif step.status == StepStatus.SUCCEEDED:
            streak = 0
    if streak != run.tool_error_streak:
        rt.journal.set_tool_error_streak(run.id, streak)
    if streak >= rt.settings.max_tool_errors:
        return f"{streak} consecutive tool errors; last: {last_error}"
    return None
