"""LLM providers behind one interface, chosen by the provider half of a deployment."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from orchestration.config import LlmSettings
from orchestration.errors import ConfigError
from orchestration.llm.providers._scripted import ScriptedModel, load_hints
from orchestration.llm.providers.base import (
    LLMProvider,
    Message,
    ModelReply,
    ModelRequest,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = [
    "LLMProvider",
    "Message",
    "ModelReply",
    "ModelRequest",
    "ProviderFactory",
    "ProviderPool",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "register_provider",
]

ProviderFactory = Callable[[LlmSettings, str], LLMProvider]
"""Builds the provider serving one model: ``factory(settings, model)`` with the LLM settings."""


def _scripted(_settings: LlmSettings, _model: str) -> LLMProvider:
    # Without hints; a ProviderPool gives the scripted model its agent folders' hints instead.
    return ScriptedModel({})


def _sdk_missing(provider: str, exc: ImportError) -> ConfigError:
    # The SDKs are an extra, so the quick start's install stays lean.
    return ConfigError(
        f"the {provider} provider needs its SDK, which is not installed ({exc}). Fix: "
        f"pip install 'chordline[{provider}]' in every process that runs agents on it."
    )


def _openai(settings: LlmSettings, model: str) -> LLMProvider:
    try:
        from orchestration.llm.providers._openai import OpenAIProvider
    except ImportError as exc:
        raise _sdk_missing("openai", exc) from None
    return OpenAIProvider(settings, model)


def _anthropic(settings: LlmSettings, model: str) -> LLMProvider:
    try:
        from orchestration.llm.providers._anthropic import AnthropicProvider
    except ImportError as exc:
        raise _sdk_missing("anthropic", exc) from None
    return AnthropicProvider(settings, model)


_FACTORIES: dict[str, ProviderFactory] = {
    "scripted": _scripted,
    "openai": _openai,
    "anthropic": _anthropic,
}
_FACTORIES_LOCK = threading.Lock()


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make ``name:<model>`` deployments resolve to providers built by ``factory`` (in every
    :class:`ProviderPool` built afterwards)."""
    with _FACTORIES_LOCK:
        _FACTORIES[name] = factory


class ProviderPool:
    """The providers of one runtime: each ``name:model`` built once, on first use.

    Args:
        settings: the LLM settings every provider is built with (keys, base URLs, timeouts).
        agent_dirs: the agent folders whose hint files the scripted model reads.
    """

    def __init__(self, settings: LlmSettings, agent_dirs: Iterable[Path]) -> None:
        self.settings = settings
        self.agent_dirs = tuple(agent_dirs)
        self._instances: dict[tuple[str, str], LLMProvider] = {}
        self._lock = threading.Lock()

    def get(self, name: str, model: str) -> LLMProvider:
        """The provider serving ``name:model``.

        Raises:
            ConfigError: no provider of that name, or its SDK is not installed.
        """
        found = self._instances.get((name, model))
        if found is not None:
            return found
        with self._lock:
            found = self._instances.get((name, model))
            if found is None:
                factory = _factory(name)
                if factory is _scripted:
                    found = ScriptedModel(load_hints(self.agent_dirs))
                else:
                    found = factory(self.settings, model)
                self._instances[(name, model)] = found
            return found


def _factory(name: str) -> ProviderFactory:
    with _FACTORIES_LOCK:
        try:
            return _FACTORIES[name]
        except KeyError:
            known = ", ".join(sorted(_FACTORIES))
    raise ConfigError(
        f"unknown LLM provider {name!r}. Fix: pin the agent's model as one of "
        f"{known} (provider:model) or set CHORDLINE_LLM_PROVIDER to one of them."
    )
