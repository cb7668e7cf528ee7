"""What an LLM turn sends, decided from the journal before anything is spent: a pure function.

:func:`prepare_turn` resolves the agent's chain of deployments, rebuilds the conversation fitted
to the smallest window in the chain from the steps its claim read, estimates what the call may
cost and counts the run's streak of failed turns; it returns the request to send, or why the run
must stop instead. It reads nothing and writes nothing: budgets are checked by the budget
middleware (:mod:`orchestration.budgets._middleware`) around the call itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from orchestration.agents import Agent
from orchestration.config import LoopSettings
from orchestration.errors import ConfigError
from orchestration.journal.records import ContextEntry, RunRecord, StepRecord
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.llm import pricing
from orchestration.llm.context import Conversation, build_conversation
from orchestration.llm.deployments import Deployment, resolve_chain
from orchestration.llm.fallbacks import request_hash
from orchestration.llm.providers import LLMProvider, ModelRequest, ProviderPool, ToolSpec

__all__ = ["PreparedTurn", "Stop", "error_streak", "prepare_turn"]


@dataclass(frozen=True)
class Stop:
    """The run must end instead of calling the model, with this status and reason."""

    status: RunStatus
    reason: str


@dataclass(frozen=True)
class PreparedTurn:
    """A turn ready to send.

    Attributes:
        chain: the deployments to ask, in order.
        request: what is sent.
        conversation: how the conversation was fitted to the window.
        request_hash: the request's hash (the ``cache`` deployment's key).
        prompt_tokens: the prompt's estimated tokens (system, tools, conversation).
        estimated_usd: the most the call can cost at the dearest priced deployment.
        tool_error_streak: the run's count of consecutive turns whose tool calls all failed.
    """

    chain: tuple[Deployment, ...]
    request: ModelRequest
    conversation: Conversation
    request_hash: str
    prompt_tokens: int
    estimated_usd: Decimal | None
    tool_error_streak: int


def error_streak(run: RunRecord, previous: Sequence[ContextEntry]) -> tuple[int, str]:
    """The run's streak of turns whose tool calls all failed, counting the previous turn.

    A turn with a successful call ends the streak; a turn whose calls all failed adds one; a
    turn with no tool call or only rejected ones leaves it. The model sees each turn's errors,
    so one bad turn (say three malformed calls at once) is a chance to correct itself.

    Returns:
        The streak and the last error seen.
    """
    tools = [e for e in previous if e.kind == StepKind.TOOL]
    if any(e.status == StepStatus.SUCCEEDED for e in tools):
        return 0, ""
    failed = sorted((e for e in tools if e.status == StepStatus.FAILED), key=lambda e: e.seq)
    if failed:
        return run.tool_error_streak + 1, failed[-1].error or ""
    return run.tool_error_streak, ""


def prepare_turn(
    settings: LoopSettings,
    providers: ProviderPool,
    *,
    agent: Agent,
    run: RunRecord,
    step: StepRecord,
    window: Sequence[ContextEntry],
) -> PreparedTurn | Stop:
    """Build the model request, or say why the run must stop instead.

    Args:
        settings: the loop's settings (error streak, look-back, tool output size).
        providers: the runtime's providers (their windows and tokenizers size the prompt; their
            LLM settings resolve the chain and cap the output).
        agent: the run's agent.
        run: the run as the claim read it.
        step: the claimed LLM step.
        window: the run's steps before this one, newest first (from the claim).
    """
    llm = providers.settings
    previous = [e for e in window if e.seq > step.turn]
    streak, last_error = error_streak(run, previous)
    limit = agent.max_tool_errors or settings.max_tool_errors
    if streak >= limit:
        return Stop(
            RunStatus.FAILED,
            f"{streak} consecutive turns whose tool calls all failed; last: {last_error}",
        )
    try:
        chain = resolve_chain(agent, llm)
        sizing = _sizing_provider(chain, providers)
    except ConfigError as exc:
        return Stop(RunStatus.FAILED, str(exc))
    calling = [providers.get(d.provider, d.model) for d in chain if not d.offline]
    window_tokens = min((p.context_window for p in calling), default=sizing.context_window)
    tools = tuple(ToolSpec(**t.schema()) for t in agent.tools)
    fixed_tokens = sizing.count_tokens(agent.system_prompt + str([t.parameters for t in tools]))
    look_back = min(settings.context_max_steps, sizing.max_context_steps or 1 << 30)
    conversation = build_conversation(
        run,
        list(window[:look_back]),
        budget_tokens=window_tokens - fixed_tokens,
        count_tokens=sizing.count_tokens,
        max_tool_chars=settings.tool_output_max_chars,
        reserve_tokens=min(llm.llm_max_output_tokens, window_tokens // 4),
    )
    prompt_tokens = fixed_tokens + conversation.tokens
    request = ModelRequest(
        model=chain[0].model,
        system=agent.system_prompt,
        messages=conversation.messages,
        tools=tools,
        turn=run.turns + 1,
    )
    return PreparedTurn(
        chain=chain,
        request=request,
        conversation=conversation,
        request_hash=request_hash(request),
        prompt_tokens=prompt_tokens,
        estimated_usd=_estimate_usd(chain, prompt_tokens, llm.llm_max_output_tokens),
        tool_error_streak=streak,
    )


def _sizing_provider(chain: tuple[Deployment, ...], providers: ProviderPool) -> LLMProvider:
    """The provider whose tokenizer sizes the prompt: the first one that calls a model."""
    for deployment in chain:
        if deployment.provider != "cache":
            return providers.get(deployment.provider, deployment.model)
    return providers.get("scripted", "planner-1")


def _estimate_usd(
    chain: tuple[Deployment, ...], prompt_tokens: int, output_tokens: int
) -> Decimal | None:
    """The dearest priced deployment's price for the call (see
    :mod:`orchestration.budgets._checks`); None when no deployment that calls a model has a
    price."""
    estimates = [
        pricing.estimate(d.provider, d.model, prompt_tokens, output_tokens)
        for d in chain
        if d.provider != "cache"
    ]
    known = [e for e in estimates if e is not None]
    return max(known) if known else None
