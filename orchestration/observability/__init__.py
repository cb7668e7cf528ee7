"""Observability: traces, metrics, JSON logs, redaction, stats and alerts.

:func:`observability_middleware` is what the composition root
(:func:`orchestration.bootstrap.standard_middleware`) adds. Names are imported on first use;
OpenTelemetry (the ``otel`` extra) only by :func:`provider_for` and :func:`flush_traces`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.observability._exporters import chosen
    from orchestration.observability._logs import configure_logging
    from orchestration.observability._middleware import observability_middleware
    from orchestration.observability._redaction import Redactor, redactor_for
    from orchestration.observability._tracing import flush_traces, provider_for
    from orchestration.observability.alerts import (
        AlertRecord,
        Breach,
        check_alerts,
        deliver,
        find_breaches,
        record_alert,
    )
    from orchestration.observability.content import content_recorded
    from orchestration.observability.stats import (
        AgentStats,
        agent_stats,
        parse_since,
        tenant_spend,
    )
    from orchestration.trace_context import root_span_id_for, trace_id_for, traceparent_for

__all__ = [
    "AgentStats",
    "AlertRecord",
    "Breach",
    "Redactor",
    "agent_stats",
    "check_alerts",
    "chosen",
    "configure_logging",
    "content_recorded",
    "deliver",
    "find_breaches",
    "flush_traces",
    "observability_middleware",
    "parse_since",
    "provider_for",
    "record_alert",
    "redactor_for",
    "root_span_id_for",
    "tenant_spend",
    "trace_id_for",
    "traceparent_for",
]

_HOME = {
    **dict.fromkeys(
        ("AlertRecord", "Breach", "check_alerts", "deliver", "find_breaches", "record_alert"),
        "orchestration.observability.alerts",
    ),
    "chosen": "orchestration.observability._exporters",
    "configure_logging": "orchestration.observability._logs",
    "content_recorded": "orchestration.observability.content",
    "observability_middleware": "orchestration.observability._middleware",
    **dict.fromkeys(("Redactor", "redactor_for"), "orchestration.observability._redaction"),
    **dict.fromkeys(
        ("AgentStats", "agent_stats", "parse_since", "tenant_spend"),
        "orchestration.observability.stats",
    ),
    **dict.fromkeys(("flush_traces", "provider_for"), "orchestration.observability._tracing"),
    **dict.fromkeys(
        ("root_span_id_for", "trace_id_for", "traceparent_for"), "orchestration.trace_context"
    ),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
