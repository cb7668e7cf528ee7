"""The Celery app, configured for durability from the one settings object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from orchestration.canvas import PRIORITY_ROUTINE
from orchestration.config import Settings, current_settings

__all__ = ["QUEUES", "ShutdownPlan", "app", "create_app", "shutdown_plan"]

QUEUES = ("agents", "tools", "admin")

_ROUTES = {
    "chordline.agent.*": {"queue": "agents"},
    "chordline.runs.*": {"queue": "agents"},
    "chordline.tool.*": {"queue": "tools"},
    "chordline.admin.*": {"queue": "admin"},
    # Celery's own chord bookkeeping rides with the turns it unlocks.
    "celery.chord_unlock": {"queue": "agents"},
}


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
    }


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


def shutdown_plan(settings: Settings) -> ShutdownPlan:
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
    celery = Celery("chordline", include=["workers.tasks"])
    celery.conf.update(
        broker_url=settings.broker_url,
        # filesystem:// is served by our crash-safe subclass of kombu's transport.
        broker_transport="workers.embedded_broker:Transport" if settings.embedded else None,
        result_backend=settings.effective_result_backend,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
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
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_default_queue="agents",
        # Below the priority of re-drives (see orchestration.canvas), on brokers that have them.
        task_default_priority=PRIORITY_ROUTINE,
        task_routes=_ROUTES,
        task_send_sent_event=True,
        worker_send_task_events=True,
        result_expires=3600,
        result_extended=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    # The loader reads backend aliases once; give it ours directly.
    celery.loader.override_backends = {
        "chordline-sqlite": "workers.embedded_backend:SQLiteResultBackend"
    }
    return celery


app = create_app(current_settings())
