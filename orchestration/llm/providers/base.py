"""The provider interface: messages and tool schemas in, text or tool calls with usage out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["LLMProvider", "Message", "ModelReply", "ModelRequest", "ToolCall", "ToolSpec", "Usage"]


@dataclass(frozen=True)
class ToolCall:
    """A tool call as the model wrote it; ``arguments`` is the raw JSON text, unvalidated."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    """One message of the conversation.

    ``role`` is ``user`` (the run's input), ``assistant`` (a model turn, text and/or tool calls)
    or ``tool`` (the result of one call, tied to it by ``tool_call_id``).
    """

    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False


@dataclass(frozen=True)
class ToolSpec:
    """What the model is told about one tool."""

    name: str
    description: str
    parameters: dict[str, Any]
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelRequest:
    """One call to a model.

    Attributes:
        model: the pinned model name (without the provider prefix).
        system: the system prompt.
        messages: the conversation, oldest first (possibly compacted to fit the window).
        tools: the tools on offer.
        turn: which LLM turn of the run this is, from 1.
    """

    model: str
    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...]
    turn: int = 1


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
        """The JSON the journal keeps for this answer."""
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
    def from_record(cls, record: dict[str, Any]) -> ModelReply:
        """Rebuild an answer from what the journal kept (replays never ask the model again)."""
        usage = record.get("usage") or {}
        return cls(
            text=record.get("text"),
            tool_calls=tuple(
                ToolCall(c["id"], c["name"], c["arguments"]) for c in record.get("tool_calls", [])
            ),
            usage=Usage(**usage),
            model=record.get("model", ""),
        )


class LLMProvider(Protocol):
    """Something that answers a :class:`ModelRequest`.

    One instance serves one model (``get_provider(name, model, settings)``), so its window and
    tokenizer are that model's. ``complete`` makes exactly one attempt: retries, breakers and
    fallbacks wrap it (:mod:`orchestration.llm.fallbacks`).
    """

    name: str
    context_window: int
    #: How many recent steps a turn reads for this model at most (None: as many as fit the
    #: window, up to CHORDLINE_CONTEXT_MAX_STEPS).
    max_context_steps: int | None

    def complete(self, request: ModelRequest) -> ModelReply:
        """Answer one request.

        Raises:
            ProviderError: the model could not answer.
        """
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` costs in this model's context (an estimate where no tokenizer)."""
        ...
