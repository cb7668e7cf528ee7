"""Evals on real services: two Beat processes on real Redis schedule the nightly eval once, and
it runs on the admin queue's worker, never on the agents' one; with a broker configured, an
eval's trials run on the workers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from beat_schedule import REDBEAT_PREFIX
from orchestration.client import Client
from orchestration.config import Settings
from orchestration.evals.runner import EvalOptions, run_eval
from orchestration.journal import Journal, open_journal
from orchestration.journal.tables import StepKind
from tests.support import ROOT, WorkerPool

EVAL_TASK = "chordline.admin.nightly_eval"


def _admin_evals(journal: Journal) -> list[str]:
    with journal.engine.connect() as connection:
        return list(
            connection.execute(
                text("SELECT id FROM eval_results WHERE admin ORDER BY created_at")
            ).scalars()
        )


@pytest.mark.slow
def test_two_beats_schedule_the_nightly_eval_once_on_the_admin_queue(
    service_env: dict[str, str], pg_journal: Journal, workers: WorkerPool, tmp_path: Path
) -> None:
    env = service_env | {
        # Every minute, so that the test sees one firing; one small agent, one trial a case.
        "CHORDLINE_NIGHTLY_EVAL_CRON": "* * * * *",
        "CHORDLINE_NIGHTLY_EVAL_AGENTS": "research-report",
        "CHORDLINE_CLEANUP_CRON": "0 0 1 1 *",
        "CHORDLINE_EVALS_DIR": str(ROOT / "evals"),
    }
    admin = workers.start(env, queues="admin", concurrency=1)
    agents = workers.start(env, queues="agents,tools", concurrency=1)
    beats = [workers.start_beat(env), workers.start_beat(env)]

    deadline = time.monotonic() + 150
    while not _admin_evals(pg_journal):
        shown = "\n---\n".join(w.output()[-1500:] for w in [*beats, admin])
        assert time.monotonic() < deadline, shown
        assert all(b.process.poll() is None for b in beats), shown
        time.sleep(0.5)
    # A doubled schedule would fire the same minute twice within moments: watch a while (less
    # than the minute until the next firing) for a second eval.
    window = time.monotonic() + 20
    while time.monotonic() < window:
        assert len(_admin_evals(pg_journal)) == 1
        time.sleep(0.5)

    sent = [b.output().count("Sending due task nightly-eval") for b in beats]
    assert sorted(sent) == [0, 1], sent
    client = redis.Redis.from_url(env["CHORDLINE_BROKER_URL"])
    assert client.exists(f"{REDBEAT_PREFIX}:lock")
    assert f"Task {EVAL_TASK}[" in admin.output()
    assert f"Task {EVAL_TASK}[" not in agents.output()  # received by the admin worker only
    with pg_journal.engine.connect() as connection:
        tenants = connection.execute(
            text("SELECT tenant, count(*) FROM runs WHERE agent = 'research-report' GROUP BY 1")
        ).all()
    assert [(t, n) for t, n in tenants] == [("admin", 22)]


@pytest.mark.slow
def test_an_eval_runs_its_trials_on_the_workers_when_a_broker_is_configured(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    worker = workers.start(service_env | {"SUPPORT_TRIAGE_LATENCY_S": "0"}, queues="agents,tools")
    settings = service_settings.model_copy(update={"evals_dir": ROOT / "evals"})
    cases = ("refund-cracked-laptop", "must-fail-refund-over-total", "order-in-transit")
    options = EvalOptions(k=2, concurrency=3, case_ids=cases)
    client = Client(settings)
    record = run_eval(client.runtime, "support-triage", options, client=client)
    assert record.overall.trials == 6 and record.overall.pass_hat_k == 1.0
    journal = open_journal(settings.journal_url)
    turns = sum(s.kind == StepKind.LLM for t in record.trials for s in journal.steps(t.run_id))
    # Every LLM turn of every trial ran as a task on the worker, none in this process.
    assert worker.output().count("Task chordline.agent.turn[") >= 2 * turns  # received, done
