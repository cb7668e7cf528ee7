"""The approval webhook: a tool call that starts waiting for a person is POSTed to
``CHORDLINE_APPROVAL_WEBHOOK_URL`` once, signed, its arguments redacted, retried on 5xx and
connection errors, and never holds the run.

The receiver is a real HTTP server in this process (:mod:`tests.webhook_receiver`); the first
tests drive one try at a time in-process (as the worker's task does), the last ones run the
refund agent on real worker processes, Redis and PostgreSQL.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestration.bootstrap import open_runtime
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.journal import Journal
from orchestration.journal.approvals import (
    ApprovalDecision,
    ApprovalView,
    list_approvals,
    parse_approval_id,
)
from orchestration.journal.tables import RunStatus
from orchestration.observability import redactor_for
from orchestration.reducer import loop
from orchestration.runtime import Runtime
from orchestration.webhooks import (
    APPROVAL_WAITING,
    WEBHOOK_ATTEMPTS,
    DeliveryRecord,
    deliver_approval,
    delivery_of,
    retry_delay,
    sign,
)
from tests.conftest import AGENT_DIRS
from tests.services import free_port
from tests.support import WorkerPool, drain
from tests.webhook_receiver import Receiver

SECRET = "whsec-0123456789abcdef"
CONSOLE = "https://chordline.example.com/console"
REFUND = "jane.doe@example.com here: order ORD-1042 arrived cracked, please refund"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def _settings(journal: Journal, tmp_path: Path, url: str) -> Settings:
    return load_settings(
        database_url=journal.url,
        agents_dir=AGENT_DIRS,
        data_dir=tmp_path,
        lease_seconds=30,
        approval_webhook_url=SecretStr(url),
        approval_webhook_secret=SecretStr(SECRET),
        console_url=CONSOLE,
    )


def _waiting(rt: Runtime, label: str = "refund jane.doe@example.com") -> ApprovalView:
    run = rt.create_run("toolbox", f'CALL guarded_effect {{"label": "{label}"}}')
    drain(rt, run.id)
    (view,) = list_approvals(rt.journal, tenant=run.tenant, run_id=run.id)
    return view


def _try(settings: Settings, rt: Runtime, approval: str, sender: str = "task-1") -> str:
    tried = deliver_approval(
        settings.approvals,
        settings.api.console_base_url,
        rt.journal,
        redactor_for(settings),
        approval,
        sender=sender,
    )
    return tried.outcome


def _record(journal: Journal, approval: str) -> DeliveryRecord | None:
    return delivery_of(journal, *parse_approval_id(approval))


def test_a_waiting_approval_is_posted_once_signed_and_redacted(
    journal: Journal, tmp_path: Path, receiver: Receiver
) -> None:
    settings = _settings(journal, tmp_path, receiver.url())
    rt = open_runtime(settings)
    view = _waiting(rt)

    assert _try(settings, rt, view.id) == "delivered"
    (got,) = receiver.received
    assert got.path == "/hooks/T0SECRETTOKEN?sig=Q0SECRETQUERY"
    assert got.payload() == {
        "event": APPROVAL_WAITING,
        "approval_id": view.id,
        "run_id": view.run_id,
        "tenant": view.tenant,
        "agent": "toolbox",
        "tool": "guarded_effect",
        "arguments": {"label": "refund [email]"},
        "requested_at": view.requested_at.isoformat(),
        "link": f"{CONSOLE}/approvals#{view.id}",
    }
    assert got.headers["Idempotency-Key"] == got.headers["X-Chordline-Delivery"] == view.id
    assert got.headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, "sha256").hexdigest()
    assert hmac.compare_digest(got.headers["X-Chordline-Signature"], expected)
    assert sign(SECRET, got.body) == expected

    # Delivered is final: neither another task nor this one's message again sends it twice.
    assert _try(settings, rt, view.id, sender="task-2") == "skipped"
    assert _try(settings, rt, view.id) == "skipped"
    assert len(receiver.received) == 1
    record = _record(rt.journal, view.id)
    assert record is not None and (record.state, record.attempts) == ("delivered", 1)


def test_a_second_sender_sends_nothing_while_the_first_retries(
    journal: Journal, tmp_path: Path
) -> None:
    receiver = Receiver([500, 503]).start()
    try:
        settings = _settings(journal, tmp_path, receiver.url())
        rt = open_runtime(settings)
        view = _waiting(rt)
        assert _try(settings, rt, view.id) == "retry"
        assert _try(settings, rt, view.id, sender="task-2") == "skipped"
        assert _try(settings, rt, view.id) == "retry"
        assert _try(settings, rt, view.id) == "delivered"
        assert [r.status for r in receiver.received] == [500, 503, 200]
        assert {r.headers["Idempotency-Key"] for r in receiver.received} == {view.id}
        record = _record(rt.journal, view.id)
        assert record is not None and (record.state, record.attempts) == ("delivered", 3)
    finally:
        receiver.stop()


def test_a_refusal_is_not_retried_and_a_decided_approval_is_not_sent(
    journal: Journal, tmp_path: Path
) -> None:
    receiver = Receiver([400]).start()
    try:
        settings = _settings(journal, tmp_path, receiver.url())
        rt = open_runtime(settings)
        refused = _waiting(rt)
        assert _try(settings, rt, refused.id) == "failed"
        record = _record(rt.journal, refused.id)
        assert record is not None and record.state == "failed"
        assert record.last_error == f"POST to http://127.0.0.1:{receiver.port}: HTTP 400"

        decided = _waiting(rt)
        loop.decide_approval(rt, decided.id, ApprovalDecision(approved=True, reviewer="ann"))
        assert _try(settings, rt, decided.id) == "dropped"
        assert len(receiver.received) == 1
    finally:
        receiver.stop()


def test_an_unreachable_webhook_gives_up_after_its_tries_without_showing_its_secret(
    journal: Journal, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chordline.webhooks")
    url = f"https://user:P4SSWORD-SECRET@127.0.0.1:{free_port()}/hooks/T0SECRETTOKEN?k=Q0SECRET"
    settings = _settings(journal, tmp_path, url)
    rt = open_runtime(settings)
    view = _waiting(rt)
    outcomes = [_try(settings, rt, view.id) for _ in range(WEBHOOK_ATTEMPTS)]
    assert outcomes == ["retry"] * (WEBHOOK_ATTEMPTS - 1) + ["failed"]
    assert [retry_delay(n) for n in range(1, WEBHOOK_ATTEMPTS)] == [1.0, 2.0, 4.0, 8.0]
    record = _record(rt.journal, view.id)
    assert record is not None and (record.state, record.attempts) == ("failed", WEBHOOK_ATTEMPTS)
    assert record.last_error is not None and "ConnectionRefusedError" in record.last_error
    logged = caplog.text + (record.last_error or "")
    assert "not delivered after 5 tries" in caplog.text
    for secret in ("P4SSWORD", "T0SECRETTOKEN", "Q0SECRET", "user:"):
        assert secret not in logged
    # The run itself waits on, as it would with no webhook at all.
    assert rt.journal.get_run(view.run_id).status == RunStatus.WAITING_FOR_APPROVAL


# -- on real workers ----------------------------------------------------------------------------


def _hooked(service_env: dict[str, str], url: str) -> dict[str, str]:
    return service_env | {
        "CHORDLINE_APPROVAL_WEBHOOK_URL": url,
        "CHORDLINE_APPROVAL_WEBHOOK_SECRET": SECRET,
        "CHORDLINE_CONSOLE_URL": CONSOLE,
    }


def _refund_waits(client: Client) -> ApprovalView:
    run = client.submit("support-triage", REFUND)
    assert client.wait(run.id, timeout_s=90).status == RunStatus.WAITING_FOR_APPROVAL
    (view,) = list_approvals(client.runtime.journal, tenant=None, run_id=run.id)
    return view


def _until_record(journal: Journal, approval: str, done: Callable[[DeliveryRecord], bool]) -> None:
    # The delivery's row is in the journal; polled under a generous ceiling, as the run's is.
    deadline = time.monotonic() + 90
    while (record := _record(journal, approval)) is None or not done(record):
        assert time.monotonic() < deadline, f"the delivery did not get there: {record}"
        time.sleep(0.1)


def test_a_refund_that_starts_waiting_is_posted_once_by_the_workers(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    receiver = Receiver().start()
    try:
        workers.start(_hooked(service_env, receiver.url()), concurrency=2)
        client = Client(service_settings)
        view = _refund_waits(client)
        (got,) = receiver.wait_for(lambda got: len(got) >= 1)
        payload = got.payload()
        assert payload["event"] == APPROVAL_WAITING
        assert (payload["approval_id"], payload["run_id"]) == (view.id, view.run_id)
        assert (payload["agent"], payload["tool"]) == ("support-triage", "issue_refund")
        assert payload["link"] == f"{CONSOLE}/approvals#{view.id}"
        assert payload["arguments"]["order_id"] == "ORD-1042"
        assert "jane.doe@example.com" not in got.body.decode()
        assert got.headers["X-Chordline-Signature"] == sign(SECRET, got.body)

        client.decide(view.run_id, approved=True, reviewer="test")
        assert client.wait(view.run_id, timeout_s=60).status == RunStatus.SUCCEEDED
        record = _record(client.runtime.journal, view.id)
        assert record is not None and (record.state, record.attempts) == ("delivered", 1)
        assert len(receiver.received) == 1
    finally:
        receiver.stop()


def test_a_receiver_that_answers_500_twice_gets_it_on_the_third_try(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    receiver = Receiver([500, 500]).start()
    try:
        workers.start(_hooked(service_env, receiver.url()), concurrency=2)
        client = Client(service_settings)
        view = _refund_waits(client)
        got = receiver.wait_for(lambda got: any(r.status == 200 for r in got))
        assert [r.status for r in got] == [500, 500, 200]
        assert {r.headers["Idempotency-Key"] for r in got} == {view.id}
        assert {r.body for r in got} == {got[0].body}  # the same event, retried
        _until_record(client.runtime.journal, view.id, lambda r: r.state == "delivered")
        record = _record(client.runtime.journal, view.id)
        assert record is not None and record.attempts == 3
        run = client.runtime.journal.get_run(view.run_id)
        assert run.status == RunStatus.WAITING_FOR_APPROVAL
    finally:
        receiver.stop()


def test_an_unreachable_webhook_leaves_the_run_to_run(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/T0SECRETTOKEN?k=Q0SECRET"
    worker = workers.start(_hooked(service_env, url), concurrency=2)
    client = Client(service_settings)
    view = _refund_waits(client)
    # It is being retried, and meanwhile the person decides and the run finishes.
    _until_record(client.runtime.journal, view.id, lambda r: r.attempts >= 2)
    client.decide(view.run_id, approved=True, reviewer="test")
    finished = client.wait(view.run_id, timeout_s=60)
    assert finished.status == RunStatus.SUCCEEDED
    assert (
        finished.output is not None and "refund of $1249.00 for ORD-1042 issued" in finished.output
    )
    logged = worker.output()
    assert f"approval webhook for {view.id}" in logged
    assert "T0SECRETTOKEN" not in logged and "Q0SECRET" not in logged
