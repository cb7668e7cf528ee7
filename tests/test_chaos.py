"""The chaos suite in CI size: kill -9 workers, flush Redis, restart PostgreSQL, kill the demo.

``CHORDLINE_CHAOS_RUNS`` sets the size of the kill test (20 by default); ``python -m tests.chaos
--runs 50`` is the full size. Servers taken down here are private ones the test starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from agents.support_triage.store import refunds, refunds_engine
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.journal import Journal
from orchestration.journal.tables import RunStatus, StepStatus
from tests.chaos import ChaosPlan, ChaosReport, run_chaos
from tests.conftest import AGENT_DIRS, unavailable
from tests.services import PrivatePostgres, PrivateRedis, private_directory
from tests.support import ROOT, WorkerPool

pytestmark = pytest.mark.slow

CHAOS_RUNS = int(os.environ.get("CHORDLINE_CHAOS_RUNS", "20"))


def _check(report: ChaosReport) -> None:
    print("\n" + "\n".join(report.lines()))
    assert report.problems() == []
    assert report.succeeded == report.runs
    assert (report.duplicated_effects, report.missing_effects) == (0, 0)
    assert report.effects == report.expected_effects


def test_chaos_killing_random_workers_loses_no_run_and_repeats_no_effect(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    plan = ChaosPlan(runs=CHAOS_RUNS, workers=3, kill_for_s=40, timeout_s=240, seed=7)
    report = run_chaos(Client(service_settings), workers, service_env, plan)
    _check(report)
    assert report.kills >= 10, "the killer must have struck repeatedly"
    assert report.interrupted_steps > 0, "no kill landed on a running step"
    # Every interrupted step was claimed again by another worker; how soon is the bench's
    # recovery row (`python -m bench --only recovery`), not a pass or fail of the suite.
    assert len(report.recoveries_s) == report.interrupted_steps, report.lines()


def test_chaos_on_rabbitmq_loses_no_run_and_repeats_no_effect(
    rabbitmq_url: str, clean_redis: str, pg_journal: Journal, workers: WorkerPool, tmp_path: Path
) -> None:
    # RabbitMQ hands a killed worker's unacknowledged messages to another consumer at once; the
    # copies find the step's lease live (or the step done) and neither repeats an effect.
    env = {
        "CHORDLINE_BROKER_URL": rabbitmq_url,
        "CHORDLINE_RESULT_BACKEND": clean_redis,
        "CHORDLINE_DATABASE_URL": pg_journal.url,
        "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
        "CHORDLINE_DATA_DIR": str(tmp_path / "data"),
        "CHORDLINE_LOG_LEVEL": "INFO",
    }
    plan = ChaosPlan(runs=CHAOS_RUNS, workers=3, kill_for_s=40, timeout_s=240, seed=11)
    report = run_chaos(Client(_settings(env)), workers, env, plan)
    _check(report)
    assert report.kills >= 10, "the killer must have struck repeatedly"
    assert report.interrupted_steps > 0, "no kill landed on a running step"
    assert len(report.recoveries_s) == report.interrupted_steps, report.lines()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(private_directory("chordline-redis-")).start()
    yield server
    server.stop()
    shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not PrivatePostgres.available():
        unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = PrivatePostgres(private_directory("chordline-pg-")).start()
    yield server
    server.stop()
    shutil.rmtree(server.directory, ignore_errors=True)


def _settings(env: dict[str, str]) -> Settings:
    return load_settings(
        broker_url=env["CHORDLINE_BROKER_URL"],
        result_backend=env.get("CHORDLINE_RESULT_BACKEND"),
        database_url=env["CHORDLINE_DATABASE_URL"],
        agents_dir=AGENT_DIRS,
        data_dir=Path(env["CHORDLINE_DATA_DIR"]),
    )


def test_redis_flushed_and_restarted_midflight_the_sweeper_completes_every_run(
    private_redis: PrivateRedis, pg_journal: Journal, workers: WorkerPool, tmp_path: Path
) -> None:
    env = {
        "CHORDLINE_BROKER_URL": private_redis.url,
        "CHORDLINE_DATABASE_URL": pg_journal.url,
        "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
        "CHORDLINE_DATA_DIR": str(tmp_path / "data"),
    }
    flushed: list[float] = []

    def flush() -> None:
        private_redis.flush_and_restart()
        flushed.append(time.monotonic())

    plan = ChaosPlan(
        runs=10, workers=2, kill_every_s=None, timeout_s=120, disrupt=flush, disrupt_after_steps=25
    )
    report = run_chaos(Client(_settings(env)), workers, env, plan)
    assert flushed, "Redis was never flushed"
    _check(report)
    logs = "".join(w.output() for w in workers.workers)
    assert "re-drove" in logs, "no run needed the sweeper: the flush lost nothing"


def test_postgres_restarted_midflight_workers_reconnect_and_complete_every_run(
    private_postgres: PrivatePostgres,
    clean_redis: str,
    workers: WorkerPool,
    tmp_path: Path,
) -> None:
    from orchestration.journal import open_journal

    open_journal(private_postgres.url).upgrade()
    env = {
        "CHORDLINE_BROKER_URL": clean_redis,
        "CHORDLINE_DATABASE_URL": private_postgres.url,
        "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
        "CHORDLINE_DATA_DIR": str(tmp_path / "data"),
    }
    restarted: list[float] = []

    def restart() -> None:
        private_postgres.stop()
        time.sleep(2)  # the outage itself: the database is away this long
        private_postgres.start()
        restarted.append(time.monotonic())

    plan = ChaosPlan(
        runs=10,
        workers=2,
        kill_every_s=None,
        timeout_s=120,
        disrupt=restart,
        disrupt_after_steps=25,
    )
    try:
        report = run_chaos(Client(_settings(env)), workers, env, plan)
    finally:
        open_journal(private_postgres.url).engine.dispose()
    assert restarted, "PostgreSQL was never restarted"
    _check(report)
    logs = "".join(w.output() for w in workers.workers)
    assert "journal unreachable" in logs or "lease renewal" in logs, "no step saw the outage"


def _demo(data: Path) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    env = {
        **clean,
        "COLUMNS": "100",
        "CHORDLINE_DATA_DIR": str(data),
        "SUPPORT_TRIAGE_LATENCY_S": "3",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "demo", "--timeout", "90"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_the_zero_server_demo_killed_midrun_completes_the_run_when_started_again(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = _demo(data)
    journal_url = f"sqlite:///{data / 'journal.sqlite3'}"
    deadline = time.monotonic() + 60
    journal: Journal | None = None
    while True:
        assert first.poll() is None, first.communicate()[0]
        assert time.monotonic() < deadline, "the demo never started its lookups"
        # The demo's worker reports ready only after the journal's schema exists.
        if (data / "demo-worker.ready").exists():
            journal = journal or Journal(journal_url)
            try:
                runs = list(journal.list_runs().runs)
            except OperationalError:  # the demo has not created the tables yet
                runs = []
            if runs and any(s.status == StepStatus.RUNNING for s in journal.steps(runs[0].id)):
                break
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the demo and the worker it started
    first.wait(timeout=10)
    assert journal is not None
    (killed,) = journal.list_runs().runs
    done_before = {s.seq for s in journal.steps(killed.id) if s.status.final}
    assert journal.get_run(killed.id).status == RunStatus.RUNNING
    second = _demo(data)
    output, _ = second.communicate(timeout=180)
    assert second.returncode == 0, output
    assert "resuming 1 unfinished run(s) from the journal" in output
    run = journal.get_run(killed.id)
    assert run.status == RunStatus.SUCCEEDED, output
    assert run.output is not None and "refund of $1249.00 for ORD-1042 issued" in run.output
    for step in journal.steps(killed.id):
        if step.seq in done_before:
            assert step.attempt == 1, f"step {step.seq} ran again after the restart"
    query = select(func.count()).select_from(refunds).where(refunds.c.run_id == killed.id)
    with refunds_engine(journal_url).connect() as connection:
        assert connection.execute(query).scalar_one() == 1
    journal.engine.dispose()
