"""The CLI as a user runs it: the zero-server demo, and clear errors without tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support import ROOT


def _chordline(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env={**clean, "COLUMNS": "100", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_runs_end_to_end_with_no_server(tmp_path: Path) -> None:
    done = _chordline("demo", env={"CHORDLINE_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broker filesystem://" in done.stdout
    assert "refund of $1249.00 for ORD-1042 issued" in done.stdout
    for name in ("lookup_customer", "lookup_orders", "search_kb", "issue_refund"):
        assert name in done.stdout
    assert "Timeline" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    # The lookups' chord joined on the embedded result store: the run moved on by itself, never
    # by a sweeper's re-drive (which would mean a lost join).
    journal = create_engine(f"sqlite:///{tmp_path / 'data' / 'journal.sqlite3'}")
    with journal.connect() as connection:
        redriven = connection.execute(text("SELECT redriven_at FROM runs")).scalars().all()
    assert redriven == [None]
    worker_log = (tmp_path / "data" / "demo-worker.log").read_text()
    assert "Chord raised" not in worker_log


def _assert_clean_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


def test_invalid_config_refuses_to_start(tmp_path: Path) -> None:
    done = _chordline(
        "runs", env={"CHORDLINE_LEASE_SECONDS": "-1", "CHORDLINE_DATA_DIR": str(tmp_path)}
    )
    _assert_clean_error(done, "CHORDLINE_LEASE_SECONDS=-1 is invalid", "Fix: set")


def test_unreachable_broker_is_named(tmp_path: Path) -> None:
    env = {"CHORDLINE_BROKER_URL": "redis://:pw@127.0.0.1:1/0", "CHORDLINE_DATA_DIR": str(tmp_path)}
    done = _chordline("submit", "support-triage", "hello", env=env)
    _assert_clean_error(done, "broker redis://:***@127.0.0.1:1/0 is unreachable", "Fix:")
    assert ":pw@" not in done.stderr
    checked = _chordline("check", env=env)
    assert checked.returncode == 1
    assert "ok   journal" in checked.stdout
    assert "down broker" in checked.stderr


def test_unknown_agent_lists_the_known_ones(tmp_path: Path) -> None:
    done = _chordline("submit", "nope", "hi", env={"CHORDLINE_DATA_DIR": str(tmp_path)})
    _assert_clean_error(done, "unknown agent 'nope'", "research-report, support-triage")


def test_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    done = _chordline("status", "no-such-run", env={"CHORDLINE_DATA_DIR": str(tmp_path)})
    _assert_clean_error(done, "no run 'no-such-run'")


def test_agents_lists_versions_and_pins(tmp_path: Path) -> None:
    done = _chordline("agents", env={"CHORDLINE_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "support-triage" in done.stdout and "scripted:planner-1" in done.stdout
