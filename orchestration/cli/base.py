"""The ``chordline`` group, its consoles and the error handling every command shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from orchestration.cli.commands import LazyGroup
from orchestration.errors import ChordlineError

if TYPE_CHECKING:
    from orchestration.config import Settings
    from orchestration.journal import Journal

__all__ = [
    "DEMO_AGENT",
    "DEMO_INPUT",
    "console",
    "errors",
    "load_cli_settings",
    "main",
    "open_cli_journal",
    "open_client",
]

console = Console()
errors = Console(stderr=True)

DEMO_AGENT = "support-triage"
DEMO_INPUT = (
    "Hi, this is jane.doe@example.com. Order ORD-1042 arrived with a cracked screen. "
    "Please refund it."
)


class _Commands(LazyGroup):
    """Imports each command when it runs; prints our errors as one clear message instead of a
    traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChordlineError as exc:
            errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            ctx.exit(2)


def load_cli_settings() -> Settings:
    from orchestration.config import current_settings

    return current_settings()


def open_cli_journal() -> Journal:
    """The settings' journal, checked: for commands that only read it (no agents, no broker)."""
    from orchestration.journal import open_journal

    journal = open_journal(load_cli_settings().journal_url)
    journal.attach()
    return journal


def open_client() -> Any:
    from orchestration.client import Client

    return Client(load_cli_settings())


@click.group(cls=_Commands)
@click.version_option(package_name="chordline")
def main() -> None:
    """Chordline: durable AI agents on Celery."""
