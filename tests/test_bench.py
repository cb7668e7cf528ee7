"""Each benchmark script runs once at its tiny size, so none of them rots.

The figures are never asserted: a busy CI machine makes them noise. What is asserted is that
every benchmark ran to the end and printed its table.
"""

from __future__ import annotations

import os
import subprocess
import sys

from bench.__main__ import BENCHMARKS
from tests.support import ROOT

_BENCH = [sys.executable, "-m", "bench", "--size", "tiny"]


def test_every_benchmark_runs_at_tiny_size(clean_redis: str, pg_url: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHORDLINE_", "BENCH_"))}
    done = subprocess.run(
        [*_BENCH, "--redis-url", clean_redis, "--database-url", pg_url],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "FAILED" not in done.stdout
    assert done.stdout.count("| metric | Chordline |") == len(BENCHMARKS), done.stdout


def test_startup_benchmark_prints_every_row(clean_redis: str, pg_url: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHORDLINE_", "BENCH_"))}
    done = subprocess.run(
        [*_BENCH, "--only", "startup", "--redis-url", clean_redis, "--database-url", pg_url],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| `chordline")]
    metrics = [row.split("|")[1].strip() for row in rows]
    assert metrics == [
        "`chordline --help` (s)",
        "`chordline --version` (s)",
        "`chordline status RUN` (s)",
        "`chordline runs` (s)",
        "`chordline api`: spawn to first /healthz 200 (s)",
        "`chordline api`: CPU until then (s)",
        "`chordline worker`: spawn to ready (s)",
        "`chordline worker`: CPU until ready (s)",
    ], done.stdout
    assert "| worker modules: import workers.app (s) |" in done.stdout
    # Each row is measured against the baseline with its target beside it; never a failure.
    assert "| ratio <= 1 |" in done.stdout and "| ratio <= 1.5 |" in done.stdout
    assert "| <= 1 s |" in done.stdout
