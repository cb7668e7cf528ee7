"""Operating a deployment: `check`, `lock` and `db upgrade`."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable

import click
from rich.console import RenderableType
from rich.markup import escape

from orchestration.cli.base import console, errors, load_cli_settings, main
from orchestration.cli.output import echo_json
from orchestration.cli.tables import Column, fitted
from orchestration.config import Settings
from orchestration.errors import BackendUnreachable, ConfigError, JournalError
from orchestration.evals.lock import LOCK_FILE
from orchestration.journal import Journal

__all__ = ["check", "db", "lock"]


# -- configuration and database -------------------------------------------------------------


@main.command()
@click.option(
    "--json", "as_json", is_flag=True, help="print settings, services and breakers as JSON"
)
def check(as_json: bool) -> None:
    """Print the effective settings (secrets masked) and ping each backing service."""
    settings = load_cli_settings()
    masked = settings.masked()
    if not as_json:
        rows = [[name, escape(value)] for name, value in masked.items()]
        columns = (Column("variable"), Column("value", prose=True))
        console.print(fitted(columns, rows, console.width, title="Settings"))
    services = _probe_services(settings)
    down = {name: problem for name, problem in services.items() if problem}
    breakers = _breakers(settings) if not down else []
    if as_json:
        echo_json(
            {
                "settings": masked,
                "services": {name: problem or "ok" for name, problem in services.items()},
                "breakers": [dataclasses.asdict(b) for b in breakers],
            }
        )
    else:
        for service, problem in services.items():
            if problem:
                errors.print(f"[red]{problem}[/]", highlight=False, soft_wrap=True)
            else:
                console.print(f"[green]ok[/]   {service}")
        if not down:
            console.print(_breaker_table(settings, breakers))
    if down:
        sys.exit(1)


def _probe_services(settings: Settings) -> dict[str, str]:
    """Each backing service with what is wrong with it, empty when it answers."""
    from orchestration.canvas import ping_broker, producer
    from orchestration.journal import open_journal

    journal = open_journal(settings.journal_url)
    probes: tuple[tuple[str, Callable[[], None]], ...] = (
        ("journal", lambda: _probe_journal(journal)),
        ("broker", lambda: ping_broker(producer(settings), settings.broker_url)),
    )
    found: dict[str, str] = {}
    for service, probe in probes:
        try:
            probe()
            found[service] = ""
        except BackendUnreachable as exc:
            found[service] = f"down {service}: {exc}"
        except JournalError as exc:
            found[service] = f"not migrated {service}: {exc}"
    return found


def _probe_journal(journal: Journal) -> None:
    """Ping the journal and check its schema is the one this code needs.

    Raises:
        BackendUnreachable: the database does not answer.
        JournalError: its schema is behind (a shared database: `chordline db upgrade`).
    """
    journal.ping()
    # Every command that uses a SQLite journal migrates it first, so only a shared database
    # can be left behind.
    if not journal.is_sqlite:
        journal.ensure_schema(upgrade=False)


@dataclasses.dataclass(frozen=True)
class _Breaker:
    """One row of the breaker table: a deployment's breaker, or an agent whose pin is invalid."""

    key: str
    state: str
    failures: int
    opened_at: str | None
    agents: list[str]
    problem: str = ""


def _breakers(settings: Settings) -> list[_Breaker]:
    """Each deployment of every agent's chain with its circuit breaker's state."""
    from orchestration.agents.registry import load_registry
    from orchestration.llm.breakers import BreakerBoard, breaker_key
    from orchestration.llm.deployments import resolve_chain

    board = BreakerBoard(settings.llm, settings.redis_url)
    found: list[_Breaker] = []
    users: dict[str, list[str]] = {}
    registry = load_registry(settings.agent_dirs)
    for name in registry.names():
        try:
            chain = resolve_chain(registry.get(name), settings.llm)
        except ConfigError as exc:
            found.append(_Breaker(f"({name})", "invalid pin", 0, None, [name], str(exc)))
            continue
        for deployment in chain:
            if not deployment.offline:
                users.setdefault(breaker_key(deployment, settings.llm), []).append(name)
    for key, agents in users.items():
        state = board.state(key)
        opened = state.opened_at.isoformat(timespec="seconds") if state.opened_at else None
        problem = "no API key" if key.endswith(":nokey") else ""
        found.append(_Breaker(key, state.state, state.failures, opened, agents, problem))
    return found


def _breaker_table(settings: Settings, breakers: list[_Breaker]) -> RenderableType:
    """The breakers as a table, with where their state lives."""
    from orchestration.llm.breakers import BreakerBoard

    shared = BreakerBoard(settings.llm, settings.redis_url).shared
    where = "shared in Redis" if shared else "in-process: each worker keeps its own"
    rows: list[list[str]] = []
    styles = {"closed": "green", "open": "red", "invalid pin": "red"}
    for breaker in breakers:
        style = styles.get(breaker.state, "yellow")
        shown = f"[{style}]{breaker.state}[/]"
        if breaker.problem == "no API key":
            shown += " [red](no API key)[/]"
        agents = escape(breaker.problem) if breaker.state == "invalid pin" else ""
        failures = "" if breaker.state == "invalid pin" else str(breaker.failures)
        opened = breaker.opened_at or ""
        rows.append(
            [escape(breaker.key), shown, failures, opened, agents or ", ".join(breaker.agents)]
        )
    columns = (
        Column("breaker (deployment:key)"),
        Column("state"),
        Column("failures", right=True),
        Column("opened at"),
        Column("agents", prose=True),
    )
    return fitted(columns, rows, console.width, title=f"Circuit breakers ({where})")


@main.command()
@click.option("--check", "check_only", is_flag=True, help="compare with the file, write nothing")
@click.option("--file", "path", default=LOCK_FILE, show_default=True)
def lock(check_only: bool, path: str) -> None:
    """Write (or --check) the lock file of agent versions and exact model pins."""
    from pathlib import Path

    from orchestration.agents.registry import load_registry
    from orchestration.evals.lock import build_lock, compare_lock, write_lock

    settings = load_cli_settings()
    registry = load_registry(settings.agent_dirs)
    if registry.broken:
        raise ConfigError(
            "cannot lock while agents are broken:\n  "
            + "\n  ".join(f"{b.label}: {b.reason}" for b in registry.broken)
            + "\nFix: correct them (`chordline agents` lists them), then lock again."
        )
    report = build_lock(registry, settings.evals, settings.llm)
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
    write_lock(report.content, target)
    console.print(f"wrote {target} ({len(report.content['agents'])} agents)")


@main.group()
def db() -> None:
    """Journal database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the journal's migrations (idempotent)."""
    from orchestration.journal import open_journal

    journal = open_journal(load_cli_settings().journal_url)
    journal.ping()
    journal.upgrade()
    console.print("[green]journal schema is up to date[/]")
