"""Approval timeouts: a call left waiting past its tool's ``approval_timeout_s`` follows the
tool's ``approval_timeout`` policy, ``reject`` (the model reads why) or ``fail`` (the run fails).

The sweeper runs this on every sweep (every worker and Beat), so a timeout fires within one
sweep interval of its deadline whether or not anyone watches the run.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from orchestration.errors import ApprovalError, ChordlineError
from orchestration.journal.approvals import ApprovalDecision, ApprovalView, waiting_since
from orchestration.journal.tables import RunStatus, utcnow
from orchestration.reducer.loop import Dispatch, decide_approval
from orchestration.runtime import Runtime

__all__ = ["TIMEOUT_REVIEWER", "expire_approvals"]

TIMEOUT_REVIEWER = "timeout"

log = logging.getLogger("chordline.approvals")


def _timeouts(rt: Runtime) -> dict[tuple[str, str], tuple[float, str]]:
    """(agent, tool) -> (seconds, policy) for every tool that has an approval timeout."""
    found: dict[tuple[str, str], tuple[float, str]] = {}
    for name in rt.registry.names():
        for tool in rt.registry.get(name).tools:
            if tool.requires_approval and tool.approval_timeout_s is not None:
                found[(name, tool.name)] = (tool.approval_timeout_s, tool.approval_timeout)
    return found


def expire_approvals(rt: Runtime) -> list[Dispatch]:
    """Apply the timeout policy to every approval waiting past its deadline.

    Returns:
        What to enqueue for runs a timed-out rejection moved on.
    """
    timeouts = _timeouts(rt)
    if not timeouts:
        return []  # no tool has a timeout: skip the query on every sweep
    plans: list[Dispatch] = []
    now = utcnow()
    for approval in waiting_since(rt.journal):
        run = rt.journal.get_run(approval.run_id)
        rule = timeouts.get((run.agent, approval.tool))
        if rule is None or approval.requested_at + timedelta(seconds=rule[0]) > now:
            continue
        try:
            plan = _expire(rt, approval, seconds=rule[0], policy=rule[1])
        except ApprovalError:
            continue  # decided (or ended) between the read and now: the decision stands
        except ChordlineError as exc:
            log.warning("approval %s timed out but could not be closed: %s", approval.id, exc)
            continue
        if plan is not None and not plan.empty:
            plans.append(plan)
    return plans


def _expire(rt: Runtime, approval: ApprovalView, *, seconds: float, policy: str) -> Dispatch | None:
    reason = f"no decision within {seconds:g}s (approval_timeout={policy})"
    if policy == "reject":
        log.info("approval %s timed out: rejected", approval.id)
        verdict = ApprovalDecision(approved=False, reviewer=TIMEOUT_REVIEWER, reason=reason)
        _, plan = decide_approval(rt, approval.id, verdict)
        return plan
    if rt.journal.fail_waiting_approval(approval.run_id, approval.seq, reason):
        log.info("approval %s timed out: run %s fails", approval.id, approval.run_id)
        rt.journal.finish_run(
            approval.run_id, RunStatus.FAILED, error=f"approval {approval.id}: {reason}"
        )
    return None
