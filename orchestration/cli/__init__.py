"""The ``chordline`` command, one module per command group."""

from orchestration.cli import admin, api, approvals, demo, evals, keys, ops, processes, runs
from orchestration.cli.base import main

__all__ = [
    "admin",
    "api",
    "approvals",
    "demo",
    "evals",
    "keys",
    "main",
    "ops",
    "processes",
    "runs",
]
