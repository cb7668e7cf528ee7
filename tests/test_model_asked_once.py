"""The model is never asked twice for a recorded turn, counted at the wire-format server.

Real workers call the local OpenAI server (``tests/llm_server.py``) through the official SDK;
the server counts every request by the turn it asks for. Two ways a recorded turn comes back:
its worker is SIGKILLed right after the turn was journaled (before it enqueued anything), and
its Celery message is delivered twice. Either way the server must see one request per turn.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from orchestration.canvas import TASK_TURN, producer
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from tests.agents.toolbox.tools import count_effects
from tests.llm_server import FakeLLM
from tests.services import PrivateRedis
from tests.support import Worker, WorkerPool

pytestmark = pytest.mark.slow

MODEL = "openai:gpt-5-mini-2025-08-07"
CHAT = "/v1/chat/completions"
# Three turns: one asks for a read-only lookup, the next for a keyed effect, the last answers.
SCRIPT = 'CALL sleep_read {"seconds": 0}\n\nCALL keyed_effect {"label": "once"}'
TURNS = Counter({1: 1, 2: 1, 3: 1})


def _settings(env: dict[str, str]) -> Settings:
    return load_settings(**{k.removeprefix("CHORDLINE_").lower(): v for k, v in env.items()})


def _until(check: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s:g}s"
        time.sleep(0.05)


def _llm_steps(client: Client, run_id: str) -> int:
    return sum(1 for s in client.runtime.journal.steps(run_id) if s.kind == StepKind.LLM)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    # CLIENT PAUSE holds every client of a server: never on the machine's shared Redis.
    server = PrivateRedis(tmp_path / "redis").start()
    yield server
    redis.Redis(port=server.port).execute_command("CLIENT", "UNPAUSE")
    server.stop()


def _waiting_on_lock(pg_url: str, statement: str) -> bool:
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as probe:
        found = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            (f"%{statement}%",),
        ).fetchone()
    return found is not None and found[0] > 0


def test_a_worker_killed_right_after_the_turn_was_journaled_is_not_asked_again(
    service_env: dict[str, str],
    workers: WorkerPool,
    fake_llm: FakeLLM,
    private_redis: PrivateRedis,
) -> None:
    env = (
        service_env
        | fake_llm.env()
        | {
            "CHORDLINE_BROKER_URL": private_redis.url,
            "CHORDLINE_LLM_PROVIDER": MODEL,
            # The dead worker's unacked turn message comes back from Redis too: a redelivery of
            # the recorded turn, besides the sweeper's re-drive of the steps it asked for.
            "CHORDLINE_VISIBILITY_TIMEOUT": "10",
            "CHORDLINE_UNACKED_RESTORE_INTERVAL": "1",
            "CHORDLINE_STALE_AFTER_SECONDS": "2",
        }
    )
    client = Client(_settings(env))
    pg_url = service_env["CHORDLINE_DATABASE_URL"]
    gate = fake_llm.hold_next("openai")
    run = client.submit("toolbox", SCRIPT)
    _, raw = _queued_turn(redis.Redis(port=private_redis.port), "agents")
    first_turn = json.loads(raw)["headers"]["id"]
    doomed = workers.start(env, concurrency=1)
    assert gate.arrived.wait(60), "the first turn never reached the model"

    # Hold the turn at the journal write: a lock on its step row makes the worker's
    # one-statement outcome wait. Once it waits, every Redis write is paused, then the lock is
    # let go: the turn commits and the worker blocks before it can enqueue or ack anything.
    with psycopg.connect(pg_url.replace("+psycopg", "")) as locker:
        locker.execute(
            "SELECT 1 FROM steps WHERE run_id = %s AND seq = 1 FOR UPDATE", (run.id,)
        ).fetchone()
        gate.release.set()
        _until(lambda: _waiting_on_lock(pg_url, "WITH done AS"), "the turn's journal write")
        redis.Redis(port=private_redis.port).execute_command("CLIENT", "PAUSE", 600_000, "WRITE")
        locker.rollback()
    _until(
        lambda: client.runtime.journal.step(run.id, 1).status == StepStatus.SUCCEEDED,
        "the turn's outcome in the journal",
    )
    doomed.kill()
    redis.Redis(port=private_redis.port).execute_command("CLIENT", "UNPAUSE")
    asked = client.runtime.journal.step(run.id, 2)
    assert (asked.status, asked.attempt) == (StepStatus.PENDING, 0), "nothing acted on it yet"
    assert fake_llm.turns_asked("openai") == Counter({1: 1})

    rescuer = workers.start(env, concurrency=1)
    finished = client.wait(run.id, timeout_s=120)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    _until(lambda: _succeeded(rescuer, first_turn) == 1, "the first turn's redelivery")
    assert fake_llm.turns_asked("openai") == TURNS
    assert fake_llm.requests(CHAT) == _llm_steps(client, run.id) == 3
    assert count_effects(client.settings.journal_url, run.id, "once") == 1


def _queued_turn(store: redis.Redis, queue: str) -> tuple[bytes, bytes]:
    """The one raw message waiting on ``queue`` (any priority list) and its list's key."""
    found = [
        (key, message)
        for key in store.keys(f"{queue}*")
        if store.type(key) == b"list"
        for message in store.lrange(key, 0, -1)
    ]
    assert len(found) == 1, found
    return found[0]


def _succeeded(worker: Worker, task_id: str) -> int:
    return worker.output().count(f"Task {TASK_TURN}[{task_id}] succeeded")


def test_a_turn_message_delivered_twice_asks_the_model_once(
    service_env: dict[str, str], workers: WorkerPool, fake_llm: FakeLLM
) -> None:
    env = service_env | fake_llm.env() | {"CHORDLINE_LLM_PROVIDER": MODEL}
    settings = _settings(env)
    client = Client(settings)
    store = redis.Redis.from_url(env["CHORDLINE_BROKER_URL"])
    run = client.submit("toolbox", SCRIPT)
    # The very message the client published, pushed again as Redis would redeliver it.
    key, raw = _queued_turn(store, "agents")
    store.lpush(key, raw)
    task_id = json.loads(raw)["headers"]["id"]
    body = json.loads(base64.b64decode(json.loads(raw)["body"]))
    assert body[0] == [run.id, 1]

    worker = workers.start(env, concurrency=2)
    finished = client.wait(run.id, timeout_s=120)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    _until(lambda: _succeeded(worker, task_id) == 2, "both deliveries of the first turn")

    # Every turn's message delivered once more after the run ended: each returns its record.
    app = producer(settings)
    turns = [s.seq for s in client.runtime.journal.steps(run.id) if s.kind == StepKind.LLM]
    for seq in turns:
        again = app.send_task(TASK_TURN, args=(run.id, seq)).get(timeout=60)
        assert again["status"] == "already_done", again
    assert fake_llm.turns_asked("openai") == TURNS
    assert fake_llm.requests(CHAT) == len(turns) == 3
    assert count_effects(settings.journal_url, run.id, "once") == 1
