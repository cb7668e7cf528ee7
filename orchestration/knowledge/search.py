"""Searching a knowledge base by meaning, and the reasons it may not be possible.

:func:`search` embeds the query with the configured model and reads the live generation. It
refuses a query whose model or dimension differs from the index's (vectors of two models are
not comparable), and raises :class:`IndexUnavailable` when there is no index or the packages
are missing, so that a tool can fall back to keyword search and say why.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from orchestration.config import KnowledgeSettings, LlmSettings
from orchestration.errors import BackendUnreachable, IndexMismatch, KnowledgeError
from orchestration.knowledge._vectors import Hit, IndexInfo, VectorStore
from orchestration.knowledge.backends import open_store, store_url
from orchestration.knowledge.embeddings import EmbeddingModel, embedding_model

__all__ = ["IndexUnavailable", "SearchResult", "check_model", "search", "search_index"]


class IndexUnavailable(KnowledgeError):
    """No vector index can answer (none built yet, or the knowledge extra is not installed)."""


@dataclass(frozen=True)
class SearchResult:
    """Chunks ranked by cosine similarity to the query.

    Attributes:
        kb: the knowledge base searched.
        model: the embedding model of the index (and of the query).
        generation: the generation that answered.
        hits: best first.
    """

    kb: str
    model: str
    generation: int
    hits: tuple[Hit, ...]


def check_model(index: IndexInfo, model: EmbeddingModel) -> None:
    """Refuse a query embedded by another model or dimension than ``index``'s.

    Raises:
        IndexMismatch: naming both models and the fix.
    """
    if (index.model, index.dimension) != (model.name, model.dimension):
        raise IndexMismatch(
            f"knowledge base {index.kb} was built with {index.model} ({index.dimension} "
            f"dimensions), but queries are embedded with {model.name} ({model.dimension} "
            "dimensions). Fix: set CHORDLINE_EMBEDDING_MODEL to the index's model, or rebuild "
            f"the index: chordline admin run rebuild-embeddings --full."
        )


def search_index(
    store: VectorStore,
    model: EmbeddingModel,
    kb: str,
    query: str,
    *,
    k: int = 3,
    group: str | None = None,
) -> SearchResult:
    """Search ``kb``'s live generation in ``store`` for ``query``.

    Raises:
        IndexUnavailable: ``kb`` has no published index.
        IndexMismatch: the index was built with another model.
    """
    index = store.live(kb)
    if index is None:
        raise IndexUnavailable(
            f"knowledge base {kb} has no vector index yet. Fix: chordline admin run "
            f"rebuild-embeddings --agent AGENT."
        )
    check_model(index, model)
    vector = model.embed([query])[0]
    try:
        hits = store.search(index, vector, k, group)
    except Exception:
        # Two rebuilds published between reading the pointer and searching: the generation read
        # is gone. The pointer read now names a complete one.
        index = store.live(kb) or index
        check_model(index, model)
        hits = store.search(index, vector, k, group)
    return SearchResult(kb, index.model, index.generation, tuple(hits))


def search(
    settings: KnowledgeSettings,
    llm: LlmSettings,
    kb: str,
    query: str,
    *,
    k: int = 3,
    group: str | None = None,
    data_dir: Path,
) -> SearchResult:
    """Search ``kb`` with the configured model and store.

    Args:
        settings: the embedding model and store URL.
        llm: the key, base URL and timeout of an OpenAI embedding model.
        kb: the knowledge base.
        query: what to look for, in plain words.
        k: how many chunks.
        group: only chunks of this group (e.g. ``papers``), if given.
        data_dir: where the embedded store lives (the runtime's data directory).

    Raises:
        IndexUnavailable: no index, the knowledge extra is missing or the store is unreachable
            (the reason says which).
        IndexMismatch: the index was built with another model.
    """
    try:
        store = _store(store_url(settings, data_dir))
        if store.live(kb) is None:
            # Checked before loading the model: without an index there is nothing to embed for.
            raise IndexUnavailable(
                f"knowledge base {kb} has no vector index yet. Fix: chordline admin run "
                "rebuild-embeddings --agent AGENT."
            )
        model = embedding_model(settings, llm)
    except (KnowledgeError, BackendUnreachable) as exc:
        raise IndexUnavailable(str(exc)) from None
    return search_index(store, model, kb, query, k=k, group=group)


@functools.cache
def _store(url: str) -> VectorStore:
    return open_store(url)
