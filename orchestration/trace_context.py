"""A run's trace context, derived from its id so that every process agrees without asking.

The run's trace id is journaled on the run when it is created (``runs.trace_id``); the root
span's id is a hash of the run id. Any worker, the sweeper re-driving the run after a crash and
the process that records an approval a day later all put their spans and Celery messages under
the same root, so a run stays one trace. Plain strings: importing this costs nothing, whether or
not OpenTelemetry is installed.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["root_span_id_for", "trace_id_for", "traceparent_for"]

_HEX32 = re.compile(r"[0-9a-f]{32}")


def trace_id_for(run_id: str) -> str:
    """The trace id (32 hex digits) of run ``run_id``: the UUID's own digits, else a hash."""
    digits = run_id.replace("-", "").lower()
    if _HEX32.fullmatch(digits) and digits != "0" * 32:
        return digits
    return hashlib.sha256(run_id.encode()).hexdigest()[:32]


def root_span_id_for(run_id: str) -> str:
    """The span id (16 hex digits) of run ``run_id``'s root ``invoke_agent`` span."""
    digest = hashlib.sha256(b"chordline-root:" + run_id.encode()).hexdigest()[:16]
    return digest if digest != "0" * 16 else "1" * 16


def traceparent_for(run_id: str, trace_id: str | None = None) -> str:
    """The W3C ``traceparent`` header that makes a task a child of the run's root span.

    Args:
        run_id: the run.
        trace_id: the journaled trace id, when the caller has it (else derived).
    """
    return f"00-{trace_id or trace_id_for(run_id)}-{root_span_id_for(run_id)}-01"
