"""Which observability middlewares a worker runs: nothing at all when exporters are off and
logs are text, so a step then costs what it did before. OpenTelemetry (the ``otel`` extra) is
imported only when an exporter is on."""

from __future__ import annotations

from orchestration.config import ObservabilitySettings
from orchestration.observability._exporters import chosen
from orchestration.observability._redaction import Redactor
from orchestration.runtime import Middleware

__all__ = ["observability_middleware"]


def observability_middleware(
    settings: ObservabilitySettings, redactor: Redactor
) -> list[Middleware]:
    """The observability middleware ``settings`` ask for, outermost first (often none); spans
    leave through ``redactor``.

    Raises:
        ConfigError: an exporter is asked for without the ``otel`` extra, or is unknown.
    """
    found: list[Middleware] = []
    if settings.log_format == "json":
        from orchestration.observability._logs import LogContextMiddleware

        found.append(LogContextMiddleware())
    if chosen(settings.trace_exporter, "traces") != "none":
        from orchestration.observability._spans import TracingMiddleware
        from orchestration.observability._tracing import provider_for

        provider = provider_for(settings, redactor)
        if provider is not None:
            found.append(TracingMiddleware(provider, settings))
    if chosen(settings.metrics_exporter, "metrics") != "none":
        from orchestration.observability._metrics import MetricsMiddleware, meter_provider_for

        meters = meter_provider_for(settings)
        if meters is not None:
            found.append(MetricsMiddleware(meters))
    return found
