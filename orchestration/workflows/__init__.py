"""Durable workflows of agents: sequences and parallels with a synthesis, as code.

Define one in ``workflows/<name>.py`` with :func:`agent`, :func:`sequence` and :func:`parallel`
(see :mod:`orchestration.workflows._dsl`); submit it like an agent. A workflow run is a parent run
in the journal whose children are ordinary agent runs; :func:`advance` moves it when a child
ends, holding no worker while the children run.
"""

from orchestration.workflows._dsl import (
    AgentStage,
    FailurePolicy,
    Parallel,
    Sequence,
    Workflow,
    agent,
    parallel,
    sequence,
)
from orchestration.workflows._middleware import WakeParent
from orchestration.workflows._plan import ChildState, Finish, Plan, StartChild, plan
from orchestration.workflows._registry import WorkflowRegistry, load_workflows, workflow_dirs
from orchestration.workflows._sweeper import stuck_workflows
from orchestration.workflows.advance import Advanced, advance, child_run_id, start_workflow

__all__ = [
    "Advanced",
    "AgentStage",
    "ChildState",
    "FailurePolicy",
    "Finish",
    "Parallel",
    "Plan",
    "Sequence",
    "StartChild",
    "WakeParent",
    "Workflow",
    "WorkflowRegistry",
    "advance",
    "agent",
    "child_run_id",
    "load_workflows",
    "parallel",
    "plan",
    "sequence",
    "start_workflow",
    "stuck_workflows",
    "workflow_dirs",
]
