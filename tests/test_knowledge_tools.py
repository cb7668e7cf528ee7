"""The example agents' searches: by meaning once an index exists, by keyword (saying so) before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from admin_jobs.rebuild_embeddings import rebuild_embeddings
from orchestration.bootstrap import open_runtime
from orchestration.config import Settings, load_settings
from orchestration.journal import Journal
from orchestration.journal.payloads import ToolPayload
from orchestration.journal.tables import RunStatus
from orchestration.runtime import Runtime
from tests.conftest import AGENT_DIRS
from tests.support import ROOT, drain

REFUND = "I am jane.doe@example.com; order ORD-1042 arrived cracked, refund please"


@pytest.fixture
def kb_settings(tmp_path: Path) -> Settings:
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite3'}")
    journal.upgrade()
    return load_settings(
        database_url=journal.url, agents_dir=AGENT_DIRS, data_dir=tmp_path, lease_seconds=30
    )


@pytest.fixture
def rt(kb_settings: Settings) -> Runtime:
    return open_runtime(kb_settings)


def _outputs(rt: Runtime, run_id: str, tool: str) -> list[dict[str, Any]]:
    steps = rt.journal.steps(run_id)
    return [s.result.output for s in steps if s.name == tool and isinstance(s.result, ToolPayload)]


def test_search_kb_falls_back_to_keywords_and_says_why_without_an_index(rt: Runtime) -> None:
    run = rt.create_run("support-triage", REFUND)
    drain(rt, run.id)
    (output,) = _outputs(rt, run.id, "search_kb")
    assert output["search"].startswith("keyword fallback: knowledge base support-triage has no")
    assert "rebuild-embeddings" in output["search"]
    assert output["results"][0]["source"] == "KB-101"


def test_search_kb_returns_chunks_with_source_and_score_from_the_index(
    rt: Runtime, kb_settings: Settings
) -> None:
    (report,) = rebuild_embeddings(kb_settings, agent="support-triage")
    # Each short article is one chunk.
    articles = list((ROOT / "agents" / "support_triage" / "knowledge").glob("*.md"))
    assert report.embedded == report.chunks == len(articles) >= 7
    run = rt.create_run("support-triage", REFUND)
    drain(rt, run.id)
    assert rt.journal.get_run(run.id).status == RunStatus.WAITING_FOR_APPROVAL
    (output,) = _outputs(rt, run.id, "search_kb")
    assert output["search"] == "vector (local:all-MiniLM-L6-v2)"
    best = output["results"][0]
    assert best["source"] == "KB-101" and best["title"].startswith("Refunds for items damaged")
    assert 0 < best["score"] <= 1 and best["score"] >= output["results"][-1]["score"]


def test_research_searches_use_the_corpus_index_filtered_by_kind(
    rt: Runtime, kb_settings: Settings
) -> None:
    rebuild_embeddings(kb_settings, agent="research-report")
    run = rt.create_run("research-report", "research: do heat pumps cope in very cold winters?")
    drain(rt, run.id)
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED
    for tool, kind in (("search_papers", "papers"), ("search_news", "news")):
        (output,) = _outputs(rt, run.id, tool)
        assert output["search"] == "vector (local:all-MiniLM-L6-v2)"
        assert output["results"] and all("score" in r for r in output["results"])
        assert output["summary"].endswith(f"{kind} result(s)")
    (papers,) = _outputs(rt, run.id, "search_papers")
    assert "heat pump" in papers["results"][0]["title"].lower()
