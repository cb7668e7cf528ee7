"""The workflow DSL: agents in sequence and in parallel with a synthesis, nestable, typed.

A workflow lives in ``workflows/<name>.py`` as ``workflow = Workflow(name=..., root=...)``::

    workflow = Workflow(
        name="ticket-triage",
        root=parallel(
            agent("triage-urgency", label="urgency"),
            agent("triage-category", label="category"),
            agent("triage-resolver", label="resolution", on_failure="continue"),
            synthesis=agent("triage-summary"),
        ),
        max_steps=40,
    )

In a :func:`sequence` each stage's answer is the next stage's input; in a :func:`parallel` every
branch gets the same input at once and the synthesis agent gets all their answers. A stage's
``on_failure`` is ``"fail"`` (the workflow fails) or ``"continue"`` (the workflow goes on
without it, and the synthesis input or the next stage's input says so).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from orchestration.errors import WorkflowError

__all__ = [
    "AgentStage",
    "FailurePolicy",
    "Node",
    "Parallel",
    "Sequence",
    "Workflow",
    "agent",
    "parallel",
    "sequence",
]

FailurePolicy = Literal["fail", "continue"]
_POLICIES = ("fail", "continue")


def _check_policy(where: str, policy: str) -> None:
    if policy not in _POLICIES:
        raise WorkflowError(
            f"{where}: on_failure={policy!r} is not a failure policy. "
            "Fix: use on_failure='fail' or on_failure='continue'."
        )


@dataclass(frozen=True)
class AgentStage:
    """One agent run at one stage of a workflow.

    Attributes:
        agent: the agent's name.
        label: how the stage is named in timelines and synthesis inputs (the agent's name).
        on_failure: ``fail`` the workflow, or ``continue`` without this stage.
    """

    agent: str
    label: str = ""
    on_failure: FailurePolicy = "fail"

    def __post_init__(self) -> None:
        if not self.agent:
            raise WorkflowError("agent(): the agent name is empty. Fix: agent('research-report')")
        _check_policy(f"agent({self.agent!r})", self.on_failure)

    @property
    def title(self) -> str:
        """The stage's label, or its agent's name."""
        return self.label or self.agent


@dataclass(frozen=True)
class Sequence:
    """Stages one after another; each answer is the next stage's input.

    Attributes:
        stages: the stages, in order.
        label: how the sequence is named when it is a branch of a parallel.
        on_failure: what a failed stage that itself fails does to the enclosing workflow.
    """

    stages: tuple[Node, ...]
    label: str = ""
    on_failure: FailurePolicy = "fail"

    def __post_init__(self) -> None:
        if not self.stages:
            raise WorkflowError("sequence() has no stages. Fix: sequence(agent('a'), agent('b'))")
        _check_policy("sequence()", self.on_failure)

    @property
    def title(self) -> str:
        """The sequence's label, or its stages' titles joined."""
        return self.label or " > ".join(stage.title for stage in self.stages)


@dataclass(frozen=True)
class Parallel:
    """Branches on the same input at once, then a synthesis agent over all their answers.

    Attributes:
        branches: the branches (agents or nested sequences and parallels).
        synthesis: the agent that reads every branch's answer.
        label: how the parallel is named when it is nested.
        on_failure: what the parallel's own failure does to the enclosing workflow.
    """

    branches: tuple[Node, ...]
    synthesis: AgentStage
    label: str = ""
    on_failure: FailurePolicy = "fail"

    def __post_init__(self) -> None:
        if len(self.branches) < 2:
            raise WorkflowError(
                "parallel() needs at least two branches. Fix: parallel(agent('a'), agent('b'), "
                "synthesis=agent('c'))"
            )
        _check_policy("parallel()", self.on_failure)

    @property
    def title(self) -> str:
        """The parallel's label, or its synthesis agent's title."""
        return self.label or self.synthesis.title


Node = AgentStage | Sequence | Parallel


def agent(name: str, *, label: str = "", on_failure: FailurePolicy = "fail") -> AgentStage:
    """A stage that runs the agent ``name``."""
    return AgentStage(name, label, on_failure)


def sequence(*stages: Node, label: str = "", on_failure: FailurePolicy = "fail") -> Sequence:
    """Stages one after another, each answer feeding the next."""
    return Sequence(tuple(stages), label, on_failure)


def parallel(
    *branches: Node, synthesis: AgentStage, label: str = "", on_failure: FailurePolicy = "fail"
) -> Parallel:
    """Branches at once on the same input, then ``synthesis`` over their answers."""
    return Parallel(tuple(branches), synthesis, label, on_failure)


@dataclass(frozen=True)
class Workflow:
    """A named workflow with budgets that apply to all its agent runs together.

    Attributes:
        name: how it is submitted (``chordline submit NAME "..."``).
        root: the stages.
        description: one line for listings.
        max_steps: steps of all child runs together.
        max_tokens: tokens of all child runs together (None: no cap).
        max_usd: dollars of all child runs together (None: no cap).
    """

    name: str
    root: Node
    description: str = ""
    max_steps: int = 100
    max_tokens: int | None = None
    max_usd: Decimal | str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise WorkflowError("Workflow(name=...) is empty. Fix: name it, e.g. 'ticket-triage'")
        if self.max_steps < 1:
            raise WorkflowError(f"workflow {self.name!r}: max_steps must be at least 1")
        if isinstance(self.max_usd, str):
            object.__setattr__(self, "max_usd", Decimal(self.max_usd))

    @property
    def budget_usd(self) -> Decimal | None:
        """``max_usd`` as a Decimal."""
        return None if self.max_usd is None else Decimal(self.max_usd)

    @property
    def version(self) -> str:
        """A content hash of the stages and budgets (recorded on each workflow run)."""
        text = repr((self.root, self.max_steps, self.max_tokens, str(self.max_usd)))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def agents(self) -> list[str]:
        """Every agent the workflow runs, in definition order."""
        found: list[str] = []
        _collect(self.root, found)
        return found


def _collect(node: Node, found: list[str]) -> None:
    if isinstance(node, AgentStage):
        found.append(node.agent)
    elif isinstance(node, Sequence):
        for stage in node.stages:
            _collect(stage, found)
    else:
        for branch in node.branches:
            _collect(branch, found)
        found.append(node.synthesis.agent)
