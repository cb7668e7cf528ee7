"""Test helpers: real worker processes, and an in-process driver for broker-free tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from orchestration.journal import Journal
from orchestration.journal.tables import Run, Step, StepKind, utcnow
from orchestration.reducer import loop
from orchestration.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Worker:
    """One ``chordline worker`` process (its own process group, so children die with it)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and every child it forked, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM (warm shutdown) and wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def output(self) -> str:
        """What the worker logged so far."""
        return self.log.read_text(errors="replace")

    def pids(self) -> set[int]:
        """The worker's process and every process it forked (its process group; Linux)."""
        found: set[int] = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.process.pid:  # field 5 of stat: the process group
                found.add(int(stat.parent.name))
        return found

    def owns(self, lease_owner: str | None) -> bool:
        """True when ``lease_owner`` (``host:pid:task``) is one of this worker's processes."""
        if not lease_owner:
            return False
        return int(lease_owner.split(":")[1]) in self.pids()


@dataclass
class WorkerPool:
    """Starts workers and waits for each to report ready through its ready file."""

    directory: Path
    workers: list[Worker] = field(default_factory=list)
    beats: list[Worker] = field(default_factory=list)

    def start(
        self,
        env: dict[str, str],
        *,
        queues: str = "agents,tools",
        concurrency: int = 2,
        pool: str = "prefork",
        timeout: float = 60,
        wait: bool = True,
    ) -> Worker:
        """Start one worker process and (unless ``wait`` is False) wait until it consumes."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"w{len(self.workers) + 1}"
        ready = self.directory / f"{name}.ready"
        log = self.directory / f"{name}.log"
        ready.unlink(missing_ok=True)
        full_env = dict(os.environ, **env, CHORDLINE_WORKER_READY_FILE=str(ready))
        command = [sys.executable, "-m", "orchestration.cli", "worker", "-Q", queues]
        command += ["--concurrency", str(concurrency), "--pool", pool, "-n", f"{name}@%h"]
        with log.open("wb") as handle:
            process = subprocess.Popen(
                command,
                env=full_env,
                cwd=ROOT,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(name, process, log)
        self.workers.append(worker)
        if not wait:
            return worker
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{worker.output()[-3000:]}")
            time.sleep(0.05)
        return worker

    def start_beat(self, env: dict[str, str]) -> Worker:
        """Start ``chordline beat`` (the sweeper's schedule); it is not a worker to kill."""
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / f"beat{len(self.beats) + 1}.log"
        command = [sys.executable, "-m", "orchestration.cli", "beat"]
        with log.open("wb") as handle:
            process = subprocess.Popen(
                command,
                env=dict(os.environ, **env),
                cwd=ROOT,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        beat = Worker(log.stem, process, log)
        self.beats.append(beat)
        return beat

    def alive(self) -> list[Worker]:
        """The workers whose process still runs."""
        return [w for w in self.workers if w.process.poll() is None]

    def stop_all(self) -> None:
        """Stop every worker (and beat) still running."""
        for worker in [*self.workers, *self.beats]:
            if worker.process.poll() is None:
                worker.terminate(timeout=15)


def _enqueue(queue: deque[tuple[StepKind, int]], plan: loop.Dispatch) -> None:
    queue.extend((StepKind.TOOL, s) for s in plan.parallel)
    queue.extend(plan.serial)
    if plan.next_turn is not None:
        queue.append((StepKind.LLM, plan.next_turn))


def drain(
    rt: Runtime, run_id: str, plan: loop.Dispatch | None = None, max_tasks: int = 10_000
) -> int:
    """Run a run to rest in this process, following each Dispatch in order (no broker).

    Args:
        rt: the runtime.
        run_id: the run.
        plan: where to start; the run's first turn by default.
        max_tasks: a bound on step executions.

    Returns:
        How many step executions it performed.
    """
    queue: deque[tuple[StepKind, int]] = deque()
    if plan is None:
        queue.append((StepKind.LLM, 1))
    else:
        _enqueue(queue, plan)
    executed = 0
    while queue and executed < max_tasks:
        kind, seq = queue.popleft()
        runner = {
            StepKind.LLM: loop.run_turn,
            StepKind.TOOL: loop.run_tool,
            StepKind.APPROVAL: loop.run_approval,
        }[kind]
        progress = runner(rt, run_id, seq, "drain")
        executed += 1
        if progress.status == "not_ready":
            queue.append((kind, seq))
            continue
        if progress.dispatch is not None:
            _enqueue(queue, progress.dispatch)
    return executed


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``chordline ARGS`` as a user would, with only ``env``'s Chordline, OpenTelemetry and
    Flower variables (none inherited from the test's own environment)."""
    prefixes = ("CHORDLINE_", "OTEL_", "FLOWER_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env={**clean, "COLUMNS": "200", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def idle_since(journal: Journal, run_id: str, seconds: float) -> datetime:
    """Date a run's activity ``seconds`` back, as if that long had passed; returns when."""
    then = utcnow() - timedelta(seconds=seconds)
    with journal.engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == run_id).values(updated_at=then))
        connection.execute(update(Step).where(Step.run_id == run_id).values(created_at=then))
    return then
