"""Which runs' text is recorded: on their spans, and in full on the console's run page.

Content capture (``CHORDLINE_TRACE_CONTENT``) covers a share of runs
(``CHORDLINE_TRACE_CONTENT_SAMPLE``) chosen by a hash of the run id, so every process (the
worker writing spans, the API drawing a page) picks the same runs without asking another.
"""

from __future__ import annotations

import hashlib

from orchestration.config.observability import ObservabilitySettings

__all__ = ["content_recorded", "sampled"]


def sampled(run_id: str, share: float) -> bool:
    """True when run ``run_id`` falls in the ``share`` (0-1) of runs whose text is recorded:
    the same answer in every process, from a hash of the id."""
    if share <= 0:
        return False
    bucket = int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < share


def content_recorded(settings: ObservabilitySettings, run_id: str) -> bool:
    """True when content capture is on and run ``run_id`` is in its sample."""
    return settings.trace_content and sampled(run_id, settings.trace_content_sample)
