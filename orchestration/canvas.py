"""The one module of ``orchestration`` that speaks Celery: names, queues, routes, the producer
app, and the canvases a Dispatch becomes.

Read-only calls of a turn become a chord whose callback carries on with the state-modifying
calls, in order, then the next turn. Every signature is immutable and carries only ids.

Task names, queues and routes live here so that the client and the CLI can enqueue without
importing ``workers`` (which registers the task bodies and the worker's own settings). Importing
it loads Celery and the settings, not the journal (SQLAlchemy) or the loop: ``chordline worker``
only names queues and pings the broker before it becomes the worker, and a replacement worker's
start is part of every crash's recovery.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from celery import Celery, chain, chord, group
from celery.app.amqp import AMQP
from celery.canvas import Signature
from kombu import Exchange, Queue

from orchestration.config import Settings, mask_url
from orchestration.errors import BackendUnreachable
from orchestration.trace_context import traceparent_for

if TYPE_CHECKING:
    from orchestration.journal.tables import StepKind
    from orchestration.reducer.loop import Dispatch
    from orchestration.reducer.planning import QueueHorizon
    from orchestration.runtime import Runtime

__all__ = [
    "CELERY_DEFAULT_QUEUE",
    "EMBEDDED_BACKEND",
    "EMBEDDED_TRANSPORT",
    "PRIORITY_RECOVERY",
    "PRIORITY_ROUTINE",
    "QUEUES",
    "ROUTES",
    "SENT_AT_HEADER",
    "TASK_APPROVAL",
    "TASK_APPROVAL_WEBHOOK",
    "TASK_CLEANUP",
    "TASK_FINETUNE",
    "TASK_FINETUNE_FOLLOW",
    "TASK_NIGHTLY_EVAL",
    "TASK_REBUILD_EMBEDDINGS",
    "TASK_RUN",
    "TASK_SWEEP",
    "TASK_TOOL",
    "TASK_TURN",
    "TASK_WORKFLOW_ADVANCE",
    "TASK_WORKFLOW_SWEEP",
    "advance_workflow",
    "celery_config",
    "dispatch",
    "ping_broker",
    "producer",
    "queue_horizon",
    "redrive_stuck",
    "run_task_repr",
    "schedule_finetune_check",
    "send_approval_webhook",
    "start_run",
]

TASK_RUN = "chordline.agent.run"
TASK_TURN = "chordline.agent.turn"
TASK_TOOL = "chordline.tool.call"
TASK_APPROVAL = "chordline.agent.await_approval"
TASK_SWEEP = "chordline.runs.sweep"
# The POST announcing a waiting approval (CHORDLINE_APPROVAL_WEBHOOK_URL), on the tools queue.
TASK_APPROVAL_WEBHOOK = "chordline.approvals.webhook"
# Admin jobs (routed to the admin queue by ``chordline.admin.*``).
TASK_NIGHTLY_EVAL = "chordline.admin.nightly_eval"
TASK_CLEANUP = "chordline.admin.cleanup"
TASK_WORKFLOW_ADVANCE = "chordline.workflow.advance"
TASK_WORKFLOW_SWEEP = "chordline.workflow.sweep"
# Admin jobs of the knowledge subsystem (issue 12), routed to the admin queue by their prefix.
TASK_REBUILD_EMBEDDINGS = "chordline.admin.rebuild_embeddings"
TASK_FINETUNE = "chordline.admin.finetune"
TASK_FINETUNE_FOLLOW = "chordline.admin.finetune_follow"

# Redis serves priority 0 first (kombu's buckets 0, 3, 6, 9). Routine steps ride at 3 so that a
# re-driven run is not queued behind every run started since its worker died. Brokers without
# priorities (the embedded one, RabbitMQ queues without x-max-priority) ignore both.
PRIORITY_ROUTINE = 3
PRIORITY_RECOVERY = 0

QUEUES = ("agents", "tools", "admin")

# Celery's own default queue: a bare Celery app's ``send_task("chordline.agent.run", ...)`` that
# names no queue lands here, so the agents workers consume it too (``chordline worker``).
CELERY_DEFAULT_QUEUE = "celery"

ROUTES = {
    "chordline.agent.*": {"queue": "agents"},
    "chordline.runs.*": {"queue": "agents"},
    "chordline.workflow.*": {"queue": "agents"},
    "chordline.tool.*": {"queue": "tools"},
    # A webhook POST is short I/O that a person is waiting on: the tools workers' threads serve
    # it at once, where an agents worker would hold a turn's slot and the admin queue may be
    # busy with an eval for minutes.
    "chordline.approvals.*": {"queue": "tools"},
    "chordline.admin.*": {"queue": "admin"},
    # Celery's own chord bookkeeping rides with the turns it unlocks.
    "celery.chord_unlock": {"queue": "agents"},
}

# The embedded broker and result store, named by import path so that a producer in this module
# never imports ``workers``: kombu and Celery load them when a connection is made.
EMBEDDED_TRANSPORT = "workers.embedded_transport:Transport"
EMBEDDED_BACKEND = "workers.embedded_backend:SQLiteResultBackend"

# By StepKind's values (it is a StrEnum of the journal, loaded when a step is first enqueued).
_BY_KIND = {"tool": TASK_TOOL, "approval": TASK_APPROVAL, "llm": TASK_TURN}

# How long a dead worker can hold Redis's restore mutex (kombu's default is 300 s).
_RESTORE_MUTEX_EXPIRE_S = 30

# The header that dates each message this app sends (seconds since the epoch).
SENT_AT_HEADER = "chordline_sent_at"
# The queues whose messages move runs (admin jobs are not steps).
_STEP_QUEUES = ("agents", "tools", CELERY_DEFAULT_QUEUE)

log = logging.getLogger("chordline.sweeper")


def _transport_options(settings: Settings) -> dict[str, Any]:
    if settings.embedded:
        folder = (settings.data_dir / "broker").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str((settings.data_dir / "control").resolve()),
            "polling_interval": settings.embedded_poll_interval,
        }
    return {
        "visibility_timeout": settings.visibility_timeout,
        # kombu scans for messages past the visibility timeout every interval x throttle seconds
        # (100 s by default); throttle 1 makes the interval the one knob.
        "unacked_restore_interval": settings.unacked_restore_interval,
        "unacked_restore_throttle": 1,
        # A restore pass holds kombu's mutex for a few milliseconds; with kombu's default (300 s)
        # a worker SIGKILLed inside one stops every redelivery for five minutes. Two passes that
        # overlap after an expiry cannot restore a message twice (each is a WATCHed transaction).
        "unacked_mutex_expire": _RESTORE_MUTEX_EXPIRE_S,
    }


def celery_config(settings: Settings) -> dict[str, Any]:
    """What producers and workers must agree on: broker, results, serializer, queues, routes."""
    return {
        "broker_url": settings.broker_url,
        # The embedded broker is kombu's filesystem transport with atomic message files.
        "broker_transport": EMBEDDED_TRANSPORT if settings.embedded else None,
        "result_backend": settings.effective_result_backend,
        "broker_transport_options": _transport_options(settings),
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_queues": [
            Queue(name, Exchange(name), routing_key=name)
            for name in (*QUEUES, CELERY_DEFAULT_QUEUE)
        ],
        "task_default_queue": "agents",
        # Below the priority of re-drives, on brokers that have them.
        "task_default_priority": PRIORITY_ROUTINE,
        "task_routes": ROUTES,
        "task_send_sent_event": True,
        "result_expires": 3600,
        "result_extended": False,
    }


def run_task_repr(task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[str, str]:
    """What Flower shows for ``chordline.agent.run``: the agent, the run id and the input's
    length, never the customer's text; the keyword arguments without ``input``."""
    agent = args[0] if args else kwargs.get("agent", "?")
    text = args[1] if len(args) > 1 else kwargs.get("input", "")
    shown = {k: v for k, v in kwargs.items() if k != "input"}
    return f"agent={agent} run={task_id} input=<{len(str(text))} chars>", repr(shown)


class _Amqp(AMQP):
    """Messages as Celery builds them, with ``chordline.agent.run``'s text kept out of the
    ``argsrepr`` that task-sent events carry to Flower, when the sender set none."""

    def as_task_v2(self, task_id: str, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == TASK_RUN and kwargs.get("argsrepr") is None:
            task_args = args[0] if args else kwargs.get("args")
            task_kwargs = args[1] if len(args) > 1 else kwargs.get("kwargs")
            kwargs["argsrepr"], kwargs["kwargsrepr"] = run_task_repr(
                task_id, tuple(task_args or ()), dict(task_kwargs or {})
            )
        message = super().as_task_v2(task_id, name, *args, **kwargs)
        # When it was sent: a sweeper reading the queues tells a message still waiting behind a
        # backlog from one lost with a dead worker (see queue_horizon).
        message.headers[SENT_AT_HEADER] = time.time()
        return message


def producer(settings: Settings, *, main: str = "chordline") -> Celery:
    """A Celery app that enqueues like the workers expect (it registers no task bodies)."""
    app = Celery(main, amqp=_Amqp)
    app.conf.update(celery_config(settings))
    # The loader reads backend aliases once; give it ours directly.
    app.loader.override_backends = {"chordline-sqlite": EMBEDDED_BACKEND}
    return app


def _step(
    app: Celery,
    kind: StepKind,
    run_id: str,
    seq: int,
    priority: int = PRIORITY_ROUTINE,
    *,
    chord_part: bool = False,
    agent: str = "",
    tool: str = "",
) -> Signature:
    # The journal is the result store of steps: nothing reads a step task's Celery result, so
    # the workers do not write one. A chord's parts keep theirs: a result backend without a
    # native join (the embedded one) learns that the parts are done by polling their results.
    # Flower shows argsrepr/kwargsrepr: ids and names that make the run recognisable, never
    # input text. The traceparent header puts the task under the run's root span, so Celery's
    # OpenTelemetry spans join the run's one trace whoever enqueued it (a sweeper included).
    label = f"run={run_id} step={seq} kind={kind.value}"
    label += f" agent={agent}" if agent else ""
    label += f" tool={tool}" if tool else ""
    return app.signature(
        _BY_KIND[kind],
        args=(run_id, seq),
        immutable=True,
        priority=priority,
        ignore_result=not chord_part,
        argsrepr=label,
        kwargsrepr="{}",
        headers={"traceparent": traceparent_for(run_id)},
    )


def dispatch(app: Celery, plan: Dispatch, *, recovery: bool = False) -> None:
    """Enqueue ``plan``: a chord over the read-only calls when there are several, else a chain.

    Args:
        app: the Celery app.
        plan: what to enqueue.
        recovery: True for a re-drive (sweeper, resume): the steps, and the chain they carry,
            go ahead of routine work.
    """
    from orchestration.journal.tables import StepKind

    priority = PRIORITY_RECOVERY if recovery else PRIORITY_ROUTINE
    tools = dict(plan.tools)

    def step(kind: StepKind, seq: int, *, chord_part: bool = False) -> Signature:
        return _step(
            app,
            kind,
            plan.run_id,
            seq,
            priority,
            chord_part=chord_part,
            agent=plan.agent,
            tool=tools.get(seq, ""),
        )

    tail = [step(kind, seq) for kind, seq in plan.serial]
    if plan.next_turn is not None:
        tail.append(step(StepKind.LLM, plan.next_turn))
    in_chord = len(plan.parallel) > 1 and bool(tail)
    heads = [step(StepKind.TOOL, seq, chord_part=in_chord) for seq in plan.parallel]
    if in_chord:
        body = tail[0] if len(tail) == 1 else chain(*tail)
        chord(group(heads), body).apply_async()
    elif len(heads) > 1:
        group(heads).apply_async()
    elif heads or tail:
        steps = heads + tail
        (steps[0] if len(steps) == 1 else chain(*steps)).apply_async()


def start_run(app: Celery, run_id: str, agent: str = "") -> None:
    """Enqueue a new run's first turn (``agent`` labels it in Flower)."""
    from orchestration.journal.tables import StepKind

    _step(app, StepKind.LLM, run_id, 1, agent=agent).apply_async()


def advance_workflow(
    app: Celery, parent_id: str, child_id: str = "", *, recovery: bool = False
) -> None:
    """Enqueue the advance of a workflow run (``child_id``: the child whose end woke it)."""
    app.signature(
        TASK_WORKFLOW_ADVANCE,
        args=(parent_id, child_id),
        immutable=True,
        priority=PRIORITY_RECOVERY if recovery else PRIORITY_ROUTINE,
        ignore_result=True,
    ).apply_async()


def send_approval_webhook(app: Celery, run_id: str, seq: int) -> None:
    """Enqueue the POST announcing that approval step ``seq`` of ``run_id`` waits for a person
    (tools queue). The message carries the approval's id; the task reads the rest from the
    journal."""
    from orchestration.journal.approvals import approval_id

    app.signature(
        TASK_APPROVAL_WEBHOOK, args=(approval_id(run_id, seq),), immutable=True, ignore_result=True
    ).apply_async()


def ping_broker(app: Celery, url: str) -> None:
    """Open (and close) one broker connection.

    Raises:
        BackendUnreachable: naming the broker (password masked) and the fix.
    """
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # kombu raises transport-specific errors
        raise BackendUnreachable(
            f"broker {mask_url(url)} is unreachable ({type(exc).__name__}: {exc}). Fix: start "
            "it, or point CHORDLINE_BROKER_URL at one that runs (filesystem:// needs no server)."
        ) from None


def queue_horizon(app: Celery) -> QueueHorizon | None:
    """How far the step queues have moved, read from a Redis broker; None when unknown.

    Redis keeps each queue's priority lanes as lists a worker pops oldest first, so the oldest
    message waiting in a lane dates it: everything sent before it has been taken. RabbitMQ and
    the embedded broker cannot be peeked that way, and a waiting message that is not dated (a
    bare Celery producer sent it) leaves the reading unknown too; the sweeper then counts from
    the clock alone.
    """
    from orchestration.reducer.planning import QueueHorizon

    if not str(app.conf.broker_url).startswith(("redis://", "rediss://")):
        return None
    read_at = time.time()
    try:
        with app.connection_or_acquire() as connection:
            channel = connection.default_channel
            lanes = [
                (pri, channel._q_for_pri(queue, pri))
                for pri in channel.priority_steps
                for queue in _STEP_QUEUES
            ]
            with channel.client.pipeline(transaction=False) as pipe:
                for _, key in lanes:
                    pipe.lindex(key, -1)
                oldest = pipe.execute()
    except Exception as exc:  # any broker trouble: the sweeper falls back to the clock
        log.debug("could not read the queues: %s", exc)
        return None
    every = recovery = read_at
    for (pri, _), raw in zip(lanes, oldest, strict=True):
        if raw is None:
            continue
        sent = _sent_at(raw)
        if sent is None:
            return None
        every = min(every, sent)
        if pri == PRIORITY_RECOVERY:
            recovery = min(recovery, sent)
    return QueueHorizon(
        every=datetime.fromtimestamp(every, UTC), recovery=datetime.fromtimestamp(recovery, UTC)
    )


def _sent_at(raw: bytes) -> float | None:
    """The send time a waiting message carries, if it is one of ours."""
    try:
        value = json.loads(raw)["headers"][SENT_AT_HEADER]
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def redrive_stuck(app: Celery, rt: Runtime) -> list[str]:
    """Sweep for runs that stopped moving and enqueue each one's next steps as a recovery.

    Returns:
        The ids of the runs re-driven.
    """
    from orchestration.reducer.sweeper import sweep

    plans = sweep(rt, horizon=queue_horizon(app))
    for plan in plans:
        dispatch(app, plan, recovery=True)
    return [plan.run_id for plan in plans]


def schedule_finetune_check(app: Celery, job_id: str, checks: int, countdown_s: float) -> None:
    """Enqueue the next check of a fine-tuning job ``countdown_s`` from now (admin queue).

    The broker holds the message until then: no worker waits while the job trains.
    """
    app.send_task(TASK_FINETUNE_FOLLOW, args=(job_id, checks), countdown=countdown_s)
