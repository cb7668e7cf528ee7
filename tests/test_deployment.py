"""The deployment files stay valid and complete."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from tests.conftest import unavailable
from tests.support import ROOT


def test_docker_compose_validates() -> None:
    if shutil.which("docker-compose") is None:
        # The README's test command does not install it; .ci/run does, and requires it.
        unavailable(
            "docker-compose is not installed, so docker-compose.yml was not validated "
            "(apt-get install docker-compose; .ci/run installs it)"
        )
    done = subprocess.run(
        ["docker-compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_compose_runs_a_worker_per_queue_beat_flower_and_a_migration() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = {name: service.get("command") for name, service in services.items()}
    for queue in ("agents", "tools", "admin"):
        command = commands[f"worker-{queue}"]
        assert command[:4] == ["chordline", "worker", "-Q", queue]
    assert commands["beat"] == ["chordline", "beat"]
    assert commands["flower"][:2] == ["chordline", "flower"]
    assert commands["migrate"] == ["chordline", "db", "upgrade"]
    assert {"redis", "postgres"} <= set(services)
