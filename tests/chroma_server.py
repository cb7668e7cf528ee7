"""A real Chroma server (``chroma run``) on a free port in a temporary directory."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.services import free_port

__all__ = ["chroma_url", "running_chroma"]


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
            return True
    except OSError:
        return False


def running_chroma(directory: Path) -> Iterator[str]:
    """Start ``chroma run``, yield its ``chroma://`` URL, stop it afterwards."""
    binary = Path(sys.executable).parent / "chroma"
    if not binary.exists():
        unavailable("chroma is not installed (pip install -e '.[dev]' brings chromadb)")
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "chroma.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary),
                "run",
                "--path",
                str(directory / "db"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((directory / "chroma.log").read_text()[-2000:])
            time.sleep(0.1)
        yield f"chroma://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server for the tests of one module."""
    yield from running_chroma(tmp_path_factory.mktemp("chroma"))
