"""Tracing, metrics and exporter choice in process: approvals stay one trace, metrics reach a
real OTLP receiver, and with exporters off nothing is added to a step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.bootstrap import open_runtime
from orchestration.config import Settings, load_settings
from orchestration.errors import ConfigError
from orchestration.journal import Journal
from orchestration.journal.tables import RunStatus, StepKind
from orchestration.observability import root_span_id_for, trace_id_for, traceparent_for
from orchestration.observability._exporters import chosen
from orchestration.observability._metrics import meter_provider_for, shutdown
from orchestration.observability._redaction import redactor_for
from orchestration.observability._tracing import provider_for
from orchestration.observability._tracing import shutdown as tracing_shutdown
from orchestration.observability.content import sampled
from orchestration.reducer import loop
from orchestration.reducer._heartbeat import HeartbeatMiddleware
from tests.conftest import AGENT_DIRS
from tests.llm_server import FakeLLM, Fault
from tests.otlp_receiver import OtlpReceiver
from tests.support import drain, run_cli


def stop_tracing(settings: Settings) -> None:
    """Export what the tracer provider of ``settings`` holds and stop it."""
    tracing_shutdown(settings.observability, redactor_for(settings))


def stop_metrics(settings: Settings) -> None:
    """Export what the meter provider of ``settings`` holds and stop it."""
    shutdown(settings.observability)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.endpoint)
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.stop()


def _settings(journal: Journal, tmp_path: Path, **extra: object) -> Settings:
    return load_settings(
        database_url=journal.url, agents_dir=AGENT_DIRS, data_dir=tmp_path, **extra
    )


def test_a_run_waiting_for_approval_stays_one_trace(
    journal: Journal, tmp_path: Path, receiver: OtlpReceiver
) -> None:
    settings = _settings(journal, tmp_path, trace_exporter="otlp_http")
    rt = open_runtime(settings)
    run = rt.create_run("toolbox", 'CALL guarded_effect {"label": "approve-me"}')
    assert run.trace_id == trace_id_for(run.id)
    drain(rt, run.id)
    waiting = rt.journal.get_run(run.id)
    assert waiting.status == RunStatus.WAITING_FOR_APPROVAL
    (gate,) = [s for s in rt.journal.steps(run.id) if s.kind == StepKind.APPROVAL]
    # A person decides later, in another process: a fresh runtime, the same trace.
    later_settings = _settings(journal, tmp_path, trace_exporter="otlp_http")
    later = open_runtime(later_settings)
    plan = loop.decide(later, run.id, gate.seq, approved=True, reviewer="ops")
    assert plan is not None
    drain(later, run.id, plan)
    assert later.journal.get_run(run.id).status == RunStatus.SUCCEEDED
    for each in (settings, later_settings):
        assert provider_for(each.observability, redactor_for(each)) is not None
        stop_tracing(each)  # exports what is left
    spans = receiver.wait_for(lambda got: any(s.parent_id == "" for s in got), 10)
    assert {s.trace_id for s in spans} == {run.trace_id}
    (root,) = [s for s in spans if s.parent_id == ""]
    assert root.span_id == root_span_id_for(run.id)
    names = {s.name for s in spans}
    assert {"await_approval guarded_effect", "execute_tool guarded_effect"} <= names
    (parked,) = [s for s in spans if s.name == "await_approval guarded_effect"]
    assert [name for name, _ in parked.events] == ["chordline.approval.requested"]
    assert root.start_ns <= min(s.start_ns for s in spans)
    assert root.end_ns >= max(s.end_ns for s in spans)


def test_metrics_reach_the_collector(
    journal: Journal, tmp_path: Path, receiver: OtlpReceiver
) -> None:
    settings = _settings(journal, tmp_path, metrics_exporter="otlp_http")
    rt = open_runtime(settings)
    run = rt.create_run("toolbox", 'CALL explode {}\nCALL sleep_read {"seconds": 0}')
    drain(rt, run.id)
    assert meter_provider_for(settings.observability) is not None
    stop_metrics(settings)  # exports what is left
    text = "\n".join(receiver.raw)
    for name in (
        "chordline.step.duration",
        "chordline.queue.wait",
        "gen_ai.client.token.usage",
        "chordline.tool.errors",
        "chordline.runs",
    ):
        assert f'name: "{name}"' in text, name
    assert 'string_value: "toolbox"' in text


def test_with_exporters_off_a_step_gets_no_extra_middleware(
    journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    rt = open_runtime(_settings(journal, tmp_path))
    kinds = [type(m) for m in rt.middleware.middlewares]
    assert not [k for k in kinds if k.__module__.startswith("orchestration.observability")]
    assert kinds[-1] is HeartbeatMiddleware


def test_the_standard_otel_variables_choose_the_exporter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", raising=False)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert chosen("", "traces") == "otlp_grpc"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    assert chosen("", "traces") == "otlp_http"
    assert chosen("console", "traces") == "console"  # Chordline's setting wins
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert chosen("console", "traces") == "none"
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER=zipkin"):
        chosen("", "traces")


def test_trace_context_is_derived_the_same_everywhere() -> None:
    run_id = "550e8400-e29b-41d4-a716-446655440000"
    assert trace_id_for(run_id) == "550e8400e29b41d4a716446655440000"
    assert len(trace_id_for("not-a-uuid")) == 32
    assert traceparent_for(run_id) == f"00-{trace_id_for(run_id)}-{root_span_id_for(run_id)}-01"
    share = sum(sampled(f"run-{i}", 0.25) for i in range(2000)) / 2000
    assert 0.2 < share < 0.3
    assert not sampled(run_id, 0)


def test_status_shows_the_trace_id(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, agents_dir=AGENT_DIRS)
    rt = open_runtime(settings)
    rt.journal.upgrade()
    run = rt.create_run("toolbox", 'CALL sleep_read {"seconds": 0}')
    drain(rt, run.id)
    env = {"CHORDLINE_DATA_DIR": str(tmp_path), "CHORDLINE_AGENTS_DIR": AGENT_DIRS}
    done = run_cli("status", run.id, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"trace {trace_id_for(run.id)}" in done.stdout


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("CHORDLINE_ALERT_WEBHOOK_URL", "ftp://hooks/T0SECRETTOKEN", "must start with http"),
        ("CHORDLINE_FLOWER_BASIC_AUTH", "adminT0SECRETTOKEN", "each entry must be user:password"),
        ("CHORDLINE_TRACE_EXPORTER", "jaeger", "CHORDLINE_TRACE_EXPORTER=jaeger is invalid"),
        ("OTEL_TRACES_EXPORTER", "zipkin", "OTEL_TRACES_EXPORTER=zipkin is not an exporter"),
    ],
)
def test_bad_settings_name_the_variable_and_hide_secrets(
    tmp_path: Path, variable: str, value: str, fragment: str
) -> None:
    env = {"CHORDLINE_DATA_DIR": str(tmp_path), "CHORDLINE_AGENTS_DIR": AGENT_DIRS, variable: value}
    done = run_cli("submit", "toolbox", "hi", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert fragment in done.stderr and "Traceback" not in done.stderr
    assert "T0SECRETTOKEN" not in done.stderr


def test_an_open_breaker_and_the_fallback_show_in_spans_and_metrics(
    journal: Journal, tmp_path: Path, receiver: OtlpReceiver, fake_llm: FakeLLM
) -> None:
    keys = {k.removeprefix("CHORDLINE_").lower(): v for k, v in fake_llm.env().items()}
    settings = _settings(
        journal,
        tmp_path,
        trace_exporter="otlp_http",
        metrics_exporter="otlp_http",
        llm_provider="anthropic:claude-haiku-4-5-20251001",
        llm_fallbacks="openai:gpt-5-mini-2025-08-07",
        llm_max_attempts=1,
        breaker_fail_max=1,
        breaker_reset_seconds=600,
        **keys,
    )
    fake_llm.fail_always("anthropic", Fault("status", 529))
    rt = open_runtime(settings)
    run = rt.create_run("toolbox", 'CALL sleep_read {"seconds": 0}')
    drain(rt, run.id)
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED
    stop_tracing(settings)
    stop_metrics(settings)
    spans = receiver.wait_for(lambda got: any(s.parent_id == "" for s in got), 10)
    primary = [s for s in spans if s.name == "chat claude-haiku-4-5-20251001"]
    # Turn 1 tried the primary (529, which opened its breaker); turn 3 passed it over.
    tried, passed_over = primary
    assert tried.attributes["error.type"] == "529"
    assert passed_over.attributes["error.type"] == "skipped"
    assert [name for name, _ in passed_over.events] == ["chordline.breaker.open"]
    answers = [s for s in spans if s.name == "chat gpt-5-mini-2025-08-07"]
    assert len(answers) == 2 and all(s.attributes["chordline.fallback"] for s in answers)
    metrics = "\n".join(receiver.raw)
    assert 'name: "chordline.fallbacks"' in metrics
    assert 'name: "chordline.breaker.open"' in metrics


def test_spans_reach_an_otlp_grpc_collector(
    journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = OtlpReceiver().start_grpc()
    try:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.port}")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
        settings = _settings(journal, tmp_path)  # no Chordline setting: the OTEL ones decide
        rt = open_runtime(settings)
        run = rt.create_run("toolbox", 'CALL sleep_read {"seconds": 0}')
        drain(rt, run.id)
        stop_tracing(settings)
        spans = server.wait_for(lambda got: any(s.parent_id == "" for s in got), 10)
        assert {s.trace_id for s in spans} == {run.trace_id}
        assert "execute_tool sleep_read" in {s.name for s in spans}
    finally:
        server.stop()
