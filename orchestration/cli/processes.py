"""The long-running processes: `worker`, `beat` and `flower`, each Celery itself."""

from __future__ import annotations

import ipaddress
import os
import sys

import click

from orchestration.cli.base import load_cli_settings, main
from orchestration.config import Settings
from orchestration.errors import ConfigError

__all__ = ["beat", "flower", "flower_launch", "worker"]


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
    from orchestration import canvas
    from orchestration.canvas import CELERY_DEFAULT_QUEUE, QUEUES

    settings = load_cli_settings()
    names = [q for q in queues.split(",") if q != CELERY_DEFAULT_QUEUE]
    unknown = [q for q in names if q not in QUEUES]
    if unknown:
        raise ConfigError(f"unknown queue(s) {unknown}. Fix: use a subset of {', '.join(QUEUES)}.")
    if "agents" in names:
        # Run starts sent by a bare Celery app that names no queue land on Celery's default.
        names.append(CELERY_DEFAULT_QUEUE)
    queues = ",".join(names)
    # Fail fast on a broker that does not answer (Celery itself would retry forever). A bare
    # producer is enough: the runtime (agents, journal) is the worker's to open, its connections
    # after its pool has forked, and a replacement worker's start is part of every crash's
    # recovery.
    canvas.ping_broker(canvas.producer(settings), settings.broker_url)
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
    _run_celery([*argv, *celery_args])


def _run_celery(argv: list[str]) -> None:
    """Run ``celery -A workers.app ARGV`` in this process, as ``python -m celery`` would.

    Exec'ing a fresh interpreter (see :func:`_exec_celery`) would start Python again and import
    again what this process already holds: the settings, Celery, the producer's canvas and the
    broker's client (a few tenths of a second here), and a replacement worker's start is part
    of every crash's recovery. The worker keeps this pid, and ``sys.argv`` is Celery's, so a
    SIGHUP restart re-executes ``python -m celery ...`` as it did.
    """
    import celery.__main__

    sys.argv = [celery.__main__.__file__, "-A", "workers.app", *argv]
    celery.__main__.main()


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
    """Run Flower on the same broker, with basic auth (needs the flower extra).

    CHORDLINE_FLOWER_BASIC_AUTH, _ADDRESS and _PORT apply unless Flower's own FLOWER_* variables
    or options say otherwise; an unauthenticated Flower only listens on a loopback address.
    """
    import importlib.util

    if importlib.util.find_spec("flower") is None:
        raise ConfigError("Flower is not installed. Fix: pip install 'chordline[flower]'.")
    argv, env = flower_launch(load_cli_settings(), dict(os.environ), flower_args)
    os.environ.clear()
    os.environ.update(env)
    _exec_celery(["flower", *argv])


def _option(args: tuple[str, ...], *names: str) -> str | None:
    """The value of ``--name=value`` or ``--name value`` in ``args`` (the last one wins)."""
    found = None
    for index, arg in enumerate(args):
        for name in names:
            if arg.startswith(f"{name}="):
                found = arg.split("=", 1)[1]
            elif arg == name and index + 1 < len(args):
                found = args[index + 1]
    return found


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name or "" (every interface): not provably loopback
        return False


def flower_launch(
    settings: Settings, env: dict[str, str], args: tuple[str, ...]
) -> tuple[list[str], dict[str, str]]:
    """Flower's arguments and environment, with auth, address and port from the settings.

    The password goes through FLOWER_BASIC_AUTH in the environment, not the command line
    (which ``ps`` shows to every user of the machine).

    Raises:
        ConfigError: no authentication while listening on a non-loopback address.
    """
    argv = list(args)
    env = dict(env)
    if settings.flower_basic_auth is not None and "FLOWER_BASIC_AUTH" not in env:
        env["FLOWER_BASIC_AUTH"] = settings.flower_basic_auth.get_secret_value()
    address = _option(args, "--address") or env.get("FLOWER_ADDRESS")
    if address is None:
        address = settings.flower_address
        argv.append(f"--address={address}")
    if _option(args, "--port") is None and "FLOWER_PORT" not in env:
        argv.append(f"--port={settings.flower_port}")
    authenticated = (
        _option(args, "--basic-auth", "--basic_auth", "--auth")
        or env.get("FLOWER_BASIC_AUTH")
        or env.get("FLOWER_AUTH")
    )
    if not authenticated and not _loopback(address):
        raise ConfigError(
            f"Flower would listen on {address or 'every interface'} without authentication. "
            "Fix: set CHORDLINE_FLOWER_BASIC_AUTH=user:password (or FLOWER_BASIC_AUTH), or "
            "CHORDLINE_FLOWER_ADDRESS=127.0.0.1."
        )
    return argv, env
