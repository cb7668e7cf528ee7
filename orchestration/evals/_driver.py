"""Driving one eval trial as a real run: on the workers through the client, or in process.

Both drivers create a journaled run exactly as ``chordline submit`` does, act as the case's
reviewer when the run waits for an approval, and return the run once it has ended.

* :class:`WorkerDriver` submits through :class:`~orchestration.client.Client`: the run's steps
  are Celery tasks on the ``agents`` and ``tools`` workers (a broker is configured).
* :class:`InProcessDriver` runs each step in this process through the same loop functions the
  tasks call, in the order the dispatches say (a turn's read-only calls side by side), with no
  broker: the embedded quick start, and
  the admin worker's nightly eval, which must not take capacity from the agents' workers.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from orchestration.client import Client, WaitTimeout
from orchestration.journal.records import RunRecord
from orchestration.journal.tables import RunStatus, StepKind
from orchestration.reducer import loop
from orchestration.runtime import Runtime

__all__ = ["Driver", "InProcessDriver", "WorkerDriver"]

_REVIEWER = "chordline-eval"
_NOT_NOW = ("not_ready", "busy")
# Steps run together: a turn's read-only calls (a chord on workers), else one step.
_Batch = tuple[tuple[StepKind, int], ...]


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
            try:
                settled = self.client.wait(run.id, left, poll_s=0.05)
            except WaitTimeout:
                return _give_up(self.client.runtime, run.id, self.timeout_s)
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
        queue: deque[_Batch] = deque([((StepKind.LLM, 1),)])
        while True:
            if not self._drain(run.id, queue, owner, deadline):
                return _give_up(rt, run.id, self.timeout_s)
            current = rt.journal.get_run(run.id)
            if current.status != RunStatus.WAITING_FOR_APPROVAL:
                return current
            for step in rt.journal.waiting_approvals(run.id):
                plan = loop.decide(rt, run.id, step.seq, approved=approve, reviewer=_REVIEWER)
                if plan is not None:
                    _enqueue(queue, plan)

    def _drain(self, run_id: str, queue: deque[_Batch], owner: str, deadline: float) -> bool:
        """Run the queued batches in order; False when the deadline passed first."""
        while queue:
            if time.monotonic() > deadline:
                return False
            batch = queue.popleft()
            if len(batch) == 1:
                done = [_RUNNERS[batch[0][0]](self.rt, run_id, batch[0][1], owner)]
            else:
                # A turn's read-only calls run side by side, as their chord does on workers.
                with ThreadPoolExecutor(len(batch), thread_name_prefix="eval-tool") as pool:
                    done = list(
                        pool.map(
                            lambda item: _RUNNERS[item[0]](self.rt, run_id, item[1], owner), batch
                        )
                    )
            again = tuple(i for i, p in zip(batch, done, strict=True) if p.status in _NOT_NOW)
            for progress in done:
                if progress.dispatch is not None:
                    _enqueue(queue, progress.dispatch)
            if again:
                # A step of the same turn is still running (or its lease has not lapsed):
                # come back to these after the others.
                queue.append(again)
                time.sleep(min(max(p.retry_in_s for p in done), 0.05))
        return True


def _give_up(rt: Runtime, run_id: str, timeout_s: float) -> RunRecord:
    """Cancel a trial's run that outlived its timeout; the trial fails on its status check."""
    reason = (
        f"cancelled: the eval trial did not end within {timeout_s:g}s "
        "(CHORDLINE_EVAL_RUN_TIMEOUT_SECONDS)"
    )
    rt.journal.finish_run(run_id, RunStatus.CANCELLED, error=reason)
    return rt.journal.get_run(run_id)


def _enqueue(queue: deque[_Batch], plan: loop.Dispatch) -> None:
    if plan.parallel:
        queue.append(tuple((StepKind.TOOL, seq) for seq in plan.parallel))
    queue.extend((item,) for item in plan.serial)
    if plan.next_turn is not None:
        queue.append(((StepKind.LLM, plan.next_turn),))
