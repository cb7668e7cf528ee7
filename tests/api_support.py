"""Test helpers for the HTTP API: `chordline api` as a real uvicorn process, keys made by the
CLI, and a reader of server-sent events."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.services import free_port
from tests.support import ROOT


@dataclass
class ApiProcess:
    """One `chordline api` process on a free port of 127.0.0.1."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    start_s: float

    def stop(self) -> None:
        """SIGTERM (uvicorn's graceful stop), then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def output(self) -> str:
        """What the process logged."""
        return self.log.read_text(errors="replace")


def start_api(env: dict[str, str], directory: Path, timeout_s: float = 30) -> ApiProcess:
    """Start `chordline api` and wait until /healthz answers; ``start_s`` is how long it took
    from the spawn to the first answer."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = directory / f"api-{port}.log"
    began = time.monotonic()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "api", "--port", str(port)],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    server = ApiProcess(process, url, log, 0.0)
    deadline = began + timeout_s
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"chordline api did not start:\n{server.output()[-3000:]}")
        time.sleep(0.02)
    server.start_s = time.monotonic() - began
    return server


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `chordline ARGS` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def new_key(env: dict[str, str], tenant: str, name: str) -> str:
    """`chordline keys create`; the key is alone on the last line of its output."""
    done = cli(env, "keys", "create", "--tenant", tenant, "--name", name)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class Event:
    """One server-sent event."""

    id: str
    event: str
    data: dict[str, object]


def events(
    url: str, key: str, last_event_id: str | None = None, timeout_s: float = 60
) -> Iterator[Event]:
    """Follow a run's event stream (as `curl -N` would), yielding each event as it comes."""
    headers = {"Authorization": f"Bearer {key}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    with httpx.stream("GET", url, headers=headers, timeout=timeout_s) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if line.startswith(":"):
                continue
            if not line:
                if fields:
                    yield Event(fields["id"], fields["event"], json.loads(fields["data"]))
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
