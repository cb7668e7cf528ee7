"""Embedded mode: per-step latency on the zero-server default (filesystem broker, SQLite).

Chordline runs the counter agent on a ``chordline worker`` with the embedded defaults (threads,
4) in a temporary data directory; the baseline is a bare Celery chain on the same filesystem
transport, polled as often, with the same SQLite result backend.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from celery import chain
from celery.exceptions import TimeoutError as CeleryTimeoutError

from bench import bare
from bench.report import Row, Table, percentile
from bench.session import AGENT_DIRS, Session, start_intervals_ms
from orchestration.client import Client
from orchestration.config import load_settings
from workers import embedded_transport

__all__ = ["run"]

# The transport Chordline's embedded mode uses (kombu's filesystem transport, publishing
# atomically); kombu's own loses messages under load (see workers/embedded_transport.py).
BROKER = f"{embedded_transport.SCHEME}://"

TARGET_MS = 50.0
_STALL_MS = 1000.0


def _bare_config(session: Session) -> tuple[str, dict[str, Any]]:
    folder = session.workdir / "embedded-bare"
    broker = folder / "broker"
    broker.mkdir(parents=True, exist_ok=True)
    transport = {
        "data_folder_in": str(broker),
        "data_folder_out": str(broker),
        "control_folder": str(folder / "control"),
        "polling_interval": session.settings.embedded_poll_interval,
    }
    return f"chordline-sqlite://{folder / 'results.sqlite3'}", transport


def _bare_ms(session: Session, steps: int) -> tuple[list[float], int]:
    """Intervals between the starts of a bare chain's tasks; 1 when its message was lost."""
    backend, transport = _bare_config(session)
    app = bare.create_app(BROKER, backend, transport)
    signature = chain(*(app.signature(bare.NOOP, immutable=True) for _ in range(steps)))
    try:
        stamps = session.bare_results(signature.apply_async(), timeout=30)
    except CeleryTimeoutError:
        return [], 1
    return [(b - a) * 1000 for a, b in itertools.pairwise(stamps)], 0


def _chordline_ms(data: Path, steps: int) -> list[float]:
    client = Client(load_settings(data_dir=data, agents_dir=AGENT_DIRS))
    run = client.submit("counter", f"tick {(steps - 1) // 2} times")
    # Sweep while waiting, as `chordline demo` does (no Beat runs here): a message the
    # transport lost is re-driven from the journal once its step sat queued past
    # CHORDLINE_STALE_AFTER_SECONDS, and shows as a stall.
    client.wait(run.id, timeout_s=120 + steps, sweep_every_s=1.0)
    return start_intervals_ms(client.runtime.journal.steps(run.id))


def run(session: Session) -> Table:
    """Measure and return the table."""
    steps = session.size.embedded_steps
    data = session.workdir / "embedded"
    env = {
        "CHORDLINE_DATA_DIR": str(data),
        "CHORDLINE_AGENTS_DIR": AGENT_DIRS,
        "CHORDLINE_LOG_LEVEL": "WARNING",
    }
    backend, transport = _bare_config(session)
    workers = [
        session.chordline_worker("embedded", concurrency=4, pool="threads", env=env),
        session.bare_worker(
            "embedded-bare",
            concurrency=4,
            pool="threads",
            env=bare.env_for(BROKER, backend, transport),
        ),
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        chordline = _chordline_ms(data, steps)
        baseline, lost = _bare_ms(session, steps)
    finally:
        session.stop(*workers)
    p50 = percentile(chordline, 50)
    return Table(
        title="6. Embedded mode: filesystem broker + SQLite (ms per step)",
        baseline="bare Celery chain, same transport",
        rows=[
            Row("p50 ms/step", p50, percentile(baseline, 50), f"< {TARGET_MS:g} ms", p50 < 50),
            Row("p95 ms/step", percentile(chordline, 95), percentile(baseline, 95)),
            Row("max ms/step", max(chordline), max(baseline, default=float("nan"))),
            Row(
                f"stalls over {_STALL_MS / 1000:g} s (Chordline) / chain lost (bare)",
                sum(ms > _STALL_MS for ms in chordline),
                lost,
            ),
        ],
        notes=[
            f"one counter run of {steps} steps; worker threads 4; polling every "
            f"{session.settings.embedded_poll_interval * 1000:g} ms; bare: a chain of "
            f"{steps} no-op tasks on the same transport (filesystem, publishing atomically) and "
            "SQLite result backend.",
        ],
    )
