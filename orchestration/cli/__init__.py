"""The ``chordline`` command, one module per command group."""

from orchestration.cli import admin, demo, ops, processes, rollout, runs
from orchestration.cli.base import main

__all__ = ["admin", "demo", "main", "ops", "processes", "rollout", "runs"]
