"""Feedback on runs: a thumbs up or down, or a grade from 0 to 1, with a comment and labels.

One row per run and giver (an API key's name, or the CLI's ``--giver``): a giver's later
feedback on a run replaces their earlier one. The HTTP API takes it at
``POST /v1/runs/{id}/feedback`` and shows it with the run; ``chordline feedback`` gives it and
``chordline status`` shows it. Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.feedback._give import (
        COMMENT_MAX_CHARS,
        LABEL_MAX_CHARS,
        MAX_LABELS,
        check_score,
        feedback_counts,
        feedback_of,
        give_feedback,
    )
    from orchestration.feedback.store import UP_AT, FeedbackCounts, FeedbackRecord

__all__ = [
    "COMMENT_MAX_CHARS",
    "LABEL_MAX_CHARS",
    "MAX_LABELS",
    "UP_AT",
    "FeedbackCounts",
    "FeedbackRecord",
    "check_score",
    "feedback_counts",
    "feedback_of",
    "give_feedback",
]

_HOME = {
    **dict.fromkeys(
        (
            "COMMENT_MAX_CHARS",
            "LABEL_MAX_CHARS",
            "MAX_LABELS",
            "check_score",
            "feedback_counts",
            "feedback_of",
            "give_feedback",
        ),
        "orchestration.feedback._give",
    ),
    **dict.fromkeys(("UP_AT", "FeedbackCounts", "FeedbackRecord"), "orchestration.feedback.store"),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
