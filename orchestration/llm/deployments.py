"""Deployments (a provider and one exact model) and the fallback chain an agent runs on.

A chain is the agent's pin, then its fallbacks (or ``CHORDLINE_LLM_FALLBACKS``, which replaces
them), each ``provider:model``, plus two offline members: ``scripted`` (the rule-based planner)
and ``cache`` (the last good answer to an identical request, read from the journal).

Pins must name an exact, dated model: a floating alias (``gpt-4o``, ``claude-sonnet-4-0``,
anything ``latest``) changes under a running system when the provider ships a new version, so
it is refused unless ``CHORDLINE_ALLOW_MODEL_ALIASES`` is set (development only).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestration.config import LlmSettings
from orchestration.errors import ConfigError

__all__ = [
    "DEFAULT_MODELS",
    "Deployment",
    "Pinned",
    "alias_problem",
    "check_pin",
    "parse",
    "resolve_chain",
]

DEFAULT_MODELS = {
    "openai": "gpt-5-mini-2025-08-07",
    "anthropic": "claude-haiku-4-5-20251001",
}
"""The pinned model a bare ``CHORDLINE_LLM_PROVIDER=openai`` (or anthropic) runs on when the
agent names none of that provider."""

_DATED = {
    "openai": (re.compile(r"-\d{4}-\d{2}-\d{2}$"), "gpt-5-mini-2025-08-07"),
    "anthropic": (re.compile(r"-\d{8}$"), "claude-haiku-4-5-20251001"),
}
_OFFLINE = ("scripted", "cache")


class Pinned(Protocol):
    """What a chain is resolved from: an agent's model pin and its fallbacks."""

    @property
    def model(self) -> str:
        """The pinned ``provider:model``."""
        ...

    @property
    def fallbacks(self) -> Sequence[str]:
        """The deployments tried after it, in order."""
        ...


@dataclass(frozen=True)
class Deployment:
    """One member of a chain: a provider and the exact model it serves."""

    provider: str
    model: str

    @property
    def name(self) -> str:
        """``provider:model``, or just the provider for the offline members."""
        if self.provider == "cache":
            return "cache"
        return f"{self.provider}:{self.model}"

    @property
    def offline(self) -> bool:
        """True for members that need no network (scripted, cache)."""
        return self.provider in _OFFLINE


def parse(text: str, *, default_model: str = "planner-1") -> Deployment:
    """Read ``provider:model``, ``scripted`` or ``cache``.

    Raises:
        ConfigError: anything else.
    """
    text = text.strip()
    if text == "cache":
        return Deployment("cache", "")
    if text == "scripted":
        return Deployment("scripted", default_model)
    provider, sep, model = text.partition(":")
    if not sep or not provider or not model:
        raise ConfigError(
            f"deployment {text!r} is not provider:model. Fix: write e.g. "
            "openai:gpt-5-mini-2025-08-07, anthropic:claude-haiku-4-5-20251001, scripted or cache."
        )
    return Deployment(provider, model)


def alias_problem(deployment: Deployment) -> str | None:
    """Why ``deployment`` is not an exact pin, or None when it is."""
    if deployment.offline:
        return None
    if "latest" in deployment.model.lower():
        return f"{deployment.name} is a 'latest' alias"
    rule = _DATED.get(deployment.provider)
    if rule is not None and not rule[0].search(deployment.model):
        return (
            f"{deployment.name} is an alias without a version date "
            f"(e.g. {deployment.provider}:{rule[1]})"
        )
    return None


def check_pin(deployment: Deployment, settings: LlmSettings) -> None:
    """Refuse a floating alias unless the settings allow them.

    Raises:
        ConfigError: naming the alias and the fix.
    """
    problem = alias_problem(deployment)
    if problem is not None and not settings.allow_model_aliases:
        raise ConfigError(
            f"model pin {problem}: aliases change when the provider ships a new version. Fix: "
            "pin an exact dated model, or set CHORDLINE_ALLOW_MODEL_ALIASES=true in development."
        )


def _primary(agent: Pinned, settings: LlmSettings) -> Deployment:
    pinned = parse(agent.model)
    override = settings.llm_provider.strip()
    if not override:
        return pinned
    if ":" in override:
        return parse(override)
    if override in _OFFLINE:
        return Deployment(override, pinned.model)
    for candidate in (agent.model, *agent.fallbacks):
        found = parse(candidate, default_model=pinned.model)
        if found.provider == override:
            return found
    model = DEFAULT_MODELS.get(override)
    if model is None:
        return Deployment(override, pinned.model)
    return Deployment(override, model)


def resolve_chain(agent: Pinned, settings: LlmSettings) -> tuple[Deployment, ...]:
    """The deployments a turn of ``agent`` (an :class:`~orchestration.agents.Agent`) tries, in
    order, without repeats.

    Raises:
        ConfigError: a member is malformed, an alias the settings do not allow, or on a
            provider whose SDK is not installed.
    """
    primary = _primary(agent, settings)
    rest = settings.llm_fallbacks or agent.fallbacks
    chain: list[Deployment] = []
    for deployment in (primary, *(parse(r) for r in rest)):
        if deployment not in chain:
            check_pin(deployment, settings)
            _check_sdk(deployment)
            chain.append(deployment)
    return tuple(chain)


# The hosted providers' SDKs are extras (the quick start runs the offline model without them).
_SDKS = {"openai": "openai", "anthropic": "anthropic"}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a finder refused it outright
        return False


def _check_sdk(deployment: Deployment) -> None:
    """Refuse a deployment whose provider's SDK is not installed, naming the extra."""
    module = _SDKS.get(deployment.provider)
    if module is not None and not _installed(module):
        raise ConfigError(
            f"model {deployment.provider}:{deployment.model} needs the {module} SDK, which is not "
            f"installed. Fix: pip install 'chordline[{deployment.provider}]' in every process "
            "that runs agents or submits runs."
        )
