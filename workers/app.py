"""The Celery app, configured for durability from the one settings object."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from orchestration.config import Settings, current_settings

__all__ = ["QUEUES", "app", "create_app", "soft_shutdown_seconds"]

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


def soft_shutdown_seconds(settings: Settings) -> float:
    """The last grace of a cold shutdown, carved out of the SIGTERM budget."""
    return min(2.0, settings.shutdown_timeout_seconds / 2)


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
        worker_soft_shutdown_timeout=soft_shutdown_seconds(settings),
        worker_enable_soft_shutdown_on_idle=True,
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_default_queue="agents",
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
