"""The tracer provider: set up once per process from the settings and the ``OTEL_*`` variables.

Every span leaves through :class:`RedactingExporter`, which runs the one
:class:`~orchestration.observability._redaction.Redactor` over names, attributes, events and
status messages, so nothing the runtime or an instrumentation library records can carry
personal data or a secret out of the process. :func:`run_parent` gives the context a step's
spans hang under: the run's root span, rebuilt from the journaled trace id; the root span itself
is written once, when the run ends, with the id every earlier span already named as parent
(:func:`emit_root`).

Importing this module needs the ``otel`` extra; :func:`~orchestration.observability._middleware.
observability_middleware` imports it only when an exporter is configured.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, TraceFlags
from opentelemetry.util.types import AttributeValue

from orchestration.config import ObservabilitySettings
from orchestration.observability._exporters import chosen, span_exporter
from orchestration.observability._redaction import Redactor
from orchestration.trace_context import root_span_id_for, trace_id_for

__all__ = [
    "SCOPE",
    "RedactingExporter",
    "emit_root",
    "flush_traces",
    "provider_for",
    "provider_key",
    "run_parent",
    "service_resource",
    "shutdown",
    "tracing_enabled",
]

SCOPE = "chordline"

# Set around the one span whose ids are fixed in advance: the run's root span.
_preset: ContextVar[tuple[int, int] | None] = ContextVar("chordline_preset_ids", default=None)
_lock = threading.Lock()
_providers: dict[tuple[int, str], TracerProvider] = {}


class _PresetIds(RandomIdGenerator):
    """Random ids, except for a root span whose ids the run already promised its children."""

    def generate_span_id(self) -> int:
        preset = _preset.get()
        return preset[1] if preset else super().generate_span_id()

    def generate_trace_id(self) -> int:
        preset = _preset.get()
        return preset[0] if preset else super().generate_trace_id()


class RedactingExporter(SpanExporter):
    """Redacts every span, then hands it to the real exporter.

    Args:
        inner: the exporter that sends spans out.
        redactor: what removes personal data and secrets.
    """

    def __init__(self, inner: SpanExporter, redactor: Redactor) -> None:
        self.inner = inner
        self.redactor = redactor

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export ``spans`` redacted."""
        return self.inner.export([self._redacted(span) for span in spans])

    def shutdown(self) -> None:
        """Shut the real exporter down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the real exporter."""
        return self.inner.force_flush(timeout_millis)

    def _value(self, value: AttributeValue) -> AttributeValue:
        if isinstance(value, str):
            return self.redactor.text(value)
        # An attribute's sequence holds one type: text is redacted, numbers and flags pass.
        if isinstance(value, Sequence) and any(isinstance(v, str) for v in value):
            return [self.redactor.text(str(v)) for v in value]
        return value

    def _attributes(
        self, attributes: Mapping[str, AttributeValue] | None
    ) -> dict[str, AttributeValue]:
        return {k: self._value(v) for k, v in (attributes or {}).items()}

    def _redacted(self, span: ReadableSpan) -> ReadableSpan:
        status = span.status
        if status.description:
            status = Status(status.status_code, self.redactor.text(status.description))
        return ReadableSpan(
            name=self.redactor.text(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes),
            events=[
                Event(e.name, self._attributes(e.attributes), e.timestamp) for e in span.events
            ],
            links=span.links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )


def service_resource() -> Resource:
    """The process's resource: the OTEL variables' attributes, ``chordline`` as default name."""
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win; "chordline" only fills the gap.
    named = "OTEL_SERVICE_NAME" in os.environ or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    return Resource.create({} if named else {"service.name": "chordline"})


def tracing_enabled(settings: ObservabilitySettings) -> bool:
    """True when spans are exported (``CHORDLINE_TRACE_EXPORTER`` or ``OTEL_TRACES_EXPORTER``)."""
    return chosen(settings.trace_exporter, "traces") != "none"


def provider_key(
    settings: ObservabilitySettings, redactor: Redactor | None = None
) -> tuple[int, str]:
    """This process, these settings (their JSON: settings hold maps, which do not hash) and the
    redactor's secrets: providers are per process, since an export thread does not survive a
    fork."""
    secrets = "" if redactor is None else redactor.fingerprint
    return os.getpid(), settings.model_dump_json() + secrets


def provider_for(settings: ObservabilitySettings, redactor: Redactor) -> TracerProvider | None:
    """This process's tracer provider for ``settings``, its spans passed through ``redactor``
    (None when tracing is off).

    Built once per process (a forked worker child builds its own: the parent's export thread
    does not survive the fork) and installed as the global provider when none is set yet.
    """
    kind = chosen(settings.trace_exporter, "traces")
    if kind == "none":
        return None
    key = provider_key(settings, redactor)
    with _lock:
        if key in _providers:
            return _providers[key]
        # The GenAI conventions' latest attribute names, where instrumentations read the switch.
        os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
        provider = TracerProvider(resource=service_resource(), id_generator=_PresetIds())
        exporter = RedactingExporter(span_exporter(kind), redactor)
        # The console is for a person watching; a collector gets batches (OTEL_BSP_* tune them).
        processor = (
            SimpleSpanProcessor(exporter) if kind == "console" else BatchSpanProcessor(exporter)
        )
        provider.add_span_processor(processor)
        with contextlib.suppress(Exception):  # a provider set by the application stays
            if not isinstance(trace.get_tracer_provider(), TracerProvider):
                trace.set_tracer_provider(provider)
        _providers[key] = provider
        return provider


def flush_traces(timeout_ms: int = 2000) -> None:
    """Export what this process's providers still hold (a worker child about to exit)."""
    for (pid, _), provider in list(_providers.items()):
        if pid == os.getpid():
            provider.force_flush(timeout_ms)


def run_parent(run_id: str, trace_id: str | None) -> otel_context.Context:
    """The context a step's spans start in: under the current span when it belongs to the run's
    trace (the Celery task span), else directly under the run's root span."""
    wanted = int(trace_id or trace_id_for(run_id), 16)
    current = trace.get_current_span().get_span_context()
    if current.is_valid and current.trace_id == wanted:
        return otel_context.get_current()
    root = SpanContext(
        trace_id=wanted,
        span_id=int(root_span_id_for(run_id), 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(root), otel_context.Context())


@contextlib.contextmanager
def _preset_ids(trace_id: int, span_id: int) -> Iterator[None]:
    token = _preset.set((trace_id, span_id))
    try:
        yield
    finally:
        _preset.reset(token)


def emit_root(
    tracer: trace.Tracer,
    *,
    run_id: str,
    trace_id: str | None,
    name: str,
    started: datetime,
    ended: datetime,
    attributes: Mapping[str, AttributeValue],
    error: str | None,
) -> None:
    """Write the run's root span, spanning its whole life, under the ids its children used.

    Args:
        tracer: the tracer.
        run_id: the run.
        trace_id: the journaled trace id (None: derived from the run id).
        name: ``invoke_agent {agent}``.
        started: when the run was created.
        ended: when it finished.
        attributes: the span's attributes.
        error: the run's error, when it did not succeed.
    """
    ids = (int(trace_id or trace_id_for(run_id), 16), int(root_span_id_for(run_id), 16))
    with _preset_ids(*ids):
        span = tracer.start_span(
            name,
            context=otel_context.Context(),
            kind=trace.SpanKind.INTERNAL,
            attributes=attributes,
            start_time=int(started.timestamp() * 1e9),
        )
    if error is not None:
        span.set_status(Status(trace.StatusCode.ERROR, error))
    span.end(end_time=max(int(ended.timestamp() * 1e9), int(started.timestamp() * 1e9)))


def shutdown(settings: ObservabilitySettings, redactor: Redactor) -> None:
    """Export what the provider for ``settings`` and ``redactor`` holds and stop it (a process
    or test ending)."""
    with _lock:
        provider = _providers.pop(provider_key(settings, redactor), None)
    if provider is not None:
        provider.shutdown()
