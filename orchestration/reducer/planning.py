"""What a step tells the task layer, and what to enqueue next: pure functions of the journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from orchestration.agents import Agent
from orchestration.journal.records import StepRecord
from orchestration.journal.tables import StepKind

__all__ = ["Dispatch", "Progress", "ProgressStatus", "plan_dispatch"]

ProgressStatus = Literal["ran", "already_done", "busy", "not_ready", "skipped", "waiting"]


@dataclass(frozen=True)
class Dispatch:
    """What to enqueue next for a run, derived from the journal alone.

    Attributes:
        run_id: the run.
        parallel: read-only tool steps, run concurrently (a chord header).
        serial: state-modifying tool steps and approval gates, in the model's order.
        next_turn: the LLM step to run once all of the above finished; None while an approval
            gate holds the run.
        agent: the run's agent, and ``tools`` the tool of each tool or approval step by seq:
            labels that make the tasks readable in Flower, not part of the plan.
    """

    run_id: str
    parallel: tuple[int, ...] = ()
    serial: tuple[tuple[StepKind, int], ...] = ()
    next_turn: int | None = None
    agent: str = field(default="", compare=False)
    tools: tuple[tuple[int, str], ...] = field(default=(), compare=False)

    @property
    def empty(self) -> bool:
        """True when there is nothing to enqueue."""
        return not (self.parallel or self.serial or self.next_turn is not None)


@dataclass(frozen=True)
class Progress:
    """The outcome of one task's attempt at one step."""

    run_id: str
    seq: int
    status: ProgressStatus
    dispatch: Dispatch | None = None
    retry_in_s: float = 0.0
    result: dict[str, Any] | None = field(default=None, compare=False)

    def as_task_result(self) -> dict[str, Any]:
        """The task's return value: ids, what happened, and the step's recorded output."""
        return {"run_id": self.run_id, "seq": self.seq, "status": self.status,
                "result": self.result}  # fmt: skip


def _parallel_safe(agent: Agent, step: StepRecord) -> bool:
    tool = agent.tool(step.name)
    # An unknown tool changes nothing: it fails at once and the error goes back to the model.
    return tool is None or (tool.read_only and not tool.requires_approval)


def plan_dispatch(agent: Agent, run_id: str, turn_steps: Sequence[StepRecord]) -> Dispatch:
    """Decide what to enqueue for the unfinished steps one turn created.

    Args:
        agent: the run's agent (to tell read-only tools from state-modifying ones).
        run_id: the run.
        turn_steps: the steps the turn created, in seq order, ending with the next LLM turn.

    Returns:
        The dispatch: read-only calls together, the rest in order, an approval gate stopping
        the line until a person decides.
    """
    parallel: list[int] = []
    serial: list[tuple[StepKind, int]] = []
    gated = False
    next_turn: int | None = None
    for step in turn_steps:
        if step.kind == StepKind.LLM:
            next_turn = step.seq
            continue
        if step.status.final or gated:
            continue
        if step.kind == StepKind.APPROVAL:
            serial.append((StepKind.APPROVAL, step.seq))
            gated = True
        elif _parallel_safe(agent, step):
            parallel.append(step.seq)
        else:
            serial.append((StepKind.TOOL, step.seq))
    tools = tuple((s.seq, s.name) for s in turn_steps if s.kind != StepKind.LLM)
    return Dispatch(
        run_id, tuple(parallel), tuple(serial), None if gated else next_turn, agent.name, tools
    )
