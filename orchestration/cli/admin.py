"""Admin work as one-off processes: `chordline admin run JOB`."""

from __future__ import annotations

import os
import sys

import click

from orchestration.cli.base import main

__all__ = ["admin"]


@main.group()
def admin() -> None:
    """Admin jobs (evals, embedding rebuilds, fine-tunes) run once by hand."""


@admin.command("run", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("job_args", nargs=-1, type=click.UNPROCESSED)
def run(job_args: tuple[str, ...]) -> None:
    """Run admin job JOB once with the same code and settings Beat uses (--help lists them)."""
    # The admin jobs build on orchestration; running them as their own module keeps the layers.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "admin_jobs", *job_args])
