"""The figures a rollout compares: each side's runs of one stage, read from the journal.

Both sides are measured over the same window, the rollout's current stage (the runs it routed
while at that percentage), so a busy hour or a slow provider weighs on both alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from orchestration.journal.tables import RunStatus
from orchestration.rollouts import store

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["ArmMetrics", "StageMetrics", "stage_metrics"]


@dataclass(frozen=True)
class ArmMetrics:
    """One side of a rollout over a stage.

    Attributes:
        variant: ``stable`` or the variant's name.
        runs: runs routed to it in the stage.
        finished: those that ended (cancelled runs are not counted: nobody's fault).
        succeeded: those that succeeded.
        p95_latency_s: the 95th percentile of created-to-finished seconds (None: no run ended).
        cost_per_run: mean USD per finished run (None: none ended or a cost is unknown).
        version: the side's newest agent version in the stage (None: no run).
        eval_pass_rate: that version's latest eval pass rate, where one exists.
    """

    variant: str
    runs: int
    finished: int
    succeeded: int
    p95_latency_s: float | None
    cost_per_run: Decimal | None
    version: str | None = None
    eval_pass_rate: float | None = None

    @property
    def success_rate(self) -> float | None:
        """Succeeded over finished (None: none finished)."""
        return self.succeeded / self.finished if self.finished else None

    def to_json(self) -> dict[str, Any]:
        """The figures as an event row keeps them."""
        return {
            "variant": self.variant,
            "runs": self.runs,
            "finished": self.finished,
            "succeeded": self.succeeded,
            "success_rate": self.success_rate,
            "p95_latency_s": self.p95_latency_s,
            "cost_per_run": None if self.cost_per_run is None else str(self.cost_per_run),
            "version": self.version,
            "eval_pass_rate": self.eval_pass_rate,
        }


@dataclass(frozen=True)
class StageMetrics:
    """Both sides of one stage."""

    stable: ArmMetrics
    variant: ArmMetrics

    def to_json(self) -> dict[str, Any]:
        """Both sides as an event row keeps them."""
        return {"stable": self.stable.to_json(), "variant": self.variant.to_json()}


@dataclass(frozen=True)
class _Ended:
    status: RunStatus
    seconds: float
    cost: Decimal | None


def stage_metrics(journal: Journal, rollout_id: str, stage: int, variant: str) -> StageMetrics:
    """Measure the stable side and ``variant`` over the runs a rollout routed at ``stage``."""
    routed: dict[str, int] = {"stable": 0, variant: 0}
    ended: dict[str, list[_Ended]] = {"stable": [], variant: []}
    versions: dict[str, str | None] = {"stable": None, variant: None}
    for row in store.stage_runs(journal, rollout_id, stage):
        side = row.variant if row.variant in routed else "stable"
        routed[side] += 1
        versions[side] = row.agent_version
        status = row.status
        if not status.terminal or status == RunStatus.CANCELLED or row.finished_at is None:
            continue
        seconds = (row.finished_at - row.created_at).total_seconds()
        ended[side].append(_Ended(status, seconds, row.cost_usd))
    return StageMetrics(
        stable=_arm("stable", routed["stable"], ended["stable"], versions["stable"]),
        variant=_arm(variant, routed[variant], ended[variant], versions[variant]),
    )


def _arm(variant: str, runs: int, ended: list[_Ended], version: str | None) -> ArmMetrics:
    costs = [e.cost for e in ended]
    known = [c for c in costs if c is not None]
    return ArmMetrics(
        variant=variant,
        runs=runs,
        finished=len(ended),
        succeeded=sum(1 for e in ended if e.status == RunStatus.SUCCEEDED),
        p95_latency_s=_p95([e.seconds for e in ended]),
        # An unknown cost is not $0: the mean is unknown unless every run's cost is known.
        cost_per_run=sum(known, Decimal(0)) / len(known)
        if known and len(known) == len(costs)
        else None,
        version=version,
    )


def _p95(values: list[float]) -> float | None:
    """The nearest-rank 95th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
