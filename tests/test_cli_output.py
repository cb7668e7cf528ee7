"""What ``runs``, ``status`` and ``agents`` print: readable at 80 columns, ``--json`` for
scripts, filters and pages, and the model that served a run rather than its pin."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from rich.console import Console
from sqlalchemy import update

from orchestration.bootstrap import open_runtime
from orchestration.cli.display import run_panel
from orchestration.config import load_settings
from orchestration.journal.tables import Run, RunStatus, utcnow
from tests.conftest import AGENT_DIRS, PG_ADMIN_URL, unavailable
from tests.llm_server import FakeLLM
from tests.support import drain
from tests.test_cli import _assert_clean_error, _chordline

REFUND = "jane.doe@example.com: ORD-1042 arrived cracked, refund it"
TENANTS = ("acme-industries", "globex-corporation")


@pytest.fixture
def journal_env(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A SQLite journal holding runs in every status a listing shows; returns the env for the
    CLI and the run ids by label."""
    settings = load_settings(
        data_dir=tmp_path / "data", agents_dir=AGENT_DIRS, broker_url="filesystem://"
    )
    rt = open_runtime(settings)
    rt.journal.ensure_schema(upgrade=True)
    ids: dict[str, str] = {}
    waiting = rt.create_run("support-triage", REFUND, tenant=TENANTS[0])
    drain(rt, waiting.id)
    ids["waiting"] = waiting.id
    for label, status in (("failed", RunStatus.FAILED), ("cancelled", RunStatus.CANCELLED)):
        run = rt.create_run("research-report", "heat pumps", tenant=TENANTS[1])
        rt.journal.finish_run(run.id, status, error=label)
        ids[label] = run.id
    old = rt.create_run("research-report", "old news", tenant=TENANTS[1])
    with rt.journal.engine.begin() as connection:
        connection.execute(
            update(Run).where(Run.id == old.id).values(created_at=utcnow() - timedelta(days=3))
        )
    ids["old"] = old.id
    env = {"CHORDLINE_DATA_DIR": str(tmp_path / "data"), "CHORDLINE_AGENTS_DIR": AGENT_DIRS}
    return env, ids


def _fits(text: str, width: int = 80) -> None:
    for line in text.splitlines():
        assert len(line) <= width, line


def test_runs_at_80_columns_shows_whole_names_statuses_and_tenants(
    journal_env: tuple[dict[str, str], dict[str, str]],
) -> None:
    env, ids = journal_env
    done = _chordline("runs", env={**env, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    _fits(done.stdout)
    for word in ("support-triage", "research-report", *TENANTS, "waiting_for_approval", "failed"):
        assert word in done.stdout, done.stdout
    assert ids["waiting"][:8] in done.stdout
    assert "…" not in done.stdout


def test_a_short_id_from_the_listing_works_with_status(
    journal_env: tuple[dict[str, str], dict[str, str]],
) -> None:
    env, ids = journal_env
    done = _chordline("status", ids["waiting"][:8], env={**env, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert ids["waiting"] in done.stdout
    _fits(done.stdout)
    unknown = _chordline("status", "ffffffff", env=env)
    _assert_clean_error(unknown, "no run 'ffffffff'")


def test_runs_json_filters_and_pages(journal_env: tuple[dict[str, str], dict[str, str]]) -> None:
    env, ids = journal_env

    def listed(*args: str) -> dict[str, object]:
        done = _chordline("runs", "--json", *args, env=env)
        assert done.returncode == 0, done.stderr
        document: dict[str, object] = json.loads(done.stdout)
        return document

    def run_ids(document: dict[str, object]) -> set[str]:
        runs = document["runs"]
        assert isinstance(runs, list)
        return {r["id"] for r in runs}

    everything = listed()
    assert run_ids(everything) == set(ids.values()) and everything["total"] == 4
    assert run_ids(listed("--status", "failed")) == {ids["failed"]}
    assert run_ids(listed("--status", "failed", "--status", "cancelled")) == {
        ids["failed"],
        ids["cancelled"],
    }
    assert run_ids(listed("--agent", "support-triage")) == {ids["waiting"]}
    assert run_ids(listed("--since", "1d")) == set(ids.values()) - {ids["old"]}
    assert ids["old"] not in run_ids(listed("--since", utcnow().date().isoformat()))
    first, second, third = (listed("--limit", "2", "--page", str(n)) for n in (1, 2, 3))
    assert first["pages"] == 2 and second["page"] == 2 and third["runs"] == []
    assert run_ids(first) | run_ids(second) == set(ids.values())
    assert not run_ids(first) & run_ids(second)
    (waiting,) = listed("--tenant", TENANTS[0])["runs"]  # type: ignore[misc]
    assert waiting["served_models"] == ["scripted:planner-1"]
    assert waiting["status"] == "waiting_for_approval"

    bad = _chordline("runs", "--since", "yesterday", env=env)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "--since 30m, 2h, 7d" in bad.stderr


def test_status_json_parses_with_every_step(
    journal_env: tuple[dict[str, str], dict[str, str]],
) -> None:
    env, ids = journal_env
    done = _chordline("status", ids["waiting"], "--json", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["run"]["id"] == ids["waiting"]
    assert document["run"]["status"] == "waiting_for_approval"
    names = [s["name"] for s in document["steps"]]
    assert names[:4] == ["turn", "lookup_customer", "lookup_orders", "search_kb"]
    assert [s["status"] for s in document["steps"]].count("waiting") == 1


def test_agents_at_80_columns_and_as_json(tmp_path: Path) -> None:
    env = {"CHORDLINE_DATA_DIR": str(tmp_path), "CHORDLINE_AGENTS_DIR": AGENT_DIRS}
    done = _chordline("agents", env={**env, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    _fits(done.stdout)
    for name in ("research-report", "support-triage", "toolbox", "scripted:planner-1"):
        assert name in done.stdout
    as_json = _chordline("agents", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    by_name = {a["name"]: a for a in document["agents"]}
    assert by_name["support-triage"]["tools"][-1] == {
        "name": "issue_refund",
        "read_only": False,
        "requires_approval": True,
    }
    assert document["broken"] == []


def test_the_header_shows_the_model_that_served_not_the_pin(
    fake_llm: FakeLLM, tmp_path: Path
) -> None:
    env = {k.removeprefix("CHORDLINE_").lower(): v for k, v in fake_llm.env().items()}
    settings = load_settings(
        data_dir=tmp_path / "data", agents_dir=AGENT_DIRS, llm_provider="openai", **env
    )
    rt = open_runtime(settings)
    rt.journal.ensure_schema(upgrade=True)
    run = rt.create_run("research-report", "Research report: heat pumps in cold climates")
    drain(rt, run.id)
    run = rt.journal.get_run(run.id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    console = Console(width=80, record=True)
    console.print(run_panel(run, rt.journal.steps(run.id), 80))
    header = console.export_text().splitlines()[:4]
    assert "model openai:gpt-5-mini-2025-08-07 (pinned scripted:planner-1)" in header


def test_check_reports_an_unmigrated_journal_with_the_fix(tmp_path: Path) -> None:
    name = f"chordline_test_unmigrated_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable ({exc})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    env = {"CHORDLINE_DATA_DIR": str(tmp_path), "CHORDLINE_DATABASE_URL": f"{base}/{name}"}
    try:
        before = _chordline("check", env=env)
        assert before.returncode == 1
        assert "not migrated journal" in before.stderr
        assert "revision none" in before.stderr and "chordline db upgrade" in before.stderr
        assert "ok   journal" not in before.stdout
        assert _chordline("db", "upgrade", env=env).returncode == 0
        after = _chordline("check", env=env)
        assert after.returncode == 0, after.stderr
        assert "ok   journal" in after.stdout
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
