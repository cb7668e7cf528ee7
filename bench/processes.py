"""Processes the benchmarks start: Chordline workers, bare Celery workers, Beat.

Each runs in its own session (process group), so a SIGKILL of the group kills the worker and
every child it forked, as a crash would; memory is read from ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Proc", "group_cpu_s", "group_rss_mb", "start"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Proc:
    """One started process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    ready: Path

    @property
    def pid(self) -> int:
        """The process id (also its process group id)."""
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the whole process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        """Ask for a warm shutdown (SIGTERM) without waiting; see :meth:`stop`."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (warm shutdown) and wait, then SIGKILL whatever of the group lingers."""
        self.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        # Children a crashed parent left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def owns(self, pid: int) -> bool:
        """True when ``pid`` belongs to this process group."""
        try:
            return os.getpgid(pid) == self.process.pid
        except ProcessLookupError:
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the process writes its ready file.

        Raises:
            RuntimeError: it exited or did not get ready in time (with its log's end).
        """
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start; its log ends:\n{self.tail()}")
            time.sleep(0.05)

    def tail(self, chars: int = 3000) -> str:
        """The end of the process's log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start(
    name: str,
    command: list[str],
    env: dict[str, str],
    directory: Path,
    *,
    ready_var: str | None = None,
) -> Proc:
    """Start ``command`` (``python`` arguments); ``ready_var`` names the variable that tells it
    which file to write when it is ready (see :meth:`Proc.wait_ready`)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"{name}.log"
    # Only what the caller gives: a CHORDLINE_* variable of the benchmark's own shell must not
    # point a worker at other services.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CHORDLINE_", "BENCH_"))}
    full_env = inherited | env
    ready = directory / f"{name}.ready"
    ready.unlink(missing_ok=True)
    if ready_var is not None:
        full_env[ready_var] = str(ready)
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, *command],
            env=full_env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Proc(name, process, log, ready)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _group_stats(pgid: int) -> list[tuple[int, list[str]]]:
    """``(pid, stat fields after the command name)`` of every process in a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            found.append((int(entry.name), fields))
    return found


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every process in a process group."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in _group_stats(pgid))
    return ticks / os.sysconf("SC_CLK_TCK")


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in a process group (a worker and its pool), in MB."""
    return sum(_rss_kb(pid) for pid, _ in _group_stats(pgid)) / 1024
