"""Operating a deployment: `check`, `lock` and `db upgrade`."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click
from rich.console import RenderableType
from rich.markup import escape

from orchestration.agents.lock import LOCK_FILE
from orchestration.cli.base import console, errors, load_cli_settings, main
from orchestration.cli.tables import Column, fitted
from orchestration.config import Settings
from orchestration.errors import BackendUnreachable, ConfigError, JournalError
from orchestration.journal import Journal

__all__ = ["check", "db", "lock"]


# -- configuration and database -------------------------------------------------------------


@main.command()
def check() -> None:
    """Print the effective settings (secrets masked) and ping each backing service."""
    settings = load_cli_settings()
    rows = [[name, escape(value)] for name, value in settings.masked().items()]
    columns = (Column("variable"), Column("value", prose=True))
    console.print(fitted(columns, rows, console.width, title="Settings"))
    failures = 0
    from orchestration.canvas import ping_broker, producer
    from orchestration.journal import open_journal

    journal = open_journal(settings.journal_url)
    probes: tuple[tuple[str, Callable[[], None]], ...] = (
        ("journal", lambda: _probe_journal(journal)),
        ("broker", lambda: ping_broker(producer(settings), settings.broker_url)),
    )
    for service, probe in probes:
        try:
            probe()
            console.print(f"[green]ok[/]   {service}")
        except BackendUnreachable as exc:
            failures += 1
            errors.print(f"[red]down[/] {service}: {exc}", highlight=False, soft_wrap=True)
        except JournalError as exc:
            failures += 1
            errors.print(f"[red]not migrated[/] {service}: {exc}", highlight=False, soft_wrap=True)
    if failures:
        sys.exit(1)
    console.print(_breaker_table(settings))


def _probe_journal(journal: Journal) -> None:
    """Ping the journal and check its schema is the one this code needs.

    Raises:
        BackendUnreachable: the database does not answer.
        JournalError: its schema is behind (a shared database: `chordline db upgrade`).
    """
    journal.ping()
    # Every command that uses a SQLite journal migrates it first, so only a shared database
    # can be left behind.
    if journal.engine.dialect.name != "sqlite":
        journal.ensure_schema(upgrade=False)


def _breaker_table(settings: Settings) -> RenderableType:
    """Each deployment of every agent's chain with its circuit breaker's state."""
    from orchestration.agents.registry import load_registry
    from orchestration.llm.breakers import BreakerBoard, breaker_key
    from orchestration.llm.deployments import resolve_chain

    board = BreakerBoard(settings)
    where = "shared in Redis" if board.shared else "in-process: each worker keeps its own"
    rows: list[list[str]] = []
    users: dict[str, list[str]] = {}
    registry = load_registry(settings.agent_dirs)
    for name in registry.names():
        try:
            chain = resolve_chain(registry.get(name), settings)
        except ConfigError as exc:
            rows.append([f"({escape(name)})", "[red]invalid pin[/]", "", "", escape(str(exc))])
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
        rows.append([escape(key), shown, str(state.failures), opened, ", ".join(agents)])
    columns = (Column("breaker (deployment:key)"), Column("state"), Column("failures", right=True),
               Column("opened at"), Column("agents", prose=True))  # fmt: skip
    return fitted(columns, rows, console.width, title=f"Circuit breakers ({where})")


@main.command()
@click.option("--check", "check_only", is_flag=True, help="compare with the file, write nothing")
@click.option("--file", "path", default=LOCK_FILE, show_default=True)
def lock(check_only: bool, path: str) -> None:
    """Write (or --check) the lock file of agent versions and exact model pins."""
    from pathlib import Path

    from orchestration.agents.lock import build_lock, compare_lock, write_lock
    from orchestration.agents.registry import load_registry

    settings = load_cli_settings()
    registry = load_registry(settings.agent_dirs)
    if registry.broken:
        raise ConfigError(
            "cannot lock while agents are broken:\n  "
            + "\n  ".join(f"{b.label}: {b.reason}" for b in registry.broken)
            + "\nFix: correct them (`chordline agents` lists them), then lock again."
        )
    report = build_lock(registry, settings)
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
