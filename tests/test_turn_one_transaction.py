"""An LLM turn is journaled in one transaction: its answer, the steps it asks for and the run's
counters land together or not at all.

A real database trigger (SQLite and PostgreSQL) fails the last of those writes, the run's
counters, while a switch row is present. The answer and the new steps written before it in the
same transaction must then be invisible. With the switch off, the sweeper's re-drive (the
recovery path of a worker that died with the step in hand) completes the turn exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from orchestration.bootstrap import open_runtime
from orchestration.config import load_settings
from orchestration.journal import Journal
from orchestration.journal.tables import RunStatus, StepKind, StepStatus
from orchestration.reducer import loop
from orchestration.reducer.sweeper import sweep
from tests.agents.toolbox.tools import count_effects
from tests.conftest import AGENT_DIRS
from tests.support import drain

FAULT = "injected fault between the writes of a turn"

_SQLITE = [
    "CREATE TABLE fault_switch (armed INTEGER)",
    f"""CREATE TRIGGER inject_fault BEFORE UPDATE OF turns ON runs
        WHEN EXISTS (SELECT 1 FROM fault_switch)
        BEGIN SELECT RAISE(ABORT, '{FAULT}'); END""",
]
_POSTGRES = [
    "CREATE TABLE fault_switch (armed integer)",
    f"""CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM fault_switch) THEN RAISE EXCEPTION '{FAULT}'; END IF;
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER inject_fault BEFORE UPDATE OF turns ON runs
        FOR EACH ROW EXECUTE FUNCTION inject_fault()""",
]
_DROP_POSTGRES = [
    "DROP TRIGGER IF EXISTS inject_fault ON runs",
    "DROP FUNCTION IF EXISTS inject_fault()",
    "DROP TABLE IF EXISTS fault_switch",
]


@pytest.fixture
def faulty(journal: Journal) -> Iterator[Journal]:
    """The journal with the fault trigger installed (dropped after: the PostgreSQL database is
    the session's)."""
    postgres = journal.engine.dialect.name == "postgresql"
    with journal.engine.begin() as connection:
        for statement in _POSTGRES if postgres else _SQLITE:
            connection.execute(text(statement))
    yield journal
    if postgres:
        with journal.engine.begin() as connection:
            for statement in _DROP_POSTGRES:
                connection.execute(text(statement))


def _arm(journal: Journal, armed: bool) -> None:
    with journal.engine.begin() as connection:
        connection.execute(text("DELETE FROM fault_switch"))
        if armed:
            connection.execute(text("INSERT INTO fault_switch VALUES (1)"))


def test_a_turn_that_fails_between_its_writes_leaves_none_and_its_retry_lands_once(
    faulty: Journal, tmp_path: Path
) -> None:
    # A lease that lapses at once: the failed attempt's step is up for recovery straight away.
    settings = load_settings(
        database_url=faulty.url, agents_dir=AGENT_DIRS, data_dir=tmp_path, lease_seconds=0.001
    )
    rt = open_runtime(settings)
    run = rt.create_run("toolbox", 'CALL keyed_effect {"label": "once"}')
    _arm(faulty, armed=True)

    with pytest.raises(DBAPIError, match=FAULT):
        loop.run_turn(rt, run.id, 1, "doomed")
    (step,) = rt.journal.steps(run.id)  # no step the answer asked for was written
    assert step.status == StepStatus.RUNNING and step.result is None and step.model is None
    before = rt.journal.get_run(run.id)
    assert (before.turns, before.next_seq, before.input_tokens) == (0, 2, 0)
    assert before.status == RunStatus.RUNNING

    _arm(faulty, armed=False)
    (plan,) = sweep(rt)
    assert plan.run_id == run.id and plan.next_turn == 1
    drain(rt, run.id, plan)

    finished = rt.journal.get_run(run.id)
    assert finished.status == RunStatus.SUCCEEDED
    steps = rt.journal.steps(run.id)
    assert [(s.seq, s.kind) for s in steps] == [
        (1, StepKind.LLM),
        (2, StepKind.TOOL),
        (3, StepKind.LLM),
    ]
    assert steps[0].attempt == 2, "the failed attempt, then the one that recorded the turn"
    llm = [s for s in steps if s.kind == StepKind.LLM]
    assert finished.turns == len(llm) == 2
    assert finished.input_tokens == sum(s.input_tokens for s in llm) > 0
    assert count_effects(settings.journal_url, run.id, "once") == 1
