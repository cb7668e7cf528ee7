"""The groups that watch the system: traces, metrics, logs and alerts; and Flower."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from orchestration.config.group import SettingsGroup
from orchestration.config.urls import check_http_url

__all__ = ["FlowerSettings", "ObservabilitySettings"]

_Exporter = Literal["", "none", "console", "otlp", "otlp_http", "otlp_grpc"]


class ObservabilitySettings(SettingsGroup):
    """Traces, metrics, the log format and the alert rules Beat checks.

    The standard ``OTEL_*`` variables are read by OpenTelemetry itself and are not settings here.
    """

    trace_exporter: _Exporter = Field(
        "",
        description="none, console, otlp (protocol from OTEL_EXPORTER_OTLP_PROTOCOL), otlp_http "
        "or otlp_grpc; empty follows OTEL_TRACES_EXPORTER (default none)",
    )
    """Where spans go; empty leaves it to ``OTEL_TRACES_EXPORTER`` (unset: none, which costs
    nothing)."""

    trace_content: bool = Field(
        False, description="true or false: record prompt, completion and tool text on spans"
    )
    """Whether spans carry prompt, completion and tool text (redacted); tokens, cost, latency
    and errors are always on them."""

    trace_content_sample: float = Field(
        0.1,
        ge=0,
        le=1,
        description="the share of runs (0-1) whose text is recorded when CHORDLINE_TRACE_CONTENT "
        "is true",
    )
    """The share of runs whose text is recorded, chosen by a hash of the run id so every
    process picks the same runs."""

    trace_url_template: str = Field(
        "",
        description="a trace viewer's URL with {trace_id} in it (Jaeger: "
        "http://host:16686/trace/{trace_id}), or empty",
    )
    """Where the console links a run's trace id; empty shows the id without a link."""

    metrics_exporter: _Exporter = Field(
        "",
        description="none, console, otlp, otlp_http or otlp_grpc; empty follows "
        "OTEL_METRICS_EXPORTER (default none)",
    )
    """Where metrics go; empty leaves it to ``OTEL_METRICS_EXPORTER``."""

    metrics_interval_seconds: float = Field(
        60.0, gt=0, le=3600, description="seconds between metric exports (0-3600)"
    )
    """How often metrics are exported."""

    log_format: Literal["text", "json"] = Field(
        "text", description="text (a terminal) or json (one JSON object a line)"
    )
    """How log lines look: text for a terminal, or one JSON object a line carrying the run,
    step, agent, tenant and trace ids."""

    alert_error_rate: float | None = Field(
        None, ge=0, le=1, description="the share of failed runs per agent (0-1) that alerts"
    )
    """The share of an agent's finished runs in the window that failed, at which an alert
    fires (None: the rule is off)."""

    alert_p95_latency_seconds: float | None = Field(
        None, gt=0, description="the p95 run latency per agent in seconds that alerts (> 0)"
    )
    """An agent's p95 run latency in the window at which an alert fires (None: off)."""

    alert_cost_per_run_usd: Decimal | None = Field(
        None, ge=0, description="the mean dollars per run of an agent that alerts (>= 0)"
    )
    """An agent's mean dollars per run in the window at which an alert fires (None: off)."""

    alert_tenant_daily_usd: Decimal | None = Field(
        None, ge=0, description="the dollars a tenant spent since UTC midnight that alert (>= 0)"
    )
    """A tenant's spend since UTC midnight at which an alert fires (None: off)."""

    alert_window_minutes: int = Field(
        60, ge=1, le=10_080, description="minutes of runs each rate rule looks at (1-10080)"
    )
    """The window of finished runs the per-agent rules look at."""

    alert_min_runs: int = Field(
        5, ge=1, description="finished runs an agent needs in the window before rules apply"
    )
    """Finished runs an agent needs in the window before its rules apply."""

    alert_check_seconds: float = Field(
        60.0, gt=0, description="seconds between alert checks on Beat (> 0)"
    )
    """How often Beat checks the alert rules on the admin queue."""

    alert_cooldown_minutes: int = Field(
        60, ge=0, description="minutes before the same rule fires again for the same subject"
    )
    """How long a rule stays quiet for an agent or tenant after it fired."""

    alert_webhook_url: SecretStr | None = Field(
        None, description="an http(s) URL that receives each alert as a JSON POST, or empty"
    )
    """Where each alert is POSTed as JSON; a secret, never logged."""

    alert_webhook_attempts: int = Field(
        4, ge=1, le=20, description="tries per alert POST, retries included (1-20)"
    )
    """Tries of one alert POST, retries included."""

    @field_validator("trace_url_template")
    @classmethod
    def _trace_link(cls, value: str) -> str:
        if value and not (value.startswith(("http://", "https://")) and "{trace_id}" in value):
            raise ValueError("the URL must start with http:// or https:// and hold {trace_id}")
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        check_http_url(value.get_secret_value())
        return value


class FlowerSettings(SettingsGroup):
    """Flower, the Celery monitor that `chordline flower` starts."""

    flower_basic_auth: SecretStr | None = Field(
        None,
        description="user:password pairs for Flower, separated by commas (or FLOWER_BASIC_AUTH)",
    )
    """Who may open Flower; required when Flower listens beyond loopback. ``FLOWER_BASIC_AUTH``
    wins when set."""

    flower_address: str = Field(
        "127.0.0.1", description="the address Flower listens on (loopback by default)"
    )
    """The address Flower listens on (``FLOWER_ADDRESS`` wins when set)."""

    flower_port: int = Field(5555, ge=1, le=65535, description="the port Flower listens on")
    """The port Flower listens on (``FLOWER_PORT`` wins when set)."""

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
