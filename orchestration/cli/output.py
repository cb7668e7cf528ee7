"""``--json`` output of the CLI: runs, steps and agents as plain JSON for scripts.

Every document has a stable shape (documented in docs/runs.md): timestamps are ISO 8601 in UTC,
money is a decimal string (or null when unknown), statuses are their journal values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from orchestration.agents.definition import Agent
from orchestration.agents.registry import AgentRegistry
from orchestration.journal.listing import RunPage
from orchestration.journal.records import RunRecord, StepRecord

if TYPE_CHECKING:
    from orchestration.feedback import FeedbackRecord

__all__ = ["agents_document", "echo_json", "feedback_document", "run_document", "runs_document"]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _run(run: RunRecord, served: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": run.id,
        "agent": run.agent,
        "agent_version": run.agent_version,
        "tenant": run.tenant,
        "status": run.status.value,
        "pinned_model": run.model,
        "served_models": list(served),
        "steps": run.next_seq - 1,
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "cost_usd": _money(run.cost_usd),
        "created_at": _time(run.created_at),
        "finished_at": _time(run.finished_at),
        "error": run.error,
    }


def _step(step: StepRecord) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "turn": step.turn,
        "kind": step.kind.value,
        "name": step.name,
        "status": step.status.value,
        "attempt": step.attempt,
        "arguments": step.arguments,
        "started_at": _time(step.started_at),
        "finished_at": _time(step.finished_at),
        "duration_s": step.duration_s,
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "cost_usd": _money(step.cost_usd),
        "deployment": step.deployment,
        "model": step.model,
        "requested_model": step.requested_model,
        "drift": step.drift,
        "error": step.error,
    }


def runs_document(page: RunPage, served: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """``chordline runs --json``: one page of runs and where the listing stands."""
    return {
        "runs": [_run(run, served.get(run.id, ())) for run in page.runs],
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
        "total": page.total,
    }


def feedback_document(given: FeedbackRecord) -> dict[str, Any]:
    """One giver's feedback on a run (``chordline feedback --json``, and in ``status --json``)."""
    return {
        "run_id": given.run_id,
        "giver": given.giver,
        "score": given.score,
        "comment": given.comment,
        "labels": list(given.labels),
        "created_at": _time(given.created_at),
        "updated_at": _time(given.updated_at),
    }


def run_document(
    run: RunRecord,
    steps: tuple[StepRecord, ...],
    served: tuple[str, ...],
    feedback: Sequence[FeedbackRecord] = (),
) -> dict[str, Any]:
    """``chordline status --json``: the run, its answer, every step and the feedback on it."""
    return {
        "run": {**_run(run, served), "input": run.input, "output": run.output},
        "steps": [_step(step) for step in steps],
        "feedback": [feedback_document(given) for given in feedback],
    }


def _agent(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "version": agent.version,
        "model": agent.model,
        "fallbacks": list(agent.fallbacks),
        "description": agent.description,
        "tools": [
            {"name": t.name, "read_only": t.read_only, "requires_approval": t.requires_approval}
            for t in agent.tools
        ],
        "max_steps": agent.max_steps,
        "max_tokens": agent.max_tokens,
        "max_usd": _money(agent.max_usd),
    }


def agents_document(registry: AgentRegistry) -> dict[str, Any]:
    """``chordline agents --json``: the agents that load, and the broken ones with why."""
    return {
        "agents": [_agent(registry.get(name)) for name in registry.names()],
        "broken": [{"folder": str(b.directory), "reason": b.reason} for b in registry.broken],
    }


def echo_json(document: dict[str, Any]) -> None:
    """Print ``document`` as JSON on stdout, unstyled (rich would wrap and colour it)."""
    click.echo(json.dumps(document, indent=2))
