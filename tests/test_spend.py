"""Tenant-day reservations in real Redis: calls in flight on other workers count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from orchestration.bootstrap import open_runtime
from orchestration.budgets import SpendLedger, open_ledger
from orchestration.config import load_settings
from orchestration.journal import Journal
from orchestration.journal.tables import RunStatus
from tests.conftest import AGENT_DIRS
from tests.llm_server import FakeLLM
from tests.support import drain

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
D = Decimal


def test_a_reservation_holds_room_until_released(clean_redis: str) -> None:
    ledger = SpendLedger(clean_redis, hold_s=60)
    first = ledger.reserve(
        "acme", NOON, amount=D("0.003"), cap=D("0.005"), spent=D("0.001"), label="run-a:1"
    )
    assert first.granted and first.held == 0
    second = ledger.reserve(
        "acme", NOON, amount=D("0.002"), cap=D("0.005"), spent=D("0.001"), label="run-b:1"
    )
    assert not second.granted and second.held == D("0.003")
    other = ledger.reserve(
        "globex", NOON, amount=D("0.002"), cap=D("0.005"), spent=D(0), label="run-c:1"
    )
    assert other.granted
    ledger.release(first)
    again = ledger.reserve(
        "acme", NOON, amount=D("0.002"), cap=D("0.005"), spent=D("0.001"), label="run-b:1"
    )
    assert again.granted


def test_a_dead_workers_reservation_expires(clean_redis: str) -> None:
    ledger = SpendLedger(clean_redis, hold_s=60)
    ledger.reserve("acme", NOON, amount=D("0.004"), cap=D("0.005"), spent=D(0), label="dead:1")
    later = NOON + timedelta(seconds=61)
    after = ledger.reserve(
        "acme", later, amount=D("0.004"), cap=D("0.005"), spent=D(0), label="live:1"
    )
    assert after.granted and after.held == 0


def test_a_turn_counts_what_other_workers_have_in_flight(
    clean_redis: str, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    env = {k.removeprefix("CHORDLINE_").lower(): v for k, v in fake_llm.env().items()}
    settings = load_settings(
        data_dir=tmp_path,
        agents_dir=AGENT_DIRS,
        broker_url=clean_redis,
        llm_provider="openai",
        llm_max_output_tokens=256,
        tenant_daily_usd_overrides="acme=0.002",
        **env,
    )
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite3'}")
    journal.upgrade()
    rt = open_runtime(settings)
    # Another worker's ledger on the same Redis: what it holds, every worker's budget sees.
    ledger = open_ledger(settings.redis_url, settings.llm, settings.lease_seconds)
    assert isinstance(ledger, SpendLedger)
    in_flight = ledger.reserve(
        "acme",
        datetime.now(UTC),
        amount=D("0.0019"),
        cap=D("0.002"),
        spent=D(0),
        label="elsewhere:1",
    )
    blocked = rt.create_run("research-report", "Research report: heat pumps", tenant="acme")
    drain(rt, blocked.id)
    run = journal.get_run(blocked.id)
    assert run.status == RunStatus.BUDGET_EXCEEDED
    assert run.error is not None and "+ $0.0019 in flight + ~$" in run.error
    assert fake_llm.calls("openai") == []
    ledger.release(in_flight)
    free = rt.create_run("research-report", "Research report: heat pumps", tenant="acme")
    drain(rt, free.id, max_tasks=1)
    assert journal.step(free.id, 1).status == "succeeded"
    # Its own reservation was freed once the step was journaled.
    again = ledger.reserve(
        "acme", datetime.now(UTC), amount=D("0.0015"), cap=D("0.002"), spent=D(0), label="probe:1"
    )
    assert again.held == 0
