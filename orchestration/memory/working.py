"""Working memory: the last N turns of a session (its runs' inputs and answers) in Redis.

One sorted set per session, scored by when each turn ended, trimmed to the newest
``CHORDLINE_MEMORY_WORKING_TURNS`` and expiring ``CHORDLINE_MEMORY_WORKING_TTL_SECONDS`` after
its last turn. Readers also drop turns older than the TTL by the clock they are given, so a
test can move the clock a day on instead of sleeping.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, cast

import redis

from orchestration.config import MemorySettings
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus

__all__ = [
    "Clock",
    "NullWorkingMemory",
    "RedisWorkingMemory",
    "Turn",
    "WorkingMemory",
    "open_working_memory",
    "record_run",
    "working_key",
]

Clock = Callable[[], datetime]

_PREFIX = "chordline:memory:working"

log = logging.getLogger("chordline.memory")


def working_key(tenant: str, session: str) -> str:
    """The Redis key of a session's working memory."""
    return f"{_PREFIX}:{tenant}:{session}"


@dataclass(frozen=True)
class Turn:
    """One finished run of a session: what was asked and what was answered."""

    run_id: str
    input: str
    answer: str
    ended_at: float  # seconds since the epoch, by the recorder's clock


class WorkingMemory(Protocol):
    """Where a session's recent turns are kept."""

    def record(self, tenant: str, session: str, turn: Turn) -> None:
        """Add a turn (idempotent: recording one run twice keeps one entry)."""

    def recent(self, tenant: str, session: str, now: datetime) -> list[Turn]:
        """The session's turns still within the TTL at ``now``, oldest first."""

    def delete(self, tenant: str, session: str) -> int:
        """Forget the session; returns how many turns were dropped."""


class NullWorkingMemory:
    """Without Redis: remembers nothing (episodic memory still covers the session)."""

    def record(self, tenant: str, session: str, turn: Turn) -> None:
        """Keep nothing."""

    def recent(self, tenant: str, session: str, now: datetime) -> list[Turn]:
        """Nothing."""
        return []

    def delete(self, tenant: str, session: str) -> int:
        """Nothing to drop."""
        return 0


class RedisWorkingMemory:
    """Working memory in Redis.

    Args:
        url: the Redis URL.
        turns: how many turns a session keeps.
        ttl_s: seconds a session's memory lives after its last turn.
    """

    def __init__(self, url: str, turns: int, ttl_s: float) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.turns = turns
        self.ttl_s = ttl_s

    def record(self, tenant: str, session: str, turn: Turn) -> None:
        """Add a turn, keep the newest N, renew the TTL (one round trip)."""
        if self.turns == 0:
            return
        key = working_key(tenant, session)
        # The member is the turn without its time, so a second record of one run replaces it.
        member = json.dumps({"run_id": turn.run_id, "input": turn.input, "answer": turn.answer})
        pipe = self.client.pipeline()
        pipe.zadd(key, {member: turn.ended_at})
        pipe.zremrangebyrank(key, 0, -(self.turns + 1))
        pipe.expire(key, max(1, int(self.ttl_s)))
        pipe.execute()

    def recent(self, tenant: str, session: str, now: datetime) -> list[Turn]:
        """The session's turns ended within the TTL before ``now``, oldest first."""
        oldest = (now - timedelta(seconds=self.ttl_s)).timestamp()
        try:
            found = self.client.zrangebyscore(
                working_key(tenant, session), oldest, "+inf", withscores=True
            )
        except redis.RedisError as exc:  # the run goes on with the other tiers
            log.warning("working memory unreadable, going on without it: %s", exc)
            return []
        turns = []
        for member, score in cast(list[tuple[bytes, float]], found):
            item = json.loads(member)
            turns.append(Turn(item["run_id"], item["input"], item["answer"], float(score)))
        return turns[-self.turns :] if self.turns else []

    def delete(self, tenant: str, session: str) -> int:
        """Drop the session's key."""
        key = working_key(tenant, session)
        count = int(self.client.zcard(key))
        self.client.delete(key)
        return count


def open_working_memory(settings: MemorySettings, redis_url: str | None) -> WorkingMemory:
    """Redis working memory when a Redis is attached (the memory's own, else ``redis_url``),
    else the null one."""
    url = settings.memory_redis_url or redis_url
    if not url:
        return NullWorkingMemory()
    return RedisWorkingMemory(
        url, settings.memory_working_turns, settings.memory_working_ttl_seconds
    )


def record_run(working: WorkingMemory, run: RunRecord, now: datetime) -> bool:
    """Add a finished session run to working memory: an agent run of its own or a workflow run,
    not a workflow's child (its workflow is the turn). False when nothing was recorded; a Redis
    that does not answer is logged, as episodic memory still has the run."""
    if run.session is None or run.parent_id is not None or run.status != RunStatus.SUCCEEDED:
        return False
    try:
        working.record(
            run.tenant, run.session, Turn(run.id, run.input, run.output or "", now.timestamp())
        )
    except redis.RedisError as exc:
        log.warning("working memory not updated for run %s: %s", run.id, exc)
        return False
    return True
