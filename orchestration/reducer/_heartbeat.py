"""Lease heartbeats as step middleware: a long call is never taken for dead, a short one pays
nothing.

One keeper thread per process renews the leases of the calls in flight that have run longer
than a third of the lease. A call registers itself (a dict insert) and unregisters when it
returns; a step that ends before its first renewal falls due never touches the journal or a
thread of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from orchestration.journal import Journal, StepOutcome
from orchestration.journal.records import StepRecord
from orchestration.llm.fallbacks import ChainOutcome
from orchestration.runtime import (
    Middleware,
    ModelCall,
    ModelNext,
    ToolInvocation,
    ToolNext,
)

__all__ = ["HeartbeatMiddleware", "LeaseKeeper"]

log = logging.getLogger("chordline.lease")


@dataclass
class _Held:
    run_id: str
    seq: int
    owner: str
    renewed_at: float
    lost: threading.Event = field(default_factory=threading.Event)


class LeaseKeeper:
    """Renews the leases of long calls in flight, from one thread for the whole process.

    Args:
        journal: where leases live.
        lease_s: the lease's length; a held lease is renewed once it is a third old.
    """

    def __init__(self, journal: Journal, lease_s: float) -> None:
        self.journal = journal
        self.lease_s = lease_s
        self._held: dict[int, _Held] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_token = 0

    def hold(self, step: StepRecord, owner: str) -> int:
        """Start keeping ``step``'s lease alive; returns the token to :meth:`drop` it with."""
        with self._lock:
            self._next_token += 1
            token = self._next_token
            self._held[token] = _Held(step.run_id, step.seq, owner, time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="chordline-lease-keeper", daemon=True
                )
                self._thread.start()
        return token

    def lost(self, token: int) -> bool:
        """True once the journal said another worker holds the lease."""
        held = self._held.get(token)
        return held is not None and held.lost.is_set()

    def drop(self, token: int) -> None:
        """Stop keeping the lease (the call returned)."""
        with self._lock:
            self._held.pop(token, None)

    def _run(self) -> None:
        every = self.lease_s / 3
        while True:
            time.sleep(every / 2)
            now = time.monotonic()
            with self._lock:
                due = [h for h in self._held.values() if now - h.renewed_at >= every]
            for held in due:
                self._renew(held, now)

    def _renew(self, held: _Held, now: float) -> None:
        # A journal that does not answer (a database restart) is retried at the next beat; the
        # lease counts as lost only when the journal says another worker holds it.
        try:
            kept = self.journal.renew(held.run_id, held.seq, held.owner, self.lease_s)
        except Exception:  # the database is away; the next beat tries again
            log.warning("lease renewal of %s step %s failed", held.run_id, held.seq)
            return
        held.renewed_at = now
        if not kept:
            held.lost.set()


class HeartbeatMiddleware(Middleware):
    """Keeps a step's lease alive while its model or tool call runs."""

    def __init__(self, keeper: LeaseKeeper) -> None:
        self.keeper = keeper

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Hold the turn's lease while the chain is asked."""
        token = self.keeper.hold(call.at.step, call.at.owner)
        try:
            return call_next(call)
        finally:
            self.keeper.drop(token)

    def tool_call(self, call: ToolInvocation, call_next: ToolNext) -> StepOutcome:
        """Hold the tool step's lease while the tool runs."""
        token = self.keeper.hold(call.at.step, call.at.owner)
        try:
            return call_next(call)
        finally:
            self.keeper.drop(token)
