"""A run's steps run on the version the run started with, never on whatever the worker loaded.

:func:`pinned_agent` gives the definition of a run's agent at the run's version: the worker's own
definition when it has that version loaded (stable or a variant), else one rebuilt from the
stored version (prompt template, model pin, tool schemas). A step that needs code the worker
lacks (a tool whose schema hash differs, or a version never stored) is handed back by
:func:`hold_or_fail` for a worker that has it, and fails its run with a reason naming the version
once ``CHORDLINE_VERSION_WAIT_SECONDS`` have passed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from orchestration.agents import Agent
from orchestration.agents.versions import PinnedTool, rebuild
from orchestration.errors import AgentError
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus, utcnow
from orchestration.reducer._claims import end_run
from orchestration.reducer._turns import Stop
from orchestration.reducer.planning import Progress
from orchestration.runtime import Runtime, StepInput

__all__ = ["Unservable", "dispatch_agent", "hold_or_fail", "pinned_agent", "unservable_tool"]

log = logging.getLogger("chordline.pinning")

# The first retry of a held step; the task layer doubles it per retry (capped there).
_HOLD_RETRY_S = 0.5


@dataclass(frozen=True)
class Unservable:
    """This worker cannot serve the run's version; ``reason`` names it."""

    reason: str


def pinned_agent(rt: Runtime, run: RunRecord) -> Agent | Unservable:
    """The run's agent at the version the run started with.

    Raises:
        AgentNotFound: the worker has no agent of that name at all.
    """
    loaded = rt.registry.get(run.agent)
    exact = rt.registry.at_version(run.agent, run.agent_version)
    if exact is not None:
        return exact
    stored = rt.versions.load(run.agent_version)
    if stored is None:
        return Unservable(
            f"run {run.id} is pinned to {run.agent} version {run.agent_version}, which this "
            f"worker has not loaded (it has {loaded.version}) and which agent_versions does not "
            "hold"
        )
    try:
        return rebuild(stored, loaded)
    except AgentError as exc:
        return Unservable(str(exc))


def dispatch_agent(rt: Runtime, run: RunRecord) -> Agent:
    """The definition that plans a run's dispatch: its pinned version where the worker can
    rebuild it, else the loaded one (planning reads only the tools' flags)."""
    pinned = pinned_agent(rt, run)
    return rt.registry.get(run.agent) if isinstance(pinned, Unservable) else pinned


def unservable_tool(agent: Agent, run: RunRecord, name: str) -> Unservable | None:
    """Why this worker cannot run tool ``name`` of the run's version, or None when it can."""
    tool = agent.tool(name)
    if not isinstance(tool, PinnedTool):
        return None
    return Unservable(
        f"tool {name} of {run.agent} version {run.agent_version} (schema {tool.stored_hash[:12]}) "
        "is not the code this worker has loaded"
    )


def hold_or_fail(at: StepInput, why: Unservable) -> Progress:
    """Hand the step back for a worker that can serve its version, or end the run once it has
    waited ``CHORDLINE_VERSION_WAIT_SECONDS``."""
    rt, step = at.rt, at.step
    waited = (utcnow() - step.created_at).total_seconds()
    limit = rt.settings.rollouts.version_wait_seconds
    if waited < limit:
        rt.journal.release(step.run_id, step.seq, at.owner)
        _still_waiting(rt, step.run_id)
        log.info("step %s/%s left for another worker: %s", step.run_id, step.seq, why.reason)
        return Progress(step.run_id, step.seq, "not_ready", retry_in_s=_HOLD_RETRY_S)
    reason = (
        f"{why.reason}; no worker served it within {limit:g}s. Fix: deploy a worker that has "
        f"that version, or raise CHORDLINE_VERSION_WAIT_SECONDS."
    )
    return end_run(rt, step, at.owner, Stop(RunStatus.FAILED, reason))


def _still_waiting(rt: Runtime, run_id: str) -> None:
    """Mark the run as moving: its retry chain polls the held step, so the sweeper must not
    take it for lost and start another chain; if the chain is lost, the sweeper finds the run
    idle again ``CHORDLINE_STALE_AFTER_SECONDS`` after the last hold."""
    rt.journal.touch_run(run_id)
