"""The LLM response cache's SQL: the only module that reads or writes ``llm_response_cache``.

Entries are keyed by the hash of a whole request and the tenant asking (see
:mod:`orchestration.reducer.response_cache`, the middleware that uses them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from orchestration.journal.engine import write
from orchestration.journal.tables import utcnow
from orchestration.llm.tables import LLMCacheEntry

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["CachedReply", "cached_reply", "delete_cached_before", "keep_reply"]


@dataclass(frozen=True)
class CachedReply:
    """A kept answer: the deployment that gave it (``provider:model``) and its record."""

    deployment: str
    reply: dict[str, Any]


def cached_reply(journal: Journal, key: str, since: datetime) -> CachedReply | None:
    """The answer kept under ``key`` at or after ``since``, if any."""
    query = select(LLMCacheEntry.deployment, LLMCacheEntry.reply).where(
        LLMCacheEntry.key == key, LLMCacheEntry.created_at >= since
    )
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else CachedReply(str(row.deployment), row.reply)


def keep_reply(
    journal: Journal, key: str, tenant: str, deployment: str, reply: dict[str, Any]
) -> None:
    """Keep an answer under ``key``, replacing an expired one; a concurrent keeper of the same
    request wins quietly."""
    try:
        with write(journal.engine) as connection:
            # An expired entry under the same key gives way to the fresh answer.
            connection.execute(delete(LLMCacheEntry).where(LLMCacheEntry.key == key))
            connection.execute(
                insert(LLMCacheEntry).values(
                    key=key,
                    tenant=tenant,
                    deployment=deployment,
                    reply=reply,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        # Another worker kept an answer to the same request at the same moment.
        pass


def delete_cached_before(journal: Journal, cutoff: datetime) -> int:
    """Delete the answers kept before ``cutoff``; returns how many."""
    with write(journal.engine) as connection:
        result = connection.execute(delete(LLMCacheEntry).where(LLMCacheEntry.created_at < cutoff))
    return int(result.rowcount or 0)
