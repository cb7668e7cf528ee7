"""Breakers shared through Redis by real worker processes, the SDKs against the local server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.errors import ProviderError
from orchestration.journal.tables import RunStatus, StepKind
from orchestration.llm import breakers
from orchestration.llm.breakers import BreakerBoard, CircuitOpenError, breaker_key
from orchestration.llm.deployments import Deployment
from tests.llm_server import VALID_KEY, FakeLLM, Fault
from tests.support import ROOT, WorkerPool

PRIMARY = Deployment("anthropic", "claude-haiku-4-5-20251001")
FALLBACK = Deployment("openai", "gpt-5-mini-2025-08-07")
REPORT = "Research report: heat pumps in cold climates"


def _settings(env: dict[str, str]) -> Settings:
    return load_settings(**{k.removeprefix("CHORDLINE_").lower(): v for k, v in env.items()})


def _check(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "check"],
        env={**clean, "COLUMNS": "200", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_primary_breaker_opens_in_redis_a_second_worker_skips_it_then_it_recovers(
    service_env: dict[str, str], workers: WorkerPool, fake_llm: FakeLLM
) -> None:
    env = (
        service_env
        | fake_llm.env()
        | {
            "CHORDLINE_LLM_PROVIDER": PRIMARY.name,
            "CHORDLINE_LLM_FALLBACKS": FALLBACK.name,
            "CHORDLINE_LLM_MAX_ATTEMPTS": "2",
            "CHORDLINE_LLM_RETRY_BASE_SECONDS": "0.01",
            "CHORDLINE_BREAKER_FAIL_MAX": "3",
            "CHORDLINE_BREAKER_RESET_SECONDS": "300",
        }
    )
    settings = _settings(env)
    client = Client(settings)
    key = breaker_key(PRIMARY, settings)
    store = redis.Redis.from_url(service_env["CHORDLINE_BROKER_URL"])
    fake_llm.fail_always("anthropic", Fault("status", 529))

    first_worker = workers.start(env, concurrency=1)
    run = client.wait(client.submit("research-report", REPORT).id, timeout_s=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    steps = [s for s in client.runtime.journal.steps(run.id) if s.kind == StepKind.LLM]
    assert {s.deployment for s in steps} == {FALLBACK.name}
    assert len(fake_llm.calls("anthropic")) == 3  # 2 attempts, then the third failure opened it
    # The state is in Redis, under the deployment's own namespace.
    assert store.get(f"chordline:breaker:{key}:pybreaker:state") == b"open"
    state = BreakerBoard(settings.llm, settings.redis_url).state(key)
    assert (state.state, state.shared) == ("open", True) and state.failures >= 3
    assert re.search(rf"{re.escape(key)}\W+open\b", _check(env)), "check shows no open breaker"
    first_worker.terminate()

    workers.start(env, concurrency=1)
    second = client.wait(client.submit("research-report", REPORT + ", again").id, timeout_s=60)
    assert second.status == RunStatus.SUCCEEDED, second.error
    for step in client.runtime.journal.steps(second.id):
        if step.kind == StepKind.LLM:
            assert step.deployment == FALLBACK.name
            assert step.result is not None
            (skip,) = step.result.skipped
            assert skip.deployment == PRIMARY.name
            assert skip.reason.startswith("circuit open since")
    assert len(fake_llm.calls("anthropic")) == 3  # the second worker never called the primary

    # Recovery: the primary answers again, and the reset timeout is over (moved back in Redis
    # rather than waited for). The next call is the trial; its success closes the breaker.
    fake_llm.fail_always("anthropic", None)
    store.set(f"chordline:breaker:{key}:pybreaker:opened_at", int(time.time()) - 3600)
    third = client.wait(client.submit("research-report", REPORT + ", once more").id, 60)
    assert third.status == RunStatus.SUCCEEDED, third.error
    answered = {
        s.deployment for s in client.runtime.journal.steps(third.id) if s.kind == StepKind.LLM
    }
    assert answered == {PRIMARY.name}
    assert store.get(f"chordline:breaker:{key}:pybreaker:state") == b"closed"
    assert BreakerBoard(settings.llm, settings.redis_url).state(key).state == "closed"


def test_check_lists_breakers_in_embedded_mode(tmp_path: Path, fake_llm: FakeLLM) -> None:
    env = fake_llm.env() | {
        "CHORDLINE_DATA_DIR": str(tmp_path),
        "CHORDLINE_LLM_FALLBACKS": f"{FALLBACK.name},scripted,cache",
    }
    out = _check(env)
    assert "in-process" in out
    assert re.search(rf"{re.escape(FALLBACK.name)}:[0-9a-f]{{8}}\W+closed\b", out), out
    assert VALID_KEY not in out and "CHORDLINE_OPENAI_API_KEY" in out


def _boards(redis_url: str, tmp_path: Path) -> tuple[Settings, BreakerBoard, BreakerBoard]:
    settings = load_settings(
        broker_url=redis_url, data_dir=tmp_path, breaker_fail_max=2, breaker_reset_seconds=300
    )
    return (
        settings,
        BreakerBoard(settings.llm, settings.redis_url),
        BreakerBoard(settings.llm, settings.redis_url),
    )


def _fail() -> None:
    raise ProviderError("HTTP 529 overloaded", retryable=True)


def test_a_quiet_breaker_reads_redis_once_per_window_and_writes_nothing(
    clean_redis: str, tmp_path: Path
) -> None:
    settings, board, _ = _boards(clean_redis, tmp_path)
    store = redis.Redis.from_url(clean_redis)
    breaker = board.breaker(breaker_key(PRIMARY, settings))
    breaker.call(lambda: "warm")  # the first read of the window

    def stats() -> tuple[int, int]:
        calls: dict[str, dict[str, int]] = store.info("commandstats")
        mget, set_ = (calls.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("mget", "set"))
        return mget, set_

    before = stats()
    answers = [breaker.call(lambda: "ok") for _ in range(200)]
    after = stats()
    assert answers == ["ok"] * 200
    # 200 calls inside one window: no read at all (at most one if the window just ran out),
    # and no write of a failure count that is already zero.
    assert after[0] - before[0] <= 1 and after[1] == before[1], (before, after)


def test_an_opening_by_another_worker_is_seen_after_the_window_and_own_failures_at_once(
    clean_redis: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(breakers, "CLOSED_FRESH_S", 0.2)
    settings, ours, theirs = _boards(clean_redis, tmp_path)
    key = breaker_key(PRIMARY, settings)
    assert ours.breaker(key).call(lambda: "ok") == "ok"  # now trusted closed for the window
    for _ in range(2):
        with pytest.raises((ProviderError, CircuitOpenError)):
            theirs.breaker(key).call(_fail)
    assert theirs.state(key).state == "open"
    deadline = time.monotonic() + 10
    while True:  # our worker learns of the opening once its window runs out
        try:
            ours.breaker(key).call(lambda: "ok")
        except CircuitOpenError:
            break
        assert time.monotonic() < deadline, "the other worker's opening never reached ours"
        time.sleep(0.02)  # the window runs out with time: look again shortly, not in a hot loop

    # A failure of this worker's own is never hidden by the window: two open the breaker.
    other = Deployment("anthropic", "claude-sonnet-4-5-20250929")
    own = breaker_key(other, settings)
    assert ours.breaker(own).call(lambda: "ok") == "ok"
    for _ in range(2):
        with pytest.raises((ProviderError, CircuitOpenError)):
            ours.breaker(own).call(_fail)
    with pytest.raises(CircuitOpenError):
        ours.breaker(own).call(lambda: "ok")
    assert theirs.state(own).state == "open"
