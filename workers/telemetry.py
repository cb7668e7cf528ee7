"""The worker's telemetry: tracing, Celery's OpenTelemetry spans, redacted (JSON) logs.

Connected from :mod:`workers.tasks`. A prefork child sets up in ``worker_process_init`` (the
parent's export threads do not survive a fork); threads and solo pools set up in
``worker_init``. Celery's own instrumentation (``opentelemetry-instrumentation-celery``) adds
the messaging spans, under the run's root span because every step message carries the run's
``traceparent`` (see :func:`orchestration.canvas.dispatch`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)
from celery.worker.request import Request

from orchestration import canvas
from orchestration.config import current_settings
from orchestration.observability import chosen, configure_logging, redactor_for

__all__ = ["RunRequest", "instrument"]

log = logging.getLogger("chordline.telemetry")
_instrumented: set[int] = set()


class RunRequest(Request):
    """``chordline.agent.run`` as Flower sees it once a worker has it: the agent, the run id and
    the input's size, never the customer's text (its sender may have set no ``argsrepr``)."""

    @property
    def argsrepr(self) -> str:
        """The agent, the run id and the input's length."""
        return canvas.run_task_repr(self.id, *_arguments(self))[0]

    @property
    def kwargsrepr(self) -> str:
        """The keyword arguments but the input."""
        return canvas.run_task_repr(self.id, *_arguments(self))[1]


def _arguments(request: Request) -> tuple[tuple[Any, ...], dict[str, Any]]:
    args, kwargs = getattr(request, "args", ()), getattr(request, "kwargs", {})
    return (
        tuple(args) if isinstance(args, list | tuple) else (),
        dict(kwargs) if isinstance(kwargs, dict) else {},
    )


def instrument() -> None:
    """Set up this process's tracing and Celery's spans once (no-op with tracing off)."""
    settings = current_settings()
    if os.getpid() in _instrumented or chosen(settings.trace_exporter, "traces") == "none":
        return
    _instrumented.add(os.getpid())
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    from orchestration.observability import provider_for

    provider = provider_for(settings.observability, redactor_for(settings))
    # The instrumentation ships without type hints.
    instrumentor_type: Any = CeleryInstrumentor
    instrumentor = instrumentor_type()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


@worker_process_init.connect
def _on_process_init(**_: Any) -> None:
    instrument()


@worker_init.connect
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    # A prefork parent runs no task: its children set up after the fork instead.
    if "prefork" not in str(getattr(sender, "pool_cls", "prefork")).lower():
        instrument()


@worker_process_shutdown.connect
def _on_process_shutdown(**_: Any) -> None:
    if os.getpid() not in _instrumented:
        return
    from orchestration.observability import flush_traces

    flush_traces()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _on_logging(logger: logging.Logger | None = None, **_: Any) -> None:
    settings = current_settings()
    configure_logging(settings.observability, redactor_for(settings), logger)
