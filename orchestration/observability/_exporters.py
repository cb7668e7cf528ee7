"""Which exporter a signal uses: Chordline's setting first, then the standard ``OTEL_*`` ones.

``CHORDLINE_TRACE_EXPORTER`` / ``CHORDLINE_METRICS_EXPORTER`` pick ``none``, ``console``,
``otlp``, ``otlp_http`` or ``otlp_grpc``; left empty, ``OTEL_TRACES_EXPORTER`` /
``OTEL_METRICS_EXPORTER`` decide, as every OpenTelemetry user expects (``none`` when unset).
``otlp`` takes its protocol from ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``http/protobuf`` by
default). Endpoints, headers, timeouts and compression are the exporters' own ``OTEL_EXPORTER_*``
variables; ``OTEL_SDK_DISABLED=true`` turns everything off.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from orchestration.errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["ExporterKind", "chosen", "metric_exporter", "otel_installed", "span_exporter"]

ExporterKind = Literal["none", "console", "otlp_http", "otlp_grpc"]

_KINDS: dict[str, ExporterKind] = {
    "none": "none",
    "console": "console",
    "otlp_http": "otlp_http",
    "otlp_grpc": "otlp_grpc",
}
_ENV = {"traces": "OTEL_TRACES_EXPORTER", "metrics": "OTEL_METRICS_EXPORTER"}
_SETTING = {"traces": "CHORDLINE_TRACE_EXPORTER", "metrics": "CHORDLINE_METRICS_EXPORTER"}


def otel_installed() -> bool:
    """True when the ``otel`` extra (the OpenTelemetry SDK) is installed."""
    import importlib.util

    return importlib.util.find_spec("opentelemetry.sdk") is not None


def chosen(setting: str, signal: Literal["traces", "metrics"]) -> ExporterKind:
    """The exporter for ``signal`` given Chordline's ``setting`` (empty: the OTEL variable).

    Raises:
        ConfigError: an unknown OTEL exporter name, or an exporter without the ``otel`` extra.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return "none"
    name = setting or os.environ.get(_ENV[signal], "").split(",")[0].strip().lower() or "none"
    if name == "otlp":
        protocol = os.environ.get(
            f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL",
            os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        )
        name = "otlp_grpc" if protocol.strip() == "grpc" else "otlp_http"
    kind = _KINDS.get(name)
    if kind is None:
        raise ConfigError(
            f"{_ENV[signal]}={name} is not an exporter Chordline knows. Fix: set it (or "
            f"{_SETTING[signal]}) to none, console or otlp."
        )
    if kind != "none" and not otel_installed():
        raise ConfigError(
            f"exporting {signal} to {name} needs OpenTelemetry. Fix: pip install "
            f"'chordline[otel]', or set {_SETTING[signal]}=none."
        )
    return kind


def span_exporter(kind: ExporterKind) -> SpanExporter:
    """A span exporter of ``kind`` (not ``none``), configured by the OTEL variables."""
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind == "otlp_grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HTTPSpanExporter,
    )

    return HTTPSpanExporter()


def metric_exporter(kind: ExporterKind) -> MetricExporter:
    """A metric exporter of ``kind`` (not ``none``), configured by the OTEL variables."""
    if kind == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    if kind == "otlp_grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HTTPMetricExporter,
    )

    return HTTPMetricExporter()
