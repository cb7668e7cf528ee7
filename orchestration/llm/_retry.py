"""The one retry loop for LLM calls: exponential backoff with jitter, honouring ``Retry-After``.

The SDKs' own retries are off, so every attempt passes through here and is recorded as an
:class:`Attempt` of the same journal step (never a new step). Only errors marked retryable are
tried again (408, 409, 429, 5xx, 529, timeouts, dropped connections); a refusal (400, 401, 403,
404, 422) fails at once with its message.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from orchestration.config import LlmSettings
from orchestration.errors import ProviderError

# Each attempt is recorded as its turn's result records it.
from orchestration.journal.payloads import Attempt

__all__ = ["Attempt", "RetryPolicy", "call_with_retries"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Attributes:
        max_attempts: attempts in all, the first included.
        base_s: the backoff before the second attempt; it doubles each time.
        max_s: the longest wait before one attempt; a ``Retry-After`` above it gives up.
        jitter: the fraction of each backoff drawn at random (0: none, 1: full jitter), so
            workers that failed together do not retry together.
    """

    max_attempts: int = 4
    base_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.5

    @classmethod
    def from_settings(cls, settings: LlmSettings) -> RetryPolicy:
        """The policy the settings describe."""
        return cls(
            max_attempts=settings.llm_max_attempts,
            base_s=settings.llm_retry_base_seconds,
            max_s=settings.llm_retry_max_seconds,
        )

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1), before jitter's
        share is drawn."""
        full = min(self.base_s * 2.0 ** (attempt - 1), self.max_s)
        return full * (1 - self.jitter) + full * self.jitter * rng()


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    deployment: str,
    record: Callable[[Attempt], None],
    sleep: Callable[[float], None] = time.sleep,
    is_circuit_open: Callable[[BaseException], bool] = lambda _exc: False,
) -> T:
    """Call ``fn`` until it answers, a refusal, or the attempts run out.

    The OpenAI and Anthropic SDKs retry on their own (``max_retries``, 2 by default); we set it
    to 0 and retry here instead, because only this loop can (1) record every attempt, with its
    error, status and wait, in the LLM step's journaled result, so ``chordline status`` shows
    why a turn was slow or which deployment failed how; (2) count each failed attempt on the
    deployment's circuit breaker, which the SDKs' hidden retries would bypass; (3) give up on a
    ``Retry-After`` longer than ``CHORDLINE_LLM_RETRY_MAX_SECONDS`` and move on to the next
    deployment of the fallback chain instead of sleeping through it; and (4) apply one policy
    (``CHORDLINE_LLM_*`` settings) to every provider alike. Retries inside the SDK would
    multiply with ours (up to 3 x ``max_attempts`` requests) and hide from all four.

    Args:
        fn: one attempt (a provider call, possibly through a circuit breaker).
        policy: attempts and backoff.
        deployment: recorded on each attempt.
        record: receives every attempt as it ends, success included.
        sleep: how to wait (tests of the waits themselves may pass their own clock).
        is_circuit_open: tells the breaker's refusal apart; it is never retried, nor recorded
            as an attempt (no request was sent).

    Returns:
        What ``fn`` returned.

    Raises:
        ProviderError: the last error, when it was not retryable or the attempts ran out.
        Exception: a circuit breaker's refusal, as raised by ``fn``.
    """
    number = 0
    while True:
        number += 1
        started = time.monotonic()
        try:
            result = fn()
        except Exception as exc:
            took = round(time.monotonic() - started, 3)
            if is_circuit_open(exc) or not isinstance(exc, ProviderError):
                raise
            wait = _wait_before_retry(exc, number, policy)
            if wait is None:
                record(Attempt(deployment, number, "failed", str(exc), exc.status, took_s=took))
                raise
            record(Attempt(deployment, number, "retry", str(exc), exc.status, wait, took))
            sleep(wait)
            continue
        record(Attempt(deployment, number, "ok", took_s=round(time.monotonic() - started, 3)))
        return result


def _wait_before_retry(exc: ProviderError, number: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait before another attempt, or None to give up."""
    if not exc.retryable or number >= policy.max_attempts:
        return None
    wait = policy.backoff(number)
    if exc.retry_after_s is not None:
        if exc.retry_after_s > policy.max_s:
            return None
        wait = max(wait, exc.retry_after_s)
    return round(wait, 3)
