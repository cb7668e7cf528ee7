"""The runtime's groups: the process, the broker, the journal, the worker, the loop and budgets."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from orchestration.config.group import SettingsGroup
from orchestration.config.urls import check_broker_url, check_database_url
from orchestration.config.values import comma_map, crontab

__all__ = [
    "BrokerSettings",
    "BudgetSettings",
    "CoreSettings",
    "JournalSettings",
    "LoopSettings",
    "WorkerSettings",
]


class CoreSettings(SettingsGroup):
    """What every process reads: its folder, the agents, the default tenant and the log level."""

    data_dir: Path = Field(
        Path(".chordline"),
        description="a directory Chordline may write to (embedded broker, SQLite files)",
    )
    """The folder a process writes to: the embedded broker's messages, the SQLite journal and
    result store, Beat's schedule, fine-tune exports."""

    agents_dir: str = Field(
        "agents",
        min_length=1,
        description="the directory holding the agents; several are separated by ':'",
    )
    """Where agents are loaded from (``<dir>/<agent>/agent.py``), read through
    :attr:`agent_dirs`."""

    default_tenant: str = Field(
        "default", min_length=1, max_length=64, description="a tenant name of 1-64 characters"
    )
    """The tenant a run is recorded under when its request names none."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="one of DEBUG, INFO, WARNING, ERROR"
    )
    """The level the workers, Beat and the API server log at."""

    @property
    def agent_dirs(self) -> tuple[Path, ...]:
        """The agent directories, resolved."""
        return tuple(Path(part).resolve() for part in self.agents_dir.split(os.pathsep) if part)


class BrokerSettings(SettingsGroup):
    """How Celery messages travel: the broker, the result backend and their transport options."""

    broker_url: str = Field(
        "filesystem://",
        description="a broker URL: filesystem:// (embedded), redis://host:6379/0 or amqp://...",
    )
    """Where task messages go. ``filesystem://`` needs no server but serves one machine and
    never redelivers; the journal's sweeper makes up for a lost message."""

    result_backend: str | None = Field(
        None,
        description="a Celery result backend URL; empty means the broker's Redis, "
        "or the embedded SQLite store with the embedded broker",
    )
    """Where Celery keeps task results; a chord counts its finished parts there."""

    visibility_timeout: int = Field(
        3600,
        ge=10,
        description="seconds before Redis redelivers an unacknowledged message (>= 10)",
    )
    """How long Redis waits for a message's acknowledgement before it gives the message to
    another worker; keep it above the longest step."""

    unacked_restore_interval: int = Field(
        10,
        ge=1,
        le=3600,
        description="seconds between a worker's scans for messages past the visibility "
        "timeout (1-3600)",
    )
    """How often a worker puts messages past the visibility timeout back on their queue."""

    embedded_poll_interval: float = Field(
        0.02, gt=0, le=5, description="seconds between polls of the embedded broker (0-5)"
    )
    """How often a worker looks into the embedded broker's folder for new messages."""

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        return check_broker_url(value)

    @property
    def embedded(self) -> bool:
        """True when the broker is the embedded one that needs no server."""
        return self.broker_url.startswith("filesystem://")

    @property
    def redis_url(self) -> str | None:
        """The Redis shared by the workers (broker or result backend), if one is attached."""
        for url in (self.broker_url, self.result_backend or ""):
            if url.startswith(("redis://", "rediss://")):
                return url
        return None


class JournalSettings(SettingsGroup):
    """The run journal: where runs live, how long a claim on a step lasts, when the sweeper
    re-drives a run, and how long finished runs are kept."""

    database_url: str | None = Field(
        None,
        description="a SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db; "
        "empty means a SQLite file in CHORDLINE_DATA_DIR",
    )
    """The journal's database, in which every run and step is a row (read through
    ``Settings.journal_url``, which supplies the SQLite default)."""

    lease_seconds: float = Field(
        5.0, gt=0, le=3600, description="seconds a step lease lasts, between 0 and 3600"
    )
    """How long a claim on a step lasts; the worker running the step renews it every third of
    this, so only a dead worker's claim lapses."""

    stale_after_seconds: float = Field(
        10.0, gt=0, description="seconds a run may sit with queued work before the sweeper acts"
    )
    """How long a run may sit with queued work, no live lease and no activity before the sweeper
    takes its message for lost and re-drives it from the journal."""

    sweep_interval_seconds: float = Field(
        2.0, gt=0, description="seconds between sweeps for stuck runs"
    )
    """How often the sweeper (Beat, each worker, ``chordline demo``) looks for lapsed leases and
    stale runs."""

    cleanup_cron: str = Field(
        "30 3 * * *", description="a crontab (UTC) for the cleanup of old runs and eval results"
    )
    """When Beat runs the cleanup of finished runs, eval results and expired cached answers."""

    retention_days: float = Field(
        30.0, gt=0, description="days finished runs and eval results are kept (> 0)"
    )
    """How long the cleanup keeps a finished run with its steps, and an eval result."""

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        return check_database_url(value)

    @field_validator("cleanup_cron")
    @classmethod
    def _journal_crontab(cls, value: str) -> str:
        return crontab(value)


class WorkerSettings(SettingsGroup):
    """The worker process: how it stops, whether it sweeps, how it says it is ready."""

    shutdown_timeout_seconds: float = Field(
        25.0,
        gt=0,
        le=3600,
        description="seconds a worker stopping on SIGTERM gives the steps in hand (0-3600)",
    )
    """How long a worker stopping on SIGTERM lets the steps in hand finish before it cancels
    them (they are re-driven from the journal); keep it below the orchestrator's kill grace."""

    worker_sweeps: bool = Field(
        True, description="true or false: each worker also sweeps every sweep interval"
    )
    """Whether each worker runs the sweeper in a thread of its own, so runs recover without
    Beat."""

    worker_ready_file: Path | None = Field(
        None, description="a path a worker touches when it is ready (readiness probes)"
    )
    """A file the worker writes once it consumes, for readiness probes; None writes none."""


class LoopSettings(SettingsGroup):
    """The agent loop: what one turn reads for the model and how much of a tool's answer it
    gives back."""

    max_tool_errors: int = Field(
        3,
        ge=1,
        le=50,
        description="consecutive turns whose tool calls all failed before a run fails (1-50)",
    )
    """Turns in a row whose every tool call failed before the run fails; each failure goes
    back to the model first. An agent may set its own."""

    tool_output_max_chars: int = Field(
        4000, ge=200, description="characters of a tool result kept for the model (>= 200)"
    )
    """How much of a tool's result the model sees; the journal keeps all of it."""

    tool_error_max_chars: int = Field(
        400, ge=80, description="characters of a tool error kept for the model (>= 80)"
    )
    """How much of a tool's error the model sees."""

    context_max_steps: int = Field(
        1000,
        ge=8,
        le=100_000,
        description="the most recent steps a turn reads for the model's context (8-100000)",
    )
    """How many of the latest steps one turn reads to build the model's context; older ones
    are compacted away."""


class BudgetSettings(SettingsGroup):
    """What a tenant may spend in a day, checked before each model call and at the API."""

    tenant_daily_usd: Decimal | None = Field(
        None, ge=0, description="dollars each tenant may spend per UTC day, or empty for no cap"
    )
    """Each tenant's daily cap in dollars, across every worker (None: no cap)."""

    tenant_daily_usd_overrides: Annotated[dict[str, Annotated[Decimal, Field(ge=0)]], NoDecode] = (
        Field(
            default_factory=dict,
            description="per-tenant daily caps as tenant=dollars pairs separated by commas "
            "(or a JSON object), e.g. acme=50,globex=5",
        )
    )
    """Daily caps of named tenants, each replacing :attr:`tenant_daily_usd` for its tenant."""

    @field_validator("tenant_daily_usd_overrides", mode="before")
    @classmethod
    def _tenant_caps(cls, value: Any) -> Any:
        return comma_map(value, "tenant=dollars")

    def tenant_daily_cap(self, tenant: str) -> Decimal | None:
        """The daily USD cap of ``tenant``: its override, else the default (None: no cap)."""
        return self.tenant_daily_usd_overrides.get(tenant, self.tenant_daily_usd)
