"""The one module of ``orchestration`` that speaks Celery: it turns a Dispatch into a canvas.

Read-only calls of a turn become a chord whose callback carries on with the state-modifying
calls, in order, then the next turn. Every signature is immutable and carries only ids.
"""

from __future__ import annotations

from celery import Celery, chain, chord, group
from celery.canvas import Signature

from orchestration.config import mask_url
from orchestration.errors import BackendUnreachable
from orchestration.loop import Dispatch
from orchestration.models import StepKind
from orchestration.runtime import Runtime
from orchestration.sweeper import sweep

__all__ = [
    "PRIORITY_RECOVERY",
    "PRIORITY_ROUTINE",
    "TASK_APPROVAL",
    "TASK_RUN",
    "TASK_SWEEP",
    "TASK_TOOL",
    "TASK_TURN",
    "dispatch",
    "ping_broker",
    "redrive_stuck",
    "start_run",
]

TASK_RUN = "chordline.agent.run"
TASK_TURN = "chordline.agent.turn"
TASK_TOOL = "chordline.tool.call"
TASK_APPROVAL = "chordline.agent.await_approval"
TASK_SWEEP = "chordline.runs.sweep"

# Redis serves priority 0 first (kombu's buckets 0, 3, 6, 9). Routine steps ride at 3 so that a
# re-driven run is not queued behind every run started since its worker died. Brokers without
# priorities (the embedded one, RabbitMQ queues without x-max-priority) ignore both.
PRIORITY_ROUTINE = 3
PRIORITY_RECOVERY = 0

_BY_KIND = {StepKind.TOOL: TASK_TOOL, StepKind.APPROVAL: TASK_APPROVAL, StepKind.LLM: TASK_TURN}


def _step(
    app: Celery, kind: StepKind, run_id: str, seq: int, priority: int = PRIORITY_ROUTINE
) -> Signature:
    return app.signature(_BY_KIND[kind], args=(run_id, seq), immutable=True, priority=priority)


def dispatch(app: Celery, plan: Dispatch, *, recovery: bool = False) -> None:
    """Enqueue ``plan``: a chord over the read-only calls when there are several, else a chain.

    Args:
        app: the Celery app.
        plan: what to enqueue.
        recovery: True for a re-drive (sweeper, resume): the steps, and the chain they carry,
            go ahead of routine work.
    """
    priority = PRIORITY_RECOVERY if recovery else PRIORITY_ROUTINE
    tail = [_step(app, kind, plan.run_id, seq, priority) for kind, seq in plan.serial]
    if plan.next_turn is not None:
        tail.append(_step(app, StepKind.LLM, plan.run_id, plan.next_turn, priority))
    heads = [_step(app, StepKind.TOOL, plan.run_id, seq, priority) for seq in plan.parallel]
    if len(heads) > 1 and tail:
        body = tail[0] if len(tail) == 1 else chain(*tail)
        chord(group(heads), body).apply_async()
    elif len(heads) > 1:
        group(heads).apply_async()
    elif heads or tail:
        steps = heads + tail
        (steps[0] if len(steps) == 1 else chain(*steps)).apply_async()


def start_run(app: Celery, run_id: str) -> None:
    """Enqueue a new run's first turn."""
    _step(app, StepKind.LLM, run_id, 1).apply_async()


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


def redrive_stuck(app: Celery, rt: Runtime) -> list[str]:
    """Sweep for runs that stopped moving and enqueue each one's next steps as a recovery.

    Returns:
        The ids of the runs re-driven.
    """
    plans = sweep(rt)
    for plan in plans:
        dispatch(app, plan, recovery=True)
    return [plan.run_id for plan in plans]
