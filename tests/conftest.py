"""Fixtures against real services: Redis, PostgreSQL, SQLite and worker processes.

One rule for skips: where a server, a program or an optional package is missing a test skips
locally, but when ``CI`` is truthy (``1``, ``true``, ``yes``, any case) it fails instead, since
CI installs everything. :func:`unavailable` says so for a missing service or program, and the
``pytest_*`` hooks below turn any other skip (``pytest.importorskip`` of an optional extra, a
``skipif`` marker) into a failure in CI.
Each test session gets its own PostgreSQL database and its own Redis database number
(``CHORDLINE_TEST_REDIS_DB``, default 15), so parallel sessions on one machine do not collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
import redis
from sqlalchemy import text

from orchestration.config import Settings, load_settings
from orchestration.journal import Journal, open_journal
from orchestration.llm.providers._scripted import load_hints
from tests.llm_server import FakeLLM
from tests.support import ROOT, WorkerPool


def _truthy(value: str | None) -> bool:
    # CI services set CI=true, CI=1 or CI=yes; an unset, empty, 0 or false CI is a local run.
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


IN_CI = _truthy(os.environ.get("CI"))
REDIS_HOST = os.environ.get("CHORDLINE_TEST_REDIS_HOST", "127.0.0.1")
REDIS_DB = int(os.environ.get("CHORDLINE_TEST_REDIS_DB", "15"))
RABBITMQ_HOST = os.environ.get("CHORDLINE_TEST_RABBITMQ_HOST", "127.0.0.1")
RABBITMQ_USER = "guest"  # guest may connect from localhost only, as the tests do
PG_ADMIN_URL = os.environ.get(
    "CHORDLINE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
AGENT_DIRS = f"{ROOT / 'agents'}{os.pathsep}{ROOT / 'tests' / 'agents'}"


def unavailable(message: str) -> NoReturn:
    """Skip the test locally, or fail it when ``CI`` is truthy, saying what is missing.

    Args:
        message: what is missing and how to get it, e.g. "docker-compose is not installed
            (apt-get install docker-compose)".
    """
    if IN_CI:
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


def _in_ci_a_skip_fails(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not IN_CI or not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, where nothing may skip: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module skipped at import (``pytest.importorskip``) fails in CI."""
    report = yield
    _in_ci_a_skip_fails(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test skipped by a marker or a ``pytest.skip`` not routed through :func:`unavailable`
    fails in CI."""
    report = yield
    _in_ci_a_skip_fails(report)
    return report


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database of this session's own."""
    url = f"redis://{REDIS_HOST}:6379/{REDIS_DB}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable at {url} ({exc})")
    return url


@pytest.fixture
def rabbitmq_url() -> Iterator[str]:
    """A RabbitMQ virtual host of this test's own (``rabbitmqctl``), deleted after it."""
    vhost = f"chordline_test_{uuid.uuid4().hex[:10]}"
    if shutil.which("rabbitmqctl") is None:
        unavailable("RabbitMQ is not installed (rabbitmqctl not found)")
    created = subprocess.run(
        ["rabbitmqctl", "-q", "add_vhost", vhost],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if created.returncode != 0:
        unavailable(f"RabbitMQ is not reachable ({created.stderr.strip() or created.stdout})")
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, RABBITMQ_USER, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    yield f"amqp://{RABBITMQ_USER}:{RABBITMQ_USER}@{RABBITMQ_HOST}:5672/{vhost}"
    subprocess.run(
        ["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True, timeout=60
    )


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """The session's Redis database, flushed before the test."""
    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database created for this session and dropped after it."""
    name = f"chordline_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable ({exc})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    open_journal(f"{base}/{name}").engine.dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _emptied(journal: Journal) -> Journal:
    journal.upgrade()
    with journal.engine.begin() as connection:
        ours = (
            "run_feedback",
            "steps",
            "runs",
            "eval_results",
            "releases",
            "llm_response_cache",
            "api_keys",
            "memory_facts",
        )
        for table in ours:
            connection.execute(text(f"DELETE FROM {table}"))
        if journal.engine.dialect.has_table(connection, "support_refunds"):
            connection.execute(text("DELETE FROM support_refunds"))
        for effects in (
            "test_effects",
            "chaos_executions",
            "chaos_charges",
            "finetune_jobs",
            "model_candidates",
            "alerts",
            "approval_webhooks",
        ):
            if journal.engine.dialect.has_table(connection, effects):
                connection.execute(text(f"DELETE FROM {effects}"))
    return journal


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Journal:
    """An empty, migrated journal on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return _emptied(Journal(f"sqlite:///{tmp_path / 'journal.sqlite3'}"))
    url = request.getfixturevalue("pg_url")
    return _emptied(open_journal(url))


@pytest.fixture
def pg_journal(pg_url: str) -> Journal:
    """An empty, migrated journal on PostgreSQL."""
    return _emptied(open_journal(pg_url))


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Embedded settings in a temporary data directory."""
    return load_settings(
        data_dir=tmp_path / "data", agents_dir=AGENT_DIRS, broker_url="filesystem://"
    )


@pytest.fixture
def service_env(clean_redis: str, pg_journal: Journal, tmp_path: Path) -> dict[str, str]:
    """Environment for processes on real Redis and PostgreSQL."""
    return {
        "CHORDLINE_BROKER_URL": clean_redis,
        "CHORDLINE_DATABASE_URL": pg_journal.url,
        "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
        "CHORDLINE_DATA_DIR": str(tmp_path / "data"),
        "CHORDLINE_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def service_settings(service_env: dict[str, str]) -> Settings:
    """Settings matching :func:`service_env`, for the in-process client."""
    return load_settings(
        broker_url=service_env["CHORDLINE_BROKER_URL"],
        database_url=service_env["CHORDLINE_DATABASE_URL"],
        agents_dir=service_env["CHORDLINE_AGENTS_DIR"],
        data_dir=Path(service_env["CHORDLINE_DATA_DIR"]),
    )


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[WorkerPool]:
    """Worker processes started by the test, stopped (or killed) after it."""
    pool = WorkerPool(tmp_path / "workers")
    yield pool
    pool.stop_all()


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A local OpenAI + Anthropic API for the official SDKs, knowing the agents' tool keywords."""
    server = FakeLLM(load_hints(Path(p) for p in AGENT_DIRS.split(os.pathsep))).start()
    yield server
    server.stop()
