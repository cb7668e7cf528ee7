"""Agent folders as a new user writes them: no ``__init__.py``, mistakes said in one line, and
one broken agent never stopping the commands that do not need it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.agents.registry import load_registry
from orchestration.bootstrap import open_runtime
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.errors import AgentError, AgentNotFound
from orchestration.journal.tables import RunStatus
from tests.support import ROOT, WorkerPool, drain
from tests.test_cli import _assert_clean_error, _chordline

_PROMPT = "You are $agent_name. Tools:\n$tool_list\n"

_GOOD_TOOLS = """
from pydantic import BaseModel
from orchestration import ToolContext, tool

class Query(BaseModel):
    text: str = ""

@tool(read_only=True)
def look(args: Query, ctx: ToolContext) -> str:
    \"\"\"Look something up.\"\"\"
    return "found"
"""

# The layout docs/agents.md gives: agent.py, prompt.md and tools.py, no __init__.py, no directory=.
_NO_INIT_AGENT = """
from orchestration import Agent
from . import tools

agent = Agent.from_files(name="plain-folder", model="scripted:planner-1", tools=[tools.look])
"""

_BROKEN = {
    "syntax_error": (
        "from orchestration import Agent\n"
        "agent = Agent.from_files(name='syntax', model='scripted:planner-1' tools=[])\n"
    ),
    "no_tools": (
        "from orchestration import Agent\n"
        "agent = Agent.from_files(name='no-tools', model='scripted:planner-1')\n"
    ),
    "dict_args": (
        "from orchestration import Agent, ToolContext, tool\n"
        "@tool()\n"
        "def lookup(args: dict, ctx: ToolContext) -> str:\n"
        "    return ''\n"
        "agent = Agent.from_files(name='dict-args', model='scripted:planner-1', tools=[lookup])\n"
    ),
    "undecorated": (
        "from orchestration import Agent\n"
        "def lookup(args, ctx):\n"
        "    return ''\n"
        "agent = Agent.from_files(name='undecorated', model='scripted:planner-1', tools=[lookup])\n"
    ),
}


def _agents_dir(root: Path) -> Path:
    """One working folder without __init__.py and one broken folder per mistake."""
    agents = root / "agents"
    good = agents / "plain_folder"
    good.mkdir(parents=True)
    (good / "agent.py").write_text(_NO_INIT_AGENT)
    (good / "tools.py").write_text(_GOOD_TOOLS)
    (good / "prompt.md").write_text(_PROMPT)
    for folder, source in _BROKEN.items():
        (agents / folder).mkdir()
        (agents / folder / "agent.py").write_text(source)
        (agents / folder / "prompt.md").write_text(_PROMPT)
    return agents


def test_a_folder_without_init_loads_and_each_mistake_is_one_line(tmp_path: Path) -> None:
    registry = load_registry((_agents_dir(tmp_path),))
    assert registry.names() == ["plain-folder"]
    agent = registry.get("plain-folder")
    assert [t.name for t in agent.tools] == ["look"]
    assert "You are plain-folder" in agent.system_prompt
    reasons = {b.label: b.reason for b in registry.broken}
    assert sorted(reasons) == sorted(_BROKEN)
    for reason in reasons.values():
        assert "\n" not in reason and "Fix:" in reason, reason
    assert reasons["syntax_error"].startswith(f"{tmp_path}/agents/syntax_error/agent.py:2: syntax")
    assert "tools=[" in reasons["no_tools"]
    assert "agents/dict_args/agent.py:2" in reasons["dict_args"]
    assert "pydantic model" in reasons["dict_args"] and "not dict" in reasons["dict_args"]
    assert "tools[0] (lookup) is not a tool" in reasons["undecorated"]
    assert "@tool" in reasons["undecorated"]


def test_a_broken_agent_is_named_when_asked_for_and_listed_when_unknown(tmp_path: Path) -> None:
    registry = load_registry((_agents_dir(tmp_path),))
    with pytest.raises(AgentError, match=r"agent 'syntax-error' is broken: .*agent\.py:2"):
        registry.get("syntax-error")
    with pytest.raises(AgentNotFound, match="broken, see `chordline agents`: dict_args"):
        registry.get("nope")


def test_fixing_a_broken_agent_and_loading_again_works(tmp_path: Path) -> None:
    agents = _agents_dir(tmp_path)
    assert "syntax_error" in {b.label for b in load_registry((agents,)).broken}
    (agents / "syntax_error" / "agent.py").write_text(
        "from orchestration import Agent\n"
        "agent = Agent.from_files(name='syntax', model='scripted:planner-1', tools=[])\n"
    )
    # Past load_registry's per-process cache: what a command started after the fix does.
    again = load_registry.__wrapped__((agents,))
    assert "syntax" in again.names()
    assert "syntax_error" not in {b.label for b in again.broken}


def test_from_files_outside_the_loader_asks_for_directory() -> None:
    from orchestration import Agent

    with pytest.raises(AgentError, match=r"pass directory=Path\(__file__\)\.parent"):
        Agent.from_files(name="x", model="scripted:planner-1", tools=[])


def test_commands_that_do_not_need_a_broken_agent_keep_working(tmp_path: Path) -> None:
    broken = _agents_dir(tmp_path)
    dirs = f"{ROOT / 'agents'}{os.pathsep}{broken}"
    data = tmp_path / "data"
    settings = load_settings(data_dir=data, agents_dir=dirs, broker_url="filesystem://")
    rt = open_runtime(settings)
    rt.journal.ensure_schema(upgrade=True)
    run = rt.create_run("support-triage", "jane.doe@example.com: ORD-1042 cracked, refund it")
    drain(rt, run.id)
    env = {"CHORDLINE_DATA_DIR": str(data), "CHORDLINE_AGENTS_DIR": dirs}

    listed = _chordline("runs", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "support-triage" in listed.stdout
    shown = _chordline("status", run.id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "waiting for approval" in shown.stdout
    approved = _chordline("approve", run.id, env=env)
    assert approved.returncode == 0, approved.stderr

    agents = _chordline("agents", env=env)
    assert agents.returncode == 0, agents.stderr
    assert "plain-folder" in agents.stdout and "support-triage" in agents.stdout
    assert "broken syntax_error:" in agents.stdout
    assert "syntax_error/agent.py:2: syntax error" in agents.stdout
    for done in (listed, shown, approved, agents):
        assert "Traceback" not in done.stdout + done.stderr

    submitted = _chordline("submit", "syntax-error", "hi", env=env)
    _assert_clean_error(submitted, "agent 'syntax-error' is broken", "agent.py:2", "Fix:")
    assert len(submitted.stderr.strip().splitlines()) == 1


def test_lock_refuses_broken_agents_missing_folders_and_missing_files(tmp_path: Path) -> None:
    env = {"CHORDLINE_DATA_DIR": str(tmp_path / "data")}
    missing_folder = _chordline("lock", "--file", str(tmp_path / "no" / "such" / "x.lock"), env=env)
    _assert_clean_error(missing_folder, "the folder", "does not exist", "Fix: create it")

    no_file = _chordline("lock", "--check", "--file", str(tmp_path / "none.lock"), env=env)
    _assert_clean_error(no_file, "none.lock does not exist", "Fix: run `chordline lock --file")

    broken = {**env, "CHORDLINE_AGENTS_DIR": str(_agents_dir(tmp_path))}
    refused = _chordline("lock", "--file", str(tmp_path / "x.lock"), env=broken)
    _assert_clean_error(refused, "cannot lock while agents are broken", "syntax_error")
    assert not (tmp_path / "x.lock").exists()


def test_the_repository_ships_a_lock_that_matches_its_agents(tmp_path: Path) -> None:
    assert (ROOT / "chordline.lock").is_file()
    assert "chordline lock --check" in (ROOT / ".ci" / "run").read_text()
    checked = _chordline("lock", "--check", env={"CHORDLINE_DATA_DIR": str(tmp_path)})
    assert checked.returncode == 0, checked.stderr


def test_a_worker_names_a_broken_agent_and_runs_the_others(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool, tmp_path: Path
) -> None:
    dirs = f"{service_env['CHORDLINE_AGENTS_DIR']}{os.pathsep}{_agents_dir(tmp_path)}"
    worker = workers.start({**service_env, "CHORDLINE_AGENTS_DIR": dirs}, concurrency=1)
    client = Client(service_settings.model_copy(update={"agents_dir": dirs}))
    run = client.submit("research-report", "Research report: heat pumps in cold climates")
    assert client.wait(run.id, timeout_s=60).status == RunStatus.SUCCEEDED
    log = worker.output()
    assert "agent syntax_error is broken and cannot run: " in log
    assert "syntax_error/agent.py:2: syntax error" in log
    assert "Traceback" not in log


def test_a_run_whose_agent_broke_since_it_started_fails_with_the_reason(tmp_path: Path) -> None:
    healthy = _agents_dir(tmp_path / "before")
    # The same agent folder after a bad deploy: a syntax error in agent.py.
    broken = tmp_path / "after" / "agents"
    (broken / "plain_folder").mkdir(parents=True)
    (broken / "plain_folder" / "agent.py").write_text(_NO_INIT_AGENT.replace("name=", "name "))
    (broken / "plain_folder" / "prompt.md").write_text(_PROMPT)
    database = f"sqlite:///{tmp_path / 'journal.sqlite3'}"
    before = open_runtime(load_settings(agents_dir=str(healthy), database_url=database))
    before.journal.upgrade()
    run = before.create_run("plain-folder", "look it up")
    after = open_runtime(load_settings(agents_dir=str(broken), database_url=database))
    drain(after, run.id)
    ended = after.journal.get_run(run.id)
    assert ended.status == RunStatus.FAILED
    assert ended.error is not None and "plain_folder" in ended.error and "Fix:" in ended.error
