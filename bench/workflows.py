"""Workflows: a parallel workflow's wall time against its slowest branch plus the synthesis, and
against the same branches run one after another.

The workflow (``bench/workflows/naps_in_parallel.py``) runs three ``sleeper`` branches on one
input that makes each nap once, then a ``sleeper`` synthesis whose input (the branches' answers
after the same input) makes it nap too. Ideal is the slowest branch plus the synthesis (ratio
1.0): the parent holds no worker, and the last branch's end wakes it. The sequential baseline
runs the same four agent runs as plain runs, each submitted when the one before ended.
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime

from bench.processes import ROOT
from bench.report import Row, Table
from bench.session import Session
from orchestration import canvas
from orchestration.journal.records import RunRecord
from orchestration.workflows import load_workflows, start_workflow, store, workflow_dirs

__all__ = ["WORKFLOWS_DIR", "run"]

TARGET = 1.25
WORKFLOWS_DIR = str(ROOT / "bench" / "workflows")
_NAME = "naps-in-parallel"


def _span(run: RunRecord) -> float:
    assert run.finished_at is not None, f"run {run.id} has not ended"
    return (run.finished_at - run.created_at).total_seconds()


def _parallel(session: Session, text: str) -> tuple[float, float, float]:
    """Wall time of the workflow, its slowest branch and its synthesis, in seconds."""
    client = session.client
    flow = load_workflows(workflow_dirs(WORKFLOWS_DIR)).get(_NAME)
    parent_id = start_workflow(client.runtime, flow, text)
    canvas.advance_workflow(client.app, parent_id)
    session.wait([parent_id], timeout=120)
    parent = session.journal.get_run(parent_id)
    kids = {c.stage: c for c in store.child_runs(session.journal, parent_id)}
    branches = [kids["1"], kids["2"], kids["3"]]
    return _span(parent), max(_span(b) for b in branches), _span(kids["s"])


def _sequential(session: Session, text: str) -> float:
    """Seconds from the first of the four runs starting to the last one ending, one at a time."""
    began: datetime | None = None
    ended: datetime | None = None
    for _ in range(4):
        (run_id,) = session.submit("sleeper", text)
        session.wait([run_id], timeout=120)
        run = session.journal.get_run(run_id)
        began = began or run.created_at
        ended = run.finished_at
    assert began is not None and ended is not None
    return (ended - began).total_seconds()


def run(session: Session) -> Table:
    """Measure and return the table."""
    size = session.size
    seconds = size.fanout_seconds * 2
    text = "CALL nap " + json.dumps({"seconds": seconds})
    session.stop_shared()
    env = session.chordline_env(workflows_dir=WORKFLOWS_DIR)
    procs = [
        session.chordline_worker("workflow-agents", queues="agents", concurrency=2, env=env),
        session.chordline_worker(
            "workflow-tools", queues="tools", concurrency=16, pool="threads", env=env
        ),
    ]
    try:
        for proc in procs:
            proc.wait_ready()
        _parallel(session, 'CALL nap {"seconds": 0.01}')  # warm the pools
        measured = [_parallel(session, text) for _ in range(size.overhead_repeats)]
        serial = statistics.median(_sequential(session, text) for _ in range(size.overhead_repeats))
    finally:
        session.stop(*procs)
    wall = statistics.median(m[0] for m in measured)
    slowest = statistics.median(m[1] for m in measured)
    synthesis = statistics.median(m[2] for m in measured)
    ideal = slowest + synthesis
    return Table(
        title=f"8. Workflows: 3 parallel branches x {seconds * 1000:.0f} ms nap + a synthesis (s)",
        baseline="slowest branch + synthesis",
        rows=[
            Row(
                "workflow wall time / (slowest branch + synthesis)",
                wall,
                ideal,
                f"ratio <= {TARGET:g}",
                wall / ideal <= TARGET,
            ),
            Row("workflow wall time / the four runs one after another", wall, serial, "ratio < 1"),
        ],
        notes=[
            f"median of {size.overhead_repeats}; workflow {_NAME}: sleeper branches, agents "
            "worker prefork 2 + tools worker threads 16; a run's time is its creation to its "
            "end in the journal; the workflow's includes starting it and every wake-up.",
        ],
    )
