"""`chordline eval run|gate|baseline`, `chordline release` and `chordline admin run
nightly-eval` as a user runs them: real processes on the example agents, a SQLite journal."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestration.agents.registry import load_registry
from orchestration.config import load_settings
from orchestration.evals.lock import build_lock
from orchestration.journal import open_journal
from tests.support import ROOT

BASELINE = ROOT / "evals" / "support-triage" / "baseline.json"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private embedded deployment over the example agents and their datasets."""
    data = tmp_path / "data"
    return {
        "CHORDLINE_DATA_DIR": str(data),
        "CHORDLINE_DATABASE_URL": f"sqlite:///{data / 'journal.sqlite3'}",
        "CHORDLINE_BROKER_URL": "filesystem://",
        "CHORDLINE_AGENTS_DIR": str(ROOT / "agents"),
        "CHORDLINE_EVALS_DIR": str(ROOT / "evals"),
        "CHORDLINE_RELEASES_DIR": str(tmp_path / "releases"),
        "SUPPORT_TRIAGE_LATENCY_S": "0",
        "COLUMNS": "200",
    }


def chordline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in its own process, as CI and a user do."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        check=False,
        env=dict(os.environ, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _changed_support_agent(tmp_path: Path) -> Path:
    """support-triage with a prompt (and tool) that no longer ask for approval."""
    agents = tmp_path / "changed-agents"
    target = agents / "support_triage"
    source = ROOT / "agents" / "support_triage"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    prompt = (target / "prompt.md").read_text()
    changed = prompt.replace(
        "Refunds go through issue_refund,\nwhich a person approves; never promise a refund "
        "before it is issued.",
        "Issue refunds at once with issue_refund;\nno one needs to approve them.",
    )
    tools = (target / "tools.py").read_text()
    unguarded = tools.replace("@tool(requires_approval=True,", "@tool(requires_approval=False,")
    assert changed != prompt and unguarded != tools
    (target / "prompt.md").write_text(changed)
    (target / "tools.py").write_text(unguarded)
    return agents


def test_a_prompt_that_stops_asking_for_approval_fails_the_gate(
    env: dict[str, str], tmp_path: Path
) -> None:
    changed = env | {"CHORDLINE_AGENTS_DIR": str(_changed_support_agent(tmp_path))}
    ran = chordline(changed, "eval", "run", "support-triage", "-k", "1")
    assert ran.returncode == 0, ran.stderr
    assert "approval issue_refund: expected 'asked for approval', got 'no approval asked'" in (
        ran.stdout
    )
    gate = chordline(
        changed,
        "eval",
        "gate",
        "support-triage",
        "--min-pass-rate",
        "0.85",
        "--max-p95-latency-s",
        "30",
        "--max-cost-per-case",
        "0.05",
        "--baseline",
        str(BASELINE),
        "--tolerance",
        "0.05",
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    baseline = json.loads(BASELINE.read_text())["metrics"]["overall"]["pass_at_1"]
    failed = [line for line in gate.stderr.splitlines() if line.startswith("gate failed: pass@1")]
    assert any("below the minimum 0.85 (delta -" in line for line in failed), gate.stderr
    moved = next(line for line in failed if "fell below the baseline" in line)
    value = float(moved.split(" = ")[1].split(":")[0])
    delta = float(moved.rsplit("(delta ", 1)[1].rstrip(")"))
    assert value < baseline - 0.05
    assert delta == pytest.approx(value - baseline, abs=1e-3)
    assert "gate failed: pass@1 [refund] = 0" in gate.stderr
    # The unchanged agent passes the same gate.
    assert chordline(env, "eval", "run", "support-triage").returncode == 0
    passed = chordline(env, "eval", "gate", "support-triage", "--baseline", str(BASELINE))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "gate passed" in passed.stdout


def _releases(env: dict[str, str]) -> list[dict[str, object]]:
    engine = open_journal(env["CHORDLINE_DATABASE_URL"]).engine
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT git_commit, lock_hash, agents FROM releases"))
        return [dict(row._mapping) for row in rows]


def test_release_records_the_lock_hash_and_metrics_and_refuses_a_failing_gate(
    env: dict[str, str], tmp_path: Path
) -> None:
    unevaluated = chordline(env, "release")
    assert unevaluated.returncode == 2
    assert "support-triage: no eval stored. Fix: `chordline eval run support-triage`" in (
        unevaluated.stderr
    )
    for agent in ("support-triage", "research-report"):
        assert chordline(env, "eval", "run", agent).returncode == 0
    strict = chordline(env | {"CHORDLINE_EVAL_MIN_PASS_RATE": "0.99"}, "release")
    assert strict.returncode == 2
    assert "support-triage: gate failed: pass@1 = 0.9565: below the minimum 0.99" in (
        strict.stderr.replace("\n", " ")
    )
    assert not (tmp_path / "releases").exists() and _releases(env) == []

    released = chordline(env, "release")
    assert released.returncode == 0, released.stderr
    shown = [line for line in released.stdout.splitlines() if not line.startswith("wrote ")]
    assert "…" not in released.stdout and max(map(len, shown)) <= 80, released.stdout
    (path,) = (tmp_path / "releases").glob("*.json")
    record = json.loads(path.read_text())
    settings = load_settings(agents_dir=env["CHORDLINE_AGENTS_DIR"], evals_dir=ROOT / "evals")
    lock = build_lock(load_registry(settings.agent_dirs), settings.evals, settings.llm).content
    expected = hashlib.sha256((json.dumps(lock, indent=2, sort_keys=True) + "\n").encode())
    assert record["lock_hash"] == expected.hexdigest()
    assert lock["agents"]["support-triage"]["eval_dataset"] is not None
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    assert record["git_commit"].startswith(head.stdout.decode().strip())
    triage = record["agents"]["support-triage"]
    assert triage["version"] == lock["agents"]["support-triage"]["version"]
    assert triage["metrics"]["pass_at_1"] == pytest.approx(22 / 23)
    (row,) = _releases(env)
    assert row["lock_hash"] == record["lock_hash"]
    again = chordline(env, "release", "--json")
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert document["lock_hash"] == record["lock_hash"]
    assert json.loads(Path(document["file"]).read_text())["id"] == document["id"]

    # An agent changed since its eval: the eval is older than its version.
    changed = env | {"CHORDLINE_AGENTS_DIR": str(_changed_support_agent(tmp_path))}
    stale = chordline(changed, "release")
    assert stale.returncode == 2
    assert "older than the agent's version" in stale.stderr


def test_nightly_eval_by_hand_exits_0_and_alerts_on_a_regression(
    env: dict[str, str], tmp_path: Path
) -> None:
    ran = chordline(env, "admin", "run", "nightly-eval")
    assert ran.returncode == 0, ran.stderr
    assert "support-triage: pass@1 0.957" in ran.stdout and ": ok" in ran.stdout
    assert "research-report: pass@1 1.000" in ran.stdout
    engine = open_journal(env["CHORDLINE_DATABASE_URL"]).engine
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT agent, admin, tenant FROM eval_results")).all()
        tenants = connection.execute(text("SELECT DISTINCT tenant FROM runs")).scalars().all()
    assert sorted((a, bool(admin), t) for a, admin, t in stored) == [
        ("research-report", True, "admin"),
        ("support-triage", True, "admin"),
    ]
    assert tenants == ["admin"]

    evals = tmp_path / "evals"
    shutil.copytree(ROOT / "evals", evals)
    baseline = json.loads(BASELINE.read_text())
    baseline["metrics"]["overall"]["pass_at_1"] = 1.0
    (evals / "support-triage" / "baseline.json").write_text(json.dumps(baseline))
    regressed = chordline(
        env | {"CHORDLINE_EVALS_DIR": str(evals), "CHORDLINE_EVAL_TOLERANCE": "0.01"},
        "admin",
        "run",
        "nightly-eval",
        "--agent",
        "support-triage",
    )
    assert regressed.returncode == 0, regressed.stderr
    assert "REGRESSION: pass@1 = 0.9565: fell below the baseline 1" in regressed.stdout
    alerts = [line for line in regressed.stderr.splitlines() if "chordline.alerts" in line]
    assert len(alerts) == 1 and "agent=support-triage" in alerts[0]
    with engine.connect() as connection:
        marked = connection.execute(
            text("SELECT regression FROM eval_results WHERE regression IS NOT NULL")
        ).scalars()
        assert [m.split(":")[0] for m in marked] == ["pass@1 = 0.9565"]


def test_lock_check_covers_the_eval_datasets(env: dict[str, str], tmp_path: Path) -> None:
    evals = tmp_path / "evals"
    shutil.copytree(ROOT / "evals", evals)
    local = env | {"CHORDLINE_EVALS_DIR": str(evals)}
    lock = str(tmp_path / "chordline.lock")
    assert chordline(local, "lock", "--file", lock).returncode == 0
    assert chordline(local, "lock", "--check", "--file", lock).returncode == 0
    with (evals / "research-report" / "cases.jsonl").open("a") as cases:
        cases.write('{"id": "new-case", "input": "Research report: tidal power"}\n')
    changed = chordline(local, "lock", "--check", "--file", lock)
    assert changed.returncode == 2
    assert "research-report: eval_dataset is '" in changed.stderr
    assert "support-triage" not in changed.stderr
