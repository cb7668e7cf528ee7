"""The ``chordline`` command, one module per command group."""

from orchestration.cli import admin, demo, memory, ops, processes, runs, workflows
from orchestration.cli.base import main

__all__ = ["admin", "demo", "main", "memory", "ops", "processes", "runs", "workflows"]
