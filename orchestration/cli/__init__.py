"""The ``chordline`` command, one module per command group.

Each command's module is imported when that command runs (see :mod:`orchestration.cli.commands`),
so ``chordline --help`` and ``--version`` load neither the journal nor Celery.
"""

from orchestration.cli.base import main

__all__ = ["main"]
