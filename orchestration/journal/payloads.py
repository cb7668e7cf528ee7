"""What a step records: one frozen payload type per kind of step, and the one codec between them
and the journal's JSON column (``steps.result``).

An LLM turn records a :class:`TurnPayload` (the model's answer, the fallback chain's attempts
and skips, what compaction cut, the models asked and answered, the cost); a tool call a
:class:`ToolPayload` (what the tool returned, or a reviewer's rejection in its place); an
approval an :class:`ApprovalDecision`. A step of any kind that its run's stop kept from running
records a :class:`StopPayload`. A pending, waiting or failed tool step records none.

:func:`encode` and :func:`decode` are the only code that writes or reads that JSON. Its shape
is the journal's stored format, unchanged by these types: a row written before them reads back
(``tests/test_legacy_journal.py`` opens a journal written by the older code), and
``encode(decode(kind, data)) == data`` for each result the runtime writes. A key an older row
lacks reads as its default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, ValidationError

from orchestration.errors import JournalError
from orchestration.journal.tables import RunStatus, StepKind

__all__ = [
    "ApprovalDecision",
    "Attempt",
    "Compaction",
    "ModelReply",
    "Skip",
    "StepPayload",
    "StopPayload",
    "ToolCall",
    "ToolPayload",
    "TurnPayload",
    "Usage",
    "decode",
    "encode",
]


@dataclass(frozen=True)
class ToolCall:
    """A tool call as the model wrote it; ``arguments`` is the raw JSON text, unvalidated."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    """Tokens a call used.

    ``input_tokens`` counts the whole prompt, cached tokens included; ``cached_tokens`` is the
    part read from the provider's prompt cache (billed lower, see :mod:`orchestration.llm.pricing`).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class ModelReply:
    """A model's answer: final text, or tool calls to make first."""

    text: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str = ""

    def to_record(self) -> dict[str, Any]:
        """The answer as JSON: the first part of its turn's result, and a response cache entry."""
        return {
            "text": self.text,
            "tool_calls": [
                {"id": c.call_id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ],
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cached_tokens": self.usage.cached_tokens,
            },
            "model": self.model,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ModelReply:
        """Read an answer back from its JSON (replays never ask the model again)."""
        usage = record.get("usage") or {}
        return cls(
            text=record.get("text"),
            tool_calls=tuple(
                ToolCall(c["id"], c["name"], c["arguments"]) for c in record.get("tool_calls") or ()
            ),
            usage=Usage(**usage),
            model=record.get("model") or "",
        )


@dataclass(frozen=True)
class Attempt:
    """One try at one deployment, as its turn records it.

    Attributes:
        deployment: ``provider:model``.
        number: 1 for the first try.
        outcome: ``ok``, ``retry`` (failed, tried again) or ``failed`` (failed, given up).
        error: the error's message, for anything but ``ok``.
        status: the HTTP status, when there was one.
        waited_s: seconds slept after this attempt before the next.
        took_s: seconds the attempt took.
    """

    deployment: str
    number: int
    outcome: str
    error: str | None = None
    status: int | None = None
    waited_s: float = 0.0
    took_s: float = 0.0


@dataclass(frozen=True)
class Skip:
    """A deployment the fallback chain passed over, and why."""

    deployment: str
    reason: str


@dataclass(frozen=True)
class Compaction:
    """What fitting a turn's conversation to the model's window cut.

    Attributes:
        elided_tool_outputs: older tool outputs replaced by a one-line note.
        dropped_older_steps: older steps were left out altogether.
        tokens: the conversation's tokens once fitted.
    """

    elided_tool_outputs: int
    dropped_older_steps: bool
    tokens: int


@dataclass(frozen=True)
class TurnPayload:
    """What an LLM turn records.

    Attributes:
        reply: the model's answer; None when no deployment answered (the step failed).
        deployment: the deployment that answered, or the one whose refusal ended the chain;
            None when the chain ran out.
        attempts: every try at every deployment, in order.
        skipped: the deployments the chain passed over, and why.
        compacted: the conversation was cut to fit the window.
        compaction: what was cut, when anything was.
        requested_model: the model asked for.
        returned_model: the model that answered.
        drift: the model that answered is not the one asked for.
        cost_usd: what the answer cost at the price table ``prices``; None when unknown.
        prices: the version of the price table the cost was worked out with.

    Every field after ``skipped`` is recorded only with an answer.
    """

    reply: ModelReply | None
    deployment: str | None = None
    attempts: tuple[Attempt, ...] = ()
    skipped: tuple[Skip, ...] = ()
    compacted: bool = False
    compaction: Compaction | None = None
    requested_model: str | None = None
    returned_model: str | None = None
    drift: bool = False
    cost_usd: Decimal | None = None
    prices: str | None = None


@dataclass(frozen=True)
class ToolPayload:
    """What a tool call records: what the tool returned (any JSON value), or, in its place, a
    reviewer's rejection (what the model then reads as the call's result).

    Attributes:
        output: the tool's JSON-ready return value.
    """

    output: Any

    @classmethod
    def rejection(cls, reason: str) -> ToolPayload:
        """The result of a call a reviewer rejected."""
        return cls({"rejected": True, "reason": reason})

    @property
    def rejected(self) -> bool:
        """True for a call a reviewer rejected (its output says so)."""
        return isinstance(self.output, dict) and bool(self.output.get("rejected"))


class ApprovalDecision(BaseModel):
    """A person's (or a timeout's) decision on one tool call: what an approval step records.

    Attributes:
        approved: True to run the call, False to reject it.
        reviewer: who decided: the API key's name, the CLI user, or ``timeout``.
        decided_at: when (UTC).
        reason: why; on a rejection the model reads it as the call's result.
        arguments: the JSON arguments as approved, when a reviewer edited them.
    """

    model_config = ConfigDict(frozen=True)

    approved: bool
    reviewer: str = ""
    decided_at: datetime | None = None
    reason: str = ""
    arguments: str | None = None

    @classmethod
    def of(cls, result: StepPayload | None) -> ApprovalDecision:
        """The decision an approval step recorded (none recorded reads as a rejection)."""
        if isinstance(result, ApprovalDecision):
            return result
        return cls(approved=False, reviewer="", reason="no decision recorded")


@dataclass(frozen=True)
class StopPayload:
    """What a step records when its run was stopped instead of running it (a budget reached,
    an agent that cannot be served); the reason is the step's ``error``.

    Attributes:
        status: the status the run ended with.
    """

    status: RunStatus


StepPayload = TurnPayload | ToolPayload | ApprovalDecision | StopPayload
"""Any step's recorded result."""


@overload
def encode(payload: StepPayload) -> dict[str, Any]: ...
@overload
def encode(payload: None) -> None: ...
def encode(payload: StepPayload | None) -> dict[str, Any] | None:
    """The JSON the journal stores for ``payload`` (None stores none)."""
    if payload is None:
        return None
    if isinstance(payload, TurnPayload):
        return _turn_json(payload)
    if isinstance(payload, ToolPayload):
        return {"output": payload.output}
    if isinstance(payload, StopPayload):
        return {"stopped": payload.status.value}
    return payload.model_dump(mode="json")


def decode(kind: StepKind | str, data: Mapping[str, Any] | None) -> StepPayload | None:
    """The payload a step of ``kind`` stored as ``data`` (None, or an empty object: none).

    Raises:
        JournalError: ``data`` is no result a step of ``kind`` records (a row written by other
            code), naming its keys.
    """
    if not data:
        return None
    if "stopped" in data:
        return StopPayload(RunStatus(data["stopped"]))
    step_kind = StepKind(kind)
    if step_kind == StepKind.TOOL and "output" in data:
        return ToolPayload(data["output"])
    if step_kind == StepKind.LLM and _TURN_KEYS.intersection(data):
        return _turn_of(data)
    if step_kind == StepKind.APPROVAL:
        try:
            return ApprovalDecision.model_validate(data)
        except ValidationError:
            pass
    raise JournalError(
        f"this {step_kind.value} step's result holds keys {sorted(data)}, which no "
        f"{step_kind.value} step records. Fix: the row was written by other code; read it with "
        "that code."
    )


# Any one of these marks an LLM turn's result: an answer's, or a chain's that got none.
_TURN_KEYS = frozenset({"text", "tool_calls", "deployment", "attempts"})


def _turn_json(turn: TurnPayload) -> dict[str, Any]:
    chain = {
        "deployment": turn.deployment,
        "attempts": [dataclasses.asdict(a) for a in turn.attempts],
        "skipped": [dataclasses.asdict(s) for s in turn.skipped],
    }
    if turn.reply is None:
        return chain
    compaction = turn.compaction
    return (
        turn.reply.to_record()
        | chain
        | {
            "compacted": turn.compacted,
            "compaction": None if compaction is None else dataclasses.asdict(compaction),
            "requested_model": turn.requested_model,
            "returned_model": turn.returned_model,
            "drift": turn.drift,
            "cost_usd": None if turn.cost_usd is None else str(turn.cost_usd),
            "prices": turn.prices,
        }
    )


def _turn_of(data: Mapping[str, Any]) -> TurnPayload:
    answered = "text" in data or "tool_calls" in data
    compaction = data.get("compaction")
    cost = data.get("cost_usd")
    return TurnPayload(
        reply=ModelReply.from_record(data) if answered else None,
        deployment=data.get("deployment"),
        attempts=tuple(_attempt(a) for a in data.get("attempts") or ()),
        skipped=tuple(Skip(s["deployment"], s["reason"]) for s in data.get("skipped") or ()),
        compacted=bool(data.get("compacted", False)),
        compaction=None if compaction is None else Compaction(**compaction),
        requested_model=data.get("requested_model"),
        returned_model=data.get("returned_model"),
        drift=bool(data.get("drift", False)),
        cost_usd=None if cost is None else Decimal(str(cost)),
        prices=data.get("prices"),
    )


def _attempt(data: Mapping[str, Any]) -> Attempt:
    return Attempt(
        deployment=data["deployment"],
        number=data["number"],
        outcome=data["outcome"],
        error=data.get("error"),
        status=data.get("status"),
        waited_s=data.get("waited_s", 0.0),
        took_s=data.get("took_s", 0.0),
    )
