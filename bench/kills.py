"""Recovery under continuous kills: the chaos suite's killer, measured.

``python -m tests.chaos`` runs many ``chaos`` agent runs on three prefork workers and Beat while
a killer SIGKILLs a random worker's process group every 1-3 s and starts a replacement. For
every step a kill interrupted it records two times from the kill: until the step was handed back
(the sweeper's part: the lease lapses, the next sweep re-drives the run) and until another
worker claimed it (recovery: the re-drive also waits for a live worker with a free slot). The
audit's counts (lost runs, duplicated effects) must be zero; the times are the figures here.
The baseline is the Redis visibility timeout: when bare Celery with acks late would redeliver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from bench.processes import ROOT
from bench.report import Row, Table, percentile
from bench.session import Session

__all__ = ["run"]

TARGET_S = 10.0
# (runs, seconds of killing) per bench size: the full size is a kill every 1-3 s for a minute.
_SIZES = {"tiny": (4, 6.0), "full": (50, 60.0)}


def _admin_url(database_url: str) -> str:
    """The maintenance database's URL on the server of ``database_url`` (for CREATE DATABASE)."""
    server = database_url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://", 1)
    return f"{server}/postgres"


@dataclass(frozen=True)
class _Report:
    """The figures of one chaos run (the JSON that ``python -m tests.chaos --json`` writes)."""

    runs: int
    kills: int
    interrupted_steps: int
    lost_runs: int
    duplicated_effects: int
    redrives_s: list[float]
    recoveries_s: list[float]


def _chaos(session: Session, runs: int, kill_for_s: float) -> _Report:
    """Run the chaos command against the session's servers; return its figures."""
    path = session.workdir / "chaos-report.json"
    log = session.workdir / "logs" / "chaos.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tests.chaos", "--runs", str(runs)]
    command += ["--kill-for", str(kill_for_s), "--seed", "7", "--redis-url", session.redis_url]
    command += ["--json", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    env["CHORDLINE_TEST_PG_ADMIN_URL"] = _admin_url(session.database_url)
    with log.open("wb") as out:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the chaos run failed ({done.returncode}); its log: {log}")
    raw = json.loads(path.read_text())
    return _Report(
        runs=int(raw["runs"]),
        kills=int(raw["kills"]),
        interrupted_steps=int(raw["interrupted_steps"]),
        lost_runs=len(raw["lost_runs"]),
        duplicated_effects=int(raw["duplicated_effects"]),
        redrives_s=[float(v) for v in raw["redrives_s"]],
        recoveries_s=[float(v) for v in raw["recoveries_s"]],
    )


def run(session: Session) -> Table:
    """Measure and return the table."""
    session.stop_shared()
    runs, kill_for_s = _SIZES[session.size.name]
    report = _chaos(session, runs, kill_for_s)
    visibility = float(session.settings.visibility_timeout)
    redrive_max = max(report.redrives_s, default=0.0)
    recovery_p99 = percentile(report.recoveries_s, 99)
    target = f"< {TARGET_S:g} s"
    rows = [
        Row("re-drive (handed back): max", redrive_max, visibility, target, redrive_max < TARGET_S),
        Row("re-drive (handed back): median", percentile(report.redrives_s, 50), visibility),
        Row(
            "recovery (claimed again): p99",
            recovery_p99,
            visibility,
            target,
            recovery_p99 < TARGET_S,
        ),
        Row("recovery (claimed again): max", max(report.recoveries_s, default=0.0), visibility),
        Row("recovery (claimed again): median", percentile(report.recoveries_s, 50), visibility),
    ]
    return Table(
        title="5b. Recovery under a SIGKILL every 1-3 s (s)",
        baseline="Redis visibility timeout",
        rows=rows,
        notes=[
            f"{report.runs} chaos runs on 3 prefork workers of 2 processes and Beat, defaults "
            f"(lease 5 s, sweep every 2 s); {report.kills} kills in {kill_for_s:g} s, "
            f"{report.interrupted_steps} steps interrupted, {report.lost_runs} lost runs, "
            f"{report.duplicated_effects} duplicated effects.",
        ],
    )
