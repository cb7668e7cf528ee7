"""The chaos suite: many runs while a killer SIGKILLs random workers, then an audit.

``run_chaos`` drives real worker processes on real Redis and PostgreSQL; the tests call it in a
reduced size, and ``python -m tests.chaos --runs 50`` runs the full size and prints the figures.

Each run of the ``chaos`` test agent has four LLM turns: a fan-out of three read-only lookups, a
charge, then a lookup and a second charge. The audit checks every run succeeded, every charge
landed exactly once (rows by idempotency key) and ran no more often than its step was claimed
(raw executions), and no run is stuck; it measures how long each interrupted step waited.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from orchestration.client import Client
from orchestration.config import load_settings
from orchestration.journal import open_journal
from orchestration.journal.records import StepRecord
from orchestration.journal.tables import RunStatus, Step, StepStatus
from tests.agents.chaos.tools import chaos_engine, charges, executions
from tests.support import WorkerPool

__all__ = ["ChaosPlan", "ChaosReport", "run_chaos", "script"]


@dataclass(frozen=True)
class ChaosPlan:
    """How much chaos.

    Attributes:
        runs: runs started at once.
        workers: worker processes kept running (a killed one is replaced at once).
        concurrency: prefork processes per worker.
        kill_every_s: the killer waits a random time in this range between kills; None: no kills.
        kill_for_s: the killer stops after this long (the rest of the runs then finish).
        timeout_s: every run must have ended by then.
        disrupt: called once when ``disrupt_after_steps`` steps have finished (a broker flush,
            a database restart); None: nothing.
        disrupt_after_steps: see ``disrupt``.
        beat: also run ``chordline beat``, as a deployment does (the workers sweep either way).
        seed: the random seed (scripts and the killer's choices).
    """

    runs: int = 50
    workers: int = 3
    concurrency: int = 2
    kill_every_s: tuple[float, float] | None = (1.0, 3.0)
    kill_for_s: float = 120.0
    timeout_s: float = 600.0
    disrupt: Callable[[], None] | None = None
    disrupt_after_steps: int = 0
    beat: bool = True
    seed: int = 0


@dataclass
class _Interruption:
    run_id: str
    seq: int
    attempt: int
    killed_at: datetime
    lease_expires_at: datetime | None = None
    recovered_s: float | None = None
    redriven_s: float | None = None


@dataclass
class ChaosReport:
    """What the audit found."""

    runs: int
    kills: int
    elapsed_s: float
    succeeded: int
    lost_runs: list[str]
    stuck_runs: list[str]
    expected_effects: int
    effects: int
    duplicated_effects: int
    missing_effects: int
    executions_beyond_claims: int
    repeats_absorbed_by_key: int
    interrupted_steps: int
    recoveries_s: list[float] = field(default_factory=list)
    redrives_s: list[float] = field(default_factory=list)
    runs_recovered: int = 0

    def lines(self) -> list[str]:
        """The figures, one per line."""
        median = statistics.median(self.recoveries_s) if self.recoveries_s else 0.0
        longest = max(self.recoveries_s, default=0.0)
        redrive_median = statistics.median(self.redrives_s) if self.redrives_s else 0.0
        redrive_longest = max(self.redrives_s, default=0.0)
        return [
            f"runs: {self.runs} ({self.succeeded} succeeded) in {self.elapsed_s:.0f}s",
            f"kills: {self.kills} (SIGKILL of a worker's process group)",
            f"steps interrupted by a kill: {self.interrupted_steps}",
            f"runs recovered: {self.runs_recovered}",
            f"effects: {self.effects} of {self.expected_effects} expected",
            f"duplicated effects: {self.duplicated_effects}",
            f"missing effects: {self.missing_effects}",
            f"tool executions beyond step claims: {self.executions_beyond_claims}",
            f"repeated executions absorbed by the idempotency key: {self.repeats_absorbed_by_key}",
            f"lost runs: {len(self.lost_runs)}",
            f"stuck runs: {len(self.stuck_runs)}",
            f"recovery after a kill (step claimed again): median {median:.1f}s, "
            f"max {longest:.1f}s ({len(self.recoveries_s)} takeovers)",
            f"  of which the sweeper's part (step handed back): median {redrive_median:.1f}s, "
            f"max {redrive_longest:.1f}s",
        ]

    def problems(self) -> list[str]:
        """Every broken promise, empty when the run was clean."""
        found = []
        if self.lost_runs:
            found.append(f"runs that did not succeed: {self.lost_runs}")
        if self.stuck_runs:
            found.append(f"runs still live at the end: {self.stuck_runs}")
        if self.duplicated_effects or self.missing_effects:
            found.append(
                f"effects: {self.duplicated_effects} duplicated, {self.missing_effects} missing"
            )
        if self.executions_beyond_claims:
            found.append(f"{self.executions_beyond_claims} executions without a claim")
        return found


def script(rng: random.Random) -> str:
    """A run's scripted calls: a three-way fan-out, a charge, a lookup and a second charge."""

    def pause() -> float:
        return round(rng.uniform(0.3, 1.5), 2)

    return "\n".join(
        [
            f'CALL lookup {{"item": "alpha", "seconds": {pause()}}}',
            f'CALL lookup {{"item": "beta", "seconds": {pause()}}}',
            f'CALL lookup {{"item": "gamma", "seconds": {pause()}}}',
            "",
            f'CALL charge {{"amount": {rng.randint(1, 99)}, "seconds": {pause()}}}',
            "",
            f'CALL lookup {{"item": "delta", "seconds": {pause()}}}',
            f'CALL charge {{"amount": {rng.randint(1, 99)}, "seconds": {pause()}}}',
        ]
    )


def _running_steps(client: Client) -> list[StepRecord]:
    query = select(Step).where(Step.status == StepStatus.RUNNING)
    with client.runtime.journal.engine.connect() as connection:
        return [StepRecord.of(row) for row in connection.execute(query)]


def _finished_steps(client: Client, run_ids: list[str]) -> int:
    final = [StepStatus.SUCCEEDED.value, StepStatus.FAILED.value, StepStatus.SKIPPED.value]
    query = select(func.count()).where(Step.run_id.in_(run_ids), Step.status.in_(final))
    with client.runtime.journal.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


class _Killer:
    """SIGKILLs a random worker every so often and starts a replacement at once."""

    def __init__(
        self, client: Client, pool: WorkerPool, env: dict[str, str], plan: ChaosPlan
    ) -> None:
        self.client, self.pool, self.env, self.plan = client, pool, env, plan
        self.rng = random.Random(plan.seed + 1)
        self.kills = 0
        self.interruptions: list[_Interruption] = []
        self.next_at = self._after(time.monotonic())

    def _after(self, now: float) -> float:
        low, high = self.plan.kill_every_s or (0.0, 0.0)
        return now + self.rng.uniform(low, high)

    def maybe_kill(self, now: float) -> None:
        if now < self.next_at:
            return
        self.next_at = self._after(now)
        victims = self.pool.alive()
        if not victims:
            return
        victim = self.rng.choice(victims)
        held = [s for s in _running_steps(self.client) if victim.owns(s.lease_owner)]
        killed_at = datetime.now(UTC)
        victim.kill()
        self.kills += 1
        self.interruptions += [
            _Interruption(s.run_id, s.seq, s.attempt, killed_at, s.lease_expires_at) for s in held
        ]
        self.pool.start(self.env, concurrency=self.plan.concurrency, wait=False, pool="prefork")

    def watch(self) -> None:
        """Note when each interrupted step was claimed again."""
        journal = self.client.runtime.journal
        for cut in self.interruptions:
            if cut.recovered_s is not None:
                continue
            step = journal.step(cut.run_id, cut.seq)
            handed_back = step.status == StepStatus.PENDING or step.attempt > cut.attempt
            if cut.redriven_s is None and handed_back:
                cut.redriven_s = (datetime.now(UTC) - cut.killed_at).total_seconds()
            if step.attempt > cut.attempt and step.started_at is not None:
                first_claim = step.started_at if step.attempt == cut.attempt + 1 else None
                at = first_claim or datetime.now(UTC)
                cut.recovered_s = (at - cut.killed_at).total_seconds()
            elif step.status.final and step.attempt == cut.attempt:
                cut.recovered_s = -1.0  # the kill landed after the outcome was recorded


def run_chaos(
    client: Client, pool: WorkerPool, env: dict[str, str], plan: ChaosPlan
) -> ChaosReport:
    """Start ``plan.runs`` runs under chaos, wait for them, and audit the journal and effects."""
    rng = random.Random(plan.seed)
    chaos_engine(client.settings.journal_url)  # the effect tables exist before any charge
    for _ in range(plan.workers):
        pool.start(env, concurrency=plan.concurrency, pool="prefork")
    if plan.beat:
        pool.start_beat(env)
    started = time.monotonic()
    run_ids = [client.submit("chaos", script(rng)).id for _ in range(plan.runs)]
    killer = _Killer(client, pool, env, plan)
    disrupted = plan.disrupt is None
    while True:
        now = time.monotonic()
        if now - started > plan.timeout_s:
            break
        try:
            killer.watch()
            live = [r for r in run_ids if not client.runtime.journal.get_run(r).status.terminal]
            if not live:
                break
            if plan.kill_every_s is not None and now - started < plan.kill_for_s:
                killer.maybe_kill(now)
            if not disrupted and _finished_steps(client, run_ids) >= plan.disrupt_after_steps:
                assert plan.disrupt is not None
                plan.disrupt()
                disrupted = True
        except OperationalError:
            pass  # the journal is being restarted: look again at the next tick
        time.sleep(0.1)  # the polling cadence of the audit, not a wait for an event
    elapsed = time.monotonic() - started
    killer.watch()
    return _audit(client, run_ids, killer, elapsed)


def _audit(client: Client, run_ids: list[str], killer: _Killer, elapsed: float) -> ChaosReport:
    journal = client.runtime.journal
    runs = [journal.get_run(r) for r in run_ids]
    charge_steps = [s for r in run_ids for s in journal.steps(r) if s.name == "charge"]
    engine = chaos_engine(client.settings.journal_url)
    with engine.connect() as connection:
        landed = Counter(
            (row.run_id, row.seq)
            for row in connection.execute(
                select(charges.c.run_id, charges.c.seq).where(charges.c.run_id.in_(run_ids))
            )
        )
        ran = Counter(
            (row.run_id, row.seq)
            for row in connection.execute(
                select(executions.c.run_id, executions.c.seq).where(
                    executions.c.run_id.in_(run_ids)
                )
            )
        )
    expected = {(s.run_id, s.seq): s for s in charge_steps if s.status == StepStatus.SUCCEEDED}
    cuts = [c for c in killer.interruptions if c.recovered_s != -1.0]
    recoveries = [c.recovered_s for c in cuts if c.recovered_s is not None]
    return ChaosReport(
        runs=len(runs),
        kills=killer.kills,
        elapsed_s=elapsed,
        succeeded=sum(r.status == RunStatus.SUCCEEDED for r in runs),
        lost_runs=[r.id for r in runs if r.status != RunStatus.SUCCEEDED],
        stuck_runs=[r.id for r in runs if not r.status.terminal],
        expected_effects=2 * len(runs),
        effects=sum(landed.values()),
        duplicated_effects=sum(n - 1 for n in landed.values() if n > 1),
        missing_effects=2 * len(runs) - len(set(landed) & set(expected)),
        executions_beyond_claims=sum(
            max(0, ran[key] - step.attempt) for key, step in expected.items()
        ),
        repeats_absorbed_by_key=sum(max(0, ran[key] - 1) for key in expected),
        interrupted_steps=len(cuts),
        recoveries_s=recoveries,
        redrives_s=[c.redriven_s for c in cuts if c.redriven_s is not None],
        runs_recovered=len(
            {c.run_id for c in cuts} & {r.id for r in runs if r.status == RunStatus.SUCCEEDED}
        ),
    )


# -- the full-size command ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.chaos``: the full-size chaos run against real Redis and PostgreSQL."""
    import psycopg
    import redis

    from tests.conftest import AGENT_DIRS, PG_ADMIN_URL, REDIS_DB, REDIS_HOST

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--kill-for", type=float, default=120.0, help="seconds of killing")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument(
        "--redis-url",
        default=f"redis://{REDIS_HOST}:6379/{REDIS_DB}",
        help="a Redis database the run may flush (results; the broker unless --broker-url)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument(
        "--broker-url",
        default=None,
        help="e.g. amqp://guest:guest@127.0.0.1:5672/VHOST (default: the test Redis database); "
        "results stay in Redis",
    )
    args = parser.parse_args(argv)
    redis_url = args.redis_url
    redis.Redis.from_url(redis_url).flushdb()
    broker_url = args.broker_url or redis_url
    name = f"chordline_chaos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    database_url = f"{base}/{name}"
    directory = Path(tempfile.mkdtemp(prefix="chordline-chaos-"))
    env = {
        "CHORDLINE_BROKER_URL": broker_url,
        "CHORDLINE_RESULT_BACKEND": redis_url,
        "CHORDLINE_DATABASE_URL": database_url,
        "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
        "CHORDLINE_DATA_DIR": str(directory / "data"),
        "CHORDLINE_LOG_LEVEL": "INFO",
    }
    settings = load_settings(
        broker_url=broker_url,
        result_backend=redis_url,
        database_url=database_url,
        agents_dir=AGENT_DIRS,
        data_dir=directory / "data",
    )
    pool = WorkerPool(directory / "workers")
    try:
        open_journal(database_url).upgrade()  # what `chordline db upgrade` does once
        client = Client(settings)
        plan = ChaosPlan(
            runs=args.runs,
            workers=args.workers,
            concurrency=args.concurrency,
            kill_for_s=args.kill_for,
            timeout_s=args.timeout,
            seed=args.seed,
        )
        print(f"chaos: {plan.runs} runs, {plan.workers} workers, seed {plan.seed}", flush=True)
        report = run_chaos(client, pool, env, plan)
    finally:
        pool.stop_all()
        open_journal(database_url).engine.dispose()
        chaos_engine(database_url).dispose()
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin,
        ):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print("\n".join(report.lines()))
    if args.json is not None:
        args.json.write_text(json.dumps(dataclasses.asdict(report)))
    problems = report.problems()
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    print(f"worker logs: {directory / 'workers'}")
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("CHORDLINE_LOG_LEVEL", "INFO")
    sys.exit(main())
