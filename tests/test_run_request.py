"""One contract for starting a run, whatever the door: the client, the CLI and a bare Celery
``send_task`` refuse bad input before anything is stored, naming the field and the fix."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.errors import RunRequestError, RunRequestTooLarge
from orchestration.journal.tables import Run, RunStatus
from orchestration.run_request import RunRequest, parse_run_request
from orchestration.runtime import Limits
from tests.agents.toolbox.tools import count_effects
from tests.api_support import cli
from tests.support import ROOT, WorkerPool


def _runs(client: Client) -> int:
    with client.runtime.journal.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Run)).scalar_one())


@pytest.mark.parametrize(
    ("data", "field", "fix"),
    [
        ({"agent": "toolbox", "input": {"text": "hi"}}, "input", "one string of text"),
        ({"agent": "toolbox", "input": "hi", "max_usd": "lots"}, "max_usd", "number of dollars"),
        ({"agent": "toolbox", "input": "hi", "max_steps": -5}, "max_steps", "whole number >= 1"),
        ({"agent": "toolbox", "input": "hi", "max_tokens": 0}, "max_tokens", "whole number"),
        ({"agent": "toolbox", "input": "hi", "metadata": [1]}, "metadata", "JSON object"),
        ({"agent": "toolbox", "input": "a\x00b"}, "input", "NUL"),
        ({"agent": "toolbox", "input": "hi", "colour": "red"}, "colour", "allowed fields"),
        ({"input": "hi"}, "agent", "agent's name"),
    ],
)
def test_bad_requests_name_the_field_and_the_fix(
    sqlite_settings: Settings, data: dict[str, object], field: str, fix: str
) -> None:
    with pytest.raises(RunRequestError) as caught:
        parse_run_request(data, sqlite_settings)
    assert caught.value.field == field
    assert str(caught.value).startswith("invalid run request: " + field)
    assert fix in str(caught.value) and "Fix:" in str(caught.value)


def test_sizes_are_refused_before_the_schema(sqlite_settings: Settings) -> None:
    small = load_settings(**{**sqlite_settings.model_dump(), "run_input_max_bytes": 10})
    with pytest.raises(RunRequestTooLarge, match="input: 11 bytes is over the limit of 10"):
        parse_run_request({"agent": 1, "input": "x" * 11}, small)
    with pytest.raises(RunRequestTooLarge, match="CHORDLINE_RUN_METADATA_MAX_BYTES"):
        parse_run_request(
            {"agent": "toolbox", "input": "x", "metadata": {"k": "v" * 5000}}, sqlite_settings
        )
    good = parse_run_request(
        {"agent": "toolbox", "input": "hi", "max_usd": "0.50", "metadata": {"t": 1}}, small
    )
    assert good == RunRequest(
        agent="toolbox", input="hi", max_usd=Decimal("0.50"), metadata={"t": 1}
    )


def test_the_client_and_the_cli_refuse_before_storing(sqlite_settings: Settings) -> None:
    client = Client(sqlite_settings)
    with pytest.raises(RunRequestError, match="max_steps"):
        client.runtime.create_run("toolbox", "hi", limits=Limits(max_steps=-5))
    with pytest.raises(RunRequestTooLarge):
        client.runtime.create_run("toolbox", "x" * 5_000_000)
    env = {
        "CHORDLINE_DATA_DIR": str(sqlite_settings.data_dir),
        "CHORDLINE_AGENTS_DIR": sqlite_settings.agents_dir,
    }
    done = cli(env, "submit", "toolbox", "hi", "--max-usd", "lots")
    assert done.returncode == 2 and "max_usd" in done.stderr and "Traceback" not in done.stderr
    assert _runs(client) == 0


def test_a_bare_celery_app_starts_a_run_and_bad_input_fails_the_task_cleanly(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool
) -> None:
    worker = workers.start(service_env, queues="agents,tools", concurrency=2)
    sender = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "bare_celery_sender.py"),
            service_env["CHORDLINE_BROKER_URL"],
        ],
        cwd=ROOT / "tests",
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert sender.returncode == 0, sender.stderr[-3000:]
    lines = {row["case"]: row for row in map(json.loads, sender.stdout.splitlines())}
    assert lines["imports"]["chordline_modules"] == []

    client = Client(service_settings)
    good = lines["good"]
    assert good["result"] == {"run_id": good["task_id"], "status": "queued"}
    run = client.wait(good["task_id"], timeout_s=60)
    assert (run.status, run.tenant) == (RunStatus.SUCCEEDED, "acme")
    assert count_effects(service_settings.journal_url, run.id, "bare") == 1

    expected = {
        "dict_input": "input",
        "max_usd_lots": "max_usd",
        "negative_steps": "max_steps",
        "huge_input": "input: 5000000 bytes",
        "surrogate_input": "input: contains a lone surrogate",
        "nul_metadata": "metadata: metadata['ticket'] contains a NUL",
        "surrogate_session": "session: is not valid Unicode text",
    }
    for case, field in expected.items():
        error = lines[case]["error"]
        assert error is not None and field in error and "Fix:" in error, (case, error)
    assert _runs(client) == 1  # nothing of the bad ones was stored
    log = worker.output()
    for case in expected:
        task_id = lines[case]["task_id"]
        mentions = [line for line in log.splitlines() if task_id in line and "raised" in line]
        assert len(mentions) == 1, (case, mentions)
    assert "Traceback" not in log
