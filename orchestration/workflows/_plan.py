"""What a workflow does next: a pure function of its definition, its input and its children.

Each agent stage has a path (``1``, ``2/3``, ``2/s`` for a parallel's synthesis) that is also the
``stage`` of the child run at that place, so the state of a workflow is nothing but its
children's rows. :func:`plan` walks the definition against them and says which children to start,
or how the workflow ends; it reads and writes nothing, so any number of concurrent advances of
one parent compute the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestration.journal.tables import RunStatus
from orchestration.workflows._dsl import AgentStage, Node, Parallel, Sequence, Workflow

__all__ = ["ChildState", "Finish", "Plan", "StartChild", "plan", "synthesis_input"]


@dataclass(frozen=True)
class ChildState:
    """A child run as the planner sees it."""

    stage: str
    run_id: str
    status: RunStatus
    output: str | None
    error: str | None


@dataclass(frozen=True)
class StartChild:
    """An agent run to start at ``stage`` on ``input``."""

    stage: str
    agent: str
    input: str


@dataclass(frozen=True)
class Finish:
    """How the workflow ends."""

    status: RunStatus
    output: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    """The next move: children to start (possibly none: waiting), or the end."""

    starts: tuple[StartChild, ...] = ()
    finish: Finish | None = None


@dataclass(frozen=True)
class _Pending:
    starts: tuple[StartChild, ...]


@dataclass(frozen=True)
class _Done:
    output: str
    skipped: str | None = None  # why the stage failed, when its policy let the workflow go on


@dataclass(frozen=True)
class _Failed:
    reason: str
    status: RunStatus


_Result = _Pending | _Done | _Failed


def _child_path(path: str, index: int | str) -> str:
    return f"{path}/{index}" if path else str(index)


def _leaf(stage: AgentStage, path: str, text: str, children: Mapping[str, ChildState]) -> _Result:
    key = path or "1"
    child = children.get(key)
    if child is None:
        return _Pending((StartChild(key, stage.agent, text),))
    if not child.status.terminal:
        return _Pending(())
    if child.status == RunStatus.SUCCEEDED:
        return _Done(child.output or "")
    status = (
        RunStatus.BUDGET_EXCEEDED if child.status == RunStatus.BUDGET_EXCEEDED else RunStatus.FAILED
    )
    detail = f": {child.error}" if child.error else ""
    return _Failed(f"stage {key} ({stage.title}) {child.status.value}{detail}", status)


def _sequence(seq: Sequence, path: str, text: str, children: Mapping[str, ChildState]) -> _Result:
    current = text
    for index, stage in enumerate(seq.stages, start=1):
        result = _evaluate(stage, _child_path(path, index), current, children)
        if not isinstance(result, _Done):
            return result
        if result.skipped is None:
            current = result.output
        else:
            current = f"{current}\n\n(The stage {stage.title} failed and was skipped: "
            current += f"{result.skipped})"
    return _Done(current)


def synthesis_input(text: str, answers: list[tuple[str, _Done]]) -> str:
    """The synthesis agent's input: the workflow input, then each branch's answer or why the
    branch is missing."""
    parts = [text, "", "Answers of the parallel branches:"]
    for title, done in answers:
        if done.skipped is None:
            parts += ["", f"## {title}", done.output]
        else:
            parts += ["", f"## {title}", f"FAILED, continuing without it: {done.skipped}"]
    return "\n".join(parts)


def _parallel(par: Parallel, path: str, text: str, children: Mapping[str, ChildState]) -> _Result:
    results = [
        _evaluate(branch, _child_path(path, index), text, children)
        for index, branch in enumerate(par.branches, start=1)
    ]
    for result in results:
        if isinstance(result, _Failed):
            return result  # fail fast; the caller cancels the branches still running
    pending = [r for r in results if isinstance(r, _Pending)]
    if pending:
        return _Pending(tuple(start for p in pending for start in p.starts))
    answers = [
        (branch.title, result)
        for branch, result in zip(par.branches, results, strict=True)
        if isinstance(result, _Done)
    ]
    merged = synthesis_input(text, answers)
    return _evaluate(par.synthesis, _child_path(path, "s"), merged, children)


def _evaluate(node: Node, path: str, text: str, children: Mapping[str, ChildState]) -> _Result:
    if isinstance(node, AgentStage):
        result = _leaf(node, path, text, children)
    elif isinstance(node, Sequence):
        result = _sequence(node, path, text, children)
    else:
        result = _parallel(node, path, text, children)
    if isinstance(result, _Failed) and node.on_failure == "continue":
        return _Done("", skipped=result.reason)
    return result


def plan(workflow: Workflow, text: str, children: Mapping[str, ChildState]) -> Plan:
    """Decide the workflow's next move from its children.

    Args:
        workflow: the definition.
        text: the workflow run's input.
        children: its child runs by stage path.

    Returns:
        Children to start (none while children run), or how the workflow ends.
    """
    result = _evaluate(workflow.root, "", text, children)
    if isinstance(result, _Pending):
        return Plan(starts=result.starts)
    if isinstance(result, _Failed):
        return Plan(finish=Finish(result.status, error=result.reason))
    if result.skipped is not None:
        return Plan(finish=Finish(RunStatus.FAILED, error=result.skipped))
    return Plan(finish=Finish(RunStatus.SUCCEEDED, output=result.output))
