"""The threads tool calls run in, reused from call to call.

A tool runs in a thread so that its timeout can be enforced: the step returns when the timeout
passes, whatever the tool does. Starting a thread per call cost more than a short tool itself,
so threads are kept and reused. A Python thread cannot be stopped: one whose call timed out
keeps running it, leaves the pool, and is abandoned (daemon). A forked child (a prefork pool
process) starts with no idle threads: the parent's do not exist in it. Each call runs in an
empty ``contextvars`` context, as in a new thread: what one call sets, the next does not see.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CallResult", "ToolThreads"]


@dataclass(frozen=True)
class CallResult:
    """What a call did: finished in time (with its value or its exception), or timed out."""

    finished: bool
    value: Any = None
    error: BaseException | None = None


class _Job:
    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class _ToolThread(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="chordline-tool", daemon=True)
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.start()

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                job.value = contextvars.Context().run(job.fn)
            except BaseException as exc:  # handed back to the caller as the call's outcome
                job.error = exc
            job.done.set()


class ToolThreads:
    """A pool of idle threads; each call borrows one (or starts one) and gives it back."""

    def __init__(self) -> None:
        self._idle: list[_ToolThread] = []
        self._lock = threading.Lock()
        _POOLS.add(self)

    def _after_fork(self) -> None:
        self._idle = []
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], Any], timeout_s: float) -> CallResult:
        """Run ``fn`` in a pool thread, waiting at most ``timeout_s``."""
        with self._lock:
            thread = self._idle.pop() if self._idle else None
        if thread is None:
            thread = _ToolThread()
        job = _Job(fn)
        thread.jobs.put(job)
        if not job.done.wait(timeout_s):
            return CallResult(finished=False)  # the thread stays with its call
        with self._lock:
            self._idle.append(thread)
        return CallResult(finished=True, value=job.value, error=job.error)


_POOLS: weakref.WeakSet[ToolThreads] = weakref.WeakSet()


def _forget_parents_threads() -> None:
    for pool in list(_POOLS):
        pool._after_fork()


# One hook for every pool of the process (a hook per pool would pile up with each runtime).
os.register_at_fork(after_in_child=_forget_parents_threads)
