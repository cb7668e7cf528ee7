"""The provider interface: messages and tool schemas in, text or tool calls with usage out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

# What a model answers is what its turn records: the journal's payload types.
from orchestration.journal.payloads import ModelReply, ToolCall, Usage

__all__ = ["LLMProvider", "Message", "ModelReply", "ModelRequest", "ToolCall", "ToolSpec", "Usage"]


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
