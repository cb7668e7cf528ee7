"""The core settings: services, leases and recovery, models, budgets, tools, the worker."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from orchestration.errors import ConfigError

__all__ = ["ENV_PREFIX", "CoreSettings", "mask_url"]

ENV_PREFIX = "CHORDLINE_"

_BROKER_SCHEMES = ("filesystem", "redis", "rediss", "amqp", "pyamqp", "amqps")
_DATABASE_DRIVERS = ("sqlite", "postgresql", "postgresql+psycopg")
_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


class CoreSettings(BaseSettings):
    """The runtime's own settings (see :class:`orchestration.config.Settings`)."""

    data_dir: Path = Field(
        Path(".chordline"),
        description="a directory Chordline may write to (embedded broker, SQLite files)",
    )
    broker_url: str = Field(
        "filesystem://",
        description="a broker URL: filesystem:// (embedded), redis://host:6379/0 or amqp://...",
    )
    result_backend: str | None = Field(
        None,
        description="a Celery result backend URL; empty means the broker's Redis, "
        "or the embedded SQLite store with the embedded broker",
    )
    database_url: str | None = Field(
        None,
        description="a SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db; "
        "empty means a SQLite file in CHORDLINE_DATA_DIR",
    )
    agents_dir: str = Field(
        "agents",
        min_length=1,
        description="the directory holding the agents; several are separated by ':'",
    )
    default_tenant: str = Field(
        "default", min_length=1, max_length=64, description="a tenant name of 1-64 characters"
    )
    llm_provider: str = Field(
        "",
        description="a provider name that overrides the agents' pins (scripted); empty keeps pins",
    )
    llm_fallbacks: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="a comma-separated chain of deployments tried after the pin (or a JSON "
        "list), e.g. openai:gpt-5-mini-2025-08-07,scripted,cache; empty keeps each agent's own "
        "fallbacks",
    )
    openai_api_key: SecretStr | None = Field(
        None, description="an OpenAI API key (empty: the SDK's OPENAI_API_KEY)"
    )
    openai_base_url: str | None = Field(
        None, description="an OpenAI-compatible base URL (empty: the SDK's OPENAI_BASE_URL)"
    )
    anthropic_api_key: SecretStr | None = Field(
        None, description="an Anthropic API key (empty: the SDK's ANTHROPIC_API_KEY)"
    )
    anthropic_base_url: str | None = Field(
        None, description="an Anthropic base URL (empty: the SDK's ANTHROPIC_BASE_URL)"
    )
    llm_timeout_seconds: float = Field(
        60.0, gt=0, le=600, description="seconds one LLM request may take, between 0 and 600"
    )
    llm_max_output_tokens: int = Field(
        1024, ge=16, le=200_000, description="the cap on tokens a model may write per turn (>= 16)"
    )
    llm_max_attempts: int = Field(
        4, ge=1, le=20, description="attempts per deployment per turn, retries included (1-20)"
    )
    llm_retry_base_seconds: float = Field(
        0.5, ge=0, le=60, description="the first retry's backoff in seconds (0-60), doubling"
    )
    llm_retry_max_seconds: float = Field(
        30.0, ge=0, le=600, description="the longest wait before a retry in seconds (0-600)"
    )
    breaker_fail_max: int = Field(
        5, ge=1, le=1000, description="consecutive failures that open a deployment's breaker"
    )
    breaker_reset_seconds: float = Field(
        60.0, gt=0, description="seconds an open breaker waits before one trial call (> 0)"
    )
    allow_model_aliases: bool = Field(
        False, description="true or false: allow floating aliases such as gpt-4o (dev only)"
    )
    context_window_tokens: int | None = Field(
        None, ge=1024, description="a cap on the context window in tokens (>= 1024), or empty"
    )
    tenant_daily_usd: Decimal | None = Field(
        None, ge=0, description="dollars each tenant may spend per UTC day, or empty for no cap"
    )
    tenant_daily_usd_overrides: Annotated[dict[str, Annotated[Decimal, Field(ge=0)]], NoDecode] = (
        Field(
            default_factory=dict,
            description="per-tenant daily caps as tenant=dollars pairs separated by commas "
            "(or a JSON object), e.g. acme=50,globex=5",
        )
    )
    lease_seconds: float = Field(
        5.0, gt=0, le=3600, description="seconds a step lease lasts, between 0 and 3600"
    )
    visibility_timeout: int = Field(
        3600,
        ge=10,
        description="seconds before Redis redelivers an unacknowledged message (>= 10)",
    )
    unacked_restore_interval: int = Field(
        10,
        ge=1,
        le=3600,
        description="seconds between a worker's scans for messages past the visibility "
        "timeout (1-3600)",
    )
    shutdown_timeout_seconds: float = Field(
        25.0,
        gt=0,
        le=3600,
        description="seconds a worker stopping on SIGTERM gives the steps in hand (0-3600)",
    )
    embedded_poll_interval: float = Field(
        0.02, gt=0, le=5, description="seconds between polls of the embedded broker (0-5)"
    )
    max_tool_errors: int = Field(
        3,
        ge=1,
        le=50,
        description="consecutive turns whose tool calls all failed before a run fails (1-50)",
    )
    tool_output_max_chars: int = Field(
        4000, ge=200, description="characters of a tool result kept for the model (>= 200)"
    )
    tool_error_max_chars: int = Field(
        400, ge=80, description="characters of a tool error kept for the model (>= 80)"
    )
    context_max_steps: int = Field(
        1000,
        ge=8,
        le=100_000,
        description="the most recent steps a turn reads for the model's context (8-100000)",
    )
    stale_after_seconds: float = Field(
        10.0, gt=0, description="seconds a run may sit with queued work before the sweeper acts"
    )
    sweep_interval_seconds: float = Field(
        2.0, gt=0, description="seconds between sweeps for stuck runs"
    )
    worker_sweeps: bool = Field(
        True, description="true or false: each worker also sweeps every sweep interval"
    )
    worker_ready_file: Path | None = Field(
        None, description="a path a worker touches when it is ready (readiness probes)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="one of DEBUG, INFO, WARNING, ERROR"
    )

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if "://" not in value or scheme not in _BROKER_SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(_BROKER_SCHEMES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a SQLAlchemy URL") from exc
        if url.drivername not in _DATABASE_DRIVERS:
            raise ValueError(f"driver must be one of {', '.join(_DATABASE_DRIVERS)}")
        if url.drivername == "postgresql":
            # psycopg 3 is the driver we ship; SQLAlchemy's default would ask for psycopg2.
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return value

    @field_validator("tenant_daily_usd_overrides", mode="before")
    @classmethod
    def _tenant_caps(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip().startswith("{"):
            return json.loads(value)
        caps: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in value.split(","))):
            tenant, equals, amount = (part.strip() for part in pair.partition("="))
            if not (tenant and equals and amount):
                raise ValueError(f"{pair!r} is not tenant=dollars")
            caps[tenant] = amount
        return caps

    @field_validator("llm_fallbacks", mode="before")
    @classmethod
    def _chain_syntax(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            return json.loads(value)
        return tuple(filter(None, (p.strip() for p in value.split(","))))

    @field_validator("llm_fallbacks")
    @classmethod
    def _chain_members(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for part in value:
            if ":" not in part and part not in ("scripted", "cache"):
                raise ValueError(f"{part!r} is not provider:model, scripted or cache")
        return value

    def tenant_daily_cap(self, tenant: str) -> Decimal | None:
        """The daily USD cap of ``tenant``: its override, else the default (None: no cap)."""
        return self.tenant_daily_usd_overrides.get(tenant, self.tenant_daily_usd)

    @property
    def redis_url(self) -> str | None:
        """The Redis shared by the workers (broker or result backend), if one is attached."""
        for url in (self.broker_url, self.result_backend or ""):
            if url.startswith(("redis://", "rediss://")):
                return url
        return None

    @property
    def agent_dirs(self) -> tuple[Path, ...]:
        """The agent directories, resolved."""
        return tuple(Path(part).resolve() for part in self.agents_dir.split(os.pathsep) if part)

    @property
    def embedded(self) -> bool:
        """True when the broker is the embedded one that needs no server."""
        return self.broker_url.startswith("filesystem://")

    @property
    def journal_url(self) -> str:
        """The effective journal database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'journal.sqlite3'}"

    @property
    def effective_result_backend(self) -> str:
        """The Celery result backend URL, derived from the broker when not set."""
        if self.result_backend:
            return self.result_backend
        if self.embedded:
            return f"chordline-sqlite://{self.data_dir / 'results.sqlite3'}"
        if self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        raise ConfigError(
            f"CHORDLINE_RESULT_BACKEND is empty and the broker {mask_url(self.broker_url)} "
            "holds no results. Fix: set CHORDLINE_RESULT_BACKEND to a Redis URL, "
            "e.g. redis://localhost:6379/1 (chords need a result backend)."
        )


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``.

    SQLAlchemy's URL parser reads database and broker URLs alike; the few it cannot parse
    (``chordline-sqlite://``) go through kombu's own sanitizer.
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        from kombu.utils.url import maybe_sanitize_url  # only here: config loads no broker code

        return str(maybe_sanitize_url(url, mask="***"))
