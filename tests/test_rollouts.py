"""Canary rollouts with scripted variants, through the real loop on SQLite and PostgreSQL.

The ``canary`` agent (written to a temporary folder) has a ``healthy`` variant (another prompt)
and a ``flaky`` one (another tool that fails two calls in three, and one failed turn fails a
run). The checks run with the clock passed in, so dwell times pass without sleeping.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from orchestration.agents.tables import AgentVersion
from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.journal import Journal
from orchestration.journal.tables import utcnow
from orchestration.rollouts import RolloutPlan, RolloutStatus, Thresholds, bucket, store
from orchestration.rollouts.check import check_rollout, measure, start, stop
from orchestration.rollouts.tables import Rollout, RolloutEvent, RunVariant
from orchestration.runtime import Runtime
from tests.support import ROOT, WorkerPool, drain

AGENT_PY = """
from pathlib import Path
from orchestration import Agent
from . import tools

stable = Agent.from_files(
    name="canary", directory=Path(__file__).parent, model="scripted:planner-1",
    tools=[tools.lookup], max_tool_errors=1,
)
agent = stable.with_variants(
    stable.variant_of("healthy", prompt_template="You are the healthy canary.\\n$tool_list"),
    stable.variant_of("flaky", tools=[tools.flaky_lookup]),
)
"""

TOOLS_PY = """
from pydantic import BaseModel
from orchestration import ToolContext, tool

class LookupArgs(BaseModel):
    query: str

@tool(read_only=True)
def lookup(args: LookupArgs, ctx: ToolContext) -> dict[str, str]:
    \"\"\"Look an item up.\"\"\"
    return {"found": args.query}

@tool(read_only=True, name="lookup")
def flaky_lookup(args: LookupArgs, ctx: ToolContext) -> dict[str, str]:
    \"\"\"Look an item up, the new way.\"\"\"
    if int(args.query.split()[-1]) % 3:
        raise RuntimeError("the new index is missing this item")
    return {"found": args.query}
"""


@pytest.fixture
def agents_dir(tmp_path: Path) -> Path:
    directory = tmp_path / f"agents_{uuid.uuid4().hex[:8]}" / f"canary_{uuid.uuid4().hex[:8]}"
    directory.mkdir(parents=True)
    (directory / "__init__.py").write_text("")
    (directory / "agent.py").write_text(AGENT_PY)
    (directory / "prompt.md").write_text("You are the stable canary.\n$tool_list")
    (directory / "tools.py").write_text(TOOLS_PY)
    return directory.parent


def _runtime(journal: Journal, tmp_path: Path, agents_dir: Path, **overrides: Any) -> Runtime:
    with journal.engine.begin() as connection:
        for table in (RolloutEvent, Rollout, RunVariant, AgentVersion):
            connection.execute(delete(table))
    settings = load_settings(
        database_url=journal.url,
        agents_dir=str(agents_dir),
        data_dir=tmp_path,
        lease_seconds=30,
        **overrides,
    )
    return open_runtime(settings)


@pytest.fixture
def rt(journal: Journal, tmp_path: Path, agents_dir: Path) -> Runtime:
    return _runtime(journal, tmp_path, agents_dir)


def _plan(variant: str, **changes: Any) -> RolloutPlan:
    # In-process runs take milliseconds, so their latency ratio is noise: only failures count.
    limits = Thresholds(max_success_drop=0.1, max_p95_ratio=100.0)
    fields: dict[str, Any] = {"steps": (20, 50, 100), "min_runs": 8, "dwell_seconds": 600}
    return RolloutPlan("canary", variant, thresholds=limits, **(fields | changes))


def _fill_stage(rt: Runtime, counter: list[int], limit: int = 400) -> None:
    """Submit and run sessions until both sides of the stage have their finished runs."""
    rollout = store.active_rollout(rt.journal, "canary")
    assert rollout is not None
    for _ in range(limit):
        figures = measure(rt.journal, rollout)
        if min(figures.stable.finished, figures.variant.finished) >= rollout.min_runs:
            return
        counter[0] += 1
        n = counter[0]
        run = rt.create_run("canary", f"lookup item {n}", session=f"session-{n}")
        drain(rt, run.id)
    raise AssertionError(f"the stage did not fill in {limit} runs")


def test_a_variant_that_fails_too_often_rolls_back_by_itself_and_says_why(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    journal = rt.journal
    t0 = utcnow()
    start(journal, rt.registry.get("canary"), _plan("flaky"), now=t0)
    _fill_stage(rt, [0])

    with caplog.at_level(logging.WARNING, logger="chordline.alerts"):
        at = t0 + timedelta(seconds=5)
        result = check_rollout(rt.settings.rollouts, journal, "canary", now=at)

    assert result.decision.kind == "rollback"
    assert result.rollout.status == RolloutStatus.ROLLED_BACK and result.rollout.percent == 0
    assert result.metrics.variant.success_rate is not None
    assert result.metrics.variant.success_rate < 0.5 < (result.metrics.stable.success_rate or 0)
    assert "success rate" in (result.rollout.reason or "")
    assert "more than the 10.0% allowed" in (result.rollout.reason or "")
    (alert,) = [e for e in store.events(journal, result.rollout.id) if e.alert]
    assert alert.kind == "rollback" and alert.reason == result.rollout.reason
    assert alert.metrics is not None and alert.metrics["variant"]["variant"] == "flaky"
    assert any("rolled back" in r.getMessage() for r in caplog.records)

    # From now on every new run is stable, and says so.
    runs = [rt.create_run("canary", f"lookup item {i}", session=f"after-{i}") for i in range(20)]
    with journal.engine.connect() as connection:
        sides = connection.execute(
            select(RunVariant.variant).where(RunVariant.run_id.in_([r.id for r in runs]))
        ).scalars()
        assert set(sides) == {"stable"}
    assert {r.agent_version for r in runs} == {rt.registry.get("canary").version}


def test_a_healthy_variant_advances_after_each_dwell_to_100_percent(rt: Runtime) -> None:
    journal = rt.journal
    canary = rt.registry.get("canary")
    healthy = canary.get_variant("healthy")
    t0 = utcnow()
    started = start(journal, canary, _plan("healthy"), now=t0)
    assert started.percent == 20 and started.variant_version == healthy.version
    counter = [0]
    _fill_stage(rt, counter)

    early = check_rollout(rt.settings.rollouts, journal, "canary", now=t0 + timedelta(seconds=60))
    assert early.decision.kind == "hold" and "60s of the 600s dwell" in early.decision.reason
    second = check_rollout(rt.settings.rollouts, journal, "canary", now=t0 + timedelta(seconds=601))
    assert second.decision.kind == "advance" and second.rollout.percent == 50
    assert second.rollout.stage == 1

    _fill_stage(rt, counter)
    held = check_rollout(rt.settings.rollouts, journal, "canary", now=t0 + timedelta(seconds=900))
    assert held.decision.kind == "hold"
    done = check_rollout(rt.settings.rollouts, journal, "canary", now=t0 + timedelta(seconds=1202))
    assert done.decision.kind == "complete"
    assert done.rollout.status == RolloutStatus.COMPLETED and done.rollout.percent == 100
    kinds = [e.kind for e in reversed(store.events(journal, started.id))]
    assert kinds == ["start", "advance", "complete"]

    # Every run of a stage records its side; the variant's ran on the variant's version.
    with journal.engine.connect() as connection:
        rows = connection.execute(select(RunVariant.variant, RunVariant.agent_version)).all()
    assert {(v, a) for v, a in rows} == {
        ("stable", canary.version),
        ("healthy", healthy.version),
    }
    after = rt.create_run("canary", "lookup item 1", session="new-session")
    assert after.agent_version == healthy.version and after.prompt_hash == healthy.prompt_hash


def test_routing_is_sticky_per_session_and_close_to_the_percentage(rt: Runtime) -> None:
    journal = rt.journal
    canary = rt.registry.get("canary")
    start(journal, canary, _plan("healthy", steps=(25, 100)))
    # One session whose bucket is on the variant at 25% and one that is not: each keeps its
    # side run after run (a run bucketed on its own would land on either side).
    sessions = [f"s{i}" for i in range(200)]
    on = next(s for s in sessions if bucket("canary", "healthy", f"session:{s}") < 25)
    off = next(s for s in sessions if bucket("canary", "healthy", f"session:{s}") >= 25)
    healthy = canary.get_variant("healthy").version
    for session, side in ((on, healthy), (off, canary.version)):
        versions = [rt.create_run("canary", "hi", session=session).agent_version for _ in range(10)]
        assert set(versions) == {side}, session
    share = sum(bucket("canary", "healthy", f"session:s{i}") < 25 for i in range(20_000)) / 200
    assert 24.0 <= share <= 26.0
    # A caller on the variant at 5% stays on it at every larger percentage.
    early = {i for i in range(2_000) if bucket("canary", "healthy", f"session:s{i}") < 5}
    later = {i for i in range(2_000) if bucket("canary", "healthy", f"session:s{i}") < 50}
    assert early and early <= later


def test_the_kill_switch_sends_no_new_run_to_a_variant(
    journal: Journal, tmp_path: Path, agents_dir: Path
) -> None:
    rt = _runtime(journal, tmp_path, agents_dir, disabled_variants="canary:healthy")
    journal = rt.journal
    start(journal, rt.registry.get("canary"), _plan("healthy", steps=(100,)))
    stable_version = rt.registry.get("canary").version
    runs = [rt.create_run("canary", "hi", session=f"s{i}") for i in range(10)]
    assert {r.agent_version for r in runs} == {stable_version}
    result = check_rollout(rt.settings.rollouts, journal, "canary")
    assert result.decision.kind == "hold"
    assert "CHORDLINE_DISABLED_VARIANTS" in result.decision.reason
    stopped = stop(journal, "canary", "switched off")
    assert stopped.status == RolloutStatus.STOPPED and stopped.percent == 0


def test_the_cli_starts_checks_and_shows_a_rollout(agents_dir: Path, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        CHORDLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        CHORDLINE_AGENTS_DIR=str(agents_dir),
        CHORDLINE_DATA_DIR=str(tmp_path / "data"),
        COLUMNS="200",
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "rollout", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    begun = cli("start", "canary", "--variant", "healthy", "--steps", "1,5,100", "--dwell", "5m")
    assert begun.returncode == 0, begun.stderr
    assert "gets 1% of new runs" in begun.stdout
    again = cli("start", "canary", "--variant", "healthy")
    assert again.returncode == 2 and "Fix: `chordline rollout stop canary`" in again.stderr
    assert "Traceback" not in again.stderr
    checked = cli("check", "canary")
    assert checked.returncode == 0, checked.stderr
    assert "hold: waiting for runs: 0 of 50 finished on healthy" in checked.stdout
    shown = cli("status", "canary")
    assert shown.returncode == 0, shown.stderr
    for fragment in ("active at 1%", "success", "p95 latency", "cost / run", "eval pass", "start"):
        assert fragment in shown.stdout
    assert "a check now would hold: waiting for runs" in shown.stdout
    bad = cli("start", "canary", "--variant", "nope")
    assert bad.returncode == 2 and "has no variant 'nope'" in bad.stderr
    worse = cli("start", "other", "--variant", "x", "--steps", "5,1")
    assert worse.returncode == 2 and "--steps (5, 1) must rise" in worse.stderr


def test_the_beat_task_checks_rollouts_on_an_admin_worker(
    service_env: dict[str, str],
    pg_journal: Journal,
    tmp_path: Path,
    agents_dir: Path,
    workers: WorkerPool,
) -> None:
    from beat_schedule import schedule
    from orchestration.canvas import producer

    rt = _runtime(pg_journal, tmp_path, agents_dir)
    journal = rt.journal
    start(journal, rt.registry.get("canary"), _plan("flaky", dwell_seconds=0))
    _fill_stage(rt, [0])
    env = dict(service_env, CHORDLINE_AGENTS_DIR=str(agents_dir))
    workers.start(env, queues="admin", concurrency=1)
    entry = schedule()["check-canary-rollouts"]
    assert entry["task"] == "chordline.admin.rollout_check"
    assert entry["options"]["queue"] == "admin"

    settings = load_settings(broker_url=env["CHORDLINE_BROKER_URL"], database_url=pg_journal.url)
    sent = producer(settings).send_task(entry["task"], queue="admin")
    (checked,) = sent.get(timeout=60)
    assert checked["decision"] == "rollback" and checked["percent"] == 0
    rolled = store.latest_rollout(journal, "canary")
    assert rolled is not None and rolled.status == RolloutStatus.ROLLED_BACK
    assert "success rate" in (rolled.reason or "")


def test_an_eval_pass_rate_drop_rolls_back_a_variant_that_runs_fine(rt: Runtime) -> None:
    """Eval results as the eval job writes them (issue 11's ``eval_results``)."""
    from orchestration.evals.tables import EvalResult

    journal = rt.journal
    canary = rt.registry.get("canary")
    with journal.engine.begin() as connection:
        for version, rate in ((canary.version, 0.9), (canary.get_variant("healthy").version, 0.6)):
            connection.execute(
                EvalResult.__table__.insert().values(
                    id=str(uuid.uuid4()),
                    agent="canary",
                    agent_version=version,
                    dataset_hash="d",
                    models={},
                    k=1,
                    tenant="t",
                    admin=True,
                    cases={},
                    created_at=utcnow(),
                    metrics={"overall": {"pass_at_1": rate}, "by_category": {}},
                )
            )
    t0 = utcnow()
    start(journal, canary, _plan("healthy"), now=t0)
    _fill_stage(rt, [0])
    result = check_rollout(rt.settings.rollouts, journal, "canary", now=t0 + timedelta(hours=1))
    assert result.metrics.variant.success_rate == result.metrics.stable.success_rate == 1.0
    assert result.decision.kind == "rollback"
    assert result.decision.reason.startswith("eval pass rate 60.0% against stable 90.0%")


def test_variants_are_locked_so_their_changes_are_reviewed(rt: Runtime) -> None:
    from orchestration.evals.lock import build_lock

    locked = build_lock(rt.registry, rt.settings.evals, rt.settings.llm).content["agents"]
    canary = rt.registry.get("canary")
    assert set(locked) >= {"canary", "canary:healthy", "canary:flaky"}
    assert locked["canary:healthy"]["version"] == canary.get_variant("healthy").version
    assert locked["canary"]["version"] == canary.version


def test_a_bad_kill_switch_setting_names_the_variable_and_the_fix() -> None:
    from orchestration.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_settings(disabled_variants="canary:healthy,flaky")
    message = str(caught.value)
    assert "CHORDLINE_DISABLED_VARIANTS=canary:healthy,flaky is invalid" in message
    assert "'flaky' is not agent:variant" in message and "Fix: set" in message
    pairs = load_settings(disabled_variants=" canary:healthy , b:x").disabled_variant_pairs
    assert pairs == {("canary", "healthy"), ("b", "x")}
