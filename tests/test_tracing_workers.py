"""One run, one trace: real workers export to a real OTLP receiver across a parallel fan-out,
a fallback and a worker killed mid-run; seeded personal data and secrets appear nowhere."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from orchestration.client import Client
from orchestration.config import Settings
from orchestration.journal.tables import RunStatus, StepStatus
from orchestration.observability import root_span_id_for, trace_id_for
from tests.llm_server import VALID_KEY, FakeLLM, Fault
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.support import Worker, WorkerPool

pytestmark = pytest.mark.slow

PRIMARY = "anthropic:claude-haiku-4-5-20251001"
FALLBACK = "openai:gpt-5-mini-2025-08-07"
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
API_KEY = "sk-proj-Zx81qLmN0pQrStUvWxYz42"
SEEDED = (EMAIL, CARD, "4111111111111111", API_KEY)
SCRIPT = (
    f"Customer {EMAIL} paid with {CARD}, key {API_KEY}.\n"
    # Two read-only calls that each wait for the other at one meeting point: they can only
    # both meet when they run at the same time, on the two workers.
    'CALL rendezvous {"label": "fan-out", "parties": 2, "within_s": 60}\n'
    'CALL rendezvous {"label": "fan-out", "parties": 2, "within_s": 60}\n'
    "\n"
    'CALL keyed_effect {"label": "traced", "seconds": 12}\n'
)
KEYED_SEQ = 5  # turn 1, two reads, turn 4, the keyed effect, turn 6


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    yield server
    server.stop()


def _wait_step(client: Client, run_id: str, attempt: int, timeout_s: float = 60) -> str | None:
    deadline = time.monotonic() + timeout_s
    while True:
        steps = client.runtime.journal.steps(run_id, after=KEYED_SEQ - 1, upto=KEYED_SEQ)
        if steps and steps[0].status == StepStatus.RUNNING and steps[0].attempt == attempt:
            return steps[0].lease_owner
        assert time.monotonic() < deadline, f"step {KEYED_SEQ}: {steps}"
        time.sleep(0.05)


def _reaches(span: ReceivedSpan, by_id: dict[str, ReceivedSpan], root: str) -> bool:
    """True when ``span``'s parents lead to the root span's id (the root itself is written
    when the run ends, so before that the chain ends at a child of that id)."""
    for _ in range(50):
        if root in (span.span_id, span.parent_id):
            return True
        parent = by_id.get(span.parent_id)
        if parent is None:
            return False
        span = parent
    return False


def test_a_run_is_one_connected_redacted_trace_across_fan_out_fallback_and_a_kill(
    service_env: dict[str, str],
    service_settings: Settings,
    workers: WorkerPool,
    fake_llm: FakeLLM,
    receiver: OtlpReceiver,
) -> None:
    env = (
        service_env
        | fake_llm.env()
        | {
            "CHORDLINE_LLM_PROVIDER": PRIMARY,
            "CHORDLINE_LLM_FALLBACKS": FALLBACK,
            "CHORDLINE_LLM_MAX_ATTEMPTS": "2",
            "CHORDLINE_LLM_RETRY_BASE_SECONDS": "0.01",
            "CHORDLINE_BREAKER_FAIL_MAX": "1000",
            "CHORDLINE_TRACE_EXPORTER": "otlp",
            "CHORDLINE_TRACE_CONTENT": "true",
            "CHORDLINE_TRACE_CONTENT_SAMPLE": "1",
            "CHORDLINE_LOG_FORMAT": "json",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_SERVICE_NAME": "chordline-test",
        }
    )
    fake_llm.fail_always("anthropic", Fault("status", 529))
    pool = [workers.start(env, concurrency=1), workers.start(env, concurrency=1)]
    client = Client(service_settings)
    run = client.submit("toolbox", SCRIPT)
    assert run.trace_id and len(run.trace_id) == 32

    root_id = root_span_id_for(run.id)

    def orphans(got: list[ReceivedSpan]) -> list[tuple[str, str]]:
        mine = [s for s in got if s.trace_id == run.trace_id]
        by_id = {s.span_id: s for s in mine}
        return [(s.name, s.parent_id) for s in mine if not _reaches(s, by_id, root_id)]

    def named(got: list[ReceivedSpan], name: str) -> int:
        return sum(s.name == name and s.trace_id == run.trace_id for s in got)

    holder_owner = _wait_step(client, run.id, attempt=1)
    (holder,) = [w for w in pool if w.owns(holder_owner)]
    # A process killed loses the spans it has not exported yet (one OTEL_BSP_SCHEDULE_DELAY):
    # kill the holder once what it finished before the keyed step (turns 1 and 4, the reads,
    # the publishes) has arrived whole, so that what the kill loses is the killed step alone.
    receiver.wait_for(
        lambda got: (
            named(got, "run/chordline.agent.turn") >= 2
            and named(got, "run/chordline.tool.call") >= 2
            and named(got, "apply_async/chordline.tool.call") >= 3
            and not orphans(got)
        ),
        30,
    )
    holder.kill()
    _wait_step(client, run.id, attempt=2)
    finished = client.wait(run.id, timeout_s=90)
    assert finished.status == RunStatus.SUCCEEDED, finished.error

    # A task's span ends after its children, so it may come in a later batch: poll until the
    # trace is whole (every span's parents reach the root) or the deadline says it never will.
    spans = receiver.wait_for(
        lambda got: (
            any(s.span_id == root_id for s in got)
            and sum(s.name.startswith("chat ") and s.trace_id == run.trace_id for s in got) >= 9
            and not orphans(got)
        ),
        30,
    )
    mine = [s for s in spans if s.trace_id == run.trace_id]

    # One root, the agent span, spanning the run, with the GenAI attributes.
    (root,) = [s for s in mine if s.name == "invoke_agent toolbox"]
    assert root.span_id == root_id and root.parent_id == ""
    assert root.service == "chordline-test"
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "toolbox"
    assert root.attributes["gen_ai.conversation.id"] == run.id
    assert root.attributes["gen_ai.agent.id"] == finished.agent_version
    assert root.attributes["gen_ai.usage.input_tokens"] == finished.input_tokens > 0

    # Celery's own messaging spans are in the same trace.
    assert any(s.name.startswith("run/chordline.") for s in mine), {s.name for s in mine}

    # The fan-out: the two calls met, so they ran at the same time, and their spans show it.
    met = [s.result for s in client.runtime.journal.steps(run.id) if s.name == "rendezvous"]
    assert [r.output["met"] if r else None for r in met] == [True, True], met
    reads = [s for s in mine if s.name == "execute_tool rendezvous"]
    assert len(reads) == 2
    first, second = sorted(reads, key=lambda s: s.start_ns)
    assert second.start_ns < first.end_ns, "the spans of calls that met do not overlap"
    assert {s.attributes["gen_ai.tool.call.id"] for s in reads} == {"call_1_0", "call_1_1"}

    _assert_fallbacks(mine)

    # The worker kill: the re-driven keyed step (attempt 2) joined the same trace.
    (keyed,) = [s for s in mine if s.name == "execute_tool keyed_effect"]
    assert keyed.attributes["chordline.step.attempt"] == 2

    _assert_nothing_seeded(receiver, pool, holder, run.id)


def _assert_fallbacks(mine: list[ReceivedSpan]) -> None:
    """Each turn shows the failed primary attempts, then the answering fallback."""
    chats = [s for s in mine if s.name.startswith("chat ")]
    failed = [s for s in chats if s.name == "chat claude-haiku-4-5-20251001"]
    answered = [s for s in chats if s.name == "chat gpt-5-mini-2025-08-07"]
    assert len(failed) == 6 and len(answered) == 3, [s.name for s in chats]
    assert all(s.status.get("code") == "STATUS_CODE_ERROR" for s in failed)
    for span in answered:
        assert span.attributes["gen_ai.provider.name"] == "openai"
        assert span.attributes["gen_ai.request.model"] == "gpt-5-mini-2025-08-07"
        assert span.attributes["gen_ai.response.model"]
        assert span.attributes["gen_ai.usage.output_tokens"] > 0
        assert span.attributes["gen_ai.response.finish_reasons"]
        assert span.attributes["chordline.fallback"] is True
        assert span.attributes["chordline.cost_usd"] > 0


def _assert_nothing_seeded(
    receiver: OtlpReceiver, pool: list[Worker], holder: Worker, run_id: str
) -> None:
    """Nothing seeded left the processes (spans, events, log lines); logs carry the run."""
    exported = "\n".join(receiver.raw)
    logs = "\n".join(w.output() for w in pool)
    for secret in (*SEEDED, VALID_KEY):
        assert secret not in exported, f"{secret!r} exported"
        assert secret not in logs, f"{secret!r} logged"
    assert "[email]" in exported and "[card]" in exported  # the text was recorded, redacted

    # JSON log lines carry the run's context.
    survivor = next(w for w in pool if w is not holder)
    lines = [json.loads(line) for line in survivor.output().splitlines() if line.startswith("{")]
    in_run = [line for line in lines if line.get("run_id") == run_id]
    assert lines and all("level" in line and "message" in line for line in lines)
    assert in_run, "no log line inside a step carried the run id"
    for line in in_run:
        assert line["trace_id"] == trace_id_for(run_id)
        assert line["agent"] == "toolbox" and line["tenant"] == "default"
        assert isinstance(line["step"], int) and len(line["span_id"]) == 16
