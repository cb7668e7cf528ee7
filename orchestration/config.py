"""One typed settings object, read from the environment (prefix ``CHORDLINE_``) and ``.env``.

Invalid settings refuse to start: :func:`load_settings` turns pydantic's validation errors into a
:class:`~orchestration.errors.ConfigError` that names the variable, the bad value and the fix.
"""

from __future__ import annotations

import functools
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from orchestration.errors import ConfigError

__all__ = ["ENV_PREFIX", "Settings", "current_settings", "load_settings", "mask_url"]

ENV_PREFIX = "CHORDLINE_"

_BROKER_SCHEMES = ("filesystem", "redis", "rediss", "amqp", "pyamqp", "amqps")
_DATABASE_DRIVERS = ("sqlite", "postgresql", "postgresql+psycopg")


class Settings(BaseSettings):
    """Every setting of Chordline. ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

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
    llm_fallbacks: str = Field(
        "",
        description="a comma-separated chain of deployments tried after the pin, e.g. "
        "openai:gpt-5-mini-2025-08-07,scripted,cache; empty keeps each agent's own fallbacks",
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
    tenant_daily_usd_overrides: str = Field(
        "",
        description="per-tenant daily caps as tenant=dollars pairs separated by commas",
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
        3, ge=1, le=50, description="consecutive tool errors before a run fails (1-50)"
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

    # -- observability (issue 10): traces, logs, metrics, alerts, Flower ----------------------
    trace_exporter: Literal["", "none", "console", "otlp", "otlp_http", "otlp_grpc"] = Field(
        "",
        description="none, console, otlp (protocol from OTEL_EXPORTER_OTLP_PROTOCOL), otlp_http "
        "or otlp_grpc; empty follows OTEL_TRACES_EXPORTER (default none)",
    )
    trace_content: bool = Field(
        False, description="true or false: record prompt, completion and tool text on spans"
    )
    trace_content_sample: float = Field(
        0.1,
        ge=0,
        le=1,
        description="the share of runs (0-1) whose text is recorded when CHORDLINE_TRACE_CONTENT "
        "is true",
    )
    metrics_exporter: Literal["", "none", "console", "otlp", "otlp_http", "otlp_grpc"] = Field(
        "",
        description="none, console, otlp, otlp_http or otlp_grpc; empty follows "
        "OTEL_METRICS_EXPORTER (default none)",
    )
    metrics_interval_seconds: float = Field(
        60.0, gt=0, le=3600, description="seconds between metric exports (0-3600)"
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="text (a terminal) or json (one JSON object a line)"
    )
    alert_error_rate: float | None = Field(
        None, ge=0, le=1, description="the share of failed runs per agent (0-1) that alerts"
    )
    alert_p95_latency_seconds: float | None = Field(
        None, gt=0, description="the p95 run latency per agent in seconds that alerts (> 0)"
    )
    alert_cost_per_run_usd: Decimal | None = Field(
        None, ge=0, description="the mean dollars per run of an agent that alerts (>= 0)"
    )
    alert_tenant_daily_usd: Decimal | None = Field(
        None, ge=0, description="the dollars a tenant spent since UTC midnight that alert (>= 0)"
    )
    alert_window_minutes: int = Field(
        60, ge=1, le=10_080, description="minutes of runs each rate rule looks at (1-10080)"
    )
    alert_min_runs: int = Field(
        5, ge=1, description="finished runs an agent needs in the window before rules apply"
    )
    alert_check_seconds: float = Field(
        60.0, gt=0, description="seconds between alert checks on Beat (> 0)"
    )
    alert_cooldown_minutes: int = Field(
        60, ge=0, description="minutes before the same rule fires again for the same subject"
    )
    alert_webhook_url: SecretStr | None = Field(
        None, description="an http(s) URL that receives each alert as a JSON POST, or empty"
    )
    alert_webhook_attempts: int = Field(
        4, ge=1, le=20, description="tries per alert POST, retries included (1-20)"
    )
    flower_basic_auth: SecretStr | None = Field(
        None,
        description="user:password pairs for Flower, separated by commas (or FLOWER_BASIC_AUTH)",
    )
    flower_address: str = Field(
        "127.0.0.1", description="the address Flower listens on (loopback by default)"
    )
    flower_port: int = Field(5555, ge=1, le=65535, description="the port Flower listens on")

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() == "":
            return None
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("the URL must start with http:// or https://")
        return value

    @field_validator("flower_basic_auth")
    @classmethod
    def _auth_pairs(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        for pair in value.get_secret_value().split(","):
            user, _, password = pair.partition(":")
            if not user or not password:
                raise ValueError("each entry must be user:password")
        return value

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

    @field_validator("tenant_daily_usd_overrides")
    @classmethod
    def _tenant_caps(cls, value: str) -> str:
        _parse_caps(value)
        return value

    @field_validator("llm_fallbacks")
    @classmethod
    def _chain_syntax(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if ":" not in part and part not in ("scripted", "cache"):
                raise ValueError(f"{part!r} is not provider:model, scripted or cache")
        return value

    def tenant_daily_cap(self, tenant: str) -> Decimal | None:
        """The daily USD cap of ``tenant``: its override, else the default (None: no cap)."""
        return _parse_caps(self.tenant_daily_usd_overrides).get(tenant, self.tenant_daily_usd)

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

    def masked(self) -> dict[str, str]:
        """The effective settings as text, with passwords in URLs masked."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            text = "" if value is None else str(value)
            shown[ENV_PREFIX + name.upper()] = mask_url(text) if "://" in text else text
        shown["(journal)"] = mask_url(self.journal_url)
        return shown


def _parse_caps(value: str) -> dict[str, Decimal]:
    caps: dict[str, Decimal] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        tenant, _, amount = pair.partition("=")
        try:
            caps[tenant.strip()] = Decimal(amount.strip())
        except ArithmeticError:
            raise ValueError(f"{pair!r} is not tenant=dollars") from None
        if not tenant.strip() or caps[tenant.strip()] < 0:
            raise ValueError(f"{pair!r} is not tenant=dollars")
    return caps


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "?"
    name = ENV_PREFIX + field.upper()
    info = Settings.model_fields.get(field)
    hint = info.description if info is not None and info.description else "a valid value"
    value = error.get("input")
    shown = mask_url(value) if isinstance(value, str) else repr(value)
    if info is not None and "SecretStr" in str(info.annotation):
        shown = "***"  # a secret's rejected value is still a secret
    reason = str(error["msg"]).removeprefix("Value error, ")
    return f"{name}={shown} is invalid: {reason}. Fix: set {name} to {hint}."


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings.

    Args:
        overrides: values that take precedence over the environment (tests, CLI flags).

    Returns:
        The validated settings.

    Raises:
        ConfigError: naming each invalid variable, its value and the fix.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [_describe(dict(error)) for error in exc.errors()]
        raise ConfigError("Invalid configuration:\n  " + "\n  ".join(lines)) from None


@functools.cache
def current_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
