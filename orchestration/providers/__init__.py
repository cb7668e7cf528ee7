"""LLM providers behind one interface, chosen by the provider half of a model pin."""

from __future__ import annotations

from collections.abc import Callable

from orchestration.errors import ConfigError
from orchestration.providers.base import (
    LLMProvider,
    Message,
    ModelReply,
    ModelRequest,
    ToolCall,
    ToolSpec,
    Usage,
)
from orchestration.providers.scripted import ScriptedModel

__all__ = [
    "LLMProvider",
    "Message",
    "ModelReply",
    "ModelRequest",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "get_provider",
    "register_provider",
]

_FACTORIES: dict[str, Callable[[], LLMProvider]] = {"scripted": ScriptedModel}
_INSTANCES: dict[str, LLMProvider] = {}


def register_provider(name: str, factory: Callable[[], LLMProvider]) -> None:
    """Make ``name:<model>`` pins resolve to providers built by ``factory``."""
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def get_provider(name: str) -> LLMProvider:
    """The provider for the ``name`` half of a pin, built once per process.

    Raises:
        ConfigError: no provider of that name.
    """
    if name not in _INSTANCES:
        try:
            factory = _FACTORIES[name]
        except KeyError:
            known = ", ".join(sorted(_FACTORIES))
            raise ConfigError(
                f"unknown LLM provider {name!r}. Fix: pin the agent's model as one of "
                f"{known} (provider:model) or set CHORDLINE_LLM_PROVIDER to one of them."
            ) from None
        _INSTANCES[name] = factory()
    return _INSTANCES[name]
