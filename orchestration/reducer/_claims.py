"""Running one step: claim its lease, pass it through the middleware, or end its run."""

from __future__ import annotations

from collections.abc import Callable

from orchestration.errors import AgentError
from orchestration.journal import StepOutcome
from orchestration.journal.payloads import StopPayload
from orchestration.journal.records import Busy, Done, StepRecord
from orchestration.journal.tables import RunStatus, StepStatus
from orchestration.reducer._turns import Stop
from orchestration.reducer.planning import Progress
from orchestration.runtime import Runtime, StepInput

__all__ = ["end_run", "run_claimed"]


def _claim(rt: Runtime, run_id: str, seq: int, owner: str, window: int) -> StepInput | Progress:
    outcome = rt.journal.claim(run_id, seq, owner, rt.settings.journal.lease_seconds, window)
    if isinstance(outcome, Done):
        return Progress(run_id, seq, "already_done", result=outcome.step.result)
    if isinstance(outcome, Busy):
        return Progress(run_id, seq, "busy", retry_in_s=outcome.retry_in_s)
    if outcome.run.status.terminal:
        rt.journal.complete_step(run_id, seq, owner, StepOutcome(StepStatus.SKIPPED, None))
        return Progress(run_id, seq, "skipped")
    return StepInput(rt, outcome.step, outcome.run, owner, outcome.window)


def run_claimed(
    rt: Runtime,
    run_id: str,
    seq: int,
    owner: str,
    body: Callable[[StepInput], Progress],
    *,
    window: int = 0,
) -> Progress:
    """Claim the step (reading ``window`` earlier steps with it), then run ``body`` inside
    every middleware's ``step`` hook. A step already done, leased elsewhere or of an ended run
    is answered without running ``body``."""
    claimed = _claim(rt, run_id, seq, owner, window)
    if isinstance(claimed, Progress):
        return claimed
    try:
        rt.registry.get(claimed.run.agent)
    except AgentError as exc:  # its folder is broken or gone here: say so on the run
        return end_run(rt, claimed.step, owner, Stop(RunStatus.FAILED, str(exc)))
    return rt.middleware.step(claimed, body)


def end_run(rt: Runtime, step: StepRecord, owner: str, stop: Stop) -> Progress:
    """Record why the step did not run and end its run with the stop's status."""
    rt.journal.complete_step(
        step.run_id,
        step.seq,
        owner,
        StepOutcome(StepStatus.SKIPPED, StopPayload(stop.status), stop.reason),
    )
    rt.journal.finish_run(step.run_id, stop.status, error=stop.reason)
    return Progress(step.run_id, step.seq, "skipped")
