"""Per-tenant limits shared by every API process through Redis: requests per minute, and live
runs at once.

The request counter is a fixed one-minute window (``INCR`` + ``EXPIRE`` in one pipeline). The
live-runs limit counts the tenant's unfinished runs in the journal while holding a short Redis
lock per tenant, so two API processes admitting runs at once cannot both take the last slot.
Without Redis (the embedded broker) each API process keeps its own counter and lock.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from orchestration.config import ApiSettings

__all__ = ["Limited", "TenantLimits"]

_PREFIX = "chordline:api"
_LOCK_TTL_MS = 5000
_LOCK_WAIT_S = 3.0


@dataclass(frozen=True)
class Limited:
    """A request over a limit: why, and when to try again."""

    reason: str
    retry_after_s: int


class TenantLimits:
    """The rate and live-runs limits of every tenant.

    Args:
        settings: the API settings, for the limits.
        redis_url: the Redis the counts are shared through (None: this process counts alone).
    """

    def __init__(self, settings: ApiSettings, redis_url: str | None) -> None:
        self.per_minute = settings.api_rate_limit_per_minute
        self.max_live = settings.api_max_concurrent_runs
        url = redis_url
        self._redis = redis.Redis.from_url(url, socket_timeout=3) if url else None
        self._local: dict[tuple[str, int], int] = {}
        self._local_lock = threading.Lock()
        self._tenant_locks: dict[str, threading.Lock] = {}

    def hit(self, tenant: str) -> Limited | None:
        """Count one request of ``tenant``; a :class:`Limited` when it is over the rate."""
        now = time.time()
        window = int(now // 60)
        retry = max(1, int(60 - now % 60) + 1)
        if self._redis is not None:
            key = f"{_PREFIX}:rate:{tenant}:{window}"
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            count = int(pipe.execute()[0])
        else:
            with self._local_lock:
                self._local = {k: v for k, v in self._local.items() if k[1] >= window}
                count = self._local[(tenant, window)] = self._local.get((tenant, window), 0) + 1
        if count > self.per_minute:
            return Limited(
                f"tenant {tenant} is over its rate of {self.per_minute} requests a minute "
                "(CHORDLINE_API_RATE_LIMIT_PER_MINUTE)",
                retry,
            )
        return None

    @contextmanager
    def admitting(self, tenant: str, live_runs: Callable[[], int]) -> Iterator[Limited | None]:
        """Hold the tenant's admission lock; yields a :class:`Limited` when it has
        ``api_max_concurrent_runs`` live runs already, else None (and the caller creates its
        run before the lock is let go)."""
        with self._tenant_lock(tenant) as held:
            if not held:
                yield Limited(f"tenant {tenant} is admitting other runs right now", 1)
                return
            live = live_runs()
            if live >= self.max_live:
                yield Limited(
                    f"tenant {tenant} has {live} live runs, its limit "
                    f"(CHORDLINE_API_MAX_CONCURRENT_RUNS={self.max_live}); wait for one to end",
                    5,
                )
                return
            yield None

    @contextmanager
    def _tenant_lock(self, tenant: str) -> Iterator[bool]:
        if self._redis is None:
            lock = self._tenant_locks.setdefault(tenant, threading.Lock())
            held = lock.acquire(timeout=_LOCK_WAIT_S)
            try:
                yield held
            finally:
                if held:
                    lock.release()
            return
        key, token = f"{_PREFIX}:admit:{tenant}", uuid.uuid4().hex
        deadline = time.monotonic() + _LOCK_WAIT_S
        held = bool(self._redis.set(key, token, nx=True, px=_LOCK_TTL_MS))
        while not held and time.monotonic() < deadline:
            time.sleep(0.01)  # another process admits a run: a few ms
            held = bool(self._redis.set(key, token, nx=True, px=_LOCK_TTL_MS))
        try:
            yield held
        finally:
            if held:
                # Delete only our own lock (it may have expired and been taken by another).
                self._redis.eval(
                    "if redis.call('get', KEYS[1]) == ARGV[1] then "
                    "return redis.call('del', KEYS[1]) end return 0",
                    1,
                    key,
                    token,
                )
