"""Both admin jobs by hand (`chordline admin run`) and from Beat's schedule on the admin queue."""

from __future__ import annotations

import time
from pathlib import Path

from celery.beat import ScheduleEntry, Scheduler
from celery.schedules import crontab

from beat_schedule import admin_entries
from orchestration import canvas
from orchestration.config import load_settings
from orchestration.journal import Journal
from orchestration.knowledge import open_store, store_url
from orchestration.knowledge.finetune_jobs import candidates
from tests.finetune_runs import admin_run, runtime_for, seed_runs
from tests.llm_server import FakeLLM
from tests.support import ROOT, WorkerPool


def test_the_schedule_comes_from_the_settings_and_routes_to_the_admin_queue() -> None:
    quiet = admin_entries(load_settings(knowledge_rebuild_cron="15 4 * * 1-5"))
    assert set(quiet) == {"rebuild-embeddings"}
    entry = quiet["rebuild-embeddings"]
    assert entry["task"] == canvas.TASK_REBUILD_EMBEDDINGS and entry["options"]["queue"] == "admin"
    assert entry["schedule"] == crontab(minute="15", hour="4", day_of_week="1-5")
    both = admin_entries(load_settings(finetune_agents="research-report, support-triage"))
    assert both["finetune-support-triage"]["args"] == ("support-triage",)
    assert both["finetune-research-report"]["schedule"] == crontab(
        minute="0", hour="3", day_of_week="0"
    )


def test_both_jobs_run_by_hand(tmp_path: Path, journal: Journal) -> None:
    env = {
        "CHORDLINE_DATA_DIR": str(tmp_path / "data"),
        "CHORDLINE_DATABASE_URL": journal.url,
        "CHORDLINE_AGENTS_DIR": str(ROOT / "agents"),
    }
    settings = load_settings(
        database_url=journal.url,
        agents_dir=env["CHORDLINE_AGENTS_DIR"],
        data_dir=tmp_path / "data",
        lease_seconds=30,
    )
    seed_runs(runtime_for(journal, settings))
    rebuilt = admin_run(env, "rebuild-embeddings", "--agent", "support-triage")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "support-triage" in rebuilt.stdout and "embedded" in rebuilt.stdout
    live = open_store(store_url(settings.knowledge, settings.data_dir)).live("support-triage")
    assert live is not None and live.model == "local:all-MiniLM-L6-v2"
    exported = admin_run(env, "finetune-export", "--agent", "research-report")
    assert exported.returncode == 0, exported.stderr
    assert "examples: 2" in exported.stdout and "estimated cost: $" in exported.stdout
    listed = admin_run(env, "finetune-candidates")
    assert listed.returncode == 0 and "no candidates yet" in listed.stdout
    unknown = admin_run(env, "finetune-export", "--agent", "nobody")
    assert unknown.returncode == 2 and "unknown agent 'nobody'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_beat_entries_run_both_jobs_on_an_admin_worker(
    service_env: dict[str, str], pg_journal: Journal, fake_llm: FakeLLM, workers: WorkerPool
) -> None:
    env = (
        service_env
        | fake_llm.env()
        | {
            "CHORDLINE_AGENTS_DIR": str(ROOT / "agents"),
            "CHORDLINE_FINETUNE_AGENTS": "research-report",
            "CHORDLINE_FINETUNE_POLL_SECONDS": "0.5",
        }
    )
    settings = load_settings(
        broker_url=env["CHORDLINE_BROKER_URL"],
        database_url=pg_journal.url,
        agents_dir=env["CHORDLINE_AGENTS_DIR"],
        data_dir=Path(env["CHORDLINE_DATA_DIR"]),
        finetune_agents="research-report",
        lease_seconds=30,
    )
    seed_runs(runtime_for(pg_journal, settings))
    workers.start(env, queues="admin", concurrency=1)
    app = canvas.producer(settings)
    beat = Scheduler(app, lazy=True)
    entries = admin_entries(settings)
    assert set(entries) == {"rebuild-embeddings", "finetune-research-report"}
    for name, entry in entries.items():
        # What Beat does when an entry is due: send it with the entry's options.
        beat.apply_async(ScheduleEntry(name=name, app=app, **entry), advance=False)

    store = open_store(store_url(settings.knowledge, settings.data_dir))
    deadline = time.monotonic() + 120
    while not (
        store.live("support-triage")
        and store.live("research-report")
        and candidates(pg_journal, "research-report")
    ):
        assert time.monotonic() < deadline, workers.workers[0].output()[-3000:]
        time.sleep(0.2)
    log = workers.workers[0].output()
    assert "chordline.admin.rebuild_embeddings" in log and "chordline.admin.finetune[" in log
