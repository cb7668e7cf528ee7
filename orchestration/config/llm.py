"""The models' group: providers, keys, retries, breakers, fallbacks and the response cache."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from orchestration.config.group import SettingsGroup
from orchestration.config.values import comma_list

__all__ = ["LlmSettings"]


class LlmSettings(SettingsGroup):
    """How Chordline asks a model: which provider and deployments, with which keys, how it
    retries and fails over, and when it answers from the cache."""

    llm_provider: str = Field(
        "",
        description="a provider name that overrides the agents' pins (scripted); empty keeps pins",
    )
    """A provider (or ``provider:model``) that serves every agent instead of its pin: the
    offline ``scripted`` model for demos and tests, or a change of vendor."""

    llm_fallbacks: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="a comma-separated chain of deployments tried after the pin (or a JSON "
        "list), e.g. openai:gpt-5-mini-2025-08-07,scripted,cache; empty keeps each agent's own "
        "fallbacks",
    )
    """The deployments tried in order when the pin fails or its breaker is open; it replaces
    each agent's own chain. ``cache`` answers from the last good reply to the same request."""

    openai_api_key: SecretStr | None = Field(
        None, description="an OpenAI API key (empty: the SDK's OPENAI_API_KEY)"
    )
    """The OpenAI key for models, embeddings and fine-tunes; never logged, masked by
    ``chordline check``."""

    openai_base_url: str | None = Field(
        None, description="an OpenAI-compatible base URL (empty: the SDK's OPENAI_BASE_URL)"
    )
    """Where OpenAI requests go instead of the SDK's default (a proxy, a gateway)."""

    anthropic_api_key: SecretStr | None = Field(
        None, description="an Anthropic API key (empty: the SDK's ANTHROPIC_API_KEY)"
    )
    """The Anthropic key; never logged, masked by ``chordline check``."""

    anthropic_base_url: str | None = Field(
        None, description="an Anthropic base URL (empty: the SDK's ANTHROPIC_BASE_URL)"
    )
    """Where Anthropic requests go instead of the SDK's default."""

    llm_timeout_seconds: float = Field(
        60.0, gt=0, le=600, description="seconds one LLM request may take, between 0 and 600"
    )
    """How long one request to a model may take before it counts as a retryable timeout."""

    llm_max_output_tokens: int = Field(
        1024, ge=16, le=200_000, description="the cap on tokens a model may write per turn (>= 16)"
    )
    """The output cap sent with every request; a turn's cost estimate assumes it is reached."""

    llm_max_attempts: int = Field(
        4, ge=1, le=20, description="attempts per deployment per turn, retries included (1-20)"
    )
    """Tries of one deployment in one turn. The SDKs' own retries are off, so this loop is
    the only one."""

    llm_retry_base_seconds: float = Field(
        0.5, ge=0, le=60, description="the first retry's backoff in seconds (0-60), doubling"
    )
    """The wait before the first retry; it doubles with each attempt, with jitter."""

    llm_retry_max_seconds: float = Field(
        30.0, ge=0, le=600, description="the longest wait before a retry in seconds (0-600)"
    )
    """The longest wait before a retry; a ``Retry-After`` above it moves on to the next
    deployment."""

    breaker_fail_max: int = Field(
        5, ge=1, le=1000, description="consecutive failures that open a deployment's breaker"
    )
    """Failed attempts in a row that open a deployment's circuit breaker, shared by every
    worker through Redis."""

    breaker_reset_seconds: float = Field(
        60.0, gt=0, description="seconds an open breaker waits before one trial call (> 0)"
    )
    """How long an open breaker skips its deployment before it lets one trial call through."""

    allow_model_aliases: bool = Field(
        False, description="true or false: allow floating aliases such as gpt-4o (dev only)"
    )
    """Whether floating aliases (``gpt-4o``, ``*-latest``) are accepted besides dated pins; for
    development only, since an alias's model changes under the same name."""

    context_window_tokens: int | None = Field(
        None, ge=1024, description="a cap on the context window in tokens (>= 1024), or empty"
    )
    """A context window smaller than the model's own, to bound what one turn sends."""

    llm_cache: bool = Field(
        False,
        description="true or false: answer identical LLM requests from the response cache "
        "(`chordline eval run` turns it on for its own runs)",
    )
    """Whether an identical request (same tenant, deployments, messages, tools and cap) is
    answered from the journal's response cache instead of the model."""

    llm_cache_ttl_seconds: int = Field(
        7 * 24 * 3600, ge=1, description="seconds a cached LLM answer stays valid (>= 1)"
    )
    """How long a cached answer may be served; the cleanup deletes older ones."""

    @field_validator("llm_fallbacks", mode="before")
    @classmethod
    def _chain_syntax(cls, value: Any) -> Any:
        return comma_list(value)

    @field_validator("llm_fallbacks")
    @classmethod
    def _chain_members(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for part in value:
            if ":" not in part and part not in ("scripted", "cache"):
                raise ValueError(f"{part!r} is not provider:model, scripted or cache")
        return value
