"""Driving one eval trial as a real run: on the workers through the client, or in process.

Both drivers create a journaled run exactly as ``chordline submit`` does, act as the case's
reviewer when the run waits for an approval, and return the run once it has ended.

* :class:`WorkerDriver` submits through :class:`~orchestration.client.Client`: the run's steps
  are Celery tasks on the ``agents`` and ``tools`` workers (a broker is configured).
* :class:`InProcessDriver` runs each step in this process through the same loop functions the
  tasks call, in the order the dispatches say, with no broker: the embedded quick start, and
  the admin worker's nightly eval, which must not take capacity from the agents' workers.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Protocol

from orchestration.errors import EvalError
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus, StepKind
from orchestration.reducer import loop
from orchestration.runtime import Runtime

if TYPE_CHECKING:
    from orchestration.client import Client

__all__ = ["Driver", "InProcessDriver", "WorkerDriver"]

_REVIEWER = "chordline-eval"


class Driver(Protocol):
    """Runs one input of one agent to its end, deciding approvals as told."""

    def run(self, agent: str, text: str, *, tenant: str, approve: bool) -> RunRecord:
        """Run ``text`` on ``agent`` for ``tenant``; approve (or reject) every waiting call."""
        ...


class WorkerDriver:
    """Submits runs to the workers and polls the journal until they end.

    Args:
        client: the client (its broker must answer).
        timeout_s: how long one run may take.
    """

    def __init__(self, client: Client, timeout_s: float) -> None:
        self.client = client
        self.timeout_s = timeout_s

    def run(self, agent: str, text: str, *, tenant: str, approve: bool) -> RunRecord:
        """See :class:`Driver`."""
        run = self.client.submit(agent, text, tenant=tenant)
        deadline = time.monotonic() + self.timeout_s
        while True:
            left = max(0.1, deadline - time.monotonic())
            settled = self.client.wait(run.id, left, poll_s=0.05)
            if settled.status != RunStatus.WAITING_FOR_APPROVAL:
                return settled
            for step in self.client.runtime.journal.waiting_approvals(run.id):
                self.client.decide(run.id, approved=approve, reviewer=_REVIEWER, seq=step.seq)


_RUNNERS = {
    StepKind.LLM: loop.run_turn,
    StepKind.TOOL: loop.run_tool,
    StepKind.APPROVAL: loop.run_approval,
}


class InProcessDriver:
    """Runs each step in this process, following the dispatches in order (no broker).

    Args:
        rt: the runtime.
        timeout_s: how long one run may take.
    """

    def __init__(self, rt: Runtime, timeout_s: float) -> None:
        self.rt = rt
        self.timeout_s = timeout_s

    def run(self, agent: str, text: str, *, tenant: str, approve: bool) -> RunRecord:
        """See :class:`Driver`."""
        rt = self.rt
        run = rt.create_run(agent, text, tenant=tenant)
        owner = f"eval:{run.id}"
        deadline = time.monotonic() + self.timeout_s
        queue: deque[tuple[StepKind, int]] = deque([(StepKind.LLM, 1)])
        while True:
            self._drain(run.id, queue, owner, deadline)
            current = rt.journal.get_run(run.id)
            if current.status != RunStatus.WAITING_FOR_APPROVAL:
                return current
            for step in rt.journal.waiting_approvals(run.id):
                plan = loop.decide(rt, run.id, step.seq, approved=approve, reviewer=_REVIEWER)
                if plan is not None:
                    _enqueue(queue, plan)

    def _drain(
        self, run_id: str, queue: deque[tuple[StepKind, int]], owner: str, deadline: float
    ) -> None:
        while queue:
            if time.monotonic() > deadline:
                raise EvalError(
                    f"run {run_id} did not end within {self.timeout_s:g}s. Fix: raise "
                    f"CHORDLINE_EVAL_RUN_TIMEOUT_SECONDS, or see `chordline status {run_id}`."
                )
            kind, seq = queue.popleft()
            progress = _RUNNERS[kind](self.rt, run_id, seq, owner)
            if progress.status in ("not_ready", "busy"):
                # A step of the same turn is still running (or its lease has not lapsed):
                # come back to this one after the others.
                queue.append((kind, seq))
                time.sleep(min(progress.retry_in_s, 0.05))
                continue
            if progress.dispatch is not None:
                _enqueue(queue, progress.dispatch)


def _enqueue(queue: deque[tuple[StepKind, int]], plan: loop.Dispatch) -> None:
    queue.extend((StepKind.TOOL, seq) for seq in plan.parallel)
    queue.extend(plan.serial)
    if plan.next_turn is not None:
        queue.append((StepKind.LLM, plan.next_turn))
