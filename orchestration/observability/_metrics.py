"""Metrics per agent and model as OpenTelemetry instruments, recorded by a step middleware.

=====================================  =========  ==============================================
instrument                             unit       attributes
=====================================  =========  ==============================================
``chordline.runs``                     {run}      agent, status (when a run ends)
``chordline.step.duration``            s          agent, kind
``chordline.queue.wait``               s          agent, kind (journaled to started)
``gen_ai.client.token.usage``          {token}    agent, model, ``gen_ai.token.type``
``chordline.cost``                     USD        agent, model
``chordline.tool.errors``              {error}    agent, tool
``chordline.fallbacks``                {call}     agent, model (an answer not from the pin)
``chordline.breaker.open``             {call}     agent, deployment (skipped: breaker open)
=====================================  =========  ==============================================

Exported by ``CHORDLINE_METRICS_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` every
``CHORDLINE_METRICS_INTERVAL_SECONDS``; with the exporter off the middleware is not installed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from orchestration.config import ObservabilitySettings
from orchestration.journal.tables import StepStatus
from orchestration.llm import pricing
from orchestration.observability._exporters import chosen, metric_exporter
from orchestration.observability._spans import run_finished
from orchestration.observability._tracing import SCOPE, provider_key, service_resource
from orchestration.runtime import (
    Middleware,
    ModelCall,
    ModelNext,
    StepInput,
    StepNext,
    ToolInvocation,
    ToolNext,
)

if TYPE_CHECKING:
    from orchestration.journal import StepOutcome
    from orchestration.llm.fallbacks import ChainOutcome
    from orchestration.reducer.planning import Progress

__all__ = ["MetricsMiddleware", "meter_provider_for", "metrics_enabled", "shutdown"]

_lock = threading.Lock()
_providers: dict[tuple[int, str], MeterProvider] = {}


def metrics_enabled(settings: ObservabilitySettings) -> bool:
    """True when metrics are exported."""
    return chosen(settings.metrics_exporter, "metrics") != "none"


def meter_provider_for(settings: ObservabilitySettings) -> MeterProvider | None:
    """This process's meter provider for ``settings`` (None when metrics are off)."""
    kind = chosen(settings.metrics_exporter, "metrics")
    if kind == "none":
        return None
    key = provider_key(settings)
    with _lock:
        if key not in _providers:
            reader = PeriodicExportingMetricReader(
                metric_exporter(kind),
                export_interval_millis=settings.metrics_interval_seconds * 1000,
            )
            _providers[key] = MeterProvider(metric_readers=[reader], resource=service_resource())
        return _providers[key]


class MetricsMiddleware(Middleware):
    """Records the runtime's metrics around each step.

    Args:
        provider: the meter provider.
    """

    def __init__(self, provider: MeterProvider) -> None:
        meter = provider.get_meter(SCOPE)
        self.runs = meter.create_counter("chordline.runs", "{run}", "runs ended, by status")
        self.duration = meter.create_histogram("chordline.step.duration", "s", "step latency")
        self.wait = meter.create_histogram(
            "chordline.queue.wait", "s", "from a step's journaling to its start"
        )
        self.tokens = meter.create_counter("gen_ai.client.token.usage", "{token}", "tokens used")
        self.cost = meter.create_counter("chordline.cost", "USD", "what LLM calls cost")
        self.tool_errors = meter.create_counter("chordline.tool.errors", "{error}", "tool errors")
        self.fallbacks = meter.create_counter(
            "chordline.fallbacks", "{call}", "answers from a deployment after the pin"
        )
        self.breaker_open = meter.create_counter(
            "chordline.breaker.open", "{call}", "deployments skipped because a breaker was open"
        )

    def step(self, item: StepInput, call_next: StepNext) -> Progress:
        """Time the step; count the run when the step ended it."""
        agent = {"agent": item.run.agent, "kind": item.step.kind.value}
        if item.step.started_at is not None:
            waited = (item.step.started_at - item.step.created_at).total_seconds()
            self.wait.record(max(waited, 0.0), agent)
        started = time.perf_counter()
        progress = call_next(item)
        self.duration.record(time.perf_counter() - started, agent)
        finished = run_finished(item, progress)
        if finished is not None:
            self.runs.add(1, {"agent": finished.agent, "status": finished.status.value})
        return progress

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Count tokens, cost, fallbacks and open breakers of one turn."""
        outcome = call_next(call)
        agent = call.at.run.agent
        for skip in outcome.skipped:
            if skip.reason.startswith("circuit open"):
                self.breaker_open.add(1, {"agent": agent, "deployment": skip.deployment})
        reply, deployment = outcome.reply, outcome.deployment
        if reply is None or deployment is None:
            return outcome
        model = reply.model or deployment.model
        labels = {"agent": agent, "model": model}
        self.tokens.add(reply.usage.input_tokens, labels | {"gen_ai.token.type": "input"})
        self.tokens.add(reply.usage.output_tokens, labels | {"gen_ai.token.type": "output"})
        cost = pricing.cost_of(deployment.provider, model, reply.usage)
        if cost:
            self.cost.add(float(cost), labels)
        if call.chain and deployment != call.chain[0]:
            self.fallbacks.add(1, labels)
        return outcome

    def tool_call(self, call: ToolInvocation, call_next: ToolNext) -> StepOutcome:
        """Count the tool's errors."""
        outcome = call_next(call)
        if outcome.status == StepStatus.FAILED:
            self.tool_errors.add(1, {"agent": call.at.run.agent, "tool": call.tool})
        return outcome


def shutdown(settings: ObservabilitySettings) -> None:
    """Export what the provider for ``settings`` holds and stop it (a process or test ending)."""
    with _lock:
        provider = _providers.pop(provider_key(settings), None)
    if provider is not None:
        provider.shutdown()
