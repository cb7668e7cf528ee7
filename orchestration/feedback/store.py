"""Feedback's SQL: the only module that reads or writes ``run_feedback``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from orchestration.errors import RunNotFound
from orchestration.feedback.tables import RunFeedback
from orchestration.journal.engine import write
from orchestration.journal.tables import utcnow

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = [
    "UP_AT",
    "FeedbackCounts",
    "FeedbackRecord",
    "count_feedback",
    "select_feedback",
    "upsert_feedback",
]

UP_AT = 0.5
"""A score at or above this counts as up (1, or a grade of 0.5 to 1); below it as down."""

# Runs counted per statement: far below every database's limit on bound parameters.
_CHUNK = 500


@dataclass(frozen=True)
class FeedbackRecord:
    """One giver's feedback on one run, as stored.

    Attributes:
        run_id: the run.
        tenant: the run's tenant.
        giver: who gave it (an API key's name, or the CLI's ``--giver``).
        score: 1 (up), -1 (down) or a grade from 0 to 1.
        comment: what they wrote, if anything.
        labels: short tags (``wrong-tool``, ``too-slow``), in the order given.
        created_at: when this giver first gave feedback on the run.
        updated_at: when they last gave it (their latest replaced the earlier).
    """

    run_id: str
    tenant: str
    giver: str
    score: float
    comment: str | None
    labels: tuple[str, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def up(self) -> bool:
        """True for a thumbs up or a grade of at least :data:`UP_AT`."""
        return self.score >= UP_AT


@dataclass(frozen=True)
class FeedbackCounts:
    """How many givers thought a run good (``up``) and how many not (``down``)."""

    up: int = 0
    down: int = 0


def _record(row: Any) -> FeedbackRecord:
    return FeedbackRecord(
        run_id=row.run_id,
        tenant=row.tenant,
        giver=row.giver,
        score=float(row.score),
        comment=row.comment,
        labels=tuple(row.labels or ()),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def upsert_feedback(
    journal: Journal,
    *,
    run_id: str,
    tenant: str,
    giver: str,
    score: float,
    comment: str | None,
    labels: Sequence[str],
) -> FeedbackRecord:
    """Store ``giver``'s feedback on the run, replacing theirs of before (one statement).

    Raises:
        RunNotFound: the run was deleted meanwhile.
    """
    now = utcnow()
    values = {
        "score": score,
        "comment": comment,
        "labels": list(labels) or None,
        "updated_at": now,
    }
    dialect = postgresql if journal.engine.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(RunFeedback)
        .values(run_id=run_id, tenant=tenant, giver=giver, created_at=now, **values)
        .on_conflict_do_update(index_elements=["run_id", "giver"], set_=values)
        .returning(*RunFeedback.__table__.columns)
    )
    try:
        with write(journal.engine) as connection:
            row = connection.execute(statement).one()
    except IntegrityError:
        # The run's row is gone (the cleanup deleted it between the check and the write).
        raise RunNotFound(f"no run {run_id!r}. Fix: list runs with `chordline runs`.") from None
    return _record(row)


def select_feedback(journal: Journal, run_id: str) -> list[FeedbackRecord]:
    """Every giver's feedback on the run, the first given first."""
    query = (
        select(RunFeedback)
        .where(RunFeedback.run_id == run_id)
        .order_by(RunFeedback.created_at, RunFeedback.giver)
    )
    with journal.engine.connect() as connection:
        return [_record(row) for row in connection.execute(query)]


def count_feedback(journal: Journal, run_ids: Sequence[str]) -> dict[str, FeedbackCounts]:
    """Up and down counts of each run that has feedback (runs without any are left out)."""
    up = func.sum(case((RunFeedback.score >= UP_AT, 1), else_=0))
    down = func.sum(case((RunFeedback.score < UP_AT, 1), else_=0))
    counts: dict[str, FeedbackCounts] = {}
    unique = list(dict.fromkeys(run_ids))
    with journal.engine.connect() as connection:
        for start in range(0, len(unique), _CHUNK):
            query = (
                select(RunFeedback.run_id, up.label("up"), down.label("down"))
                .where(RunFeedback.run_id.in_(unique[start : start + _CHUNK]))
                .group_by(RunFeedback.run_id)
            )
            for row in connection.execute(query):
                counts[row.run_id] = FeedbackCounts(int(row.up), int(row.down))
    return counts
