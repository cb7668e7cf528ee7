"""The local embedding model (NumPy, no torch) and what it finds: paraphrases, not keywords."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from orchestration.config import load_settings
from orchestration.errors import IndexMismatch
from orchestration.knowledge import (
    RebuildOptions,
    declared_bases,
    embedding_model,
    open_store,
    rebuild,
    search_index,
)
from orchestration.knowledge._chunking import chunk_text
from orchestration.knowledge._minilm import MiniLM
from tests.conftest import AGENT_DIRS
from tests.llm_server import FakeLLM

# Questions that share no word with the article they should find (checked below).
PARAPHRASES = {
    "The vase I ordered came smashed; will I be reimbursed?": "KB-101.md",
    "I no longer remember my login credentials": "KB-107.md",
    "The courier hasn't budged my package in over a week": "KB-103.md",
    "Please send it to my new flat instead": "KB-104.md",
    "My notebook computer died at eighteen months old; will you mend it?": "KB-105.md",
    "Where do I download a tax document for my purchase?": "KB-106.md",
}
_STOP = {"a", "an", "the", "i", "my", "it", "to", "for", "of", "in", "is", "do", "will", "you"}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower())) - _STOP


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


def test_vectors_are_unit_length_384_floats_matching_the_reference(model: MiniLM) -> None:
    (vector,) = model.embed(["This is an example sentence"])
    assert len(vector) == 384 == model.dimension
    assert sum(x * x for x in vector) == pytest.approx(1.0, abs=1e-5)
    # sentence-transformers' all-MiniLM-L6-v2 gives 0.0676, 0.0634, 0.0488, 0.0793, 0.0374.
    assert vector[:5] == pytest.approx([0.0676, 0.0634, 0.0488, 0.0793, 0.0374], abs=2e-3)


def test_paraphrases_are_near_and_unrelated_sentences_far(model: MiniLM) -> None:
    pairs = [
        ("A man is playing a guitar.", "Someone plays an instrument."),
        ("How do I get my money back?", "I would like a refund."),
        ("The cat sleeps on the sofa.", "A kitten is napping on the couch."),
    ]
    unrelated = [
        ("A man is playing a guitar.", "Quarterly VAT invoices are due on Friday."),
        ("How do I get my money back?", "The heat pump froze at minus twenty."),
        ("The cat sleeps on the sofa.", "Reset your password from the sign-in page."),
    ]

    def cosine(a: str, b: str) -> float:
        x, y = model.embed([a, b])
        return sum(p * q for p, q in zip(x, y, strict=True))

    near = [cosine(a, b) for a, b in pairs]
    far = [cosine(a, b) for a, b in unrelated]
    assert min(near) > 0.45, near
    assert max(far) < 0.2, far


def test_the_right_article_comes_first_for_questions_sharing_no_keyword(tmp_path: Path) -> None:
    settings = load_settings(agents_dir=AGENT_DIRS, data_dir=tmp_path)
    (kb,) = declared_bases(settings, "support-triage")
    articles = {d.source: d for d in kb.documents()}
    store = open_store(f"sqlite-vec:///{tmp_path / 'v.sqlite3'}")
    local = embedding_model(settings.knowledge, settings.llm)
    rebuild(kb, store, local, RebuildOptions())
    for question, expected in PARAPHRASES.items():
        article = articles[expected]
        assert not _words(question) & _words(article.title + " " + article.text), question
        found = search_index(store, local, kb.name, question, k=3)
        assert found.hits[0].source == expected, (question, found.hits)
        assert found.hits[0].score > found.hits[1].score


def test_a_query_with_another_model_than_the_index_is_refused_naming_both(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    openai_settings = load_settings(
        agents_dir=AGENT_DIRS,
        embedding_model="openai:text-embedding-3-small",
        openai_base_url=f"{fake_llm.url}/v1",
        openai_api_key="sk-test-valid",
    )
    (kb,) = declared_bases(openai_settings, "support-triage")
    store = open_store(f"sqlite-vec:///{tmp_path / 'v.sqlite3'}")
    rebuild(
        kb, store, embedding_model(openai_settings.knowledge, openai_settings.llm), RebuildOptions()
    )
    defaults = load_settings()
    local = embedding_model(defaults.knowledge, defaults.llm)
    with pytest.raises(IndexMismatch) as refused:
        search_index(store, local, kb.name, "refund for a cracked screen")
    message = str(refused.value)
    assert "openai:text-embedding-3-small (1536 dimensions)" in message
    assert "local:all-MiniLM-L6-v2 (384 dimensions)" in message
    assert "rebuild-embeddings --full" in message


def test_chunks_overlap_and_stay_within_size() -> None:
    text = " ".join(f"word{i}" for i in range(300))
    pieces = chunk_text(text, 200, 40)
    assert all(len(p) <= 200 for p in pieces)
    for before, after in itertools.pairwise(pieces):
        shared = [w for w in after.split() if w in set(before.split())]
        assert shared, "neighbouring chunks share their boundary words"
        assert before.split()[-len(shared) :] == shared == after.split()[: len(shared)]
        assert len(" ".join(shared)) <= 40
    assert " ".join(pieces).count("word299") == 1
