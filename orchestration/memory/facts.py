"""Long-term memory: facts an agent chose to remember, recalled by meaning at a run's start.

:class:`FactStore` is the interface. :class:`JournalFactStore` keeps facts in the journal's
``memory_facts`` table and recalls by word overlap with the run's input (no model needed). A
vector store (the knowledge base's, with its embedding model) plugs in by implementing the same
four methods: ``add`` embeds and upserts by the fact's id, ``recall`` is a nearest-neighbour
query filtered on tenant and session, ``facts`` and ``delete`` filter on the same metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from orchestration.journal.engine import write
from orchestration.journal.subsystem_tables import MemoryFact
from orchestration.journal.tables import utcnow

__all__ = ["Fact", "FactStore", "JournalFactStore", "words"]

_WORD = re.compile(r"[a-z0-9][a-z0-9'-]{2,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "that",
        "this",
        "with",
        "you",
        "your",
        "are",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "how",
        "have",
        "has",
        "had",
        "not",
        "but",
        "from",
        "they",
        "them",
        "their",
        "there",
        "here",
        "about",
        "into",
        "can",
        "could",
        "would",
        "should",
        "will",
        "just",
        "our",
        "out",
        "all",
        "any",
        "its",
        "it's",
        "i'm",
        "please",
        "tell",
        "know",
        "remember",
    ]
)


def words(text: str) -> set[str]:
    """The content words of ``text`` (lower case, three letters or more, no stop words)."""
    return {w.strip("'-") for w in _WORD.findall(text.lower())} - _STOP


@dataclass(frozen=True)
class Fact:
    """One remembered fact."""

    id: str
    tenant: str
    session: str
    fact: str
    run_id: str | None
    created_at: datetime


class FactStore(Protocol):
    """Where long-term facts live."""

    def add(self, fact: Fact) -> bool:
        """Store a fact; idempotent on its id (False: it was there)."""

    def recall(self, tenant: str, session: str, query: str, limit: int) -> list[Fact]:
        """The facts of the session most related to ``query``, best first."""

    def facts(self, tenant: str, session: str) -> list[Fact]:
        """Every fact of the session, oldest first."""

    def delete(self, tenant: str, session: str) -> int:
        """Forget every fact of the session; returns how many."""


class JournalFactStore:
    """Facts in the journal, recalled by word overlap.

    Args:
        engine: the journal's engine.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, fact: Fact) -> bool:
        """Insert the fact unless its id exists."""
        try:
            with write(self.engine) as connection:
                connection.execute(
                    insert(MemoryFact).values(
                        id=fact.id, tenant=fact.tenant, session=fact.session, fact=fact.fact,
                        run_id=fact.run_id, created_at=fact.created_at or utcnow(),
                    )
                )  # fmt: skip
        except IntegrityError:
            return False
        return True

    def facts(self, tenant: str, session: str) -> list[Fact]:
        """Every fact of the session, oldest first."""
        query = (
            select(MemoryFact)
            .where(MemoryFact.tenant == tenant, MemoryFact.session == session)
            .order_by(MemoryFact.created_at, MemoryFact.id)
        )
        with self.engine.connect() as connection:
            return [
                Fact(row.id, row.tenant, row.session, row.fact, row.run_id, row.created_at)
                for row in connection.execute(query)
            ]

    def recall(self, tenant: str, session: str, query: str, limit: int) -> list[Fact]:
        """Facts sharing the most content words with ``query``, then the newest; facts that
        share none are not recalled."""
        wanted = words(query)
        scored = [(len(wanted & words(f.fact)), f) for f in self.facts(tenant, session)]
        related = [pair for pair in scored if pair[0] > 0]
        related.sort(key=lambda pair: (pair[0], pair[1].created_at), reverse=True)
        return [fact for _, fact in related[:limit]]

    def delete(self, tenant: str, session: str) -> int:
        """Delete the session's facts."""
        with write(self.engine) as connection:
            result = connection.execute(
                delete(MemoryFact).where(MemoryFact.tenant == tenant, MemoryFact.session == session)
            )
        return int(result.rowcount)
