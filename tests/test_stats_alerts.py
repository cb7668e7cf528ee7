"""``chordline stats`` figures from the journal, and alerts fired to a test webhook."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from orchestration.bootstrap import open_runtime
from orchestration.config import Settings, load_settings
from orchestration.journal import Journal
from orchestration.journal.tables import Run, RunStatus, Step, utcnow
from orchestration.observability._redaction import redactor_for
from orchestration.observability.alerts import check_alerts, record_alert
from orchestration.observability.stats import agent_stats, parse_since, percentile
from orchestration.observability.tables import Alert
from tests.conftest import AGENT_DIRS
from tests.services import free_port, serve_http
from tests.support import WorkerPool, run_cli

ERROR = "tool explode raised RuntimeError: kaboom at step {}"


@dataclass
class Webhook:
    """A local HTTP receiver that answers 500 to the first ``failures`` POSTs."""

    failures: int = 1
    bodies: list[dict[str, Any]] = field(default_factory=list)
    tries: int = 0
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/T0SECRETTOKEN"

    def start(self) -> Webhook:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.tries += 1
                status = 500 if hook.tries <= hook.failures else 204
                if status == 204:
                    hook.bodies.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

        self._server = serve_http(Handler)
        self.port = self._server.server_address[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook().start()
    yield hook
    hook.stop()


def _seed(journal: Journal, tmp_path: Path) -> None:
    """Ten toolbox runs: 8 succeeded, 2 failed, latencies 1..10 s, steps 0.1..1.0 s, plus an
    old run outside the window."""
    rt = open_runtime(
        load_settings(database_url=journal.url, agents_dir=AGENT_DIRS, data_dir=tmp_path)
    )
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    base = max(now - timedelta(minutes=10), midnight + timedelta(seconds=1))
    runs = [rt.create_run("toolbox", f"run {i}") for i in range(1, 11)]
    old = rt.create_run("reader", "long ago")
    with journal.engine.begin() as connection:
        for i, run in enumerate(runs, start=1):
            failed = i in (3, 7)
            connection.execute(
                update(Run)
                .where(Run.id == run.id)
                .values(
                    status=RunStatus.FAILED if failed else RunStatus.SUCCEEDED,
                    error=ERROR.format(i) if failed else None,
                    created_at=base,
                    finished_at=base + timedelta(seconds=i),
                    input_tokens=100,
                    output_tokens=50,
                    cost_usd=Decimal("0.01") * i,
                )
            )
            connection.execute(
                update(Step)
                .where(Step.run_id == run.id)
                .values(
                    started_at=base,
                    finished_at=base + timedelta(seconds=i / 10),
                    cost_usd=Decimal("0.01") * i,
                )
            )
        connection.execute(
            update(Run)
            .where(Run.id == old.id)
            .values(created_at=now - timedelta(days=3), status=RunStatus.FAILED, error="old")
        )


def test_stats_per_agent(journal: Journal, tmp_path: Path) -> None:
    _seed(journal, tmp_path)
    (row,) = agent_stats(journal, utcnow() - parse_since("24h"))
    assert (row.agent, row.runs, row.finished, row.succeeded) == ("toolbox", 10, 10, 8)
    assert row.success_rate == 0.8
    assert (row.run_p50_s, row.run_p95_s, row.run_p99_s) == (5.0, 10.0, 10.0)
    assert row.step_p50_s == pytest.approx(0.5) and row.step_p99_s == pytest.approx(1.0)
    assert row.tokens == 1500
    assert row.cost_per_run == Decimal("0.055000")
    assert row.top_errors == (("tool explode raised RuntimeError: kaboom at step N", 2),)
    assert [r.agent for r in agent_stats(journal, utcnow() - parse_since("7d"))] == [
        "reader",
        "toolbox",
    ]


def test_percentile_and_since() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert parse_since("30m") == timedelta(minutes=30)
    with pytest.raises(ValueError, match="24h"):
        parse_since("yesterday")


def test_chordline_stats_prints_the_table(pg_journal: Journal, tmp_path: Path) -> None:
    _seed(pg_journal, tmp_path)
    env = {"CHORDLINE_DATABASE_URL": pg_journal.url, "CHORDLINE_AGENTS_DIR": AGENT_DIRS}
    done = run_cli("stats", "--since", "24h", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if "toolbox" in x)
    figures = ("10", "80.0%", "5.00s / 10.00s / 10.00s", "1500", "$0.055000", "2x tool explode")
    for figure in figures:
        assert figure in line, done.stdout
    assert "reader" not in done.stdout  # outside the window
    bad = run_cli("stats", "--since", "yesterday", env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "use a number and s, m, h, d or w" in bad.stderr


def _alert_settings(journal: Journal, tmp_path: Path, webhook: Webhook) -> Settings:
    return load_settings(
        database_url=journal.url,
        agents_dir=AGENT_DIRS,
        data_dir=tmp_path,
        alert_error_rate=0.1,
        alert_cost_per_run_usd=Decimal("0.05"),
        alert_tenant_daily_usd=Decimal("0.50"),
        alert_min_runs=5,
        alert_webhook_url=SecretStr(webhook.url),
    )


def test_alerts_fire_once_to_the_webhook_retrying_a_failure(
    journal: Journal, tmp_path: Path, webhook: Webhook
) -> None:
    _seed(journal, tmp_path)
    settings = _alert_settings(journal, tmp_path, webhook)
    fired = check_alerts(settings.observability, journal, redactor_for(settings))
    assert {(a.rule, a.subject) for a in fired} == {
        ("error_rate", "agent:toolbox"),
        ("cost_per_run", "agent:toolbox"),
        ("tenant_daily_cost", "tenant:default"),
    }
    # The first POST got a 500 and was retried: every alert arrived once.
    assert webhook.tries == 4 and len(webhook.bodies) == 3
    rate = next(b for b in webhook.bodies if b["rule"] == "error_rate")
    assert rate["value"] == pytest.approx(0.2) and rate["threshold"] == 0.1
    with journal.engine.connect() as connection:
        rows = connection.execute(select(Alert.delivered_at, Alert.delivery_error)).all()
    assert len(rows) == 3 and all(d is not None and e is None for d, e in rows)
    # In its cooldown a rule does not fire again.
    assert check_alerts(settings.observability, journal, redactor_for(settings)) == []
    assert webhook.tries == 4


def test_an_unreachable_webhook_is_recorded_without_its_secret(
    journal: Journal, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/T0SECRETTOKEN"
    settings = load_settings(
        database_url=journal.url,
        data_dir=tmp_path,
        alert_webhook_url=SecretStr(url),
        alert_webhook_attempts=2,
    )
    from orchestration.observability.alerts import deliver

    alert = record_alert(
        journal,
        rule="eval_regression",
        subject="agent:x",
        value=0.7,
        threshold=0.8,
        message="score fell",
    )
    redactor = redactor_for(settings)
    assert deliver(settings.observability, journal, alert, redactor, sleep=lambda _s: None) is False
    with journal.engine.connect() as connection:
        query = select(Alert.delivery_error).where(Alert.id == alert.id)
        error = connection.execute(query).scalar_one()
    assert error and "T0SECRETTOKEN" not in error


def test_beat_checks_alerts_on_the_admin_queue(
    service_env: dict[str, str],
    pg_journal: Journal,
    workers: WorkerPool,
    webhook: Webhook,
    tmp_path: Path,
) -> None:
    _seed(pg_journal, tmp_path)
    env = service_env | {
        "CHORDLINE_ALERT_ERROR_RATE": "0.1",
        "CHORDLINE_ALERT_MIN_RUNS": "5",
        "CHORDLINE_ALERT_CHECK_SECONDS": "1",
        "CHORDLINE_ALERT_WEBHOOK_URL": webhook.url,
    }
    workers.start(env, queues="admin", concurrency=1)
    workers.start_beat(env)
    deadline = time.monotonic() + 60
    while not webhook.bodies:
        assert time.monotonic() < deadline, "no alert reached the webhook"
        time.sleep(0.1)
    assert webhook.bodies[0]["rule"] == "error_rate"
    assert webhook.bodies[0]["subject"] == "agent:toolbox"
