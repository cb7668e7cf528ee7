"""Connecting to the journal's database: one engine per URL, tuned per dialect."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, InterfaceError, OperationalError

from orchestration.storable_text import journal_json

__all__ = [
    "JOURNAL_DOWN",
    "SQLITE_BUSY_S",
    "STATEMENT_FAILED",
    "VALUE_REFUSED",
    "connect_engine",
    "is_postgres",
    "load_driver",
    "shown_url",
    "switch_to_wal",
    "write",
]

SQLITE_BUSY_S = 30.0
"""How long a SQLite statement waits for another connection's lock."""

# The driver's errors that callers outside the journal handle, named for what they mean there,
# so that no caller needs SQLAlchemy to catch them.
JOURNAL_DOWN: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
"""The errors of a database that does not answer (a restart, a connection that died)."""
STATEMENT_FAILED: type[Exception] = OperationalError
"""The error of a statement the database could not run (it is down, or a lock timed out)."""
VALUE_REFUSED: type[Exception] = DataError
"""The error of a value the database refuses to store (a NUL byte, a string over its size)."""


def connect_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite with WAL and write locks taken up front, or PostgreSQL.

    Both encode JSON columns with :func:`orchestration.storable_text.journal_json`, so a tool's
    result or a model's answer holding a lone surrogate or a NUL is stored (as U+FFFD).
    """
    if make_url(url).drivername.startswith("sqlite"):
        return _sqlite_engine(url)
    # No pre-ping: it would cost a round trip per checkout on every step. A connection that
    # died with its server fails its statement, SQLAlchemy drops the pool's older connections,
    # and the step is retried (see workers.tasks) on a fresh one.
    return create_engine(url, pool_size=5, max_overflow=5, json_serializer=journal_json)


def load_driver(url: str) -> None:
    """Import the SQLAlchemy dialect and the database driver of ``url``, connecting nothing.

    They are most of an engine's cost on first use (psycopg and the PostgreSQL dialect take a
    few tenths of a second); a process about to fork loads them once for all its children.
    """
    make_url(url).get_dialect().import_dbapi()


def is_postgres(engine: Engine) -> bool:
    """True for PostgreSQL (which gets the one-statement hot path)."""
    return engine.dialect.name == "postgresql"


def shown_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def write(engine: Engine) -> AbstractContextManager[Connection]:
    """A write transaction (on SQLite it takes the write lock up front)."""
    return engine.execution_options(chordline_writes=True).begin()


def switch_to_wal(
    execute: Callable[[str], object],
    error: type[Exception] = sqlite3.OperationalError,
    busy_s: float = SQLITE_BUSY_S,
) -> None:
    """Put a SQLite file in WAL mode (kept in the file; a no-op once it is).

    SQLite answers the switch with "database is locked" at once, without waiting out the busy
    timeout, while another connection has the new file open; two first opens at the same moment
    (two processes starting on a fresh data directory, two tool calls searching a fresh store)
    therefore retry for as long as the busy timeout would have waited.

    Args:
        execute: runs one statement on the connection.
        error: the driver's OperationalError (sqlean's differs from sqlite3's).
        busy_s: how long to keep trying.
    """
    deadline = time.monotonic() + busy_s
    pause = 0.005
    while True:
        try:
            execute("PRAGMA journal_mode=WAL")
            return
        except error as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)  # back off while the other opener finishes its switch
        pause = min(pause * 2, 0.1)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_S},
        json_serializer=journal_json,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN; we issue BEGIN IMMEDIATE ourselves
        # so two writers queue on the busy timeout instead of deadlocking on lock upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        switch_to_wal(cursor.execute)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get("chordline_writes", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine
