"""The Celery app, configured for durability from the one settings object."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery

from beat_schedule import beat_config, schedule
from orchestration import canvas
from orchestration.config import Settings, WorkerSettings, current_settings

__all__ = ["ShutdownPlan", "app", "create_app", "shutdown_plan"]


@dataclass(frozen=True)
class ShutdownPlan:
    """How a worker spends ``CHORDLINE_SHUTDOWN_TIMEOUT_SECONDS`` after a SIGTERM.

    Attributes:
        warm_s: the warm shutdown: no new messages, the steps in hand run on.
        soft_s: the soft phase of the cold shutdown that follows: a last grace for the steps.
        teardown_s: kept for cancelling the steps, requeueing the messages and exiting.
    """

    warm_s: float
    soft_s: float
    teardown_s: float


def shutdown_plan(settings: WorkerSettings) -> ShutdownPlan:
    """Split the SIGTERM budget so that the worker has exited when it runs out."""
    total = settings.shutdown_timeout_seconds
    soft = min(1.0, total / 5)
    teardown = min(3.0, total / 3)
    return ShutdownPlan(warm_s=total - soft - teardown, soft_s=soft, teardown_s=teardown)


def create_app(settings: Settings) -> Celery:
    """A Celery app for ``settings``: acks late, reject on worker loss, prefetch one.

    Stopping: SIGTERM is Celery's warm shutdown (stop consuming, finish the steps in hand,
    return held messages to the broker); ``workers.tasks`` turns it into a cold shutdown when
    ``shutdown_timeout_seconds`` runs out, and the cold shutdown's soft phase gives the steps a
    last grace, then cancels them and requeues every message the worker holds, ETA retries
    included (``worker_enable_soft_shutdown_on_idle``).
    """
    celery = canvas.producer(settings)
    celery.conf.include = [
        "workers.tasks",
        "workers.admin_eval_tasks",
        "workers.admin_knowledge_tasks",
        "workers.observability_tasks",
        "workers.rollout_tasks",
        "workers.workflow_tasks",
        "workers.webhook_tasks",
    ]
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A step survives a broker restart: its lease already stops a redelivery from running it
        # twice, so cancelling it would only throw away a finished LLM or tool call.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        worker_soft_shutdown_timeout=shutdown_plan(settings).soft_s,
        worker_enable_soft_shutdown_on_idle=True,
        worker_send_task_events=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        beat_schedule=schedule(),
    )
    celery.conf.update(beat_config(settings))
    return celery


app = create_app(current_settings())
