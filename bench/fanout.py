"""Fan-out: one turn with ten read-only tool calls that each sleep 500 ms.

The turn's wall time runs from the model's answer being journaled to the next turn starting: it
covers dispatching the chord, the calls, and the join. Ideal is the slowest single call (ratio
1.0); running the calls one after another would take their sum. The baseline is a bare Celery
chord of the same sleeps on a worker with the same pool (threads, 16).
"""

from __future__ import annotations

import json
import statistics
import time

from celery import chord, group

from bench import bare
from bench.report import Row, Table
from bench.session import Session

__all__ = ["run"]

TARGET = 1.2


def _chordline(session: Session, calls: int, seconds: float) -> tuple[float, float, float]:
    """Wall time of the turn, the slowest call and the sum of the calls, in seconds."""
    line = "CALL nap " + json.dumps({"seconds": seconds})
    (run_id,) = session.submit("sleeper", "\n".join([line] * calls))
    session.wait([run_id], timeout=60 + calls * seconds)
    steps = session.journal.steps(run_id)
    first, tools, after = steps[0], steps[1:-1], steps[-1]
    assert len(tools) == calls, f"expected {calls} tool steps, got {len(tools)}"
    assert first.finished_at is not None and after.started_at is not None
    durations = [
        (s.finished_at - s.started_at).total_seconds()
        for s in tools
        if s.finished_at is not None and s.started_at is not None
    ]
    wall = (after.started_at - first.finished_at).total_seconds()
    return wall, max(durations), sum(durations)


def _bare(session: Session, calls: int, seconds: float) -> float:
    """Seconds from sending a chord of ``calls`` sleeps to its callback starting."""
    app = session.bare_app
    header = group(app.signature(bare.NAP, args=(seconds,), immutable=True) for _ in range(calls))
    sent = time.time()
    result = chord(header, app.signature(bare.NOOP, immutable=True)).apply_async()
    return float(result.get(timeout=60)) - sent


def run(session: Session) -> Table:
    """Measure and return the table."""
    size = session.size
    calls, seconds = size.fanout_calls, size.fanout_seconds
    session.stop_shared()
    procs = [
        session.chordline_worker("fanout-agents", queues="agents", concurrency=2),
        session.chordline_worker("fanout-tools", queues="tools", concurrency=16, pool="threads"),
        session.bare_worker("fanout-bare", concurrency=16, pool="threads"),
    ]
    try:
        for proc in procs:
            proc.wait_ready()
        _chordline(session, 2, 0.01)  # warm the pools
        _bare(session, 2, 0.01)
        measured = [_chordline(session, calls, seconds) for _ in range(size.overhead_repeats)]
        bare_walls = [_bare(session, calls, seconds) for _ in range(size.overhead_repeats)]
    finally:
        session.stop(*procs)
    wall = statistics.median(m[0] for m in measured)
    slowest = statistics.median(m[1] for m in measured)
    serial = statistics.median(m[2] for m in measured)
    bare_wall = statistics.median(bare_walls)
    to_slowest = wall / slowest
    return Table(
        title=f"2. Fan-out: one turn of {calls} read-only calls x {seconds * 1000:.0f} ms (s)",
        baseline="bare Celery chord",
        rows=[
            Row(
                "turn wall time / slowest call",
                wall,
                slowest,
                f"ratio <= {TARGET:g}",
                to_slowest <= TARGET,
                ratio=to_slowest,
            ),
            Row("turn wall time / calls one after another", wall, serial, "ratio << 1"),
            Row("turn wall time / bare chord wall time", wall, bare_wall),
        ],
        notes=[
            f"median of {size.overhead_repeats}; Chordline: sleeper agent, agents worker prefork "
            "2 + tools worker threads 16; wall time = next turn's start - this turn's answer "
            "journaled; bare: chord of the same sleeps, from send to callback start.",
        ],
    )
