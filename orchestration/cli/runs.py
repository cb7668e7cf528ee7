"""Working with runs: `submit`, `status`, `runs`, `agents`, `approve`, `cancel`, `sweep`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from orchestration.cli.base import console, main, open_cli_journal, open_client
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunKind, RunStatus

if TYPE_CHECKING:
    from orchestration.journal import Journal

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
    from orchestration.run_request import parse_run_request
    from orchestration.runtime import Limits

    client = open_client()
    # The one run-request contract, as HTTP and send_task apply it.
    fields = {
        "agent": agent,
        "input": text,
        "tenant": tenant,
        "max_steps": max_steps,
        "max_tokens": max_tokens,
        "max_usd": max_usd,
        "session": session,
    }
    request = parse_run_request({k: v for k, v in fields.items() if v is not None}, client.settings)
    limits = Limits(request.max_steps, request.max_tokens, request.max_usd)
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
    show_run(client.runtime.journal, run.id)
    exit_for(run)


def show_run(journal: Journal, run_id: str, tenant: str | None = None) -> None:
    """Print a run from the journal: its panel, its workflow children, memory, approvals and
    the feedback on it."""
    from orchestration.cli.display import feedback_table, run_panel
    from orchestration.cli.workflows import children_table, memory_table
    from orchestration.feedback import feedback_of
    from orchestration.memory.context import read_recorded

    run = journal.get_run(run_id, tenant)
    steps = journal.steps(run_id)
    console.print(run_panel(run, steps, console.width))
    if run.parent_id:
        console.print(f"stage {run.stage} of workflow run {run.parent_id}")
    if run.kind == RunKind.WORKFLOW:
        from orchestration.workflows.store import child_runs

        children = child_runs(journal, run_id)
        if children:
            console.print(children_table(run, children, console.width))
    loaded = read_recorded(journal, run_id)
    if loaded is not None:
        console.print(memory_table(loaded.record, console.width))
    for step in steps:
        if step.status == "waiting":
            console.print(
                f"[magenta]waiting for approval:[/] step {step.seq} {step.name} "
                f"{step.arguments}  (approve: chordline approve {run.id}.{step.seq})"
            )
    given = feedback_of(journal, run_id)
    if given:
        console.print(feedback_table(given, console.width))


def _full_id(journal: Journal, run_id: str, tenant: str | None = None) -> str:
    """The whole id of ``run_id``, which may be the short id a narrow listing shows."""
    return journal.resolve_run_id(run_id, tenant)


@main.command()
@click.argument("run_id")
@click.option("--tenant", default=None)
@click.option("--json", "as_json", is_flag=True, help="print the run and its steps as JSON")
def status(run_id: str, tenant: str | None, as_json: bool) -> None:
    """Show a run: status, answer and step timeline (RUN_ID may be its first 8 characters)."""
    # Only the journal is read: neither the agents nor the broker are loaded.
    journal = open_cli_journal()
    run_id = _full_id(journal, run_id, tenant)
    if not as_json:
        show_run(journal, run_id, tenant)
        return
    from orchestration.cli.output import echo_json, run_document
    from orchestration.feedback import feedback_of
    from orchestration.journal.listing import served_models_of_steps

    run, steps = journal.get_run(run_id, tenant), tuple(journal.steps(run_id))
    given = feedback_of(journal, run_id)
    echo_json(run_document(run, steps, served_models_of_steps(steps), given))


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class _Since(click.ParamType[datetime]):
    """``30m``, ``2h``, ``7d`` (ago) or an ISO date or time (UTC unless it says otherwise)."""

    name = "since"

    def convert(self, value: Any, param: click.Parameter | None, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        amount, unit = text[:-1], text[-1:].lower()
        if unit in _UNITS and amount.isdigit():
            return datetime.now(UTC) - timedelta(seconds=int(amount) * _UNITS[unit])
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{text!r} is neither a duration nor a date. Fix: e.g. --since 30m, 2h, 7d, "
                "2026-11-24 or 2026-11-24T09:00",
                param,
                ctx,
            )
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command()
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="runs per page"
)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in RunStatus]),
    help="only runs in this status (repeatable)",
)
@click.option("--agent", default=None, help="only runs of this agent")
@click.option(
    "--since",
    type=_Since(),
    default=None,
    help="only runs created since: 30m, 2h, 7d or an ISO date/time (UTC)",
)
@click.option("--tenant", default=None)
@click.option("--wide", is_flag=True, help="whole run ids whatever the terminal's width")
@click.option("--json", "as_json", is_flag=True, help="print the page as JSON")
def runs(
    *,
    limit: int,
    page: int,
    statuses: tuple[str, ...],
    agent: str | None,
    since: datetime | None,
    tenant: str | None,
    wide: bool,
    as_json: bool,
) -> None:
    """List runs, newest first, a page at a time."""
    from orchestration.cli.display import runs_table
    from orchestration.journal import RunFilter

    journal = open_cli_journal()
    where = RunFilter(
        tenant=tenant, agent=agent, statuses=tuple(RunStatus(s) for s in statuses), since=since
    )
    found = journal.list_runs(where, per_page=limit, page=page, count=True)
    if as_json:
        from orchestration.cli.output import echo_json, runs_document

        echo_json(runs_document(found, journal.served_models([r.id for r in found.runs])))
        return
    if not found.runs:
        console.print("no runs match" if found.total or page == 1 else "no runs on this page")
        return
    console.print(runs_table(found.runs, console.width, whole_ids=wide))
    footer = f"page {found.page} of {found.pages}, {found.total} run{'s' * (found.total != 1)}"
    footer += ", times in UTC"
    if found.has_next:
        footer += f"; next: --page {found.page + 1}"
    console.print(footer, highlight=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print the agents as JSON")
def agents(as_json: bool) -> None:
    """List the agents with their versions and model pins, and any that are broken."""
    from orchestration.agents.registry import load_registry
    from orchestration.cli.base import load_cli_settings
    from orchestration.cli.display import agents_table, broken_lines

    # Only the agents are needed: no journal, no broker.
    registry = load_registry(load_cli_settings().agent_dirs)
    if as_json:
        from orchestration.cli.output import agents_document, echo_json

        echo_json(agents_document(registry))
        return
    console.print(f"[bold]Agents in {registry.directory}[/]", highlight=False, soft_wrap=True)
    console.print(agents_table(registry, console.width))
    console.print("* requires approval")
    for line in broken_lines(registry):
        console.print(line, soft_wrap=True)


@main.command()
@click.argument("run_id")
@click.option("--reason", default="", help="recorded on the run")
@click.option("--tenant", default=None)
def cancel(run_id: str, reason: str, tenant: str | None) -> None:
    """Cancel a run; a step in flight finishes but nothing follows it."""
    client = open_client()
    run_id = _full_id(client.runtime.journal, run_id, tenant)
    if client.cancel(run_id, reason=reason, tenant=tenant):
        console.print(f"run {run_id} cancelled")
    else:
        console.print(f"run {run_id} had already ended; nothing changed")


@main.command()
def sweep() -> None:
    """Re-drive stuck runs once (what Beat does every CHORDLINE_SWEEP_INTERVAL_SECONDS)."""
    redriven = open_client().sweep()
    console.print(f"re-drove {len(redriven)} run(s)")
