"""Memory: worker RSS (the main process and its pool) before and after thousands of runs.

A fresh ``chordline worker`` (prefork, 2) runs tiny counter runs (one tool call, three steps)
in batches; a fresh bare worker of the same shape runs as many no-op tasks. RSS is read from
``/proc`` for the worker's whole process group.
"""

from __future__ import annotations

from celery.result import ResultSet

from bench import bare
from bench.processes import Proc, group_rss_mb
from bench.report import Row, Table
from bench.session import Session

__all__ = ["run"]

TARGET_MB = 50.0
_BATCH = 250


def _chordline(session: Session, worker: Proc, runs: int) -> tuple[float, float, float]:
    before = group_rss_mb(worker.pid)
    warm = before
    done = 0
    while done < runs:
        batch = min(_BATCH, runs - done)
        ids = session.submit("counter", "tick 1 times", count=batch)
        session.wait(ids, timeout=120 + batch)
        done += batch
        if warm == before:
            warm = group_rss_mb(worker.pid)
    return before, warm, group_rss_mb(worker.pid)


def _bare(session: Session, worker: Proc, tasks: int) -> tuple[float, float]:
    before = group_rss_mb(worker.pid)
    app = session.bare_app
    for start in range(0, tasks, _BATCH * 4):
        batch = [app.send_task(bare.NOOP) for _ in range(min(_BATCH * 4, tasks - start))]
        ResultSet(batch, app=app).join_native(timeout=120)
    return before, group_rss_mb(worker.pid)


def run(session: Session) -> Table:
    """Measure and return the table."""
    session.stop_shared()
    runs = session.size.memory_runs
    workers = [session.chordline_worker("memory-chordline"), session.bare_worker("memory-bare")]
    try:
        for worker in workers:
            worker.wait_ready()
        before, warm, after = _chordline(session, workers[0], runs)
        bare_before, bare_after = _bare(session, workers[1], runs * 3)
    finally:
        session.stop(*workers)
    growth, bare_growth = after - before, bare_after - bare_before
    return Table(
        title=f"7. Worker memory over {runs:,} runs (MB RSS, worker + pool)",
        baseline=f"bare worker, {runs * 3:,} tasks",
        rows=[
            Row("RSS at start", before, bare_before),
            Row(f"RSS after the first {min(_BATCH, runs)} runs", warm),
            Row(f"RSS after {runs:,} runs", after, bare_after),
            Row(
                "growth", growth, bare_growth, f"< {TARGET_MB:g} MB", growth < TARGET_MB, ratio=None
            ),
            Row("growth after warm-up", after - warm),
        ],
        notes=[
            f"Chordline: {runs:,} counter runs of 3 steps in batches of {_BATCH} on a fresh "
            "worker (prefork 2); bare: as many no-op tasks as steps on a fresh worker.",
        ],
    )
