"""Throughput: many concurrent runs, completed steps per second, against bare Celery tasks per
second on a worker of the same shape (prefork, 2 processes).

Rates are taken between the first and the last start (of a step, of a task), so the time the
benchmark spends submitting is not counted on either side.
"""

from __future__ import annotations

from celery.result import ResultSet

from bench import bare
from bench.report import Row, Table
from bench.session import Session

__all__ = ["run"]

TARGET = 0.5


def _bare_rate(session: Session, tasks: int) -> float:
    app = session.bare_app
    results = [app.send_task(bare.NOOP) for _ in range(tasks)]
    stamps = [float(v) for v in ResultSet(results, app=app).join_native(timeout=300)]
    return (len(stamps) - 1) / (max(stamps) - min(stamps))


def run(session: Session) -> Table:
    """Measure and return the table."""
    size = session.size
    session.shared_workers()
    runs, ticks = size.throughput_runs, size.throughput_ticks
    ids = session.submit("counter", f"tick {ticks} times", count=runs)
    session.wait(ids, timeout=60 + runs * ticks)
    count, first, last = session.step_span(ids)
    steps_per_s = (count - 1) / (last - first).total_seconds()
    tasks_per_s = _bare_rate(session, count)
    ratio = steps_per_s / tasks_per_s
    return Table(
        title="3. Throughput (steps/s vs tasks/s)",
        baseline="bare Celery no-op tasks",
        rows=[Row("per second", steps_per_s, tasks_per_s, f"ratio >= {TARGET:g}", ratio >= TARGET)],
        notes=[
            f"Chordline: {runs} concurrent counter runs of {2 * ticks + 1} steps ({count} steps); "
            f"bare: {count} no-op tasks sent at once; both prefork, concurrency 2.",
        ],
    )
