"""The cleanup admin job: finished runs, eval results and cached answers past their retention
go; live runs and recent rows stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update

from admin_jobs.cleanup import cleanup
from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.evals.tables import EvalResult
from orchestration.journal import Journal
from orchestration.journal.tables import Run, RunStatus, Step, utcnow
from orchestration.llm.tables import LLMCacheEntry
from tests.conftest import AGENT_DIRS
from tests.support import drain


def _count(journal: Journal, table: type[Run] | type[Step] | type[EvalResult]) -> int:
    with journal.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_cleanup_deletes_only_what_is_past_retention(journal: Journal, tmp_path: Path) -> None:
    settings = load_settings(
        database_url=journal.url, agents_dir=AGENT_DIRS, data_dir=tmp_path, retention_days=30
    )
    rt = open_runtime(settings)
    old, recent = (rt.create_run("research-report", "Research report: heat pumps") for _ in "ab")
    for run in (old, recent):
        drain(rt, run.id)
    live = rt.create_run("research-report", "Research report: batteries")
    long_ago = utcnow() - timedelta(days=31)
    with journal.engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == old.id).values(finished_at=long_ago))
        connection.execute(update(Run).where(Run.id == live.id).values(created_at=long_ago))
        for eval_id, created in (("old-eval", long_ago), ("new-eval", utcnow())):
            connection.execute(
                insert(EvalResult).values(
                    id=eval_id,
                    agent="research-report",
                    agent_version="v",
                    dataset_hash="h",
                    models={},
                    k=1,
                    tenant="evals",
                    admin=False,
                    metrics={},
                    cases={},
                    created_at=created,
                )
            )
        connection.execute(
            insert(LLMCacheEntry).values(
                key="k" * 64, tenant="t", deployment="openai:m", reply={}, created_at=long_ago
            )
        )
    old_steps = len(journal.steps(old.id))
    report = cleanup(settings)
    assert (report.runs, report.steps, report.eval_results) == (1, old_steps, 1)
    assert report.cached_answers == 1  # older than the 7-day TTL
    with journal.engine.connect() as connection:
        runs = set(connection.execute(select(Run.id)).scalars())
        evals = list(connection.execute(select(EvalResult.id)).scalars())
    assert runs == {recent.id, live.id}
    assert evals == ["new-eval"]
    assert journal.get_run(live.id).status == RunStatus.QUEUED
    assert cleanup(settings).runs == 0
