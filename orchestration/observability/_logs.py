"""Log records: JSON lines with the run's context, or readable text; redacted either way.

``CHORDLINE_LOG_FORMAT=json`` writes one JSON object a line with ``time``, ``level``,
``logger``, ``message`` and, inside a step, ``run_id``, ``step``, ``agent``, ``tenant``,
``trace_id`` and ``span_id`` (the run's trace, also when no exporter is on, so logs and traces
join). ``text`` (the default) stays readable for a terminal. Every record, in both formats,
goes through the :class:`~orchestration.observability._redaction.Redactor` first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from orchestration.config import ObservabilitySettings
from orchestration.observability._redaction import Redactor
from orchestration.runtime import Middleware, StepInput, StepNext
from orchestration.trace_context import trace_id_for

if TYPE_CHECKING:
    from orchestration.reducer.planning import Progress

__all__ = [
    "JsonFormatter",
    "LogContext",
    "LogContextMiddleware",
    "RedactingFilter",
    "configure_logging",
    "log_context",
]


@dataclass(frozen=True)
class LogContext:
    """What a log line inside a step says about where it came from."""

    run_id: str
    step: int
    agent: str
    tenant: str
    trace_id: str


_current: ContextVar[LogContext | None] = ContextVar("chordline_log_context", default=None)


@contextmanager
def log_context(context: LogContext) -> Iterator[None]:
    """Attach ``context`` to every record logged inside the block (this thread or task)."""
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


class LogContextMiddleware(Middleware):
    """Puts the step's run, agent and tenant on every log record it writes."""

    def step(self, item: StepInput, call_next: StepNext) -> Progress:
        """Run the step inside its log context."""
        run = item.run
        context = LogContext(
            run.id, item.step.seq, run.agent, run.tenant, run.trace_id or trace_id_for(run.id)
        )
        with log_context(context):
            return call_next(item)


def _span_id() -> str | None:
    try:
        from opentelemetry import trace
    except ImportError:  # the otel extra is optional
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.span_id, "016x") if context.is_valid else None


class RedactingFilter(logging.Filter):
    """Redacts a record's message (arguments merged in) and exception text in place.

    Args:
        redactor: what removes personal data and secrets.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record``; never drops it."""
        if getattr(record, "_chordline_redacted", False):
            return True
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        record._chordline_redacted = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the step's context when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _current.get()
        if context is not None:
            line |= asdict(context)
            span_id = _span_id()
            if span_id is not None:
                line["span_id"] = span_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


def configure_logging(
    settings: ObservabilitySettings, redactor: Redactor, logger: logging.Logger | None = None
) -> None:
    """Give every handler of ``logger`` (the root logger by default) ``redactor``'s filter and,
    with ``CHORDLINE_LOG_FORMAT=json``, the JSON formatter; add a stderr handler if none."""
    target = logger or logging.getLogger()
    if not target.handlers:
        target.addHandler(logging.StreamHandler())
    redacting = RedactingFilter(redactor)
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
        if settings.log_format == "json":
            handler.setFormatter(JsonFormatter())
