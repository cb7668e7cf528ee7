"""Workflows in the CLI: `workflows` lists them; a workflow run's children and a session run's
memory as `status` shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from rich.console import RenderableType
from rich.markup import escape
from rich.text import Text

from orchestration.cli.base import console, main, open_client
from orchestration.cli.tables import Column, fitted
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


def children_table(parent: RunRecord, children: Sequence[RunRecord], width: int) -> RenderableType:
    """A workflow run's child runs on one time axis: stage, agent, status, time, cost."""
    ends = [(c.finished_at or c.updated_at) for c in children]
    span = max(((e - parent.created_at).total_seconds() for e in ends), default=0.0)
    columns = [Column(c) for c in ("stage", "agent", "run", "status")]
    columns += [Column(c, right=True) for c in ("steps", "took", "tokens")]
    columns.append(Column("timeline"))
    rows: list[list[str | Text]] = []
    for child in children:
        took = ""
        if child.finished_at is not None:
            took = f"{(child.finished_at - child.created_at).total_seconds() * 1000:.0f}ms"
        rows.append(
            [
                escape(child.stage or ""),
                escape(child.agent),
                child.id[:8],
                child.status.value,
                str(child.next_seq - 1),
                took,
                str(child.input_tokens + child.output_tokens),
                _bar(child, parent, span),
            ]
        )
    title = f"Workflow timeline: {len(children)} agent run(s) over {span * 1000:.0f} ms"
    return fitted(columns, rows, width, title=title)


def memory_table(record: dict[str, Any], width: int) -> RenderableType:
    """What a session run loaded from each memory tier."""
    rows: list[list[str | Text]] = []
    for turn in record.get("working") or ():
        rows.append(["working", escape(f"run {turn['run_id'][:8]}: {turn['input'][:70]}")])
    episodic = record.get("episodic") or {}
    for run_id in episodic.get("full") or ():
        rows.append(["episodic", f"run {run_id[:8]} in full"])
    for run_id in episodic.get("summarised") or ():
        rows.append(["episodic", f"run {run_id[:8]} summarised"])
    if episodic.get("dropped"):
        rows.append(["episodic", f"{episodic['dropped']} older run(s) over the token budget"])
    for fact in record.get("long_term") or ():
        rows.append(["long-term", escape(fact["fact"][:90])])
    if not rows:
        rows.append(["-", "nothing remembered yet"])
    title = f"Memory loaded (session {record.get('session', '')}, at {record.get('loaded_at')})"
    return fitted([Column("tier"), Column("what", prose=True)], rows, width, title=title)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print the workflows as JSON")
def workflows(as_json: bool) -> None:
    """List the workflows with their stages' agents and budgets."""
    registry = open_client().workflows
    flows = [registry.get(name) for name in registry.names()]
    if as_json:
        from orchestration.cli.output import echo_json

        listed = [
            {
                "name": f.name,
                "version": f.version,
                "agents": list(f.agents()),
                "max_steps": f.max_steps,
                "max_tokens": f.max_tokens,
                "max_usd": None if f.max_usd is None else str(f.max_usd),
                "description": f.description,
            }
            for f in flows
        ]
        echo_json({"workflows": listed})
        return
    columns = [
        Column("workflow"),
        Column("version"),
        Column("agents", prose=True),
        Column("budgets", prose=True),
        Column("description", prose=True),
    ]
    rows = [
        [
            escape(f.name),
            f.version,
            escape(", ".join(f.agents())),
            f"{f.max_steps} steps, {f.max_tokens or '-'} tokens, ${f.max_usd or '-'}",
            escape(f.description),
        ]
        for f in flows
    ]
    console.print(fitted(columns, rows, console.width, title="Workflows"))
