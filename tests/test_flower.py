"""Flower with basic auth shows a running run's tasks by readable names and arguments, never
the input text; ``chordline flower`` refuses to listen unauthenticated beyond loopback."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from orchestration.cli.processes import flower_launch
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.errors import ConfigError
from tests.services import free_port
from tests.support import ROOT, WorkerPool, run_cli

pytestmark = pytest.mark.slow

AUTH = "admin:flower-test-pass"
TEXT = 'Jane (jane.doe@example.com, +44 20 7946 0958) asks.\nCALL sleep_read {"seconds": 6}\n'


def _get(port: int, path: str, auth: str | None = AUTH) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


@pytest.fixture
def flower(service_env: dict[str, str], tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHORDLINE_", "FLOWER_"))}
    env |= service_env | {"CHORDLINE_FLOWER_BASIC_AUTH": AUTH, "CHORDLINE_FLOWER_PORT": str(port)}
    log = (tmp_path / "flower.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "flower"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _until(lambda: _answers(port), "flower to answer", process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def _answers(port: int) -> bool:
    try:
        return _get(port, "/api/workers")[0] == 200
    except OSError:
        return False


def _until(ready: Callable[[], object], what: str, process: Any = None, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = ready()
        if found:
            return found
        assert process is None or process.poll() is None, f"{what}: the process exited"
        assert time.monotonic() < deadline, f"no {what} in {timeout:g}s"
        time.sleep(0.2)


def test_flower_lists_a_running_runs_tasks_by_name_with_auth(
    service_env: dict[str, str], service_settings: Settings, workers: WorkerPool, flower: int
) -> None:
    workers.start(service_env, concurrency=2)
    client = Client(service_settings)
    assert _get(flower, "/api/tasks", auth=None)[0] == 401
    assert _get(flower, "/api/tasks", auth="admin:wrong")[0] == 401

    # Started by a plain send_task with the customer's text, as another application would.
    started = client.app.send_task("chordline.agent.run", args=("toolbox", TEXT))
    run_id = started.id

    def running_tool() -> dict[str, Any] | None:
        status, tasks = _get(flower, "/api/tasks")
        assert status == 200
        for task in (tasks or {}).values():
            if task.get("name") == "chordline.tool.call" and task.get("state") == "STARTED":
                return dict(tasks)
        return None

    tasks = _until(running_tool, "running tool task in Flower")
    # The way docs/observability.md gives to find a run's tasks: search by its id.
    status, found = _get(flower, f"/api/tasks?search={run_id}")
    assert status == 200
    mine = list(found.values())
    assert all(run_id in str(t.get("args")) for t in mine), [(t["name"], t["args"]) for t in mine]
    by_name = {t["name"]: t for t in mine}
    assert set(by_name) >= {"chordline.agent.run", "chordline.agent.turn", "chordline.tool.call"}
    assert by_name["chordline.tool.call"]["args"] == (
        f"run={run_id} step=2 kind=tool agent=toolbox tool=sleep_read"
    )
    assert by_name["chordline.agent.turn"]["args"].startswith(f"run={run_id} step=1 kind=llm")
    assert by_name["chordline.agent.run"]["args"] == (
        f"agent=toolbox run={run_id} input=<{len(TEXT)} chars>"
    )
    listing = json.dumps(tasks)
    for private in ("jane.doe@example.com", "7946", "Jane"):
        assert private not in listing, private


def test_flower_refuses_to_listen_unauthenticated_beyond_loopback(tmp_path: Path) -> None:
    open_settings = load_settings(data_dir=tmp_path, flower_address="0.0.0.0")
    with pytest.raises(ConfigError, match="without authentication"):
        flower_launch(open_settings, {}, ())
    # Loopback needs no password; a password from the settings goes through the environment.
    argv, env = flower_launch(load_settings(data_dir=tmp_path), {}, ())
    assert argv == ["--address=127.0.0.1", "--port=5555"] and "FLOWER_BASIC_AUTH" not in env
    secured = load_settings(
        data_dir=tmp_path, flower_address="0.0.0.0", flower_basic_auth=SecretStr(AUTH)
    )
    argv, env = flower_launch(secured, {}, ())
    assert env["FLOWER_BASIC_AUTH"] == AUTH and AUTH not in " ".join(argv)
    # Flower's own variables and options still work, and win.
    argv, env = flower_launch(open_settings, {"FLOWER_BASIC_AUTH": "u:p", "FLOWER_PORT": "1"}, ())
    assert env["FLOWER_BASIC_AUTH"] == "u:p" and argv == ["--address=0.0.0.0"]
    argv, _ = flower_launch(open_settings, {}, ("--address=127.0.0.1", "--port=6000"))
    assert argv == ["--address=127.0.0.1", "--port=6000"]


def test_chordline_flower_exits_with_a_clear_error(tmp_path: Path) -> None:
    env = {"CHORDLINE_DATA_DIR": str(tmp_path), "CHORDLINE_FLOWER_ADDRESS": "0.0.0.0"}
    done = run_cli("flower", env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "CHORDLINE_FLOWER_BASIC_AUTH" in done.stderr


def test_compose_flower_is_authenticated(tmp_path: Path) -> None:
    import yaml

    flower_env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["flower"][
        "environment"
    ]
    assert flower_env["CHORDLINE_FLOWER_ADDRESS"] == "0.0.0.0"
    assert flower_env["CHORDLINE_FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"
    # Without FLOWER_BASIC_AUTH in the shell it stays empty, and Flower refuses to start.
    unset = load_settings(data_dir=tmp_path, flower_address="0.0.0.0", flower_basic_auth="")
    with pytest.raises(ConfigError, match="without authentication"):
        flower_launch(unset, {}, ())
