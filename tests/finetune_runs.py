"""Journal runs to fine-tune on: good runs of both example agents, one with a rejected refund."""

from __future__ import annotations

import os
import subprocess
import sys

from orchestration.bootstrap import open_runtime
from orchestration.config import Settings
from orchestration.journal import Journal
from orchestration.journal.tables import RunStatus
from orchestration.reducer import loop
from orchestration.runtime import Runtime
from tests.support import ROOT, drain

__all__ = ["CARD", "EMAIL", "PHONE", "admin_run", "runtime_for", "seed_runs"]

EMAIL, CARD, PHONE = "jane.doe@example.com", "4111 1111 1111 1111", "+1 415 555 0134"
SEEDED = f"Hi, {EMAIL} here (phone {PHONE}, card {CARD})."


def runtime_for(journal: Journal, settings: Settings) -> Runtime:
    return open_runtime(settings)


def seed_runs(rt: Runtime) -> dict[str, str]:
    """Two research runs, a support question, and a support refund that a person rejected."""
    ids = {}
    for n, text in enumerate(("heat pumps in cold climates", "battery recycling rates")):
        run = rt.create_run("research-report", f"research {text}. {SEEDED}")
        drain(rt, run.id)
        ids[f"research{n}"] = run.id
    asked = rt.create_run("support-triage", f"{SEEDED} Where is the invoice for ORD-1042?")
    drain(rt, asked.id)
    ids["asked"] = asked.id
    refused = rt.create_run("support-triage", f"{SEEDED} ORD-1042 arrived cracked, refund it")
    drain(rt, refused.id)
    (waiting,) = rt.journal.waiting_approvals(refused.id)
    plan = loop.decide(rt, refused.id, waiting.seq, approved=False, reviewer="ann", reason="no")
    drain(rt, refused.id, plan)
    ids["refused"] = refused.id
    for run_id in ids.values():
        assert rt.journal.get_run(run_id).status == RunStatus.SUCCEEDED
    return ids


def admin_run(env: dict[str, str], *job: str) -> subprocess.CompletedProcess[str]:
    """``chordline admin run JOB ...`` as a one-off process, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "admin", "run", *job],
        env=dict(os.environ, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
