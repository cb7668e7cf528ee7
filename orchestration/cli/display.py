"""Rich renderings for the CLI: run tables, a run's step timeline and the feedback on it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from orchestration.cli.tables import Cell, Column, fitted
from orchestration.journal.listing import served_models_of_steps
from orchestration.journal.payloads import TurnPayload
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import RunStatus, StepStatus

if TYPE_CHECKING:
    # Only for annotations: listing runs need not load the agents (and their tools).
    from orchestration.agents.registry import AgentRegistry
    from orchestration.feedback import FeedbackRecord

__all__ = [
    "SHORT_ID",
    "agents_table",
    "broken_lines",
    "feedback_table",
    "llm_table",
    "run_panel",
    "runs_table",
    "score_label",
    "timeline",
]

_RUN_STYLE = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "red",
    RunStatus.BUDGET_EXCEEDED: "red",
    RunStatus.CANCELLED: "yellow",
    RunStatus.WAITING_FOR_APPROVAL: "magenta",
}
_STEP_STYLE = {
    StepStatus.SUCCEEDED: "green",
    StepStatus.FAILED: "red",
    StepStatus.WAITING: "magenta",
    StepStatus.RUNNING: "cyan",
    StepStatus.SKIPPED: "yellow",
}
_BAR_WIDTH = 17


def _cost(value: object) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _status(run: RunRecord) -> Text:
    return Text(run.status.value, style=_RUN_STYLE.get(run.status, "cyan"))


# Below this many columns a listing drops its secondary columns and shortens run ids.
_WIDE = 110
SHORT_ID = 8


def runs_table(runs: Sequence[RunRecord], width: int, *, whole_ids: bool = False) -> RenderableType:
    """The newest runs, one row each, fitted to ``width`` columns.

    Nothing is cut: a narrow terminal gets short run ids (the commands accept them) and loses
    the steps, tokens and cost columns; names too long even for that stack each run's fields.
    """
    wide = width >= _WIDE
    full = whole_ids or wide
    columns = [Column("run"), Column("agent"), Column("tenant"), Column("status")]
    if wide:
        columns += [Column("steps", right=True), Column("tokens", right=True), Column("cost")]
    columns.append(Column("created"))
    rows = []
    for run in runs:
        cells: list[Cell] = [
            run.id if full else run.id[:SHORT_ID],
            escape(run.agent),
            escape(run.tenant),
            _status(run),
        ]
        if wide:
            cells += [
                str(run.next_seq - 1),
                str(run.input_tokens + run.output_tokens),
                _cost(run.cost_usd),
            ]
        cells.append(run.created_at.strftime("%m-%d %H:%M:%S" if wide else "%m-%d %H:%M"))
        rows.append(cells)
    return fitted(columns, rows, width)


def agents_table(registry: AgentRegistry, width: int) -> RenderableType:
    """The agents with versions, model pins and tools.

    Names and versions are never cut; pins, tools and descriptions wrap at word boundaries.
    """
    columns = [
        Column("agent"),
        Column("version"),
        Column("model", prose=True),
        Column("tools", prose=True),
    ]
    if width >= _WIDE:
        columns.append(Column("description", prose=True))
    rows = []
    for name in registry.names():
        agent = registry.get(name)
        tools = ", ".join(t.name + ("*" if t.requires_approval else "") for t in agent.tools)
        cells = [
            escape(name),
            agent.version,
            escape(" → ".join((agent.model, *agent.fallbacks))),
            escape(tools),
        ]
        if width >= _WIDE:
            cells.append(escape(agent.description))
        rows.append(cells)
    return fitted(columns, rows, width)


def broken_lines(registry: AgentRegistry) -> list[Text]:
    """One line per broken agent folder: its name and why it does not load."""
    return [Text.assemble((f"broken {b.label}: ", "bold red"), b.reason) for b in registry.broken]


def _bar(step: StepRecord, origin: datetime, span: float) -> Text:
    if step.started_at is None:
        return Text("")
    start = (step.started_at - origin).total_seconds()
    end = (step.finished_at - origin).total_seconds() if step.finished_at else start
    left = int(start / span * _BAR_WIDTH) if span else 0
    width = max(1, round((end - start) / span * _BAR_WIDTH) if span else 1)
    left = min(left, _BAR_WIDTH - 1)
    width = min(width, _BAR_WIDTH - left)
    return Text(" " * left + "█" * width, style=_STEP_STYLE.get(step.status, "white"))


_GLYPH = {
    StepStatus.SUCCEEDED: "✓",
    StepStatus.FAILED: "✗",
    StepStatus.WAITING: "⏸",
    StepStatus.RUNNING: "▶",
    StepStatus.PENDING: "·",
    StepStatus.SKIPPED: "-",
}
_KIND = {"llm": "llm", "tool": "tool", "approval": "ok?"}


def timeline(run: RunRecord, steps: Sequence[StepRecord], width: int) -> RenderableType:
    """Each step: kind, name, status, duration, tokens, cost and a bar on a shared time axis."""
    origin = run.created_at
    ends = [s.finished_at or s.started_at for s in steps if s.started_at]
    span = max(((end - origin).total_seconds() for end in ends if end), default=0.0)
    columns = (
        Column("#", right=True),
        Column("kind"),
        Column("name", prose=True),
        Column("st"),
        Column("took", right=True),
        Column("tok", right=True),
        Column("cost", right=True),
        Column("timeline"),
    )
    rows: list[list[Cell]] = []
    for step in steps:
        duration = f"{step.duration_s * 1000:.0f}ms" if step.duration_s is not None else ""
        name = step.name + (f" x{step.attempt}" if step.attempt > 1 else "")
        llm = step.kind == "llm"
        rows.append(
            [
                str(step.seq),
                _KIND.get(step.kind, step.kind),
                escape(name),
                Text(_GLYPH.get(step.status, "?"), style=_STEP_STYLE.get(step.status, "white")),
                duration,
                str(step.input_tokens + step.output_tokens) if llm else "",
                _cost(step.cost_usd) if llm else "",
                _bar(step, origin, span),
            ]
        )
    title = f"Timeline ({span * 1000:.0f} ms)  ✓ done ✗ failed ⏸ waits for a person"
    return fitted(columns, rows, width, title=title)


def _model_cell(step: StepRecord) -> Text:
    if step.drift:
        return Text(f"DRIFT asked {step.requested_model}, got {step.model}", style="bold red")
    return Text(step.model or "")


def llm_table(steps: Sequence[StepRecord], width: int) -> RenderableType | None:
    """The LLM steps: which deployment answered, the model, retries, skips, tokens and cost."""
    rows = [s for s in steps if s.kind == "llm" and s.result is not None]
    if not rows:
        return None
    columns = (
        Column("#", right=True),
        Column("deployment"),
        Column("model", prose=True),
        Column("tries", right=True),
        Column("skipped", prose=True),
        Column("in/cached/out", right=True),
        Column("cost", right=True),
    )
    cells: list[list[Cell]] = []
    for step in rows:
        # A turn its run's stop kept from running recorded no call: a row of zeros.
        turn = step.result if isinstance(step.result, TurnPayload) else TurnPayload(reply=None)
        cached = turn.reply.usage.cached_tokens if turn.reply else 0
        skipped = "; ".join(f"{s.deployment}: {s.reason}"[:60] for s in turn.skipped)
        cells.append(
            [
                str(step.seq),
                escape(step.deployment or ""),
                _model_cell(step),
                str(len(turn.attempts)),
                escape(skipped),
                f"{step.input_tokens}/{cached}/{step.output_tokens}",
                _cost(step.cost_usd),
            ]
        )
    return fitted(columns, cells, width, title="LLM calls")


def _served(run: RunRecord, steps: Sequence[StepRecord]) -> str:
    """Which model answered the run's turns; the pin only when it is not what served."""
    served = served_models_of_steps(steps)
    if not served:
        return f"model {run.model} (pinned; no turn answered yet)"
    if served == (run.model,):
        return f"model {run.model}"
    label = "model" if len(served) == 1 else "models"
    return f"{label} {', '.join(served)} (pinned {run.model})"


def run_panel(run: RunRecord, steps: Sequence[StepRecord], width: int) -> RenderableType:
    """A run's header, answer or error, and timeline, within ``width`` columns."""
    header = Text.assemble(
        ("run ", "bold"),
        run.id,
        "  ",
        _status(run),
        f"\nagent {run.agent} v{run.agent_version}  tenant {run.tenant}",
        f"\n{_served(run, steps)}",
        f"\ntokens {run.input_tokens + run.output_tokens}  cost {_cost(run.cost_usd)}",
        f"\ntrace {run.trace_id}" if run.trace_id else "",
    )
    drifted = [s.seq for s in steps if s.drift]
    if drifted:
        header.append(
            f"\nmodel drift on step(s) {', '.join(map(str, drifted))}: the provider answered "
            "with another model than the pin",
            style="bold red",
        )
    parts: list[RenderableType] = [header]
    if run.output:
        parts.append(Panel(run.output, title="answer", border_style="green"))
    if run.error:
        parts.append(Panel(run.error, title="stopped because", border_style="red"))
    parts.append(timeline(run, steps, width))
    calls = llm_table(steps, width)
    if calls is not None:
        parts.append(calls)
    return Group(*parts)


def score_label(score: float) -> str:
    """``up`` for 1, ``down`` for -1, else the grade (``0.80``)."""
    if score == 1:
        return "up"
    if score == -1:
        return "down"
    return f"{score:.2f}"


def feedback_table(given: Sequence[FeedbackRecord], width: int) -> RenderableType:
    """Each giver's feedback on a run: who, the score, when (UTC), then its labels (``#tag``)
    and comment in one column that wraps, so the comment keeps the width that is left."""
    columns = (
        Column("giver"),
        Column("score", right=True),
        Column("given"),
        Column("comment", prose=True),
    )
    rows: list[list[Cell]] = []
    for f in given:
        said = Text(" ".join(f"#{label}" for label in f.labels), style="cyan")
        if f.comment:
            said.append((" " if f.labels else "") + f.comment)
        rows.append(
            [
                escape(f.giver),
                Text(score_label(f.score), style="green" if f.up else "red"),
                f"{f.updated_at:%Y-%m-%d %H:%M}",
                said,
            ]
        )
    return fitted(columns, rows, width, title="Feedback")
