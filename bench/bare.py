"""The baseline: bare Celery tasks with no journal, run by a plain ``celery worker``.

The app is configured like Chordline's own Celery app where that is about durability (acks late,
reject on worker loss, prefetch one, JSON) and monitoring (sent events; its worker runs with
``-E`` like ``chordline worker``), so the comparison measures what the journal and the loop add,
not a difference in Celery settings. It reads its broker and result backend from
``BENCH_BARE_*`` variables, which the benchmarks set when they start its worker:

    celery -A bench.bare worker -Q bench_bare -c 2
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_ready

from workers import embedded_transport  # noqa: F401  (registers the embedded broker's scheme)

__all__ = ["NAP", "NOOP", "QUEUE", "app", "create_app", "env_for"]

QUEUE = "bench_bare"
NOOP = "bench.noop"
NAP = "bench.nap"


def env_for(broker: str, backend: str, transport: dict[str, Any] | None = None) -> dict[str, str]:
    """The environment that points a bare worker at ``broker`` and ``backend``."""
    return {
        "BENCH_BARE_BROKER_URL": broker,
        "BENCH_BARE_RESULT_BACKEND": backend,
        "BENCH_BARE_TRANSPORT": json.dumps(transport or {}),
    }


def create_app(broker: str, backend: str, transport: dict[str, Any] | None = None) -> Celery:
    """A bare app; the benchmark process sends tasks by name through one of its own."""
    celery = Celery("bench_bare")
    celery.conf.update(
        broker_url=broker,
        result_backend=backend,
        broker_transport_options=transport or {},
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        # Chordline's producers announce each task to Flower; so does the baseline.
        task_send_sent_event=True,
        result_expires=3600,
        worker_hijack_root_logger=False,
    )
    # The embedded-mode baseline uses the same SQLite result backend as Chordline's embedded mode.
    celery.loader.override_backends = {
        "chordline-sqlite": "workers.embedded_backend:SQLiteResultBackend"
    }
    return celery


app = create_app(
    os.environ.get("BENCH_BARE_BROKER_URL", "redis://127.0.0.1:6379/11"),
    os.environ.get("BENCH_BARE_RESULT_BACKEND", "redis://127.0.0.1:6379/11"),
    json.loads(os.environ.get("BENCH_BARE_TRANSPORT", "{}")),
)


@app.task(name=NOOP)
def noop() -> float:
    """Do nothing; return when it started (epoch seconds)."""
    return time.time()


@app.task(name=NAP)
def nap(seconds: float) -> float:
    """Sleep; return when it started (epoch seconds)."""
    started = time.time()
    time.sleep(seconds)
    return started


@worker_ready.connect
def _on_ready(**_: Any) -> None:
    ready = os.environ.get("BENCH_READY_FILE")
    if ready:
        Path(ready).write_text(str(os.getpid()))
