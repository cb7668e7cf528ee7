"""A run finishes on the agent version it started with, whatever the workers load meanwhile.

Two worker generations in one process: the first loads an agent from a temporary folder and
runs the first turn; then the agent's files change (a deploy) and a second generation loads them
and carries on with the same run, through the real loop, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orchestration.agents import load_registry
from orchestration.agents.tables import AgentVersion
from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.journal import Journal
from orchestration.journal.payloads import ToolPayload
from orchestration.journal.tables import RunStatus, StepStatus
from orchestration.llm.fallbacks import ChainOutcome
from orchestration.llm.providers._scripted import HINTS_FILE
from orchestration.reducer import loop
from orchestration.runtime import Middleware, ModelCall, ModelNext, Runtime
from tests.support import WorkerPool, drain

AGENT_PY = """
from pathlib import Path
from orchestration import Agent
from . import tools

agent = Agent.from_files(
    name="pinned", directory=Path(__file__).parent, model="scripted:planner-1",
    tools=[tools.lookup], max_tool_errors=1,
)
"""

TOOLS_PY = """
from pydantic import BaseModel
from orchestration import ToolContext, tool

class LookupArgs(BaseModel):
    query: str{extra_field}

@tool(read_only=True)
def lookup(args: LookupArgs, ctx: ToolContext) -> dict[str, str]:
    \"\"\"Look a word up.\"\"\"
    return {{"found": args.query + "{suffix}"}}
"""


class Systems(Middleware):
    """Remembers the system prompt and tool names of every model call it sees."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        self.calls.append((call.request.system, tuple(t.name for t in call.request.tools)))
        return call_next(call)


def _write_agent(directory: Path, prompt: str, *, extra_field: str = "", suffix: str = "") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__init__.py").write_text("")
    (directory / "agent.py").write_text(AGENT_PY)
    (directory / "prompt.md").write_text(prompt)
    (directory / "tools.py").write_text(TOOLS_PY.format(extra_field=extra_field, suffix=suffix))


def _deploy(settings_dir: Path, middleware: Middleware, **overrides: Any) -> Runtime:
    """A new worker generation: forget the loaded agent modules and load the folder again."""
    for name in [n for n in sys.modules if n.startswith("chordline_agents_pin_")]:
        del sys.modules[name]
    load_registry.cache_clear()
    settings = load_settings(agents_dir=str(settings_dir), **overrides)
    return open_runtime(settings, middleware)


@pytest.fixture
def agents_dir(tmp_path: Path) -> Path:
    root = tmp_path / f"agents_{uuid.uuid4().hex[:8]}"
    _write_agent(root / f"pin_{uuid.uuid4().hex[:8]}", "You are v1 of $agent_name.\n$tool_list")
    return root


def _overrides(journal: Journal, tmp_path: Path) -> dict[str, Any]:
    return {"database_url": journal.url, "data_dir": tmp_path, "lease_seconds": 30}


def test_a_run_finishes_on_its_version_after_the_prompt_changes(
    journal: Journal, tmp_path: Path, agents_dir: Path
) -> None:
    first, second = Systems(), Systems()
    old = _deploy(agents_dir, first, **_overrides(journal, tmp_path))
    run = old.create_run("pinned", "lookup tea")
    started = loop.run_turn(old, run.id, 1, "gen1")
    assert started.dispatch is not None and started.dispatch.parallel

    (next(agents_dir.iterdir()) / "prompt.md").write_text("You are v2 of $agent_name.\n$tool_list")
    new = _deploy(agents_dir, second, **_overrides(journal, tmp_path))
    assert new.registry.get("pinned").version != run.agent_version
    drain(new, run.id, started.dispatch)

    done = new.journal.get_run(run.id)
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert done.agent_version == run.agent_version
    (v1_system, _), *_ = first.calls
    assert v1_system.startswith("You are v1 of pinned.")
    assert [system for system, _ in second.calls] == [v1_system]

    fresh = new.create_run("pinned", "lookup coffee")
    drain(new, fresh.id)
    assert second.calls[-1][0].startswith("You are v2 of pinned.")
    with new.journal.engine.connect() as connection:
        kept = connection.execute(select(AgentVersion.version, AgentVersion.prompt_template))
        templates = {row.version: row.prompt_template for row in kept}
    assert templates[run.agent_version].startswith("You are v1")
    assert templates[fresh.agent_version].startswith("You are v2")


def test_a_tool_call_waits_for_a_worker_with_its_schema_then_fails_naming_the_version(
    journal: Journal, tmp_path: Path, agents_dir: Path
) -> None:
    old = _deploy(agents_dir, Systems(), **_overrides(journal, tmp_path))
    run = old.create_run("pinned", "lookup tea")
    started = loop.run_turn(old, run.id, 1, "gen1")
    assert started.dispatch is not None
    (seq,) = started.dispatch.parallel

    # The deploy changes the tool's schema: its calls from the old version are not its code.
    _write_agent(
        next(agents_dir.iterdir()),
        "You are v1 of $agent_name.\n$tool_list",
        extra_field="\n    limit: int = 3",
        suffix=" (new code)",
    )
    new = _deploy(agents_dir, Systems(), **_overrides(journal, tmp_path))
    held = loop.run_tool(new, run.id, seq, "gen2")
    assert held.status == "not_ready" and held.retry_in_s > 0
    step = new.journal.step(run.id, seq)
    assert step.status == StepStatus.PENDING and step.lease_owner is None and step.attempt == 0

    # An old-generation worker that still has the code serves it.
    served = loop.run_tool(old, run.id, seq, "gen1")
    assert served.status == "ran"
    assert new.journal.step(run.id, seq).result == ToolPayload({"found": "lookup tea"})

    # A second run of the old version whose call no worker serves in time fails, naming it.
    other = old.create_run("pinned", "lookup milk")
    begun = loop.run_turn(old, other.id, 1, "gen1")
    assert begun.dispatch is not None
    (other_seq,) = begun.dispatch.parallel
    impatient = _deploy(
        agents_dir, Systems(), version_wait_seconds=0, **_overrides(journal, tmp_path)
    )
    loop.run_tool(impatient, other.id, other_seq, "gen3")
    failed = impatient.journal.get_run(other.id)
    assert failed.status == RunStatus.FAILED
    assert failed.error is not None
    assert f"pinned version {other.agent_version}" in failed.error
    assert "CHORDLINE_VERSION_WAIT_SECONDS" in failed.error


def test_a_version_neither_loaded_nor_stored_is_held_not_run_on_other_code(
    journal: Journal, tmp_path: Path, agents_dir: Path
) -> None:
    old = _deploy(agents_dir, Systems(), **_overrides(journal, tmp_path))
    run = old.create_run("pinned", "lookup tea")
    with old.journal.engine.begin() as connection:
        connection.execute(AgentVersion.__table__.delete())
    (next(agents_dir.iterdir()) / "prompt.md").write_text("v2 $tool_list")
    new = _deploy(agents_dir, Systems(), **_overrides(journal, tmp_path))
    held = loop.run_turn(new, run.id, 1, "gen2")
    assert held.status == "not_ready"
    assert new.journal.step(run.id, 1).status == StepStatus.PENDING
    assert loop.run_turn(old, run.id, 1, "gen1").status == "ran"


GATED_TOOLS_PY = """
import time
from pydantic import BaseModel
from orchestration import ToolContext, tool

class LookupArgs(BaseModel):
    query: str

@tool(read_only=True, timeout_s=60)
def lookup(args: LookupArgs, ctx: ToolContext) -> dict[str, str]:
    \"\"\"Look a word up (waits until the test opens the gate).\"\"\"
    deadline = time.monotonic() + 50
    while not (ctx.data_dir / "gate").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"found": args.query}
{extra}
"""

EXTRA_TOOL = """
@tool(read_only=True)
def audit(args: LookupArgs, ctx: ToolContext) -> dict[str, str]:
    \"\"\"Audit a lookup (new in v2).\"\"\"
    return {"audited": args.query}
"""


def test_two_worker_generations_finish_a_run_on_the_version_it_started_with(
    service_env: dict[str, str], pg_journal: Journal, tmp_path: Path, workers: WorkerPool
) -> None:
    from orchestration.client import Client
    from orchestration.journal.tables import StepKind

    agents = tmp_path / f"agents_{uuid.uuid4().hex[:8]}"
    folder = agents / f"pin_{uuid.uuid4().hex[:8]}"
    _write_agent(folder, "You are v1.\n$tool_list")
    (folder / "tools.py").write_text(GATED_TOOLS_PY.replace("{extra}", ""))
    env = dict(service_env, CHORDLINE_AGENTS_DIR=str(agents))
    data_dir = Path(env["CHORDLINE_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    first = workers.start(env, concurrency=2)
    client = Client(
        load_settings(
            broker_url=env["CHORDLINE_BROKER_URL"],
            database_url=pg_journal.url,
            agents_dir=str(agents),
            data_dir=data_dir,
        )
    )
    run = client.submit("pinned", "lookup tea")
    journal = client.runtime.journal
    deadline = time.monotonic() + 60
    while not any(
        s.kind == StepKind.TOOL and s.status == StepStatus.RUNNING for s in journal.steps(run.id)
    ):
        assert time.monotonic() < deadline, "the lookup never started"
        time.sleep(0.05)

    # The deploy: a new prompt and a second tool the scripted model would call for this input.
    (folder / "prompt.md").write_text("You are v2.\n$tool_list")
    (folder / "tools.py").write_text(GATED_TOOLS_PY.replace("{extra}", EXTRA_TOOL))
    (folder / HINTS_FILE).write_text('[keywords]\naudit = ["lookup"]\n')
    (folder / "agent.py").write_text(
        AGENT_PY.replace("[tools.lookup]", "[tools.lookup, tools.audit]")
    )
    workers.start(env, concurrency=2)
    first.process.send_signal(signal.SIGTERM)  # warm shutdown: it finishes the lookup in hand
    (data_dir / "gate").touch()
    assert first.process.wait(timeout=60) == 0

    done = client.wait(run.id, timeout_s=60)
    assert done.status == RunStatus.SUCCEEDED, done.error
    # The second turn ran on the new worker, rebuilt from v1: it saw no audit tool to call.
    assert [s.name for s in journal.steps(run.id)] == ["turn", "lookup", "turn"]
    # A run the new generation creates (the creating process's definition is the version).
    sent = client.app.send_task("chordline.agent.run", args=("pinned", "lookup coffee"))
    assert sent.get(timeout=60)["run_id"] == sent.id
    fresh = client.wait(sent.id, timeout_s=60)
    assert fresh.status == RunStatus.SUCCEEDED
    assert fresh.agent_version != run.agent_version
    assert {s.name for s in journal.steps(fresh.id)} == {"turn", "lookup", "audit"}
