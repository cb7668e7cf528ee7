"""The Celery app, configured for durability from the one settings object."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from orchestration.config import Settings, current_settings
from workers import embedded_transport

__all__ = ["QUEUES", "app", "create_app"]

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
    return {"visibility_timeout": settings.visibility_timeout}


def create_app(settings: Settings) -> Celery:
    """A Celery app for ``settings``: acks late, reject on worker loss, prefetch one."""
    celery = Celery("chordline", include=["workers.tasks"])
    celery.conf.update(
        # The embedded broker is kombu's filesystem transport with atomic publishing.
        broker_url=f"{embedded_transport.SCHEME}://" if settings.embedded else settings.broker_url,
        result_backend=settings.effective_result_backend,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
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
