"""Incremental, atomic, resumable rebuilds on both stores (sqlite-vec file, real Chroma server).

Embeddings come from OpenAI's endpoint on the local test server (the SDK's real code), which
counts the texts each call embeds.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.config import Settings, load_settings
from orchestration.errors import KnowledgeError
from orchestration.knowledge import (
    EmbeddingModel,
    KnowledgeBase,
    RebuildOptions,
    RebuildReport,
    VectorStore,
    embedding_model,
    open_store,
    rebuild,
    search_index,
)
from orchestration.knowledge._vectors import Hit
from tests.chroma_server import chroma_url
from tests.llm_server import VALID_KEY, FakeLLM

__all__ = ["chroma_url"]

DOCS = 8


@pytest.fixture(params=["sqlite-vec", "chroma"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> VectorStore:
    if request.param == "chroma":
        return open_store(request.getfixturevalue("chroma_url"))
    return open_store(f"sqlite-vec:///{tmp_path / 'vectors.sqlite3'}")


@pytest.fixture
def settings(fake_llm: FakeLLM) -> Settings:
    return load_settings(
        embedding_model="openai:text-embedding-3-small",
        openai_base_url=f"{fake_llm.url}/v1",
        openai_api_key=VALID_KEY,
    )


def _write(folder: Path, version: str, docs: range = range(DOCS)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in docs:
        paragraphs = [
            f"Paragraph {p} of document {n} talks about topic{n} and detail{p} ({version})."
            for p in range(12)
        ]
        (folder / f"doc{n}.md").write_text(f"# Document {n}\n\n" + "\n\n".join(paragraphs))


def _kb(folder: Path) -> KnowledgeBase:
    # Unique per test: the Chroma server is shared by the module's tests.
    return KnowledgeBase.from_directory(f"kb-{uuid.uuid4().hex[:8]}", folder)


OPTIONS = RebuildOptions(chunk_chars=300, overlap=60, batch_size=4)


@dataclass(frozen=True)
class Built:
    """A knowledge base of DOCS documents (version v1), indexed once."""

    folder: Path
    kb: KnowledgeBase
    model: EmbeddingModel
    first: RebuildReport


@pytest.fixture
def built(store: VectorStore, settings: Settings, tmp_path: Path) -> Built:
    folder = tmp_path / "docs"
    _write(folder, "v1")
    kb, model = _kb(folder), embedding_model(settings.knowledge, settings.llm)
    return Built(folder, kb, model, rebuild(kb, store, model, OPTIONS))


def test_editing_one_document_re_embeds_only_its_chunks_and_removal_deletes(
    store: VectorStore, built: Built, fake_llm: FakeLLM
) -> None:
    folder, kb, model, first = built.folder, built.kb, built.model, built.first
    assert first.embedded == first.chunks > DOCS and first.skipped == 0
    assert fake_llm.openai_extras.embedding_calls == [4] * (first.chunks // 4) + (
        [first.chunks % 4] if first.chunks % 4 else []
    )
    seen = len(fake_llm.openai_extras.embedded_texts)

    doc3 = folder / "doc3.md"
    doc3.write_text(doc3.read_text().replace("Paragraph 11 of document 3", "The last word on 3"))
    second = rebuild(kb, store, model, OPTIONS)
    texts = fake_llm.openai_extras.embedded_texts[seen:]
    assert second.embedded == len(texts) >= 1
    assert all(t.startswith("Document 3\n") for t in texts), texts
    assert second.skipped == second.chunks - second.embedded
    assert second.deleted == second.embedded  # the edited chunks' old versions
    assert second.generation == first.generation + 1

    (folder / "doc5.md").unlink()
    third = rebuild(kb, store, model, OPTIONS)
    assert third.embedded == 0 and third.deleted > 0
    assert third.chunks == second.chunks - third.deleted
    hits = search_index(store, model, kb.name, "topic5 detail3", k=third.chunks).hits
    assert len(hits) == third.chunks
    assert "doc5.md" not in {h.source for h in hits}

    unchanged = rebuild(kb, store, model, OPTIONS)
    assert not unchanged.published and unchanged.embedded == 0
    assert unchanged.generation == third.generation


def test_a_search_during_a_full_rebuild_sees_one_whole_index(
    store: VectorStore, built: Built, fake_llm: FakeLLM
) -> None:
    folder, kb, model, total = built.folder, built.kb, built.model, built.first.chunks
    _write(folder, "v2")  # every chunk changes, so old and new results are told apart
    failures: list[str] = []
    done = threading.Event()

    def whole(hits: tuple[Hit, ...]) -> str | None:
        kinds = {"v2" if "(v2)" in h.text else "v1" for h in hits}
        return None if len(hits) == total and len(kinds) == 1 else f"{len(hits)}, {kinds}"

    def search_loop() -> None:  # searches from the hold on, through the publish too
        while not done.is_set():
            problem = whole(search_index(store, model, kb.name, "topic4 detail7", k=total).hits)
            if problem:
                failures.append(problem)

    # The rebuild is held at its fourth batch, three batches of the new index written: a
    # search then must see the old index whole. (Only the rebuild embeds until the hold.)
    extras = fake_llm.openai_extras
    extras.hold_embeddings_after = sum(extras.embedding_calls) + 3 * 2
    reports: list[RebuildReport] = []
    options = RebuildOptions(300, 60, batch_size=2, full=True)
    rebuilder = threading.Thread(target=lambda: reports.append(rebuild(kb, store, model, options)))
    searcher = threading.Thread(target=search_loop)
    rebuilder.start()
    try:
        assert extras.holding.wait(timeout=60), "the rebuild never reached its fourth batch"
        midway = search_index(store, model, kb.name, "topic4 detail7", k=total).hits
        searcher.start()
    finally:
        extras.release.set()
        rebuilder.join(timeout=120)
        done.set()
        if searcher.is_alive():
            searcher.join(timeout=60)
    assert whole(midway) is None and all("(v1)" in h.text for h in midway), whole(midway)
    (report,) = reports
    assert report.embedded == total
    assert not failures, failures[:5]
    after = search_index(store, model, kb.name, "topic4", k=total).hits
    assert len(after) == total and all("(v2)" in h.text for h in after)


def test_a_failed_rebuild_leaves_the_live_index_and_the_next_run_resumes(
    store: VectorStore, built: Built, fake_llm: FakeLLM
) -> None:
    folder, kb, model, first = built.folder, built.kb, built.model, built.first
    _write(folder, "v2")
    extras = fake_llm.openai_extras
    extras.fail_embeddings_after = sum(extras.embedding_calls) + 12  # three batches of four
    with pytest.raises(KnowledgeError, match="embeddings"):
        rebuild(kb, store, model, OPTIONS)
    extras.fail_embeddings_after = None
    live = store.live(kb.name)
    assert live is not None and live.generation == first.generation
    hits = search_index(store, model, kb.name, "topic1", k=first.chunks).hits
    assert len(hits) == first.chunks and all("(v1)" in h.text for h in hits)

    resumed = rebuild(kb, store, model, OPTIONS)
    assert resumed.skipped == 12 and resumed.embedded == resumed.chunks - 12
    hits = search_index(store, model, kb.name, "topic1", k=resumed.chunks).hits
    assert len(hits) == resumed.chunks and all("(v2)" in h.text for h in hits)


def test_a_search_filters_on_the_group(store: VectorStore, tmp_path: Path) -> None:
    from agents.research_report.tools import corpus_documents

    kb = KnowledgeBase.from_rows(f"rr-{uuid.uuid4().hex[:8]}", corpus_documents)
    defaults = load_settings()
    local = embedding_model(defaults.knowledge, defaults.llm)
    rebuild(kb, store, local, RebuildOptions())
    hits = search_index(store, local, kb.name, "heat pumps in cold weather", k=3, group="news")
    assert hits.hits and all(h.group == "news" for h in hits.hits)
    assert hits.hits[0].score >= hits.hits[-1].score
