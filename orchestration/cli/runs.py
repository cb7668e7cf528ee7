"""Working with runs: `submit`, `status`, `runs`, `agents`, `approve`, `cancel`, `sweep`."""

from __future__ import annotations

import os
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from rich.table import Table

from orchestration.cli.base import console, main, open_client
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus

__all__ = ["agents", "approve", "cancel", "runs", "show_run", "status", "submit", "sweep"]


# -- runs -----------------------------------------------------------------------------------


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number of dollars") from None


def exit_for(run: RunRecord) -> None:
    if run.status in (RunStatus.SUCCEEDED, RunStatus.WAITING_FOR_APPROVAL):
        return
    sys.exit(1)


@main.command()
@click.argument("agent")
@click.argument("text")
@click.option("--wait", is_flag=True, help="wait for the run to finish and show it")
@click.option("--timeout", type=float, default=300.0, show_default=True)
@click.option("--tenant", default=None)
@click.option("--max-steps", type=click.IntRange(min=1), default=None)
@click.option("--max-tokens", type=click.IntRange(min=1), default=None)
@click.option("--max-usd", default=None)
@click.option("--session", default=None, help="the session the run belongs to (its memory)")
def submit(
    *,
    agent: str,
    text: str,
    wait: bool,
    timeout: float,
    tenant: str | None,
    max_steps: int | None,
    max_tokens: int | None,
    max_usd: str | None,
    session: str | None,
) -> None:
    """Start AGENT (an agent or a workflow) on TEXT; prints the run id (or, with --wait, the
    finished run)."""
    from orchestration.runtime import Limits

    client = open_client()
    limits = Limits(max_steps, max_tokens, _decimal(max_usd))
    run = client.submit(agent, text, tenant=tenant, limits=limits, session=session)
    if not wait:
        console.print(run.id)
        return
    with console.status(f"run {run.id} queued") as spinner:
        run = client.wait(
            run.id,
            timeout,
            on_poll=lambda r: spinner.update(
                f"run {r.id}: {r.status.value}, step {r.next_seq - 1}"
            ),
        )
    show_run(client, run.id)
    exit_for(run)


def show_run(client: Any, run_id: str, tenant: str | None = None) -> None:
    from orchestration.cli.display import run_panel
    from orchestration.cli.workflows import children_table, memory_table
    from orchestration.memory.context import read_recorded

    view = client.get(run_id, tenant)
    console.print(run_panel(view.run, view.steps))
    if view.run.parent_id:
        console.print(f"stage {view.run.stage} of workflow run {view.run.parent_id}")
    if view.children:
        console.print(children_table(view.run, view.children))
    loaded = read_recorded(client.runtime.journal.engine, run_id)
    if loaded is not None:
        console.print(memory_table(loaded.record))
    for step in view.steps:
        if step.status == "waiting":
            console.print(
                f"[magenta]waiting for approval:[/] step {step.seq} {step.name} "
                f"{step.arguments}  (approve: chordline approve {run_id})"
            )


@main.command()
@click.argument("run_id")
@click.option("--tenant", default=None)
def status(run_id: str, tenant: str | None) -> None:
    """Show a run: status, answer and step timeline."""
    show_run(open_client(), run_id, tenant)


@main.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--tenant", default=None)
def runs(limit: int, tenant: str | None) -> None:
    """List the newest runs."""
    from orchestration.cli.display import runs_table

    console.print(runs_table(open_client().runtime.journal.list_runs(tenant, limit)))


@main.command()
def agents() -> None:
    """List the agents with their versions and model pins."""
    registry = open_client().runtime.registry
    table = Table(title=f"Agents in {registry.directory}", header_style="bold")
    for column in ("agent", "version", "model", "tools", "description"):
        table.add_column(column)
    for name in registry.names():
        agent = registry.get(name)
        tools = ", ".join(t.name + ("*" if t.requires_approval else "") for t in agent.tools)
        pins = " → ".join((agent.model, *agent.fallbacks))
        table.add_row(name, agent.version, pins, tools, agent.description)
    console.print(table)
    console.print("* requires approval")


@main.command()
@click.argument("run_id")
@click.option("--seq", type=int, default=None, help="the approval step (default: first waiting)")
@click.option("--reject", is_flag=True, help="reject instead of approving")
@click.option("--reason", default="", help="why (the model sees it on a rejection)")
@click.option("--arguments", default=None, help="edited JSON arguments to run instead")
@click.option("--reviewer", default=lambda: os.environ.get("USER", "cli"), show_default="$USER")
def approve(
    *, run_id: str, seq: int | None, reject: bool, reason: str, arguments: str | None, reviewer: str
) -> None:
    """Approve (or --reject) a tool call that waits for a person."""
    client = open_client()
    client.decide(
        run_id, approved=not reject, reviewer=reviewer, reason=reason, arguments=arguments, seq=seq
    )
    console.print(f"{'rejected' if reject else 'approved'}; run {run_id} continues")


@main.command()
@click.argument("run_id")
@click.option("--reason", default="", help="recorded on the run")
@click.option("--tenant", default=None)
def cancel(run_id: str, reason: str, tenant: str | None) -> None:
    """Cancel a run; a step in flight finishes but nothing follows it."""
    if open_client().cancel(run_id, reason=reason, tenant=tenant):
        console.print(f"run {run_id} cancelled")
    else:
        console.print(f"run {run_id} had already ended; nothing changed")


@main.command()
def sweep() -> None:
    """Re-drive stuck runs once (what Beat does every CHORDLINE_SWEEP_INTERVAL_SECONDS)."""
    redriven = open_client().sweep()
    console.print(f"re-drove {len(redriven)} run(s)")
