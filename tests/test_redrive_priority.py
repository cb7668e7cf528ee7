"""A re-driven run overtakes a backlog of routine work on real Redis.

kombu's Redis transport keeps one list per priority step of a queue (``agents`` for 0,
``agents\\x06\\x163`` for 3, ...) and a consumer's BRPOP names those lists lowest priority number
first, so Redis hands out a priority-0 message before any priority-3 one, whatever the order
they were sent in. The test leaves a backlog of first turns waiting, then lets the sweeper
re-drive a run whose worker died, and starts one worker with one slot: the order in which it
receives the messages must put the re-drive first.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
import redis
from celery import Celery

from orchestration.canvas import (
    SENT_AT_HEADER,
    TASK_RUN,
    TASK_TURN,
    dispatch,
    producer,
    queue_horizon,
    redrive_stuck,
)
from orchestration.client import Client
from orchestration.config import Settings
from orchestration.journal.records import Claimed
from orchestration.journal.tables import RunStatus, utcnow
from orchestration.reducer.planning import Dispatch
from tests.support import WorkerPool, idle_since

pytestmark = pytest.mark.slow

BACKLOG = 6


def _queued_turns(store: redis.Redis) -> dict[str, str]:
    """Task id to run id of every turn message waiting on the ``agents`` queue's lists."""
    found: dict[str, str] = {}
    for key in store.keys("agents*"):
        if store.type(key) != b"list":
            continue
        for raw in store.lrange(key, 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] == TASK_TURN:
                args, _, _ = json.loads(base64.b64decode(message["body"]))
                found[message["headers"]["id"]] = args[0]
    return found


def test_a_redriven_step_is_consumed_before_a_backlog_of_routine_steps(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    client = Client(service_settings)
    store = redis.Redis.from_url(service_env["CHORDLINE_BROKER_URL"])
    # A run whose first turn was claimed by a worker that died: its lease has already lapsed.
    stuck = client.runtime.create_run("toolbox", "hello")
    claim = client.runtime.journal.claim(stuck.id, 1, "gone:1:dead", lease_s=0)
    assert isinstance(claim, Claimed)
    backlog = [client.submit("toolbox", f"hello {n}").id for n in range(BACKLOG)]
    # The sweeper finds the lapsed lease and re-drives the run, after the backlog was sent.
    assert redrive_stuck(producer(service_settings), client.runtime) == [stuck.id]
    runs_by_task = _queued_turns(store)
    assert sorted(runs_by_task.values()) == sorted([stuck.id, *backlog])

    worker = workers.start(service_env, queues="agents", concurrency=1)
    for run_id in [stuck.id, *backlog]:
        assert client.wait(run_id, timeout_s=120).status == RunStatus.SUCCEEDED
    receipt = re.compile(rf"Task {re.escape(TASK_TURN)}\[([\w-]+)\] received")
    received = [
        runs_by_task[task] for task in receipt.findall(worker.output()) if task in runs_by_task
    ]
    assert received[0] == stuck.id, f"received in this order: {received}"
    assert sorted(received) == sorted([stuck.id, *backlog])


def _step_lists(store: redis.Redis) -> list[bytes]:
    return sorted(k for k in store.keys("*") if store.type(k) == b"list")


def test_a_message_waiting_behind_a_backlog_is_left_to_it_and_redriven_once_taken(
    service_settings: Settings,
) -> None:
    client = Client(service_settings)
    app = producer(service_settings)
    store = redis.Redis.from_url(service_settings.broker_url)
    waiting = client.submit("toolbox", "hello")  # its first turn waits: no worker runs
    lost = client.runtime.create_run("toolbox", "lost")  # journaled; its message never sent
    # A minute passes with nothing taken: the runs' activity, and the date the waiting message
    # carries, go back sixty seconds.
    for run in (waiting, lost):
        idle_since(client.runtime.journal, run.id, 60)
    (key,) = _step_lists(store)
    message = json.loads(store.lindex(key, -1))
    message["headers"][SENT_AT_HEADER] -= 60
    store.lset(key, -1, json.dumps(message))
    horizon = queue_horizon(app)
    assert horizon is not None
    assert horizon.every < utcnow() - timedelta(seconds=59) < horizon.recovery
    # By the clock both look lost; but either one's message may still be in the queue.
    by_clock = client.runtime.journal.stale_runs(service_settings.stale_after_seconds)
    assert sorted(by_clock) == sorted([waiting.id, lost.id])
    assert redrive_stuck(app, client.runtime) == []
    store.rpop(key)  # a worker takes the waiting message and dies before claiming the turn
    assert sorted(redrive_stuck(app, client.runtime)) == sorted([waiting.id, lost.id])


def test_the_horizon_dates_each_lane_by_its_oldest_message_or_is_unknown(
    service_settings: Settings,
) -> None:
    app = producer(service_settings)
    before = utcnow()
    empty = queue_horizon(app)
    assert empty is not None and before <= empty.every == empty.recovery <= utcnow()
    dispatch(app, Dispatch("run-a", next_turn=2), recovery=True)
    sent = utcnow()
    dispatch(app, Dispatch("run-b", next_turn=2))
    horizon = queue_horizon(app)
    assert horizon is not None
    assert before <= horizon.recovery <= sent and horizon.every == horizon.recovery
    # A run started by a bare Celery producer carries no date: the reading is unknown, and
    # the sweeper counts from the clock.
    Celery(broker=service_settings.broker_url).send_task(TASK_RUN, args=("toolbox", "hi"))
    assert queue_horizon(app) is None
