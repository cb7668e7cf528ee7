"""The ``chordline`` command, one module per command group."""

from orchestration.cli import admin, demo, ops, processes, runs, stats
from orchestration.cli.base import main

__all__ = ["admin", "demo", "main", "ops", "processes", "runs", "stats"]
