"""Runs written by older code still read, display and resume.

``tests/fixtures/legacy_journal.sqlite3`` was written by main's code before step results were
typed (how, and what each run holds: ``tests/fixtures/make_legacy_journal.py``). Each test opens
a copy of it with today's code. Resuming depends on the example agents still serving the
versions those runs are pinned to, as it would in production: a changed tool schema makes
them wait for a worker that has the old one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from orchestration.agents import Agent
from orchestration.api.schemas import StepOut
from orchestration.bootstrap import open_runtime
from orchestration.cli import main
from orchestration.config import current_settings, load_settings
from orchestration.errors import JournalError, KnowledgeError
from orchestration.journal.payloads import (
    ApprovalDecision,
    StopPayload,
    ToolPayload,
    TurnPayload,
    decode,
    encode,
)
from orchestration.journal.tables import RunStatus, Step, StepKind, StepStatus
from orchestration.knowledge.finetune_data import export_examples
from orchestration.reducer import loop
from orchestration.reducer._pinning import pinned_agent
from orchestration.reducer._turns import PreparedTurn, prepare_turn
from orchestration.runtime import Runtime
from tests.conftest import AGENT_DIRS
from tests.support import drain

FIXTURE = Path(__file__).parent / "fixtures" / "legacy_journal.sqlite3"
RUNS = (
    "legacy-finished",
    "legacy-waiting",
    "legacy-midway",
    "legacy-compacted",
    "legacy-budget",
    "legacy-no-answer",
)


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    """A runtime on a copy of the old journal, brought to today's schema as any process would."""
    copy = tmp_path / "legacy.sqlite3"
    shutil.copyfile(FIXTURE, copy)
    settings = load_settings(
        database_url=f"sqlite:///{copy}", agents_dir=AGENT_DIRS, data_dir=tmp_path / "data"
    )
    runtime = open_runtime(settings)
    runtime.journal.attach()
    return runtime


def _stored(rt: Runtime) -> list[tuple[str, int, StepKind, dict[str, Any] | None]]:
    query = select(Step.run_id, Step.seq, Step.kind, Step.result).order_by(Step.run_id, Step.seq)
    with rt.journal.engine.connect() as connection:
        return [(r.run_id, r.seq, StepKind(r.kind), r.result) for r in connection.execute(query)]


def test_every_stored_result_decodes_and_encodes_back_as_stored(rt: Runtime) -> None:
    stored = _stored(rt)
    assert {run_id for run_id, *_ in stored} == set(RUNS)
    kinds = {
        StepKind.LLM: TurnPayload,
        StepKind.TOOL: ToolPayload,
        StepKind.APPROVAL: ApprovalDecision,
    }
    for run_id, seq, kind, data in stored:
        payload = decode(kind, data)
        assert encode(payload) == data, (run_id, seq)
        if payload is not None and not isinstance(payload, StopPayload):
            assert isinstance(payload, kinds[kind]), (run_id, seq)
    # The API shows each step's result as it is stored.
    for run_id in RUNS:
        for step in rt.journal.steps(run_id):
            raw = next(d for r, s, _, d in stored if (r, s) == (run_id, step.seq))
            assert StepOut.of(step).result == raw


def test_old_results_read_as_typed_payloads(rt: Runtime) -> None:
    steps = {s.seq: s for s in rt.journal.steps("legacy-finished")}
    fan_out = steps[1].result
    assert isinstance(fan_out, TurnPayload) and fan_out.reply is not None
    assert [c.name for c in fan_out.reply.tool_calls] == ["sleep_read", "echo"]
    assert fan_out.deployment == "scripted:planner-1" and not fan_out.drift
    assert [a.outcome for a in fan_out.attempts] == ["ok"]
    assert steps[3].result == ToolPayload({"text": "hello"})
    assert (steps[5].status, steps[5].result) == (StepStatus.FAILED, None)
    assert steps[5].error is not None and "kaboom" in steps[5].error
    approved, rejected = ApprovalDecision.of(steps[7].result), ApprovalDecision.of(steps[9].result)
    assert (approved.approved, approved.reviewer, approved.reason) == (True, "ann", "fine")
    assert approved.decided_at is not None and approved.decided_at.tzinfo is not None
    assert (rejected.approved, rejected.reviewer) == (False, "bob")
    assert steps[10].result == ToolPayload.rejection("not this one")
    final = steps[11].result
    assert isinstance(final, TurnPayload) and final.reply is not None
    assert final.reply.text is not None and final.reply.text.startswith("Script finished.")

    (unanswered,) = rt.journal.steps("legacy-no-answer")
    failed = unanswered.result
    assert isinstance(failed, TurnPayload)
    assert (failed.reply, failed.deployment) == (None, None)
    assert [a.outcome for a in failed.attempts] == ["retry", "failed"]
    assert [(s.deployment, s.reason) for s in failed.skipped] == [
        ("down:model-2025-01-01", "HTTP 503: the model is down")
    ]

    stopped = rt.journal.steps("legacy-budget")[-1]
    assert stopped.result == StopPayload(RunStatus.BUDGET_EXCEEDED)

    last = rt.journal.steps("legacy-compacted")[-1].result
    assert isinstance(last, TurnPayload) and last.compacted and last.compaction is not None
    assert last.compaction.elided_tool_outputs >= 1


def _status(rt: Runtime, *args: str) -> str:
    """``chordline status ARGS`` in this process, on ``rt``'s journal."""
    env = {
        "CHORDLINE_DATABASE_URL": rt.journal.url,
        "COLUMNS": "200",
        "CHORDLINE_DATA_DIR": str(rt.settings.core.data_dir),
    }
    current_settings.cache_clear()  # the CLI reads the process's settings once: read them anew
    try:
        result = CliRunner(env=env).invoke(main, ["status", *args])
    finally:
        current_settings.cache_clear()  # later readers see the environment without ``env``
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_every_run_displays(rt: Runtime) -> None:
    for run_id in RUNS:
        shown = _status(rt, run_id)
        assert f"run {run_id}" in shown and "Timeline" in shown
        document = json.loads(_status(rt, run_id, "--json"))
        assert len(document["steps"]) == rt.journal.get_run(run_id).next_seq - 1
    finished = _status(rt, "legacy-finished")
    assert "LLM calls" in finished and "652/0/65" in finished  # a turn's recorded usage
    unanswered = _status(rt, "legacy-no-answer")
    # Two tries of the chain, and why the one deployment was skipped.
    assert "2  down:model-2025-01-01: HTTP 503: the model is down" in unanswered
    assert "budget_exceeded" in _status(rt, "legacy-budget")


def test_a_run_waiting_for_approval_resumes_to_the_end(rt: Runtime) -> None:
    (waiting,) = rt.journal.waiting_approvals("legacy-waiting")
    plan = loop.decide(rt, "legacy-waiting", waiting.seq, approved=True, reviewer="lead")
    assert plan is not None
    drain(rt, "legacy-waiting", plan)
    run = rt.journal.get_run("legacy-waiting")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "refund of $1249.00 for ORD-1042 issued" in (run.output or "")
    for _, _, kind, data in _stored(rt):
        assert encode(decode(kind, data)) == data


def test_a_run_left_mid_way_resumes_reading_its_recorded_turn(rt: Runtime) -> None:
    plan = loop.redrive_plan(rt, "legacy-midway")
    assert plan is not None and plan.parallel == (3,) and plan.next_turn == 4
    drain(rt, "legacy-midway", plan)
    run = rt.journal.get_run("legacy-midway")
    assert run.status == RunStatus.SUCCEEDED, run.error
    # The answer quotes both calls' results: the old call's read back through the codec.
    assert '- sleep_read: {"slept": 0.0}' in (run.output or "")
    assert '- echo: {"text": "later"}' in (run.output or "")
    assert "run legacy-midway  succeeded" in _status(rt, "legacy-midway")


def test_fine_tune_export_reads_old_runs(rt: Runtime, tmp_path: Path) -> None:
    report = export_examples(
        rt.settings.knowledge,
        rt.settings.core.agent_dirs,
        rt.journal,
        "reader",
        tmp_path / "reader.jsonl",
    )
    assert report.examples == 1
    (line,) = report.path.read_text(encoding="utf-8").splitlines()
    messages = json.loads(line)["messages"]
    calls = [m for m in messages if m["role"] == "assistant" and m.get("tool_calls")]
    assert len(calls) == 12 and calls[0]["tool_calls"][0]["function"]["name"] == "read_page"
    assert sum(m["role"] == "tool" for m in messages) == 12
    # The toolbox's one finished run had a call rejected: nothing of it is exported.
    with pytest.raises(KnowledgeError, match=r"\(4 excluded\)"):
        export_examples(
            rt.settings.knowledge,
            rt.settings.core.agent_dirs,
            rt.journal,
            "toolbox",
            tmp_path / "toolbox.jsonl",
        )


def test_a_result_no_step_of_its_kind_records_is_refused_naming_its_keys() -> None:
    with pytest.raises(JournalError, match=r"this tool step's result holds keys \['ok'\]"):
        decode(StepKind.TOOL, {"ok": 1})
    with pytest.raises(JournalError, match=r"approval step's result holds keys \['approved'\]"):
        decode(StepKind.APPROVAL, {"approved": "perhaps"})
    assert decode(StepKind.LLM, None) is None and decode(StepKind.APPROVAL, {}) is None


def test_a_turn_asks_what_main_asked_so_its_answers_stay_found(rt: Runtime) -> None:
    # The toolbox's tools never had keywords: its first request hashes as main hashed it, so the
    # `cache` deployment and the response cache still find the answers recorded then.
    run = rt.journal.get_run("legacy-finished")
    first = rt.journal.step(run.id, 1)
    agent = pinned_agent(rt, run)
    assert isinstance(agent, Agent)
    prepared = prepare_turn(
        rt.settings.loop, rt.providers, agent=agent, run=run, step=first, window=()
    )
    assert isinstance(prepared, PreparedTurn)
    assert prepared.request_hash == first.request_hash
