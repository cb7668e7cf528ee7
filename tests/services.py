"""Private Redis and PostgreSQL servers that a test may flush, stop and restart.

The machine's shared servers run other sessions' tests, so a test that takes a server down
starts one of its own on a free port in a temporary directory and stops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import redis

__all__ = ["PrivatePostgres", "PrivateRedis", "free_port", "private_directory", "serve_http"]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until(ready: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {timeout_s:g}s")
        time.sleep(0.05)


@dataclass
class PrivateRedis:
    """A ``redis-server`` with no persistence: a restart starts it empty."""

    directory: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> PrivateRedis:
        """Start the server (on the same port after a restart) and wait until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _until(self._answers, f"redis on port {self.port}")
        return self

    def stop(self) -> None:
        """Kill the server (no save)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def flush_and_restart(self) -> None:
        """Lose every message and result, then come back empty on the same port."""
        redis.Redis(port=self.port).flushall()
        self.stop()
        self.start()


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of its own (``initdb`` + ``pg_ctl``), run as ``postgres`` if root."""

    directory: Path
    port: int = 0

    @staticmethod
    def available() -> bool:
        """True when the PostgreSQL server binaries are installed."""
        return _bin("initdb") is not None

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the ``chordline`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/chordline"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> PrivatePostgres:
        """Create the cluster on first use, start it and wait until it answers."""
        data = self.directory / "data"
        if not data.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.directory, "postgres", "postgres")
            initdb = _bin("initdb")
            assert initdb is not None
            self._run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
            self.port = self.port or free_port()
            self._pg_ctl("start")
            with psycopg.connect(self._admin(), autocommit=True) as admin:
                admin.execute("CREATE DATABASE chordline")
            return self
        self._pg_ctl("start")
        return self

    def _admin(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, action: str) -> None:
        pg_ctl = _bin("pg_ctl")
        assert pg_ctl is not None
        data, log = self.directory / "data", self.directory / "postgres.log"
        if action == "start":
            options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            self._run(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
            _until(self._answers, f"postgres on port {self.port}")
        else:
            self._run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")

    def _answers(self) -> bool:
        try:
            with psycopg.connect(self._admin(), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self) -> None:
        """Stop the server (fast: open connections are cut)."""
        if (self.directory / "data" / "postmaster.pid").exists():
            self._pg_ctl("stop")


def _bin(name: str) -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name)


def private_directory(prefix: str) -> Path:
    """A world-traversable temporary directory (the ``postgres`` user must reach into it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def serve_http(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """An HTTP server on a free loopback port, serving ``handler`` from a daemon thread; the
    caller stops it with ``shutdown()`` and ``server_close()``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
