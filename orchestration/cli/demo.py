"""The zero-server quick start: `chordline demo`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import click

from orchestration.cli.base import DEMO_AGENT, DEMO_INPUT, console, load_cli_settings, main
from orchestration.cli.runs import exit_for, show_run
from orchestration.config import Settings
from orchestration.errors import ChordlineError
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus

__all__ = ["demo"]


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

    settings = load_cli_settings()
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
    show_run(client.runtime.journal, run.id)
    exit_for(run)


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
