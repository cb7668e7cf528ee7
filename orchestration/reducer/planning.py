"""What a turn's answer becomes and what to enqueue next: pure functions of the journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from orchestration.agents import Agent
from orchestration.journal.payloads import StepPayload, encode
from orchestration.journal.records import NewStep, ToolCallRequest
from orchestration.journal.tables import StepKind, StepStatus

__all__ = [
    "Dispatch",
    "Progress",
    "ProgressStatus",
    "QueueHorizon",
    "plan_dispatch",
    "steps_for_calls",
]

ProgressStatus = Literal["ran", "already_done", "busy", "not_ready", "skipped", "waiting"]


@dataclass(frozen=True)
class QueueHorizon:
    """How far the broker's step queues have moved, as the sweeper read them.

    Every step message sent before ``every`` has left the queues (taken by a worker), and every
    re-drive sent before ``recovery`` has left the re-drive lane; with nothing waiting, both are
    the time of the reading. A run whose last message may still be waiting behind a backlog is
    not lost, so the sweeper sends nothing for it: re-sending would only queue a duplicate
    ahead of the backlog, and under load those duplicates crowd out the re-drives that matter.
    """

    every: datetime
    recovery: datetime


@dataclass(frozen=True)
class Dispatch:
    """What to enqueue next for a run, derived from the journal alone.

    Attributes:
        run_id: the run.
        parallel: read-only tool steps, run concurrently (a chord header).
        serial: state-modifying tool steps and approval gates, in the model's order.
        next_turn: the LLM step to run once all of the above finished; None while an approval
            of the turn is undecided.
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
    result: StepPayload | None = field(default=None, compare=False)

    def as_task_result(self) -> dict[str, Any]:
        """The task's return value: ids, what happened, and the step's recorded output."""
        return {
            "run_id": self.run_id,
            "seq": self.seq,
            "status": self.status,
            "result": encode(self.result),
        }


class PlannedStep(Protocol):
    """What planning reads of a step: a new one from a turn, or one read back."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> StepKind: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> StepStatus: ...


def steps_for_calls(
    turn_seq: int, next_seq: int, calls: Sequence[ToolCallRequest]
) -> tuple[tuple[NewStep, ...], int]:
    """The steps a turn's calls become: per call an approval gate when its tool needs one, then
    the call; then the next LLM turn. Returns them and the run's next free step number."""
    steps: list[NewStep] = []
    seq = next_seq
    for call in calls:
        if call.requires_approval:
            steps.append(
                NewStep(seq, turn_seq, StepKind.APPROVAL, call.name, call.call_id, call.arguments)
            )
            seq += 1
        steps.append(NewStep(seq, turn_seq, StepKind.TOOL, call.name, call.call_id, call.arguments))
        seq += 1
    if steps:
        steps.append(NewStep(seq, turn_seq, StepKind.LLM, "turn"))
        seq += 1
    return tuple(steps), seq


def _parallel_safe(agent: Agent | None, step: PlannedStep) -> bool:
    if agent is None:  # the agent cannot be loaded here: its steps only need to fail, in order
        return False
    tool = agent.tool(step.name)
    # An unknown tool changes nothing: it fails at once and the error goes back to the model.
    return tool is None or (tool.read_only and not tool.requires_approval)


def plan_dispatch(agent: Agent | None, run_id: str, turn_steps: Sequence[PlannedStep]) -> Dispatch:
    """Decide what to enqueue for the unfinished steps one turn created.

    Args:
        agent: the run's agent (to tell read-only tools from state-modifying ones); None when
            it cannot be loaded (everything runs in order, and fails with the reason).
        run_id: the run.
        turn_steps: the steps the turn created, in seq order, ending with the next LLM turn.

    Returns:
        The dispatch: while any approval of the turn is undecided, the read-only calls
        together and every approval (each parks, to be decided on its own), nothing else; once
        every one is decided, the read-only calls not yet done, the rest in order, then the
        next turn.
    """
    approvals = [s for s in turn_steps if s.kind == StepKind.APPROVAL and not s.status.final]
    if approvals:
        # Parking holds no worker; a waiting one is parked already and needs no task. Reads
        # change nothing, so they need not wait for a person.
        parks = tuple(
            (StepKind.APPROVAL, s.seq) for s in approvals if s.status != StepStatus.WAITING
        )
        reads = tuple(
            s.seq
            for s in turn_steps
            if s.kind == StepKind.TOOL and not s.status.final and _parallel_safe(agent, s)
        )
        labels = tuple((s.seq, s.name) for s in turn_steps if s.kind != StepKind.LLM)
        name = agent.name if agent else ""
        return Dispatch(run_id, parallel=reads, serial=parks, agent=name, tools=labels)
    parallel: list[int] = []
    serial: list[tuple[StepKind, int]] = []
    next_turn: int | None = None
    for step in turn_steps:
        if step.kind == StepKind.LLM:
            next_turn = step.seq
            continue
        if step.status.final or step.kind == StepKind.APPROVAL:
            continue
        if _parallel_safe(agent, step):
            parallel.append(step.seq)
        else:
            serial.append((StepKind.TOOL, step.seq))
    tools = tuple((s.seq, s.name) for s in turn_steps if s.kind != StepKind.LLM)
    return Dispatch(
        run_id, tuple(parallel), tuple(serial), next_turn, agent.name if agent else "", tools
    )
