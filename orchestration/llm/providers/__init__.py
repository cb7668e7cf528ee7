"""LLM providers behind one interface, chosen by the provider half of a deployment."""

from __future__ import annotations

import threading
from collections.abc import Callable

from orchestration.config import Settings
from orchestration.errors import ConfigError
from orchestration.llm.providers.base import (
    LLMProvider,
    Message,
    ModelReply,
    ModelRequest,
    ToolCall,
    ToolSpec,
    Usage,
)
from orchestration.llm.providers.scripted import ScriptedModel

__all__ = [
    "LLMProvider",
    "Message",
    "ModelReply",
    "ModelRequest",
    "ProviderFactory",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "get_provider",
    "register_provider",
]

ProviderFactory = Callable[[Settings, str], LLMProvider]
"""Builds the provider serving one model: ``factory(settings, model)``."""


def _scripted(_settings: Settings, _model: str) -> LLMProvider:
    return ScriptedModel()


def _openai(settings: Settings, model: str) -> LLMProvider:
    from orchestration.llm.providers.openai import OpenAIProvider

    return OpenAIProvider(settings, model)


def _anthropic(settings: Settings, model: str) -> LLMProvider:
    from orchestration.llm.providers.anthropic import AnthropicProvider

    return AnthropicProvider(settings, model)


_FACTORIES: dict[str, ProviderFactory] = {
    "scripted": _scripted,
    "openai": _openai,
    "anthropic": _anthropic,
}
# Keyed by the settings object itself (held in the value so its id is never reused).
_INSTANCES: dict[tuple[str, str, int], tuple[Settings, LLMProvider]] = {}
_LOCK = threading.Lock()


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make ``name:<model>`` deployments resolve to providers built by ``factory``."""
    with _LOCK:
        _FACTORIES[name] = factory
        for key in [k for k in _INSTANCES if k[0] == name]:
            del _INSTANCES[key]


def get_provider(name: str, model: str, settings: Settings) -> LLMProvider:
    """The provider serving ``name:model`` with ``settings``, built once per process.

    Raises:
        ConfigError: no provider of that name.
    """
    key = (name, model, id(settings))
    with _LOCK:
        found = _INSTANCES.get(key)
        if found is not None:
            return found[1]
        try:
            factory = _FACTORIES[name]
        except KeyError:
            known = ", ".join(sorted(_FACTORIES))
            raise ConfigError(
                f"unknown LLM provider {name!r}. Fix: pin the agent's model as one of "
                f"{known} (provider:model) or set CHORDLINE_LLM_PROVIDER to one of them."
            ) from None
        provider = factory(settings, model)
        _INSTANCES[key] = (settings, provider)
        return provider
