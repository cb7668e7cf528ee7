"""Fine-tuning: a redacted export of good runs, and a job followed by admin tasks to a candidate."""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import pytest

from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.journal import Journal
from orchestration.knowledge.finetune_data import export_examples
from orchestration.knowledge.finetune_jobs import candidates
from tests.finetune_runs import CARD, EMAIL, admin_run, runtime_for, seed_runs
from tests.llm_server import FakeLLM
from tests.support import ROOT, WorkerPool


def test_the_export_holds_good_runs_redacted_with_a_data_report(
    journal: Journal, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url=journal.url,
        agents_dir=str(ROOT / "agents"),
        data_dir=tmp_path,
        lease_seconds=30,
    )
    ids = seed_runs(runtime_for(journal, settings))
    report = export_examples(
        settings.knowledge, settings.agent_dirs, journal, "support-triage", tmp_path / "st.jsonl"
    )
    assert report.examples == 1
    assert report.excluded == ((ids["refused"], "an approval was rejected"),)
    text = report.path.read_text()
    assert EMAIL not in text and CARD not in text and "4111" not in text and "555" not in text
    assert "[EMAIL]" in text and "[CARD]" in text and "[PHONE]" in text
    (line,) = text.splitlines()
    example = json.loads(line)
    roles = [m["role"] for m in example["messages"]]
    assert roles[:2] == ["system", "user"] and roles[-1] == "assistant"
    assert "tool" in roles and example["messages"][-1]["content"]
    assert {t["function"]["name"] for t in example["tools"]} >= {"search_kb", "issue_refund"}
    assert report.tokens > 100 and report.estimated_usd is not None
    assert report.estimated_usd > 0


def _env(service_env: dict[str, str], fake_llm: FakeLLM) -> dict[str, str]:
    return (
        service_env
        | fake_llm.env()
        | {
            "CHORDLINE_AGENTS_DIR": str(ROOT / "agents"),
            "CHORDLINE_FINETUNE_POLL_SECONDS": "0.5",
            "SUPPORT_TRIAGE_LATENCY_S": "0",
        }
    )


def test_a_job_is_followed_by_admin_tasks_and_its_model_becomes_a_candidate_not_the_pin(
    service_env: dict[str, str],
    pg_journal: Journal,
    fake_llm: FakeLLM,
    workers: WorkerPool,
) -> None:
    env = _env(service_env, fake_llm)
    settings = load_settings(
        database_url=pg_journal.url,
        agents_dir=env["CHORDLINE_AGENTS_DIR"],
        data_dir=Path(env["CHORDLINE_DATA_DIR"]),
        lease_seconds=30,
    )
    seed_runs(runtime_for(pg_journal, settings))
    agent_file = ROOT / "agents" / "research_report" / "agent.py"
    before = hashlib.sha256(agent_file.read_bytes()).hexdigest()
    worker = workers.start(env, queues="admin", concurrency=1)

    done = admin_run(env, "finetune", "--agent", "research-report")
    assert done.returncode == 0, done.stderr
    assert "examples: 2" in done.stdout and "The pin stays as it is" in done.stdout
    assert "CHORDLINE_LLM_PROVIDER=openai:CANDIDATE chordline eval run research-report" in (
        done.stdout
    )
    extras = fake_llm.openai_extras
    (job_id,) = extras.jobs
    uploaded = next(iter(extras.files.values())).decode()
    assert EMAIL not in uploaded and CARD not in uploaded

    deadline = time.monotonic() + 90
    while not candidates(pg_journal, "research-report"):
        assert time.monotonic() < deadline, worker.output()[-3000:]
        time.sleep(0.1)
    (candidate,) = candidates(pg_journal, "research-report")
    assert candidate.model.startswith("ft:gpt-4o-mini-2024-07-18:chordline:research-report:")
    assert candidate.source == f"finetune:{job_id}"
    # validating_files -> queued -> running -> succeeded: one admin task per check.
    assert extras.retrieves == [job_id] * 3
    runs = re.findall(
        r"chordline\.admin\.finetune_follow\[[^\]]+\] succeeded in ([\d.]+)s", worker.output()
    )
    assert len(runs) == 3 and max(float(s) for s in runs) < 5, runs
    assert hashlib.sha256(agent_file.read_bytes()).hexdigest() == before
    registry = open_runtime(settings).registry
    assert registry.get("research-report").model == "scripted:planner-1"


def test_an_export_without_good_runs_says_so(journal: Journal, tmp_path: Path) -> None:
    settings = load_settings(database_url=journal.url, data_dir=tmp_path)
    from orchestration.errors import KnowledgeError

    with pytest.raises(KnowledgeError, match="no successful run"):
        export_examples(
            settings.knowledge,
            settings.agent_dirs,
            journal,
            "research-report",
            tmp_path / "x.jsonl",
        )
