"""The ``chordline`` group, its consoles and the error handling every command shares."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from orchestration.config import Settings, current_settings
from orchestration.errors import ChordlineError

__all__ = [
    "DEMO_AGENT",
    "DEMO_INPUT",
    "console",
    "errors",
    "load_cli_settings",
    "main",
    "open_client",
]

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


def load_cli_settings() -> Settings:
    return current_settings()


def open_client() -> Any:
    from orchestration.client import Client

    return Client(load_cli_settings())


@click.group(cls=_Commands)
@click.version_option(package_name="chordline")
def main() -> None:
    """Chordline: durable AI agents on Celery."""
