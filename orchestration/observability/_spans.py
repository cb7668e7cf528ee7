"""The GenAI spans of a run, as a step middleware.

Every run is one trace (its id journaled on the run). Under a root ``invoke_agent {agent}`` span,
written when the run ends and spanning its whole life, come:

* one ``chat {model}`` span per attempt at a deployment (retries and fallbacks each visible,
  a deployment skipped by its open breaker as a zero-length span with a
  ``chordline.breaker.open`` event), with the GenAI request, response and usage attributes and
  the call's cost as ``chordline.cost_usd``;
* one ``execute_tool {tool}`` span per tool call (parallel calls overlap in time);
* one ``await_approval {tool}`` span when a run parks at an approval gate.

Steps run inside Celery's own task span when its message carried the run's context (see
:func:`orchestration.canvas.dispatch`), else directly under the root. Prompt and completion text
is recorded only when ``CHORDLINE_TRACE_CONTENT`` is true, for ``CHORDLINE_TRACE_CONTENT_SAMPLE``
of the runs; everything leaves redacted (:mod:`orchestration.observability._tracing`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from orchestration.journal.payloads import encode
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import StepKind, StepStatus
from orchestration.llm import pricing
from orchestration.observability._tracing import SCOPE, emit_root, run_parent
from orchestration.observability.content import sampled
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
    from opentelemetry.sdk.trace import TracerProvider

    from orchestration.config import ObservabilitySettings
    from orchestration.journal import StepOutcome
    from orchestration.llm.fallbacks import ChainOutcome
    from orchestration.reducer.planning import Progress

__all__ = ["TracingMiddleware", "run_finished"]

_CONTENT_MAX = 8000  # characters of text per attribute: enough to read, bounded for the export


def run_finished(item: StepInput, progress: Progress) -> RunRecord | None:
    """The run, read again, when this step may have ended it and it did end (else None).

    Only an LLM turn that planned nothing next can end a run, so other steps cost no read.
    """
    if item.step.kind != StepKind.LLM or progress.dispatch is not None:
        return None
    if progress.status not in ("ran", "skipped"):
        return None
    run = item.rt.journal.get_run(item.run.id)
    return run if run.status.terminal and run.finished_at is not None else None


def _chat_attributes(provider: str, model: str) -> dict[str, AttributeValue]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
    }


class TracingMiddleware(Middleware):
    """Writes a run's GenAI spans around its steps.

    Args:
        provider: the tracer provider (exporting, redacting).
        settings: for the content switch and sample.
    """

    def __init__(self, provider: TracerProvider, settings: ObservabilitySettings) -> None:
        self.tracer = provider.get_tracer(SCOPE)
        self.content = settings.trace_content
        self.sample = settings.trace_content_sample

    def _with_content(self, run_id: str) -> bool:
        return self.content and sampled(run_id, self.sample)

    @contextmanager
    def _under_run(self, item: StepInput) -> Iterator[None]:
        token = otel_context.attach(run_parent(item.run.id, item.run.trace_id))
        try:
            yield
        finally:
            otel_context.detach(token)

    def step(self, item: StepInput, call_next: StepNext) -> Progress:
        """Run the step under the run's trace; write the root span if the step ended the run."""
        with self._under_run(item):
            if item.step.kind == StepKind.APPROVAL:
                progress = self._approval(item, call_next)
            else:
                progress = call_next(item)
        finished = run_finished(item, progress)
        if finished is not None:
            self._root(finished)
        return progress

    def _approval(self, item: StepInput, call_next: StepNext) -> Progress:
        with self.tracer.start_as_current_span(
            f"await_approval {item.step.name}",
            attributes={
                "gen_ai.tool.name": item.step.name,
                "chordline.step.seq": item.step.seq,
                "chordline.run.id": item.run.id,
            },
        ) as span:
            span.add_event("chordline.approval.requested", {"gen_ai.tool.name": item.step.name})
            return call_next(item)

    def _root(self, run: RunRecord) -> None:
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": run.agent,
            "gen_ai.agent.id": run.agent_version,
            "gen_ai.conversation.id": run.id,
            "gen_ai.request.model": run.model,
            "gen_ai.usage.input_tokens": run.input_tokens,
            "gen_ai.usage.output_tokens": run.output_tokens,
            "chordline.cost_usd": float(run.cost_usd or 0),
            "chordline.run.status": run.status.value,
            "chordline.tenant": run.tenant,
            "chordline.prompt_hash": run.prompt_hash,
        }
        if self._with_content(run.id):
            attributes["gen_ai.input.messages"] = json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": run.input}]}]
            )[:_CONTENT_MAX]
            if run.output:
                attributes["gen_ai.output.messages"] = run.output[:_CONTENT_MAX]
        emit_root(
            self.tracer,
            run_id=run.id,
            trace_id=run.trace_id,
            name=f"invoke_agent {run.agent}",
            started=run.created_at,
            ended=run.finished_at or run.updated_at,
            attributes=attributes,
            error=run.error if run.status.value != "succeeded" else None,
        )

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Ask the chain, then write one ``chat`` span per attempt and per skipped deployment."""
        started = time.time_ns()
        outcome = call_next(call)
        cursor = started
        for attempt in outcome.attempts:
            provider, _, model = attempt.deployment.partition(":")
            end = cursor + int(attempt.took_s * 1e9)
            span = self.tracer.start_span(
                f"chat {model or provider}",
                kind=SpanKind.CLIENT,
                start_time=cursor,
                attributes=_chat_attributes(provider, model or provider)
                | {"chordline.attempt": attempt.number, "chordline.step.seq": call.at.step.seq},
            )
            if attempt.outcome == "ok":
                self._answered(span, call, outcome)
            else:
                span.set_attribute("error.type", str(attempt.status or "provider_error"))
                span.set_status(Status(StatusCode.ERROR, attempt.error or attempt.outcome))
            span.end(end_time=end)
            cursor = end + int(attempt.waited_s * 1e9)
        if outcome.deployment is not None and outcome.deployment.provider == "cache":
            with self.tracer.start_as_current_span(
                "chat cache", attributes=_chat_attributes("cache", "cache")
            ) as span:
                self._answered(span, call, outcome)
        tried = {attempt.deployment for attempt in outcome.attempts}
        # A deployment whose attempts failed already has its spans; one passed over without a
        # call (open breaker, cache miss) gets a zero-length span saying why.
        for skip in (s for s in outcome.skipped if s.deployment not in tried):
            provider, _, model = skip.deployment.partition(":")
            span = self.tracer.start_span(
                f"chat {model or provider}",
                kind=SpanKind.CLIENT,
                attributes=_chat_attributes(provider, model or provider)
                | {"error.type": "skipped", "chordline.skip.reason": skip.reason},
            )
            if skip.reason.startswith("circuit open"):
                span.add_event("chordline.breaker.open", {"chordline.deployment": skip.deployment})
            span.set_status(Status(StatusCode.ERROR, skip.reason))
            span.end()
        return outcome

    def _answered(self, span: trace.Span, call: ModelCall, outcome: ChainOutcome) -> None:
        reply, deployment = outcome.reply, outcome.deployment
        if reply is None or deployment is None:
            return
        returned = reply.model or deployment.model
        cost = pricing.cost_of(deployment.provider, returned, reply.usage)
        span.set_attributes(
            {
                "gen_ai.response.model": returned,
                "gen_ai.usage.input_tokens": reply.usage.input_tokens,
                "gen_ai.usage.output_tokens": reply.usage.output_tokens,
                "gen_ai.response.finish_reasons": ["tool_calls" if reply.tool_calls else "stop"],
                "chordline.cost_usd": float(cost or 0),
                "chordline.deployment": deployment.name,
                "chordline.fallback": deployment != call.chain[0],
            }
        )
        if self._with_content(call.at.run.id):
            messages = [{"role": m.role, "content": m.content} for m in call.request.messages]
            span.set_attribute("gen_ai.input.messages", json.dumps(messages)[:_CONTENT_MAX])
            span.set_attribute(
                "gen_ai.output.messages", json.dumps(reply.to_record())[:_CONTENT_MAX]
            )

    def tool_call(self, call: ToolInvocation, call_next: ToolNext) -> StepOutcome:
        """Invoke the tool inside an ``execute_tool`` span."""
        step = call.at.step
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.tool,
            "gen_ai.tool.call.id": step.call_id or "",
            "chordline.step.seq": step.seq,
            "chordline.step.attempt": step.attempt,
        }
        if self._with_content(call.at.run.id):
            attributes["gen_ai.tool.call.arguments"] = call.arguments[:_CONTENT_MAX]
        with self.tracer.start_as_current_span(
            f"execute_tool {call.tool}", attributes=attributes
        ) as span:
            outcome = call_next(call)
            if outcome.status == StepStatus.FAILED:
                span.set_attribute("error.type", "tool_error")
                span.set_status(Status(StatusCode.ERROR, outcome.error or "tool failed"))
            elif outcome.status == StepStatus.SKIPPED:
                span.add_event("chordline.approval.rejected")
            elif self._with_content(call.at.run.id):
                text = json.dumps(encode(outcome.result), default=str)
                span.set_attribute("gen_ai.tool.call.result", text[:_CONTENT_MAX])
            return outcome
