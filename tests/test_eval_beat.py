"""The nightly eval on Celery Beat: two Beat processes on real Redis schedule it once, and it
runs on the admin queue's worker, never on the agents' one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from beat_schedule import REDBEAT_PREFIX
from orchestration.journal import Journal
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
