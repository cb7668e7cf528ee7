"""The long-running processes: `worker`, `beat` and `flower`, each Celery itself."""

from __future__ import annotations

import os
import sys

import click

from orchestration.cli.base import load_cli_settings, main
from orchestration.errors import ConfigError

__all__ = ["beat", "flower", "worker"]


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
    from orchestration.canvas import CELERY_DEFAULT_QUEUE, QUEUES
    from orchestration.client import Client

    settings = load_cli_settings()
    names = [q for q in queues.split(",") if q != CELERY_DEFAULT_QUEUE]
    unknown = [q for q in names if q not in QUEUES]
    if unknown:
        raise ConfigError(f"unknown queue(s) {unknown}. Fix: use a subset of {', '.join(QUEUES)}.")
    if "agents" in names:
        # Run starts sent by a bare Celery app that names no queue land on Celery's default.
        names.append(CELERY_DEFAULT_QUEUE)
    queues = ",".join(names)
    client = Client(settings)
    client.ping_broker()
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
    _exec_celery([*argv, *celery_args])


def _exec_celery(argv: list[str]) -> None:
    """Become ``celery -A workers.app ARGV``: same pid, so signals reach Celery directly."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "celery", "-A", "workers.app", *argv])


@main.command()
def beat() -> None:
    """Run Celery Beat (once per deployment): the sweeper and the admin schedule."""
    settings = load_cli_settings()
    beat_file = settings.data_dir / "celerybeat-schedule"
    beat_file.parent.mkdir(parents=True, exist_ok=True)
    _exec_celery(["beat", "--loglevel", settings.log_level, "--schedule", str(beat_file)])


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower(flower_args: tuple[str, ...]) -> None:
    """Run Flower on the same broker (needs the flower extra)."""
    import importlib.util

    if importlib.util.find_spec("flower") is None:
        raise ConfigError("Flower is not installed. Fix: pip install 'chordline[flower]'.")
    _exec_celery(["flower", *flower_args])
