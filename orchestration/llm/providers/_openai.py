"""OpenAI through the official SDK: Chat Completions with function tools.

The SDK's own retries are off (``max_retries=0``): Chordline's retry loop is the only one, so
every attempt is journaled. Its failures become :class:`ProviderUnavailable` (worth retrying)
or :class:`ProviderRejected` (never retried; the message names the fix).
"""

from __future__ import annotations

from typing import Any

import openai

from orchestration.config import LlmSettings
from orchestration.errors import ProviderError, ProviderRejected
from orchestration.llm.providers._sdk import api_key, sdk_failures
from orchestration.llm.providers.base import Message, ModelReply, ModelRequest, ToolCall, Usage
from orchestration.llm.providers.tokens import openai_counter

__all__ = ["OpenAIProvider", "context_window_of"]

_WINDOWS = (
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("gpt-3.5-turbo", 16_385),
)
_UNKNOWN_WINDOW = 8_192


def context_window_of(model: str) -> int:
    """The model's context window in tokens; a conservative 8,192 for models not listed."""
    return next((size for prefix, size in _WINDOWS if model.startswith(prefix)), _UNKNOWN_WINDOW)


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        content = f"ERROR: {message.content}" if message.is_error else message.content
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": content}
    if message.role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": message.content or None}
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in message.tool_calls
            ]
        return out
    return {"role": "user", "content": message.content}


class OpenAIProvider:
    """One OpenAI model behind the :class:`LLMProvider` interface.

    Args:
        settings: key, base URL, timeout and output cap.
        model: the exact model this instance serves.
    """

    name = "openai"
    # Bounded by the token window alone (and CHORDLINE_CONTEXT_MAX_STEPS).
    max_context_steps: int | None = None

    def __init__(self, settings: LlmSettings, model: str) -> None:
        self.model = model
        window = context_window_of(model)
        self.context_window = min(window, settings.context_window_tokens or window)
        self._count, self.tokenizer = openai_counter(model)
        self._max_output = settings.llm_max_output_tokens
        key = api_key(settings.openai_api_key, "OPENAI_API_KEY")
        self._missing_key = not key
        self._client = openai.OpenAI(
            api_key=key or "missing",
            base_url=settings.openai_base_url or None,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,
        )

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` costs with the model's tiktoken encoding."""
        return self._count(text)

    def complete(self, request: ModelRequest) -> ModelReply:
        """Ask the model once (no retries here).

        Raises:
            ProviderUnavailable: a rate limit, overload, server error, timeout or lost
                connection.
            ProviderRejected: the key, model or request was refused.
        """
        if self._missing_key:
            raise ProviderRejected(
                "openai: no API key. Fix: set CHORDLINE_OPENAI_API_KEY (or OPENAI_API_KEY)."
            )
        kwargs: dict[str, Any] = {}
        if request.tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        messages = [{"role": "system", "content": request.system}]
        messages += [_message(m) for m in request.messages]
        with sdk_failures("openai", request.model, openai):
            response = self._client.chat.completions.create(
                model=request.model,
                messages=messages,  # type: ignore[arg-type]
                max_completion_tokens=self._max_output,
                **kwargs,
            )
        return self._reply(response)

    @staticmethod
    def _reply(response: Any) -> ModelReply:
        if not response.choices:
            raise ProviderError(f"openai {response.model}: answer without choices", retryable=True)
        message = response.choices[0].message
        calls = tuple(
            ToolCall(call.id, call.function.name, call.function.arguments or "")
            for call in message.tool_calls or ()
            if getattr(call, "function", None) is not None
        )
        usage = response.usage
        cached = 0
        if usage is not None and usage.prompt_tokens_details is not None:
            cached = usage.prompt_tokens_details.cached_tokens or 0
        return ModelReply(
            text=message.content,
            tool_calls=calls,
            usage=Usage(
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
                cached_tokens=cached,
            ),
            model=response.model or "",
        )
