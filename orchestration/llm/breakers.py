"""A circuit breaker per deployment (pybreaker), shared by every worker through Redis.

A deployment is a provider, a model and a key: one bad key or one overloaded model must not
close off the others. With Redis attached (the broker or the result backend), each breaker keeps
its state in Redis under its own namespace (``CircuitRedisStorage``), so when one worker sees
the primary fail, all of them skip it. In the embedded mode the state lives in the worker process.

A closed breaker with no failures counted is the every-call case, and asking Redis about it on
every call cost two round trips a turn. A worker therefore trusts a closed, failure-free state it
read for :data:`CLOSED_FRESH_S`; anything else (open, half-open, failures counted, a failure of
its own) is read from Redis on every call. So another worker's opening reaches a worker within
that second, and a success in it does not reset the failures another worker counted.

Only failures worth retrying count (overload, server errors, timeouts): a refusal such as a bad
key says nothing about the deployment's health and does not trip the breaker.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import pybreaker
import redis

from orchestration.config import LlmSettings
from orchestration.errors import ProviderError
from orchestration.llm.deployments import Deployment

__all__ = ["CLOSED_FRESH_S", "BreakerBoard", "BreakerState", "CircuitOpenError", "breaker_key"]

CircuitOpenError = pybreaker.CircuitBreakerError
"""What a breaker raises instead of calling an open deployment."""

_NAMESPACE = "chordline:breaker"

CLOSED_FRESH_S = 1.0
"""How long a worker trusts a closed, failure-free breaker state it read from Redis."""


def _key_fingerprint(settings: LlmSettings, provider: str) -> str:
    secret = getattr(settings, f"{provider}_api_key", None)
    key = secret.get_secret_value() if secret is not None else ""
    key = key or os.environ.get(f"{provider.upper()}_API_KEY", "")
    if not key:
        return "nokey"
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def breaker_key(deployment: Deployment, settings: LlmSettings) -> str:
    """The breaker's name: provider, model and a fingerprint of the key (never the key)."""
    return f"{deployment.name}:{_key_fingerprint(settings, deployment.provider)}"


def _excluded(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and not exc.retryable


class _SharedStorage(pybreaker.CircuitRedisStorage):
    """Redis storage that reads a closed, failure-free state once per :data:`CLOSED_FRESH_S`
    (state and failure count in one round trip) and skips resetting a count already zero."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        super().__init__(pybreaker.STATE_CLOSED, client, namespace=namespace)
        self._quiet_until = 0.0  # monotonic time until which "closed, 0 failures" is trusted

    @property
    def state(self) -> str:
        if time.monotonic() < self._quiet_until:
            return pybreaker.STATE_CLOSED
        try:
            state, failures = self._redis.mget(
                self._namespace("state"), self._namespace("fail_counter")
            )
        except redis.RedisError:
            self.logger.exception("RedisError: falling back to the closed state")
            return pybreaker.STATE_CLOSED
        if state is None:
            self._initialize_redis_state(pybreaker.STATE_CLOSED)
            return pybreaker.STATE_CLOSED
        found = state.decode() if isinstance(state, bytes) else str(state)
        if found == pybreaker.STATE_CLOSED and int(failures or 0) == 0:
            self._quiet_until = time.monotonic() + CLOSED_FRESH_S
        return found

    @state.setter
    def state(self, state: str) -> None:
        self._quiet_until = 0.0
        pybreaker.CircuitRedisStorage.state.fset(self, state)  # type: ignore[attr-defined]

    def increment_counter(self) -> None:
        self._quiet_until = 0.0
        super().increment_counter()

    def reset_counter(self) -> None:
        if time.monotonic() < self._quiet_until:
            return  # read as zero within the second, and no failure of ours since
        super().reset_counter()


@dataclass(frozen=True)
class BreakerState:
    """A breaker as ``chordline check`` shows it."""

    key: str
    state: str
    failures: int
    opened_at: datetime | None
    shared: bool


class BreakerBoard:
    """The breakers of one process, by deployment.

    Args:
        settings: the fail threshold and the reset timeout.
        redis_url: the Redis to share state through (None: each process keeps its own).
    """

    def __init__(self, settings: LlmSettings, redis_url: str | None) -> None:
        self.settings = settings
        url = redis_url
        self._redis = redis.Redis.from_url(url) if url else None
        self._breakers: dict[str, pybreaker.CircuitBreaker] = {}
        self._storages: dict[str, pybreaker.CircuitBreakerStorage] = {}
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        """True when the state lives in Redis, shared by all workers."""
        return self._redis is not None

    def breaker(self, key: str) -> pybreaker.CircuitBreaker:
        """The breaker called ``key`` (see :func:`breaker_key`)."""
        with self._lock:
            found = self._breakers.get(key)
            if found is None:
                storage: pybreaker.CircuitBreakerStorage
                if self._redis is not None:
                    storage = _SharedStorage(self._redis, f"{_NAMESPACE}:{key}")
                else:
                    storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
                found = pybreaker.CircuitBreaker(
                    fail_max=self.settings.breaker_fail_max,
                    reset_timeout=self.settings.breaker_reset_seconds,
                    exclude=[_excluded],
                    state_storage=storage,
                    name=key,
                    throw_new_error_on_trip=False,
                )
                self._breakers[key] = found
                self._storages[key] = storage
            return found

    def state(self, key: str) -> BreakerState:
        """The breaker's state as its storage holds it now."""
        self.breaker(key)
        storage = self._storages[key]
        return BreakerState(
            key=key,
            state=storage.state,
            failures=storage.counter,
            opened_at=storage.opened_at,
            shared=self.shared,
        )
