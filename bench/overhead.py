"""Per-step overhead: a Chordline run of N steps against a bare Celery chain of N no-op tasks.

Both run on the same Redis, each on a prefork worker of two processes. A step's cost is the time
between the starts of consecutive steps: for the chain, Celery's own hop (ack, result, publish the
next task, deliver it); for Chordline, that plus the claim, the journal reads and the one
transaction that records the outcome. The counter agent's model is the scripted one and its
tool a no-op, so nothing but orchestration is measured.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from celery import chain

from bench import bare
from bench.journal_calls import Calls, counting
from bench.processes import Proc, group_cpu_s
from bench.report import Row, Table, percentile
from bench.session import Session, start_intervals_ms
from orchestration.journal.tables import StepKind
from orchestration.reducer import loop
from orchestration.runtime import Runtime

__all__ = ["run"]

TARGET = 2.0


@dataclass
class _Cpu:
    """CPU seconds a worker (all its processes) spent, and the steps they served."""

    seconds: float = 0.0
    steps: int = 0

    @property
    def ms_per_step(self) -> float:
        return self.seconds * 1000 / self.steps if self.steps else float("nan")


def _bare_chain_ms(session: Session, steps: int, cpu: _Cpu, worker: Proc) -> list[float]:
    app = session.bare_app
    signature = chain(*(app.signature(bare.NOOP, immutable=True) for _ in range(steps)))
    before = group_cpu_s(worker.process.pid)
    stamps = session.bare_results(signature.apply_async())
    cpu.seconds += group_cpu_s(worker.process.pid) - before
    cpu.steps += steps
    return [(b - a) * 1000 for a, b in itertools.pairwise(stamps)]


def _chordline_ms(session: Session, steps: int, cpu: _Cpu, worker: Proc) -> list[float]:
    before = group_cpu_s(worker.process.pid)
    (run_id,) = session.submit("counter", f"tick {(steps - 1) // 2} times")
    session.wait([run_id], timeout=60 + steps)
    cpu.seconds += group_cpu_s(worker.process.pid) - before
    cpu.steps += steps
    return start_intervals_ms(session.journal.steps(run_id))


def _in_process_ms(session: Session, steps: int, calls: Calls) -> list[float]:
    """The same run driven by the loop in this process, with no broker: the journal's share,
    with the statements and round trips its steps make."""
    runtime = session.client.runtime
    run_id = runtime.create_run("counter", f"tick {(steps - 1) // 2} times").id
    with counting(runtime.journal.engine) as counted:
        _drive(runtime, run_id)
    calls.statements += counted.statements
    calls.round_trips += counted.round_trips
    return start_intervals_ms(runtime.journal.steps(run_id))


def _drive(runtime: Runtime, run_id: str) -> None:
    queue: deque[tuple[StepKind, int]] = deque([(StepKind.LLM, 1)])
    while queue:
        kind, seq = queue.popleft()
        runner = loop.run_turn if kind == StepKind.LLM else loop.run_tool
        progress = runner(runtime, run_id, seq, "bench-in-process")
        if progress.status == "not_ready":
            queue.append((kind, seq))
        elif progress.dispatch is not None:
            queue.extend((StepKind.TOOL, s) for s in progress.dispatch.parallel)
            queue.extend(progress.dispatch.serial)
            if progress.dispatch.next_turn is not None:
                queue.append((StepKind.LLM, progress.dispatch.next_turn))


def run(session: Session) -> Table:
    """Measure and return the table."""
    size = session.size
    ours, theirs = session.shared_workers()
    # Warm both pool processes and their connections.
    _bare_chain_ms(session, 10, _Cpu(), theirs)
    _chordline_ms(session, 7, _Cpu(), ours)
    _in_process_ms(session, 7, Calls())
    bare_ms: list[float] = []
    chordline_ms: list[float] = []
    local_ms: list[float] = []
    bare_cpu, our_cpu, calls = _Cpu(), _Cpu(), Calls()
    for _ in range(size.overhead_repeats):
        bare_ms += _bare_chain_ms(session, size.overhead_steps, bare_cpu, theirs)
        chordline_ms += _chordline_ms(session, size.overhead_steps, our_cpu, ours)
        local_ms += _in_process_ms(session, size.overhead_steps, calls)
    steps = size.overhead_repeats * size.overhead_steps
    p50 = percentile(chordline_ms, 50), percentile(bare_ms, 50)
    p95 = percentile(chordline_ms, 95), percentile(bare_ms, 95)
    ratio = p50[0] / p50[1]
    return Table(
        title="1. Per-step overhead (ms per step)",
        baseline="bare Celery chain",
        rows=[
            Row("p50 ms/step", p50[0], p50[1], f"ratio <= {TARGET:g}", ratio <= TARGET),
            Row("p95 ms/step", p95[0], p95[1]),
            Row("mean ms/step", _mean(chordline_ms), _mean(bare_ms)),
            Row("p50 ms/step, loop in process, no broker", percentile(local_ms, 50), p50[1]),
            Row("worker CPU ms/step", our_cpu.ms_per_step, bare_cpu.ms_per_step),
            Row("journal statements/step", calls.statements / steps, None),
            Row("journal round trips/step", calls.round_trips / steps, None),
        ],
        notes=[
            f"{size.overhead_repeats} x {size.overhead_steps} steps each side; Chordline: counter "
            "agent (scripted model, no-op read-only tool) on Redis + PostgreSQL; bare: chain of "
            "no-op tasks on the same Redis; both prefork, concurrency 2, acks late, prefetch 1.",
            "'in process' drives the same steps through the loop in the benchmark's own "
            "process, with no broker: the journal's share of a step. Statements and round trips "
            "are counted there (SQLAlchemy events; BEGIN and COMMIT count as round trips).",
            "Worker CPU: user + system time of the worker's main and pool processes over the "
            "measured runs, divided by their steps (the bare worker's over its chains).",
        ],
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
