"""Long-term memory: facts an agent chose to remember, recalled by meaning at a run's start.

:class:`FactStore` is the interface. :class:`~orchestration.memory.store.JournalFactStore`
keeps facts in the journal's ``memory_facts`` table and recalls by word overlap with the run's
input (no model needed). A vector store (the knowledge base's, with its embedding model) plugs
in by implementing the same four methods: ``add`` embeds and upserts by the fact's id,
``recall`` is a nearest-neighbour query filtered on tenant and session, ``facts`` and
``delete`` filter on the same metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["Fact", "FactStore", "words"]

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
