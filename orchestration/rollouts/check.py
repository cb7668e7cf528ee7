"""Running a rollout: start, check (Beat's periodic task and ``chordline rollout check``), stop.

A check measures the current stage, decides (:func:`~orchestration.rollouts.decision.decide`)
and records the move with its reason in one transaction. A rollback also raises an alert: an
event row marked ``alert``, an alert record and its line on the ``chordline.alerts`` logger.
Checks racing on one rollout move it once: the move is conditional on the stage they read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from orchestration.agents import Agent
from orchestration.agents.store import VersionStore
from orchestration.config import RolloutSettings
from orchestration.errors import RolloutError
from orchestration.journal.tables import utcnow
from orchestration.observability.alerts import record_alert
from orchestration.rollouts import store
from orchestration.rollouts._evals import EvalResults, EvalScores
from orchestration.rollouts.decision import Decision, decide
from orchestration.rollouts.metrics import ArmMetrics, StageMetrics, stage_metrics
from orchestration.rollouts.plan import RolloutPlan, RolloutRecord, RolloutStatus

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["CheckResult", "check_all", "check_rollout", "measure", "start", "stop"]

log = logging.getLogger("chordline.rollouts")

_STATUS_AFTER = {
    "rollback": RolloutStatus.ROLLED_BACK,
    "complete": RolloutStatus.COMPLETED,
    "advance": RolloutStatus.ACTIVE,
}


@dataclass(frozen=True)
class CheckResult:
    """What one check saw and did.

    Attributes:
        rollout: the rollout after the check.
        decision: what it decided.
        metrics: both sides over the stage it judged.
        moved: False when it held, or another checker moved the rollout first.
    """

    rollout: RolloutRecord
    decision: Decision
    metrics: StageMetrics
    moved: bool


def start(
    journal: Journal, agent: Agent, plan: RolloutPlan, now: datetime | None = None
) -> RolloutRecord:
    """Start rolling ``plan.variant`` of ``agent`` out at its first step.

    Raises:
        AgentNotFound: the agent has no such variant.
        RolloutError: an active rollout exists already, or the plan is bad.
    """
    variant = agent.get_variant(plan.variant)
    if variant is agent:
        raise RolloutError("--variant must name a variant, not the stable definition")
    VersionStore(journal).save(variant)
    return store.start_rollout(journal, plan, variant.version, now or utcnow())


def stop(journal: Journal, agent: str, reason: str, now: datetime | None = None) -> RolloutRecord:
    """Stop the agent's active rollout: the variant gets no new runs from now on.

    Raises:
        RolloutError: the agent has no active rollout.
    """
    rollout = _active(journal, agent)
    store.move(
        journal,
        rollout,
        kind="stop",
        status=RolloutStatus.STOPPED,
        stage=rollout.stage,
        percent=0,
        reason=reason,
        now=now or utcnow(),
    )
    return store.latest_rollout(journal, agent) or rollout


def _active(journal: Journal, agent: str) -> RolloutRecord:
    rollout = store.active_rollout(journal, agent)
    if rollout is None:
        raise RolloutError(
            f"{agent} has no active rollout. Fix: start one with "
            f"`chordline rollout start {agent} --variant NAME`."
        )
    return rollout


def measure(
    journal: Journal, rollout: RolloutRecord, evals: EvalScores | None = None
) -> StageMetrics:
    """Both sides of the rollout's current stage, with eval pass rates where they exist."""
    metrics = stage_metrics(journal, rollout.id, rollout.stage, rollout.variant)
    scores = evals or EvalResults(journal)
    return StageMetrics(
        stable=_with_eval(metrics.stable, rollout.agent, scores),
        variant=_with_eval(
            replace(metrics.variant, version=rollout.variant_version), rollout.agent, scores
        ),
    )


def _with_eval(arm: ArmMetrics, agent: str, scores: EvalScores) -> ArmMetrics:
    if arm.version is None:
        return arm
    return replace(arm, eval_pass_rate=scores.pass_rate(agent, arm.version))


def check_rollout(
    settings: RolloutSettings,
    journal: Journal,
    agent: str,
    *,
    now: datetime | None = None,
    evals: EvalScores | None = None,
) -> CheckResult:
    """Check the agent's active rollout once and move it as the figures say.

    Args:
        settings: the settings (the kill switch).
        journal: the journal.
        agent: the agent.
        now: the time to judge dwell by (tests move it; default: now).
        evals: where eval pass rates come from (default: the ``eval_results`` table).

    Raises:
        RolloutError: the agent has no active rollout.
    """
    rollout = _active(journal, agent)
    now = now or utcnow()
    metrics = measure(journal, rollout, evals)
    disabled = (agent, rollout.variant) in settings.disabled_variant_pairs
    decision = decide(rollout, metrics, now, disabled=disabled)
    if decision.kind == "hold":
        return CheckResult(rollout, decision, metrics, moved=False)
    moved = store.move(
        journal,
        rollout,
        kind=decision.kind,
        status=_STATUS_AFTER[decision.kind],
        stage=decision.stage,
        percent=decision.percent,
        reason=decision.reason,
        now=now,
        metrics=metrics.to_json(),
        alert=decision.kind == "rollback",
    )
    if moved and decision.kind == "rollback":
        # One alert record and its one log line on chordline.alerts (see record_alert).
        record_alert(
            journal,
            rule="rollout_rollback",
            subject=f"agent:{agent}:{rollout.variant}",
            value=float(rollout.percent),
            threshold=0.0,
            message=f"rollout {rollout.id} of {agent}:{rollout.variant} rolled back from "
            f"{rollout.percent}% to 0%: {decision.reason}",
        )
    elif moved:
        log.info("rollout %s of %s:%s: %s", rollout.id, agent, rollout.variant, decision.reason)
    return CheckResult(store.latest_rollout(journal, agent) or rollout, decision, metrics, moved)


def check_all(
    settings: RolloutSettings, journal: Journal, *, now: datetime | None = None
) -> list[CheckResult]:
    """Check every active rollout once (what Beat's task runs)."""
    results: list[CheckResult] = []
    for agent in store.active_agents(journal):
        try:
            results.append(check_rollout(settings, journal, agent, now=now))
        except RolloutError:
            continue  # stopped or finished by another checker since the listing
    return results
