"""The official OpenAI and Anthropic SDKs against a local server: answers, faults, retries,
fallbacks, budgets, drift and malformed tool calls, driven in-process (no broker)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.errors import ConfigError
from orchestration.journal import Journal
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.reducer import loop
from orchestration.runtime import Limits, Runtime
from tests.conftest import AGENT_DIRS
from tests.llm_server import VALID_KEY, FakeLLM, Fault
from tests.support import ROOT, drain

MODELS = {"openai": "gpt-5-mini-2025-08-07", "anthropic": "claude-haiku-4-5-20251001"}
REFUND = "I am jane.doe@example.com; order ORD-1042 arrived cracked, refund please"
REPORT = "Research report: heat pumps in cold climates"


def _runtime(
    tmp_path: Path, fake: FakeLLM, journal: Journal | None = None, **overrides: Any
) -> Runtime:
    env = {k.removeprefix("CHORDLINE_").lower(): v for k, v in fake.env().items()}
    defaults: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "agents_dir": AGENT_DIRS,
        "llm_retry_base_seconds": 0.01,
        "llm_retry_max_seconds": 5,
        "llm_timeout_seconds": 2,
        "database_url": journal.url if journal else f"sqlite:///{tmp_path / 'journal.sqlite3'}",
    }
    settings = load_settings(**(defaults | env | overrides))
    rt = open_runtime(settings)
    rt.journal.upgrade()
    return rt


def _llm_steps(rt: Runtime, run_id: str) -> list[StepRecord]:
    return [s for s in rt.journal.steps(run_id) if s.kind == StepKind.LLM]


def _run(rt: Runtime, agent: str, text: str, **kwargs: Any) -> RunRecord:
    run = rt.create_run(agent, text, **kwargs)
    drain(rt, run.id)
    return rt.journal.get_run(run.id)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_example_agents_complete_through_the_official_sdk(
    provider: str, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    rt = _runtime(tmp_path, fake_llm, llm_provider=provider)
    report = _run(rt, "research-report", REPORT)
    assert report.status == RunStatus.SUCCEEDED, report.error
    assert "Field performance of air-source heat pumps below -15 C" in (report.output or "")
    triage = rt.create_run("support-triage", REFUND)
    drain(rt, triage.id)
    (waiting,) = rt.journal.waiting_approvals(triage.id)
    drain(rt, triage.id, loop.decide(rt, triage.id, waiting.seq, approved=True, reviewer="t"))
    triage = rt.journal.get_run(triage.id)
    assert triage.status == RunStatus.SUCCEEDED, triage.error
    assert "refund of $1249.00 for ORD-1042 issued" in (triage.output or "")
    for run in (report, triage):
        steps = [s for s in _llm_steps(rt, run.id) if s.status == StepStatus.SUCCEEDED]
        assert len(steps) >= 2
        for step in steps:
            assert step.deployment == f"{provider}:{MODELS[provider]}"
            assert step.input_tokens > 0 and step.output_tokens > 0
            assert step.cost_usd is not None and step.cost_usd > 0
            assert step.requested_model == step.model == MODELS[provider]
            assert step.result is not None and step.result.drift is False
        # From the second turn on the server reports a warm prompt cache, and it is recorded.
        assert steps[-1].result is not None and steps[-1].result.reply.usage.cached_tokens > 0
        assert run.cost_usd == sum(s.cost_usd or 0 for s in steps)
    seen = fake_llm.calls(provider)  # type: ignore[arg-type]
    assert all(s.body["model"] == MODELS[provider] for s in seen)
    # Multi-turn tool results went back in the provider's own format.
    last = seen[-1].body["messages"]
    if provider == "openai":
        assert last[0] == {"role": "system", "content": last[0]["content"]}
        assert any(m["role"] == "tool" for m in last)
    else:
        assert seen[-1].body["system"]
        blocks = [b for m in last for b in m["content"] if m["role"] == "user"]
        assert any(b["type"] == "tool_result" for b in blocks)


def test_401_fails_fast_with_the_fix_and_no_retries(fake_llm: FakeLLM, tmp_path: Path) -> None:
    rt = _runtime(tmp_path, fake_llm, llm_provider="openai", openai_api_key="sk-wrong")
    run = _run(rt, "research-report", REPORT)
    assert run.status == RunStatus.FAILED
    assert run.error is not None
    assert "HTTP 401" in run.error and "API key was rejected" in run.error
    assert "Fix: set CHORDLINE_OPENAI_API_KEY" in run.error
    assert "sk-wrong" not in run.error
    assert len(fake_llm.calls("openai")) == 1
    (step,) = _llm_steps(rt, run.id)
    assert step.status == StepStatus.FAILED
    assert step.result is not None
    assert [a.outcome for a in step.result.attempts] == ["failed"]


@pytest.mark.parametrize(
    ("status", "phrase"),
    [(400, "invalid"), (404, "unknown model"), (403, "may not use"), (422, "unprocessable")],
)
def test_refusals_are_never_retried(
    status: int, phrase: str, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    rt = _runtime(tmp_path, fake_llm, llm_provider="anthropic")
    fake_llm.fail_always("anthropic", Fault("status", status))
    run = _run(rt, "research-report", REPORT)
    assert run.status == RunStatus.FAILED
    assert run.error is not None and phrase in run.error and "Fix:" in run.error
    assert len(fake_llm.calls("anthropic")) == 1


def test_429_with_retry_after_1_waits_the_second_it_was_told_and_succeeds(
    fake_llm: FakeLLM, tmp_path: Path
) -> None:
    rt = _runtime(tmp_path, fake_llm, llm_provider="openai")
    fake_llm.fail_next("openai", Fault("status", 429, {"retry-after": "1"}))
    run = rt.create_run("research-report", REPORT)
    loop.run_turn(rt, run.id, 1, "t")
    first, second = fake_llm.calls("openai")
    # The server saw the retry no sooner than it asked (a busy machine only makes it later).
    assert second.at - first.at >= 1.0
    step = rt.journal.step(run.id, 1)
    assert step.status == StepStatus.SUCCEEDED
    assert step.result is not None
    attempts = step.result.attempts
    assert [(a.outcome, a.status) for a in attempts] == [("retry", 429), (("ok", None))]
    # The wait chosen is the header's second, not the 0.01 s backoff nor a longer one.
    assert attempts[0].waited_s == 1.0
    assert step.attempt == 1  # one claim of one step: the retry is an attempt inside it


@pytest.mark.parametrize(
    ("api", "fault", "message"),
    [
        ("openai", Fault("status", 500), "HTTP 500"),
        ("anthropic", Fault("status", 529), "HTTP 529 (Overloaded)"),
        ("openai", Fault("status", 503), "HTTP 503"),
        ("anthropic", Fault("hang"), "no answer within the timeout"),
        ("openai", Fault("drop"), "connection failed"),
        ("anthropic", Fault("drop"), "connection failed"),
    ],
)
def test_transient_faults_are_retried_as_attempts_of_the_same_step(
    api: str, fault: Fault, message: str, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    # A timeout short enough to keep the test quick, long enough for a loaded CI machine.
    rt = _runtime(tmp_path, fake_llm, llm_provider=api, llm_timeout_seconds=1.0)
    fake_llm.fail_next(api, fault, times=2)  # type: ignore[arg-type]
    run = _run(rt, "research-report", REPORT)
    assert run.status == RunStatus.SUCCEEDED, run.error
    first = rt.journal.step(run.id, 1)
    assert first.result is not None
    attempts = first.result.attempts
    assert [a.outcome for a in attempts] == ["retry", "retry", "ok"]
    assert all(message in (a.error or "") for a in attempts[:2]), attempts
    # The same journal: one LLM step per turn, however many attempts it took.
    assert [s.seq for s in _llm_steps(rt, run.id)] == [1, 5]


def test_a_primary_down_falls_back_and_its_breaker_opens(fake_llm: FakeLLM, tmp_path: Path) -> None:
    rt = _runtime(
        tmp_path,
        fake_llm,
        llm_provider=f"anthropic:{MODELS['anthropic']}",
        llm_fallbacks=f"openai:{MODELS['openai']},scripted,cache",
        llm_max_attempts=2,
        breaker_fail_max=3,
    )
    fake_llm.fail_always("anthropic", Fault("status", 529))
    run = _run(rt, "research-report", REPORT)
    assert run.status == RunStatus.SUCCEEDED, run.error
    first, second = _llm_steps(rt, run.id)
    assert first.deployment == second.deployment == f"openai:{MODELS['openai']}"
    assert first.result is not None and second.result is not None
    primary = f"anthropic:{MODELS['anthropic']}"
    assert [s.deployment for s in first.result.skipped] == [primary]
    assert "HTTP 529" in first.result.skipped[0].reason
    # Turn 1: two failed attempts; turn 2: the third failure opens the breaker, then skipped.
    assert [a.outcome for a in first.result.attempts] == ["retry", "failed", "ok"]
    assert second.result.skipped[0].reason.startswith("circuit open since")
    assert len(fake_llm.calls("anthropic")) == 3
    again = _run(rt, "research-report", REPORT + " again")
    steps = _llm_steps(rt, again.id)
    assert all(s.result and s.result.skipped[0].reason.startswith("circuit open") for s in steps)
    assert len(fake_llm.calls("anthropic")) == 3  # an open breaker skips at once


def test_the_cache_answers_when_every_network_deployment_is_down(
    fake_llm: FakeLLM, tmp_path: Path, journal: Journal
) -> None:
    rt = _runtime(
        tmp_path,
        fake_llm,
        journal,
        llm_provider=f"openai:{MODELS['openai']}",
        llm_fallbacks="cache",
        llm_max_attempts=1,
    )
    good = _run(rt, "research-report", REPORT)
    assert good.status == RunStatus.SUCCEEDED
    fake_llm.fail_always("openai", Fault("status", 500))
    replay = _run(rt, "research-report", REPORT)
    assert replay.status == RunStatus.SUCCEEDED, replay.error
    assert replay.output == good.output
    for step in _llm_steps(rt, replay.id):
        assert step.deployment == "cache" and step.cost_usd == 0
    # Another tenant never gets this tenant's cached answers.
    other = _run(rt, "research-report", REPORT, tenant="globex")
    assert other.status == RunStatus.FAILED
    assert other.error is not None and "cache: no earlier answer" in other.error
    assert "Fix:" in other.error


def test_a_budget_of_a_tenth_of_a_cent_stops_before_the_call_that_would_pass_it(
    fake_llm: FakeLLM, tmp_path: Path
) -> None:
    rt = _runtime(tmp_path, fake_llm, llm_provider="openai", llm_max_output_tokens=256)
    run = _run(rt, "counter", "tick 40 times", limits=Limits(max_usd=Decimal("0.001")))
    assert run.status == RunStatus.BUDGET_EXCEEDED
    assert run.error is not None and run.error.startswith("max_usd=0.001: $")
    assert run.cost_usd is not None and run.cost_usd <= Decimal("0.001")
    steps = _llm_steps(rt, run.id)
    answered = [s for s in steps if s.status == StepStatus.SUCCEEDED]
    assert len(answered) >= 2  # it spent some, then stopped before passing the cap
    assert steps[-1].status == StepStatus.SKIPPED
    assert len(fake_llm.calls("openai")) == len(answered)  # the stopping call was never made
    figures = re.fullmatch(r"max_usd=0.001: \$(\S+) spent \+ ~\$(\S+) for this call", run.error)
    assert figures is not None, run.error
    spent, estimate = Decimal(figures[1]), Decimal(figures[2])
    assert spent == run.cost_usd and spent + estimate > Decimal("0.001")


def test_tenant_daily_budget_holds_across_runs(
    fake_llm: FakeLLM, tmp_path: Path, journal: Journal
) -> None:
    rt = _runtime(
        tmp_path,
        fake_llm,
        journal,
        llm_provider="openai",
        llm_max_output_tokens=256,
        tenant_daily_usd=Decimal("1"),
        tenant_daily_usd_overrides="acme=0.004",
    )
    runs = [_run(rt, "research-report", REPORT, tenant="acme")]
    assert runs[0].status == RunStatus.SUCCEEDED, runs[0].error
    while runs[-1].status == RunStatus.SUCCEEDED and len(runs) < 8:
        runs.append(_run(rt, "research-report", REPORT, tenant="acme"))
    stopped = runs[-1]
    assert stopped.status == RunStatus.BUDGET_EXCEEDED, [r.status for r in runs]
    assert stopped.error is not None
    assert stopped.error.startswith("tenant acme daily budget $0.004: $")
    midnight = runs[0].created_at.replace(hour=0, minute=0, second=0, microsecond=0)
    assert rt.journal.tenant_spend_since("acme", midnight) <= Decimal("0.004")
    assert _run(rt, "research-report", REPORT, tenant="globex").status == RunStatus.SUCCEEDED


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_malformed_arguments_go_back_to_the_model_and_are_corrected(
    provider: str, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    rt = _runtime(tmp_path, fake_llm, llm_provider=provider)
    fake_llm.fail_next(provider, Fault("malformed"))  # type: ignore[arg-type]
    run = _run(rt, "research-report", REPORT)
    assert run.status == RunStatus.SUCCEEDED, run.error
    failed = [s for s in rt.journal.steps(run.id) if s.status == StepStatus.FAILED]
    assert len(failed) == 1 and failed[0].error is not None
    assert failed[0].error.startswith(f"arguments for {failed[0].name} are not valid")
    # The next request carried the compact error back to the model.
    body = json.dumps(fake_llm.calls(provider)[1].body)  # type: ignore[arg-type]
    assert f"arguments for {failed[0].name} are not valid" in body


def test_malformed_arguments_every_turn_fail_the_run_after_the_cap(
    fake_llm: FakeLLM, tmp_path: Path
) -> None:
    rt = _runtime(tmp_path, fake_llm, llm_provider="openai", max_tool_errors=3)
    fake_llm.fail_always("openai", Fault("malformed"))
    run = _run(rt, "counter", "tick 10 times")
    assert run.status == RunStatus.FAILED
    assert run.error is not None
    assert run.error.startswith("3 consecutive turns whose tool calls all failed")
    tools = [s for s in rt.journal.steps(run.id) if s.kind == StepKind.TOOL]
    assert [s.status for s in tools] == [StepStatus.FAILED] * 3
    assert all(s.result is None for s in tools)  # the tool never ran on unvalidated arguments


def test_a_different_returned_model_is_recorded_as_drift(fake_llm: FakeLLM, tmp_path: Path) -> None:
    rt = _runtime(tmp_path, fake_llm, llm_provider="openai")
    fake_llm.fail_next("openai", Fault("model", model="gpt-4o-mini-2024-09-30"))
    run = _run(rt, "research-report", REPORT)
    first, second = _llm_steps(rt, run.id)
    assert first.drift and not second.drift
    assert (first.requested_model, first.model) == (MODELS["openai"], "gpt-4o-mini-2024-09-30")
    assert first.result is not None and first.result.drift is True
    # The drifted model has no price: its cost is unknown, never a silent 0.
    assert first.cost_usd is None
    assert rt.journal.get_run(run.id).cost_usd is None


def test_floating_aliases_are_refused_unless_allowed(fake_llm: FakeLLM, tmp_path: Path) -> None:
    strict = _runtime(tmp_path, fake_llm, llm_provider="openai:gpt-5-mini")
    with pytest.raises(ConfigError, match="openai:gpt-5-mini is an alias without a version date"):
        strict.create_run("research-report", REPORT)
    dev = _runtime(tmp_path, fake_llm, llm_provider="openai:gpt-5-mini", allow_model_aliases=True)
    assert _run(dev, "research-report", REPORT).status == RunStatus.SUCCEEDED
    # A run submitted while aliases were allowed fails cleanly on a worker that refuses them.
    queued = dev.create_run("research-report", REPORT)
    drain(strict, queued.id)
    run = strict.journal.get_run(queued.id)
    assert run.status == RunStatus.FAILED
    assert run.error is not None and "CHORDLINE_ALLOW_MODEL_ALIASES=true" in run.error
    assert len(fake_llm.calls("openai")) == 2  # only the allowed run's two turns


def test_a_full_context_elides_old_tool_outputs_keeping_system_and_latest_turn(
    fake_llm: FakeLLM, tmp_path: Path
) -> None:
    rt = _runtime(
        tmp_path,
        fake_llm,
        llm_provider="openai",
        context_window_tokens=1600,
        llm_max_output_tokens=200,
    )
    run = _run(rt, "reader", "read 5 times")
    assert run.status == RunStatus.SUCCEEDED, run.error
    answered = _llm_steps(rt, run.id)
    flags = [bool(s.result and s.result.compacted) for s in answered]
    assert flags[:2] == [False, False] and flags[-1], flags
    last = answered[-1].result
    assert last is not None and last.compaction.elided_tool_outputs >= 1
    messages = fake_llm.calls("openai")[-1].body["messages"]
    assert messages[0]["role"] == "system" and messages[0]["content"].startswith("You are reader")
    assert messages[1] == {"role": "user", "content": "read 5 times"}
    tool_texts = [m["content"] for m in messages if m["role"] == "tool"]
    assert tool_texts[0].startswith("[output of read_page elided to fit the context window")
    assert "word96" in tool_texts[-1]  # the latest turn's result is whole


def test_the_sdks_own_environment_variables_are_honoured(
    fake_llm: FakeLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    rt = _runtime(
        tmp_path, fake_llm, llm_provider="openai", openai_api_key=None, openai_base_url=None
    )
    missing = _run(rt, "research-report", REPORT)
    assert missing.status == RunStatus.FAILED
    assert (
        missing.error
        == "openai: no API key. Fix: set CHORDLINE_OPENAI_API_KEY (or OPENAI_API_KEY)."
    )
    monkeypatch.setenv("OPENAI_API_KEY", VALID_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake_llm.url}/v1")
    rt = _runtime(
        tmp_path / "env", fake_llm, llm_provider="openai", openai_api_key=None, openai_base_url=None
    )
    assert _run(rt, "research-report", REPORT).status == RunStatus.SUCCEEDED
    assert fake_llm.calls("openai")


def test_a_provider_whose_sdk_is_not_installed_is_refused_naming_the_extra(
    tmp_path: Path,
) -> None:
    # The SDKs are extras: a process without openai (blocked here at the import system, the
    # edge of the world) refuses an OpenAI pin with the install command, before any run.
    script = (
        "import sys\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'openai':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Absent())\n"
        "from orchestration.cli import main\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    env |= {"CHORDLINE_DATA_DIR": str(tmp_path), "CHORDLINE_LLM_PROVIDER": "openai"}
    done = subprocess.run(
        [sys.executable, "-c", script, "submit", "research-report", "heat pumps"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs the openai SDK, which is not installed" in done.stderr
    assert "Fix: pip install 'chordline[openai]'" in done.stderr.replace("\n", " ")
