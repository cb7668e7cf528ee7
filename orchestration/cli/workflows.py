"""Workflows in the CLI: `workflows` lists them; a workflow run's children and a session run's
memory as `status` shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from orchestration.cli.base import console, main, open_client
from orchestration.journal.records import RunRecord

__all__ = ["children_table", "memory_table", "workflows"]

_BAR_WIDTH = 24


def _bar(child: RunRecord, origin: RunRecord, span: float) -> Text:
    start = (child.created_at - origin.created_at).total_seconds()
    end_at = child.finished_at or child.updated_at
    end = (end_at - origin.created_at).total_seconds()
    left = min(int(start / span * _BAR_WIDTH) if span else 0, _BAR_WIDTH - 1)
    width = max(1, min(round((end - start) / span * _BAR_WIDTH) if span else 1, _BAR_WIDTH - left))
    return Text(" " * left + "█" * width, style="green" if child.status == "succeeded" else "cyan")


def children_table(parent: RunRecord, children: Sequence[RunRecord]) -> Table:
    """A workflow run's child runs on one time axis: stage, agent, status, time, cost."""
    ends = [(c.finished_at or c.updated_at) for c in children]
    span = max(((e - parent.created_at).total_seconds() for e in ends), default=0.0)
    table = Table(
        title=f"Workflow timeline: {len(children)} agent run(s) over {span * 1000:.0f} ms",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    for column in ("stage", "agent", "run", "status", "steps", "took", "tokens", "timeline"):
        table.add_column(column, no_wrap=True)
    for child in children:
        took = ""
        if child.finished_at is not None:
            took = f"{(child.finished_at - child.created_at).total_seconds() * 1000:.0f}ms"
        table.add_row(
            child.stage or "",
            child.agent,
            child.id[:8],
            child.status.value,
            str(child.next_seq - 1),
            took,
            str(child.input_tokens + child.output_tokens),
            _bar(child, parent, span),
        )
    return table


def memory_table(record: dict[str, Any]) -> Table:
    """What a session run loaded from each memory tier."""
    table = Table(
        title=f"Memory loaded (session {record.get('session', '')}, at {record.get('loaded_at')})",
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("tier")
    table.add_column("what")
    for turn in record.get("working") or ():
        table.add_row("working", f"run {turn['run_id'][:8]}: {turn['input'][:70]}")
    episodic = record.get("episodic") or {}
    for run_id in episodic.get("full") or ():
        table.add_row("episodic", f"run {run_id[:8]} in full")
    for run_id in episodic.get("summarised") or ():
        table.add_row("episodic", f"run {run_id[:8]} summarised")
    if episodic.get("dropped"):
        table.add_row("episodic", f"{episodic['dropped']} older run(s) over the token budget")
    for fact in record.get("long_term") or ():
        table.add_row("long-term", fact["fact"][:90])
    if not table.row_count:
        table.add_row("-", "nothing remembered yet")
    return table


@main.command()
def workflows() -> None:
    """List the workflows with their stages' agents and budgets."""
    client = open_client()
    registry = client.workflows
    table = Table(title="Workflows", header_style="bold")
    for column in ("workflow", "version", "agents", "budgets", "description"):
        table.add_column(column)
    for name in registry.names():
        flow = registry.get(name)
        budgets = f"{flow.max_steps} steps, {flow.max_tokens or '-'} tokens, ${flow.max_usd or '-'}"
        table.add_row(name, flow.version, ", ".join(flow.agents()), budgets, flow.description)
    console.print(table)
