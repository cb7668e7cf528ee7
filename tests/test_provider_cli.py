"""`chordline lock` and `chordline status` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.journal import Journal
from tests.conftest import AGENT_DIRS
from tests.llm_server import FakeLLM, Fault
from tests.support import ROOT, drain


def _chordline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env={**clean, "COLUMNS": "160", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_lock_writes_then_checks_the_agents(tmp_path: Path) -> None:
    env = {"CHORDLINE_AGENTS_DIR": AGENT_DIRS, "CHORDLINE_DATA_DIR": str(tmp_path)}
    lock_file = tmp_path / "chordline.lock"
    written = _chordline("lock", "--file", str(lock_file), env=env)
    assert written.returncode == 0, written.stderr
    content = json.loads(lock_file.read_text())
    assert content["agents"]["support-triage"]["model"] == "scripted:planner-1"
    assert _chordline("lock", "--check", "--file", str(lock_file), env=env).returncode == 0
    content["agents"]["support-triage"]["version"] = "0" * 16
    lock_file.write_text(json.dumps(content))
    checked = _chordline("lock", "--check", "--file", str(lock_file), env=env)
    assert checked.returncode != 0 and "Traceback" not in checked.stderr
    assert "support-triage: version is" in checked.stderr and "Fix:" in checked.stderr


def test_lock_refuses_floating_aliases(tmp_path: Path) -> None:
    agent = tmp_path / "agents" / "aliased_pin"
    agent.mkdir(parents=True)
    (agent / "__init__.py").write_text("")
    (agent / "prompt.md").write_text("You are $agent_name.\n")
    (agent / "agent.py").write_text(
        "from pathlib import Path\nfrom orchestration import Agent\n"
        "agent = Agent.from_files(name='aliased', directory=Path(__file__).parent, "
        "model='openai:gpt-5-mini', tools=[], fallbacks=['anthropic:claude-sonnet-4-5'])\n"
    )
    env = {"CHORDLINE_AGENTS_DIR": str(tmp_path / "agents"), "CHORDLINE_DATA_DIR": str(tmp_path)}
    refused = _chordline("lock", "--file", str(tmp_path / "x.lock"), env=env)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "aliased: openai:gpt-5-mini is an alias without a version date" in refused.stderr
    assert "anthropic:claude-sonnet-4-5 is an alias" in refused.stderr
    assert not (tmp_path / "x.lock").exists()
    allowed = _chordline(
        "lock",
        "--file",
        str(tmp_path / "x.lock"),
        env=env | {"CHORDLINE_ALLOW_MODEL_ALIASES": "true"},
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "no price: aliased: openai:gpt-5-mini" in allowed.stderr


def test_status_shows_drift_deployment_and_cost(fake_llm: FakeLLM, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite3'}"
    env = fake_llm.env() | {
        "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
        "CHORDLINE_DATA_DIR": str(tmp_path),
        "CHORDLINE_DATABASE_URL": url,
        "CHORDLINE_LLM_PROVIDER": "openai",
    }
    settings = load_settings(**{k.removeprefix("CHORDLINE_").lower(): v for k, v in env.items()})
    journal = Journal(url)
    journal.upgrade()
    rt = open_runtime(settings)
    fake_llm.fail_next("openai", Fault("model", model="gpt-5-mini-2025-10-01"))
    run = rt.create_run("research-report", "Research report: heat pumps in cold climates")
    drain(rt, run.id)
    shown = _chordline("status", run.id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "model drift on step(s) 1" in shown.stdout
    assert "DRIFT asked gpt-5-mini-2025-08-07, got gpt-5-mini-2025-10-01" in shown.stdout
    assert "openai:gpt-5-mini-2025-08-07" in shown.stdout
    assert "unknown" in shown.stdout  # the drifted model has no price
