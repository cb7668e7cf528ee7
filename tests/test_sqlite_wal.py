"""SQLite files that Chordline creates (the embedded journal, the embedded vector store) open
cleanly when two connections open a new file at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestration.journal.engine import connect_engine
from orchestration.knowledge import open_store


def _journal(path: Path) -> None:
    engine = connect_engine(f"sqlite:///{path}")
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def _vector_store(path: Path) -> None:
    open_store(f"sqlite-vec:///{path}")


@pytest.mark.parametrize("open_file", [_journal, _vector_store], ids=["journal", "vector-store"])
def test_two_first_opens_of_a_new_file_at_once_both_succeed(
    open_file: Callable[[Path], None], tmp_path: Path
) -> None:
    # Two processes starting on a fresh data directory, or two tool calls of one turn searching
    # a fresh store: the switch to WAL made by one made the other fail with "database is
    # locked" in ~5% of pairs.
    failures: list[BaseException] = []

    def open_at(path: Path, start: threading.Barrier) -> None:
        start.wait()
        try:
            open_file(path)
        except BaseException as exc:  # collected: the test fails naming it
            failures.append(exc)

    for n in range(60):
        start = threading.Barrier(2)
        path = tmp_path / f"file{n}" / "data.sqlite3"
        pair = [threading.Thread(target=open_at, args=(path, start)) for _ in range(2)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join()
    assert not failures, failures[:3]
