"""The ``chordline`` command, one module per command group."""

from orchestration.cli import admin, demo, evals, ops, processes, runs
from orchestration.cli.base import main

__all__ = ["admin", "demo", "evals", "main", "ops", "processes", "runs"]
