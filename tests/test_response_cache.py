"""The LLM response cache: a step middleware answering identical requests once, through the
official SDK against the local provider server; errors are never cached; it can be turned off;
an eval's trials keep samples of their own and a repeated eval pays nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.evals.runner import EvalOptions, run_eval
from orchestration.journal import Journal
from orchestration.journal.tables import RunStatus, StepKind
from orchestration.llm.tables import LLMCacheEntry
from orchestration.reducer.response_cache import ResponseCacheMiddleware
from orchestration.runtime import Runtime
from tests.conftest import AGENT_DIRS
from tests.llm_server import FakeLLM, Fault
from tests.support import drain

REPORT = "Research report: heat pumps in cold climates"


def _runtime(journal: Journal, tmp_path: Path, fake: FakeLLM, **overrides: Any) -> Runtime:
    env = {k.removeprefix("CHORDLINE_").lower(): v for k, v in fake.env().items()}
    settings = load_settings(
        **(
            {
                "database_url": journal.url,
                "agents_dir": AGENT_DIRS,
                "data_dir": tmp_path,
                "llm_provider": "openai",
                "llm_retry_base_seconds": 0.01,
                "llm_cache": True,
            }
            | env
            | overrides
        )
    )
    return open_runtime(settings)


def _report(rt: Runtime, tenant: str = "acme") -> tuple[str, list[Any]]:
    run = rt.create_run("research-report", REPORT, tenant=tenant)
    drain(rt, run.id)
    done = rt.journal.get_run(run.id)
    assert done.status == RunStatus.SUCCEEDED, done.error
    return done.output or "", [s for s in rt.journal.steps(run.id) if s.kind == StepKind.LLM]


def _entries(journal: Journal) -> int:
    with journal.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(LLMCacheEntry)).scalar_one())


def test_a_repeated_request_is_answered_from_the_cache_for_free(
    journal: Journal, tmp_path: Path, fake_llm: FakeLLM
) -> None:
    rt = _runtime(journal, tmp_path, fake_llm)
    assert any(isinstance(m, ResponseCacheMiddleware) for m in rt.middleware.middlewares)
    first_output, first = _report(rt)
    asked = len(fake_llm.calls("openai"))
    assert asked == len(first) == _entries(journal)
    assert all(s.cost_usd and s.cost_usd > 0 for s in first)
    again_output, again = _report(rt)
    assert len(fake_llm.calls("openai")) == asked  # the provider was not asked again
    assert again_output == first_output
    for step in again:
        assert step.deployment == first[0].deployment
        assert step.input_tokens == 0 and step.output_tokens == 0 and step.cost_usd == 0
        assert step.result is not None and step.result.attempts == ()
    # Another tenant's identical conversation is its own: it asks the provider.
    _report(rt, tenant="globex")
    assert len(fake_llm.calls("openai")) == 2 * asked


def test_errors_are_never_cached(journal: Journal, tmp_path: Path, fake_llm: FakeLLM) -> None:
    rt = _runtime(journal, tmp_path, fake_llm, llm_max_attempts=1)
    fake_llm.fail_next("openai", Fault("status", 500))
    run = rt.create_run("research-report", REPORT, tenant="acme")
    drain(rt, run.id)
    assert rt.journal.get_run(run.id).status == RunStatus.FAILED
    assert _entries(journal) == 0
    before = len(fake_llm.calls("openai"))
    _report(rt)
    assert len(fake_llm.calls("openai")) > before


def test_the_cache_can_be_turned_off(journal: Journal, tmp_path: Path, fake_llm: FakeLLM) -> None:
    rt = _runtime(journal, tmp_path, fake_llm, llm_cache=False)
    assert not any(isinstance(m, ResponseCacheMiddleware) for m in rt.middleware.middlewares)
    _, first = _report(rt)
    _, again = _report(rt)
    assert len(fake_llm.calls("openai")) == len(first) + len(again)
    assert all(s.cost_usd and s.cost_usd > 0 for s in again)
    assert _entries(journal) == 0


def test_trials_of_one_eval_stay_independent_and_a_repeated_eval_is_free(
    journal: Journal, tmp_path: Path, fake_llm: FakeLLM
) -> None:
    evals = tmp_path / "evals" / "research-report"
    evals.mkdir(parents=True)
    case = {"id": "heat", "input": REPORT, "output": {"contains": ["Energy & Buildings"]}}
    (evals / "cases.jsonl").write_text(json.dumps(case) + "\n")
    rt = _runtime(journal, tmp_path, fake_llm, evals_dir=tmp_path / "evals")
    options = EvalOptions(k=2, concurrency=2, mode="inprocess")
    first = run_eval(rt, "research-report", options)
    asked = len(fake_llm.calls("openai"))
    turns = [[s for s in journal.steps(t.run_id) if s.kind == StepKind.LLM] for t in first.trials]
    # Each trial asked the provider itself: two samples, not one answer twice.
    assert asked == sum(len(t) for t in turns) and all(turns)
    assert [journal.get_run(t.run_id).tenant for t in first.trials] == ["evals", "evals~2"]
    assert first.overall.pass_hat_k == 1.0 and first.overall.cost_per_case
    again = run_eval(rt, "research-report", options)
    assert len(fake_llm.calls("openai")) == asked  # the repeat paid nothing
    assert again.overall.pass_hat_k == 1.0 and again.overall.cost_per_case == 0.0
