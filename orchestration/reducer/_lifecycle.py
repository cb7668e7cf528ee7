"""A worker's life as middleware: its own sweeper, and the checks it makes when it starts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from orchestration.runtime import Middleware, Runtime

__all__ = ["StartupChecks", "SweeperMiddleware"]

log = logging.getLogger("chordline.worker")

Redrive = Callable[[], list[str]]
"""Sweeps once and enqueues what the stuck runs need; returns their ids (see canvas)."""


class SweeperMiddleware(Middleware):
    """Re-drives stuck runs when the worker starts and every sweep interval after, so no Beat
    is needed for recovery (Beat's sweep, where it runs, only adds to it).

    Args:
        redrive: one sweep and its enqueue.
        interval_s: seconds between sweeps.
        periodic: False to sweep only at start.
    """

    def __init__(self, redrive: Redrive, interval_s: float, *, periodic: bool = True) -> None:
        self.redrive = redrive
        self.interval_s = interval_s
        self.periodic = periodic
        self.stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def worker_start(self, rt: Runtime) -> None:
        """Sweep once now, then start the periodic sweeps."""
        try:
            redriven = self.redrive()
        except Exception as exc:  # the periodic sweep catches up
            log.warning("start-up sweep failed (%s: %s)", type(exc).__name__, exc)
            redriven = []
        if redriven:
            log.info("re-drove %d stuck run(s) at start-up", len(redriven))
        if self.periodic and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="chordline-sweeper", daemon=True)
            self._thread.start()

    def worker_stop(self, rt: Runtime) -> None:
        """Stop sweeping."""
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                redriven = self.redrive()
            except Exception as exc:  # broker or journal away: the next sweep tries again
                log.warning("sweep failed (%s: %s); retrying", type(exc).__name__, exc)
                continue
            if redriven:
                log.info("re-drove %d stuck run(s): %s", len(redriven), ", ".join(redriven))


class StartupChecks(Middleware):
    """Says what a starting worker cannot serve: agent folders that failed to load (it runs the
    others), and a tool that may outlive the broker's visibility timeout (Redis then delivers
    its message again while it runs; the step's lease keeps it from running twice)."""

    def worker_start(self, rt: Runtime) -> None:
        """Name broken agents; compare the longest tool timeout with the visibility timeout."""
        for broken in rt.registry.broken:
            log.warning("agent %s is broken and cannot run: %s", broken.label, broken.reason)
        settings = rt.settings.broker
        if settings.embedded:
            return
        tools = [t for name in rt.registry.names() for t in rt.registry.get(name).tools]
        longest = max(tools, key=lambda t: t.timeout_s, default=None)
        if longest is not None and longest.timeout_s >= settings.visibility_timeout:
            log.warning(
                "tool %s may run %gs, longer than CHORDLINE_VISIBILITY_TIMEOUT=%ds: Redis will "
                "deliver its message again while it runs (the step's lease keeps it from "
                "running twice). Fix: raise CHORDLINE_VISIBILITY_TIMEOUT above the longest step.",
                longest.name,
                longest.timeout_s,
                settings.visibility_timeout,
            )
