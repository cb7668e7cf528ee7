"""A circuit breaker per deployment (pybreaker), shared by every worker through Redis.

A deployment is a provider, a model and a key: one bad key or one overloaded model must not
close off the others. With Redis attached (the broker or the result backend), each breaker keeps
its state in Redis under its own namespace (``CircuitRedisStorage``), so when one worker sees
the primary fail, all of them skip it at once. In the embedded mode the state lives in the worker
process.

Only failures worth retrying count (overload, server errors, timeouts): a refusal such as a bad
key says nothing about the deployment's health and does not trip the breaker.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime

import pybreaker
import redis

from orchestration.config import Settings
from orchestration.errors import ProviderError
from orchestration.llm.deployments import Deployment

__all__ = ["BreakerBoard", "BreakerState", "CircuitOpenError", "breaker_key"]

CircuitOpenError = pybreaker.CircuitBreakerError
"""What a breaker raises instead of calling an open deployment."""

_NAMESPACE = "chordline:breaker"


def _key_fingerprint(settings: Settings, provider: str) -> str:
    secret = getattr(settings, f"{provider}_api_key", None)
    key = secret.get_secret_value() if secret is not None else ""
    key = key or os.environ.get(f"{provider.upper()}_API_KEY", "")
    if not key:
        return "nokey"
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def breaker_key(deployment: Deployment, settings: Settings) -> str:
    """The breaker's name: provider, model and a fingerprint of the key (never the key)."""
    return f"{deployment.name}:{_key_fingerprint(settings, deployment.provider)}"


def _excluded(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and not exc.retryable


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
        settings: fail threshold, reset timeout and the Redis to share state through.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        url = settings.redis_url
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
                    storage = pybreaker.CircuitRedisStorage(
                        pybreaker.STATE_CLOSED, self._redis, namespace=f"{_NAMESPACE}:{key}"
                    )
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
