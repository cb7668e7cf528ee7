"""The admin jobs' command group: one command a job, the same code Beat's tasks call."""

from __future__ import annotations

import json
from typing import Any

import click

from orchestration.errors import ChordlineError

__all__ = ["as_json", "echo_json", "jobs"]

as_json = click.option(
    "--json", "as_json", is_flag=True, help="print one JSON document on stdout, nothing else"
)
"""The ``--json`` switch every job's command takes."""


def echo_json(document: dict[str, Any]) -> None:
    """Print ``document`` as JSON on stdout (paths, decimals and times as strings)."""
    click.echo(json.dumps(document, indent=2, default=str))


class _Jobs(click.Group):
    """Prints our errors as one clear message instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChordlineError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Jobs, name="chordline admin run")
def jobs() -> None:
    """Run one admin job once (the job Beat schedules on the admin queue)."""
