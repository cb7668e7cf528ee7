"""Connecting to the journal's database: one engine per URL, tuned per dialect."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["connect_engine", "is_postgres", "shown_url", "write"]


def connect_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite with WAL and write locks taken up front, or PostgreSQL."""
    if make_url(url).drivername.startswith("sqlite"):
        return _sqlite_engine(url)
    # No pre-ping: it would cost a round trip per checkout on every step. A connection that
    # died with its server fails its statement, SQLAlchemy drops the pool's older connections,
    # and the step is retried (see workers.tasks) on a fresh one.
    return create_engine(url, pool_size=5, max_overflow=5)


def is_postgres(engine: Engine) -> bool:
    """True for PostgreSQL (which gets the one-statement hot path)."""
    return engine.dialect.name == "postgresql"


def shown_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def write(engine: Engine) -> AbstractContextManager[Connection]:
    """A write transaction (on SQLite it takes the write lock up front)."""
    return engine.execution_options(chordline_writes=True).begin()


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN; we issue BEGIN IMMEDIATE ourselves
        # so two writers queue on the busy timeout instead of deadlocking on lock upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get("chordline_writes", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine
