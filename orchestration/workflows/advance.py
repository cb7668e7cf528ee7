"""Moving a workflow run: start the children its plan asks for, or end it.

:func:`advance` is what ``chordline.workflow.advance`` runs when a child ends (and what the
sweeper re-drives). It holds no lease and needs none: the plan is a pure function of the
children's rows, each child's run id is derived from the parent and its stage (so starting it
twice journals it once), and ending the parent is one conditional update. Two advances of one
parent racing compute the same move; nothing runs twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from orchestration.budgets import check_workflow
from orchestration.errors import ChordlineError
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunKind, RunStatus, utcnow
from orchestration.memory.working import open_working_memory, record_run
from orchestration.run_request import parse_run_request
from orchestration.runtime import Limits, Runtime
from orchestration.workflows import store
from orchestration.workflows._dsl import Workflow
from orchestration.workflows._plan import Finish, plan
from orchestration.workflows._registry import WorkflowRegistry

__all__ = ["Advanced", "advance", "child_run_id", "remaining_limits", "start_workflow"]

_NAMESPACE = uuid.UUID("6f0c2a52-3d0e-4c1b-9a57-1c3b7f6b1d13")


@dataclass(frozen=True)
class Advanced:
    """What an advance did.

    Attributes:
        parent_id: the workflow run.
        started: the child runs to enqueue (their first turn).
        finished: the status the workflow ended with, when it ended now.
    """

    parent_id: str
    started: tuple[str, ...] = ()
    finished: RunStatus | None = None


def child_run_id(parent_id: str, stage: str) -> str:
    """The run id of the child at ``stage``: the same on every advance, so it is created once."""
    return str(uuid.uuid5(_NAMESPACE, f"{parent_id}/{stage}"))


def start_workflow(
    rt: Runtime,
    workflow: Workflow,
    text: str,
    *,
    tenant: str | None = None,
    limits: Limits | None = None,
    run_id: str | None = None,
    session: str | None = None,
) -> str:
    """Journal a workflow's parent run (idempotent on ``run_id``); returns its id.

    Raises:
        AgentNotFound: a stage names an agent that does not exist.
        RunRequestError: the input, tenant or session is not text the journal can store, or a
            limit is out of range (the one run-request contract, as for an agent's run).
    """
    for name in workflow.agents():
        rt.registry.get(name)
    limits = limits or Limits()
    fields = {
        "agent": workflow.name,
        "input": text,
        "tenant": tenant,
        "session": session,
        "max_steps": limits.max_steps,
        "max_tokens": limits.max_tokens,
        "max_usd": limits.max_usd,
    }
    parse_run_request({k: v for k, v in fields.items() if v is not None}, rt.settings.api)
    run = store.create_workflow_run(
        rt.journal,
        run_id=run_id or str(uuid.uuid4()),
        tenant=tenant or rt.settings.core.default_tenant,
        workflow=workflow,
        text=text,
        session=session,
        max_steps=limits.max_steps or workflow.max_steps,
        max_tokens=limits.max_tokens if limits.max_tokens is not None else workflow.max_tokens,
        max_usd=limits.max_usd if limits.max_usd is not None else workflow.budget_usd,
    )
    return run.id


def remaining_limits(rt: Runtime, parent_id: str, agent_name: str) -> Limits | str:
    """A child's budgets: its agent's, capped by what the workflow has left; or why none is left.

    Returns:
        The limits, or the reason the workflow's budget is spent.
    """
    parent = rt.journal.get_run(parent_id)
    spent = store.totals(rt.journal, parent_id)
    check = check_workflow(parent, spent, extra_steps=1)  # the child's first step
    if check.reason is not None:
        return f"workflow budget: {check.reason}"
    agent = rt.registry.get(agent_name)
    steps = min(agent.max_steps, parent.max_steps - spent.steps)
    tokens = agent.max_tokens
    if parent.max_tokens is not None:
        left_tokens = parent.max_tokens - spent.tokens
        tokens = left_tokens if tokens is None else min(tokens, left_tokens)
    usd: Decimal | None = agent.max_usd
    if parent.max_usd is not None:
        left = parent.max_usd - spent.cost_usd
        usd = left if usd is None else min(usd, left)
    return Limits(max_steps=steps, max_tokens=tokens, max_usd=usd)


def advance(rt: Runtime, workflows: WorkflowRegistry, parent_id: str) -> Advanced:
    """Start what the workflow's plan asks for, or end the workflow.

    Args:
        rt: the runtime.
        workflows: the workflow definitions.
        parent_id: the workflow run.

    Returns:
        The children to enqueue and whether the workflow ended.
    """
    journal = rt.journal
    parent = rt.journal.get_run(parent_id)
    if parent.kind != RunKind.WORKFLOW:
        return Advanced(parent_id)
    if parent.status.terminal:
        # A cancelled (or failed) workflow leaves no child running.
        store.cancel_children(journal, parent_id, f"workflow {parent.status.value}")
        return Advanced(parent_id)
    workflow = _definition(workflows, parent)
    if isinstance(workflow, Finish):
        return _end(rt, parent_id, workflow)
    return _move(rt, workflow, parent)


def _definition(workflows: WorkflowRegistry, parent: RunRecord) -> Workflow | Finish:
    """The run's workflow as it was when the run started, or why the run cannot go on."""
    try:
        workflow = workflows.get(parent.agent)
    except ChordlineError as exc:
        return Finish(RunStatus.FAILED, error=str(exc))
    if workflow.version != parent.agent_version:
        return Finish(
            RunStatus.FAILED,
            error=f"workflow {workflow.name} changed since the run started (version "
            f"{parent.agent_version}, now {workflow.version}); a run keeps its version",
        )
    return workflow


def _move(rt: Runtime, workflow: Workflow, parent: RunRecord) -> Advanced:
    journal = rt.journal
    move = plan(workflow, parent.input, store.children(journal, parent.id))
    if move.finish is not None:
        return _end(rt, parent.id, move.finish)
    store.mark_moving(journal, parent.id)
    started: list[str] = []
    for start in move.starts:
        try:
            limits = remaining_limits(rt, parent.id, start.agent)
            if isinstance(limits, str):
                return _end(rt, parent.id, Finish(RunStatus.BUDGET_EXCEEDED, error=limits))
            child = rt.create_run(
                start.agent,
                start.input,
                tenant=parent.tenant,
                limits=limits,
                run_id=child_run_id(parent.id, start.stage),
                parent_id=parent.id,
                stage=start.stage,
                # Each agent of a session's workflow is given the session's memory.
                session=parent.session,
            )
        except ChordlineError as exc:  # an agent gone or refused since submit: say which
            reason = f"stage {start.stage} ({start.agent}) cannot start: {exc}"
            return _end(rt, parent.id, Finish(RunStatus.FAILED, error=reason))
        started.append(child.id)
    return Advanced(parent.id, started=tuple(started))


def _end(rt: Runtime, parent_id: str, finish: Finish) -> Advanced:
    journal = rt.journal
    ended = store.finish_workflow(journal, parent_id, finish, store.totals(journal, parent_id))
    if finish.status != RunStatus.SUCCEEDED:
        store.cancel_children(journal, parent_id, f"workflow {finish.status.value}")
    elif ended:
        # A session's workflow is one turn of its conversation.
        parent = rt.journal.get_run(parent_id)
        if parent.session is not None:
            memory = open_working_memory(rt.settings.memory, rt.settings.broker.redis_url)
            record_run(memory, parent, utcnow())
    return Advanced(parent_id, finished=finish.status if ended else None)
