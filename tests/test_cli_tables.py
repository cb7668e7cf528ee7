"""Every table the CLI prints, as a CI log gets it: stdout a pipe, 80 columns.

Each command runs as a user runs it, over real data in an embedded data directory (the scripted
agents' eval runs offline), and its output must keep every header and figure whole: no ``…``
anywhere, no line over 80 characters, each expected header present as a whole word. Each such
command's ``--json`` prints one JSON document and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from tests.conftest import AGENT_DIRS
from tests.support import ROOT, drain

WIDTH = 80
REFUND = "jane.doe@example.com: ORD-1042 arrived cracked, refund it"


def _chordline(data: Path, *args: str, columns: str | None = "80") -> str:
    """Run ``chordline ARGS`` with stdout a pipe; ``columns`` None leaves rich to its default."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = columns
    env.update(CHORDLINE_DATA_DIR=str(data), CHORDLINE_AGENTS_DIR=AGENT_DIRS)
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def _whole(output: str, *headers: str) -> None:
    """Nothing cut: no ellipsis, no line past 80 columns, each header a whole word."""
    assert "…" not in output, output
    for line in output.splitlines():
        assert len(line) <= WIDTH, f"{len(line)} columns: {line!r}\n{output}"
    for header in headers:
        pattern = rf"(?<![\w@^/$]){re.escape(header)}(?![\w@^/…])"
        assert re.search(pattern, output), f"{header!r} is not whole in:\n{output}"


@dataclass(frozen=True)
class Data:
    """The data directory and what ``eval run support-triage -k 3`` printed when it filled it."""

    root: Path
    eval_output: str


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Data:
    """A data directory with an eval, a run waiting for approval, a key and a rollout."""
    root = tmp_path_factory.mktemp("tables") / "data"
    settings = load_settings(data_dir=root, agents_dir=AGENT_DIRS, broker_url="filesystem://")
    rt = open_runtime(settings)
    rt.journal.ensure_schema(upgrade=True)
    waiting = rt.create_run("support-triage", REFUND, tenant="globex-corporation-emea")
    drain(rt, waiting.id)
    report = rt.create_run("research-report", "heat pumps", tenant="acme")
    drain(rt, report.id)
    _chordline(
        root,
        "feedback",
        waiting.id,
        "--down",
        "--giver",
        "jane.doe@example.com",
        "--label",
        "wrong-refund-amount",
        "--label",
        "slow",
        "--comment",
        "the refund went to the wrong order; it should have asked which one",
    )
    _chordline(root, "keys", "create", "--tenant", "globex-corporation-emea", "--name", "ci-bot")
    _chordline(root, "rollout", "start", "research-report", "--variant", "brief")
    # The case exactly: no COLUMNS, stdout a pipe, so rich falls back to 80 columns.
    output = _chordline(root, "eval", "run", "support-triage", "-k", "3", columns=None)
    return Data(root, output)


@pytest.fixture
def data(filled: Data) -> Path:
    return filled.root


def test_eval_run_piped_keeps_pass_at_1_and_pass_hat_3_whole(filled: Data) -> None:
    output = filled.eval_output
    headers = ("category", "cases", "pass@1", "pass^3", "tool P", "tool R", "p50 s", "p95 s")
    _whole(output, *headers, "tokens", "$/case", "adversarial", "must-fail", "0.957", "0.0000")
    # A failing trial's run id is whole on one line, ready to paste into `chordline status`.
    ids = re.findall(r"chordline status ([0-9a-f-]+)", output)
    assert ids and all(len(run_id) == 36 for run_id in ids), output


def test_eval_gate_and_its_breaches(data: Path) -> None:
    output = _chordline(data, "eval", "gate", "support-triage", "--min-pass-rate", "0.99")
    _whole(output, "pass@1", "pass^3", "$/case", "metric", "value", "limit", "delta", "why")
    document = json.loads(
        _chordline(data, "eval", "gate", "support-triage", "--min-pass-rate", "0.99", "--json")
    )
    assert document["passed"] is False
    assert document["breaches"][0]["metric"] == "pass@1"


def test_admin_jobs(data: Path) -> None:
    output = _chordline(data, "admin", "run", "rebuild-embeddings")
    headers = ("knowledge base", "gen", "chunks", "embedded", "skipped", "deleted", "calls", "secs")
    _whole(output, *headers, "research-report", "support-triage")
    document = json.loads(_chordline(data, "admin", "run", "rebuild-embeddings", "--json"))
    assert {r["kb"] for r in document["knowledge_bases"]} == {"research-report", "support-triage"}
    assert all(r["embedded"] == 0 for r in document["knowledge_bases"])
    cleanup = json.loads(_chordline(data, "admin", "run", "cleanup", "--json"))
    assert cleanup["runs"] == 0
    candidates = json.loads(_chordline(data, "admin", "run", "finetune-candidates", "--json"))
    assert candidates == {"candidates": []}


def test_runs_status_and_stats(data: Path) -> None:
    listed = _chordline(data, "runs", "--tenant", "globex-corporation-emea")
    _whole(listed, "run", "agent", "tenant", "status", "created", "globex-corporation-emea")
    waiting = json.loads(_chordline(data, "runs", "--json", "--tenant", "globex-corporation-emea"))
    (run_id,) = [r["id"] for r in waiting["runs"]]
    shown = _chordline(data, "status", run_id)
    headers = ("kind", "name", "took", "cost", "deployment", "model", "tries", "skipped")
    _whole(shown, *headers, "in/cached/out", run_id, "lookup_customer")
    _whole(shown, "giver", "score", "given", "comment", "jane.doe@example.com", "down")
    _whole(shown, "#wrong-refund-amount", "#slow")
    (given,) = json.loads(_chordline(data, "status", run_id, "--json"))["feedback"]
    assert (given["giver"], given["score"]) == ("jane.doe@example.com", -1.0)
    stats = _chordline(data, "stats")
    headers = ("agent", "runs", "success", "run p50/p95/p99", "step p50/p95/p99", "tokens")
    _whole(stats, *headers, "cost/run", "top errors", "support-triage", "research-report")
    document = json.loads(_chordline(data, "stats", "--json"))
    assert {a["agent"] for a in document["agents"]} >= {"support-triage", "research-report"}


def test_approvals_keys_workflows_and_agents(data: Path) -> None:
    approvals = _chordline(data, "approvals")
    headers = ("id", "tenant", "tool", "arguments", "status", "requested")
    _whole(approvals, *headers, "issue_refund", "globex-corporation-emea")
    (pending,) = json.loads(_chordline(data, "approvals", "--json"))["approvals"]
    assert pending["tool"] == "issue_refund" and pending["id"] in approvals
    keys = _chordline(data, "keys", "list")
    _whole(keys, "id", "prefix", "tenant", "name", "scopes", "created", "revoked", "ci-bot")
    _whole(keys, "submit", "approve")
    (key,) = json.loads(_chordline(data, "keys", "list", "--json"))["keys"]
    assert key["name"] == "ci-bot" and key["id"] in keys and "secret" not in key
    assert key["scopes"] == ["read", "submit", "approve", "admin"]
    flows = _chordline(data, "workflows")
    _whole(flows, "workflow", "version", "agents", "budgets", "description")
    assert json.loads(_chordline(data, "workflows", "--json"))["workflows"]
    agents = _chordline(data, "agents")
    _whole(agents, "agent", "version", "model", "tools", "support-triage")


def test_rollout_status(data: Path) -> None:
    output = _chordline(data, "rollout", "status", "research-report")
    comparison = ("side", "version", "runs", "finished", "success", "p95 latency", "cost / run")
    events = ("at", "event", "stage", "reason")
    _whole(output, *comparison, "eval pass", "stable", "brief", *events, "start")
    document: dict[str, Any] = json.loads(
        _chordline(data, "rollout", "status", "research-report", "--json")
    )
    assert document["rollout"]["variant"] == "brief"
    assert [e["kind"] for e in document["events"]] == ["start"]


def test_check(data: Path) -> None:
    output = _chordline(data, "check")
    _whole(output, "variable", "value", "ok")
    document = json.loads(_chordline(data, "check", "--json"))
    assert document["services"] == {"journal": "ok", "broker": "ok"}
    assert document["settings"]["CHORDLINE_DATA_DIR"] == str(data)
    assert isinstance(document["breakers"], list)
