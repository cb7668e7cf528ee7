"""Vector stores behind one Protocol; :mod:`orchestration.knowledge.backends` opens the one
``CHORDLINE_VECTOR_STORE_URL`` names (this module imports no backend: the backends import it).

A knowledge base's index lives in generations: a rebuild writes a *pending* generation aside,
then :meth:`VectorStore.publish` makes it *live* in one atomic write. The generation it replaced
stays readable until the next publish, so a search that read the old pointer just before a swap
still finds the whole old index. Each generation records the model and dimension that built it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestration.errors import KnowledgeError

__all__ = [
    "Hit",
    "IndexInfo",
    "StoredChunk",
    "VectorStore",
    "check_kb_name",
]

_KB_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,46}[a-z0-9]")


def check_kb_name(name: str) -> str:
    """Return ``name`` when it can name an index in every store.

    Raises:
        KnowledgeError: it is not 2-48 lowercase letters, digits and dashes.
    """
    if not _KB_NAME.fullmatch(name):
        raise KnowledgeError(
            f"knowledge base name {name!r} is invalid. Fix: use 2-48 lowercase letters, digits "
            "and dashes, starting and ending with a letter or digit (e.g. support-triage)."
        )
    return name


@dataclass(frozen=True)
class IndexInfo:
    """One generation of a knowledge base's index.

    Attributes:
        kb: the knowledge base.
        generation: increasing with each rebuild.
        model: the embedding model that built it (``local:all-MiniLM-L6-v2``, ``openai:...``).
        dimension: the length of its vectors.
    """

    kb: str
    generation: int
    model: str
    dimension: int

    @property
    def collection(self) -> str:
        """The name of its table or collection."""
        return f"{self.kb}-g{self.generation}"


@dataclass(frozen=True)
class StoredChunk:
    """A chunk with its vector, as written to and copied between generations."""

    chunk_id: str
    vector: tuple[float, ...]
    source: str
    title: str
    group: str
    text: str


@dataclass(frozen=True)
class Hit:
    """One search result: the chunk, where it came from, and its cosine similarity."""

    chunk_id: str
    source: str
    title: str
    group: str
    text: str
    score: float


class VectorStore(Protocol):
    """Generations of indexes: write aside, publish atomically, search with a filter."""

    def live(self, kb: str) -> IndexInfo | None:
        """The generation searches read, or None before the first publish."""

    def pending(self, kb: str) -> IndexInfo | None:
        """A generation written aside and not yet published (a rebuild to resume)."""

    def begin(self, kb: str, model: str, dimension: int) -> IndexInfo:
        """Create a new empty pending generation (replacing any pending one)."""

    def chunk_ids(self, index: IndexInfo) -> set[str]:
        """The ids of the chunks a generation holds."""

    def chunks(self, index: IndexInfo, ids: Sequence[str]) -> list[StoredChunk]:
        """The chunks of a generation with these ids, vectors included."""

    def upsert(self, index: IndexInfo, chunks: Sequence[StoredChunk]) -> None:
        """Write chunks to a generation (replacing any with the same id)."""

    def delete(self, index: IndexInfo, ids: Sequence[str]) -> None:
        """Remove chunks from a generation."""

    def publish(self, index: IndexInfo) -> None:
        """Make a pending generation live in one atomic write; drop the one before last."""

    def search(
        self, index: IndexInfo, vector: Sequence[float], k: int, group: str | None = None
    ) -> list[Hit]:
        """The ``k`` chunks nearest ``vector`` (cosine), best first, within ``group`` if given."""

    def close(self) -> None:
        """Release connections."""
