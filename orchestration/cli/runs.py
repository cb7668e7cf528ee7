"""Working with runs: `submit`, `status`, `runs`, `agents`, `approve`, `cancel`, `sweep`."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.table import Table

from orchestration.cli.base import console, main, open_client
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus

__all__ = ["agents", "cancel", "runs", "show_run", "status", "submit", "sweep"]


# -- runs -----------------------------------------------------------------------------------


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
@click.option("--max-steps", type=int, default=None)
@click.option("--max-tokens", type=int, default=None)
@click.option("--max-usd", default=None)
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
) -> None:
    """Start AGENT on TEXT; prints the run id (or, with --wait, the finished run)."""
    from orchestration.run_request import parse_run_request
    from orchestration.runtime import Limits

    client = open_client()
    # The one run-request contract, as HTTP and send_task apply it.
    fields = {"agent": agent, "input": text, "tenant": tenant, "max_steps": max_steps,
              "max_tokens": max_tokens, "max_usd": max_usd}  # fmt: skip
    request = parse_run_request({k: v for k, v in fields.items() if v is not None}, client.settings)
    limits = Limits(request.max_steps, request.max_tokens, request.max_usd)
    run = client.submit(agent, text, tenant=tenant, limits=limits)
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

    view = client.get(run_id, tenant)
    console.print(run_panel(view.run, view.steps))
    for step in view.steps:
        if step.status == "waiting":
            console.print(
                f"[magenta]waiting for approval:[/] step {step.seq} {step.name} "
                f"{step.arguments}  (approve: chordline approve {run_id}.{step.seq})"
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
