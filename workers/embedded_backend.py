"""A Celery result backend on a SQLite file, for the embedded (zero-server) mode.

Celery's own file-system backend cannot count chord parts atomically, so its chords poll with a
``chord_unlock`` task once a second. This one implements ``incr`` in a SQLite transaction, which
lets Celery join chords natively: the last finished part fires the callback at once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from celery.backends.base import KeyValueStoreBackend

__all__ = ["SQLiteResultBackend"]


def _key(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else bytes(key)


class SQLiteResultBackend(KeyValueStoreBackend):
    """Key-value results in one SQLite table, shared by every process on the machine."""

    implements_incr = True
    supports_native_join = True

    def __init__(self, url: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url = url
        path = (url or "").partition("://")[2] or ".chordline/results.sqlite3"
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB, expires REAL)"
            )

    def __reduce__(self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Any:
        # Celery pickles backends into child processes; keep the path.
        return super().__reduce__(args, {**(kwargs or {}), "url": self.url})  # type: ignore[call-arg]

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def get(self, key: str | bytes) -> bytes | None:
        row = (
            self._connect()
            .execute(
                "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)",
                (_key(key), time.time()),
            )
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.get(key) for key in keys]

    def set(self, key: str | bytes, value: bytes | str) -> None:
        data = value.encode() if isinstance(value, str) else value
        lifetime: float | None = getattr(self, "expires", None)
        expires = time.time() + lifetime if lifetime else None
        self._connect().execute(
            "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
            (_key(key), data, expires),
        )

    def delete(self, key: str | bytes) -> None:
        self._connect().execute("DELETE FROM kv WHERE key = ?", (_key(key),))

    def incr(self, key: str | bytes) -> int:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO kv (key, value, expires) VALUES (?, '0', NULL) "
                "ON CONFLICT(key) DO NOTHING",
                (_key(key),),
            )
            db.execute(
                "UPDATE kv SET value = CAST(value AS INTEGER) + 1 WHERE key = ?", (_key(key),)
            )
            (value,) = db.execute("SELECT value FROM kv WHERE key = ?", (_key(key),)).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(value)

    def expire(self, key: str | bytes, value: int) -> None:
        expires = time.time() + value if value else None
        self._connect().execute("UPDATE kv SET expires = ? WHERE key = ?", (expires, _key(key)))
