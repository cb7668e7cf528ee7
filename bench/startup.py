"""Start-up: how soon each Chordline process answers, against ``celery --version``.

A command-line tool is judged by how soon it answers. Every row is the median wall time of
several starts, each Chordline start interleaved with a start of the baseline, ``celery
--version`` (Celery importing itself and printing), so both see the same machine and load.
The commands run on the zero-server defaults (SQLite journal, filesystem broker) in a data
directory of their own holding a few runs, as the quick start leaves them:

- ``chordline --help`` and ``--version``: target no slower than the baseline;
- ``chordline status RUN`` and ``runs``: target within 1.5x of it;
- ``chordline api``: spawn to the first 200 from ``/healthz``, and the CPU seconds the process
  used until then (target: under 1 s of CPU);
- ``chordline worker``: spawn to its ready file (the worker consuming), with its CPU seconds,
  and the import cost of the worker's modules (``import workers.app``).
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench.processes import ROOT, Proc, group_cpu_s, start
from bench.report import Row, Table
from bench.session import Session

__all__ = ["run"]

# Starts per row (each interleaved with a baseline start) at each size.
_REPEATS = {"tiny": 1, "full": 10}
# The quick start's agents: `status` shows a run of the demo's agent.
_AGENTS = ROOT / "agents"
_RUNS = 3
_HELP_RATIO = 1.0
_READ_RATIO = 1.5
_API_CPU_S = 1.0
_START_TIMEOUT_S = 120.0


def _script(name: str, module: str) -> list[str]:
    """The console script ``name`` installed beside this interpreter, as a user runs it."""
    found = Path(sys.executable).parent / name
    return [str(found)] if found.exists() else [sys.executable, "-m", module]


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, children included) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _env(data: Path) -> dict[str, str]:
    """The environment of a user's shell with the quick start's defaults in ``data``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CHORDLINE_", "BENCH_"))}
    return inherited | {
        "CHORDLINE_DATA_DIR": str(data),
        "CHORDLINE_AGENTS_DIR": str(_AGENTS),
        "COLUMNS": "100",
    }


def _seed(data: Path) -> str:
    """A migrated embedded journal in ``data`` holding a few queued runs; the newest's id."""
    from orchestration.client import Client
    from orchestration.config import load_settings

    client = Client(load_settings(data_dir=data, agents_dir=str(_AGENTS)))
    runs = [client.submit("support-triage", f"order ORD-{n} arrived broken") for n in range(_RUNS)]
    client.runtime.journal.engine.dispose()
    return runs[-1].id


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _until_ready(proc: Proc, ready: Callable[[], bool]) -> tuple[float, float]:
    """Wall seconds from now until ``ready()``, and the CPU seconds ``proc`` used until then.

    Raises:
        RuntimeError: the process exited or was not ready in time (with its log's end).
    """
    began = time.perf_counter()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not ready():
        if proc.process.poll() is not None or time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"{proc.name} did not start; its log ends:\n{proc.tail()}")
        time.sleep(0.01)
    wall = time.perf_counter() - began
    cpu = group_cpu_s(proc.pid)
    proc.stop()
    return wall, cpu


def _api(env: dict[str, str], logs: Path) -> tuple[float, float]:
    port = _free_port()
    proc = start("api", ["-m", "orchestration.cli", "api", "--port", str(port)], env, logs)
    return _until_ready(proc, lambda: _answers(f"http://127.0.0.1:{port}/healthz"))


def _worker(env: dict[str, str], logs: Path) -> tuple[float, float]:
    command = ["-m", "orchestration.cli", "worker", "-n", f"startup-{time.monotonic_ns()}@%h"]
    proc = start("worker", command, env, logs, ready_var="CHORDLINE_WORKER_READY_FILE")
    return _until_ready(proc, proc.ready.exists)


class _Figures:
    """Wall and CPU seconds of each measured thing, the baseline's interleaved with them."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def add(self, name: str, wall_cpu: tuple[float, float]) -> None:
        self.wall.setdefault(name, []).append(wall_cpu[0])
        self.cpu.setdefault(name, []).append(wall_cpu[1])

    def median(self, name: str, *, cpu: bool = False) -> float:
        return statistics.median((self.cpu if cpu else self.wall)[name])


def _measure(session: Session) -> tuple[_Figures, int]:
    folder = session.workdir / "startup"
    data, logs = folder / "data", folder / "logs"
    data.mkdir(parents=True, exist_ok=True)
    run_id = _seed(data)
    env = _env(data)
    celery, chordline = _script("celery", "celery"), _script("chordline", "orchestration.cli")
    python = [sys.executable, "-c"]
    commands = {
        "--help": [*chordline, "--help"],
        "--version": [*chordline, "--version"],
        "status": [*chordline, "status", run_id[:8]],
        "runs": [*chordline, "runs"],
        "import workers.app": [*python, "import workers.app"],
    }
    figures = _Figures()
    repeats = _REPEATS.get(session.size.name, 3)
    # One untimed start of each warms the disk cache and writes the bytecode, as a user's
    # second command finds them.
    for command in (*commands.values(), [*celery, "--version"]):
        _timed(command, env, folder)
    for _ in range(repeats):
        for name, command in commands.items():
            figures.add("baseline", _timed([*celery, "--version"], env, folder))
            figures.add(name, _timed(command, env, folder))
        figures.add("baseline", _timed([*celery, "--version"], env, folder))
        figures.add("api", _api(env, logs))
        figures.add("baseline", _timed([*celery, "--version"], env, folder))
        figures.add("worker", _worker(env, logs))
    return figures, repeats


def run(session: Session) -> Table:
    """Start each command ``repeats`` times against ``celery --version``; one row each."""
    figures, repeats = _measure(session)
    base = figures.median("baseline")
    table = Table("Start-up: each command against celery --version", "celery --version")

    def ratio_row(metric: str, name: str, most: float) -> Row:
        wall = figures.median(name)
        return Row(metric, wall, base, f"ratio <= {most:g}", wall / base <= most)

    table.rows += [
        ratio_row("`chordline --help` (s)", "--help", _HELP_RATIO),
        ratio_row("`chordline --version` (s)", "--version", _HELP_RATIO),
        ratio_row("`chordline status RUN` (s)", "status", _READ_RATIO),
        ratio_row("`chordline runs` (s)", "runs", _READ_RATIO),
        Row("`chordline api`: spawn to first /healthz 200 (s)", figures.median("api"), base),
    ]
    api_cpu = figures.median("api", cpu=True)
    table.rows.append(
        Row(
            "`chordline api`: CPU until then (s)",
            api_cpu,
            None,
            f"<= {_API_CPU_S:g} s",
            api_cpu <= _API_CPU_S,
        )
    )
    table.rows += [
        Row("`chordline worker`: spawn to ready (s)", figures.median("worker"), base),
        Row("`chordline worker`: CPU until ready (s)", figures.median("worker", cpu=True), None),
        Row("worker modules: import workers.app (s)", figures.median("import workers.app"), base),
    ]
    cpu_base = figures.median("baseline", cpu=True)
    table.notes += [
        f"median of {repeats} start(s) each, every one interleaved with a `celery --version` "
        f"({len(figures.wall['baseline'])} in all; its median CPU {cpu_base:.2f} s); "
        f"embedded defaults, a journal of {_RUNS} runs",
        "CPU medians (s): "
        + ", ".join(
            f"{name} {figures.median(name, cpu=True):.2f}"
            for name in ("--help", "--version", "status", "runs", "import workers.app")
        ),
        "`chordline worker` pings the broker with a bare producer, then runs `celery worker` in "
        "its own process: the agents and the database driver load before the pool forks, and "
        "once ready the worker opens its runtime and sweeps",
    ]
    return table
