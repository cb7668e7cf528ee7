"""Moving a live run on from the journal alone (after a decision, or a lost message)."""

from __future__ import annotations

from orchestration.agents import Agent
from orchestration.errors import AgentError
from orchestration.journal.tables import RunStatus, StepKind
from orchestration.reducer._pinning import dispatch_agent
from orchestration.reducer.planning import Dispatch, plan_dispatch
from orchestration.runtime import Runtime

__all__ = ["redrive_plan"]


def redrive_plan(rt: Runtime, run_id: str) -> Dispatch | None:
    """What to enqueue to move a live run on, read from the journal (sweeper, approvals)."""
    run = rt.journal.get_run(run_id)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return None
    head = rt.journal.step(run_id, run.next_seq - 1)
    if head.kind != StepKind.LLM:
        return None
    try:
        agent: Agent | None = dispatch_agent(rt, run)
    except AgentError:
        agent = None  # the steps fail the run with the reason when they run
    turn_steps = rt.journal.steps(run_id, after=head.turn, upto=head.seq)
    return plan_dispatch(agent, run_id, turn_steps)
