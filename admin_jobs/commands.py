"""The admin jobs' command group: one command a job, the same code Beat's tasks call."""

from __future__ import annotations

from typing import Any

import click

from orchestration.errors import ChordlineError

__all__ = ["jobs"]


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
