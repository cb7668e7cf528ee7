"""Giving feedback on a run and reading it back: the checks every door shares."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from orchestration.errors import FeedbackError
from orchestration.feedback import store
from orchestration.feedback.store import FeedbackCounts, FeedbackRecord
from orchestration.storable_text import FIX, escaped, unstorable

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = [
    "COMMENT_MAX_CHARS",
    "GIVER_MAX_CHARS",
    "LABEL_MAX_CHARS",
    "MAX_LABELS",
    "check_score",
    "feedback_counts",
    "feedback_of",
    "give_feedback",
]

COMMENT_MAX_CHARS = 4000
"""The longest comment kept."""

MAX_LABELS = 20
"""The most labels one piece of feedback carries."""

LABEL_MAX_CHARS = 64
"""The longest label."""

GIVER_MAX_CHARS = 128
"""The longest giver's name (an API key's name is at most 64)."""

_SCORE_FIX = "send 1 (up), -1 (down) or a grade from 0 to 1, e.g. 0.8"


def check_score(score: object) -> float:
    """``score`` as a float when it is 1, -1 or from 0 to 1.

    Raises:
        FeedbackError: anything else (a bool, text, NaN, 2, -0.5), naming the fix.
    """
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise FeedbackError(f"score: {score!r} is not a number. Fix: {_SCORE_FIX}.", field="score")
    value = float(score)
    if math.isfinite(value) and (value in (1.0, -1.0) or 0.0 <= value <= 1.0):
        return value
    raise FeedbackError(
        f"score: {score!r} is neither 1, -1 nor a grade from 0 to 1. Fix: {_SCORE_FIX}.",
        field="score",
    )


def _check_text(field: str, text: str, limit: int, where: str | None = None) -> str:
    """``text`` when it can be stored and is at most ``limit`` characters; ``where`` names it
    in the message (``labels[2]``) when it is not the whole field."""
    shown = where or field
    reason = unstorable(text)
    if reason is not None:
        raise FeedbackError(f"{shown}: {escaped(reason)}. Fix: {FIX}.", field=field)
    if len(text) > limit:
        raise FeedbackError(
            f"{shown}: {len(text)} characters, over the {limit} kept. Fix: shorten it.",
            field=field,
        )
    return text


def _check_labels(labels: Iterable[str]) -> tuple[str, ...]:
    if isinstance(labels, str):
        raise FeedbackError(
            'labels: a single string. Fix: send a list of labels, e.g. ["wrong-tool"].',
            field="labels",
        )
    kept: list[str] = []
    for index, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise FeedbackError(
                f"labels[{index}]: {label!r} is not a label. Fix: send non-empty text.",
                field="labels",
            )
        text = _check_text("labels", label.strip(), LABEL_MAX_CHARS, f"labels[{index}]")
        if text not in kept:
            kept.append(text)
    if len(kept) > MAX_LABELS:
        raise FeedbackError(
            f"labels: {len(kept)} labels, over the {MAX_LABELS} kept. Fix: send fewer.",
            field="labels",
        )
    return tuple(kept)


def give_feedback(
    journal: Journal,
    run_id: str,
    *,
    tenant: str | None,
    giver: str,
    score: float,
    comment: str | None = None,
    labels: Iterable[str] = (),
) -> FeedbackRecord:
    """Record ``giver``'s feedback on a run; their later feedback on it replaces this one.

    Args:
        journal: the journal.
        run_id: the run (whole id).
        tenant: the tenant the run must belong to; None for any (an operator, the CLI).
        giver: who gives it: an API key's name, or the CLI's ``--giver``.
        score: 1 (up), -1 (down) or a grade from 0 to 1.
        comment: what they want to say (at most :data:`COMMENT_MAX_CHARS` characters).
        labels: short tags such as ``wrong-tool`` (at most :data:`MAX_LABELS`, each at most
            :data:`LABEL_MAX_CHARS` characters; repeats are dropped).

    Returns:
        The feedback as stored, with when it was first and last given.

    Raises:
        RunNotFound: no such run for that tenant (another tenant's run is not found either).
        FeedbackError: the score, comment, labels or giver are invalid, naming the fix.
    """
    value = check_score(score)
    checked_comment = None
    if comment is not None and comment.strip():
        checked_comment = _check_text("comment", comment, COMMENT_MAX_CHARS)
    checked_labels = _check_labels(labels)
    if not giver.strip():
        raise FeedbackError("giver: empty. Fix: name who gives the feedback.", field="giver")
    checked_giver = _check_text("giver", giver, GIVER_MAX_CHARS)
    run = journal.get_run(run_id, tenant)
    return store.upsert_feedback(
        journal,
        run_id=run.id,
        tenant=run.tenant,
        giver=checked_giver,
        score=value,
        comment=checked_comment,
        labels=checked_labels,
    )


def feedback_of(journal: Journal, run_id: str) -> list[FeedbackRecord]:
    """Every giver's feedback on a run, the first given first (the caller checked the run is
    the tenant's)."""
    return store.select_feedback(journal, run_id)


def feedback_counts(journal: Journal, run_ids: Sequence[str]) -> dict[str, FeedbackCounts]:
    """Up and down counts of each run in ``run_ids``, for listings (one query per 500 runs).

    A score of at least :data:`~orchestration.feedback.store.UP_AT` (0.5) counts as up, any
    lower as down; a run without feedback has ``FeedbackCounts(0, 0)``.
    """
    found = store.count_feedback(journal, run_ids)
    return {run_id: found.get(run_id, FeedbackCounts()) for run_id in run_ids}
