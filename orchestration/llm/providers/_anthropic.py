"""Anthropic through the official SDK: Messages with ``tool_use`` / ``tool_result`` blocks.

As for OpenAI, the SDK's retries are off and failures are sorted into retryable (429, 5xx, 529
overloaded, timeouts, lost connections) and not (the message names the fix). Token counts are
the documented estimate of :mod:`orchestration.llm.providers.tokens`: Anthropic has no offline
tokenizer, and its counting endpoint would cost a round trip per count.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic

from orchestration.config import LlmSettings
from orchestration.errors import ProviderRejected
from orchestration.llm.providers._sdk import api_key, sdk_failures
from orchestration.llm.providers.base import Message, ModelReply, ModelRequest, ToolCall, Usage
from orchestration.llm.providers.tokens import estimate_tokens

__all__ = ["AnthropicProvider"]

_WINDOW = 200_000


def _input_of(arguments: str) -> dict[str, Any]:
    """The ``input`` object of a ``tool_use`` block. The model's raw text may not be a JSON
    object (that is why the call failed); the API still needs one, so wrap the text."""
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return {"unparsed_arguments": arguments[:2000]}
    return value if isinstance(value, dict) else {"unparsed_arguments": arguments[:2000]}


def _assistant(message: Message) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.call_id,
                "name": call.name,
                "input": _input_of(call.arguments),
            }
        )
    return {"role": "assistant", "content": blocks or [{"type": "text", "text": "(no text)"}]}


def _messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Chordline's conversation as Messages API turns: consecutive tool results become the
    ``tool_result`` blocks of one user turn, and same-role neighbours are merged."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant":
            entry = _assistant(message)
        elif message.role == "tool":
            entry = {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": message.tool_call_id or "",
                        "content": message.content,
                        "is_error": message.is_error,
                    }
                ],
            }
        else:
            entry = {"role": "user", "content": [{"type": "text", "text": message.content}]}
        if out and out[-1]["role"] == entry["role"]:
            out[-1]["content"].extend(entry["content"])
        else:
            out.append(entry)
    return out


class AnthropicProvider:
    """One Anthropic model behind the :class:`LLMProvider` interface.

    Args:
        settings: key, base URL, timeout and output cap.
        model: the exact model this instance serves.
    """

    name = "anthropic"
    # Bounded by the token window alone (and CHORDLINE_CONTEXT_MAX_STEPS).
    max_context_steps: int | None = None
    tokenizer = "estimate (3.5 characters a token)"

    def __init__(self, settings: LlmSettings, model: str) -> None:
        self.model = model
        self.context_window = min(_WINDOW, settings.context_window_tokens or _WINDOW)
        self._max_output = settings.llm_max_output_tokens
        key = api_key(settings.anthropic_api_key, "ANTHROPIC_API_KEY")
        self._missing_key = not key
        self._client = anthropic.Anthropic(
            api_key=key or "missing",
            base_url=settings.anthropic_base_url or None,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,
        )

    def count_tokens(self, text: str) -> int:
        """Estimated tokens of ``text`` (see the module docstring)."""
        return estimate_tokens(text)

    def complete(self, request: ModelRequest) -> ModelReply:
        """Ask the model once (no retries here).

        Raises:
            ProviderUnavailable: a rate limit, overload, server error, timeout or lost
                connection.
            ProviderRejected: the key, model or request was refused.
        """
        if self._missing_key:
            raise ProviderRejected(
                "anthropic: no API key. Fix: set CHORDLINE_ANTHROPIC_API_KEY "
                "(or ANTHROPIC_API_KEY)."
            )
        kwargs: dict[str, Any] = {}
        if request.tools:
            kwargs["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        with sdk_failures("anthropic", request.model, anthropic):
            response = self._client.messages.create(
                model=request.model,
                system=request.system,
                messages=_messages(request.messages),  # type: ignore[arg-type]
                max_tokens=self._max_output,
                **kwargs,
            )
        return _reply(response)


def _reply(response: Any) -> ModelReply:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in response.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            raw = block.input
            arguments = raw if isinstance(raw, str) else json.dumps(raw)
            calls.append(ToolCall(block.id, block.name, arguments))
    usage = response.usage
    cache_read = usage.cache_read_input_tokens or 0
    cache_write = usage.cache_creation_input_tokens or 0
    return ModelReply(
        text="\n".join(texts) if texts else None,
        tool_calls=tuple(calls),
        usage=Usage(
            input_tokens=usage.input_tokens + cache_read + cache_write,
            output_tokens=usage.output_tokens,
            cached_tokens=cache_read,
        ),
        model=response.model or "",
    )
