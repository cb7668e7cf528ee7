"""What a rollout check decides from one stage's figures: a pure function, clock passed in.

A regression beyond any threshold rolls the variant back to 0% at once; a stage with too few
finished runs on either side, or not dwelt in long enough, holds; otherwise the rollout moves to
its next percentage, and completes when it reaches 100% (or the last step of its plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from orchestration.rollouts.metrics import ArmMetrics, StageMetrics
from orchestration.rollouts.plan import RolloutRecord, Thresholds

__all__ = ["Decision", "decide", "regressions"]

DecisionKind = Literal["hold", "advance", "complete", "rollback"]


@dataclass(frozen=True)
class Decision:
    """What to do with the rollout, and why (the reason is recorded and shown)."""

    kind: DecisionKind
    reason: str
    stage: int
    percent: int


def decide(
    rollout: RolloutRecord, metrics: StageMetrics, now: datetime, *, disabled: bool
) -> Decision:
    """Decide the rollout's next move.

    Args:
        rollout: the active rollout.
        metrics: both sides over its current stage.
        now: the time to judge the dwell by.
        disabled: the variant is switched off by ``CHORDLINE_DISABLED_VARIANTS``.
    """
    stable, variant = metrics.stable, metrics.variant
    stage, percent = rollout.stage, rollout.percent
    if disabled:
        return Decision(
            "hold",
            "switched off by CHORDLINE_DISABLED_VARIANTS: it gets no new runs",
            stage,
            percent,
        )
    need = rollout.min_runs
    if variant.finished < need or stable.finished < need:
        return Decision(
            "hold",
            f"waiting for runs: {variant.finished} of {need} finished on {variant.variant}, "
            f"{stable.finished} of {need} on stable",
            stage,
            percent,
        )
    found = regressions(rollout.thresholds, stable, variant)
    if found:
        return Decision("rollback", "; ".join(found), stage, 0)
    dwelt = (now - rollout.stage_started_at).total_seconds()
    if dwelt < rollout.dwell_seconds:
        return Decision(
            "hold",
            f"healthy; {dwelt:.0f}s of the {rollout.dwell_seconds}s dwell at {percent}%",
            stage,
            percent,
        )
    if stage + 1 >= len(rollout.steps) or rollout.steps[stage + 1] == 100:
        last = min(stage + 1, len(rollout.steps) - 1)
        final = rollout.steps[last]
        return Decision("complete", f"healthy at {percent}%; completed at {final}%", last, final)
    following = rollout.steps[stage + 1]
    return Decision(
        "advance", f"healthy at {percent}%; advanced to {following}%", stage + 1, following
    )


def regressions(limits: Thresholds, stable: ArmMetrics, variant: ArmMetrics) -> list[str]:
    """Each way the variant is worse than the stable side beyond ``limits``, in words."""
    found: list[str] = []
    s_rate, v_rate = stable.success_rate, variant.success_rate
    if s_rate is not None and v_rate is not None and s_rate - v_rate > limits.max_success_drop:
        found.append(
            f"success rate {v_rate:.1%} against stable {s_rate:.1%} "
            f"({variant.finished - variant.succeeded} of {variant.finished} runs failed): "
            f"{s_rate - v_rate:.1%} lower, more than the {limits.max_success_drop:.1%} allowed"
        )
    s_p95, v_p95 = stable.p95_latency_s, variant.p95_latency_s
    if s_p95 and v_p95 is not None and v_p95 / s_p95 > limits.max_p95_ratio:
        found.append(
            f"p95 latency {v_p95:.2f}s against stable {s_p95:.2f}s: "
            f"{v_p95 / s_p95:.2f}x, more than the {limits.max_p95_ratio:g}x allowed"
        )
    s_cost, v_cost = stable.cost_per_run, variant.cost_per_run
    if s_cost and v_cost is not None and float(v_cost / s_cost) > limits.max_cost_ratio:
        found.append(
            f"cost per run ${v_cost:.6f} against stable ${s_cost:.6f}: "
            f"{float(v_cost / s_cost):.2f}x, more than the {limits.max_cost_ratio:g}x allowed"
        )
    s_eval, v_eval = stable.eval_pass_rate, variant.eval_pass_rate
    if s_eval is not None and v_eval is not None and s_eval - v_eval > limits.max_eval_drop:
        found.append(
            f"eval pass rate {v_eval:.1%} against stable {s_eval:.1%}: "
            f"{s_eval - v_eval:.1%} lower, more than the {limits.max_eval_drop:.1%} allowed"
        )
    return found
