"""Celery messages carry only ids: the raw bodies the runtime publishes to Redis, read from the
broker's lists before anything consumes them.

A run with a fan-out of read-only calls (a chord), a state-modifying call and a call that needs
approval is stepped through the runtime's own doors: ``Client.submit`` publishes the first
turn, each step's outcome is dispatched with ``canvas.dispatch`` (what a worker's task does
with it), and ``Client.decide`` publishes what follows the approval. Every message, with every
signature nested in it (chain, chord body, callbacks), must name its step by ``(run_id, seq)``
alone, and no text of the run (input, tool arguments, tool results, the reason, the answer)
may appear anywhere in it.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import redis

from orchestration import canvas
from orchestration.client import Client
from orchestration.config import Settings
from orchestration.journal.payloads import ToolPayload
from orchestration.journal.tables import RunStatus, StepKind
from orchestration.reducer import loop
from tests.support import drain

SCRIPT = "\n".join(
    [
        "Please handle ticket ZQX-INPUT-4417 for our customer.",
        'CALL sleep_read {"seconds": 0}',
        'CALL sleep_read {"seconds": 0.01}',
        'CALL record_effect {"label": "ZQX-ARG-record"}',
        'CALL guarded_effect {"label": "ZQX-ARG-guarded"}',
    ]
)
REASON = "ZQX-REASON approved after a call with the customer"


def _taken(store: redis.Redis) -> list[dict[str, Any]]:
    """Every message waiting in the broker's lists, removed as a consumer would take it."""
    messages = []
    for key in store.keys("*"):
        if store.type(key) == b"list":
            messages += [json.loads(raw) for raw in store.lrange(key, 0, -1)]
            store.delete(key)
    return messages


def _signatures(value: object) -> list[dict[str, Any]]:
    """Every task signature nested in a decoded message body (chains, chord bodies, callbacks)."""
    found = []
    if isinstance(value, dict):
        if "task" in value and "args" in value:
            found.append(value)
        for item in value.values():
            found += _signatures(item)
    elif isinstance(value, list):
        for item in value:
            found += _signatures(item)
    return found


def _strings(value: object) -> list[str]:
    """Every string in a decoded message: keys, values, headers, nested signatures."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value.keys(), *(s for item in value.values() for s in _strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _step_calls(message: dict[str, Any]) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """The task name, args and kwargs of a message and of every signature it carries."""
    args, kwargs, embed = json.loads(base64.b64decode(message["body"]))
    top = (message["headers"]["task"], args, kwargs)
    return [top, *((s["task"], s["args"], s["kwargs"]) for s in _signatures(embed))]


def test_every_step_message_carries_only_the_run_id_and_step_number(
    service_settings: Settings,
) -> None:
    client = Client(service_settings)
    rt, app = client.runtime, canvas.producer(service_settings)
    store = redis.Redis.from_url(service_settings.broker_url)

    run = client.submit("toolbox", SCRIPT)
    published = _taken(store)
    first = loop.run_turn(rt, run.id, 1, "test")
    assert first.dispatch is not None and len(first.dispatch.parallel) == 2
    canvas.dispatch(app, first.dispatch)
    published += _taken(store)
    drain(rt, run.id, first.dispatch)  # the steps run here; their messages were read above
    assert rt.journal.get_run(run.id).status == RunStatus.WAITING_FOR_APPROVAL
    assert client.decide(run.id, approved=True, reviewer="ann", reason=REASON).resumed
    published += _taken(store)
    rest = loop.redrive_plan(rt, run.id)  # what the decision enqueued, read from the journal
    assert rest is not None
    drain(rt, run.id, rest)
    finished = rt.journal.get_run(run.id)
    assert finished.status == RunStatus.SUCCEEDED, finished.error

    steps = rt.journal.steps(run.id)
    calls = [call for message in published for call in _step_calls(message)]
    ours = [(task, args, kwargs) for task, args, kwargs in calls if task.startswith("chordline.")]
    for task, args, kwargs in ours:
        assert kwargs == {} and len(args) == 2, (task, args, kwargs)
        assert args[0] == run.id and isinstance(args[1], int), (task, args)
    by_task = {
        canvas.TASK_TURN: StepKind.LLM,
        canvas.TASK_TOOL: StepKind.TOOL,
        canvas.TASK_APPROVAL: StepKind.APPROVAL,
    }
    kinds = {s.seq: s.kind for s in steps}
    assert {(args[1], by_task[task]) for task, args, _ in ours} == set(kinds.items())
    assert all(kinds[args[1]] == by_task[task] for task, args, _ in ours)

    texts = [SCRIPT, REASON, finished.output or ""]
    texts += [s.arguments or "" for s in steps]
    texts += [json.dumps(s.result.output) for s in steps if isinstance(s.result, ToolPayload)]
    # Down to the words, so that a fragment gives itself away too; names are allowed.
    names = {"toolbox", *(s.name for s in steps)}
    pieces = {w for text in texts for w in re.findall(r"[\w-]{5,}", text)} - names | {"ZQX"}
    carried = [
        leaf
        for message in published
        for leaf in _strings([message, json.loads(base64.b64decode(message["body"]))])
    ]
    leaked = sorted(p for p in pieces if len(p) >= 3 and any(p in leaf for leaf in carried))
    assert not leaked, leaked
