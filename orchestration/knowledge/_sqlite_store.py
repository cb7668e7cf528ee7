"""The embedded vector store: one SQLite file with a sqlite-vec ``vec0`` table per generation.

The pointer to the live generation is a row of ``kb_indexes``; publishing rewrites those rows in
one transaction, and a search reads the pointer and the vectors in one read transaction (WAL),
so it sees one generation whole.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from orchestration.errors import KnowledgeError
from orchestration.journal.engine import SQLITE_BUSY_S, switch_to_wal
from orchestration.knowledge._vectors import Hit, IndexInfo, StoredChunk

__all__ = ["SqliteVecStore"]

_MISSING = (
    "the sqlite-vec store needs the `knowledge` extra. Fix: pip install 'chordline[knowledge]' "
    "(or point CHORDLINE_VECTOR_STORE_URL at a Chroma server)"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_indexes (
    kb TEXT NOT NULL,
    generation INTEGER NOT NULL,
    model TEXT NOT NULL,
    dimension INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (kb, generation)
)
"""


def _sqlite() -> Any:
    """A DB-API sqlite module that can load extensions.

    Some Python builds (pyenv's default among them) compile the standard module without
    extension loading; sqlean.py ships SQLite with it.
    """
    import sqlite3

    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import sqlean  # type: ignore[import-untyped]
    except ImportError:
        raise KnowledgeError(_MISSING) from None
    return sqlean


def _table(index: IndexInfo) -> str:
    return '"vec_' + index.collection.replace("-", "_") + '"'


class SqliteVecStore:
    """A :class:`~orchestration.knowledge._vectors.VectorStore` in one SQLite file.

    Args:
        path: the database file (created with its directory).

    Raises:
        KnowledgeError: sqlite-vec is not installed.
    """

    def __init__(self, path: Path) -> None:
        try:
            import sqlite_vec  # type: ignore[import-untyped]
        except ImportError:
            raise KnowledgeError(_MISSING) from None
        self._vec = sqlite_vec
        self._module = _sqlite()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            switch_to_wal(db.execute, self._module.OperationalError)
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        # One connection per operation: tools call from threads, rebuilds from other processes.
        db = self._module.connect(str(self.path), timeout=SQLITE_BUSY_S, isolation_level=None)
        try:
            db.enable_load_extension(True)
            self._vec.load(db)
            db.enable_load_extension(False)
            db.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_S * 1000)}")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Any]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _info(self, db: Any, kb: str, state: str) -> IndexInfo | None:
        row = db.execute(
            "SELECT generation, model, dimension FROM kb_indexes WHERE kb = ? AND state = ? "
            "ORDER BY generation DESC LIMIT 1",
            (kb, state),
        ).fetchone()
        return None if row is None else IndexInfo(kb, int(row[0]), str(row[1]), int(row[2]))

    def live(self, kb: str) -> IndexInfo | None:
        """The generation searches read."""
        with self._connect() as db:
            return self._info(db, kb, "live")

    def pending(self, kb: str) -> IndexInfo | None:
        """A generation written aside and not yet published."""
        with self._connect() as db:
            return self._info(db, kb, "pending")

    def begin(self, kb: str, model: str, dimension: int) -> IndexInfo:
        """Create a new empty pending generation (dropping any pending one)."""
        with self._transaction(write=True) as db:
            stale = self._info(db, kb, "pending")
            if stale is not None:
                db.execute(f"DROP TABLE IF EXISTS {_table(stale)}")
                db.execute("DELETE FROM kb_indexes WHERE kb = ? AND state = 'pending'", (kb,))
            (last,) = db.execute(
                "SELECT COALESCE(MAX(generation), 0) FROM kb_indexes WHERE kb = ?", (kb,)
            ).fetchone()
            index = IndexInfo(kb, int(last) + 1, model, dimension)
            db.execute(
                f"CREATE VIRTUAL TABLE {_table(index)} USING vec0(chunk_id TEXT PRIMARY KEY, "
                f"embedding float[{dimension}] distance_metric=cosine, grp TEXT, "
                "+source TEXT, +title TEXT, +body TEXT)"
            )
            db.execute(
                "INSERT INTO kb_indexes (kb, generation, model, dimension, state) "
                "VALUES (?, ?, ?, ?, 'pending')",
                (kb, index.generation, model, dimension),
            )
        return index

    def chunk_ids(self, index: IndexInfo) -> set[str]:
        """The ids of the chunks a generation holds."""
        with self._connect() as db:
            return {str(r[0]) for r in db.execute(f"SELECT chunk_id FROM {_table(index)}")}

    def chunks(self, index: IndexInfo, ids: Sequence[str]) -> list[StoredChunk]:
        """The chunks with these ids, vectors included."""
        found: list[StoredChunk] = []
        with self._connect() as db:
            for start in range(0, len(ids), 500):
                part = list(ids[start : start + 500])
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT chunk_id, vec_to_json(embedding), source, title, grp, body "
                    f"FROM {_table(index)} WHERE chunk_id IN ({marks})",
                    part,
                )
                found.extend(
                    StoredChunk(r[0], tuple(json.loads(r[1])), r[2], r[3], r[4], r[5]) for r in rows
                )
        return found

    def upsert(self, index: IndexInfo, chunks: Sequence[StoredChunk]) -> None:
        """Write chunks (vec0 has no upsert: delete, then insert, in one transaction)."""
        with self._transaction(write=True) as db:
            table = _table(index)
            for chunk in chunks:
                db.execute(f"DELETE FROM {table} WHERE chunk_id = ?", (chunk.chunk_id,))
                db.execute(
                    f"INSERT INTO {table} (chunk_id, embedding, grp, source, title, body) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        chunk.chunk_id,
                        self._vec.serialize_float32(list(chunk.vector)),
                        chunk.group,
                        chunk.source,
                        chunk.title,
                        chunk.text,
                    ),
                )

    def delete(self, index: IndexInfo, ids: Sequence[str]) -> None:
        """Remove chunks from a generation."""
        with self._transaction(write=True) as db:
            for chunk_id in ids:
                db.execute(f"DELETE FROM {_table(index)} WHERE chunk_id = ?", (chunk_id,))

    def publish(self, index: IndexInfo) -> None:
        """Pending becomes live, live becomes previous, the previous one is dropped."""
        with self._transaction(write=True) as db:
            for row in db.execute(
                "SELECT generation, model, dimension FROM kb_indexes "
                "WHERE kb = ? AND state = 'previous'",
                (index.kb,),
            ).fetchall():
                old = IndexInfo(index.kb, int(row[0]), str(row[1]), int(row[2]))
                db.execute(f"DROP TABLE IF EXISTS {_table(old)}")
            db.execute("DELETE FROM kb_indexes WHERE kb = ? AND state = 'previous'", (index.kb,))
            db.execute(
                "UPDATE kb_indexes SET state = 'previous' WHERE kb = ? AND state = 'live'",
                (index.kb,),
            )
            updated = db.execute(
                "UPDATE kb_indexes SET state = 'live' WHERE kb = ? AND generation = ? "
                "AND state = 'pending'",
                (index.kb, index.generation),
            ).rowcount
            if updated != 1:
                raise KnowledgeError(
                    f"generation {index.generation} of {index.kb} is no longer pending (another "
                    "rebuild replaced it). Fix: run the rebuild again."
                )

    def search(
        self, index: IndexInfo, vector: Sequence[float], k: int, group: str | None = None
    ) -> list[Hit]:
        """The ``k`` nearest chunks, best first (score = 1 - cosine distance)."""
        query = (
            f"SELECT chunk_id, distance, source, title, grp, body FROM {_table(index)} "
            "WHERE embedding MATCH ? AND k = ?"
        )
        params: list[Any] = [self._vec.serialize_float32(list(vector)), k]
        if group is not None:
            query += " AND grp = ?"
            params.append(group)
        with self._transaction(write=False) as db:
            rows = db.execute(query + " ORDER BY distance", params).fetchall()
        return [Hit(r[0], r[2], r[3], r[4], r[5], round(1.0 - float(r[1]), 4)) for r in rows]

    def close(self) -> None:
        """Nothing is held open between operations."""
