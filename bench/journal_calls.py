"""Counting what a step sends to the journal's database: statements and round trips."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["Calls", "counting"]


@dataclass
class Calls:
    """Statements sent, and round trips they took (with BEGIN and COMMIT where a statement ran
    in a transaction rather than in autocommit mode)."""

    statements: int = 0
    round_trips: int = 0


def _autocommit(connection: Any) -> bool:
    level = connection.get_execution_options().get("isolation_level")
    return bool(level == "AUTOCOMMIT")


@contextmanager
def counting(engine: Engine) -> Iterator[Calls]:
    """Count the statements and round trips ``engine`` makes inside the block."""
    calls = Calls()

    def on_execute(*_: Any) -> None:
        calls.statements += 1
        calls.round_trips += 1

    def on_begin(connection: Any) -> None:
        if not _autocommit(connection):
            calls.round_trips += 1  # BEGIN, sent with the transaction's first statement

    def on_end(connection: Any) -> None:
        if not _autocommit(connection):
            calls.round_trips += 1  # COMMIT or ROLLBACK

    hooks = (
        ("before_cursor_execute", on_execute),
        ("begin", on_begin),
        ("commit", on_end),
        ("rollback", on_end),
    )
    for name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        yield calls
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)
