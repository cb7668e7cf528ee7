"""The ``chordline`` command: processes (worker, beat, flower) and run management."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from orchestration.config import Settings, current_settings
from orchestration.errors import BackendUnreachable, ChordlineError, ConfigError
from orchestration.models import RunStatus
from orchestration.records import RunRecord

__all__ = ["main"]

console = Console()
errors = Console(stderr=True)

DEMO_AGENT = "support-triage"
DEMO_INPUT = (
    "Hi, this is jane.doe@example.com. Order ORD-1042 arrived with a cracked screen. "
    "Please refund it."
)


class _Commands(click.Group):
    """Prints our errors as one clear message instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChordlineError as exc:
            errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            ctx.exit(2)


def _settings() -> Settings:
    return current_settings()


def _client() -> Any:
    from orchestration.client import Client

    return Client(_settings())


@click.group(cls=_Commands)
@click.version_option(package_name="chordline")
def main() -> None:
    """Chordline: durable AI agents on Celery."""


# -- configuration and database -------------------------------------------------------------


@main.command()
def check() -> None:
    """Print the effective settings (secrets masked) and ping each backing service."""
    settings = _settings()
    table = Table(title="Settings", header_style="bold")
    table.add_column("variable")
    table.add_column("value")
    for name, value in settings.masked().items():
        table.add_row(name, value)
    console.print(table)
    failures = 0
    from orchestration.canvas import ping_broker
    from orchestration.journal import open_journal
    from workers.app import create_app

    probes = (
        ("journal", open_journal(settings.journal_url).ping),
        ("broker", lambda: ping_broker(create_app(settings), settings.broker_url)),
    )
    for service, probe in probes:
        try:
            probe()
            console.print(f"[green]ok[/]   {service}")
        except BackendUnreachable as exc:
            failures += 1
            errors.print(f"[red]down[/] {service}: {exc}", highlight=False, soft_wrap=True)
    if failures:
        sys.exit(1)
    console.print(_breaker_table(settings))


def _breaker_table(settings: Settings) -> Table:
    """Each deployment of every agent's chain with its circuit breaker's state."""
    from orchestration.agents import load_registry
    from orchestration.breakers import board_for, breaker_key
    from orchestration.deployments import resolve_chain

    board = board_for(settings)
    where = "shared in Redis" if board.shared else "in-process: each worker keeps its own"
    table = Table(title=f"Circuit breakers ({where})", header_style="bold")
    for column in ("breaker (deployment:key)", "state", "failures", "opened at", "agents"):
        table.add_column(column)
    users: dict[str, list[str]] = {}
    registry = load_registry(settings.agent_dirs)
    for name in registry.names():
        try:
            chain = resolve_chain(registry.get(name), settings)
        except ConfigError as exc:
            table.add_row(f"({name})", "[red]invalid pin[/]", "", "", str(exc))
            continue
        for deployment in chain:
            if not deployment.offline:
                users.setdefault(breaker_key(deployment, settings), []).append(name)
    for key, agents in users.items():
        state = board.state(key)
        style = {"closed": "green", "open": "red"}.get(state.state, "yellow")
        opened = state.opened_at.isoformat(timespec="seconds") if state.opened_at else ""
        shown = f"[{style}]{state.state}[/]"
        if key.endswith(":nokey"):
            shown += " [red](no API key)[/]"
        table.add_row(key, shown, str(state.failures), opened, ", ".join(agents))
    return table


@main.command()
@click.option("--check", "check_only", is_flag=True, help="compare with the file, write nothing")
@click.option("--file", "path", default="chordline.lock", show_default=True)
def lock(check_only: bool, path: str) -> None:
    """Write (or --check) the lock file of agent versions and exact model pins."""
    import json
    from pathlib import Path

    from orchestration.agents import load_registry
    from orchestration.lock import build_lock, compare_lock

    settings = _settings()
    report = build_lock(load_registry(settings.agent_dirs), settings)
    for line in report.unpriced:
        errors.print(f"[yellow]no price:[/] {line} (its cost will be recorded as unknown)")
    if report.refused:
        raise ConfigError(
            "floating model aliases refused:\n  "
            + "\n  ".join(report.refused)
            + "\nFix: pin exact dated models, or set CHORDLINE_ALLOW_MODEL_ALIASES=true in "
            "development."
        )
    target = Path(path)
    if check_only:
        problems = compare_lock(report.content, target)
        if problems:
            raise ConfigError(
                f"{target} does not match the agents:\n  "
                + "\n  ".join(problems)
                + "\nFix: review the change, then run `chordline lock` and commit the file."
            )
        console.print(f"[green]{target} matches the agents[/]")
        return
    target.write_text(json.dumps(report.content, indent=2, sort_keys=True) + "\n")
    console.print(f"wrote {target} ({len(report.content['agents'])} agents)")


@main.group()
def db() -> None:
    """Journal database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the journal's migrations (idempotent)."""
    from orchestration.journal import open_journal

    journal = open_journal(_settings().journal_url)
    journal.ping()
    journal.upgrade()
    console.print("[green]journal schema is up to date[/]")


# -- processes ------------------------------------------------------------------------------


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("-Q", "--queues", default="agents,tools", show_default=True)
@click.option("-c", "--concurrency", type=click.IntRange(min=1), default=None)
@click.option("-P", "--pool", type=click.Choice(["prefork", "threads", "solo"]), default=None)
@click.option("-n", "--hostname", default=None, help="node name, e.g. agents@%h")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(
    queues: str,
    concurrency: int | None,
    pool: str | None,
    hostname: str | None,
    celery_args: tuple[str, ...],
) -> None:
    """Run a worker on QUEUES (agents, tools, admin); extra arguments go to Celery."""
    from orchestration.client import Client
    from workers.app import QUEUES

    settings = _settings()
    unknown = [q for q in queues.split(",") if q not in QUEUES]
    if unknown:
        raise ConfigError(f"unknown queue(s) {unknown}. Fix: use a subset of {', '.join(QUEUES)}.")
    client = Client(settings)
    client.ping_broker()
    import workers.tasks  # noqa: F401  (registers the tasks)
    from workers.app import app

    # Mingle (syncing revoked ids with every other worker) costs a second at each start and
    # Chordline revokes nothing: the journal decides what runs. A replacement worker of a
    # crashed one consumes that much sooner.
    argv = ["worker", "-Q", queues, "--loglevel", settings.log_level, "-E", "--without-mingle"]
    # Threads suit the embedded broker and I/O-bound tools; prefork suits LLM turns on Redis.
    argv += ["--pool", pool or ("threads" if settings.embedded else "prefork")]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if hostname:
        argv += ["--hostname", hostname]
    app.worker_main([*argv, *celery_args])


@main.command()
def beat() -> None:
    """Run Celery Beat (once per deployment): the sweeper and the admin schedule."""
    from beat_schedule import schedule
    from workers.app import app

    app.conf.beat_schedule = schedule()
    beat_file = _settings().data_dir / "celerybeat-schedule"
    beat_file.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "--loglevel", _settings().log_level, "--schedule", str(beat_file)])


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower(flower_args: tuple[str, ...]) -> None:
    """Run Flower on the same broker (needs the flower extra)."""
    import importlib.util

    if importlib.util.find_spec("flower") is None:
        raise ConfigError("Flower is not installed. Fix: pip install 'chordline[flower]'.")
    from workers.app import app

    app.start(["flower", *flower_args])


# -- runs -----------------------------------------------------------------------------------


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number of dollars") from None


def _exit_for(run: RunRecord) -> None:
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
    from orchestration.runtime import Limits

    client = _client()
    limits = Limits(max_steps, max_tokens, _decimal(max_usd))
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
    _show(client, run.id)
    _exit_for(run)


def _show(client: Any, run_id: str, tenant: str | None = None) -> None:
    from orchestration.display import run_panel

    view = client.get(run_id, tenant)
    console.print(run_panel(view.run, view.steps))
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
    _show(_client(), run_id, tenant)


@main.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--tenant", default=None)
def runs(limit: int, tenant: str | None) -> None:
    """List the newest runs."""
    from orchestration.display import runs_table

    console.print(runs_table(_client().runtime.journal.list_runs(tenant, limit)))


@main.command()
def agents() -> None:
    """List the agents with their versions and model pins."""
    registry = _client().runtime.registry
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
    client = _client()
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
    if _client().cancel(run_id, reason=reason, tenant=tenant):
        console.print(f"run {run_id} cancelled")
    else:
        console.print(f"run {run_id} had already ended; nothing changed")


@main.command()
def sweep() -> None:
    """Re-drive stuck runs once (what Beat does every CHORDLINE_SWEEP_INTERVAL_SECONDS)."""
    redriven = _client().sweep()
    console.print(f"re-drove {len(redriven)} run(s)")


# -- the quick start ------------------------------------------------------------------------


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    ready = (settings.data_dir / "demo-worker.ready").resolve()
    ready.unlink(missing_ok=True)
    log_path = settings.data_dir / "demo-worker.log"
    env = dict(os.environ, CHORDLINE_WORKER_READY_FILE=str(ready))
    command = [
        sys.executable,
        "-m",
        "orchestration.cli",
        "worker",
        "-Q",
        "agents,tools",
        "--concurrency",
        "4",
        "--pool",
        "threads",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise ChordlineError(f"the demo worker did not start; its log ends:\n{tail}")
        time.sleep(0.05)
    return process


def _stop_worker(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@main.command()
@click.argument("agent", default=DEMO_AGENT)
@click.argument("text", default=DEMO_INPUT)
@click.option("--timeout", type=float, default=120.0, show_default=True)
def demo(agent: str, text: str, timeout: float) -> None:
    """Run AGENT end to end with a worker of its own: the zero-server quick start."""
    from orchestration.client import Client

    settings = _settings()
    client = Client(settings)
    console.rule("[bold]Chordline demo")
    console.print(f"broker {settings.broker_url}   journal {client.runtime.journal.url}")
    with console.status("starting a worker (agents, tools)"):
        process = _start_worker(settings)
    try:
        # A demo stopped mid-run (Ctrl+C, a crash, kill -9) left its runs in the journal: carry
        # each one on from its last recorded step. A step whose lease has not lapsed yet is
        # picked up by the sweeps while we wait.
        resumed = [r.id for r in client.runtime.journal.unfinished_runs()]
        if resumed:
            console.print(f"resuming {len(resumed)} unfinished run(s) from the journal")
        client.sweep()
        run = client.submit(agent, text)
        console.print(f"[bold]{agent}[/] ← {text}")
        run = _drive(client, run.id, timeout, settings)
        for run_id in resumed:
            finished = _drive(client, run_id, timeout, settings)
            console.print(f"resumed run {run_id}: {finished.status.value}")
    finally:
        _stop_worker(process)
    _show(client, run.id)
    _exit_for(run)


def _drive(client: Any, run_id: str, timeout: float, settings: Settings) -> RunRecord:
    """Wait for a run; approve its waiting calls as the demo's reviewer."""
    while True:
        with console.status(f"run {run_id}") as spinner:
            run: RunRecord = client.wait(
                run_id,
                timeout,
                on_poll=lambda r: spinner.update(f"run {r.id}: {r.status.value}"),
                sweep_every_s=settings.sweep_interval_seconds,
            )
        if run.status != RunStatus.WAITING_FOR_APPROVAL:
            return run
        for step in client.runtime.journal.waiting_approvals(run_id):
            console.print(
                f"[magenta]approval needed:[/] {step.name} {step.arguments} — approving as "
                "the demo reviewer (in production a person does: chordline approve RUN)"
            )
            client.decide(run_id, approved=True, reviewer="demo", seq=step.seq)


if __name__ == "__main__":
    main()
