"""One benchmark session: the services, the processes it starts, and the sizes it runs at.

Every benchmark measures Chordline and its baseline in the same session, on the same Redis
database and, for Chordline, the same PostgreSQL database. The session owns that Redis database
(it is flushed at the start) and the journal's ``runs`` and ``steps`` tables (emptied at the
start), so point it at databases of its own.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from sqlalchemy import func, select, text

from bench import bare
from bench.processes import ROOT, Proc, start
from orchestration import canvas
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.journal import Journal
from orchestration.journal.records import StepRecord
from orchestration.journal.tables import Run, RunStatus, Step

__all__ = ["SIZES", "Session", "Size", "start_intervals_ms"]

AGENT_DIRS = f"{ROOT / 'tests' / 'agents'}:{ROOT / 'bench' / 'agents'}"
_LIVE = [RunStatus.QUEUED.value, RunStatus.RUNNING.value]


@dataclass(frozen=True)
class Size:
    """How much each benchmark does.

    Attributes:
        name: ``tiny`` (the test suite: each script once, fast) or ``full``.
        overhead_steps: steps of one run (and tasks of one bare chain) in the overhead benchmark.
        overhead_repeats: how many such runs and chains.
        fanout_calls: read-only calls in the fan-out turn.
        fanout_seconds: how long each call sleeps.
        throughput_runs: concurrent runs in the throughput benchmark.
        throughput_ticks: tool calls per run there (a run has 2 * ticks + 1 steps).
        scale_ticks: tool calls of the one long run (2 * ticks + 1 steps).
        scale_points: the steps at which the per-step cost is read.
        recovery_defaults: also measure recovery with the default lease and sweep interval.
        embedded_steps: steps of the embedded-mode run.
        memory_runs: runs in the memory benchmark.
    """

    name: str
    overhead_steps: int
    overhead_repeats: int
    fanout_calls: int
    fanout_seconds: float
    throughput_runs: int
    throughput_ticks: int
    scale_ticks: int
    scale_points: tuple[int, ...]
    recovery_defaults: bool
    embedded_steps: int
    memory_runs: int


SIZES = {
    "tiny": Size("tiny", 11, 1, 3, 0.2, 6, 1, 6, (4, 12), False, 7, 40),
    "full": Size("full", 201, 3, 10, 0.5, 200, 5, 500, (10, 100, 1000), True, 101, 5000),
}


def start_intervals_ms(steps: Sequence[StepRecord]) -> list[float]:
    """Milliseconds between the starts of consecutive steps: one step's full cost (claim, work,
    record, enqueue the next, broker hop) as the run experiences it."""
    starts = [s.started_at for s in steps if s.started_at is not None]
    return [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(starts)]


# The journal's hot tables, which the session empties and vacuums.
_JOURNAL_TABLES = f"{Run.__tablename__}, {Step.__tablename__}"


@dataclass
class Session:
    """The services and processes of one benchmark run.

    Args:
        redis_url: a Redis database the session may flush.
        database_url: a PostgreSQL database whose journal tables the session may empty.
        workdir: where logs, ready files and embedded-mode data go.
        size: how much each benchmark does.
    """

    redis_url: str
    database_url: str
    workdir: Path
    size: Size
    procs: list[Proc] = field(default_factory=list)
    shared: dict[str, Proc] = field(default_factory=dict)
    _client: Client | None = None
    _bare: Celery | None = None

    # -- settings and clients ------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """Settings for the benchmark process, matching the workers'."""
        return load_settings(
            broker_url=self.redis_url,
            database_url=self.database_url,
            agents_dir=AGENT_DIRS,
            data_dir=self.workdir / "data",
        )

    @property
    def client(self) -> Client:
        """A Chordline client on the session's services."""
        if self._client is None:
            self._client = Client(self.settings)
        return self._client

    @property
    def journal(self) -> Journal:
        """The journal."""
        return self.client.runtime.journal

    @property
    def bare_app(self) -> Celery:
        """A Celery app that sends the bare tasks by name."""
        if self._bare is None:
            self._bare = bare.create_app(self.redis_url, self.redis_url)
        return self._bare

    def chordline_env(self, **overrides: str) -> dict[str, str]:
        """The environment of a Chordline process on the session's services."""
        env = {
            "CHORDLINE_BROKER_URL": self.redis_url,
            "CHORDLINE_DATABASE_URL": self.database_url,
            "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
            "CHORDLINE_DATA_DIR": str(self.workdir / "data"),
            "CHORDLINE_LOG_LEVEL": "WARNING",
        }
        return env | {f"CHORDLINE_{k.upper()}": v for k, v in overrides.items()}

    # -- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Flush the session's Redis database and empty the journal (migrating it first).

        TRUNCATE rather than DELETE: deleted rows would stay behind as dead tuples and index
        entries that the measured steps then wade through (more so where autovacuum is off).
        """
        redis.Redis.from_url(self.redis_url).flushdb()
        journal = Journal(self.database_url)
        journal.upgrade()
        with journal.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {_JOURNAL_TABLES} CASCADE"))
        journal.engine.dispose()

    def tidy(self) -> None:
        """Vacuum and analyze the journal's hot tables between benchmarks, as autovacuum would
        in the background, so one benchmark does not pay for the dead rows of the last."""
        journal = Journal(self.database_url)
        with journal.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"VACUUM ANALYZE {_JOURNAL_TABLES}"))
        journal.engine.dispose()

    # -- processes -----------------------------------------------------------------------

    def chordline_worker(
        self,
        name: str,
        *,
        queues: str = "agents,tools",
        concurrency: int = 2,
        pool: str = "prefork",
        env: dict[str, str] | None = None,
    ) -> Proc:
        """Start a ``chordline worker`` (call :meth:`Proc.wait_ready` before using it)."""
        command = ["-m", "orchestration.cli", "worker", "-Q", queues]
        command += ["--concurrency", str(concurrency), "--pool", pool]
        command += ["-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
        return self._start(
            name, command, env or self.chordline_env(), "CHORDLINE_WORKER_READY_FILE"
        )

    def bare_worker(
        self,
        name: str,
        *,
        concurrency: int = 2,
        pool: str = "prefork",
        env: dict[str, str] | None = None,
    ) -> Proc:
        """Start a bare ``celery worker`` for :mod:`bench.bare` on the session's Redis."""
        command = ["-m", "celery", "-A", "bench.bare", "worker", "-Q", bare.QUEUE]
        command += ["--concurrency", str(concurrency), "--pool", pool, "--loglevel", "WARNING"]
        # As `chordline worker` runs Celery: task events on (Flower), no mingle.
        command += ["-E", "--without-mingle", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
        env = env or bare.env_for(self.redis_url, self.redis_url)
        return self._start(name, command, env, "BENCH_READY_FILE")

    def beat(self, env: dict[str, str]) -> Proc:
        """Start ``chordline beat`` (the sweeper's schedule); it writes no ready file."""
        return self._start("beat", ["-m", "orchestration.cli", "beat"], env, None)

    def _start(
        self, name: str, command: list[str], env: dict[str, str], ready_var: str | None
    ) -> Proc:
        proc = start(name, command, env, self.workdir / "logs", ready_var=ready_var)
        self.procs.append(proc)
        return proc

    def shared_workers(self) -> tuple[Proc, Proc]:
        """A Chordline worker and a bare worker, both prefork with 2 processes, started once and
        shared by the benchmarks that compare like for like on them."""
        if not self.shared:
            self.stop_shared()
            self.shared["chordline"] = self.chordline_worker("chordline-shared")
            self.shared["bare"] = self.bare_worker("bare-shared")
            for proc in self.shared.values():
                proc.wait_ready()
            # Warm both pool processes (imports, connections) before anything is measured.
            self.wait(self.submit("counter", "tick 2 times", count=2), timeout=60)
            self.bare_app.send_task(bare.NOOP).get(timeout=30)
        return self.shared["chordline"], self.shared["bare"]

    def stop_shared(self) -> None:
        """Stop the shared workers (a benchmark with other workers on the same queues)."""
        self.stop(*self.shared.values())
        self.shared.clear()

    def stop(self, *procs: Proc) -> None:
        """Stop some of the session's processes (all asked at once, then each waited for)."""
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.stop()
            if proc in self.procs:
                self.procs.remove(proc)

    def close(self) -> None:
        """Stop every process the session started."""
        self.stop(*list(self.procs))
        self.shared.clear()

    # -- runs ----------------------------------------------------------------------------

    def submit(self, agent: str, text: str, count: int = 1) -> list[str]:
        """Journal ``count`` runs, then enqueue all their first turns at once."""
        runtime = self.client.runtime
        ids = [runtime.create_run(agent, text).id for _ in range(count)]
        for run_id in ids:
            canvas.start_run(self.client.app, run_id)
        return ids

    def wait(self, run_ids: Sequence[str], timeout: float) -> None:
        """Wait until every run has ended.

        Raises:
            TimeoutError: some runs are still live (naming how many).
        """
        deadline = time.monotonic() + timeout
        pending = list(run_ids)
        while pending:
            live: list[str] = []
            for chunk in range(0, len(pending), 500):
                query = select(Run.id).where(
                    Run.id.in_(pending[chunk : chunk + 500]), Run.status.in_(_LIVE)
                )
                with self.journal.engine.connect() as connection:
                    live += [row[0] for row in connection.execute(query)]
            pending = live
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} run(s) still live after {timeout:g}s")
            if pending:
                time.sleep(0.05)
        failed = self.failed(run_ids)
        if failed:
            raise RuntimeError(f"{len(failed)} run(s) did not succeed, e.g. {failed[0]}")

    def failed(self, run_ids: Sequence[str]) -> list[str]:
        """The runs among ``run_ids`` that ended other than succeeded."""
        bad: list[str] = []
        for chunk in range(0, len(run_ids), 500):
            query = select(Run.id).where(
                Run.id.in_(run_ids[chunk : chunk + 500]),
                Run.status != RunStatus.SUCCEEDED.value,
            )
            with self.journal.engine.connect() as connection:
                bad += [row[0] for row in connection.execute(query)]
        return bad

    def step_span(self, run_ids: Sequence[str]) -> tuple[int, datetime, datetime]:
        """How many steps the runs have, the first step start and the last step start."""
        count, first, last = 0, None, None
        for chunk in range(0, len(run_ids), 500):
            query = select(func.count(), func.min(Step.started_at), func.max(Step.started_at))
            query = query.where(Step.run_id.in_(run_ids[chunk : chunk + 500]))
            with self.journal.engine.connect() as connection:
                n, low, high = connection.execute(query).one()
            count += int(n)
            first = low if first is None or (low is not None and low < first) else first
            last = high if last is None or (high is not None and high > last) else last
        if first is None or last is None:
            raise RuntimeError("the runs have no started steps")
        return count, first, last

    def bare_results(self, result: Any, timeout: float = 120) -> list[float]:
        """The values of a chain's results, first task first."""
        values: list[float] = []
        node = result
        while node is not None:
            values.append(float(node.get(timeout=timeout)))
            node = node.parent
        return values[::-1]
