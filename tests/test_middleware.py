"""Step middleware: every step passes through the chain; heartbeats keep only long calls alive."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestration.bootstrap import open_runtime
from orchestration.config import Settings, load_settings
from orchestration.journal import Journal, StepOutcome
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.llm.fallbacks import ChainOutcome
from orchestration.reducer._heartbeat import LeaseKeeper
from orchestration.reducer.planning import Progress
from orchestration.runtime import (
    Middleware,
    MiddlewareChain,
    ModelCall,
    ModelNext,
    StepInput,
    StepNext,
    ToolInvocation,
    ToolNext,
)
from tests.conftest import AGENT_DIRS
from tests.support import drain


class Recorder(Middleware):
    """Notes what passes through each hook, in order, and lets it through."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def step(self, item: StepInput, call_next: StepNext) -> Progress:
        self.log.append(f"{self.name}:step:{item.step.seq}")
        return call_next(item)

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        self.log.append(f"{self.name}:model:{call.at.step.seq}")
        return call_next(call)

    def tool_call(self, call: ToolInvocation, call_next: ToolNext) -> StepOutcome:
        self.log.append(f"{self.name}:tool:{call.at.step.seq}:{call.tool}")
        return call_next(call)


@pytest.fixture
def settings(journal: Journal, tmp_path: Path) -> Settings:
    return load_settings(database_url=journal.url, agents_dir=AGENT_DIRS, data_dir=tmp_path)


def test_every_step_passes_through_an_added_middleware(
    settings: Settings, journal: Journal
) -> None:
    log: list[str] = []
    rt = open_runtime(settings, Recorder("outer", log), Recorder("inner", log))
    run = rt.create_run("research-report", "Research report: heat pumps in cold climates")
    drain(rt, run.id)
    assert rt.journal.get_run(run.id).status == RunStatus.SUCCEEDED
    steps = rt.journal.steps(run.id)
    for step in steps:
        assert log.count(f"outer:step:{step.seq}") == 1, step
        assert log.count(f"inner:step:{step.seq}") == 1, step
        # The outer middleware sees the step first.
        assert log.index(f"outer:step:{step.seq}") < log.index(f"inner:step:{step.seq}")
        if step.kind == StepKind.LLM:
            assert log.count(f"inner:model:{step.seq}") == 1
        if step.kind == StepKind.TOOL:
            assert log.count(f"inner:tool:{step.seq}:{step.name}") == 1
    assert sum(s.kind == StepKind.TOOL for s in steps) >= 3


def test_a_middleware_that_does_not_call_next_stops_the_tool(
    settings: Settings, journal: Journal
) -> None:

    class Refuse(Middleware):
        def tool_call(self, call: ToolInvocation, call_next: ToolNext) -> StepOutcome:
            return StepOutcome(StepStatus.FAILED, None, f"{call.tool} refused by policy")

    rt = open_runtime(settings, Refuse())
    run = rt.create_run("research-report", "Research report: heat pumps in cold climates")
    drain(rt, run.id)
    tools = [s for s in rt.journal.steps(run.id) if s.kind == StepKind.TOOL]
    assert tools and all(s.error and "refused by policy" in s.error for s in tools)


def test_chain_with_adds_innermost() -> None:
    log: list[str] = []
    chain = MiddlewareChain([Recorder("a", log)]).with_(Recorder("b", log))
    assert [m.name for m in chain.middlewares] == ["a", "b"]


def _lease_expiry(journal: Journal, run_id: str, seq: int) -> object:
    return journal.step(run_id, seq).lease_expires_at


def test_lease_keeper_renews_only_calls_that_outlive_a_third_of_the_lease(
    settings,
    journal: Journal,
) -> None:
    rt = open_runtime(settings)
    run = rt.create_run("research-report", "Research report: heat pumps in cold climates")
    lease_s = 0.6
    claimed = journal.claim(run.id, 1, "me", lease_s)
    first = _lease_expiry(journal, run.id, 1)
    keeper = LeaseKeeper(journal, lease_s)
    # A short call: held and dropped before a renewal falls due; the lease is untouched.
    keeper.drop(keeper.hold(claimed.step, "me"))
    assert _lease_expiry(journal, run.id, 1) == first
    # A long call: the keeper pushes the lease out while it is held.
    token = keeper.hold(claimed.step, "me")
    deadline = time.monotonic() + 10
    while _lease_expiry(journal, run.id, 1) == first:
        assert time.monotonic() < deadline, "the lease was never renewed"
        time.sleep(0.05)
    assert not keeper.lost(token)
    keeper.drop(token)
