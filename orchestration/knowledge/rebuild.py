"""The incremental, atomic rebuild of a knowledge base's index.

1. Chunk the documents as they are now; each chunk's id is a hash of its content.
2. Write a pending generation aside: chunks already there (a failed run's work) stay, chunks the
   live generation holds are copied with their vectors, and only the rest are embedded, in
   batches, each batch written as soon as it is embedded.
3. Publish: one atomic write makes the pending generation live. Chunks of removed documents are
   simply not in it.

A failure before the publish leaves the live generation untouched and the pending one holding
every batch written so far, so the next run resumes where this one stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestration.knowledge._chunking import Chunk, chunk_documents
from orchestration.knowledge._vectors import IndexInfo, StoredChunk, VectorStore
from orchestration.knowledge.bases import KnowledgeBase
from orchestration.knowledge.embeddings import EmbeddingModel

__all__ = ["Progress", "RebuildOptions", "RebuildReport", "rebuild"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each batch of chunks is written."""


@dataclass(frozen=True)
class RebuildOptions:
    """How to rebuild.

    Attributes:
        chunk_chars: characters per chunk.
        overlap: characters shared by neighbouring chunks.
        batch_size: texts per embedding call.
        full: embed every chunk again, reusing nothing (a new model, a suspect index).
    """

    chunk_chars: int = 800
    overlap: int = 160
    batch_size: int = 32
    full: bool = False


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild did.

    Attributes:
        kb: the knowledge base.
        model: the embedding model.
        generation: the live generation after it.
        chunks: chunks in the index now.
        embedded: chunks sent to the model.
        skipped: chunks reused without embedding (copied from the live index or resumed).
        deleted: chunks of the old index that the new one no longer holds.
        embedding_calls: calls made to the model.
        seconds: wall time.
        published: False when nothing had changed and the live index was kept as it was.
    """

    kb: str
    model: str
    generation: int
    chunks: int
    embedded: int
    skipped: int
    deleted: int
    embedding_calls: int
    seconds: float
    published: bool


def _same_model(index: IndexInfo | None, model: EmbeddingModel) -> bool:
    return index is not None and (index.model, index.dimension) == (model.name, model.dimension)


def rebuild(
    kb: KnowledgeBase,
    store: VectorStore,
    model: EmbeddingModel,
    options: RebuildOptions,
    progress: Progress | None = None,
) -> RebuildReport:
    """Bring ``kb``'s index up to date with its documents (see the module's docstring).

    Raises:
        KnowledgeError: loading documents, embedding or writing failed; the live index is as
            it was and the next run resumes.
    """
    started = time.monotonic()
    chunks = {
        c.chunk_id: c for c in chunk_documents(kb.documents(), options.chunk_chars, options.overlap)
    }
    live = store.live(kb.name)
    old_ids = store.chunk_ids(live) if live is not None else set()
    live_ids = old_ids if _same_model(live, model) else set()
    if (
        not options.full
        and live is not None
        and _same_model(live, model)
        and live_ids == set(chunks)
    ):
        return RebuildReport(
            kb.name,
            model.name,
            live.generation,
            len(chunks),
            0,
            len(chunks),
            0,
            0,
            time.monotonic() - started,
            published=False,
        )
    pending = store.pending(kb.name)
    if pending is None or options.full or not _same_model(pending, model):
        pending = store.begin(kb.name, model.name, model.dimension)
    have = store.chunk_ids(pending)
    store.delete(pending, sorted(have - set(chunks)))
    resumed = have & set(chunks)
    reuse = [] if options.full else sorted((live_ids & set(chunks)) - resumed)
    todo = [c for i, c in chunks.items() if i not in resumed and i not in reuse]
    total, done = len(chunks), len(resumed)
    if progress is not None:
        progress(done, total)
    if live is not None and reuse:
        for start in range(0, len(reuse), 500):
            store.upsert(pending, store.chunks(live, reuse[start : start + 500]))
        done += len(reuse)
        if progress is not None:
            progress(done, total)
    calls = 0
    for start in range(0, len(todo), options.batch_size):
        batch = todo[start : start + options.batch_size]
        store.upsert(pending, _embedded(batch, model))
        calls += 1
        done += len(batch)
        if progress is not None:
            progress(done, total)
    store.publish(pending)
    report = RebuildReport(
        kb=kb.name,
        model=model.name,
        generation=pending.generation,
        chunks=total,
        embedded=len(todo),
        skipped=len(resumed) + len(reuse),
        deleted=len(old_ids - set(chunks)),
        embedding_calls=calls,
        seconds=round(time.monotonic() - started, 3),
        published=True,
    )
    log.info("rebuilt knowledge base %s: %s", kb.name, report)
    return report


def _embedded(batch: Sequence[Chunk], model: EmbeddingModel) -> list[StoredChunk]:
    vectors = model.embed([c.embedded_text for c in batch])
    return [
        StoredChunk(c.chunk_id, tuple(v), c.source, c.title, c.group, c.text)
        for c, v in zip(batch, vectors, strict=True)
    ]
