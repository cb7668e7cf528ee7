"""Asking a chain of deployments in order, around the step: retries, breakers, fallbacks.

Each deployment is tried through its circuit breaker and the retry loop. An open breaker skips
its deployment at once; a deployment whose retries ran out is skipped with the last error. A
refusal (bad key, unknown model, invalid request) stops the chain: the request or the
configuration is wrong, and another deployment would hide that. What answered, every attempt and
why each earlier deployment was skipped go into the step's result.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from orchestration.errors import FallbacksExhausted, ProviderError
from orchestration.journal.payloads import Skip, TurnPayload
from orchestration.llm._retry import Attempt, RetryPolicy, call_with_retries
from orchestration.llm.breakers import BreakerBoard, CircuitOpenError, breaker_key
from orchestration.llm.deployments import Deployment
from orchestration.llm.providers import ModelReply, ModelRequest, ProviderPool

__all__ = ["ChainOutcome", "Skip", "ask_chain", "request_hash"]

CacheLookup = Callable[[str], ModelReply | None]
"""Returns the last good answer to the request with this hash, if there is one."""


@dataclass(frozen=True)
class ChainOutcome:
    """What asking the chain came to: an answer and who gave it, or the error that ended it."""

    reply: ModelReply | None
    deployment: Deployment | None
    attempts: tuple[Attempt, ...]
    skipped: tuple[Skip, ...]
    error: ProviderError | None = None

    def payload(self) -> TurnPayload:
        """What the turn records of the chain alone: who answered, every attempt, every skip
        (the whole result of a turn no deployment answered)."""
        return TurnPayload(
            reply=None,
            deployment=self.deployment.name if self.deployment else None,
            attempts=self.attempts,
            skipped=self.skipped,
        )


def request_hash(request: ModelRequest) -> str:
    """A hash of what the model is asked (system, conversation, tools), whatever the model:
    two requests with the same hash deserve the same answer."""
    # Field lists, not dataclasses.asdict: asdict deep-copies every message, which cost more
    # than the rest of preparing a turn.
    payload = {
        "system": request.system,
        "messages": [
            [
                m.role,
                m.content,
                [[c.call_id, c.name, c.arguments] for c in m.tool_calls],
                m.tool_call_id,
                m.name,
                m.is_error,
            ]
            for m in request.messages
        ],
        # The empty list held the scripted model's keywords when tools carried them. It stays,
        # so a request to tools that had none hashes as before and its recorded answers are found.
        "tools": [[t.name, t.description, t.parameters, []] for t in request.tools],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def ask_chain(
    chain: tuple[Deployment, ...],
    request: ModelRequest,
    *,
    providers: ProviderPool,
    board: BreakerBoard,
    cache: CacheLookup,
    sleep: Callable[[float], None] = time.sleep,
) -> ChainOutcome:
    """Ask each deployment in turn until one answers.

    Args:
        chain: the deployments, in order.
        request: the request (its ``model`` is replaced by each deployment's).
        providers: the runtime's providers (their settings give the retry policy).
        board: the breakers.
        cache: the journal's lookup of earlier answers, for the ``cache`` member.
        sleep: the retry loop's wait.

    Returns:
        The outcome; its ``error`` is set when no deployment answered.
    """
    attempts: list[Attempt] = []
    skipped: list[Skip] = []
    settings = providers.settings
    policy = RetryPolicy.from_settings(settings)
    for deployment in chain:
        if deployment.provider == "cache":
            cached = cache(request_hash(request))
            if cached is not None:
                return ChainOutcome(cached, deployment, tuple(attempts), tuple(skipped))
            skipped.append(Skip("cache", "no earlier answer to an identical request"))
            continue
        provider = providers.get(deployment.provider, deployment.model)
        asked = dataclasses.replace(request, model=deployment.model)
        breaker = board.breaker(breaker_key(deployment, settings))
        try:
            reply: ModelReply = call_with_retries(
                functools.partial(breaker.call, provider.complete, asked),
                policy,
                deployment=deployment.name,
                record=attempts.append,
                sleep=sleep,
                is_circuit_open=lambda exc: isinstance(exc, CircuitOpenError),
            )
        except CircuitOpenError:
            state = board.state(breaker.name or "")
            since = state.opened_at.isoformat(timespec="seconds") if state.opened_at else "?"
            skipped.append(Skip(deployment.name, f"circuit open since {since}"))
            continue
        except ProviderError as exc:
            if not exc.retryable:
                return ChainOutcome(None, deployment, tuple(attempts), tuple(skipped), exc)
            skipped.append(Skip(deployment.name, str(exc)))
            continue
        return ChainOutcome(reply, deployment, tuple(attempts), tuple(skipped))
    reasons = "; ".join(f"{s.deployment}: {s.reason}" for s in skipped) or "the chain is empty"
    error = FallbacksExhausted(
        f"no deployment answered ({reasons}). Fix: wait for the provider to recover, or add "
        "fallbacks (the agent's `fallbacks`, or CHORDLINE_LLM_FALLBACKS)."
    )
    return ChainOutcome(None, None, tuple(attempts), tuple(skipped), error)
