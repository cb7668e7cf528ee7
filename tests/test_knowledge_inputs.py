"""Bad input and personal data: clear refusals, and redaction that keeps what is not personal."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.config import load_settings
from orchestration.errors import ConfigError, KnowledgeError
from orchestration.knowledge import KnowledgeBase, declared_bases, open_store
from orchestration.knowledge._redaction import redact
from tests.conftest import AGENT_DIRS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+x@mail.example.co.uk today", "write to [EMAIL] today"),
        ("card 4111 1111 1111 1111, exp 12/29", "card [CARD], exp 12/29"),
        ("card 5500-0000-0000-0004", "card [CARD]"),
        ("call +1 (415) 555-0134 or 020 7946 0958", "call [PHONE] or [PHONE]"),
        ("ORD-1042: $1249.00 on 2026-11-24", "ORD-1042: $1249.00 on 2026-11-24"),
        ("tracking 1Z999AA10123456784", "tracking 1Z999AA10123456784"),
    ],
)
def test_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_an_agent_without_a_knowledge_base_is_named_with_the_fix(tmp_path: Path) -> None:
    settings = load_settings(agents_dir=AGENT_DIRS, data_dir=tmp_path)
    with pytest.raises(KnowledgeError, match=r"agent toolbox declares no knowledge base\. Fix:"):
        declared_bases(settings, "toolbox")


def test_bad_names_urls_and_settings_are_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="knowledge base name 'Support Triage' is invalid"):
        KnowledgeBase.from_directory("Support Triage", tmp_path)
    with pytest.raises(KnowledgeError, match="Fix: set CHORDLINE_VECTOR_STORE_URL"):
        open_store("pgvector://db/x")
    with pytest.raises(ConfigError, match="CHORDLINE_KNOWLEDGE_CHUNK_OVERLAP=900 is invalid"):
        load_settings(knowledge_chunk_chars=800, knowledge_chunk_overlap=900)
    with pytest.raises(ConfigError, match="CHORDLINE_EMBEDDING_MODEL=bert is invalid"):
        load_settings(embedding_model="bert")
    missing = KnowledgeBase.from_directory("nowhere", tmp_path / "missing")
    with pytest.raises(KnowledgeError, match=r"is not a directory\. Fix: create it"):
        missing.documents()
