"""The HTTP API's response and request bodies (the run request itself is
:class:`orchestration.run_request.RunRequest`, the one contract of every door)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator

from orchestration.feedback import (
    COMMENT_MAX_CHARS,
    LABEL_MAX_CHARS,
    MAX_LABELS,
    FeedbackCounts,
    FeedbackRecord,
)
from orchestration.journal.approvals import ApprovalDecision, ApprovalView
from orchestration.journal.payloads import encode
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.run_request import refuse_unstorable

__all__ = [
    "ApprovalOut",
    "ApprovalPage",
    "DecisionIn",
    "DecisionOut",
    "FeedbackCountsOut",
    "FeedbackIn",
    "FeedbackOut",
    "Problem",
    "RunOut",
    "RunPage",
    "StepOut",
    "Totals",
    "problems",
]


class Problem(BaseModel):
    """Every error body: what went wrong and how to fix it."""

    detail: str
    decision: DecisionOut | None = None
    errors: list[dict[str, JsonValue]] | None = None
    known_agents: list[str] | None = None


class Totals(BaseModel):
    """What a run has used so far."""

    steps: int
    input_tokens: int
    output_tokens: int
    cost_usd: str | None


class FeedbackOut(BaseModel):
    """One giver's feedback on a run (their latest: it replaced any earlier one)."""

    run_id: str
    giver: str
    score: float
    comment: str | None
    labels: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: FeedbackRecord) -> FeedbackOut:
        """The API's view of stored feedback."""
        return cls(
            run_id=record.run_id,
            giver=record.giver,
            score=record.score,
            comment=record.comment,
            labels=list(record.labels),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class FeedbackCountsOut(BaseModel):
    """How many givers scored a run up (1, or a grade of at least 0.5) and how many down."""

    up: int
    down: int


class RunOut(BaseModel):
    """A run: status, answer, error, totals, what it ran with, and the feedback on it."""

    id: str
    tenant: str
    agent: str
    agent_version: str
    model: str
    status: str
    input: str
    answer: str | None
    error: str | None
    metadata: dict[str, JsonValue] | None
    session: str | None
    totals: Totals
    max_steps: int
    max_tokens: int | None
    max_usd: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    feedback_counts: FeedbackCountsOut
    feedback: list[FeedbackOut] | None = Field(
        None, description="every giver's feedback; null in listings, which carry the counts"
    )

    @classmethod
    def of(
        cls,
        run: RunRecord,
        metadata: dict[str, Any] | None,
        *,
        feedback: Sequence[FeedbackRecord] | None = None,
        counts: FeedbackCounts | None = None,
    ) -> RunOut:
        """The API's view of a journaled run, with its feedback (one run) or its counts (a
        listing)."""
        if counts is None:
            given = feedback or ()
            counts = FeedbackCounts(sum(f.up for f in given), sum(not f.up for f in given))
        return cls(
            id=run.id,
            tenant=run.tenant,
            agent=run.agent,
            agent_version=run.agent_version,
            model=run.model,
            status=run.status.value,
            input=run.input,
            answer=run.output,
            session=run.session,
            error=run.error,
            metadata=metadata,
            totals=Totals(
                steps=run.next_seq - 1,
                input_tokens=run.input_tokens,
                output_tokens=run.output_tokens,
                cost_usd=None if run.cost_usd is None else str(run.cost_usd),
            ),
            max_steps=run.max_steps,
            max_tokens=run.max_tokens,
            max_usd=None if run.max_usd is None else str(run.max_usd),
            created_at=run.created_at,
            updated_at=run.updated_at,
            finished_at=run.finished_at,
            feedback_counts=FeedbackCountsOut(up=counts.up, down=counts.down),
            feedback=None if feedback is None else [FeedbackOut.of(f) for f in feedback],
        )


class RunPage(BaseModel):
    """One page of runs, newest first."""

    runs: list[RunOut]
    next_cursor: str | None


class StepOut(BaseModel):
    """One step of a run's timeline."""

    seq: int
    turn: int
    kind: str
    name: str
    status: str
    arguments: str | None
    result: dict[str, JsonValue] | None
    error: str | None
    attempt: int
    model: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, step: StepRecord) -> StepOut:
        """The API's view of a journaled step."""
        return cls(
            seq=step.seq,
            turn=step.turn,
            kind=step.kind.value,
            name=step.name,
            status=step.status.value,
            arguments=step.arguments,
            result=encode(step.result),
            error=step.error,
            attempt=step.attempt,
            model=step.model,
            input_tokens=step.input_tokens,
            output_tokens=step.output_tokens,
            cost_usd=None if step.cost_usd is None else str(step.cost_usd),
            created_at=step.created_at,
            started_at=step.started_at,
            finished_at=step.finished_at,
        )


class DecisionOut(BaseModel):
    """A decision as journaled."""

    decision: Literal["approve", "reject"]
    decided_by: str
    decided_at: datetime | None
    reason: str
    arguments: JsonValue | None

    @classmethod
    def of(cls, decision: ApprovalDecision) -> DecisionOut:
        """The API's view of a recorded decision."""
        return cls(
            decision="approve" if decision.approved else "reject",
            decided_by=decision.reviewer,
            decided_at=decision.decided_at,
            reason=decision.reason,
            arguments=_json(decision.arguments),
        )


def _json(text: str | None) -> JsonValue | None:
    if text is None:
        return None
    try:
        value: JsonValue = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value


class ApprovalOut(BaseModel):
    """A tool call waiting (or that waited) for a person."""

    id: str
    run_id: str
    tenant: str
    tool: str
    arguments: JsonValue | None
    status: str
    run_status: str
    requested_at: datetime
    decision: DecisionOut | None

    @classmethod
    def of(cls, view: ApprovalView) -> ApprovalOut:
        """The API's view of an approval."""
        return cls(
            id=view.id,
            run_id=view.run_id,
            tenant=view.tenant,
            tool=view.tool,
            arguments=_json(view.arguments),
            status=view.state,
            run_status=view.run_status.value,
            requested_at=view.requested_at,
            decision=None if view.decision is None else DecisionOut.of(view.decision),
        )


class ApprovalPage(BaseModel):
    """Approvals, oldest first."""

    approvals: list[ApprovalOut]


class DecisionIn(BaseModel):
    """A decision on one approval."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str = Field("", max_length=2000)
    arguments: dict[str, JsonValue] | None = Field(
        None, description="edited arguments to run instead (approve only, where the tool allows)"
    )


class FeedbackIn(BaseModel):
    """Feedback on a run: a thumbs up (1) or down (-1), or a grade from 0 to 1."""

    model_config = ConfigDict(extra="forbid")

    score: float = Field(
        strict=True,
        allow_inf_nan=False,
        ge=-1,
        le=1,
        description="1 (up), -1 (down) or a grade from 0 to 1",
    )
    comment: str | None = Field(None, max_length=COMMENT_MAX_CHARS, strict=True)
    labels: list[Annotated[str, Field(min_length=1, max_length=LABEL_MAX_CHARS, strict=True)]] = (
        Field(default_factory=list, max_length=MAX_LABELS, description="short tags")
    )

    @field_validator("comment", "labels")
    @classmethod
    def _storable(cls, value: object, info: ValidationInfo) -> object:
        # A NUL cannot be stored (a lone surrogate is refused by the length check): a 422.
        return refuse_unstorable(value, info)


Problem.model_rebuild()


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: these statuses answer a :class:`Problem`."""
    return {status: {"model": Problem} for status in statuses}
