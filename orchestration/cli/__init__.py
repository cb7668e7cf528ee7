"""The ``chordline`` command, one module per command group."""

from orchestration.cli import (
    admin,
    api,
    approvals,
    demo,
    evals,
    keys,
    memory,
    ops,
    processes,
    rollout,
    runs,
    stats,
    workflows,
)
from orchestration.cli.base import main

__all__ = [
    "admin",
    "api",
    "approvals",
    "demo",
    "evals",
    "keys",
    "main",
    "memory",
    "ops",
    "processes",
    "rollout",
    "runs",
    "stats",
    "workflows",
]
