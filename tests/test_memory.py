"""Sessions and tiered memory on real Redis and the journal (SQLite and PostgreSQL), driven in
process; the clock is moved, never slept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from orchestration.agents import load_registry
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.errors import MemoryStoreError
from orchestration.journal import Journal
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus, utcnow
from orchestration.llm.breakers import BreakerBoard
from orchestration.llm.fallbacks import ChainOutcome
from orchestration.llm.providers import ProviderPool
from orchestration.memory import (
    Episode,
    JournalFactStore,
    MemoryMiddleware,
    delete_session,
    export_session,
    fit_episodes,
    open_working_memory,
)
from orchestration.memory.context import read_recorded
from orchestration.memory.working import working_key
from orchestration.rollouts import Router
from orchestration.runtime import Middleware, MiddlewareChain, ModelCall, ModelNext, Runtime
from orchestration.workflows import load_workflows, start_workflow, workflow_dirs
from tests.conftest import AGENT_DIRS
from tests.support import ROOT, WorkerPool, drain
from tests.test_workflows import WORKFLOW_DIRS, by_stage, run_to_end

FACT = "Remember that my favourite colour is teal"


@dataclass
class Clock:
    """A clock the test moves."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@dataclass
class SeenRequests(Middleware):
    """Keeps the system prompt of every model call (innermost: what is really sent)."""

    systems: dict[str, list[str]] = field(default_factory=dict)

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        self.systems.setdefault(call.at.run.id, []).append(call.request.system)
        return call_next(call)


@pytest.fixture
def settings(journal: Journal, clean_redis: str, tmp_path: Path) -> Settings:
    with journal.engine.begin() as connection:
        connection.execute(text("DELETE FROM memory_facts"))
    return load_settings(
        database_url=journal.url,
        agents_dir=AGENT_DIRS,
        data_dir=tmp_path,
        lease_seconds=30,
        memory_redis_url=clean_redis,
    )


@dataclass
class World:
    rt: Runtime
    clock: Clock
    seen: SeenRequests

    def run(self, text_: str, session: str | None = "s1", tenant: str = "acme") -> RunRecord:
        run = self.rt.create_run("memo", text_, tenant=tenant, session=session)
        drain(self.rt, run.id)
        return self.rt.journal.get_run(run.id)

    def system(self, run: RunRecord) -> str:
        return self.seen.systems[run.id][0]

    def loaded(self, run: RunRecord) -> dict[str, object]:
        found = read_recorded(self.rt.journal, run.id)
        assert found is not None, "a session run records what it loaded"
        return found.record


@pytest.fixture
def world(settings: Settings, journal: Journal) -> World:
    clock = Clock()
    seen = SeenRequests()
    rt = Runtime(
        settings=settings,
        journal=journal,
        registry=load_registry(settings.agent_dirs),
        providers=ProviderPool(settings.llm, settings.agent_dirs),
        breakers=BreakerBoard(settings.llm, settings.redis_url),
        router=Router(settings, journal),
        middleware=MiddlewareChain(
            [MemoryMiddleware(settings.memory, journal, settings.redis_url, clock=clock), seen]
        ),
    )
    return World(rt, clock, seen)


def test_a_second_run_sees_the_first_through_working_memory(world: World) -> None:
    first = world.run(FACT)
    assert first.status == RunStatus.SUCCEEDED and first.session == "s1"
    second = world.run("What colour do I like?")
    system = world.system(second)
    assert "Recent turns of this conversation (working memory)" in system
    assert FACT in system
    loaded = world.loaded(second)
    assert [t["run_id"] for t in loaded["working"]] == [first.id]  # type: ignore[index,union-attr]
    # The fact the agent chose to keep is recalled by meaning (shared words) from long-term memory.
    assert [f["fact"] for f in loaded["long_term"]] == [FACT]  # type: ignore[index,union-attr]
    # Every turn of the run sends the same recorded memory.
    assert len(set(world.seen.systems[second.id])) == 1


def test_a_run_a_day_later_sees_the_session_through_episodic_memory(world: World) -> None:
    first = world.run(FACT)
    world.clock.offset = timedelta(days=1)  # past the working memory's TTL of an hour
    later = world.run("What colour do I like?")
    loaded = world.loaded(later)
    assert loaded["working"] == []
    assert loaded["episodic"] == {"full": [first.id], "summarised": [], "dropped": 0}
    assert "Earlier conversations (episodic memory)" in world.system(later)
    assert FACT in world.system(later)
    # Past the retention period nothing of it is episodic any more.
    world.clock.offset = timedelta(days=31)
    much_later = world.run("Anything about me?")
    assert world.loaded(much_later)["episodic"] == {"full": [], "summarised": [], "dropped": 0}


def test_episodes_past_the_token_budget_are_summarised_then_counted() -> None:
    now = utcnow()
    found = [
        Episode(f"r{i}", now - timedelta(hours=10 - i), f"question {i} " * 20, "answer " * 40, ())
        for i in range(10)
    ]
    fitted = fit_episodes(found, budget_tokens=250, count_tokens=lambda s: len(s) // 4)
    assert [e.run_id for e in fitted.full] == ["r9"]  # the newest in full
    assert fitted.summarised and fitted.summarised[-1].run_id == "r8"
    assert fitted.dropped == 10 - 1 - len(fitted.summarised)
    assert "older conversation(s) not shown" in fitted.text()


def test_runs_without_a_session_or_of_another_session_load_nothing(world: World) -> None:
    world.run(FACT)
    other = world.run("What colour do I like?", session="s2")
    assert world.loaded(other)["working"] == [] and world.loaded(other)["long_term"] == []
    alone = world.run("What colour do I like?", session=None)
    assert read_recorded(world.rt.journal, alone.id) is None
    assert FACT not in world.system(alone)
    stranger = world.run("What colour do I like?", tenant="other-tenant")
    assert world.loaded(stranger)["working"] == []


def _everything(journal: Journal) -> str:
    with journal.engine.connect() as connection:
        rows = [
            *connection.execute(text("SELECT input, output, error, memory FROM runs")),
            *connection.execute(text("SELECT arguments, result, error FROM steps")),
            *connection.execute(text("SELECT fact FROM memory_facts")),
        ]
    return json.dumps([[str(v) for v in row] for row in rows])


def test_deleting_a_session_removes_it_from_every_tier(
    world: World, settings: Settings, journal: Journal
) -> None:
    world.run(FACT)
    world.run("What colour do I like?")
    kept = world.run("Remember that my cat is called Tom", session="s2")
    assert "teal" in _everything(journal)
    working = open_working_memory(settings.memory, settings.redis_url)
    facts = JournalFactStore(journal)
    before = export_session(journal, working, facts, tenant="acme", session="s1", now=utcnow())
    assert len(before.runs) == 2 and len(before.working) == 2 and len(before.facts) == 1
    gone = delete_session(journal, working, facts, tenant="acme", session="s1")
    assert (gone.working_turns, gone.runs_scrubbed, gone.facts) == (2, 2, 1)
    assert "teal" not in _everything(journal)  # journal: runs, steps, loaded memory, facts
    assert not redis.Redis.from_url(settings.memory_redis_url or "").exists(
        working_key("acme", "s1")
    )
    after = export_session(journal, working, facts, tenant="acme", session="s1", now=utcnow())
    assert (after.working, after.runs, after.facts) == ((), (), ())
    fresh = world.run("What colour do I like?")
    assert "teal" not in world.system(fresh)
    # Another session is untouched.
    assert "Tom" in _everything(journal) and journal.get_run(kept.id).session == "s2"


def _chordline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHORDLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env={**clean, "COLUMNS": "120", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_exports_and_deletes_a_session(
    world: World, settings: Settings, journal: Journal
) -> None:
    first = world.run(FACT)
    env = {
        "CHORDLINE_DATABASE_URL": journal.url,
        "CHORDLINE_MEMORY_REDIS_URL": settings.memory_redis_url or "",
        "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
        "CHORDLINE_DATA_DIR": str(settings.data_dir),
    }
    exported = _chordline("memory", "export", "--session", "s1", "--tenant", "acme", env=env)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["facts"][0]["fact"] == FACT
    status = _chordline("status", first.id, env=env)
    assert "Memory loaded (session s1" in status.stdout, status.stdout + status.stderr
    deleted = _chordline(
        "memory", "delete", "--session", "s1", "--tenant", "acme", "--yes", env=env
    )
    assert deleted.returncode == 0, deleted.stderr
    assert "1 fact(s)" in deleted.stdout
    assert "teal" not in _everything(journal)
    missing = _chordline("memory", "delete", "--tenant", "acme", env=env)
    assert missing.returncode != 0 and "--session" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_session_workflow_is_one_turn_and_its_agents_see_the_memory(
    world: World, settings: Settings, journal: Journal
) -> None:
    first = world.run(FACT)
    flows = load_workflows(workflow_dirs(WORKFLOW_DIRS))
    ticket = "My March invoice is wrong, please refund the extra charge"
    parent_id = start_workflow(
        world.rt, flows.get("ticket-triage"), ticket, tenant="acme", session="s1"
    )
    run_to_end(world.rt, flows, parent_id)
    assert journal.get_run(parent_id).status == RunStatus.SUCCEEDED
    kids = by_stage(world.rt, parent_id)
    assert all(FACT in world.system(kid) for kid in kids.values())
    turns = open_working_memory(settings.memory, settings.redis_url).recent("acme", "s1", utcnow())
    assert [t.run_id for t in turns] == [first.id, parent_id]  # the workflow is one turn
    world.clock.offset = timedelta(days=1)
    later = world.run("Anything about me?")
    episodic = world.loaded(later)["episodic"]
    assert episodic == {"full": [first.id, parent_id], "summarised": [], "dropped": 0}
    working, facts = (
        open_working_memory(settings.memory, settings.redis_url),
        JournalFactStore(journal),
    )
    gone = delete_session(journal, working, facts, tenant="acme", session="s1")
    assert gone.runs_scrubbed == 3 + len(kids)  # first, the workflow, its agents, the later run
    assert "March invoice" not in _everything(journal)


def test_sessions_work_through_workers(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=2)
    client = Client(service_settings)
    first = client.wait(client.submit("memo", FACT, session="w1").id, timeout_s=60)
    assert first.status == RunStatus.SUCCEEDED, first.error
    second = client.wait(client.submit("memo", "What colour?", session="w1").id, timeout_s=60)
    assert second.status == RunStatus.SUCCEEDED, second.error
    loaded = read_recorded(client.runtime.journal, second.id)
    assert loaded is not None and FACT in loaded.text
    assert [t["run_id"] for t in loaded.record["working"]] == [first.id]
    with pytest.raises(MemoryStoreError, match="1 to 128 characters"):
        client.submit("memo", "x", session="s" * 200)
