"""The ``chordline`` command, one module per command group."""

from orchestration.cli import demo, ops, processes, runs
from orchestration.cli.base import main

__all__ = ["demo", "main", "ops", "processes", "runs"]
